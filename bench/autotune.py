"""Fast mode's feature extraction with and without tf.data autotuning, each in a fresh process.

catdog's datasets switch tf.data autotuning off (:func:`catdog.data.without_autotuning`).  This
bench runs the fast mode's cold feature extraction (:func:`catdog.features.load_or_extract_parts`
over the train, validation and test splits, into a temporary cache folder) in child processes,
alternating the setting (on, off, off, on, …), and reports per run the seconds of each split's
extraction, their total and the child's wall time.  "on" replaces ``without_autotuning`` by the
identity in the child, which is what catdog did before.

    .venv/bin/python bench/autotune.py --image-size 224 --runs 2

Prints a markdown table; ``--out`` writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, add_data_arguments, report, run_child



def child(args) -> None:
    """One cold extraction; prints its JSON summary."""
    sys.path.insert(0, str(REPO))
    from catdog import data
    from catdog import features as feats
    from catdog.config import DataConfig, TrainConfig
    from catdog.models import build_model, resolve_mobilenet_weights
    from catdog.training import prepare_splits

    if args.child == "on":
        data.without_autotuning = lambda ds: ds
    size = (args.image_size, args.image_size)
    _, splits = prepare_splits(DataConfig(data_dir=args.data_dir, image_size=size), download=False)
    config = TrainConfig(model="model4", weights=resolve_mobilenet_weights(args.weights))
    model = build_model(config, image_size=size, compile=False)
    seconds = []
    extract = feats.extract_features

    def timed(*a, **k):
        start = time.perf_counter()
        out = extract(*a, **k)
        seconds.append(round(time.perf_counter() - start, 1))
        return out

    feats.extract_features = timed
    with tempfile.TemporaryDirectory() as folder:
        feats.load_or_extract_parts(
            model, [("train", splits.train, 1), ("validation", splits.validation, 1), ("test", splits.test, 1)],
            image_size=size, weights=config.weights, augmentation=feats.augmentation_settings(config),
            cache_dir=folder)
    report({"autotune": args.child, "train": seconds[0], "validation": seconds[1], "test": seconds[2],
                      "extraction": round(sum(seconds), 1)})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--runs", type=int, default=2, help="runs per setting")
    add_data_arguments(parser)
    parser.add_argument("--out", default=None)
    parser.add_argument("--child", choices=("on", "off"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0
    rows = []
    for setting in (["on", "off", "off", "on"] * args.runs)[: 2 * args.runs]:
        start = time.perf_counter()
        command = [sys.executable, __file__, "--child", setting, "--image-size", str(args.image_size),
                   "--data-dir", args.data_dir, "--weights", args.weights]
        row = run_child(command, f"autotune {setting}", keep_going=True)
        if row is None:
            return 1
        rows.append({**row, "wall": round(time.perf_counter() - start, 1)})
    print(f"cold feature extraction at {args.image_size}×{args.image_size}, {os.cpu_count()} CPUs\n")
    print("| run | autotune | train s | validation s | test s | extraction s | process wall s |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for i, row in enumerate(rows, 1):
        print(f"| {i} | {row['autotune']} | {row['train']} | {row['validation']} | {row['test']} "
              f"| {row['extraction']} | {row['wall']} |")
    for setting in ("on", "off"):
        mine = [row for row in rows if row["autotune"] == setting]
        print(f"| median | {setting} | " + " | ".join(
            str(round(statistics.median(r[k] for r in mine), 1))
            for k in ("train", "validation", "test", "extraction", "wall")) + " |")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
