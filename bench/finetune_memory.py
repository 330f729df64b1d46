"""Resident memory of fine-tuning model4, per epoch, with TensorFlow's CPU pool and with plain ``malloc``.

Trains the course results table's ``model4-finetune`` row (fast frozen phase, then MobileNetV2
unfrozen from layer 100 at learning rate / 10) through :func:`catdog.training.train_run`, once per
allocator, each in its own child process, one after the other, and samples the child's resident
set size (``/proc/self/statm``) every 0.5 s:

- ``pool`` — catdog's default: importing :mod:`catdog` sets ``TF_CPU_ALLOCATOR_USE_BFC=true``, so
  TensorFlow keeps its CPU tensors in one best-fit-with-coalescing pool;
- ``malloc`` — ``TF_CPU_ALLOCATOR_USE_BFC=false``: TensorFlow's default, one ``malloc`` (glibc) per tensor;
- ``jemalloc`` (only with ``--jemalloc PATH``) — ``malloc`` replaced by jemalloc through ``LD_PRELOAD``.

    .venv/bin/python bench/finetune_memory.py --epochs 20 --fine-tune-epochs 10
    .venv/bin/python bench/finetune_memory.py --allocators pool,malloc,jemalloc \\
        --jemalloc /usr/lib/x86_64-linux-gnu/libjemalloc.so.2
    .venv/bin/python bench/finetune_memory.py --allocators pool --image-size 224 --fine-tune-epochs 2
    .venv/bin/python bench/finetune_memory.py --allocators pool --image-size 224 --epochs 1 \\
        --fine-tune-epochs 2 --accumulation-steps 1,2

``--accumulation-steps`` compares fine-tuning with whole batches (1) and with each batch run as
micro-batches under gradient accumulation (0, the default: catdog's automatic choice, 4 above 160×160),
each in its own child as well.

Prints a markdown table (peak RSS, RSS at the end of each fine-tuning epoch, mean fine-tuning epoch
seconds, test accuracy) and the peak RSS of each stage of the run (data, model, feature extraction,
frozen phase, fine-tuning, their validation passes, testing); ``--out`` writes JSON.  Feature
extraction for the frozen phase uses the fast mode's cache (``$CATDOG_CACHE_DIR``), so run once
beforehand to keep extraction out of the timing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

from _common import add_data_arguments, comma_list, report, run_child

ALLOCATORS = ("pool", "malloc", "jemalloc")


def _rss_gb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e9


def child(args) -> None:
    """Train one run, sampling RSS; print its JSON summary."""
    import tempfile

    from course_results import config_for

    from catdog.config import DataConfig
    from catdog.training import Progress, RunStore, train_run

    samples: list[float] = []
    by_stage: dict[str, float] = {}  # peak RSS (GB) per stage of the run
    stop = threading.Event()
    progress = Progress()

    def stage() -> str:
        snap = progress.snapshot()
        name = snap["phase"]
        if name == "training":
            name = "fine-tuning" if snap["epoch"] > args.epochs else "frozen phase"
            if snap["batches"] and snap["batch"] >= snap["batches"]:
                name += ", validation"
        return name

    def sample():
        while not stop.is_set():
            samples.append(_rss_gb())
            name = stage()
            by_stage[name] = round(max(by_stage.get(name, 0.0), samples[-1]), 3)
            time.sleep(0.5)

    threading.Thread(target=sample, daemon=True).start()
    epochs: list[dict] = []

    def watch():  # RSS peak and wall clock at the end of every epoch
        seen = 0
        while not stop.is_set():
            history = progress.snapshot()["history"]
            if len(history) > seen:
                seen = len(history)
                epochs.append({"epoch": seen, "rss_gb": round(max(samples[-4:], default=0.0), 3),
                               "seconds": history[-1].get("seconds")})
            time.sleep(0.25)

    threading.Thread(target=watch, daemon=True).start()
    config = config_for("model4-finetune", args.epochs, args.fine_tune_epochs, args.weights, seed=42,  # as measured
                        accumulation_steps=int(args.accumulation_steps))
    size = (args.image_size, args.image_size)
    with tempfile.TemporaryDirectory(prefix="catdog-bench-runs-") as runs:
        result = train_run(config, DataConfig(data_dir=args.data_dir, image_size=size,
                                                           batch_size=args.batch_size), store=RunStore(runs),
                           progress=progress)
        time.sleep(0.6)
        stop.set()
        import resource

        report({
            "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9,
            "wall_seconds": result.run.record.get("wall_seconds"),
            "fine_tune_start_epoch": result.run.record.get("fine_tune_start_epoch"),
            "test_accuracy": (result.test or {}).get("accuracy"), "epochs": epochs,
            "peak_rss_gb_by_stage": by_stage,
        })


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--allocators", default="pool,malloc", help=f"comma-separated from {ALLOCATORS}")
    parser.add_argument("--jemalloc", default=None, help="path of libjemalloc.so (for the jemalloc run)")
    parser.add_argument("--epochs", type=int, default=20, help="frozen-phase (fast mode) epochs")
    parser.add_argument("--fine-tune-epochs", type=int, default=10)
    add_data_arguments(parser)
    parser.add_argument("--image-size", type=int, default=160, help="square input size in pixels")
    parser.add_argument("--batch-size", type=int, default=32, help="images per batch (the course's 32)")
    parser.add_argument("--accumulation-steps", default="0",
                        help="comma-separated fine-tuning gradient accumulation steps to compare "
                             "(1 = whole batches, 0 = catdog's automatic choice)")
    parser.add_argument("--out", default=None)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0
    allocators = comma_list(parser, args.allocators, ALLOCATORS, "allocators")
    if "jemalloc" in allocators and not (args.jemalloc and Path(args.jemalloc).is_file()):
        parser.error("the jemalloc run needs --jemalloc /path/to/libjemalloc.so.2")
    try:
        steps_list = [int(v) for v in args.accumulation_steps.split(",")]
    except ValueError:
        parser.error("--accumulation-steps takes comma-separated integers, e.g. 1,2")
    results = {}
    for name in allocators:
        for steps in steps_list:
            env = {"TF_CPU_ALLOCATOR_USE_BFC": "true" if name == "pool" else "false"}
            if name == "jemalloc":
                env["LD_PRELOAD"] = args.jemalloc
            steps_text = "automatic accumulation" if steps == 0 else f"{steps} accumulation step{'s' * (steps > 1)}"
            label = name if len(steps_list) == 1 else f"{name}, {steps_text}"
            command = [sys.executable, __file__, "--child", "--epochs", str(args.epochs), "--fine-tune-epochs",
                       str(args.fine_tune_epochs), "--data-dir", args.data_dir, "--weights", args.weights,
                       "--image-size", str(args.image_size), "--batch-size", str(args.batch_size),
                       "--accumulation-steps", str(steps)]
            results[label] = run_child(command, label, env)
    print(f"\nmodel4 at {args.image_size}×{args.image_size}, batch {args.batch_size}: {args.epochs} fast frozen "
          f"epochs + {args.fine_tune_epochs} fine-tuning epochs; "
          f"load average after: {os.getloadavg()[0]:.1f}\n")
    print("| allocator, accumulation | peak RSS | RSS after each fine-tuning epoch (GB) | s per fine-tuning epoch "
          "| wall | test acc. |")
    print("|---|---:|---|---:|---:|---:|")
    for name, r in results.items():
        tuned = [e for e in r["epochs"] if e["epoch"] >= (r["fine_tune_start_epoch"] or 10**9)]
        seconds = [e["seconds"] for e in tuned if e["seconds"]]
        mean = sum(seconds) / len(seconds) if seconds else float("nan")
        rss = ", ".join(f"{e['rss_gb']:.2f}" for e in tuned)
        print(f"| {name} | {r['peak_rss_gb']:.2f} GB | {rss} | "
              f"{mean:.1f} | {r['wall_seconds']:.0f} s | {r['test_accuracy']:.1%} |")
    for name, r in results.items():
        stages = ", ".join(f"{stage} {gb:.2f}" for stage, gb in r["peak_rss_gb_by_stage"].items())
        print(f"\n{name}: peak RSS by stage (GB, sampled every 0.5 s): {stages}")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
