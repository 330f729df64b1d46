"""Plain-data summaries the pages show: run tables, progress and ETA."""

from __future__ import annotations

import math
import re
import time
import zipfile
from collections import Counter
from datetime import datetime
from pathlib import Path

from catdog.config import DataConfig
from catdog.data import baseline_of_counts
from catdog.training import STOPPED_AT_SHUTDOWN, STOPPED_BY_TEACHER


def run_rows(runs) -> list[dict]:
    """One row per run for the comparison table.

    Args:
        runs: :class:`catdog.training.RunInfo` objects.

    Returns:
        Dicts, in this column order: run (its name; when it started too, where another run has that name);
        model (e.g. ``model4 (fast, FT 10)``: fast mode, then 10 fine-tuning
        epochs); test accuracy of the final model and best validation accuracy (fractions in [0, 1] or
        ``None``); epochs (logged, a partial one included; for a failed or interrupted run, and its best
        validation accuracy, read from its history; ``None`` while running); wall time in seconds; params (total
        parameter count); status (for a run stopped
        mid-epoch e.g. ``stopped: epoch 2, batch 30/63``, while training ``running · scores when it ends``,
        before any epoch ``stopped before its first epoch``
        (model4 during feature extraction, say), by a server shutdown ``stopped at shutdown: …``, by the teacher
        from another browser (teacher mode) ``stopped by the teacher: …``; ``" ·
        collapsed"`` after it where the network was seen giving one answer to every image, ``" · model file
        missing"`` where a trained run's ``model.keras`` is gone); test accuracy of the best-validation epoch's
        checkpoint (a fraction or ``None``); the test accuracy's 95 % interval (text, see
        :func:`wilson_interval`); training seed; dataset (:func:`dataset_text`); input size (text, e.g.
        ``160×160``); trainable parameters; and ``id``, which the table leaves out.
    """
    runs = list(runs)
    names = _table_names(runs)
    rows = []
    for run in runs:
        record = run.record
        params = record.get("parameters") or {}
        config = record.get("train_config", {})
        size = (record.get("data_config") or {}).get("image_size")
        epochs, best_val = record.get("epochs_done"), record.get("best_val_accuracy")
        if epochs is None and run.status != "running":  # failed or interrupted: what its history holds
            history = run.history()
            epochs = len(history)
            best_val = max((row["val_accuracy"] for row in history if "val_accuracy" in row), default=None)
        status, cut = run.status, record.get("partial_epoch")
        if status == "stopped" and record.get("stopped_by") == STOPPED_AT_SHUTDOWN:
            status = "stopped at shutdown"
        elif status == "stopped" and record.get("stopped_by") == STOPPED_BY_TEACHER:
            status = "stopped by the teacher"
        if cut and run.status == "stopped":  # Keras logs the partial epoch as an epoch: say how far it went
            status = f"{status}: epoch {cut['epoch']}, batch {cut['batch']}/{cut['batches']}"
        elif run.status == "stopped" and not epochs:  # e.g. model4 during feature extraction: not just "stopped" (QA)
            status += " before its first epoch"
        if run.status == "running":  # why its epochs and scores are empty cells (QA)
            status = "running · scores when it ends"
        if record.get("collapsed"):  # why it was stopped, or why it guesses (QA)
            status += " · collapsed"
        if run.status in ("done", "stopped") and record.get("epochs_done") and not run.model_path.is_file():
            status += " · model file missing"  # why the Classifier does not offer it (deleted by hand, QA)
        # (a running run's epochs are left out: the live view shows them, a table drawn earlier would go stale)
        # which run, then the course's comparison (issue 3: model, epochs, best validation and test accuracy, wall
        # time, parameters), in the 820 px a table gets at 1280 px; the rest needs scrolling on a projector's narrow
        # page (at 1024 px model1 runs named by their start time could not be told from model4 ones)
        rows.append({
            "run": names[run.run_id],
            "model": model_text(run.model, config, fine_tuned=bool(record.get("fine_tune_start_epoch"))),
            "test accuracy": run.test_accuracy,
            "best validation accuracy": best_val,
            "epochs": epochs,
            "wall time (s)": record.get("wall_seconds"),
            "params": params.get("total"),
            "status": status,
            "test accuracy (best epoch)": run.test_best_accuracy,
            "test 95% interval": interval_text(record.get("test")),
            "training seed": config.get("seed"),  # not the split seed (QA: two "seed"s)
            # a teacher's own 10 test images scored "100.0%" among the course's runs without a word (QA 14)
            "dataset": dataset_text(record.get("data_config"), run.class_names),
            "input size": f"{size[0]}×{size[1]}" if size else None,
            "trainable params": params.get("trainable"),
            "id": run.run_id,
        })
    return rows


def model_mode(model: str, config: dict, *, fine_tuned: bool) -> str:
    """model4's training mode, as the runs table names it in brackets after the model: ``"fast ×3, FT 10"``;
    ``""`` for a model trained end to end without fine-tuning (model1 … model3, say).

    Args:
        model: the registry name.
        config: the run's :class:`catdog.config.TrainConfig` as a dict (``run.json``'s ``train_config``).
        fine_tuned: the run fine-tuned (or is to): "FT" and its fine-tuning epochs are added.
    """
    # the frozen and the fine-tuned model4 both read "model4 (fast)" (QA)
    # K augmented views in fast mode: a 3-view and a 1-view fine-tuned run both read "model4 (fast, FT 10)" (QA)
    views = config.get("views") if isinstance(config.get("views"), int) and config.get("views") > 1 else None
    fast = f"fast ×{views}" if views else "fast"
    return ", ".join([*([fast] if config.get("fast") and model == "model4" else []),
                      *([f"FT {config.get('fine_tune_epochs')}"] if fine_tuned else [])])


def model_text(model: str, config: dict, *, fine_tuned: bool) -> str:
    """A model with its training mode (:func:`model_mode`), as the runs table names it: ``"model4 (fast ×3, FT
    10)"``, ``"model1"``."""
    mode = model_mode(model, config, fine_tuned=fine_tuned)
    return f"{model} ({mode})" if mode else model


def _table_names(runs) -> dict[str, str]:
    """``{run id: name}`` for the runs table's first column: a run's name, with when it started where another run
    has the same name ("demo · 4 Dec 20:41:07"), and its id where that too is the same; two students' runs both
    named "test" were two rows alike (QA), whereas the comparison's labels tell them apart."""
    count = Counter(run.name for run in runs)
    return _told_apart({run.run_id: f"{run.name} · {run.started}" if count[run.name] > 1 and run.name != run.started
                        else run.name for run in runs})


def dataset_text(data_config, class_names) -> str | None:
    """The dataset a run trained on, as the runs table names it: its folder's name and its classes
    ("cats_and_dogs_filtered (cats, dogs)"); ``None`` when ``run.json`` names no folder.

    Args:
        data_config: ``run.json``'s ``data_config`` (a dict, or ``None``).
        class_names: the run's class names in label order.
    """
    folder = (data_config or {}).get("data_dir")
    if not isinstance(folder, str) or not folder:
        return None
    return f"{Path(folder).name} ({', '.join(class_names)})"


def distinct_labels(runs, *, validation: bool = False, class_names=None) -> dict[str, str]:
    """``{run id: label}`` for pickers and chart legends, where no two runs look alike.

    A run's label is :meth:`catdog.training.RunInfo.label` (name · model · test accuracy; with ``validation`` the
    final validation accuracy too, for pickers ordered by :func:`rank_runs`); names need not be unique, so runs
    whose labels coincide get their run id appended (else a legend keyed by label would draw one line for two runs).
    Given ``class_names`` (the dataset in use), a run trained on other classes ends in them ("… · classes chats,
    chiens"): a model of another dataset, first in the Classifier's list, labelled a student's cat "Katzen" (QA).
    A run whose model file is no Keras file (:func:`model_file_looks_whole`) ends in " · model file damaged": it
    ranks last (:func:`rank_runs`), and nothing said why (QA).
    """
    return _told_apart({run.run_id: run.label(validation=validation) + _other_classes(run, class_names)
                        + ("" if model_file_looks_whole(run) else " · model file damaged") for run in runs})


def deleted_labels(deleted) -> dict[str, str]:
    """``{run id: label}`` for the picker of deleted runs to restore: the run's label (name · model · test
    accuracy) and when it was deleted, local time, e.g. "demo · model1 · test 60.0% · deleted 5 Dec 10:11"; runs
    whose labels coincide get their run id appended.

    Args:
        deleted: :meth:`catdog.training.RunStore.deleted`'s ``(run, seconds since the epoch)`` pairs.
    """
    return _told_apart({run.run_id: f"{run.label()} · deleted {time_text(seconds)}" for run, seconds in deleted})


def time_text(seconds: float) -> str:
    """A moment (seconds since the epoch) as local day and time to the minute, e.g. "5 Dec 10:11", as run names
    give when a run started (:func:`catdog.training.run_started`)."""
    moment = datetime.fromtimestamp(seconds)
    return f"{moment.day} {moment:%b %H:%M}"


def model_file_looks_whole(run) -> bool:
    """Whether a run's ``model.keras`` is a zip archive, as every Keras file is (a look at the file's end, not a
    load): one that is not is damaged or cut off. A run without the file at all counts as whole (the pickers that
    need it leave such runs out)."""
    return not run.model_path.is_file() or zipfile.is_zipfile(run.model_path)


def _told_apart(texts: dict[str, str]) -> dict[str, str]:
    """``texts`` (``{run id: text}``) with `` · <run id>`` after each text that another run has too."""
    seen = Counter(texts.values())
    return {rid: f"{text} · {rid}" if seen[text] > 1 else text for rid, text in texts.items()}


def _same_classes(run, class_names) -> bool:
    """Whether ``run`` was trained on ``class_names`` (in label order); ``None``, classes not known: as if it was."""
    return class_names is None or tuple(run.class_names) == tuple(class_names)


def _other_classes(run, class_names) -> str:
    """" · classes a, b" when ``run`` was trained on classes other than ``class_names`` (:func:`_same_classes`)."""
    return "" if _same_classes(run, class_names) else " · classes " + ", ".join(run.class_names)


def rank_runs(runs, class_names=None) -> list:
    """Trained runs for a model picker, best first: by the lower end of the 95 % interval of the final model's
    validation accuracy (its last epoch's; :func:`wilson_interval` over the run's validation images), but a run
    whose model only guesses (:func:`guesses`) never ahead of one that learned, and runs without a validated epoch
    last among their kind. A run whose ``model.keras`` is no zip archive (so no Keras file: damaged, or cut off;
    a quick look at the file's end) comes after all others: it was chosen first, and every visit opened on its
    error (QA).  Given ``class_names`` (those of the dataset in use), runs trained on these classes come
    before all others: a model of a teacher's own dataset (classes "Hunde", "Katzen") was the Classifier's first
    choice on the course data, and called a student's cat "Katzen" (QA).

    Validation, not test accuracy: choosing a model by its test score spends the test split, which then no longer
    measures unseen data (QA: the Classifier chose by test score while the Data page said nothing was).  The lower
    end, not the accuracy itself, so that a score on a few images does not outrank a like score on many: 70 % of 20
    images (interval 48–85 %) comes after 62 % of 200 (55–68 %), whereas on splits of one size the order is the
    accuracies' (ranking by the Wilson lower bound is E. Miller's "How not to sort by average rating", 2009).

    Args:
        runs: :class:`catdog.training.RunInfo` objects.
        class_names: the dataset's class names in label order, or ``None`` (no preference).

    Returns:
        A new list of the same runs; of runs that rank alike, the older first.
    """
    def rank(run) -> tuple[bool, bool, bool, float]:
        history = run.history()  # read once: a file per run
        accuracy = history[-1].get("val_accuracy") if history else None
        images = (run.record.get("data_config") or {}).get("validation_size")
        if accuracy is None or not 0.0 <= accuracy <= 1.0:  # NaN too
            low = -1.0
        else:
            low = wilson_interval(accuracy, images)[0] if isinstance(images, int) and images >= 1 else accuracy
        return (model_file_looks_whole(run), _same_classes(run, class_names),
                not guesses(history, run.record.get("collapsed")), low)

    # ties: the older run first, so that a new run must beat the one chosen so far, not only equal it (QA M: a
    # student's 6-epoch run that tied the teacher's prepared one to the image took its place in every new browser)
    oldest_first = sorted(runs, key=lambda run: str(run.record.get("created") or run.run_id))
    return sorted(oldest_first, key=rank, reverse=True)  # stable, also reversed


def best_per_model(ranked, class_names=None, *, fine_tuned_apart: bool = False) -> list:
    """The first run of each model kind in ``ranked`` (as :func:`rank_runs` orders them), in model-name order
    (model1, model2, …): the line-up the Classifier compares by default, and the Training page's first
    comparison of curves.

    Args:
        ranked: :class:`catdog.training.RunInfo` objects, best first.
        class_names: when given and some runs were trained on these classes, only those runs: a model of other
            classes would answer in them.
        fine_tuned_apart: a fine-tuned model4 is a kind of its own, after model4, as in the course's results
            (the comparison of curves began with the newest three runs, and left model1 and model3 out, QA).
    """
    same = [run for run in ranked if _same_classes(run, class_names)]
    first = {}
    for run in same or ranked:
        first.setdefault((run.model, bool(fine_tuned_apart and run.fine_tune_start)), run)
    return [first[kind] for kind in sorted(first)]


def verdict_titles(runs) -> dict[str, str]:
    """``{run id: column title}`` for the Classifier's comparison of models: model and run name, short for the
    narrow columns of a 1024-px projector, where about 14 characters show (the whole label, with the scores, is in
    the picker and on hover): "model1 · 2 Dec 11:55:17"; "model4 FT · …" for a fine-tuned run ("model4 fine-tuned"
    left the run's name off screen, QA); the name alone when it says the model
    (:meth:`~catdog.training.RunInfo.names_model`); "⚠ " first for a model that only guesses (:func:`guesses`:
    "model1 at chance" was cut to "model1 at chanc", QA); when the run started after titles that would coincide
    (its id, as a last resort). :func:`verdict_titles_note` explains the marks."""
    def title(run) -> str:
        kind = f"{run.model} FT" if run.fine_tune_start else run.model
        name = run.name if run.names_model() else f"{kind} · {run.name}"
        return f"⚠ {name}" if guesses(run.history(), run.record.get("collapsed")) else name

    titles = {run.run_id: title(run) for run in runs}
    seen = Counter(titles.values())
    titles = {run.run_id: f"{titles[run.run_id]} · {run.started}" if seen[titles[run.run_id]] > 1
              else titles[run.run_id] for run in runs}
    seen = Counter(titles.values())
    return {rid: f"{title} · {rid}" if seen[title] > 1 else title for rid, title in titles.items()}


def verdict_titles_note(runs) -> str | None:
    """What the marks of :func:`verdict_titles` mean, for those that ``runs`` (the runs compared) have; ``None``
    when they have none."""
    marks = (["FT: fine-tuned"] if any(run.fine_tune_start for run in runs) else []) + (
        ["⚠: stayed at chance level while it trained, so its verdicts are guesses"]
        if any(guesses(run.history(), run.record.get("collapsed")) for run in runs) else [])
    return f"{'; '.join(marks)}. Point at a column title for the whole run and its scores." if marks else None


def interval_text(test: dict | None) -> str | None:
    """A test score's 95 % interval (:func:`wilson_interval`) as text, e.g. ``"93.0%–98.3%"`` for 96.5 % of 200
    images; ``None`` without a score, a count or with values out of range.

    Args:
        test: ``run.json``'s ``test`` or ``test_best`` record (``accuracy`` in [0, 1], ``images``).
    """
    if not test or test.get("accuracy") is None or not test.get("images"):
        return None
    try:
        low, high = wilson_interval(test["accuracy"], int(test["images"]))
    except ValueError:  # out of range (the run store skips such records; a caller's own may not)
        return None
    return f"{low:.1%}–{high:.1%}"


def baseline_note(accuracy: float, images: int, baseline: float) -> str | None:
    """What to say when a test score is not clearly better than the majority-class baseline
    (:func:`catdog.data.majority_baseline`): its 95 % interval (:func:`wilson_interval`) reaches down to the
    baseline. On the course's 200 test images that is any score up to 56.5 % against 50 %: the default model2
    run (51.0 %) and model1 run (54.5 %) score it, and only the interval says they barely beat guessing (QA).

    Args:
        accuracy: the test accuracy in [0, 1].
        images: test images scored (> 0).
        baseline: the baseline's accuracy on the same test split, in [0, 1].

    Returns:
        A sentence for the page ("Not clearly better than guessing: …", or "Worse than guessing: …" when the
        whole interval lies below the baseline), or ``None`` when it lies above.

    Raises:
        ValueError: ``accuracy`` outside [0, 1] or ``images`` < 1 (:func:`wilson_interval`).
    """
    low, high = wilson_interval(accuracy, images)
    if low > baseline:
        return None
    verdict, where = (("Worse than guessing", "lies below") if high < baseline  # not "includes" (review)
                      else ("Not clearly better than guessing", "includes"))
    return (f"{verdict}: the 95% interval of {accuracy:.1%} on {images:,} test images, {low:.1%}–{high:.1%}, "
            f"{where} {baseline:.1%}, the majority-class baseline (always answering the most common training class, "
            "either one where they tie; Data page).")


#: Share of the machine's memory above which the Training page advises restarting the server. A server that trains
#: in its own thread (``$CATDOG_TRAIN_IN_SERVER``) keeps ≈ 88 MB after each training (Keras 3 on TensorFlow,
#: keras-team/keras#17458; bench/server_memory.py); one that trains in child processes, the default, does not.
MEMORY_NOTE_SHARE = 0.5


def process_memory() -> tuple[int | None, int | None]:
    """``(resident memory of this process, the machine's physical memory)`` in bytes, from Linux's
    ``/proc/self/status`` (``VmRSS``) and ``/proc/meminfo`` (``MemTotal``); ``None`` for what cannot be read
    (another system)."""
    def field(path: str, name: str) -> int | None:
        try:
            with open(path) as handle:
                for line in handle:
                    if line.startswith(name + ":"):
                        return int(line.split()[1]) * 1024  # kB
        except (OSError, ValueError, IndexError):
            return None
        return None

    return field("/proc/self/status", "VmRSS"), field("/proc/meminfo", "MemTotal")


def memory_note(rss: int | None, total: int | None, share: float | None = None, *,
                trains_here: bool = True) -> str | None:
    """What the Training page says when the server holds more than ``share`` of the machine's memory
    (:func:`process_memory`), else ``None`` (also when either is unknown).

    Args:
        rss: the server process's resident memory in bytes.
        total: the machine's physical memory in bytes.
        share: the fraction of ``total`` from which to speak; ``None``: :data:`MEMORY_NOTE_SHARE` as it is then.
        trains_here: the server trains in its own thread (``$CATDOG_TRAIN_IN_SERVER``), where Keras keeps ≈ 88 MB
            after every training; else it trains in child processes, and the note names no cause.
    """
    share = MEMORY_NOTE_SHARE if share is None else share
    if not rss or not total or rss <= share * total:
        return None
    cause = (": Keras keeps about 90 MB after every training in it (a known Keras 3 problem; README, Benchmarks), "
             "since CATDOG_TRAIN_IN_SERVER asks it to train in its own process" if trains_here else "")
    return (f"This server holds {rss / 1e9:.1f} GB of the machine's {total / 1e9:.1f} GB{cause}. Restart the server "
            "between lessons (Ctrl-C in its terminal, then start it again): every run is kept.")


def code_span(text) -> str:
    """``text`` as a Markdown code span, shown as typed, also with backticks in it (a file called ``a`b.jpg``
    closed a plain one early and turned the rest of the sentence into code, review): fenced by one backtick more
    than its longest run of them, padded with a space where it begins or ends with one (CommonMark 0.31, 6.1)."""
    text = str(text)
    fence = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    pad = " " if text[:1] == "`" or text[-1:] == "`" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


#: Paths a Data page note names before it counts the rest, which the page then lists below it.
NOTE_PATHS_SHOWN = 5


def _some_paths(paths, root, shown: int) -> str:
    """The first ``shown`` of ``paths`` relative to ``root`` as code spans, then how many more, e.g.
    "`train/cats/a.png`, `train/dogs/b.png` and 3 more"."""
    names = []
    for path in paths[:shown]:
        try:
            names.append(Path(path).relative_to(root).as_posix())
        except ValueError:
            names.append(str(path))
    more = f" and {len(paths) - shown:,} more, listed below" if len(paths) > shown else ""
    return ", ".join(map(code_span, names)) + more


def turned_note(turned, root, *, shown: int = NOTE_PATHS_SHOWN) -> str | None:
    """What the Data page says of photos stored turned (:attr:`catdog.data.ImageCheck.turned`): training sees them
    as stored, the Classifier upright.

    Args:
        turned: paths of the images whose EXIF orientation training ignores (:attr:`catdog.data.Splits.turned`).
        root: the dataset folder; paths are named relative to it (``train/cats/x.jpg``).
        shown: how many paths to name; the rest are counted.

    Returns:
        Markdown for a warning, or ``None`` when there are none.
    """
    if not turned:
        return None
    s, be, its, it = ("s", "are", "their", "them") if len(turned) > 1 else ("", "is", "its", "it")
    return (f"{len(turned):,} photo{s} of this folder {be} stored turned or mirrored, with a note in {its} EXIF "
            f"data on how to show {it} upright ({_some_paths(turned, root, shown)}). Training reads the "
            f"pixels as stored, as Keras's `image_dataset_from_directory` does (and as the sample images below are "
            f"shown), so the models learn {it} turned; the Classifier turns uploads upright. To train on {it} "
            f"upright, turn {it} in a photo editor and save.")


def transparent_note(transparent, root, *, test=(), shown: int = NOTE_PATHS_SHOWN) -> str | None:
    """What the Data page says of images with transparent parts (:attr:`catdog.data.ImageCheck.transparent`):
    training sees the colours stored under them, the Classifier puts uploads on white, so the same file can get
    two verdicts (QA: one PNG scored "cats 81 %" in the test-split evaluation and "dogs > 99.9 %" uploaded).

    Args:
        transparent: paths of the images with transparent pixels (:attr:`catdog.data.Splits.transparent`).
        root: the dataset folder; paths are named relative to it (``train/cats/x.png``).
        test: the test split's paths: the Classifier's test-split evaluation is named only when one of them is
            transparent (it was named of training images, QA).
        shown: how many paths to name; the rest are counted.

    Returns:
        Markdown for a warning, or ``None`` when there are none.
    """
    if not transparent:
        return None
    readers = ("Training, the sample images below and the Classifier's test-split evaluation ignore"
               if set(map(str, transparent)) & set(map(str, test)) else "Training and the sample images below ignore")
    s, have, them, they_look = (("s", "have", "them", "they look") if len(transparent) > 1
                                else ("", "has", "it", "it looks"))
    return (f"{len(transparent):,} image{s} of this folder {have} transparent parts "
            f"({_some_paths(transparent, root, shown)}). {readers} "
            f"transparency, as Keras's `image_dataset_from_directory` does: they see "
            f"the colours stored under the transparent parts, often black or leftovers a viewer never shows. The "
            f"Classifier puts uploads on white, as a viewer shows them, so the same file uploaded there can get "
            f"another verdict. To train on {them} as {they_look}, save {them} on a white background (as JPEG, say).")


#: Uploads with a side shorter than this many pixels get :func:`tiny_note`: a 1×1 PNG got "cats · 86.2%" and a
#: Grad-CAM map without a word (QA). The course's images are 500 pixels or so a side, shrunk to 160.
TINY_SIDE = 32


def tiny_note(size: tuple[int, int], input_size: tuple[int, int]) -> str | None:
    """What the Classifier says under an upload too small to show the model much (a side under :data:`TINY_SIDE`
    pixels), else ``None``.

    Args:
        size: the upload's (width, height) in pixels.
        input_size: the model's input (height, width) in pixels.
    """
    if min(size) >= TINY_SIDE:
        return None
    return (f"This picture is only {size[0]}×{size[1]} pixels: stretched to the model's {input_size[1]}×"
            f"{input_size[0]}, it gives the model very little to see, yet the model must answer one class or the "
            "other.")


def copy_note(path, root, split: str | None = None, images: int | None = None) -> str:
    """What the Classifier says under an upload that is a dataset image the run trained with
    (:func:`catdog.data.find_copies`): a training image's verdict shows little of how the model does on new photos
    (QA: a student "proved" the model right on pictures it had learned from).

    Args:
        path: the dataset image the upload is a copy of.
        root: the dataset folder the run trained on; the path is named relative to it.
        split: the run's split that holds it (:func:`catdog.data.split_of`), ``"validation"`` or ``"test"``, when
            known (the run's split settings are the sidebar's); else ``None``: an image of ``validation/`` is then
            named by its folder only (a teacher could not tell a test image from a validation one, QA M).
        images: the size of that split.

    Returns:
        Markdown for a caption.
    """
    name = _some_paths([path], root, 1)  # after a colon: "(" then a code span broke apart at 1280 px (QA)
    if Path(path).relative_to(root).parts[0] == "train":
        return (f"This is a training image: the model learned from this very picture, so its verdict shows little "
                f"of how it does on photos it has never seen. Try a photo of your own. File: {name}.")
    of = f"the {images:,} " if images else "the "
    if split == "test":
        return (f"This is one of {of}test images: the model never trained on it, and nothing was chosen by it; its "
                f"verdict counts in the run's test accuracy. File: {name}.")
    if split == "validation":
        return (f"This is one of {of}validation images: the model never trained on it, but they scored every "
                "epoch, so what was chosen by them (the best epoch, the settings) suits them a little. File: "
                f"{name}.")
    return f"This is an image of the dataset's validation folder: the model never trained on it. File: {name}."


def run_baseline_note(run) -> str | None:
    """:func:`baseline_note` for a run's final test score, against the baseline of the splits it trained with
    (``run.json``'s ``test`` and ``counts``); ``None`` as well for a run without them (not scored, or recorded by
    an older catdog)."""
    test = run.record.get("test") or {}
    try:
        _, baseline = baseline_of_counts(run.record["counts"], run.class_names)
        return baseline_note(test["accuracy"], int(test["images"]), baseline)
    except (KeyError, TypeError, ValueError):
        return None


def wilson_interval(accuracy: float, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95 % confidence interval of an accuracy measured on ``n`` images (Wilson score interval).

    Source: E. B. Wilson, "Probable inference, the law of succession, and statistical
    inference", JASA 22 (1927); ``z`` is the standard normal's 97.5 % quantile.  Unlike
    p ± z·√(p(1-p)/n) it stays inside [0, 1] and is sound near 0 % and 100 %.

    Args:
        accuracy: fraction correct in [0, 1].
        n: images scored (> 0).

    Returns:
        ``(low, high)``, fractions in [0, 1].  For 95.5 % of 200 images: ≈ (0.917, 0.976).

    Raises:
        ValueError: ``n`` < 1 or ``accuracy`` outside [0, 1].
    """
    if n < 1 or not 0.0 <= accuracy <= 1.0:
        raise ValueError(f"need n ≥ 1 and accuracy in [0, 1], not n={n}, accuracy={accuracy}")
    denominator = 1 + z * z / n
    centre = (accuracy + z * z / (2 * n)) / denominator
    half = z * math.sqrt(accuracy * (1 - accuracy) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


#: Seconds of a validation batch per second of a training batch, while the first epoch of a fit is under way
#: (validation is then counted in the time left from the training pace). Measured on this project's 2-core
#: machine, 3 Dec 2026, epoch 1 on the real data: model1 0.20, model3 0.21 (0.18–0.26 in all epochs measured);
#: a forward pass alone is about a third of a training step's forward and backward passes.
VALIDATION_BATCH_COST = 0.25


def eta_seconds(snapshot: dict, now: float | None = None) -> float | None:
    """Seconds left in the ``model.fit`` running now (the frozen phase, or fine-tuning), from a
    :meth:`catdog.training.Progress.snapshot`.

    Once an epoch of this fit has finished, each epoch left is paced by the wall time of the last finished one
    (its history row's ``seconds``: training batches *and* validation; not a mean, which the first epoch's
    one-time work, tracing and the first checkpoint, kept too high: a 40-s model1 run was said to need 59 s, and
    fine-tuning 35 s for 8; the fit's first epoch by its ``steady_seconds``, its wall time without the first
    batch, which traces the training step, counted at the pace of the others); before that, by the current
    epoch's seconds per batch since its first batch ended
    (``first_batch_ended``; that batch traces the training step: counting it, a 44-s model1 run was said to
    have 243 s left at batch 2 and 69 s at batch 10, with 34 and 32 s to go), with validation counted as
    ``validation_share`` × batches at :data:`VALIDATION_BATCH_COST` of that pace each (left out, a 20-epoch model1
    run's estimate rose by about 40 s when epoch 2 began; the validation under way counts down). The current
    epoch counts for the share of its batches still to run, the batch under way for the share of its time still
    to go (:func:`_batches_left`), so that the estimate counts down between batches. ``None`` until a pace is
    known (before a fit's third batch), or outside training (testing). While fast model4 extracts features: the
    seconds left in that extraction, paced by its MobileNetV2 passes since the first (which also builds the graph).
    """
    now = time.time() if now is None else now
    batches = snapshot.get("batches", 0)
    if snapshot.get("phase") == "extracting features":  # MobileNetV2's passes left, paced the same way
        pace = seconds_per_batch(snapshot, now)
        return None if pace is None else pace * _batches_left(snapshot, now, pace)
    if snapshot.get("phase") != "training" or not batches or not snapshot.get("epoch_started"):
        return None
    epoch, first = snapshot.get("epoch", 0), snapshot.get("fit_first_epoch") or 1
    last = snapshot.get("fit_last_epoch") or snapshot.get("epochs", 0)
    done = [row for row in snapshot.get("history", [])
            if first <= row.get("epoch", 0) < epoch and row.get("seconds") and "stopped_after_batch" not in row]
    if done:
        # the fit's first epoch traced the training step in its first batch: paced without it (its
        # ``steady_seconds``), fine-tuning's estimate no longer rose from 44 s to 1 min 16 s when its second
        # epoch began (QA)
        per_epoch = (done[0].get("steady_seconds") if len(done) == 1 else None) or done[-1]["seconds"]
        return per_epoch * (_batches_left(snapshot, now, per_epoch / batches) / batches + max(last - epoch, 0))
    if (pace := seconds_per_batch(snapshot, now)) is None:  # the fit's first batches are still running
        return None
    validation = pace * VALIDATION_BATCH_COST * snapshot.get("validation_share", 0.0) * batches
    left = _batches_left(snapshot, now, pace)
    if left > 0:
        this_epoch = pace * left + validation
    else:  # validating: what is left of it
        this_epoch = max(validation - max(now - snapshot.get("last_batch_ended", now), 0.0), 0.0)
    return this_epoch + (pace * batches + validation) * max(last - epoch, 0)


def seconds_per_batch(snapshot: dict, now: float) -> float | None:
    """Seconds per batch (or MobileNetV2 pass) from the end of the first to the end of the last whole one
    (``first_batch_ended``, ``last_batch_ended``, ``batches_ended``; up to ``now`` in a snapshot without them), or
    ``None`` before the third: the first carries one-time work (tracing, building the graph), and one more is no
    pace."""
    if not snapshot.get("last_batch_ended"):  # a snapshot without it (a caller's own): paced up to now
        batch = snapshot.get("batch", 0)
        if batch < 3 or not snapshot.get("first_batch_ended"):
            return None
        return (now - snapshot["first_batch_ended"]) / (batch - 1)
    ended = snapshot.get("batches_ended", 0)
    if ended < 3 or not snapshot.get("first_batch_ended"):
        return None
    return (snapshot["last_batch_ended"] - snapshot["first_batch_ended"]) / (ended - 1)


def _batches_left(snapshot: dict, now: float, seconds_per_batch: float) -> float:
    """Batches (or passes) of the current epoch still to run, counting the one under way for the share of its
    ``seconds_per_batch`` not yet spent since the last whole batch ended (at most all of it); 0 once they have
    all run (validation is not counted). Without that share the estimate fell only when a batch ended and rose
    in between, so the two lines that show it, drawn a second apart, read "1 min 35 s" and "2 min 13 s" early in
    a fine-tuning epoch (QA, 2 Dec 2026)."""
    batches = snapshot.get("batches", 0)
    if not snapshot.get("last_batch_ended"):  # none ended yet in this epoch, or a snapshot without the field
        return float(batches - min(snapshot.get("batch", 0), batches))
    ended = min(snapshot.get("batches_ended", 0), batches)
    if ended >= batches:
        return 0.0
    spent = (now - snapshot["last_batch_ended"]) / seconds_per_batch if seconds_per_batch > 0 else 0.0
    return batches - ended - min(max(spent, 0.0), 1.0)


def stuck_at_chance(history, tolerance: float = 0.02) -> bool:
    """True when no epoch's validation accuracy got above 50 % + ``tolerance``.

    The sign of a collapsed two-class network: constant output, loss ≈ ln 2 ≈ 0.693. Such a network scores the
    share of one class, exactly 50 % on the course's balanced 800-image validation split; the 2 points leave room
    for one that answers nearly always the same class, and stay inside the ± 3.5 points over which a model that
    guesses at random scatters on 800 images (95 %: 1.96 × √(0.5 × 0.5 / 800)).
    """
    accuracies = [row.get("val_accuracy") for row in history if row.get("val_accuracy") is not None]
    return bool(accuracies) and max(accuracies) <= 0.5 + tolerance


def guesses(history, collapsed: dict | None = None) -> bool:
    """Whether a trained run's model only guesses: stuck at chance (:func:`stuck_at_chance`) or seen
    collapsing while it trained (``run.json``'s ``collapsed``), whatever its history shows: a run stopped
    mid-epoch logs that partial epoch, or none if it was stopped or killed before Keras could."""
    return stuck_at_chance(history) or bool(collapsed)


def augmentation_idle_note(model: str, fast: bool, views, fine_tune_epochs) -> str | None:
    """Under the Training page's augmentation settings: that they do not act in the run set up, a model4 in fast mode
    with 1 view and no fine-tuning (the page's default), whose head trains on the images as they are; else ``None``
    (model4's description names augmentation, QA). ``views`` and ``fine_tune_epochs`` may be ``None`` (an emptied
    field: no note)."""
    if model != "model4" or not fast or views != 1 or fine_tune_epochs != 0:
        return None
    return ("In fast mode with 1 view and no fine-tuning (below), model4's head trains on the images as they are: "
            "these settings do not act. More views, or fine-tuning epochs, bring augmentation in.")


def live_fine_tune_start(train_config, epochs_logged: int, finished: bool) -> int | None:
    """Where the live curves mark the start of fine-tuning: the first fine-tuning epoch (1-based,
    ``train_config.epochs + 1``) for a model4 run set to fine-tune, drawn ahead while it trains; ``None`` for other
    runs, and for a run that ended (stopped, failed) before any fine-tuning epoch was logged (a stopped frozen phase
    kept a "fine-tuning starts" line over fine-tuning that never happened, QA).

    Args:
        train_config: the job's :class:`catdog.config.TrainConfig`.
        epochs_logged: rows of its history so far.
        finished: the job has ended.
    """
    if train_config.model != "model4" or not train_config.fine_tune_epochs:
        return None
    start = train_config.epochs + 1
    return None if finished and epochs_logged < start else start


#: How to read the Training page's curves.  ln 2 ≈ 0.693 is the cross-entropy of the answer (½, ½).  Keras reports
#: an epoch's training metrics as the running mean over its batches (``model.fit`` logs), with dropout and
#: augmentation active; ``val_*`` come from ``model.evaluate`` after the epoch, in inference mode.
def curves_help(train_config) -> str:
    """The note under a run's live curves on how to read them: validation above training looked like a bug to a
    student (QA). It names what is on while the model trains: dropout always, augmentation only where the run's
    training images are augmented (model1 has no augmentation layers, and fast mode with 1 view trains its head on
    the images as they are; the note said "augmentation on" for both, QA).

    Args:
        train_config: the run's :class:`catdog.config.TrainConfig`.
    """
    fast_plain = train_config.model == "model4" and train_config.fast and train_config.views <= 1
    augmented = train_config.model != "model1" and (not fast_plain or train_config.fine_tune_epochs > 0)
    if not augmented:
        on = "with dropout on" + (" (fast mode with 1 view trains on the images as they are)" if fast_plain else "")
    elif fast_plain:
        on = "with dropout on, and augmentation too from fine-tuning on"
    else:
        on = "with dropout and augmentation on"
    return (f"How to read the curves: training accuracy and loss are averaged over the epoch while the weights still "
            f"change, {on}; validation is measured after the epoch with {'both' if augmented else 'it'} off, so it "
            "can lie above training. Loss measures how far the model's probabilities are from the right answers "
            "(the cross-entropy of the softmax of its two outputs, the logits): lower is better, and 0.693 (ln 2) "
            "is what a 50/50 guess scores.")


def first_loss_note(model: str, first: float, epoch: int = 1) -> str:
    """Under a run's curves when the loss chart leaves its first epoch's training loss off the top
    (:func:`catdog.charts.first_loss_off_top`): what the triangle is, and for model1 and model2, which see the raw
    pixels, why the loss starts that high; a loss of 50 beside the note's "0.693 is a 50/50 guess" went
    unexplained (QA M).

    Source of the why: cross-entropy is −ln of the probability given to the right class, so an answer all but
    certain and wrong costs tens (−ln 10⁻²² ≈ 50); inputs of 0 to 255 give the freshly initialised network logits
    far apart, hence such answers, until the weights adapt.

    Args:
        model: the run's registry name.
        first: that loss.
        epoch: its epoch (1-based).
    """
    note = f"▲ Epoch {epoch}'s training loss, {first:.3g}, is off the top of the loss chart."
    if model in ("model1", "model2"):
        note += (f" {model} sees the raw pixels, 0 to 255, so its first outputs (logits) lie far apart: its early "
                 "answers are all but certain, and a certain wrong answer costs a huge loss (the loss is −ln of the "
                 "probability given to the right class). model3 scales the pixels to −1…1 first.")
    return note


#: Epochs at chance after which a running model1/model2 whose network was not seen collapsing is offered a
#: retry with the next seed (:func:`offers_retry`).  The default training seed 0 sits at 48–50 % validation
#: accuracy for four epochs on the course data and reaches 54 % in the fifth (3 Dec 2026); offered at the
#: third, as before, the retry looked like the fix for a demo that was learning (QA).
CHANCE_PATIENCE_EPOCHS = 6


def offers_retry(model: str, history, collapsed: dict | None = None) -> bool:
    """Whether the Training page offers "Stop and train again with seed N + 1" for a running job: its model1 or
    model2 network was seen collapsing (``collapsed``, see :func:`chance_hint`), or it has stayed at chance
    (:func:`stuck_at_chance`) for :data:`CHANCE_PATIENCE_EPOCHS` epochs without collapsing."""
    return model in ("model1", "model2") and (bool(collapsed) or (
        len(history) >= CHANCE_PATIENCE_EPOCHS and stuck_at_chance(history)))


def chance_hint(model: str, history, finished: bool, collapsed: dict | None = None,
                stop_how: str = "", stopped: bool = False, one_class: bool | None = None) -> str | None:
    """The Training page's note on a model1/model2 run stuck at chance level, or ``None``.

    model1 and model2 see raw [0, 255] pixels; the first Adam updates can switch off every
    ReLU, after which the network answers one class for every image and no gradient is left
    to move it (seeds 2, 12 and 42 of 0–16 and 42–45 do this on the course data, bench/README.md).  A
    running job gets the note as soon as the training thread has seen the network give one
    answer to every probe image (``collapsed``, usually within the first 10–40 batches), else
    from its third epoch at chance on: first that it has not collapsed and may still learn (the default seed 0
    sits at 48–50 % for four epochs, seed 43 at 49–51 % for two: told after the second that it would not, a
    class would have stopped it), from :data:`CHANCE_PATIENCE_EPOCHS` on that it is not learning, so that a
    class need not wait for all 20 epochs of a run that cannot learn; a finished one gets it too.

    Args:
        model: registry name of the run's model.
        history: per-epoch rows with ``val_accuracy`` (as :func:`stuck_at_chance` reads them).
        finished: whether the job has ended.
        collapsed: ``{"epoch", "batch", "images"}`` where the running network was seen giving one answer
            (:attr:`catdog.training.Progress.collapsed`), or ``None``.
        stop_how: how this front end stops a job, put after "Stop it" (the command line: ``" (Ctrl-C)"``;
            the page, whose Stop button is in view: ``""``).
        stopped: the finished job was stopped (Stop), not run to its last epoch.
        one_class: the latest check saw the network give every probe image the same class
            (:attr:`catdog.training.Progress.one_class`): not collapsed, its outputs differ only a little, and the
            note no longer says that it gives different answers (a student then saw "cats · 50.4%" for every
            image, QA).
    """
    if model not in ("model1", "model2") or not (stuck_at_chance(history) or (collapsed and not finished)):
        return None
    why = ("with raw [0, 255] pixels the first updates can switch off every ReLU, and the network then always "
           "answers the same class")
    advice = "another seed, or model3, which scales the pixels to [-1, 1] first"
    # what the collapse check saw of a network that has not collapsed, past and present
    # one_class: "did not collapse (…, though it gave every training image … the same answer)" read as a
    # contradiction (QA): collapsed is the very same output for every image, this is outputs that differ too little
    gave, gives = (("its outputs still differed from image to image, if too little yet to give any image the other "
                    "class", "its outputs still differ from image to image, if too little yet to give any image the "
                    "other class") if one_class else
                   ("it gave different answers to different images", "it gives different answers to different images"))
    if finished:
        if collapsed:
            return (f"This run stayed at chance level (≈ 50%): in epoch {collapsed['epoch']}, after batch "
                    f"{collapsed['batch']}, its network already gave the very same answer for every training image "
                    f"it was checked on: {why}. Try {advice}.")
        if len(history) < 3:  # not seen collapsing: it may just have had too few epochs (QA: seed 43, 2 epochs)
            epochs = f"{len(history)} epoch{'s' if len(history) > 1 else ''}"
            ended = (f"was stopped at chance level (≈ 50%) in epoch {len(history)}, too early to tell" if stopped
                     else f"ended at chance level (≈ 50%) after only {epochs}")  # Stop in epoch 1 read "after" (QA)
            seen = ("model1 with seed 43 on the course data: 51% after epoch 2, 53% after epoch 3" if model == "model1"
                    else "its augmentation makes every epoch's images new, so it learns more slowly than model1, "
                    "which with seed 43 on the course data was at 51% after epoch 2, 53% after epoch 3")
            return (f"This run {ended}. Its network did not collapse ({gave}): {model} on raw [0, 255] pixels can "
                    f"take a few epochs to leave 50% ({seen}). "
                    f"Train it for more epochs; if it still stays at 50%, try {advice}.")
        return (f"This run stayed at chance level (≈ 50%) in all {len(history)} epochs, though its network did not "
                f"collapse ({gave}): on raw [0, 255] pixels "
                f"{model} learns slowly, or not at all with some seeds. Train it for more epochs, or try {advice}.")
    if collapsed:
        return (f"In epoch {collapsed['epoch']}, after batch {collapsed['batch']}, this network already gives the "
                f"very same answer for all {collapsed.get('images', 'the')} training images it is checked on: {why}, "
                f"and it does not recover from that. Stop it{stop_how} and try {advice}.")
    if len(history) < 3:
        return None
    if len(history) < CHANCE_PATIENCE_EPOCHS:  # the garbled "…, and then it never does" (QA) is gone
        return (f"After {len(history)} epochs this run is still at chance level (≈ 50%), but its network has not "
                f"collapsed: {gives}. {model} on raw [0, 255] pixels can "
                "take several epochs to leave 50% (on the course data model1 with the default seed 0 sat at 48–50% "
                "for four epochs and reached 54% in the fifth). Give it a few more epochs.")
    return (f"After {len(history)} epochs this run is still at chance level (≈ 50%), though its network has not "
            f"collapsed ({gives}): with this seed {model} is not learning "
            f"on raw [0, 255] pixels. Stop it{stop_how} and try {advice}.")


#: Training minus validation accuracy, in the last epoch, from which the Training page calls a run overfitting
#: (:func:`overfitting_hint`). On the course data model1 ends 20 epochs 30–40 points apart (seed 9: 96 % against
#: 63 %, README).
OVERFITTING_GAP = 0.10
_OVERFITTING_ADVICE = {
    "model1": "model2 adds random flips and rotations (the Augmentation page), so that no epoch shows it quite the "
              "same images; on raw 0–255 pixels it learns slowly, so try model3, which also scales them to −1…1",
    "model2": "model4 starts from MobileNetV2's features, learned on over a million ImageNet photos, and trains only "
              "its small head on these 2,000",
    "model4": "fewer epochs, or the best-validation checkpoint: the model as it was after its best epoch, what "
              "early stopping would have kept, scored below",
}
_OVERFITTING_ADVICE["model3"] = _OVERFITTING_ADVICE["model2"]


def fine_tune_drop_note(history, start: int, *, layers_unfrozen: bool, frozen_on_plain_images: bool) -> str | None:
    """Why training accuracy fell where fine-tuning started, for under the live curves (the drop looked as if
    fine-tuning had broken the model, QA), or ``None`` when it did not fall (first fine-tuning epoch's training
    accuracy not below the last frozen epoch's, or either epoch not logged yet) or neither reason applies.

    Args:
        history: :meth:`catdog.training.Progress.snapshot`'s ``history`` rows (``epoch``, ``accuracy`` in [0, 1],
            ``loss``: named too when it rose).
        start: the first fine-tuning epoch (1-based).
        layers_unfrozen: fine-tuning trains some of MobileNetV2's layers (not so from a layer past the last with
            weights: the note said "the newly unfrozen layers start to change" for a run that trained the head
            only, and whose accuracy rose, QA).
        frozen_on_plain_images: the frozen phase trained on the images as they are (fast mode with 1 view), and
            fine-tuning on augmented ones.
    """
    accuracy = {row.get("epoch"): row.get("accuracy") for row in history}
    before, after = accuracy.get(start - 1), accuracy.get(start)
    if before is None or after is None or after >= before:
        return None
    reasons = []
    if layers_unfrozen:
        reasons.append("the newly unfrozen layers start to change")
    if frozen_on_plain_images:
        reasons.append("in fast mode with 1 view the frozen phase trained on the images as they are, whereas "
                       "fine-tuning trains on augmented ones (the run's random flips and turns), which are "
                       "harder; validation images are never augmented")
    if not reasons:
        return None
    loss = {row.get("epoch"): row.get("loss") for row in history}
    if isinstance(was := loss.get(start - 1), float) and isinstance(now := loss.get(start), float) and now > was:
        # the loss rising with it was left unexplained (QA: 0.37 → 0.68, "why did it nearly double?")
        return (f"Training accuracy drops and the training loss rises where fine-tuning starts ({before:.1%} → "
                f"{after:.1%}, loss {was:.2f} → {now:.2f}): {', and '.join(reasons)}. Both usually recover over the "
                "next epochs.")
    return (f"Training accuracy drops where fine-tuning starts ({before:.1%} → {after:.1%}): "
            f"{', and '.join(reasons)}. It usually climbs back over the next epochs.")


def overfitting_hint(model: str, history) -> str | None:
    """The Training page's note on a run whose training accuracy has pulled away from its validation accuracy,
    or ``None``: the course's lesson on model1 ("strong overfitting"), told while the curves show it.

    Given from the third epoch on when the last epoch's training accuracy is at least :data:`OVERFITTING_GAP`
    above its validation accuracy (not for a run stuck at chance: :func:`chance_hint` speaks for it); says since
    which epoch the validation loss has risen when its lowest point lies 2 or more epochs back.

    Args:
        model: registry name of the run's model.
        history: per-epoch rows with ``epoch``, ``accuracy``, ``val_accuracy`` and ``val_loss``.
    """
    rows = [r for r in history if r.get("accuracy") is not None and r.get("val_accuracy") is not None]
    if len(rows) < 3 or stuck_at_chance(history):
        return None
    last = rows[-1]
    if not last["accuracy"] - last["val_accuracy"] >= OVERFITTING_GAP:
        return None
    text = (f"Overfitting: in epoch {last['epoch']:.0f} the model got {last['accuracy']:.0%} of its training images "
            f"right but only {last['val_accuracy']:.0%} of the validation images, which it never trains on: it is "
            f"learning the training images by heart rather than what tells cats from dogs.")
    losses = [r for r in rows if r.get("val_loss") is not None and math.isfinite(r["val_loss"])]
    if losses and (lowest := min(losses, key=lambda r: r["val_loss"]))["epoch"] <= last["epoch"] - 2:
        text += f" Its validation loss has risen since epoch {lowest['epoch']:.0f}, its lowest."
    if advice := _OVERFITTING_ADVICE.get(model):
        text += f" What helps: {advice}."
    return text


def without_seed(name: str) -> str:
    """A run name without the " (seed N)" that "Stop and train again with seed N" puts at its end."""
    return re.sub(r" \(seed \d+\)$", "", name)


def phase_text(snapshot: dict) -> str:
    """The running job's phase line: ``"training · epoch 21/30 · fine-tuning MobileNetV2 from layer 100; …"``,
    ``"extracting features · batch 3/12 through MobileNetV2"`` (batches of 32 images, each view of an image once;
    "pass" read as a pass over the whole data, QA).

    Args:
        snapshot: :meth:`catdog.training.Progress.snapshot` (``phase``, ``epoch``, ``epochs``, ``message``,
            ``batch``, ``batches``).
    """
    phase = snapshot.get("phase", "")
    if phase == "extracting features":
        text = f"{phase} · batch {snapshot.get('batch', 0)}/{snapshot.get('batches', 0)} through MobileNetV2"
    elif not snapshot.get("epoch"):  # "preparing data · epoch 0/2" (QA)
        text = phase
    else:
        text = f"{phase} · epoch {snapshot.get('epoch', 0)}/{snapshot.get('epochs', 0)}"
    return f"{text} · {snapshot['message']}" if snapshot.get("message") else text


def ended_text(state: str, result: dict | None, error: str | None = None) -> str:
    """How a job ended, for the line of a training that ended while another is shown: ``"done · test 97.0%"``,
    ``"stopped · test 47.0%"``, ``"stopped before its first epoch ended"``, ``"failed: <its message on one
    line>"`` (the page cuts it to its line, :func:`catdog.ui.short_name`).

    Args:
        state: :attr:`catdog.training.TrainingJob.state` (``done``, ``stopped`` or ``failed``).
        result: the final model's test metrics (``accuracy`` in 0–1), or ``None`` when it was not scored.
        error: the failure's message.
    """
    if state == "failed":
        return "failed: " + " ".join((error or "").split())
    if result and result.get("accuracy") is not None:
        return f"{state} · test {result['accuracy']:.1%}"
    return f"{state} before its first epoch ended" if state == "stopped" else state


def stopping_text(snapshot: dict) -> str:
    """What a job told to stop does next, for the lines that name its state: ``"stopping after the current
    batch"`` while it trains or extracts features (Stop takes effect there), else ``"stopping"`` (while the test
    split is scored, say, which goes on to its end).

    Args:
        snapshot: :meth:`catdog.training.Progress.snapshot` (``phase``).
    """
    return ("stopping after the current batch" if snapshot.get("phase") in ("training", "extracting features")
            else "stopping")


def offers_stop(snapshot: dict) -> bool:
    """Whether a job's Stop button is shown: not while it scores the test split, which runs to its end (the run
    ended "done" under "stopping", review).

    Args:
        snapshot: :meth:`catdog.training.Progress.snapshot` (``phase``).
    """
    return snapshot.get("phase") != "testing"


def progress_text(snapshot: dict, now: float | None = None, *, short: bool = False) -> str:
    """The Training page's progress line: :func:`phase_text` and the time left (:func:`eta_seconds`), e.g.
    ``"training · epoch 2/3 · about 31 s left"``, ``"… · about 1 min 5 s left before fine-tuning"``,
    ``"extracting features · batch 14/95 through MobileNetV2 · about 15 s of it left"``.

    Before a pace is known it says what is going on instead of showing nothing: at batch 0 TensorFlow builds the
    step (the start of fine-tuning sat at "batch 0/63" for 10–15 s with no word, QA), then the first batches
    are timed. ``short``: the message only up to its first ";" (the status line beside Train wrapped to three
    lines at 1024 px with "…; each batch as 4 micro-batches (gradient accumulation)", QA).
    """
    if short and snapshot.get("message"):
        snapshot = {**snapshot, "message": snapshot["message"].split(";")[0]}
    text = phase_text(snapshot)
    eta = eta_seconds(snapshot, now)
    extracting = snapshot.get("phase") == "extracting features"
    if eta is not None:
        if extracting:
            return f"{text} · about {format_seconds(eta)} of it left"
        if eta < 0.5 and snapshot.get("batch", 0) >= snapshot.get("batches", 0) > 0:  # "about 0 s left" for 6 s
            return f"{text} · validating…"  # at the end of a fit after its first epoch (QA)
        then = " before fine-tuning" if 0 < snapshot.get("fit_last_epoch", 0) < snapshot.get("epochs", 0) else ""
        return f"{text} · about {format_seconds(eta)} left{then}"
    if snapshot.get("phase") != "training" and not extracting:
        return text
    if not snapshot.get("batch"):
        return f"{text} · preparing (TensorFlow builds the {'model' if extracting else 'training step'})…"
    return f"{text} · timing the first batches…"


def fraction_done(snapshot: dict) -> float:
    """Share of the training done, in [0, 1]: finished epochs plus the current epoch's batches; while features
    are extracted (fast model4), the share of the batches through MobileNetV2 done."""
    epochs = max(snapshot.get("epochs", 0), 1)
    batches = max(snapshot.get("batches", 0), 1)
    if snapshot.get("phase") == "extracting features":
        return min(snapshot.get("batch", 0) / batches, 1.0)
    done = max(snapshot.get("epoch", 0) - 1, 0) + min(snapshot.get("batch", 0) / batches, 1.0)
    return min(done / epochs, 1.0)


def cancelled_text(entries, *, requeue: bool = False) -> str:
    """The Training page's note on trainings a server shutdown cancelled while they waited or stopped while they
    trained (:meth:`catdog.training.TrainingQueue.cancelled_for`), e.g. "When the server stopped (2 Dec 14:02), your
    training “demo” (model1, 20 epochs, seed 42) was stopped: its run is in the runs table, … 2 of your trainings
    were still waiting …: model3 (…), …"; times in the server's local time zone, in order.

    Args:
        entries: the entries of :meth:`catdog.training.TrainingQueue.cancelled_for`.
        requeue: the page offers "Queue again" (:meth:`catdog.training.TrainingQueue.requeue_cancelled`): the
            text says to press it instead of setting the trainings up again.
    """
    from datetime import datetime

    moments = set()
    for entry in entries:
        try:
            moments.add(datetime.fromisoformat(str(entry.get("cancelled"))).astimezone())
        except ValueError:
            pass
    when = "; ".join(dict.fromkeys(f"{m.day} {m:%b %H:%M}" for m in sorted(moments)))  # not one minute twice (QA)

    def one(entry) -> str:
        epochs, model = entry.get("epochs"), entry.get("model")
        config = entry.get("train_config") if isinstance(entry.get("train_config"), dict) else {}
        fine_tuned = bool(config.get("fine_tune_epochs"))  # model4's mode too (recorded since 5 Dec 2026)
        settings = f"{epochs} epoch{'' if epochs == 1 else 's'}, seed {entry.get('seed')}"
        data_config = entry.get("data_config") if isinstance(entry.get("data_config"), dict) else {}
        size = data_config.get("image_size")
        if isinstance(size, list) and len(size) == 2 and tuple(size) != DataConfig.image_size:  # model4 at 224 (QA)
            settings += f", {size[1]}×{size[0]} input"
        if data_config.get("batch_size") not in (None, DataConfig.batch_size):  # the split: the sidebar's, said there
            settings += f", batch size {data_config['batch_size']}"
        if entry.get("name"):
            return f"“{entry['name']}” ({model_text(model, config, fine_tuned=fine_tuned)}, {settings})"
        mode = model_mode(model, config, fine_tuned=fine_tuned)
        return f"{model} ({mode}; {settings})" if mode else f"{model} ({settings})"  # not ") (" (QA)

    stopped = [entry for entry in entries if entry.get("run_id") and not entry.get("unclean")]
    cut_off = [entry for entry in entries if entry.get("run_id") and entry.get("unclean")]
    waiting = [entry for entry in entries if not entry.get("run_id")]
    parts = []
    if stopped:
        many = len(stopped) > 1
        parts.append(f"your training{'s' if many else ''} {'; '.join(map(one, stopped))} {'were' if many else 'was'} "
                     f"stopped: {'their runs, each' if many else 'its run,'} with the curves so far and a test score, "
                     f"{'are' if many else 'is'} in the runs table below.")
    if cut_off:  # a server killed without warning: its training child stops the run itself, if it can
        many = len(cut_off) > 1
        parts.append(f"your training{'s' if many else ''} {'; '.join(map(one, cut_off))} {'were' if many else 'was'} "
                     f"cut off: {'their runs' if many else 'its run'}, with the epochs finished, "
                     f"{'are' if many else 'is'} in the runs table below (its status says how it ended).")
    if waiting:
        many = len(waiting) > 1
        which = (f"{len(waiting)} of your trainings were still waiting in the queue and were cancelled, before any "
                 f"run was made: {'; '.join(map(one, waiting))}." if many else
                 f"your training {one(waiting[0])} was still waiting in the queue and was cancelled, before any run "
                 "was made.")  # not "1 of your trainings was" (QA)
        parts.append(f"{which} " + (f"Press Queue again to queue {'them' if many else 'it'} with the same settings."
                                    if requeue else f"Set {'each' if many else 'it'} up again and press Train."))
    how = " without warning" if any(entry.get("unclean") for entry in entries) else ""  # killed, out of memory
    return f"When the server stopped{how}{f' ({when})' if when else ''}, " + " Also, ".join(parts)


def format_seconds(seconds: float | None) -> str:
    """``75`` → ``"1 min 15 s"``; ``None`` → ``"…"``."""
    if seconds is None:
        return "…"
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"
