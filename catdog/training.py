"""Training runs: the run store, the training function and the job queue.

One function, :func:`train_run`, trains a registry model and writes a run folder;
the command line calls it directly and the Training page calls it through a
:class:`TrainingQueue`, which runs one job at a time in a background thread so
that a widget click or a page switch never aborts ``model.fit``; in the dashboard
that thread hands each job to a child process of its own (:mod:`catdog.worker`),
so that the memory Keras keeps after a training goes with the process.

A run folder (``runs/<run id>/``) holds:

- ``run.json`` — config, status, timings, parameter counts, test metrics of the
  final model (``test``) and of the best-validation checkpoint (``test_best``), library
  versions (rewritten atomically: write a temporary file, then rename); ``mode``
  (``fast``/``standard``), for fast model4 ``features`` (cache keys, hits,
  seconds), with fine-tuning ``fine_tune_start_epoch`` (1-based), and for a run stopped mid-epoch
  ``partial_epoch`` (``{"epoch", "batch", "batches"}``: Keras logs that partial epoch as an epoch);
- ``history.csv`` — per-epoch metrics from ``keras.callbacks.CSVLogger``;
- ``best.keras`` — the best-validation-accuracy model (``ModelCheckpoint``; once the run ends, rewritten
  without the optimizer's state, :func:`catdog.models.save_for_inference`);
- ``model.keras`` — the final model, image in, logits out (also without the optimizer's state);
- ``tensorboard/`` — per-epoch scalars from ``keras.callbacks.TensorBoard`` (when the
  ``tensorboard`` package is installed), for ``tensorboard --logdir runs/``.
"""

from __future__ import annotations

import atexit
import contextlib
import csv
import itertools
import json
import math
import os
import platform
import queue
import re
import shutil
import sys
import threading
import time
import uuid
import warnings
import weakref
from dataclasses import dataclass, field, fields as dataclass_fields, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

from catdog.atomic import write_atomic
from catdog.config import CLASS_NAMES, IMAGE_SIZE, DataConfig, TrainConfig, fine_tune_accumulation, run_name
from catdog.errors import CatdogError

#: Run states as written in ``run.json``.  ``interrupted`` is never written: it
#: is what a ``running`` run whose process is gone is shown as.
RUN_STATES = ("running", "done", "stopped", "failed", "interrupted")

RUN_FILE = "run.json"
#: Start of the hidden name a folder gets while it is removed for good (:meth:`RunStore.delete`'s trash kept no
#: more, :meth:`RunStore.remove_stale_temporaries`).
DELETED_PREFIX = ".deleted-"
#: The hidden folder, in the runs folder, that holds deleted runs until they are restored
#: (:meth:`RunStore.restore`) or removed for good: on a class's shared server anyone can delete a run, and a
#: teacher's prepared runs were gone for good after a student's Delete (QA H).
TRASH_DIR = ".trash"
#: Deleted runs kept for restoring: the newest this many, none deleted over :data:`TRASH_DAYS` days ago. Ten runs
#: take up to ≈ 0.4 GB (a model1 run, the largest, 41 MB).
TRASH_KEEP = 10
TRASH_DAYS = 7
HISTORY_FILE = "history.csv"
MODEL_FILE = "model.keras"
BEST_MODEL_FILE = "best.keras"
TENSORBOARD_DIR = "tensorboard"
#: How long a server that is shutting down waits for its training to stop, in seconds: the current batch,
#: saving the model and scoring the test split took up to 14.5 s on 2 cores (fine-tuning model4 at 224×224 with
#: batches of 128, QA, 2 Dec); past this the process exits anyway and the run is left to show as interrupted.
SHUTDOWN_SECONDS = 30.0
#: Trainings one browser may have waiting in the queue at once, and the whole server: in a class sharing one
#: server, 30 students pressing Train would otherwise queue hours of work (model1, 20 epochs: 5–6 min on 2 cores)
#: ahead of the teacher's next demo. A running job does not count.
MAX_WAITING_PER_OWNER = 3
MAX_WAITING = 10
#: In the runs folder: the trainings a server shutdown cancelled while they waited, or stopped while they trained,
#: until their browser has read so (:meth:`TrainingQueue.cancelled_for`); jobs live in memory, so nothing else would
#: say they were dropped.
CANCELLED_FILE = ".cancelled_at_shutdown.json"
#: Days an entry of :data:`CANCELLED_FILE` is kept for a browser that does not come back.
CANCELLED_KEEP_DAYS = 7
#: In the runs folder while a server runs: its waiting and running trainings, rewritten as they change. A clean
#: shutdown removes it (:data:`CANCELLED_FILE` says what it cancelled); found at the next start, it is what a
#: server killed without warning (SIGKILL, out of memory, power cut) left behind, and its trainings join
#: :data:`CANCELLED_FILE`: before, a browser's waiting training vanished without a word (QA).
QUEUE_FILE = ".queue.json"
#: In the runs folder: ``{run id: owner id}``, the browser whose training made each run
#: (:meth:`TrainingQueue.run_owner`): in teacher mode a student may rename and delete their own runs, not the
#: teacher's (:mod:`catdog.teacher`).
OWNERS_FILE = ".run_owners.json"
#: Age in seconds past which a temporary model file is a killed process's leftover
#: (:meth:`RunStore.remove_stale_temporaries`).
STALE_TEMPORARY_SECONDS = 3600.0


# --------------------------------------------------------------------------- run store


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to ``path`` so that readers see the old or the new file, never half.

    The text goes to a temporary file in the same folder, is flushed to disk, and
    replaces ``path`` with ``os.replace`` (atomic on POSIX and Windows).

    Raises:
        OSError: the folder is missing or cannot be written (:func:`catdog.atomic.write_atomic`).
        TypeError: ``data`` holds a dict key JSON cannot take (values of other types are written as ``str``).
    """
    write_atomic(path, lambda handle: json.dump(data, handle, indent=2, default=str))


def read_history_csv(path: Path) -> list[dict[str, float]]:
    """Per-epoch rows of a ``CSVLogger`` file; numbers as floats, ``epoch`` 1-based.

    Returns an empty list for a missing file; a torn last line, or one that is not numbers (bytes that are not
    UTF-8, as a power cut can leave), is dropped.

    Raises:
        OSError: the file exists but cannot be read.
    """
    if not Path(path).is_file():
        return []
    rows = []
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        for row in csv.DictReader(handle):
            try:
                parsed = {k: float(v) for k, v in row.items() if k}
                parsed["epoch"] = int(parsed.get("epoch", len(rows))) + 1  # "nan" parses as a float (review)
            except (TypeError, ValueError, OverflowError):
                continue
            rows.append(parsed)
    return rows


#: Characters of a run's name and model that :meth:`RunInfo.label` keeps with ``validation``: with the scores
#: (≤ 33 more, " · final val 100.0% · test 100.0%") within the Classifier's select box at 1024 px, five sixths of
#: the page wide (≈ 69 characters; a box two thirds wide held 54 and cut the test score, QA 16).
LABEL_NAME_MAX = 34


def run_started(run_id: str) -> str:
    """When the run ``run_id`` started, e.g. "2 Dec 11:55:17", from the run id's local time stamp
    (``20261202-115517-model1-1c9585``); the id itself where that does not parse."""
    try:
        started = datetime.strptime(run_id[:15], "%Y%m%d-%H%M%S")
    except ValueError:
        return run_id
    return f"{started.day} {started:%b %H:%M:%S}"


@dataclass
class RunInfo:
    """A run as listed by the store.

    Attributes:
        run_id: folder name, unique.
        path: the run folder.
        record: the parsed ``run.json`` (config, status, metrics, …).
        status: one of :data:`RUN_STATES`; a ``running`` record with no live job
            in this process is reported as ``interrupted``.
    """

    run_id: str
    path: Path
    record: dict
    status: str

    @property
    def name(self) -> str:
        """Display name: the user's name for the run, else when it started, e.g. "2 Dec 11:55:17" (from the
        run id's local time stamp; the id itself where that does not parse). Chart legends and pickers show
        it: the full id (``20261202-115517-model1-1c9585``) was cut off on a 1024-px projector."""
        return self.record.get("name") or self.started

    @property
    def by_teacher(self) -> bool:
        """Whether the teacher trained it (teacher mode, :mod:`catdog.teacher`; ``run.json``'s ``teacher``, written
        when its training ends)."""
        return self.record.get("teacher") is True

    @property
    def started(self) -> str:
        """When the run started, e.g. "2 Dec 11:55:17" (:func:`run_started`)."""
        return run_started(self.run_id)

    @property
    def model(self) -> str:
        """Registry model name (``model1`` …)."""
        return self.record.get("train_config", {}).get("model", "?")

    @property
    def train_config(self) -> TrainConfig:
        """The run's settings (``run.json``'s ``train_config``) as a :class:`catdog.config.TrainConfig`: a field
        missing (a run recorded before it existed) or of another type than the default's (a hand-edited record)
        takes the default, and fields TrainConfig no longer has are left out. Never raises."""
        given = self.record.get("train_config")
        given = given if isinstance(given, dict) else {}
        kept = {}
        for setting in dataclass_fields(TrainConfig):
            value, default = given.get(setting.name), getattr(TrainConfig, setting.name)
            if type(value) is type(default) or (type(default) is float and type(value) is int):
                kept[setting.name] = value
        return TrainConfig(**kept)

    @property
    def class_names(self) -> tuple[str, ...]:
        """The class names of the model's two outputs, in logit order: those of the dataset it was trained on
        (``run.json``'s ``class_names``; runs from before it was recorded: ``("cats", "dogs")``)."""
        names = self.record.get("class_names")
        if isinstance(names, list) and len(names) == len(CLASS_NAMES) and all(isinstance(n, str) for n in names):
            return tuple(names)
        return CLASS_NAMES

    @property
    def image_size(self) -> tuple[int, int]:
        """(height, width) in pixels of the images the run trained on (``data_config.image_size``; runs from
        before it was recorded: :data:`catdog.config.IMAGE_SIZE`)."""
        size = (self.record.get("data_config") or {}).get("image_size")
        return (int(size[0]), int(size[1])) if size else tuple(IMAGE_SIZE)

    @property
    def test_accuracy(self) -> float | None:
        """Accuracy on the test split in [0, 1], if the run was evaluated."""
        return (self.record.get("test") or {}).get("accuracy")

    @property
    def test_best_accuracy(self) -> float | None:
        """Test accuracy in [0, 1] of ``best.keras`` (the best-validation epoch), if scored."""
        return (self.record.get("test_best") or {}).get("accuracy")

    @property
    def fine_tune_start(self) -> int | None:
        """The first fine-tuning epoch (1-based; ``run.json``'s ``fine_tune_start_epoch``): the epoch after the
        last frozen one, also when Stop cut this first fine-tuning epoch short; ``None`` when the run never reached
        fine-tuning (no fine-tuning epochs, or stopped or failed in the frozen phase)."""
        start = self.record.get("fine_tune_start_epoch")
        return start if isinstance(start, int) and start >= 1 else None

    @property
    def model_path(self) -> Path:
        """The final ``.keras`` model (image → logits)."""
        return self.path / MODEL_FILE

    def history(self) -> list[dict[str, float]]:
        """Per-epoch metrics (see :func:`read_history_csv`); the row of an epoch that Stop cut short
        (``run.json``'s ``partial_epoch``) also has ``stopped_after_batch`` and ``batches``."""
        rows = read_history_csv(self.path / HISTORY_FILE)
        partial = self.record.get("partial_epoch")
        if partial and rows and rows[-1]["epoch"] == partial.get("epoch"):
            rows[-1].update(stopped_after_batch=partial.get("batch"), batches=partial.get("batches"))
        return rows

    @property
    def has_epochs(self) -> bool:
        """Whether at least one epoch finished, i.e. there are curves to draw (one ``stat``, no parsing).

        ``CSVLogger`` creates the history file empty when training begins and writes its
        header with the first epoch's row.
        """
        try:
            return (self.path / HISTORY_FILE).stat().st_size > 0
        except OSError:
            return False

    @property
    def model_kind(self) -> str:
        """The model as the course's results name it: ``"model4 fine-tuned"`` for a run that reached fine-tuning
        (:attr:`fine_tune_start`), else :attr:`model` (pickers and column titles read "model4" for both, QA)."""
        return f"{self.model} fine-tuned" if self.fine_tune_start else self.model

    def names_model(self) -> bool:
        """Whether the run's name says its model already ("model1 · 4 epochs"; for a fine-tuned run, also that it
        is: "model4 FT", "model4 fine-tuned"), so that labels need not add it."""
        return bool(re.search(rf"\b{re.escape(self.model)}\b", self.name, re.IGNORECASE) and (
            not self.fine_tune_start or re.search(r"fine.?tun|\bFT\b", self.name, re.IGNORECASE)))

    def name_with_model(self) -> str:
        """The name and the model (:attr:`model_kind`): "demo · model1"; the name alone when it names the model
        already (:meth:`names_model`: "model1 · 4 epochs", not "model1 · 4 epochs · model1")."""
        return self.name if self.names_model() else f"{self.name} · {self.model_kind}"

    def label(self, *, validation: bool = False) -> str:
        """One-line description for pickers: name, model (:meth:`name_with_model`), test accuracy ("demo · model1 ·
        test 60.0%").

        With ``validation``, for a picker ordered by the final model's validation accuracy
        (:func:`catdog.reporting.rank_runs`), that accuracy comes before the test score, named so that it is not
        taken for the runs table's best validation accuracy ("demo · model1 · final val 58.3% · test 60.0%":
        QA, the order looked random beside test scores alone), and a name past :data:`LABEL_NAME_MAX` characters
        is cut in its middle, keeping its start, its end (often what tells runs apart: "… (seed 1)") and the model:
        the select box at 1024 px cut the scores off instead (QA).
        """
        acc = self.test_accuracy
        score = f"test {acc:.1%}" if acc is not None else self.status
        name = self.name_with_model()
        if validation:
            if (history := self.history()) and isinstance(val := history[-1].get("val_accuracy"), float) \
                    and 0.0 <= val <= 1.0:  # not NaN
                score = f"final val {val:.1%} · {score}"
            if len(name) > LABEL_NAME_MAX:
                # the user's name cut in its middle, as its end often tells runs apart ("… (seed 1)", QA 16), then
                # the model, also when the name held it ("course model4-finetune (seed 0)": cut, it lost "model4")
                model = f" · {self.model_kind}"
                keep = LABEL_NAME_MAX - 1 - len(model)
                name = f"{self.name[:(keep + 1) // 2]}…{self.name[len(self.name) - keep // 2:]}{model}"
        return f"{name} · {score}"


#: ``run.json``'s ``stopped_by`` for a run whose training a server shutdown stopped (:meth:`TrainingQueue.close`).
STOPPED_AT_SHUTDOWN = "server shutdown"
#: ``run.json``'s ``stopped_by`` (and :attr:`TrainingJob.stopped_by`) for a training the teacher stopped or cancelled
#: from another browser (teacher mode, :mod:`catdog.teacher`).
STOPPED_BY_TEACHER = "teacher"

#: Serialises :meth:`RunStore.update`'s read-merge-write of ``run.json`` across the threads of a process (the
#: training thread and the page's Rename).
_RECORD_LOCK = threading.Lock()


class RunStore:
    """The runs folder: create, list, rename and delete run folders.

    Args:
        root: the runs folder (created on first write, not on listing).
        live: returns the run ids that a job in this process is training now;
            used to tell a ``running`` run from an ``interrupted`` one.
    """

    def __init__(self, root: str | os.PathLike, live: Callable[[], set[str]] | None = None):
        self.root = Path(root)
        self._live = live or (lambda: set())

    def create(self, train_config: TrainConfig, data_config: DataConfig, extra: dict | None = None) -> RunInfo:
        """Make a new run folder with a ``running`` record and return it.

        Raises:
            CatdogError: the runs folder cannot be created or written (a file in the way, no permission).
            OSError: the folder was made but its ``run.json`` cannot be written (a full disk).
        """
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        run_id = f"{stamp}-{train_config.model}-{uuid.uuid4().hex[:6]}"
        path = self.root / run_id
        try:
            path.mkdir(parents=True, exist_ok=False)
        except OSError as err:
            raise CatdogError(f"Cannot make a run folder in the runs folder '{self.root}' ({err.strerror or err}). "
                              "Choose a folder you can write to ($CATDOG_RUNS_DIR, or --runs-dir).") from err
        record = {
            "run_id": run_id,
            "name": train_config.name,
            "colour": free_colour(self.list()),
            "status": "running",
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "train_config": train_config.to_dict(),
            "data_config": data_config.to_dict(),
            "versions": library_versions(),
            **(extra or {}),
        }
        write_json_atomic(path / RUN_FILE, record)
        return RunInfo(run_id, path, record, "running")

    def update(self, run: RunInfo, **changes) -> RunInfo:
        """Merge ``changes`` into the run's record as it is on disk now, rewrite it atomically, and give ``run``
        that record.

        On disk, not ``run.record``: the training thread holds its own copy of the record from when the run
        started, and writing that copy back (at the start of fine-tuning, at the end) undid a rename made from
        the page meanwhile (QA). Updates in this process take turns (:data:`_RECORD_LOCK`); a record that cannot
        be read any more (deleted, hand-edited into bad JSON) is rewritten from ``run.record``.

        Raises:
            CatdogError: the run folder is gone (deleted by hand), or ``run.json`` cannot be written (a read-only
                runs folder); the file is left as it was.
        """
        with _RECORD_LOCK:
            try:
                current = json.loads((run.path / RUN_FILE).read_text(encoding="utf-8-sig"))
            except (OSError, ValueError):
                current = None
            record = {**(current if isinstance(current, dict) else run.record), **changes}
            if not run.path.is_dir():  # deleted by hand while it trained: "Cannot write … (No such file)" (QA)
                raise run_folder_gone(run)
            try:
                write_json_atomic(run.path / RUN_FILE, record)
            except OSError as err:  # a read-only runs folder gave a traceback on Rename (QA)
                raise CatdogError(f"Cannot write the record of run '{run.name}' in '{run.path}' "
                                  f"({err.strerror or err}): nothing was changed. The runs folder must be one you "
                                  "can write to ($CATDOG_RUNS_DIR, or --runs-dir).") from err
            run.record = record
        run.status = run.record.get("status", run.status)
        return run

    def list(self) -> list[RunInfo]:
        """All readable runs, newest first (:meth:`scan`)."""
        return self.scan()[0]

    def scan(self) -> tuple[list[RunInfo], list[tuple[str, str]]]:
        """One read of the runs folder: the readable runs, newest first, and ``(folder name, why)`` for each folder
        whose ``run.json`` cannot be used (unreadable, not JSON, or a field of the wrong type or range:
        :func:`record_problem`), sorted by name: a hand-edited record that broke vanished from every page without
        a word (QA). Folders without a ``run.json`` and hidden ones (a run being deleted) are in neither."""
        live = self._live()
        runs, unreadable = [], []
        for path in self._folders():
            run, problem = self._load(path, live)
            if run is not None:
                runs.append(run)
            elif problem:
                unreadable.append((path.name, problem))
        return sorted(runs, key=lambda r: r.record.get("created", ""), reverse=True), sorted(unreadable)

    def _folders(self, where: Path | None = None) -> list[Path]:
        """The run folders in ``where`` (the runs folder when ``None``): not hidden ones (the trash, a folder
        being removed)."""
        where = self.root if where is None else where
        if not where.is_dir():
            return []
        with contextlib.suppress(OSError):
            return [path for path in where.iterdir() if not path.name.startswith(".") and path.is_dir()]
        return []

    def get(self, run_id: str) -> RunInfo:
        """The run ``run_id``.

        Raises:
            CatdogError: no such run.
        """
        run = self._load(self.root / run_id, self._live())[0] if _is_run_id(run_id) else None
        if run is None:
            raise CatdogError(f"There is no run '{run_id}' in {self.root}.")
        return run

    def rename(self, run_id: str, name: str) -> RunInfo:
        """Set the display name of a run (the folder keeps its id), as :func:`catdog.config.run_name` keeps it
        (stripped, cut to :data:`~catdog.config.RUN_NAME_MAX` characters).

        Raises:
            CatdogError: no such run, an empty name, or a record that cannot be written (:meth:`update`).
        """
        name = run_name(name)
        if not name:
            raise CatdogError("A run name cannot be empty.")
        return self.update(self.get(run_id), name=name)

    def delete(self, run_id: str) -> list[str]:
        """Move a run folder into the trash (:data:`TRASH_DIR`), out of every list, in one step (a rename: a delete
        that failed halfway left a run with its record but not its models, QA), from where :meth:`restore` brings
        it back. The trash keeps the :data:`TRASH_KEEP` runs deleted last, none older than :data:`TRASH_DAYS` days;
        older ones are removed for good here (:meth:`purge_trash`).

        Returns:
            The names of the deleted runs that this removed for good from the trash (:meth:`purge_trash`).

        Raises:
            CatdogError: no such run, the run is training now, or its folder cannot be moved (no permission).
        """
        run = self.get(run_id)
        if run.status == "running":
            raise CatdogError(f"Run '{run.name}' is training now: it can be deleted once its training has ended "
                              "(at its last epoch, or with Stop by whoever started it).")
        trash = self.root / TRASH_DIR
        try:
            trash.mkdir(exist_ok=True)
            if (trash / run_id).exists():  # deleted, restored by hand and deleted again: the older copy goes
                self._remove(trash / run_id)
            os.rename(run.path, trash / run_id)
        except OSError as err:
            raise CatdogError(f"Cannot delete run '{run.name}' ({err.strerror or err}): nothing was deleted. The runs "
                              f"folder '{self.root}' must be one you can write to.") from err
        with contextlib.suppress(OSError):
            os.utime(trash / run_id)  # its modification time says when it was deleted (a rename keeps the old one)
        return self.purge_trash()

    def listing_key(self) -> tuple[frozenset[tuple[str, int | None]], frozenset[str]]:
        """What changes when a run is made, renamed, deleted or restored, from two directory listings and a
        ``stat`` per run (no record is read): ``(run folders, trash folders)``, each run folder as its name and its
        ``run.json``'s modification time in ns (``None`` for a run training in this process, whose record its
        training rewrites: the page follows it otherwise), each trash folder (:data:`TRASH_DIR`) as its name."""
        live, runs = self._live(), set()
        for path in self._folders():
            stamp = None
            if path.name not in live:
                with contextlib.suppress(OSError):
                    stamp = (path / RUN_FILE).stat().st_mtime_ns
            runs.add((path.name, stamp))
        return frozenset(runs), frozenset(path.name for path in self._folders(self.root / TRASH_DIR))

    def deleted(self) -> list[tuple[RunInfo, float]]:
        """The runs in the trash that :meth:`restore` can bring back: ``(run, when it was deleted)``, newest first,
        the time in seconds since the epoch (the trash folder's modification time, set by :meth:`delete`). Folders
        in the trash without a usable ``run.json`` are left out."""
        runs = []
        for path in self._folders(self.root / TRASH_DIR):
            run, _ = self._load(path, set())
            with contextlib.suppress(OSError):
                if run is not None:
                    runs.append((run, path.stat().st_mtime))
        return sorted(runs, key=lambda pair: pair[1], reverse=True)

    def restore(self, run_id: str) -> RunInfo:
        """Bring a deleted run (:meth:`deleted`) back into the runs folder, as it was; a run whose colour
        (:func:`curve_colours`) a run made meanwhile has gets a free one (:func:`free_colour`).

        Raises:
            CatdogError: no such run in the trash (restored or removed for good meanwhile), a run of that id is
                in the runs folder, or the folder cannot be moved (no permission); nothing is changed.
        """
        source = self.root / TRASH_DIR / run_id
        run = self._load(source, set())[0] if _is_run_id(run_id) else None
        if run is None:
            raise CatdogError(f"There is no deleted run '{run_id}' to restore: it was restored or removed for good "
                              f"meanwhile (the trash keeps the {TRASH_KEEP} runs deleted last, for {TRASH_DAYS} days).")
        if (self.root / run_id).exists():
            raise CatdogError(f"Cannot restore run '{run.name}': the runs folder has a run '{run_id}' already. "
                              "Nothing was changed.")
        others = self.list()
        try:
            os.rename(source, self.root / run_id)
        except OSError as err:
            raise CatdogError(f"Cannot restore run '{run.name}' ({err.strerror or err}): nothing was changed. The "
                              f"runs folder '{self.root}' must be one you can write to.") from err
        run = self.get(run_id)
        colours = curve_colours(others)
        if run.has_epochs and run.record.get("colour") in {colours[o.run_id] for o in others if o.has_epochs}:
            with contextlib.suppress(CatdogError):  # the same colour as another run: a look, not a loss
                self.update(run, colour=free_colour(others))
        return run

    def purge_trash(self, now: float | None = None) -> list[str]:
        """Remove for good the deleted runs past the newest :data:`TRASH_KEEP` or deleted over :data:`TRASH_DAYS`
        days before ``now`` (seconds since the epoch; the time now when ``None``), and trash folders that hold no
        run.

        Returns:
            The names of the runs removed (:attr:`RunInfo.name`; the folder's name for a folder without a usable
            record), oldest deleted last.
        """
        now = time.time() if now is None else now
        deleted = self.deleted()
        kept = {run.run_id for run, when in deleted[:TRASH_KEEP] if now - when <= TRASH_DAYS * 86400}
        readable = {run.run_id for run, _ in deleted}
        gone = [(run.path, run.name) for run, _ in deleted if run.run_id not in kept] + [
            (path, path.name) for path in self._folders(self.root / TRASH_DIR) if path.name not in readable]
        for path, _ in gone:
            self._remove(path)
        return [name for _, name in gone]

    @staticmethod
    def next_removed(deleted: list[tuple[RunInfo, float]]) -> tuple[RunInfo, float] | None:
        """The deleted run (with when it was deleted) that the next :meth:`delete` removes for good for want of
        room (:data:`TRASH_KEEP`, :meth:`purge_trash`), or ``None`` while the trash has room.

        Args:
            deleted: :meth:`deleted`, newest first.
        """
        return deleted[TRASH_KEEP - 1] if len(deleted) >= TRASH_KEEP else None

    def _remove(self, path: Path) -> None:
        """Remove a folder for good: renamed into a hidden :data:`DELETED_PREFIX` name first, in one step, so that
        ``rmtree`` failing halfway (a file it may not remove) leaves nothing half listed; what is left is removed
        when a server next opens the runs folder (:meth:`remove_stale_temporaries`)."""
        doomed = self.root / f"{DELETED_PREFIX}{path.name}-{uuid.uuid4().hex[:6]}"
        with contextlib.suppress(OSError):
            os.rename(path, doomed)
            shutil.rmtree(doomed, ignore_errors=True)

    def remove_stale_temporaries(self, older_than: float = STALE_TEMPORARY_SECONDS) -> int:
        """Delete the temporary model files (``.model.<pid>.<id>.tmp.keras``,
        :func:`catdog.models.save_for_inference`) last written over ``older_than`` seconds ago: a process killed
        while saving (SIGKILL, power cut) leaves one, tens of MB, in its run folder. A save takes seconds, so an
        old one is no other process's save in progress, even one on another machine sharing the folder. Also
        removes what a removal for good left (``.deleted-…`` folders) and the trash's runs kept no more
        (:meth:`purge_trash`).

        Returns:
            How many temporary model files were deleted.
        """
        removed, now = 0, time.time()
        for tmp in self.root.glob("*/.*.tmp.keras") if self.root.is_dir() else ():
            with contextlib.suppress(OSError):
                if now - tmp.stat().st_mtime > older_than:
                    tmp.unlink()
                    removed += 1
        for trash in self.root.glob(f"{DELETED_PREFIX}*") if self.root.is_dir() else ():  # deletes left half done
            shutil.rmtree(trash, ignore_errors=True)
        self.purge_trash()  # runs deleted over TRASH_DAYS ago on a server that ran no Delete since
        return removed

    @staticmethod
    def _load(path: Path, live: set[str]) -> tuple[RunInfo | None, str | None]:
        """The run in folder ``path``, or ``None`` and why not (``None`` too for a folder without a ``run.json``,
        which is no run). UTF-8 with or without a byte-order mark (Windows Notepad writes one: a run renamed by
        hand vanished, QA)."""
        try:
            record = json.loads((path / RUN_FILE).read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            return None, None
        except OSError as err:
            return None, f"run.json cannot be read ({err.strerror or err})"
        except ValueError:
            return None, "run.json is not valid JSON in UTF-8"
        if not isinstance(record, dict):
            return None, "run.json holds no JSON object"
        if problem := record_problem(record):
            return None, problem
        status = record.get("status", "failed")
        if status == "running" and path.name not in live:
            status = "interrupted"
        return RunInfo(path.name, path, record, status), None


def _is_run_id(run_id: str | None) -> bool:
    """Whether ``run_id`` can name a run folder: not empty, not hidden (the trash, a folder being removed), no
    path."""
    return bool(run_id) and "/" not in run_id and not run_id.startswith(".")


_NUMBER, _INT = (int, float), (int,)
#: The type of each ``run.json`` field the pages read (``None`` is always allowed), and of the fields inside the
#: nested records: one hand-edited field of another type (``"created": 5``) broke the runs table and the
#: Classifier for everyone.
_RECORD_TYPES = {
    "name": (str,), "status": (str,), "created": (str,), "error": (str,), "mode": (str,),
    "train_config": (dict,), "data_config": (dict,), "parameters": (dict,), "test": (dict,), "test_best": (dict,),
    "partial_epoch": (dict,), "collapsed": (dict,), "class_names": (list,),
    "stopped_by": (str,), "best_val_accuracy": _NUMBER, "wall_seconds": _NUMBER, "epochs_done": _INT,
    "fine_tune_start_epoch": _INT, "colour": _INT, "teacher": (bool,),
}
_NESTED_TYPES = {
    "train_config": {"model": (str,), "epochs": _INT, "fine_tune_epochs": _INT, "seed": _INT},
    "data_config": {"image_size": (list,)},
    "parameters": {"trainable": _INT, "non_trainable": _INT, "total": _INT},
    "test": {"accuracy": _NUMBER, "loss": _NUMBER, "images": _INT},
    "test_best": {"accuracy": _NUMBER, "loss": _NUMBER, "images": _INT, "epoch": _INT},
    "partial_epoch": {"epoch": _INT, "batch": _INT, "batches": _INT},
}
_REQUIRED = {"partial_epoch": ("epoch", "batch", "batches")}
#: ``(field, inner field or None, low, high)``: numbers the pages compute with, and the range they must lie in
#: (finite; Python's json reads a bare ``NaN``): one test accuracy of 1.7 broke the runs table for everyone (QA).
_RANGES = [
    ("test", "accuracy", 0.0, 1.0), ("test", "images", 0, math.inf), ("test_best", "accuracy", 0.0, 1.0),
    ("test_best", "images", 0, math.inf), ("best_val_accuracy", None, 0.0, 1.0), ("wall_seconds", None, 0.0, math.inf),
    ("colour", None, 0, math.inf),
]


def curve_colours(runs: list[RunInfo]) -> dict[str, int]:
    """``{run id: n}``: the number of each run's colour (and dash) in the comparison chart
    (:func:`catdog.charts.compare_figure`'s ``styles``): ``run.json``'s ``colour``, which :meth:`RunStore.create`
    sets (:func:`free_colour`), so that a run keeps its colour when another is deleted (by its age among the runs,
    deleting an older run moved every younger one to the next colour: "the orange line" was suddenly green, QA).
    Runs from before it was recorded take the lowest numbers no recorded run has, oldest first, those with curves
    before those without.

    Args:
        runs: :meth:`RunStore.list`, newest first.
    """
    colours = {run.run_id: run.record["colour"] for run in runs if run.record.get("colour") is not None}
    taken = set(colours.values())
    for run in sorted(reversed(runs), key=lambda run: not run.has_epochs):  # oldest first, those with curves first
        if run.run_id not in colours:
            colours[run.run_id] = colour = next(n for n in itertools.count() if n not in taken)
            taken.add(colour)
    return colours


def free_colour(runs: list[RunInfo]) -> int:
    """The colour number (:func:`curve_colours`) of a new run: the lowest that no run with curves, or still
    running, has; so the runs of a folder get distinct colours (ten, then dashed lines) until more than ten are
    listed together, and a number that grew with every run ever made (a dashed line beside one other run, and one
    colour twice among nine runs, QA) is not needed.

    Args:
        runs: :meth:`RunStore.list`, newest first.
    """
    colours = curve_colours(runs)
    taken = {colours[run.run_id] for run in runs if run.has_epochs or run.status == "running"}
    return next(n for n in itertools.count() if n not in taken)


def record_problem(record: dict) -> str | None:
    """What makes a ``run.json`` record unusable, or ``None``: a field of :data:`_RECORD_TYPES` (or inside one of
    :data:`_NESTED_TYPES`) with another type (booleans are no numbers), a partial epoch without its three numbers,
    an input size that is not two integers, or a number out of its range (:data:`_RANGES`)."""
    def wrong(value, types) -> bool:
        return value is not None and (isinstance(value, bool) and bool not in types or not isinstance(value, types))

    for key, types in _RECORD_TYPES.items():
        if wrong(record.get(key), types):
            return f"{key} is not a {types[0].__name__}"
    for key, fields in _NESTED_TYPES.items():
        inner = record.get(key) or {}
        for field_name, types in fields.items():
            if wrong(inner.get(field_name), types):
                return f"{key}.{field_name} is not a {types[0].__name__}"
        if inner and any(inner.get(name) is None for name in _REQUIRED.get(key, ())):
            return f"{key} lacks one of {_REQUIRED[key]}"
    size = (record.get("data_config") or {}).get("image_size")
    if size is not None and (len(size) != 2 or wrong(size[0], _INT) or wrong(size[1], _INT)):
        return "data_config.image_size is not two integers"
    for key, inner, low, high in _RANGES:
        value = (record.get(key) or {}).get(inner) if inner else record.get(key)
        if value is not None and not (math.isfinite(value) and low <= value <= high):
            name = f"{key}.{inner}" if inner else key
            return (f"{name} is not between {low:g} and {high:g}" if math.isfinite(high)
                    else f"{name} is not ≥ {low:g}")
    return None


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries a run depends on."""
    import keras
    import numpy
    import tensorflow

    return {
        "python": platform.python_version(),
        "tensorflow": tensorflow.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
    }


# --------------------------------------------------------------------------- training


@dataclass
class Progress:
    """Live state of one training, shared between the training thread and readers.

    All fields are plain values; :meth:`snapshot` copies them under the lock.  Times are ``time.time()``
    values (seconds since the epoch, 1970); epoch and batch numbers count from 1, 0 meaning none yet.

    Attributes:
        epochs: epochs the run will train in all (fine-tuning epochs included).
        epoch: the epoch under way.
        batch: batches of the current epoch done (with gradient accumulation, also one whose micro-batches have
            begun: :attr:`batches_ended`); while features are extracted, MobileNetV2 passes done.
        batches: batches per epoch of the ``fit`` running now (with gradient accumulation: whole batches,
            not micro-batches); while features are extracted, MobileNetV2 passes in all.
        history: one dict per finished epoch: ``epoch``, Keras's logs (``loss``, ``accuracy``, ``val_loss``,
            ``val_accuracy``, fractions for accuracies), ``seconds`` (wall time of the epoch) and, once a pace
            is known, ``steady_seconds`` (the same without the first batch's one-time work).
        phase: ``queued``, ``preparing data``, ``building model``, ``extracting features``, ``training``,
            ``testing``, then ``done``, ``stopped`` or ``failed``.
        message: detail shown after the phase (fine-tuning, the error of a failed run), or ``""``.
        epoch_started: when the current epoch (or feature extraction) began, else 0.
    """

    epochs: int = 0
    epoch: int = 0
    batch: int = 0
    batches: int = 0
    history: list[dict] = field(default_factory=list)
    phase: str = "queued"
    message: str = ""
    epoch_started: float = 0.0
    #: When the current epoch's first batch ended (``time.time()``), else 0: that batch carries the fit's one-time
    #: work (tracing the training step), so the pace before any epoch has finished is measured from here.
    first_batch_ended: float = 0.0
    #: When the current epoch's latest whole batch ended, else 0, and how many whole batches had ended then (with
    #: gradient accumulation ``batch`` counts a batch whose micro-batches have begun): they pace the time left, and
    #: :func:`catdog.reporting.eta_seconds` counts the time since then as spent on the batches left.
    last_batch_ended: float = 0.0
    batches_ended: int = 0
    #: ``{"epoch": e, "batch": b, "images": n}`` (1-based) while the network gives the same logits to all n
    #: probe images (a collapsed model1/model2, see :func:`_make_collapse_check`), else ``None``.
    collapsed: dict | None = None
    #: Whether the latest check gave all probe images the same class (the larger logit), collapsed or not: a network
    #: whose outputs still differ a little can answer "cats · 50.4%" for every image (QA), ``None`` before a check.
    one_class: bool | None = None
    #: ``{"epoch": e, "batch": b, "batches": n}`` (1-based) when Stop ended epoch e after its batch b of n:
    #: Keras still validates that partial epoch and logs it as an epoch (its history row then carries
    #: ``stopped_after_batch`` and ``batches``), else ``None``.
    partial_epoch: dict | None = None
    #: The first and last epoch (1-based) of the ``model.fit`` running now: the frozen phase, then fine-tuning
    #: (whose epochs take longer), each paced by its own epochs (:func:`catdog.reporting.eta_seconds`).
    fit_first_epoch: int = 0
    fit_last_epoch: int = 0
    #: Validation images per training image (validation split size / training split size): until an epoch has
    #: been validated, :func:`catdog.reporting.eta_seconds` counts validation from it.
    validation_share: float = 0.0
    #: Warnings for the live view that stay until the job ends (e.g. the feature cache could not be saved).
    notices: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def snapshot(self) -> dict:
        """A consistent copy of the fields (without the lock)."""
        with self.lock:
            return {
                "epochs": self.epochs, "epoch": self.epoch, "batch": self.batch, "batches": self.batches,
                "history": [dict(row) for row in self.history], "phase": self.phase,
                "message": self.message, "epoch_started": self.epoch_started,
                "first_batch_ended": self.first_batch_ended, "last_batch_ended": self.last_batch_ended,
                "batches_ended": self.batches_ended,
                "collapsed": dict(self.collapsed) if self.collapsed else None, "one_class": self.one_class,
                "partial_epoch": dict(self.partial_epoch) if self.partial_epoch else None,
                "fit_first_epoch": self.fit_first_epoch, "fit_last_epoch": self.fit_last_epoch,
                "validation_share": self.validation_share, "notices": list(self.notices),
            }

    def add_notice(self, text: str) -> None:
        """Add a warning for the live view (:attr:`notices`), once."""
        with self.lock:
            if text not in self.notices:
                self.notices.append(text)

    def set(self, **changes) -> None:
        """Update fields under the lock."""
        with self.lock:
            for key, value in changes.items():
                setattr(self, key, value)


class RunFolderGone(CatdogError):
    """A run's folder was deleted while it trained (by hand: the dashboard refuses to delete a running run)."""


def run_folder_gone(run: RunInfo) -> RunFolderGone:
    """The error of a run whose folder was deleted while it trained (:class:`RunFolderGone`)."""
    return RunFolderGone(f"The folder of run '{run.name}' ({run.path}) has been deleted, outside the dashboard: its "
                       "training ended there and nothing more of it was saved.")


def _make_folder_check(run: RunInfo):
    """A Keras callback that ends ``fit`` at the end of the first epoch after the run's folder was deleted, by
    raising :func:`run_folder_gone`: before, training went on to its last epoch writing nowhere, and only then
    failed with "Cannot write the record … (No such file or directory)" (QA). One ``stat`` per epoch."""
    import keras

    class RunFolderCheck(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if not run.path.is_dir():
                raise run_folder_gone(run)

    return RunFolderCheck()


def _make_live_callback(progress: Progress, stop: threading.Event | None, steps_per_batch: int = 1):
    """The callback that feeds :class:`Progress`; with gradient accumulation, ``steps_per_batch``
    micro-batch steps count as one batch."""
    import keras

    class LiveProgress(keras.callbacks.Callback):
        """Feeds :class:`Progress` per batch and epoch; ends ``fit`` when ``stop`` is set."""

        def on_train_begin(self, logs=None):
            steps = self.params.get("steps") or 0
            progress.set(batches=-(-steps // steps_per_batch), phase="training", fit_first_epoch=0,
                         fit_last_epoch=self.params.get("epochs") or 0)  # fit's ``epochs``: its last epoch

        def on_epoch_begin(self, epoch, logs=None):
            progress.set(epoch=epoch + 1, batch=0, epoch_started=time.time(), first_batch_ended=0.0,
                         last_batch_ended=0.0, batches_ended=0)
            with progress.lock:
                progress.fit_first_epoch = progress.fit_first_epoch or epoch + 1

        def on_train_batch_end(self, batch, logs=None):
            done, now = -(-(batch + 1) // steps_per_batch), time.time()
            if (batch + 1) % steps_per_batch == 0:  # a whole batch has ended (the last of its micro-batches)
                progress.set(batch=done, last_batch_ended=now, batches_ended=done,
                             **({"first_batch_ended": now} if done == 1 else {}))
            else:
                progress.set(batch=done)
            if stop is not None and stop.is_set():
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            from catdog.reporting import seconds_per_batch

            now, snap = time.time(), progress.snapshot()
            row = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()},
                   "seconds": now - snap["epoch_started"]}
            # what the next epochs should take: paced without the first batch, which traced the step
            if (pace := seconds_per_batch(snap, now)) is not None:
                row["steady_seconds"] = pace * snap["batches"] + now - snap["last_batch_ended"]
            with progress.lock:
                if stop is not None and stop.is_set() and progress.batch < progress.batches:  # Stop cut it short
                    row.update(stopped_after_batch=progress.batch, batches=progress.batches)
                    progress.partial_epoch = {"epoch": epoch + 1, "batch": progress.batch, "batches": progress.batches}
                progress.history.append(row)
            if stop is not None and stop.is_set():  # pressed during validation: not one batch of the next epoch
                self.model.stop_training = True

    return LiveProgress()


#: Models whose network can collapse (raw [0, 255] pixels, no preprocessing layer), checked while they train.
COLLAPSE_CHECKED_MODELS = ("model1", "model2")
#: Batches of the first epoch between two checks of :func:`_make_collapse_check`; later epochs are checked at
#: their end.  On the course data a collapse shows within the first 40 batches (bench/collapse_seeds.py).
COLLAPSE_CHECK_BATCHES = 10
#: Training images the collapse check feeds to the network (spread over the split, so both classes).
COLLAPSE_PROBE_IMAGES = 16


def gives_one_answer(logits) -> bool:
    """Whether a network gave the same logits to every image: it can then only ever answer one class.

    A model1/model2 whose ReLUs all output 0 (switched off by the first large updates on raw
    [0, 255] pixels) outputs exactly the bias of its last layer for any image, so the test is
    equality up to float32 rounding (``1e-6`` relative).

    Args:
        logits: array-like (images, classes), ≥ 2 images.

    Returns:
        True when every column's spread (max − min over the images) is at most ``1e-6 × (1 + max |logit|)``.
    """
    import numpy as np

    logits = np.asarray(logits, dtype=np.float64)
    return bool(np.ptp(logits, axis=0).max() <= 1e-6 * (1.0 + np.abs(logits).max()))


def _make_collapse_check(progress: Progress, probe_images, every: int = COLLAPSE_CHECK_BATCHES):
    """A callback that sets ``progress.collapsed`` while the model gives one answer to all ``probe_images`` (and
    ``progress.one_class`` while it gives them all one class).

    It runs the model in inference mode on the probe batch (float32 (n, h, w, 3) in [0, 255]) after
    every ``every``-th batch of the first epoch and at the end of every epoch: 16 images at
    160×160 take about 0.05 s on 2 cores, some 26 checks per 20-epoch run.  A collapsed network
    has no gradient left to leave that state, so the page can say so within seconds instead of
    after the third epoch's flat validation accuracy.
    """
    import keras
    import numpy as np

    class CollapseCheck(keras.callbacks.Callback):
        """Sets :attr:`Progress.collapsed` from the model's logits on the probe images."""

        epoch = 1

        def _check(self, batch: int) -> None:
            logits = np.asarray(self.model(probe_images, training=False))
            collapsed = gives_one_answer(logits)
            with progress.lock:
                progress.one_class = bool(np.unique(logits.argmax(axis=1)).size == 1)
                if not collapsed:
                    progress.collapsed = None
                elif progress.collapsed is None:
                    progress.collapsed = {"epoch": self.epoch, "batch": batch, "images": len(probe_images)}

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch + 1

        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == 1 and (batch + 1) % every == 0:
                self._check(batch + 1)

        def on_epoch_end(self, epoch, logs=None):
            self._check(self.params.get("steps") or 0)

    return CollapseCheck()


@dataclass
class TrainResult:
    """What :func:`train_run` returns.

    Attributes:
        run: the run written to the store.
        history: per-epoch dicts (epoch, loss, accuracy, val_loss, val_accuracy, seconds).
        test: ``{"loss", "accuracy", "images"}`` of the final model on the test
            split, or ``None`` when the run was stopped before an epoch finished.
        test_best: the same for ``best.keras`` (the best-validation epoch), with
            ``"epoch"`` (1-based); ``None`` without a checkpoint.
    """

    run: RunInfo
    history: list[dict]
    test: dict | None
    test_best: dict | None = None


def prepare_splits(data_config: DataConfig, *, download: bool = True):
    """Locate, scan and split the dataset of ``data_config``; unreadable files are skipped.

    Returns:
        ``(root, splits)``: the dataset root (``pathlib.Path``) and its :class:`catdog.data.Splits`, without the
        unreadable files :func:`catdog.data.check_images` found, and with the images it found turned or
        transparent.

    Raises:
        CatdogError: as :func:`catdog.data.locate_dataset` and :func:`catdog.data.make_splits`.
        OSError: a folder inside the dataset root cannot be listed (:func:`catdog.data.scan_dataset`).
    """
    from catdog import data

    root = data.locate_dataset(data_config.data_dir, download=download)
    info = data.scan_dataset(root)
    everything = [p for split in info.files.values() for files in split.values() for p in files]
    check = data.check_images(everything)
    splits = data.make_splits(
        info, validation_size=data_config.validation_size, test_size=data_config.test_size,
        seed=data_config.seed, skip=check.unreadable,
    )
    # every one of the folder, also those of validation/ left out by small split sizes: the Data page says "N images
    # of this folder", and its count changed with the split sizes (QA)
    return root, replace(splits, turned=tuple(check.turned), transparent=tuple(check.transparent))


def tensorboard_callbacks(log_dir: Path) -> list:
    """``[keras.callbacks.TensorBoard]`` writing per-epoch scalars (loss, accuracy, for the
    train and validation splits) to ``log_dir``, so ``tensorboard --logdir runs/`` shows every
    run; ``[]`` when the ``tensorboard`` package, which ``tf.summary`` needs, is not installed.
    No graph, histograms or profiling: they would cost time on every run."""
    import importlib.util

    import keras

    if importlib.util.find_spec("tensorboard") is None:
        return []
    return [keras.callbacks.TensorBoard(str(log_dir), histogram_freq=0, write_graph=False, update_freq="epoch",
                                        profile_batch=0)]


def _make_best_head_checkpoint(model, path: Path):
    """``ModelCheckpoint`` for fast mode: keeps the head weights of the best validation
    accuracy and, when ``fit`` ends, writes ``model`` (the full model4) with them to ``path``."""
    import keras

    from catdog.models import copy_head_weights, save_for_inference

    class BestHeadCheckpoint(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.best = -float("inf")
            self.best_weights = None

        def on_epoch_end(self, epoch, logs=None):
            value = (logs or {}).get("val_accuracy")
            if value is not None and value > self.best:
                self.best = float(value)
                self.best_weights = [w.copy() for w in self.model.get_layer("logits").get_weights()]

        def on_train_end(self, logs=None):
            if self.best_weights is not None:
                copy_head_weights(self.best_weights, model)
                save_for_inference(model, path)

    return BestHeadCheckpoint()


def _fit_fast(model, train_config: TrainConfig, data_config: DataConfig, splits, run: RunInfo, store: RunStore,
              progress: Progress, stop: threading.Event | None, callbacks: list):
    """Fast model4: cached features, head-only ``fit``; copies the head into ``model``.

    Returns:
        ``(feature set, head, best head weights)``: the weights (``[kernel, bias]``) of the
        best-validation epoch, those written to ``best.keras``; ``(None, None, None)`` when
        stopped during extraction, ``(feature set, None, None)`` when stopped before the head's fit.
    """
    from catdog import features as feats
    from catdog.models import build_feature_head, copy_head_weights, resolve_mobilenet_weights

    fs = feats.load_or_extract(
        model, splits, image_size=data_config.image_size, weights=resolve_mobilenet_weights(train_config.weights),
        views=train_config.views, augmentation=feats.augmentation_settings(train_config), progress=progress, stop=stop,
    )
    if fs is None:
        return None, None, None
    store.update(run, features=fs.summary())
    if stop is not None and stop.is_set():  # Stop as the extraction ended: not one batch of the head (QA)
        return fs, None, None
    head = build_feature_head(train_config, fs.train.shape[-1])
    kwargs = dict(batch_size=data_config.batch_size, seed=train_config.seed)
    train_ds = feats.feature_dataset(fs.train, fs.train_labels, shuffle=True, **kwargs)
    val_ds = feats.feature_dataset(fs.validation, fs.validation_labels, **kwargs)
    best = _make_best_head_checkpoint(model, run.path / BEST_MODEL_FILE)
    head.fit(train_ds, validation_data=val_ds, epochs=train_config.epochs,
             callbacks=[callbacks[0], best, *callbacks[1:]], verbose=0, shuffle=False)  # the dataset shuffles itself
    copy_head_weights(head, model)
    return fs, head, best.best_weights


def _score_best_head(head, best_weights, history: list[dict], test: dict, test_ds, *, stopped: bool = False
                     ) -> dict | None:
    """Fast mode's :func:`_score_best_checkpoint`: the best-validation head weights on the cached test features.

    ``best.keras`` is model4 with these head weights, and the head on cached features gives
    the full model's logits to within 1e-4 (tests/test_features.py), so this scores the
    checkpoint without running MobileNetV2 over the test images again (≈ 4 s at 160×160,
    ≈ 8 s at 224 on 2 CPU cores).  ``head`` keeps its final weights afterwards.

    Returns:
        ``test`` plus ``epoch`` (as :func:`_score_best_checkpoint`), or ``None`` without a best epoch.
    """
    epoch = best_epoch(history)
    if epoch is None or best_weights is None:
        return None
    if epoch == len(history) and not stopped:
        return {**test, "epoch": epoch}
    logits = head.get_layer("logits")
    final_weights = logits.get_weights()
    logits.set_weights(best_weights)
    try:
        scores = head.evaluate(test_ds, verbose=0, return_dict=True)
    finally:
        logits.set_weights(final_weights)
    return {**_test_scores(scores, test["images"]), "epoch": epoch}


def best_epoch(history: Sequence[dict]) -> int | None:
    """The 1-based epoch whose model ``best.keras`` holds: the first epoch of highest
    validation accuracy (``ModelCheckpoint`` with ``save_best_only`` saves on strict
    improvement only); ``None`` without validation accuracy."""
    scores = [row.get("val_accuracy") for row in history]
    if not any(score is not None for score in scores):
        return None
    best = max(score for score in scores if score is not None)
    return scores.index(best) + 1


def _score_best_checkpoint(model, run: RunInfo, history: list[dict], test: dict, items, *, stopped: bool = False,
                           **kwargs) -> dict | None:
    """Test metrics of ``best.keras`` (the best-validation epoch), as ``test`` plus ``epoch``.

    The checkpoint's weights are loaded into ``model`` (the compiled final model,
    already saved), so no second model is built.  When the best epoch is the last
    one of a run that was not stopped, ``best.keras`` is the final model and its
    scores are ``test``'s (a stopped run's final weights may be from mid-epoch);
    ``None`` when there is no checkpoint.  Either way ``best.keras`` is then rewritten
    without the optimizer state that ``ModelCheckpoint`` saved with it
    (:func:`catdog.models.save_for_inference`; when the best epoch is the last, as a copy of ``model.keras``,
    saved just before).
    """
    from catdog import data
    from catdog.models import save_for_inference

    epoch = best_epoch(history)
    path = run.path / BEST_MODEL_FILE
    if epoch is None or not path.is_file():
        return None
    if epoch == len(history) and not stopped:  # the final weights are the best epoch's: copy model.keras
        with open(run.path / MODEL_FILE, "rb") as final:
            write_atomic(path, lambda handle: shutil.copyfileobj(final, handle), binary=True)
        return {**test, "epoch": epoch}
    with warnings.catch_warnings():
        # The checkpoint's optimizer state, if any, need not fit the model's optimizer (after fine-tuning, a
        # frozen-phase checkpoint's covers the head only); Keras skips it with a warning. Only weights matter.
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        model.load_weights(path)
    save_for_inference(model, path)
    scores = model.evaluate(data.make_dataset(items, cache=False, **kwargs), verbose=0, return_dict=True)
    return {**_test_scores(scores, len(items)), "epoch": epoch}


def _test_scores(scores: dict, images: int) -> dict:
    """A run's test record from ``evaluate(..., return_dict=True)``: float ``loss`` and ``accuracy``, ``images``."""
    return {"loss": float(scores["loss"]), "accuracy": float(scores["accuracy"]), "images": images}


def train_run(
    train_config: TrainConfig,
    data_config: DataConfig,
    *,
    store: RunStore,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    on_run_created: Callable[[RunInfo], None] | None = None,
    prepared: tuple | None = None,
) -> TrainResult:
    """Train ``train_config.model`` on the dataset and record a run.

    The run draws Python random numbers (Keras's default seeds) from a generator of
    its own thread (:func:`catdog.seeding.private_random`), seeded with
    ``train_config.seed``: other threads of a server cannot change its result.

    Steps: prepare the splits; build and compile the model; ``model.fit`` on the
    train split with the validation split, ``CSVLogger`` and ``ModelCheckpoint``;
    save the final model; ``evaluate`` the final model and, when another epoch
    scored best on validation, ``best.keras`` on the test split; write the record.

    model4 only:

    - ``train_config.fast``: instead of ``model.fit`` on images, MobileNetV2
      features are cached (:mod:`catdog.features`; progress phase
      ``"extracting features"``) and the head is fitted on them with the same
      callbacks; its weights are then copied into the full model, so
      ``model.keras`` is an ordinary model4.  The test split is scored on its
      cached features (the same logits as the saved model).
    - ``train_config.fine_tune_epochs > 0``: then MobileNetV2 layers from
      ``fine_tune_at`` on are unfrozen, the model is recompiled with
      ``learning_rate × fine_tune_lr_factor`` and ``fit`` continues on images for
      the extra epochs (epoch numbers continue; ``run.json`` gets
      ``fine_tune_start_epoch``, 1-based); each training batch runs as
      ``fine_tune_accumulation_steps`` micro-batches (0: the automatic choice of
      :func:`catdog.config.fine_tune_accumulation`, recorded; :func:`catdog.data.split_batches`)
      with one Adam update per batch; validation and testing then use
      micro-batches too (the same scores, less memory).

    Args:
        train_config: the model and hyper-parameters.
        data_config: where the data is, split sizes and batch size.
        store: where the run folder goes.
        progress: live state to update (per batch and epoch).
        stop: when set, training ends after the current batch; the run is
            recorded as ``stopped`` and still evaluated if an epoch finished.
        on_run_created: called with the run as soon as its folder exists.
        prepared: ``(root, splits)`` from :func:`prepare_splits`, to skip that step.

    Returns:
        The :class:`TrainResult`.

    Raises:
        CatdogError: bad settings (:func:`check_settings`) or missing data/weights; a run folder that was
            already created is marked ``failed`` with the message.
        ValueError: for model2–model4, an unknown flip or fill mode or a rotation factor outside [0, 0.5]
            (:func:`catdog.models.build_model`; :func:`check_settings` does not check them).
        OSError: the run folder cannot be written (a full disk).  Any exception raised once the run folder
            exists (also TensorFlow's, or ``KeyboardInterrupt``) marks the run ``failed`` and is raised again.
    """
    from catdog.seeding import private_random

    with private_random():
        return _train_run(train_config, data_config, store=store, progress=progress, stop=stop,
                          on_run_created=on_run_created, prepared=prepared)


#: Smallest and largest square input side, in pixels, a run accepts: MobileNetV2 needs at least 32 (Keras
#: refuses less) and model1's three 3×3 convolutions and two 2×2 poolings need 18; above 512 the 2-core
#: machine runs out of time and memory long before the model gains anything (the weights are from 224).
IMAGE_SIDES = (32, 512)


def check_settings(train_config: TrainConfig, data_config: DataConfig) -> None:
    """Refuse settings that cannot train, before any run folder is made.

    Raises:
        CatdogError: epochs < 1, fine-tuning epochs < 0, a learning rate or factor that is not a finite number
            > 0, a seed outside 0 … 2³² − 1 (NumPy's and Keras's seed range), a split seed outside
            :data:`catdog.config.SPLIT_SEEDS`, gradient accumulation steps < 0, batch size < 1, validation or test
            size < 1, an image side outside :data:`IMAGE_SIDES`, or for model4 views per training image outside
            1 … :data:`catdog.features.MAX_VIEWS` in fast mode, a first layer to unfreeze outside 0 …
            :data:`catdog.models.MOBILENET_LAYERS` when it fine-tunes, and a weights path with a visible problem
            (:func:`catdog.models.weights_file_problem`); the message names the setting and what it accepts.
    """
    from catdog.config import SPLIT_SEEDS
    from catdog.features import MAX_VIEWS
    from catdog.models import MOBILENET_LAYERS, resolve_mobilenet_weights, weights_file_problem

    if train_config.epochs < 1:
        raise CatdogError("Train for at least one epoch.")
    if train_config.fine_tune_epochs < 0:
        raise CatdogError("Fine-tuning epochs cannot be negative.")
    rates = (train_config.learning_rate, train_config.fine_tune_lr_factor)
    if not all(math.isfinite(rate) and rate > 0 for rate in rates):  # NaN and inf train to NaN
        raise CatdogError(f"The learning rate (and the fine-tuning factor) must be a number greater than 0, not "
                          f"{train_config.learning_rate} (factor {train_config.fine_tune_lr_factor}).")
    if not 0 <= train_config.seed < 2**32:
        raise CatdogError(f"The seed must be between 0 and {2**32 - 1}, not {train_config.seed}.")
    if not SPLIT_SEEDS[0] <= data_config.seed <= SPLIT_SEEDS[1]:  # NumPy refused -1 with a traceback (review)
        raise CatdogError(f"The split seed must be between {SPLIT_SEEDS[0]} and {SPLIT_SEEDS[1]}, not "
                          f"{data_config.seed}.")
    if train_config.model == "model4" and train_config.fast and not 1 <= train_config.views <= MAX_VIEWS:
        # refused after its run folder was made, which stayed as a failed run (review)
        raise CatdogError(f"Views per training image must be between 1 and {MAX_VIEWS}, not {train_config.views}.")
    if train_config.model == "model4" and train_config.fine_tune_epochs > 0 and \
            not 0 <= train_config.fine_tune_at <= MOBILENET_LAYERS:  # else refused after the frozen phase's epochs
        raise CatdogError(f"'Unfreeze from layer' must lie between 0 and {MOBILENET_LAYERS} (MobileNetV2 has "
                          f"{MOBILENET_LAYERS} layers), not {train_config.fine_tune_at}.")
    if train_config.fine_tune_accumulation_steps < 0:
        raise CatdogError(f"Gradient accumulation steps must be 0 (automatic) or between 1 and the batch size, "
                          f"not {train_config.fine_tune_accumulation_steps}.")
    if data_config.batch_size < 1:
        raise CatdogError(f"The batch size must be at least 1, not {data_config.batch_size}.")
    if (data_config.validation_size is not None and data_config.validation_size < 1) or data_config.test_size < 1:
        raise CatdogError(f"The validation and test splits need at least 1 image each, not "
                          f"{data_config.validation_size} and {data_config.test_size}.")
    low, high = IMAGE_SIDES
    if not all(low <= side <= high for side in data_config.image_size):
        raise CatdogError(f"The input size must be between {low} and {high} pixels a side, not "
                          f"{data_config.image_size[0]}×{data_config.image_size[1]}.")
    if train_config.model == "model4" and (problem := weights_file_problem(
            resolve_mobilenet_weights(train_config.weights))):
        raise CatdogError(problem)


def _train_run(train_config, data_config, *, store, progress, stop, on_run_created, prepared) -> TrainResult:
    """:func:`train_run` inside its thread's own Python random generator."""
    import keras

    from catdog import data
    from catdog.models import (
        build_model, compile_model, parameter_counts, resolve_mobilenet_weights, save_for_inference, unfreeze_base,
    )
    from catdog.seeding import set_random_seed

    is_model4 = train_config.model == "model4"
    fast = is_model4 and train_config.fast
    fine_tune = is_model4 and train_config.fine_tune_epochs > 0
    total_epochs = train_config.epochs + (train_config.fine_tune_epochs if fine_tune else 0)
    progress = progress or Progress()
    progress.set(phase="preparing data", epochs=total_epochs, message="")
    check_settings(train_config, data_config)
    if fine_tune:  # the run records the steps used (the automatic choice for 0)
        train_config = replace(train_config, fine_tune_accumulation_steps=fine_tune_accumulation(
            train_config.fine_tune_accumulation_steps, data_config.image_size))
        data.check_accumulation_steps(train_config.fine_tune_accumulation_steps, data_config.batch_size)
    root, splits = prepared or prepare_splits(data_config)
    progress.set(validation_share=len(splits.validation) / max(len(splits.train), 1))
    if is_model4:  # the run records the weights actually used ($CATDOG_MOBILENET_WEIGHTS for the default "")
        train_config = replace(train_config, weights=resolve_mobilenet_weights(train_config.weights))
    started = time.time()
    run = store.create(
        train_config, replace(data_config, data_dir=str(root)),
        extra={"counts": splits.counts(), "skipped_files": [p for p, _ in splits.skipped],
               "mode": "fast" if fast else "standard", "class_names": list(splits.class_names)},
    )
    if on_run_created is not None:
        on_run_created(run)
    try:
        set_random_seed(train_config.seed)
        progress.set(phase="building model")
        model = build_model(train_config, image_size=data_config.image_size)
        store.update(run, parameters=parameter_counts(model))
        kwargs = dict(image_size=data_config.image_size, batch_size=data_config.batch_size)
        history_path = str(run.path / HISTORY_FILE)
        live = _make_live_callback(progress, stop)

        def tensorboard():
            return tensorboard_callbacks(run.path / TENSORBOARD_DIR)
        datasets: dict = {}

        def image_datasets():
            if not datasets:
                datasets["train"] = data.make_dataset(splits.train, shuffle=True, seed=train_config.seed, **kwargs)
                datasets["validation"] = data.make_dataset(splits.validation, **kwargs)
            return datasets["train"], datasets["validation"]

        feature_set = head = best_head_weights = None
        if fast:
            feature_set, head, best_head_weights = _fit_fast(
                model, train_config, data_config, splits, run, store, progress, stop,
                [_make_folder_check(run), keras.callbacks.CSVLogger(history_path), live, *tensorboard()])
        else:
            train_ds, val_ds = image_datasets()
            callbacks = [
                _make_folder_check(run),
                keras.callbacks.CSVLogger(history_path),
                keras.callbacks.ModelCheckpoint(
                    str(run.path / BEST_MODEL_FILE), monitor="val_accuracy", save_best_only=True
                ),
                live,
                *tensorboard(),
            ]
            check_collapse = train_config.model in COLLAPSE_CHECKED_MODELS
            if check_collapse:
                step = max(1, len(splits.train) // COLLAPSE_PROBE_IMAGES)  # the split is sorted by class: both
                probe = splits.train[::step][:COLLAPSE_PROBE_IMAGES]
                if len(probe) >= 2:
                    probe_ds = data.make_dataset(probe, cache=False, image_size=data_config.image_size,
                                                 batch_size=len(probe))
                    callbacks.append(_make_collapse_check(progress, next(iter(probe_ds))[0]))
            if stop is None or not stop.is_set():  # Stop while the data was prepared: not one batch, validated (QA)
                model.fit(train_ds, validation_data=val_ds, epochs=train_config.epochs, callbacks=callbacks,
                          verbose=0, shuffle=False)  # the dataset shuffles itself
            if check_collapse:
                store.update(run, collapsed=progress.snapshot()["collapsed"])
        history = progress.snapshot()["history"]
        stopped = stop is not None and stop.is_set()
        fine_tuned = False
        if fine_tune and history and not stopped:
            start_epoch = len(history)  # 0-based index of the first fine-tuning epoch
            store.update(run, fine_tune_start_epoch=start_epoch + 1)
            steps = train_config.fine_tune_accumulation_steps
            unfreeze_base(model, train_config.fine_tune_at)
            compile_model(model, train_config.learning_rate * train_config.fine_tune_lr_factor, steps)
            store.update(run, parameters=parameter_counts(model))  # the unfrozen layers' too, not the head's (QA)
            progress.set(message=f"fine-tuning MobileNetV2 from layer {train_config.fine_tune_at}" + (
                f"; each batch in {steps} pieces (gradient accumulation)" if steps > 1 else ""))
            best_so_far = max(row.get("val_accuracy", 0.0) for row in history)
            train_ds, val_ds = image_datasets()
            train_ds = data.split_batches(train_ds, steps, examples=len(splits.train),
                                          batch_size=data_config.batch_size)
            # Validation and testing in micro-batches too (the same scores): whole batches would take the
            # memory back up.
            val_ds = data.split_batches(val_ds, steps, examples=len(splits.validation),
                                        batch_size=data_config.batch_size)
            callbacks = [
                _make_folder_check(run),
                keras.callbacks.CSVLogger(history_path, append=True),
                keras.callbacks.ModelCheckpoint(
                    str(run.path / BEST_MODEL_FILE), monitor="val_accuracy", save_best_only=True,
                    initial_value_threshold=best_so_far,
                ),
                _make_live_callback(progress, stop, steps),
                *tensorboard(),
            ]
            model.fit(train_ds, validation_data=val_ds, initial_epoch=start_epoch, epochs=start_epoch
                      + train_config.fine_tune_epochs, callbacks=callbacks, verbose=0,
                      shuffle=False)  # the dataset shuffles itself
            fine_tuned = True
            history = progress.snapshot()["history"]
            stopped = stop is not None and stop.is_set()
        if stopped and len(history) >= total_epochs and not progress.snapshot()["partial_epoch"]:
            stopped = False  # Stop came during the last epoch's validation: every epoch ran, the run is done (QA)
        if history:  # else nothing was trained (say, stopped during feature extraction): no model to offer
            save_for_inference(model, run.path / MODEL_FILE)
        test = test_best = None
        if history:
            # what the wait after the last epoch is (≈ 12 s after fine-tuning at 224×224: "testing · epoch 30/30"
            # alone said nothing of it, QA)
            progress.set(phase="testing", message=f"scoring the {len(splits.test):,} test images")
            if feature_set is not None and not fine_tuned:
                from catdog.features import feature_dataset

                test_ds = feature_dataset(feature_set.test, feature_set.test_labels,
                                          batch_size=data_config.batch_size)
                test = _test_scores(head.evaluate(test_ds, verbose=0, return_dict=True), len(splits.test))
                test_best = _score_best_head(head, best_head_weights, history, test, test_ds, stopped=stopped)
            else:
                # after fine-tuning in its micro-batches (same scores, less memory)
                steps = train_config.fine_tune_accumulation_steps if fine_tuned else 1
                test_kwargs = dict(kwargs, batch_size=data_config.batch_size // steps)
                test_ds = data.make_dataset(splits.test, cache=False, **test_kwargs)
                test = _test_scores(model.evaluate(test_ds, verbose=0, return_dict=True), len(splits.test))
                test_best = _score_best_checkpoint(model, run, history, test, splits.test, stopped=stopped,
                                                   **test_kwargs)
        store.update(
            run, status="stopped" if stopped else "done", test=test, test_best=test_best, epochs_done=len(history),
            partial_epoch=progress.snapshot()["partial_epoch"],
            wall_seconds=round(time.time() - started, 2),
            best_val_accuracy=max((row.get("val_accuracy", 0.0) for row in history), default=None),
        )
        progress.set(phase="stopped" if stopped else "done", message="")  # not "done · … · scoring the …"
        return TrainResult(run, history, test, test_best)
    except BaseException as err:
        message = str(err) if isinstance(err, CatdogError) else f"{type(err).__name__}: {err}"
        with contextlib.suppress(CatdogError):  # a runs folder gone read-only: the first error is the one to tell
            store.update(run, status="failed", error=message, wall_seconds=round(time.time() - started, 2))
        progress.set(phase="failed", message=message)
        raise


def class_names_of(model_path: str | os.PathLike) -> tuple[str, ...]:
    """The class names of a saved model's outputs: from the ``run.json`` of the run folder it sits in (see
    :attr:`RunInfo.class_names`), else ``("cats", "dogs")`` (a model file kept elsewhere)."""
    path = Path(model_path)
    run = RunStore._load(path if path.is_dir() else path.parent, live=set())[0]  # the run store's own reading
    return run.class_names if run is not None else CLASS_NAMES


# --------------------------------------------------------------------------- job queue


@dataclass
class TrainingJob:
    """A training request held by the server, readable from any browser tab.

    Attributes:
        job_id: unique id.
        train_config, data_config: what to train.
        owner: who may stop it (an id of the browser session that submitted it).
        state: ``queued``, ``running``, ``done``, ``stopped`` or ``failed``.
        progress: live per-batch/epoch state.
        stop: set to end the training after the current batch.
        run_id: the run folder, once created.
        result: the final model's test metrics when done.
        result_best: the best-validation checkpoint's test metrics (with ``epoch``).
        error: the message when failed.
        submitted: when it was submitted (``time.time()``, seconds since the epoch); orders :meth:`TrainingQueue.jobs`.
        ended: when its training ended (``time.time()``), or ``None`` while it has not, or for a job cancelled
            before it started.
    """

    job_id: str
    train_config: TrainConfig
    data_config: DataConfig
    owner: str = ""
    state: str = "queued"
    progress: Progress = field(default_factory=Progress)
    stop: threading.Event = field(default_factory=threading.Event)
    run_id: str | None = None
    result: dict | None = None
    result_best: dict | None = None
    error: str | None = None
    submitted: float = field(default_factory=time.time)
    ended: float | None = None
    #: Waits ahead of the jobs submitted before it: :meth:`TrainingQueue.retry`'s job, which takes the place of
    #: the running job it replaces.
    first: bool = False
    #: A teacher's training (teacher mode, :mod:`catdog.teacher`): waits ahead of every job that is not one, so
    #: that the trainings students queued before the lesson's demo do not hold it up.
    priority: bool = False
    #: Who stopped it, when not its owner: :data:`STOPPED_BY_TEACHER`; else ``""``.
    stopped_by: str = ""
    #: It failed because its run folder was deleted while it trained (:class:`RunFolderGone`): shown to its owner
    #: all the same, unlike a job whose run was deleted after it ended (:meth:`TrainingQueue.run_deleted`).
    folder_gone: bool = False

    @property
    def finished(self) -> bool:
        """True once the job will change no more."""
        return self.state in ("done", "stopped", "failed")

    @property
    def rank(self) -> tuple[int, int]:
        """Its place among waiting jobs, lowest first; first-in first-out within a rank: a teacher's jobs
        (:attr:`priority`) before the others, and within each, a retry (:attr:`first`) before the rest."""
        return (0 if self.priority else 1, 0 if self.first else 1)


def cancelled_configs(entry: dict) -> tuple[TrainConfig, DataConfig] | None:
    """The settings of a training a shutdown cancelled while it waited (an entry of
    :meth:`TrainingQueue.cancelled_for`), for "Queue again"; ``None`` for one that was stopped while it trained
    (it has its run), one recorded before 5 Dec 2026 (without them), or a hand-edited one that no longer fits."""
    if entry.get("run_id"):
        return None
    try:
        data_config = dict(entry["data_config"])
        data_config["image_size"] = tuple(data_config["image_size"])  # JSON has no tuples
        return TrainConfig(**entry["train_config"]), DataConfig(**data_config)
    except (KeyError, TypeError, ValueError):
        return None


class TrainingQueue:
    """Runs training jobs one at a time in a background thread.

    The CPU is the bottleneck, so a second job waits in a first-in first-out
    queue; :meth:`position` gives its place.  The Streamlit app keeps one queue per
    server process (``st.cache_resource``); the training thread only writes to
    job objects, which pages read.

    Args:
        runs_dir: the run store's folder.
        trainer: the training function (:func:`train_run` by default, in this process's training thread; the
            dashboard passes a :class:`catdog.worker.ProcessTrainer`, which trains each job in a child process;
            tests may pass a fake with the same signature). One with a ``close()`` method has it called by
            :meth:`close`.
        max_waiting: at most this many jobs wait at once (:data:`MAX_WAITING`).
        max_waiting_per_owner: … and this many of one owner (:data:`MAX_WAITING_PER_OWNER`).
    """

    def __init__(self, runs_dir: str | os.PathLike, trainer: Callable[..., TrainResult] | None = None, *,
                 max_waiting: int = MAX_WAITING, max_waiting_per_owner: int = MAX_WAITING_PER_OWNER):
        self.store = RunStore(runs_dir, live=self.live_run_ids)
        self.store.remove_stale_temporaries()
        self.max_waiting, self.max_waiting_per_owner = max_waiting, max_waiting_per_owner
        self._trainer = trainer or train_run
        self._jobs: dict[str, TrainingJob] = {}
        # (the job's rank, submission number, job): first-in first-out within each rank (:attr:`TrainingJob.rank`)
        self._pending: queue.PriorityQueue[tuple[tuple[int, int], int, TrainingJob | None]] = queue.PriorityQueue()
        self._submissions = itertools.count()
        self._lock = threading.Lock()
        self._journal_lock = threading.Lock()
        self._closed = False
        self._recover_journal()
        self._worker = threading.Thread(target=self._work, name="catdog-training", daemon=True)
        self._worker.start()
        # threading's exit hooks run when the main thread ends, before the interpreter's atexit hooks, among
        # them those TensorFlow's autograph adds as it converts functions: a training let run past those failed
        # ("'list' object has no attribute 'ndim'"). ``_register_atexit`` is what concurrent.futures uses.
        getattr(threading, "_register_atexit", atexit.register)(_close_queue, weakref.ref(self))

    def close(self, timeout: float = SHUTDOWN_SECONDS) -> bool:
        """Stop every job and end the training thread; wait for it at most ``timeout`` seconds.

        Runs when the main thread ends (one of ``threading``'s exit hooks), so a server ended with Ctrl-C or
        SIGTERM ends its training the way Stop does: the run is recorded as ``stopped`` with its model and test
        score, instead of being left ``running`` (listed as interrupted) while TensorFlow still computes as Python
        tears itself down (which ended the process with SIGSEGV once in three SIGTERMs under load). Queued jobs are
        cancelled; they and the job stopped mid-training are listed in :data:`CANCELLED_FILE`, for
        :meth:`cancelled_for` after a restart. Further :meth:`submit` calls raise :class:`CatdogError`.

        Returns:
            True when the training thread has ended.
        """
        with self._lock:
            self._closed = True
        trainer_close = getattr(self._trainer, "close", None)
        if callable(trainer_close):  # :class:`catdog.worker.ProcessTrainer`: no new child; the waiting one ends
            trainer_close()
        waiting = [job for job in self.active() if job.state == "queued"]
        running = [job for job in self.active() if job.state == "running"]
        for job in self.active():
            self.stop(job)
        self._record_cancelled(waiting)
        self._pending.put(((-1, -1), next(self._submissions), None))  # wakes an idle worker
        if running:  # Ctrl-C seemed to hang for up to half a minute while a fine-tuning batch ended (QA)
            names = ", ".join(f"“{self.job_name(job, with_model=True)}”"
                              + (f" ({job.run_id})" if job.run_id else "") for job in running)
            print(f"catdog: stopping the training of {names} so that its run keeps its model and test score (up to "
                  f"{timeout:.0f} s)…", file=sys.stderr, flush=True)
        self._worker.join(timeout)
        if self._worker.is_alive():
            print(f"catdog: the training did not stop within {timeout:.0f} s; its run will be listed as interrupted.",
                  file=sys.stderr, flush=True)
            self._remove_journal()
            return False
        stopped = [job for job in running if job.run_id and job.state == "stopped"]
        for job in stopped:  # its run reads "stopped at shutdown", not like a Stop pressed by its owner (QA)
            with contextlib.suppress(CatdogError, OSError):
                self.store.update(self.store.get(job.run_id), stopped_by=STOPPED_AT_SHUTDOWN)
        self._record_cancelled(stopped)  # its owner saw only "Nothing is training" after the restart (QA)
        self._remove_journal()
        return True

    def _entry(self, job: TrainingJob) -> dict:
        """What :data:`CANCELLED_FILE` and :data:`QUEUE_FILE` keep of ``job``: its owner, name, settings and run."""
        # a run's name as the runs table gives it (an unnamed one's start time: "model1" was not found there, QA)
        return {"owner": job.owner, "name": self.job_name(job) if job.run_id else job.train_config.name,
                "model": job.train_config.model, "epochs": job.train_config.epochs, "seed": job.train_config.seed,
                # all the settings, for "Queue again" (:meth:`requeue_cancelled`) and the notice's wording
                "train_config": job.train_config.to_dict(), "data_config": job.data_config.to_dict(),
                **({"run_id": job.run_id} if job.run_id else {})}

    def _journal(self) -> None:
        """Rewrite :data:`QUEUE_FILE` with the unfinished jobs (removed when there is none); a failure to write is
        ignored (the queue works on without it)."""
        if self._closed:  # :meth:`close` records what it cancels itself
            return
        with self._journal_lock, contextlib.suppress(OSError, ValueError):
            entries = [self._entry(job) for job in self.active()]
            if entries:
                self.store.root.mkdir(parents=True, exist_ok=True)
                write_json_atomic(self.store.root / QUEUE_FILE, entries)
            else:
                (self.store.root / QUEUE_FILE).unlink(missing_ok=True)

    def _remove_journal(self) -> None:
        with self._journal_lock, contextlib.suppress(OSError):
            (self.store.root / QUEUE_FILE).unlink(missing_ok=True)

    def _recover_journal(self) -> None:
        """At start: the trainings of a :data:`QUEUE_FILE` that a server killed without warning left behind join
        :data:`CANCELLED_FILE` (marked ``"unclean"``, dated by the file's last change), for
        :meth:`cancelled_for` and "Queue again"; the file is removed."""
        path = self.store.root / QUEUE_FILE
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
            when = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")
        except (OSError, ValueError):
            entries, when = [], ""
        entries = [{**e, "cancelled": when, "unclean": True} for e in entries if isinstance(e, dict)] \
            if isinstance(entries, list) and when else []
        with contextlib.suppress(OSError, ValueError):
            if entries:
                self._write_cancelled(self._cancelled() + entries)
            path.unlink(missing_ok=True)

    def _record_cancelled(self, jobs: list[TrainingJob]) -> None:
        """Add ``jobs`` to :data:`CANCELLED_FILE`, with the run id of one that had made its run; a failure to write
        is ignored (the server is shutting down)."""
        if not jobs:
            return
        when = datetime.now(timezone.utc).isoformat(timespec="seconds")
        entries = [{**self._entry(job), "cancelled": when} for job in jobs]
        with contextlib.suppress(OSError, ValueError):
            self.store.root.mkdir(parents=True, exist_ok=True)
            self._write_cancelled(self._cancelled() + entries)

    def _cancelled(self) -> list[dict]:
        """The entries of :data:`CANCELLED_FILE` (none when it is missing or unreadable)."""
        try:
            entries = json.loads((self.store.root / CANCELLED_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []

    def _write_cancelled(self, entries: list[dict]) -> None:
        """Rewrite :data:`CANCELLED_FILE` with ``entries`` less those over :data:`CANCELLED_KEEP_DAYS` old (a
        browser whose cookie has changed never comes back for its own); remove it when none is left."""
        horizon = datetime.now(timezone.utc).timestamp() - CANCELLED_KEEP_DAYS * 86400

        def recent(entry: dict) -> bool:
            try:
                return datetime.fromisoformat(str(entry.get("cancelled"))).timestamp() >= horizon
            except ValueError:
                return False

        entries = [e for e in entries if recent(e)]
        path = self.store.root / CANCELLED_FILE
        if entries:
            write_json_atomic(path, entries)
        else:
            path.unlink(missing_ok=True)

    def cancelled_for(self, owner: str) -> list[dict]:
        """The trainings of ``owner`` that a server shutdown cancelled while they waited or stopped while they
        trained, until :meth:`forget_cancelled`.

        Returns:
            ``{"owner", "name", "model", "epochs", "seed", "cancelled" (ISO 8601 time, UTC)}`` dicts, oldest first,
            with ``"run_id"`` for a training that was stopped (it has its run).
        """
        return [e for e in self._cancelled() if e.get("owner") == owner]

    def requeue_cancelled(self, owner: str, *, priority: bool = False) -> list[TrainingJob]:
        """Queue again, in their order and with their settings, ``owner``'s trainings that a server shutdown
        cancelled while they waited (the entries of :meth:`cancelled_for` without a run, that hold their settings:
        :func:`cancelled_configs`), then forget all of ``owner``'s entries, as :meth:`forget_cancelled`.

        Two tabs that press "Queue again" at once queue each training once: the entries are taken from the file
        before anything is queued. A training ``owner`` has waiting or running with the same settings (set up again
        by hand) is not queued a second time, as Train refuses it. ``priority``: a teacher's (:meth:`submit`).

        Returns:
            The new jobs, in order (none when there was nothing to queue, e.g. another tab did it first).

        Raises:
            CatdogError: the queue is closed or full (:meth:`submit`); the trainings not queued are listed again,
                and those queued before stay queued.
        """
        with self._lock:
            mine = [e for e in self._cancelled() if e.get("owner") == owner]
            with contextlib.suppress(OSError):
                self._write_cancelled([e for e in self._cancelled() if e.get("owner") != owner])
        queued = []
        for i, entry in enumerate(mine):
            configs = cancelled_configs(entry)
            waiting = {(j.train_config, j.data_config) for j in self.active() if j.owner == owner}
            if configs is None or configs in waiting:  # set up again by hand meanwhile: not twice (QA)
                continue
            try:
                queued.append(self.submit(*configs, owner=owner, priority=priority))
            except CatdogError:
                left = [e for e in mine[i:] if cancelled_configs(e) not in (None, *waiting)]
                with self._lock, contextlib.suppress(OSError):
                    self._write_cancelled(self._cancelled() + left)
                raise
        return queued

    def forget_cancelled(self, owner: str) -> None:
        """Remove ``owner``'s entries from :data:`CANCELLED_FILE` (its browser has read them)."""
        with self._lock, contextlib.suppress(OSError):
            self._write_cancelled([e for e in self._cancelled() if e.get("owner") != owner])

    def submit(self, train_config: TrainConfig, data_config: DataConfig, owner: str = "", *,
               limits: bool = True, first: bool = False, priority: bool = False) -> TrainingJob:
        """Queue a training and return its job at once.

        Args:
            limits: refuse it when ``owner`` already has ``max_waiting_per_owner`` jobs waiting, or the queue
                ``max_waiting`` (:meth:`retry`, which replaces a job, passes False).
            first: it waits ahead of the jobs already waiting (:attr:`TrainingJob.first`).
            priority: a teacher's job: it waits ahead of every job that is not (:attr:`TrainingJob.priority`).

        Raises:
            CatdogError: the queue is closed (the server is shutting down), or full.
        """
        job = TrainingJob(uuid.uuid4().hex[:12], train_config, data_config, owner=owner, first=first,
                          priority=priority)
        job.progress.set(epochs=train_config.epochs)
        with self._lock:
            if self._closed:
                raise CatdogError("The server is shutting down: start the dashboard again, then press Train.")
            waiting = [j for j in self._jobs.values() if j.state == "queued"]
            if limits and sum(j.owner == owner for j in waiting) >= self.max_waiting_per_owner:
                raise CatdogError(f"You already have {self.max_waiting_per_owner} trainings waiting in the queue, "
                                  "the most one browser may: wait until one starts, or cancel one (Stop).")
            if limits and len(waiting) >= self.max_waiting:
                raise CatdogError(f"The queue is full: {len(waiting)} trainings are waiting on this server, which "
                                  "trains one at a time. Try again when one has started.")
            self._jobs[job.job_id] = job
        self._pending.put((job.rank, next(self._submissions), job))
        self._journal()
        return job

    def get(self, job_id: str | None) -> TrainingJob | None:
        """The job ``job_id``, or ``None``."""
        with self._lock:
            return self._jobs.get(job_id or "")

    def jobs(self) -> list[TrainingJob]:
        """All jobs of this process, oldest first."""
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.submitted)

    def run_deleted(self, job: TrainingJob) -> bool:
        """Whether ``job`` has ended and its run folder has been deleted since (Rename or delete a run): the live
        view shows it no more. Before, its curves and test score stayed under Train, also in new browsers (QA).
        A job that failed because its folder was deleted while it trained is not one: its owner is told why it
        ended (QA: every tab said only "Nothing is training")."""
        return (job.finished and bool(job.run_id) and not job.folder_gone
                and not (self.store.root / job.run_id).is_dir())

    def job_in_view(self, job_id: str | None, owner: str, *, keep: bool = False,
                    prefer_running: bool = False) -> TrainingJob | None:
        """The job a Training page follows: the tab's own (``job_id``, from Train or Show) while it trains, or
        when ``keep`` (the tab chose it with Show once it had ended), or when ``owner`` has no job that trains;
        else ``owner``'s job that trains, else ``owner``'s newest that waits, else ``owner``'s newest (a reload
        forgets the tab's), else the one training on the server, else the newest that made a run and did not fail;
        jobs whose run was deleted are skipped (:meth:`run_deleted`). Before, a browser with no jobs (the
        projector) followed the newest job, a queued one, and never showed the one training; a reload after
        cancelling a second training followed the cancelled one while the first still waited; a second tab of the
        browser (the projector's) left the training's curves for a job queued in the first tab; a teacher who
        queued a second training saw "waiting in the queue" while the first trained out of view, and a tab that
        showed a training kept its result while the next one of the teacher's trained unseen (QA).

        Args:
            job_id: the job the tab chose last, or ``None``.
            owner: the browser's owner id (:func:`catdog.ui.owner_id`).
            keep: show ``job_id``'s job even while another of ``owner``'s trains.
            prefer_running: the teacher's (teacher mode): while ``owner``'s job waits, show the training that runs,
                whoever's, rather than "waiting in the queue" with a Stop that cancels the demo (QA: the teacher
                pressed it to stop the student's training that held the demo up).

        Returns:
            The job, or ``None`` when there is none to show.
        """
        job = self.get(job_id)
        if job is not None and not self.run_deleted(job):
            # a running job's run is never "deleted" (:meth:`run_deleted` is for ended jobs): no folder to look at
            training = [j for j in self.jobs() if j.owner == owner and j.state == "running" and j is not job]
            if prefer_running and job.state == "queued":
                training = training or [j for j in self.jobs() if j.state == "running"]
            return job if job.state == "running" or keep or not training else training[-1]
        shown = [j for j in self.jobs() if not self.run_deleted(j)]
        mine = [j for j in shown if j.owner == owner]
        running = [j for j in shown if j.state == "running"]
        # someone else's failure (say, their weights download) is theirs to read, not a red box on every page,
        # nor is their job cancelled in the queue (QA)
        others = [j for j in shown if j.state != "failed" and j.run_id]
        waiting = [j for j in mine if not j.finished]  # none of ``mine`` runs when it is read
        # the teacher's training that waits gives way to the one that runs, but one that has ended does not: the
        # projector's tab went on to a student's training as soon as the demo ended, its result unseen (QA)
        return ([j for j in mine if j.state == "running"] or (running if prefer_running and waiting else [])
                or waiting or mine or running or others or [None])[-1]

    def job_name(self, job: TrainingJob, *, with_model: bool = False) -> str:
        """The job's run name as it is now (renamed from the runs table meanwhile, say); for a run without a name
        when it started ("4 Dec 23:44:34"), as the runs table, Compare and the Classifier call it (the live view
        said "model4" of the run they call "4 Dec 23:44:34", QA); before its run exists, the name it was given,
        else its model.

        Args:
            with_model: a run without a name gets its model too ("4 Dec 23:44:34 · model4").
        """
        name, given = job.train_config.name, True
        if job.run_id:
            with contextlib.suppress(CatdogError):
                run = self.store.get(job.run_id)
                name, given = run.name, bool(run.record.get("name"))
            if not name:  # its run deleted since: named by its start time still (QA)
                name, given = run_started(job.run_id), False
        if not name:
            return job.train_config.model
        return name if given or not with_model else f"{name} · {job.train_config.model}"

    def active(self) -> list[TrainingJob]:
        """Queued and running jobs, oldest first."""
        return [job for job in self.jobs() if not job.finished]

    def position(self, job: TrainingJob) -> int:
        """0 for the running job, n for the n-th waiting one (1 for the next to start, also while the training
        thread has yet to pick it up: "position 0" read as running), -1 when finished."""
        if job.finished:
            return -1
        active = self.active()
        running = [j for j in active if j.state == "running"]
        waiting = sorted((j for j in active if j.state == "queued"), key=lambda j: j.rank)  # stable: FIFO
        if job in running:
            return 0
        return waiting.index(job) + 1 if job in waiting else -1

    def starting(self, job: TrainingJob) -> bool:
        """Whether ``job`` waits as the next to start while nothing runs: the moment before the training thread
        picks it up, which the page calls "starting…" (a click on Train with nothing training said "queued,
        position 1" for that moment, QA)."""
        return (job.state == "queued" and self.position(job) == 1
                and not any(other.state == "running" for other in self.active()))

    def queue_text(self, job: TrainingJob) -> str:
        """Where a queued job stands, for the page: ``"queued, position 2"``, or ``"starting…"``
        (:meth:`starting`)."""
        return "starting…" if self.starting(job) else f"queued, position {self.position(job)}"

    def stop(self, job: TrainingJob, by: str = "") -> None:
        """Ask a job to stop: a running one ends after its current batch; a queued one is cancelled at once
        (``stopped`` with no run, so it no longer counts in :meth:`position`). ``by``: who, when not its owner
        (:data:`STOPPED_BY_TEACHER`), kept in :attr:`TrainingJob.stopped_by` and its run's ``stopped_by``."""
        with self._lock:  # the worker moves a job from queued to running under the same lock
            if by and not job.stop.is_set():
                job.stopped_by = by
            job.stop.set()
            cancelled = job.state == "queued"
            if cancelled:
                job.state = "stopped"
                job.progress.set(phase="stopped", message="cancelled before it started")
        if cancelled:
            self._journal()

    def promote(self, owner: str) -> int:
        """Give ``owner``'s waiting jobs a teacher's place (:attr:`TrainingJob.priority`), as if submitted so: a
        teacher who queued the demo (or pressed "Queue again" after a restart) before unlocking teacher mode kept
        a student's place (QA). Each job keeps its order among them; its older entry in the queue is skipped.

        Returns:
            How many jobs moved.
        """
        with self._lock:
            moved = [job for job in self._jobs.values() if job.owner == owner and job.state == "queued"
                     and not job.priority and not job.stop.is_set()]
            for job in sorted(moved, key=lambda j: j.submitted):
                job.priority = True
                self._pending.put((job.rank, next(self._submissions), job))
        return len(moved)

    def unfinished_twin(self, train_config: TrainConfig, data_config: DataConfig, owner: str = ""
                        ) -> TrainingJob | None:
        """``owner``'s queued or running job with these very configs, or ``None``; a job told to stop (still
        ending its batch) is none: Stop then Train again meant a fresh run, and was told "already running" (QA).

        A seeded training repeats itself exactly, so a second such job is a second click, not a wish:
        the Training page shows the first instead of queueing another.
        """
        return next((job for job in self.active() if job.owner == owner and job.train_config == train_config
                     and job.data_config == data_config and not job.stop.is_set()), None)

    def retry(self, job: TrainingJob, owner: str = "", *, priority: bool = False, **changes) -> TrainingJob:
        """Stop ``job`` and queue the same training with ``changes`` to its :class:`TrainConfig` (e.g. ``seed``).

        The stopped job ends after its current batch and keeps its run folder (with the curves so
        far); the new job takes its place, ahead of the jobs waiting of its rank (a teacher's retry, ``priority``,
        ahead of all), and starts as soon as it has ended.

        Raises:
            TypeError: a change that is not a :class:`TrainConfig` field.
            CatdogError: the server is shutting down.
        """
        config = replace(job.train_config, **changes)
        self.stop(job)
        return self.submit(config, job.data_config, owner=owner, limits=False, first=True, priority=priority)

    def run_owner(self, run_id: str) -> str:
        """The owner id (:attr:`TrainingJob.owner`) of the browser whose training made run ``run_id``, from
        :data:`OWNERS_FILE`; ``""`` for a run made before 5 Dec 2026, by the command line or a bench, or when the
        file is missing or unreadable."""
        return self.run_owners().get(run_id, "")

    def run_owners(self) -> dict[str, str]:
        """``{run id: owner id}`` of the runs whose owner is known (:meth:`run_owner`), from one read."""
        return {run_id: owner for run_id, owner in self._owners().items() if isinstance(owner, str)}

    def _owners(self) -> dict:
        """:data:`OWNERS_FILE` as a dict (empty when missing or unreadable)."""
        try:
            owners = json.loads((self.store.root / OWNERS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return owners if isinstance(owners, dict) else {}

    def _record_owner(self, run_id: str, owner: str) -> None:
        """Add ``run_id: owner`` to :data:`OWNERS_FILE` (atomically; an entry of a run that is in neither the runs
        folder nor its trash is dropped), in teacher mode only: a run made while it is off is of no browser, as one
        made before owners were kept (the teacher's to manage, and in every comparison: the runs a teacher prepared
        the day before, without teacher mode, are the class's). A failure to write is ignored: the training goes
        on, and in teacher mode only the teacher may then rename or delete that run."""
        from catdog import teacher

        if not owner or not teacher.enabled():
            return
        with self._journal_lock, contextlib.suppress(OSError, ValueError):
            root = self.store.root
            owners = {rid: who for rid, who in self._owners().items() if _is_run_id(rid)
                      and ((root / rid).is_dir() or (root / TRASH_DIR / rid).is_dir())}
            write_json_atomic(self.store.root / OWNERS_FILE, {**owners, run_id: owner})

    def live_run_ids(self) -> set[str]:
        """Run ids being written by an unfinished job of this process."""
        return {job.run_id for job in self.jobs() if job.run_id and not job.finished}

    def _work(self) -> None:
        while True:
            job = self._pending.get()[-1]
            if job is None:  # :meth:`close`
                return
            with self._lock:
                # cancelled while it waited (:meth:`stop` marks it stopped under this lock), or the older entry of
                # a job :meth:`promote` queued again, since started
                if job.state != "queued":
                    continue
                job.state = "running"
                # not the "queued" a job is made with, shown beside "running" until train() set its first phase (QA)
                job.progress.set(phase="preparing data")

            def created(run, job=job):
                job.run_id = run.run_id
                self._journal()  # with its run: a killed server's notice names it
                self._record_owner(run.run_id, job.owner)

            try:
                result = self._trainer(
                    job.train_config, job.data_config, store=self.store,
                    progress=job.progress, stop=job.stop, on_run_created=created,
                )
                job.result, job.result_best = result.test, result.test_best
                # teacher mode: who stopped it (the runs table says so); a teacher's run (:attr:`RunInfo.by_teacher`)
                said = {}
                if job.stopped_by and result.run.status == "stopped":
                    said["stopped_by"] = job.stopped_by
                if job.priority:
                    said["teacher"] = True
                if said:
                    with contextlib.suppress(CatdogError, OSError):
                        self.store.update(result.run, **said)
                job.ended = time.time()
                job.state = "stopped" if result.run.status == "stopped" else "done"
            except Exception as err:  # shown in the page; the thread must live on.
                job.folder_gone = isinstance(err, RunFolderGone)
                job.error = str(err) if isinstance(err, CatdogError) else f"{type(err).__name__}: {err}"
                job.progress.set(phase="failed", message=job.error)
                job.ended = time.time()
                job.state = "failed"
            self._journal()


def _close_queue(ref: weakref.ref) -> None:
    """The exit hook of a :class:`TrainingQueue` (a weak reference: a queue dropped earlier is skipped)."""
    training_queue = ref()
    if training_queue is not None:
        training_queue.close()
