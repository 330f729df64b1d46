"""How often model1/model2 collapse on the course data: the first batches, one training seed at a time.

model1 and model2 see raw [0, 255] pixels, and with some seeds the first Adam updates switch off
every ReLU of the 64-unit ``dense`` layer; the network then gives one answer to every image and
never leaves that state.  For each seed this builds the model as a run does (seed set first),
trains ``--batches`` batches of 32 of the training split in a run's shuffled order, then reports how
many of the 64 units still fire for at least one of 256 validation images, and whether the run's
collapse check (:func:`catdog.training.gives_one_answer` on 16 training images spread over the
split, what the Training page reacts to) would flag it.

    .venv/bin/python bench/collapse_seeds.py --model model1 --seeds 0-16,42-45 --batches 40

Needs the real dataset (``$CATDOG_DATA_DIR`` or ``../shared``); ≈ 13 s per seed on 2 cores.
Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time

import numpy as np

from _common import REPO, add_data_arguments

sys.path.insert(0, str(REPO))


def seed_list(text: str) -> list[int]:
    """``"0-3,42"`` → ``[0, 1, 2, 3, 42]``."""
    seeds = []
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        seeds += range(int(first), int(last or first) + 1)
    return seeds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_arguments(parser)
    parser.add_argument("--model", default="model1", choices=("model1", "model2"))
    parser.add_argument("--seeds", default="0-16,42-45", help="training seeds: ranges and single values")
    parser.add_argument("--batches", type=int, default=40, help="batches of 32 to train before looking")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from catdog import data, models, seeding
    from catdog.config import TrainConfig
    from catdog.training import COLLAPSE_PROBE_IMAGES, gives_one_answer

    splits = data.make_splits(data.scan_dataset(args.data_dir))
    validation = list(splits.validation)
    random.Random(0).shuffle(validation)  # both classes in the 256 images
    images = np.concatenate([x for x, _ in data.make_dataset(validation[:256], cache=False)])
    step = len(splits.train) // COLLAPSE_PROBE_IMAGES  # as the run's collapse check picks them
    probe = next(iter(data.make_dataset(splits.train[::step][:COLLAPSE_PROBE_IMAGES], cache=False,
                                        batch_size=COLLAPSE_PROBE_IMAGES)))[0]
    rows = []
    for seed in seed_list(args.seeds):
        started = time.time()
        seeding.set_random_seed(seed)
        model = models.build_model(TrainConfig(model=args.model, seed=seed))
        train = data.make_dataset(splits.train, shuffle=True, seed=seed)
        model.fit(train.take(args.batches), epochs=1, verbose=0)
        dense = keras.Model(model.input, model.get_layer("dense").output).predict(images, verbose=0)
        rows.append({"seed": seed, "alive": int((dense.max(axis=0) > 0).sum()), "units": dense.shape[-1],
                     "flagged": gives_one_answer(model(probe, training=False)),
                     "seconds": time.time() - started})
        print(rows[-1], file=sys.stderr, flush=True)
    collapsed = [r["seed"] for r in rows if r["flagged"]]
    print(f"\n{args.model}, {args.batches} batches of 32, real data; flagged by the collapse check: "
          f"{len(collapsed)} of {len(rows)} seeds {collapsed}\n")
    print("| seed | dense units firing on 256 validation images | collapse check flags it | seconds |")
    print("|---:|---:|---|---:|")
    for r in rows:
        print(f"| {r['seed']} | {r['alive']}/{r['units']} | {'yes' if r['flagged'] else 'no'} | {r['seconds']:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
