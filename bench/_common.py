"""What the benchmark scripts share: where the data and the repository are, the data and weights
arguments, and running one measurement in a child process that prints a ``RESULT {json}`` line.

Each measurement runs in its own process so that TensorFlow's memory, thread pools and caches
start fresh and peak RSS (``ru_maxrss``) belongs to that measurement alone.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "datasets" / "cats_and_dogs_filtered"
RESULT_PREFIX = "RESULT "


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """``--data-dir`` (default ``$CATDOG_DATA_DIR``, else the shared copy) and ``--weights``.

    ``--weights`` defaults to ``$CATDOG_MOBILENET_WEIGHTS``, else ``"imagenet"`` (Keras's download).
    """
    parser.add_argument("--data-dir", default=os.environ.get("CATDOG_DATA_DIR") or str(DEFAULT_DATA),
                        help="the cats_and_dogs_filtered folder (default: $CATDOG_DATA_DIR, else ../shared)")
    parser.add_argument("--weights", default=os.environ.get("CATDOG_MOBILENET_WEIGHTS") or "imagenet",
                        help="MobileNetV2 weights: a .h5 file or 'imagenet' (default: $CATDOG_MOBILENET_WEIGHTS, else "
                             "'imagenet')")


def comma_list(parser: argparse.ArgumentParser, text: str, allowed, what: str) -> list[str]:
    """``"a, b"`` → ``["a", "b"]``; any item not in ``allowed`` ends the script with a usage error naming ``what``."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    unknown = set(items) - set(allowed)
    if unknown:
        parser.error(f"unknown {what} {sorted(unknown)}")
    return items


def report(result: dict) -> None:
    """Print a child's result as the one line :func:`run_child` reads back."""
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def run_child(command: list[str], label: str, env: dict[str, str] | None = None, *,
              keep_going: bool = False) -> dict | None:
    """Run ``command`` (a bench script in child mode) and return the dict it :func:`report`-ed.

    The child runs in the repository root with ``PYTHONPATH`` set to it and TensorFlow's C++ log
    quiet; ``env`` adds or overrides variables.

    Raises:
        SystemExit: the child failed or printed no result (the end of its stderr is in the
            message); with ``keep_going`` the message goes to stderr and ``None`` is returned.
    """
    print(f"… {label}", file=sys.stderr, flush=True)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO), **(env or {})}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if done.returncode != 0 or not lines:
        message = f"{label} failed (exit {done.returncode}):\n{done.stderr[-3000:]}"
        if not keep_going:
            raise SystemExit(message)
        print(message, file=sys.stderr, flush=True)
        return None
    return json.loads(lines[-1][len(RESULT_PREFIX):])
