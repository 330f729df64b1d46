"""model4 fast mode at 160×160 and 224×224, click → test score with a cold feature cache.

Each run is ``python -m catdog train --model model4 --fast --epochs 20 --image-size S`` (the
Training page's code path: :func:`catdog.training.train_run`) in a fresh process with its own
empty feature cache, the sizes interleaved (224, 160, 160, 224, …) so that both see the same
machine load.  Per run it reports the run's ``wall_seconds`` (run created → test score; the
dataset scan and TensorFlow's import come before it, as on the page, where both are done once
per server), the feature extraction's seconds, the test accuracy of the final model and of the
best-validation checkpoint, and the child's peak RSS.

    CATDOG_MOBILENET_WEIGHTS=../shared/keras/models/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5 \\
        .venv/bin/python bench/input_size.py --runs 2

Prints a markdown table; ``--out`` writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import REPO, add_data_arguments

#: Runs the CLI and prints the child's peak RSS (``ru_maxrss``, KiB on Linux) as the last line.
CHILD = ("import resource, runpy, sys\n"
         "sys.argv = ['catdog'] + sys.argv[1:]\n"
         "try:\n    runpy.run_module('catdog', run_name='__main__')\n"
         "finally:\n    print('maxrss_kib', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, flush=True)\n")


def one_run(size: int, args, folder: Path, index: int) -> dict:
    """One cold fast-mode run at ``size``; returns its row."""
    runs_dir = folder / "runs"
    env = {**os.environ, "CATDOG_CACHE_DIR": str(folder / f"cache_{index}"), "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, "-c", CHILD, "train", "--model", "model4", "--fast", "--epochs", str(args.epochs),
               "--image-size", str(size), "--data-dir", args.data_dir, "--runs-dir", str(runs_dir),
               "--name", f"input_size_{index}_{size}"]
    command += ["--weights", args.weights]
    done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"run {index} at {size} failed:\n{done.stderr[-3000:]}")
    rss_kib = int(done.stdout.strip().splitlines()[-1].split()[1])
    [record_path] = [p for p in runs_dir.glob("*/run.json")
                     if json.loads(p.read_text())["name"] == f"input_size_{index}_{size}"]
    record = json.loads(record_path.read_text())
    return {
        "run": index, "image_size": size, "wall_seconds": record["wall_seconds"],
        "extraction_seconds": record["features"]["seconds"], "test_accuracy": record["test"]["accuracy"],
        "best_epoch_test_accuracy": (record.get("test_best") or {}).get("accuracy"),
        "peak_rss_gb": round(rss_kib * 1024 / 1e9, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="runs per size")
    parser.add_argument("--epochs", type=int, default=20)
    add_data_arguments(parser)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    order = [size for i in range(args.runs) for size in ((224, 160) if i % 2 == 0 else (160, 224))]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for index, size in enumerate(order, 1):
            rows.append(one_run(size, args, Path(folder), index))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print("| run | input | click → test score s | extraction s | test acc. | test acc., best-val. epoch | peak RSS |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for row in rows:
        best = row["best_epoch_test_accuracy"]
        print(f"| {row['run']} | {row['image_size']}×{row['image_size']} | {row['wall_seconds']:.1f} "
              f"| {row['extraction_seconds']:.1f} | {row['test_accuracy']:.1%} "
              f"| {'–' if best is None else f'{best:.1%}'} | {row['peak_rss_gb']:.2f} GB |")
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
