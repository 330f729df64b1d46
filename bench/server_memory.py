"""Memory of a long-running server: resident memory after each of N trainings in one process.

A dashboard server stays up for hours and trains job after job. This script prints a process's resident memory
(``VmRSS``) after each of N trainings, three ways, each in a process of its own:

- ``server``: the dashboard's way, a :class:`catdog.training.TrainingQueue` with a
  :class:`catdog.worker.ProcessTrainer` (each training in a child process of its own); the memory is the
  server's, which has loaded Keras as a dashboard server does;
- ``catdog``: ``train_run`` one after another in one worker thread (the dashboard's way before 4 Dec 2026, and
  its way with ``CATDOG_TRAIN_IN_SERVER=1``);
- ``keras``: the same count of plain Keras trainings (``keras.Sequential`` of about model1's size: build,
  compile, ``fit`` one epoch), so that what catdog adds can be told from what Keras and TensorFlow keep.

Usage::

    .venv/bin/python bench/server_memory.py --trainings 10                 # a small synthetic dataset, model1
    .venv/bin/python bench/server_memory.py --trainings 14 --real --epochs 1  # the course data (slower)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import DEFAULT_DATA, REPO, RESULT_PREFIX, add_data_arguments  # noqa: E402


def rss_gb() -> float:
    """This process's resident memory in GB (10⁹ bytes), as the Training page reads it
    (:func:`catdog.reporting.process_memory`); NaN where it cannot be read."""
    from catdog.reporting import process_memory

    rss, _ = process_memory()
    return rss / 1e9 if rss else float("nan")


def _workspace(data_dir: str | None):
    """``(a new temporary folder, the DataConfig to train on)``: ``data_dir``, or without one a synthetic 16-image
    dataset made in that folder."""
    from catdog.config import DataConfig
    from tests.synthetic import make_dataset

    work = Path(tempfile.mkdtemp(prefix="catdog-memory-"))
    if data_dir is None:
        return work, DataConfig(str(make_dataset(work / "data", 8, 10)), validation_size=12, test_size=8,
                                batch_size=8)
    return work, DataConfig(data_dir)


def catdog_trainings(n: int, data_dir: str | None, epochs: int) -> list[float]:
    """RSS after each of ``n`` model1 trainings through ``train_run``, all in one worker thread."""
    import threading

    from catdog.config import TrainConfig
    from catdog.training import RunStore, train_run

    work, data = _workspace(data_dir)
    store, after = RunStore(work / "runs"), []

    def worker():
        for i in range(n):
            train_run(TrainConfig(model="model1", epochs=epochs, seed=i), data, store=store)
            after.append(rss_gb())

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    return after


def server_trainings(n: int, data_dir: str | None, epochs: int) -> list[float]:
    """The server's RSS after each of ``n`` model1 trainings through a queue that trains in child processes."""
    import importlib
    import time

    from catdog.config import TrainConfig
    from catdog.training import TrainingQueue
    from catdog.worker import ProcessTrainer

    importlib.import_module("keras")  # a dashboard server has loaded it for its other pages
    work, data = _workspace(data_dir)
    jobs, after = TrainingQueue(work / "runs", trainer=ProcessTrainer()), []
    try:
        for i in range(n):
            job = jobs.submit(TrainConfig(model="model1", epochs=epochs, seed=i), data)
            while not job.finished:
                time.sleep(0.2)
            if job.state != "done":
                raise SystemExit(f"training {i + 1} ended {job.state}: {job.error}")
            after.append(rss_gb())
    finally:
        jobs.close()
    return after


def keras_trainings(n: int) -> list[float]:
    """RSS after each of ``n`` plain Keras trainings (a CNN of 5.9 M parameters on 16 random images)."""
    import gc

    import keras
    import numpy as np

    after = []
    for _ in range(n):
        model = keras.Sequential([
            keras.Input((160, 160, 3)), keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(64, 3), keras.layers.MaxPooling2D(), keras.layers.Flatten(),
            keras.layers.Dense(64), keras.layers.Dense(2)])
        model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        model.fit(np.random.rand(16, 160, 160, 3).astype("float32"), np.arange(16) % 2, epochs=1, batch_size=8,
                  verbose=0)
        del model
        keras.backend.clear_session()  # as Keras advises for models built in a loop: it does not free this
        gc.collect()
        after.append(rss_gb())
    return after


def main() -> None:
    import json
    import subprocess

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    parser.add_argument("--trainings", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--real", action="store_true", help="train on --data-dir instead of a synthetic dataset")
    parser.add_argument("--child", choices=("server", "catdog", "keras"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.child:
        data_dir = args.data_dir if args.real else None
        after = (server_trainings(args.trainings, data_dir, args.epochs) if args.child == "server"
                 else catdog_trainings(args.trainings, data_dir, args.epochs) if args.child == "catdog"
                 else keras_trainings(args.trainings))
        print(RESULT_PREFIX + json.dumps(after), flush=True)
        return
    rows = {}
    for child in ("server", "catdog", "keras"):
        command = [sys.executable, __file__, "--child", child, "--trainings", str(args.trainings),
                   "--epochs", str(args.epochs), "--data-dir", args.data_dir or str(DEFAULT_DATA),
                   *(["--real"] if args.real else [])]
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
        line = next((x for x in done.stdout.splitlines() if x.startswith(RESULT_PREFIX)), None)
        if line is None:
            sys.exit(f"{child} failed:\n{done.stderr[-3000:]}")
        rows[child] = json.loads(line[len(RESULT_PREFIX):])
    print("| after training | " + " | ".join(str(i + 1) for i in range(args.trainings)) + " | per training |")
    print("|---|" + "---:|" * (args.trainings + 1))
    for child, after in rows.items():
        slope = (after[-1] - after[0]) / max(len(after) - 1, 1)
        print(f"| {child} | " + " | ".join(f"{gb:.2f}" for gb in after) + f" | +{slope * 1000:.0f} MB |")


if __name__ == "__main__":
    main()
