"""The course's results table: every model trained for 20 epochs on the real data, on this machine.

Trains through :func:`catdog.training.train_run` (the code path of the Training page and the
command line), each model in its own child process, into one runs folder, then prints a
markdown table and writes JSON to ``--out``: model, epochs, best validation accuracy, test
accuracy of the final model and of the best-validation checkpoint, wall time, peak RSS of the
child process, and — to show how much the one 200-image test split decides — the final
model's accuracy on all 1,000 images of ``validation/`` and on the test splits that split
seeds 0–9 would hold out (see :func:`other_test_splits`).

    .venv/bin/python bench/course_results.py --out bench/course_results.json
    .venv/bin/python bench/course_results.py --models model4-fast,model4-finetune --epochs 20

Model keys: ``model1``–``model4`` (model4 end to end), ``model4-fast`` (cached features),
``model4-finetune`` (fast frozen phase, then ``--fine-tune-epochs`` with MobileNetV2 unfrozen
from layer 100 at learning rate / 10).  The runs folder (``--runs-dir``) can be opened in the
dashboard afterwards (``CATDOG_RUNS_DIR``) to compare the runs on the Training page.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from _common import REPO, add_data_arguments, report, run_child

KEYS = ("model1", "model2", "model3", "model4-fast", "model4-finetune")


def config_for(key: str, epochs: int, fine_tune_epochs: int, weights: str, seed: int = 0,
               fine_tune_lr_factor: float = 0.1, accumulation_steps: int = 0, views: int = 1,
               rotation_factor: float | None = None):
    """The :class:`~catdog.config.TrainConfig` of a table row (``accumulation_steps`` 0: automatic; ``views``:
    fast mode's K views per training image, the extra ones augmented; ``rotation_factor`` ``None``: the
    course's)."""
    from catdog.config import TrainConfig

    rotation = {} if rotation_factor is None else {"rotation_factor": rotation_factor}

    model = key.split("-")[0]
    return TrainConfig(
        model=model, epochs=epochs, weights=weights, name=f"course {key} (seed {seed})", seed=seed,
        fast=key in ("model4-fast", "model4-finetune"),
        fine_tune_epochs=fine_tune_epochs if key == "model4-finetune" else 0,
        fine_tune_lr_factor=fine_tune_lr_factor, fine_tune_accumulation_steps=accumulation_steps, views=views,
        **rotation,
    )


def other_test_splits(model_path: Path, data_dir: str, split_seeds=range(10)) -> dict:
    """The final model's accuracy on the test split of other split seeds, and on all of ``validation/``.

    Training never sees ``validation/`` (it only monitors the validation split and picks
    ``best.keras``, which is not scored here), so the final model's accuracy on another
    seed's 200 test images is what that split's test score would be: the spread shows
    how much the one default split (seed 42) decides.

    Returns:
        ``{"validation_folder": accuracy on all its images, "per_split_seed": {seed: accuracy}}``.
    """
    import numpy as np

    from catdog import data
    from catdog.config import DataConfig
    from catdog.models import input_size, load_model
    from catdog.training import prepare_splits

    splits = {seed: prepare_splits(DataConfig(data_dir=data_dir, seed=seed), download=False)[1] for seed in split_seeds}
    items = next(iter(splits.values())).validation_folder
    model = load_model(model_path)
    predicted = np.concatenate([np.asarray(model(images, training=False)).argmax(axis=1)
                                for images, _ in data.make_dataset(items, image_size=input_size(model), cache=False)])
    correct = {path: bool(p == label) for (path, label), p in zip(items, predicted)}
    return {"validation_folder": float(np.mean(list(correct.values()))),
            "per_split_seed": {seed: float(np.mean([correct[path] for path, _ in split.test]))
                               for seed, split in splits.items()}}


def child(args) -> None:
    """Train one row and print its JSON summary (runs in a child process)."""
    import resource

    from catdog.config import DataConfig
    from catdog.training import RunStore, train_run

    config = config_for(args.child, args.epochs, args.fine_tune_epochs, args.weights, args.seed,
                        args.fine_tune_lr_factor, args.accumulation_steps, args.views, args.rotation_factor)
    size = (args.image_size, args.image_size)
    result = train_run(config, DataConfig(data_dir=args.data_dir, image_size=size), store=RunStore(args.runs_dir))
    record = result.run.record
    # Peak of the training alone (before other_test_splits loads the model again); ru_maxrss is in KiB on Linux.
    peak_rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9
    report({
        "key": args.child, "model": config.model, "seed": args.seed, "views": config.views,
        "epochs": len(result.history),
        "best_val_accuracy": record.get("best_val_accuracy"),
        "test_accuracy": (result.test or {}).get("accuracy"),
        "best_epoch": (result.test_best or {}).get("epoch"),
        "best_epoch_test_accuracy": (result.test_best or {}).get("accuracy"),
        "wall_seconds": record.get("wall_seconds"), "peak_rss_gb": round(peak_rss_gb, 2),
        "run_id": result.run.run_id,
        "other_splits": other_test_splits(result.run.model_path, args.data_dir),
    })


def main(argv=None) -> int:
    from catdog.config import TrainConfig  # no TensorFlow

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(KEYS), help=f"comma-separated keys from {KEYS} or model4")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--fine-tune-epochs", type=int, default=10)
    parser.add_argument("--fine-tune-lr-factor", type=float, default=0.1, help="fine-tuning learning rate / head's")
    parser.add_argument("--accumulation-steps", type=int, default=0,
                        help="fine-tuning micro-batches per batch (0: catdog's automatic choice)")
    parser.add_argument("--views", type=int, default=1,
                        help="fast mode: K views per training image for the frozen phase (the extra K-1 augmented)")
    parser.add_argument("--rotation-factor", type=float, default=None,
                        help="RandomRotation factor of model2–4 (default: the course's 0.2)")
    add_data_arguments(parser)
    parser.add_argument("--seed", type=int, default=TrainConfig.seed,
                        help=f"training seed (default {TrainConfig.seed}, the pages'; the split seed stays 42)")
    parser.add_argument("--image-size", type=int, default=160,
                        help="square input size in pixels (the course: 160; the local weights file was trained at 224)")
    parser.add_argument("--runs-dir", default=str(REPO / "runs" / "course"))
    parser.add_argument("--out", default=None)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0
    rows = []
    for key in args.models.split(","):
        command = [sys.executable, __file__, "--child", key, "--epochs", str(args.epochs),
                   "--fine-tune-epochs", str(args.fine_tune_epochs),
                   "--fine-tune-lr-factor", str(args.fine_tune_lr_factor), "--data-dir", args.data_dir,
                   "--weights", args.weights, "--runs-dir", args.runs_dir, "--seed", str(args.seed),
                   "--image-size", str(args.image_size), "--accumulation-steps", str(args.accumulation_steps),
                   "--views", str(args.views),
                   *(["--rotation-factor", str(args.rotation_factor)] if args.rotation_factor is not None else [])]
        row = run_child(command, key, keep_going=True)
        if row is None:
            continue
        rows.append(row)
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print("| model | seed | epochs | best validation accuracy | test accuracy | test accuracy, best epoch "
          "| wall time | peak RSS | final model on all of validation/ | test accuracy, split seeds 0–9 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        others = list(row["other_splits"]["per_split_seed"].values())
        best = row["best_epoch_test_accuracy"]
        best_text = f"{best:.1%} (epoch {row['best_epoch']})" if best is not None else "–"
        print(f"| {row['key']} | {row['seed']} | {row['epochs']} | {row['best_val_accuracy']:.1%} "
              f"| {row['test_accuracy']:.1%} | {best_text} | {row['wall_seconds']:.0f} s | {row['peak_rss_gb']:.2f} GB "
              f"| {row['other_splits']['validation_folder']:.1%} "
              f"| {min(others):.1%}–{max(others):.1%}, mean {sum(others) / len(others):.1%} |")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=2))
    return 0 if len(rows) == len(args.models.split(",")) else 1


if __name__ == "__main__":
    sys.exit(main())
