"""Training speed: the course's plain Keras pipeline vs catdog's training path, side by side.

For each model it runs, each in its own child process (so peak memory is per run):

- ``plain``  — the course pipeline as plain Keras code: ``keras.utils.image_dataset_from_directory``
  on ``train/`` and ``validation/`` (reshuffling, decoding every epoch; the first 1/5 of the
  validation batches skipped as the course's test split), the same registry model, ``model.fit``;
- ``catdog`` — catdog's path through the job machinery the Training page uses
  (:class:`catdog.training.TrainingQueue` → :class:`catdog.worker.ProcessTrainer`, a child process started
  before the click → :func:`catdog.training.train_run`): seeded
  splits, cached decoded images, ``CSVLogger``/``ModelCheckpoint``/live-progress callbacks,
  save and test evaluation;
- ``fast`` (model4 only) — catdog's fast mode (cached MobileNetV2 features, 20 head epochs),
  once with an empty feature cache (cold) and once again (warm), click to test score.

Prints a markdown table and writes everything as JSON to ``--out``.

    .venv/bin/python bench/train_speed.py --epochs 2 --out bench/results.json
    .venv/bin/python bench/train_speed.py --full --models model4 --out bench/results_full.json

Per-epoch seconds include each pipeline's first-epoch costs (tracing, the first decode);
``--epochs 2`` is a quick comparison, ``--full`` runs the course's 20 epochs.  The course
pipeline's 20-epoch time for model4 is extrapolated from the epochs run (first epoch + 19 ×
mean of the others) unless ``--full``.  On a shared 2-core machine timings are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, add_data_arguments, comma_list, report, run_child

MODELS = ("model1", "model2", "model3", "model4")


def _peak_rss_mb() -> float:
    """The peak resident memory, in MB, of this process and of its ended children (catdog trains in a child
    process of its own, :class:`catdog.worker.ProcessTrainer`); ``ru_maxrss`` is in KiB on Linux."""
    return max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024.0


# --------------------------------------------------------------------------- workers (child processes)


def run_plain(model_name: str, epochs: int, data_dir: Path, weights: str) -> dict:
    """The course pipeline: image_dataset_from_directory + model.fit."""
    import keras

    from catdog.config import TrainConfig
    from catdog.models import build_model

    keras.utils.set_random_seed(42)
    kwargs = dict(image_size=(160, 160), batch_size=32, shuffle=True, seed=42)
    train_ds = keras.utils.image_dataset_from_directory(str(data_dir / "train"), **kwargs)
    validation = keras.utils.image_dataset_from_directory(str(data_dir / "validation"), **kwargs)
    test_batches = int(validation.cardinality()) // 5
    val_ds = validation.skip(test_batches)
    model = build_model(TrainConfig(model=model_name, epochs=epochs, weights=weights, seed=42))

    seconds: list[float] = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.t)

    started = time.perf_counter()
    history = model.fit(train_ds, validation_data=val_ds, epochs=epochs, callbacks=[EpochTimer()], verbose=0)
    return {"epoch_seconds": seconds, "fit_seconds": time.perf_counter() - started,
            "val_accuracy": history.history["val_accuracy"][-1]}


def _train_through_queue(train_config, data_config, runs_dir: str) -> dict:
    from catdog.training import TrainingQueue
    from catdog.worker import ProcessTrainer

    trainer = ProcessTrainer()  # as the dashboard trains: in a child process, started before the click
    queue = TrainingQueue(runs_dir, trainer=trainer)
    if not trainer.wait_ready():
        raise RuntimeError("the training process did not start within 120 s")
    started = time.perf_counter()
    job = queue.submit(train_config, data_config)
    while not job.finished:
        time.sleep(0.05)
    wall = time.perf_counter() - started
    if job.state != "done":
        raise RuntimeError(f"{train_config.model} job ended {job.state}: {job.error}")
    queue.close()
    history = job.progress.snapshot()["history"]
    run = queue.store.get(job.run_id)
    return {"epoch_seconds": [row["seconds"] for row in history], "wall_seconds": wall,
            "val_accuracy": history[-1].get("val_accuracy"), "test_accuracy": (job.result or {}).get("accuracy"),
            "features": run.record.get("features")}


def run_catdog(model_name: str, epochs: int, data_dir: Path, weights: str) -> dict:
    """catdog's Training-page path, standard mode."""
    from catdog.config import DataConfig, TrainConfig

    with tempfile.TemporaryDirectory(prefix="catdog-bench-runs-") as runs:
        return _train_through_queue(TrainConfig(model=model_name, epochs=epochs, weights=weights, seed=42),
                                    DataConfig(data_dir=str(data_dir)), runs)


def run_fast(epochs: int, views: int, data_dir: Path, weights: str, image_size: int | None = None) -> dict:
    """catdog's fast model4, cold (empty feature cache) then warm, at ``image_size`` pixels square
    (default: the Training page's, the size the weights were trained at)."""
    from catdog.config import DataConfig, TrainConfig
    from catdog.models import default_input_size, resolve_mobilenet_weights

    side = image_size or default_input_size(resolve_mobilenet_weights(weights))

    with tempfile.TemporaryDirectory(prefix="catdog-bench-") as tmp:
        os.environ["CATDOG_CACHE_DIR"] = str(Path(tmp) / "features")
        config = TrainConfig(model="model4", epochs=epochs, weights=weights, fast=True, views=views, seed=42)
        data_config = DataConfig(data_dir=str(data_dir), image_size=(side, side))
        cold = _train_through_queue(config, data_config, str(Path(tmp) / "runs"))
        rss_cold = _peak_rss_mb()
        warm = _train_through_queue(config, data_config, str(Path(tmp) / "runs"))
    return {"cold": cold, "warm": warm, "views": views, "head_epochs": epochs, "peak_rss_cold_mb": rss_cold,
            "image_size": side}


def worker(args) -> None:
    data_dir, weights = Path(args.data_dir), args.weights
    if args.worker == "plain":
        result = run_plain(args.model, args.epochs, data_dir, weights)
    elif args.worker == "catdog":
        result = run_catdog(args.model, args.epochs, data_dir, weights)
    else:
        result = run_fast(args.fast_epochs, args.views, data_dir, weights, args.image_size)
    result["peak_rss_mb"] = _peak_rss_mb()
    report(result)


# --------------------------------------------------------------------------- driver


def _spawn(kind: str, model: str, args) -> dict:
    cmd = [sys.executable, __file__, "--worker", kind, "--model", model, "--epochs", str(args.epochs),
           "--data-dir", str(args.data_dir), "--weights", args.weights, "--views", str(args.views),
           "--fast-epochs", str(args.fast_epochs), "--image-size", str(args.image_size or 0)]
    env = {"TF_CPP_MIN_LOG_LEVEL": "2"}
    if kind == "plain":  # a student's notebook: TensorFlow's default CPU allocator (catdog's import sets the pool)
        env["TF_CPU_ALLOCATOR_USE_BFC"] = "false"
    started = time.perf_counter()
    result = run_child(cmd, f"{kind} {model}", env)
    result["process_seconds"] = time.perf_counter() - started
    return result


def _mean(values) -> float:
    return sum(values) / len(values) if values else float("nan")


def _course_20(seconds: list[float]) -> float:
    """Seconds the course pipeline needs for 20 epochs (extrapolated beyond the epochs run)."""
    if len(seconds) >= 20:
        return sum(seconds[:20])
    rest = seconds[1:] or seconds
    return seconds[0] + 19 * _mean(rest)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2, help="epochs per run (default 2; --full = 20)")
    parser.add_argument("--full", action="store_true", help="the course's 20 epochs")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated, default all four")
    add_data_arguments(parser)
    parser.add_argument("--views", type=int, default=None, help="fast model4 views (default TrainConfig.views)")
    parser.add_argument("--fast-epochs", type=int, default=20, help="fast model4 head epochs (default 20)")
    parser.add_argument("--no-standard-model4", action="store_true",
                        help="skip catdog's standard (non-fast) model4 run")
    parser.add_argument("--image-size", type=int, default=None,
                        help="fast model4's input size in pixels (default: the size the weights were trained at, "
                             "as on the Training page; the course pipeline stays at 160)")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    parser.add_argument("--worker", choices=("plain", "catdog", "fast"), help=argparse.SUPPRESS)
    parser.add_argument("--model", default="model1", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.views is None:
        sys.path.insert(0, str(REPO))
        from catdog.config import TrainConfig

        args.views = TrainConfig.views
    if args.worker:
        worker(args)
        return 0
    if args.full:
        args.epochs = 20
    models = comma_list(parser, args.models, MODELS, "models")
    if not (Path(args.data_dir) / "train").is_dir():
        parser.error(f"no dataset at {args.data_dir} (give --data-dir or set CATDOG_DATA_DIR)")

    results: dict = {"epochs": args.epochs, "data_dir": str(args.data_dir), "weights": args.weights,
                     "cpus": os.cpu_count(), "load_before": os.getloadavg(), "models": {}}
    rows = []
    for model in models:
        entry: dict = {"plain": _spawn("plain", model, args)}
        plain_mean = _mean(entry["plain"]["epoch_seconds"])
        if model != "model4" or not args.no_standard_model4:
            entry["catdog"] = _spawn("catdog", model, args)
            cat_mean = _mean(entry["catdog"]["epoch_seconds"])
            entry["ratio_per_epoch"] = cat_mean / plain_mean
            rows.append((model, "catdog", plain_mean, cat_mean, f"{entry['ratio_per_epoch']:.2f}",
                         entry["catdog"]["peak_rss_mb"], entry["catdog"].get("test_accuracy")))
        if model == "model4":
            entry["fast"] = fast = _spawn("fast", model, args)
            course20 = _course_20(entry["plain"]["epoch_seconds"])
            entry["course_20_epochs_seconds"] = course20
            entry["fast_cold_ratio_vs_course_20"] = fast["cold"]["wall_seconds"] / course20
            entry["fast_warm_ratio_vs_course_20"] = fast["warm"]["wall_seconds"] / course20
            size = f"{fast['image_size']}×{fast['image_size']}"
            rows.append((model, f"fast {size} K={fast['views']} cold (wall, {fast['head_epochs']} ep)", course20,
                         fast["cold"]["wall_seconds"], f"{entry['fast_cold_ratio_vs_course_20']:.3f}",
                         fast["peak_rss_mb"], fast["cold"]["test_accuracy"]))
            rows.append((model, f"fast {size} K={fast['views']} warm (wall, {fast['head_epochs']} ep)", course20,
                         fast["warm"]["wall_seconds"], f"{entry['fast_warm_ratio_vs_course_20']:.3f}",
                         fast["peak_rss_mb"], fast["warm"]["test_accuracy"]))
        results["models"][model] = entry
    results["load_after"] = os.getloadavg()

    print(f"\nEpochs per run: {args.epochs}; CPUs: {os.cpu_count()}; load before/after: "
          f"{results['load_before'][0]:.1f}/{results['load_after'][0]:.1f}\n")
    print("| model | catdog path | plain s (per epoch; course 20 ep for fast) | catdog s | ratio | "
          "peak RSS MB | test acc |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for model, path, plain, cat, ratio, rss, acc in rows:
        acc_text = f"{acc:.3f}" if acc is not None else "–"
        print(f"| {model} | {path} | {plain:.1f} | {cat:.1f} | {ratio} | {rss:.0f} | {acc_text} |")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=2))
        print(f"\nJSON: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
