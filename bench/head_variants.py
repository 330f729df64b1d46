"""Fast-mode head variants on cached MobileNetV2 features, scored over many test splits.

Why K = 1 view is the default: this trains model4's head (the fast mode's
:func:`catdog.models.build_feature_head`, 20 epochs, Adam at the course's 1e-3 unless told, training
seed 42) on the cached features of the training images with K views (view 0 the image, views
1 … K-1 through model4's augmentation layers) and scores the final head on the validation and test
splits of several split seeds.  The validation split of the first split seed (42, the pages' default:
800 images) is the one to choose by; the test splits only confirm the choice (one 200-image test split
moves by 0.5 % per image, hence their mean).

    .venv/bin/python bench/head_variants.py --views 1,2,3,5,8 --learning-rates 3e-4,1e-3,3e-3

Features come from :mod:`catdog.features` (the same cache as fast mode, ``$CATDOG_CACHE_DIR``):
the training images with the largest K asked for (≈ 18 s per view on 2 cores, once) and every
image of ``validation/`` unaugmented.  Prints a markdown table; ``--out`` writes JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from _common import REPO, add_data_arguments

sys.path.insert(0, str(REPO))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", default="1,2,3,5,8", help="comma-separated K values")
    parser.add_argument("--learning-rates", default="1e-3", help="comma-separated Adam learning rates")
    parser.add_argument("--split-seeds", default="42,0,1,2,3,4,5,6,7,8,9")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--image-size", type=int, default=160,
                        help="square input size in pixels (the course uses 160; the local weights file was trained at 224)")
    add_data_arguments(parser)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)

    import keras

    from catdog import features as feats
    from catdog.config import DataConfig, TrainConfig
    from catdog.models import build_feature_head, build_model, resolve_mobilenet_weights
    from catdog.training import prepare_splits

    views = [int(v) for v in args.views.split(",")]
    rates = [float(v) for v in args.learning_rates.split(",")]
    split_seeds = [int(v) for v in args.split_seeds.split(",")]
    data_config = DataConfig(data_dir=args.data_dir, image_size=(args.image_size, args.image_size))
    splits = {seed: prepare_splits(DataConfig(data_dir=args.data_dir, seed=seed), download=False)[1]
              for seed in split_seeds}
    first = splits[split_seeds[0]]
    config = TrainConfig(model="model4", weights=args.weights, seed=42)  # as measured (README)
    keras.utils.set_random_seed(config.seed)
    model = build_model(config, image_size=data_config.image_size, compile=False)
    folder = first.validation_folder
    arrays, _, _ = feats.load_or_extract_parts(
        model, [("train", first.train, max(views)), ("validation folder", folder, 1)],
        image_size=data_config.image_size, weights=resolve_mobilenet_weights(config.weights),
        augmentation=feats.augmentation_settings(config))
    train, train_labels = arrays["train"]
    folder_features = arrays["validation folder"][0]
    row_of = {path: i for i, (path, _) in enumerate(folder)}

    def split_arrays(items):
        rows = [row_of[path] for path, _ in items]
        return folder_features[rows], np.array([label for _, label in items], dtype=np.int32)

    results = []
    for k in views:
        for rate in rates:
            scores = []
            for seed in split_seeds:
                keras.utils.set_random_seed(config.seed)
                head = build_feature_head(TrainConfig(model="model4", learning_rate=rate), train.shape[-1])
                train_ds = feats.feature_dataset(train[:, :k], train_labels, shuffle=True, seed=config.seed)
                val_ds = feats.feature_dataset(*split_arrays(splits[seed].validation))
                history = head.fit(train_ds, validation_data=val_ds, epochs=args.epochs, verbose=0)
                test = head.evaluate(feats.feature_dataset(*split_arrays(splits[seed].test)), verbose=0,
                                     return_dict=True)
                scores.append({"split_seed": seed, "val_accuracy": history.history["val_accuracy"][-1],
                               "test_accuracy": test["accuracy"]})
            tests = [s["test_accuracy"] for s in scores]
            results.append({"views": k, "learning_rate": rate, "splits": scores, "mean_test": float(np.mean(tests)),
                            "min_test": float(min(tests)), "max_test": float(max(tests))})
            print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    # the validation column is the one to choose a setting by: the test columns then only confirm it
    print(f"| views K | learning rate | validation accuracy, split seed {split_seeds[0]} | test accuracy, split seed "
          f"{split_seeds[0]} | test accuracy, mean over {len(split_seeds)} split seeds | min–max |")
    print("|---:|---:|---:|---:|---:|---|")
    for r in results:
        print(f"| {r['views']} | {r['learning_rate']:g} | {r['splits'][0]['val_accuracy']:.1%} | "
              f"{r['splits'][0]['test_accuracy']:.1%} | {r['mean_test']:.1%} | {r['min_test']:.1%}–{r['max_test']:.1%} |")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
