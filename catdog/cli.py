"""Command line: the same code path as the pages.

``python -m catdog train --model model1 --epochs N [--data-dir D] [--runs-dir R] [--batch-size B]
[--seed S] [--split-seed S] [--image-size 160|224] …`` prints one JSON object per epoch, then one
with ``status``, ``test_accuracy`` (final model), ``best_epoch_test_accuracy`` (the best-validation
checkpoint) and ``model_path`` (``null`` when no epoch was trained); NaN numbers are written as ``null``.  Ctrl-C
or SIGTERM stops after the current batch, as the page's Stop does (the run is kept as ``stopped``, exit status
130 or 143); a model1/model2 seen collapsing gets a warning on stderr at once.
``python -m catdog predict --model-path P IMAGE...`` prints one JSON object per image.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import signal
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

from catdog.config import IMAGE_SIZE, DataConfig, TrainConfig, default_runs_dir
from catdog.errors import CatdogError
from catdog.models import MOBILENET_LAYERS, MODEL_SPECS, default_input_size, resolve_mobilenet_weights


def _print(obj: dict, file=None) -> None:
    """One JSON line; NaN and infinite numbers (a diverged loss) become ``null``: bare ``NaN`` is not JSON."""
    def finite(value):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return {k: finite(v) for k, v in value.items()} if isinstance(value, dict) else value

    print(json.dumps(finite(obj), allow_nan=False), file=file or sys.stdout, flush=True)


class _DefaultsHelp(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` with each option's default, unless its help says its own ("default: $CATDOG_DATA_DIR, …")."""

    def _get_help_string(self, action):
        return action.help if "(default:" in (action.help or "") else super()._get_help_string(action)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m catdog", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    # every option with a help text, so that --help shows its default (review: it showed none)
    train = sub.add_parser("train", help="train a model and score it on the test split",
                           formatter_class=_DefaultsHelp)
    train.add_argument("--model", choices=list(MODEL_SPECS), default="model1", help="the course's model")
    train.add_argument("--epochs", type=int, default=TrainConfig.epochs,
                       help="epochs (model4: those before fine-tuning)")
    train.add_argument("--data-dir", default=None,
                       help="dataset root (default: $CATDOG_DATA_DIR, else the Keras cache, else the download)")
    train.add_argument("--runs-dir", default=None, help="runs folder (default: $CATDOG_RUNS_DIR, else runs/)")
    train.add_argument("--batch-size", type=int, default=DataConfig.batch_size, help="images per batch")
    train.add_argument("--learning-rate", type=float, default=TrainConfig.learning_rate, help="Adam's learning rate")
    train.add_argument("--seed", type=int, default=TrainConfig.seed, help="training seed")
    train.add_argument("--split-seed", type=int, default=DataConfig.seed, help="seed of the validation/test split")
    train.add_argument("--image-size", type=int, default=None,
                       help="square input size in pixels (default: the course's 160; for model4 the size the "
                            "weights were trained at, e.g. 224 for the …_1.0_224_no_top.h5 file)")
    train.add_argument("--validation-size", type=int, default=DataConfig.validation_size,
                       help="images of validation/ that score every epoch")
    train.add_argument("--test-size", type=int, default=DataConfig.test_size,
                       help="images of validation/ held out for the final score")
    train.add_argument("--weights", default=TrainConfig.weights,
                       help="model4: 'imagenet' (Keras's download) or a .h5 file "
                            "(default: $CATDOG_MOBILENET_WEIGHTS if set, else the download)")
    train.add_argument("--fast", action="store_true",
                       help="model4: train the head on cached features (the Training page's default for model4; "
                            "here off, the course pipeline, unless given)")
    train.add_argument("--views", type=int, default=TrainConfig.views,
                       help="model4 fast mode: feature views per training image (1 = no augmentation)")
    train.add_argument("--fine-tune-epochs", type=int, default=TrainConfig.fine_tune_epochs,
                       help="model4: fine-tuning epochs after the rest")
    train.add_argument("--fine-tune-at", type=int, default=TrainConfig.fine_tune_at,
                       help=f"model4 fine-tuning: first MobileNetV2 layer unfrozen (0 … {MOBILENET_LAYERS})")
    train.add_argument("--fine-tune-lr-factor", type=float, default=TrainConfig.fine_tune_lr_factor,
                       help="model4 fine-tuning: learning rate as a fraction of --learning-rate")
    train.add_argument("--fine-tune-accumulation-steps", type=int, default=TrainConfig.fine_tune_accumulation_steps,
                       help="model4 fine-tuning: pieces each batch runs in, one Adam update per batch "
                            "(gradient accumulation: same updates, less memory; 1 = whole batches; "
                            "0 = automatic: 4 above 160×160, else 1)")
    train.add_argument("--name", default="", help="run name (default: its start time)")
    predict = sub.add_parser("predict", help="classify image files with a saved .keras model")
    predict.add_argument("--model-path", required=True)
    predict.add_argument("images", nargs="+")
    return parser


#: Options that only model4 (MobileNetV2) uses, with their defaults (:class:`TrainConfig`'s, as the options'):
#: given for another model they are ignored.
MODEL4_OPTIONS = {name: getattr(TrainConfig, name) for name in (
    "fast", "views", "fine_tune_epochs", "fine_tune_at", "fine_tune_lr_factor", "fine_tune_accumulation_steps",
    "weights")}


def _train(args) -> int:
    from catdog.reporting import chance_hint
    from catdog.training import Progress, RunStore, check_settings, train_run

    train_config = TrainConfig(
        model=args.model, epochs=args.epochs, learning_rate=args.learning_rate, seed=args.seed,
        weights=args.weights, fast=args.fast, views=args.views, fine_tune_epochs=args.fine_tune_epochs,
        fine_tune_at=args.fine_tune_at, fine_tune_lr_factor=args.fine_tune_lr_factor,
        fine_tune_accumulation_steps=args.fine_tune_accumulation_steps, name=args.name,
    )
    side = args.image_size if args.image_size is not None else (
        default_input_size(resolve_mobilenet_weights(args.weights)) if MODEL_SPECS[args.model].mobilenet
        else IMAGE_SIZE[0])
    data_config = DataConfig(data_dir=args.data_dir, batch_size=args.batch_size,
                             validation_size=args.validation_size, test_size=args.test_size, seed=args.split_seed,
                             image_size=(side, side))
    check_settings(train_config, data_config)  # (train_run checks again) a refusal is the only line on stderr
    if not MODEL_SPECS[args.model].mobilenet and (
            given := [name for name, default in MODEL4_OPTIONS.items() if getattr(args, name) != default]):
        options = ", ".join("--" + name.replace("_", "-") for name in given)
        print(f"warning: {options} only change{'s' if len(given) == 1 else ''} model4; {args.model} trains "
              "without them.", file=sys.stderr, flush=True)
        train_config = replace(train_config, **MODEL4_OPTIONS)  # and its run.json does not claim them
    store = RunStore(args.runs_dir or default_runs_dir())
    progress = Progress()
    done = threading.Event()
    out = sys.stdout  # the JSON lines; anything else printed while training (Keras's download notes) → stderr

    def report():  # prints each finished epoch as soon as it lands in the progress object
        printed, warned = 0, False
        while not done.wait(0.2) or printed < len(progress.snapshot()["history"]):
            snap = progress.snapshot()
            history = snap["history"]
            for row in history[printed:]:
                _print({k: row.get(k) for k in ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds")},
                       out)
            printed = len(history)
            if snap["collapsed"] and not warned:  # a collapsed model1/model2: say so at once, on stderr
                warned = True
                hint = chance_hint(args.model, history, False, snap["collapsed"], stop_how=" (Ctrl-C)")
                print(f"warning: {hint}", file=sys.stderr, flush=True)

    stop = threading.Event()
    received = []
    defaults = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}

    def on_signal(signum, frame):  # the first Ctrl-C or SIGTERM stops like the page's Stop; a second one aborts
        stop.set()
        received.append(signum)
        signal.signal(signum, defaults[signum])
        again = "Ctrl-C" if signum == signal.SIGINT else "SIGTERM"
        print(f"stopping after the current batch ({again} again to abort)…", file=sys.stderr, flush=True)

    printer = threading.Thread(target=report, daemon=True)
    printer.start()
    in_main_thread = threading.current_thread() is threading.main_thread()  # only there can it take signals
    previous = {sig: signal.signal(sig, on_signal) for sig in defaults} if in_main_thread else {}
    try:
        with contextlib.redirect_stdout(sys.stderr):
            result = train_run(train_config, data_config, store=store, progress=progress, stop=stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        done.set()
        printer.join()
    _print({"status": result.run.status, "test_accuracy": (result.test or {}).get("accuracy"),
            "test_loss": (result.test or {}).get("loss"),
            "best_epoch_test_accuracy": (result.test_best or {}).get("accuracy"),
            "best_epoch": (result.test_best or {}).get("epoch"),
            "model_path": str(result.run.model_path) if result.run.model_path.is_file() else None,
            "run_id": result.run.run_id}, out)
    return 128 + received[0] if received else 0  # 130 (SIGINT) or 143 (SIGTERM), as a shell reports them


def _predict(args) -> int:
    from catdog.models import load_model
    from catdog.predict import classify_files
    from catdog.training import class_names_of

    model = load_model(args.model_path)
    class_names = class_names_of(args.model_path)  # those of the dataset it was trained on
    files, unreadable = [], {}
    for name in args.images:
        try:
            files.append((name, Path(name).read_bytes()))
        except OSError as err:
            unreadable[name] = f"{name}: cannot be read ({err.strerror or err})."
    predictions = iter(classify_files(model, files, class_names))
    status = 0
    for name in args.images:  # in the order given
        if name in unreadable:
            row = {"path": name, "label": None, "probabilities": {}, "error": unreadable[name]}
        else:
            prediction = next(predictions)
            row = {"path": prediction.name, "label": prediction.label, "probabilities": prediction.probabilities,
                   **({"error": prediction.error} if prediction.error else {})}
        status = 1 if "error" in row else status
        _print(row)
    return status


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m catdog``.

    Args:
        argv: the arguments after the program name; ``None`` reads ``sys.argv[1:]``.

    Returns:
        The exit status: 0 on success; 2 for a user error (:class:`CatdogError`, the message on stderr);
        ``train``: 130 or 143 when stopped by SIGINT or SIGTERM (128 + the signal number, as a shell reports
        it); ``predict``: 1 when some image could not be read or classified (its line carries ``error``).

    Raises:
        SystemExit: from ``argparse``: status 2 for bad arguments, 0 for ``--help``.
    """
    args = _parser().parse_args(argv)
    started = time.time()
    try:
        status = _train(args) if args.command == "train" else _predict(args)
    except CatdogError as err:
        print(f"error: {err}", file=sys.stderr)  # the one line a refusal prints
        return 2
    if args.command == "train":
        print(f"# {time.time() - started:.1f} s", file=sys.stderr)
    return status
