"""What an open Training page's reruns cost a job training in the background thread.

While a job trains, each open Training tab reruns its live fragment (every 2 s since 1 Dec;
once a second when this bench was written, which is the pace it plays), and Streamlit ends
every run with a clean-up (``_clean_problem_modules``, then ``gc.collect(2)`` when
``runner.postScriptGC`` is on, its default).  Streamlit's clean-up calls
``keras.backend.clear_session()``; catdog replaces it with one that leaves Keras alone
(:func:`catdog.ui.keep_keras_state_between_reruns`).  This bench trains one model through the
job queue the page uses (:class:`catdog.training.TrainingQueue`), each setting in its own
process, while a thread plays ``--tabs`` tabs' clean-ups, each once a second:

- ``alone``     — no clean-ups (the bench and CLI path);
- ``nogc``      — catdog's clean-up alone (``runner.postScriptGC = false``, the dashboard now);
- ``catdog``    — catdog's clean-up + ``gc.collect(2)`` (Streamlit's default ``postScriptGC``);
- ``streamlit`` — Streamlit's own clean-up with ``clear_session()`` + ``gc.collect(2)`` (before).

    .venv/bin/python bench/page_reruns.py --model model1 --epochs 2 --tabs 1
    .venv/bin/python bench/page_reruns.py --model model4 --fast --tabs 2

Prints a markdown table (per-epoch seconds, run wall seconds, test accuracy); a run that
has not finished after ``--limit`` seconds is stopped and reported as such.

The dashboard trains each job in a child process of its own (:mod:`catdog.worker`), where the server's
clean-ups never run; this bench measures the server's own training thread, which Windows and
``CATDOG_TRAIN_IN_SERVER=1`` use.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import add_data_arguments, comma_list, report, run_child

SETTINGS = ("alone", "nogc", "catdog", "streamlit")


def child(args) -> None:
    import gc

    from catdog.config import DataConfig, TrainConfig
    from catdog.models import default_input_size, resolve_mobilenet_weights
    from catdog.training import TrainingQueue

    if args.setting == "streamlit":
        from streamlit.runtime.scriptrunner.script_runner import _clean_problem_modules as clean
    else:
        from catdog.ui import _clean_without_keras as clean
    done = threading.Event()
    cleanups = []

    def tab():
        while not done.wait(1.0):
            clean()
            if args.setting != "nogc":
                gc.collect(2)
            cleanups.append(1)

    side = default_input_size(resolve_mobilenet_weights(args.weights)) if args.model == "model4" else 160
    config = TrainConfig(model=args.model, epochs=args.epochs, fast=args.fast, weights=args.weights)
    with tempfile.TemporaryDirectory(prefix="catdog-bench-") as tmp:
        os.environ["CATDOG_CACHE_DIR"] = str(Path(tmp) / "features")
        queue = TrainingQueue(str(Path(tmp) / "runs"))
        if args.setting != "alone":
            for _ in range(args.tabs):
                threading.Thread(target=tab, daemon=True).start()
        started = time.perf_counter()
        job = queue.submit(config, DataConfig(data_dir=args.data_dir, image_size=(side, side)))
        while not job.finished and time.perf_counter() - started < args.limit:
            time.sleep(0.1)
        finished = job.finished
        if not finished:
            job.stop.set()
            while not job.finished:
                time.sleep(0.1)
        done.set()
        history = job.progress.snapshot()["history"]
        report({
            "setting": args.setting, "finished": finished, "state": job.state,
            "wall_seconds": time.perf_counter() - started,
            "epoch_seconds": [row["seconds"] for row in history],
            "test_accuracy": (job.result or {}).get("accuracy"), "cleanups": len(cleanups)})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="model1", choices=("model1", "model2", "model3", "model4"))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--fast", action="store_true", help="model4's fast mode (20 epochs unless --epochs)")
    parser.add_argument("--tabs", type=int, default=1, help="open Training tabs, each cleaning up once a second")
    parser.add_argument("--settings", default=",".join(SETTINGS), help=f"comma-separated from {', '.join(SETTINGS)}")
    parser.add_argument("--limit", type=float, default=600, help="stop a run after this many seconds")
    add_data_arguments(parser)
    parser.add_argument("--setting", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.setting:
        child(args)
        return 0
    settings = comma_list(parser, args.settings, SETTINGS, "settings")
    rows = []
    for setting in settings:
        command = [sys.executable, __file__, "--setting", setting, "--model", args.model, "--epochs",
                   str(args.epochs), "--tabs", str(args.tabs), "--limit", str(args.limit),
                   "--data-dir", args.data_dir, "--weights", args.weights] + (["--fast"] if args.fast else [])
        rows.append(run_child(command, setting))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    mode = " fast" if args.fast else ""
    print(f"\n{args.model}{mode}, {args.epochs} epochs, {args.tabs} tab(s) cleaning up once a second\n")
    print("| clean-up per rerun | epoch seconds | run wall s | test acc. | clean-ups |")
    print("|---|---|---:|---:|---:|")
    for r in rows:
        epochs = ", ".join(f"{s:.1f}" for s in r["epoch_seconds"]) or "–"
        wall = f"{r['wall_seconds']:.1f}" + ("" if r["finished"] else f" (stopped at {args.limit:.0f} s limit)")
        acc = f"{r['test_accuracy']:.1%}" if r["test_accuracy"] is not None else "–"
        print(f"| {r['setting']} | {epochs} | {wall} | {acc} | {r['cleanups']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
