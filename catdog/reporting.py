"""Plain-data summaries the pages show: run tables, progress and ETA."""

from __future__ import annotations

import time


def run_rows(runs) -> list[dict]:
    """One row per run for the comparison table.

    Args:
        runs: :class:`catdog.training.RunInfo` objects.

    Returns:
        Dicts with run, model, status, epochs, best validation accuracy, test
        accuracy (fractions in [0, 1] or ``None``), wall time in seconds and
        trainable / total parameters.
    """
    rows = []
    for run in runs:
        record = run.record
        params = record.get("parameters") or {}
        config = record.get("train_config", {})
        mode = " (fast)" if config.get("fast") and run.model == "model4" else ""
        rows.append({
            "run": run.name,
            "model": run.model + mode,
            "status": run.status,
            "epochs": record.get("epochs_done", config.get("epochs")),
            "best val accuracy": record.get("best_val_accuracy"),
            "test accuracy": run.test_accuracy,
            "wall time (s)": record.get("wall_seconds"),
            "trainable params": params.get("trainable"),
            "total params": params.get("total"),
            "id": run.run_id,
        })
    return rows


def eta_seconds(snapshot: dict, now: float | None = None) -> float | None:
    """Seconds left in the training, from a :meth:`catdog.training.Progress.snapshot`.

    Estimated from the pace of the current epoch (seconds per batch so far) times
    the batches left in it and in the epochs still to come; validation passes are
    not counted.  ``None`` before the first batch.
    """
    now = time.time() if now is None else now
    batch, batches = snapshot.get("batch", 0), snapshot.get("batches", 0)
    if not batch or not batches or not snapshot.get("epoch_started"):
        return None
    per_batch = (now - snapshot["epoch_started"]) / batch
    epochs_left = max(snapshot.get("epochs", 0) - snapshot.get("epoch", 0), 0)
    return per_batch * ((batches - batch) + epochs_left * batches)


def stuck_at_chance(history, tolerance: float = 0.02) -> bool:
    """True when no epoch's validation accuracy got above 50 % + ``tolerance``.

    The sign of a collapsed two-class network: constant output, loss ≈ ln 2 ≈ 0.693.
    """
    accuracies = [row.get("val_accuracy") for row in history if row.get("val_accuracy") is not None]
    return bool(accuracies) and max(accuracies) <= 0.5 + tolerance


def fraction_done(snapshot: dict) -> float:
    """Share of the training done, in [0, 1]: finished epochs plus the current epoch's batches."""
    epochs = max(snapshot.get("epochs", 0), 1)
    batches = max(snapshot.get("batches", 0), 1)
    done = max(snapshot.get("epoch", 0) - 1, 0) + min(snapshot.get("batch", 0) / batches, 1.0)
    return min(done / epochs, 1.0)


def format_seconds(seconds: float | None) -> str:
    """``75`` → ``"1 min 15 s"``; ``None`` → ``"…"``."""
    if seconds is None:
        return "…"
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"
