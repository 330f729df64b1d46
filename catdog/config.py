"""Configuration objects, one frozen dataclass per concern.

Numbers come from the course material (``../shared/NOTES.md`` beside the repository, not in it): 160×160 images,
batch 32, 20 epochs, Adam with Keras's default learning rate 1e-3.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

#: Class names in label order; label 0 is ``cats``, 1 is ``dogs``
#: (alphabetical, as ``image_dataset_from_directory`` assigns them).
CLASS_NAMES: tuple[str, ...] = ("cats", "dogs")

#: Height, width in pixels the course resizes every image to.
IMAGE_SIZE: tuple[int, int] = (160, 160)

#: Characters a run name keeps (the Training page's name fields, :meth:`catdog.training.RunStore.rename`): a name
#: as long as a sentence, the legends, pickers and tables cut anyway.
RUN_NAME_MAX = 80

#: Environment variables read by catdog.
ENV_DATA_DIR = "CATDOG_DATA_DIR"
ENV_RUNS_DIR = "CATDOG_RUNS_DIR"
ENV_MOBILENET_WEIGHTS = "CATDOG_MOBILENET_WEIGHTS"
ENV_CACHE_DIR = "CATDOG_CACHE_DIR"
#: Teacher mode's password (:mod:`catdog.teacher`); teacher mode is off while it is unset or empty.
ENV_TEACHER_PASSWORD = "CATDOG_TEACHER_PASSWORD"


#: The repository's folder (the one holding ``catdog/``), where runs and the feature cache go by default.
PROJECT_DIR = Path(__file__).resolve().parent.parent


def default_runs_dir() -> Path:
    """Folder that holds training runs: ``$CATDOG_RUNS_DIR``, else ``runs/`` in the repository's folder (not the
    working directory's: ``python -m catdog train`` run from elsewhere wrote runs the dashboard never listed)."""
    return Path(os.environ.get(ENV_RUNS_DIR) or PROJECT_DIR / "runs")


#: Split sizes the Dataset settings accept (images, both ends included): at least one image per class.
SPLIT_SIZES = (2, 100_000)
#: Split seeds the Dataset settings accept (both ends included): what a browser's number field holds exactly.
SPLIT_SEEDS = (0, 2**31 - 1)


def split_settings_problem(validation_size: int | None, test_size: int | None, seed: int | None) -> str | None:
    """What is wrong with the Dataset settings' numbers, or ``None``.

    The sidebar's fields have no range of their own: with one, Streamlit kept a typed 1 or -1 in the field in red
    and the pages went on with the last value in range, so a teacher matching a student's split seed got another
    split without a word (QA). The pages say this message instead and wait for a fix.

    Args:
        validation_size, test_size: images per split (:data:`SPLIT_SIZES`); ``None`` for an emptied field.
        seed: the split seed (:data:`SPLIT_SEEDS`); ``None`` for an emptied field.

    Returns:
        ``"Test images: 1 is not allowed here; choose at least 2, one image per class (Dataset settings,
        sidebar)."`` for the first number out of range. A split size is not said to go up to 100,000: what
        ``validation/`` holds is the real limit, which :func:`catdog.data.make_splits` names (QA: "choose 2 to
        100,000" of a folder with 1,000 images).
    """
    for label, value, (low, high) in (("Validation images", validation_size, SPLIT_SIZES),
                                       ("Test images", test_size, SPLIT_SIZES), ("Split seed", seed, SPLIT_SEEDS)):
        if (value is None or value < low) and (low, high) == SPLIT_SIZES:
            said = "the field is empty; type" if value is None else f"{value:,} is not allowed here; choose"
            return f"{label}: {said} at least {low}, one image per class (Dataset settings, sidebar)."
        if problem := range_problem(label, value, low, high):
            return f"{problem.removesuffix('.')} (Dataset settings, sidebar)."
    return None


def typed_path(text: str) -> str:
    """A path as typed or pasted into a field, made plain: without surrounding blanks and one pair of surrounding
    quotes (Windows' "Copy as path" and Linux file managers quote paths: a quoted path read as a folder named with
    quotes inside the dashboard's folder, QA), and a ``file://`` URL (a browser's address bar, a file manager's
    "Copy") turned into its path (it read as a folder "file:" inside the dashboard's folder, QA L).
    ``"file:///tmp/My%20data"`` → ``"/tmp/My data"``."""
    from urllib.parse import unquote, urlparse

    path = text.strip()
    if len(path) >= 2 and path[0] == path[-1] and path[0] in "'\"":
        path = path[1:-1].strip()
    if path.lower().startswith("file://"):
        path = unquote(urlparse(path).path)
    return path


def range_problem(label: str, value: int | None, low: int, high: int) -> str | None:
    """``"Epochs: 999 is not allowed here; choose 1 to 200."`` when ``value`` is outside ``low`` … ``high`` (both
    included), ``"Epochs: the field is empty; type a whole number from 1 to 200."`` when it is ``None`` (an emptied
    field), else ``None``: the one wording of every number field the pages check themselves
    (:func:`catdog.ui.whole_number`, :func:`split_settings_problem`)."""
    if value is None:
        return f"{label}: the field is empty; type a whole number from {low:,} to {high:,}."
    return None if low <= value <= high else f"{label}: {value:,} is not allowed here; choose {low:,} to {high:,}."


def run_name(text: str) -> str:
    """A run name as kept: ``text`` stripped of blanks and invisible characters at both ends and cut to
    :data:`RUN_NAME_MAX` characters, with none left at the cut (the Training page's name fields,
    :meth:`catdog.training.RunStore.rename`); ``""`` for a name with nothing visible in it. Invisible: Unicode's
    format and control characters (categories Cf, Cc), e.g. a zero-width space, which ``str.strip`` keeps: a name of
    one was kept, and the run's labels read " · model1 · test 50.0%" (QA). Inside a name they stay (an emoji's
    zero-width joiner), and so do the tag characters that end a flag emoji such as Scotland's (QA). The cut never
    splits a character sequence drawn as one sign (an emoji with its joiners, skin tone or flag, a letter with its
    accents, :func:`_cut`): such a sequence across the cut is left out whole."""
    name = _strip_invisible(_cut(_strip_invisible(text), RUN_NAME_MAX))
    return name if any(not _invisible(c) and not _is_tag(c) for c in name) else ""


def _cut(text: str, limit: int) -> str:
    """``text[:limit]``, shortened further so that the cut falls between two user-perceived characters (Unicode's
    extended grapheme clusters, UAX #29, for the cases a name meets): not before a combining mark, a variation
    selector, a skin-tone modifier, a tag character or a zero-width joiner, nor after a joiner, nor between the two
    regional indicators of a flag. Before, a cut family emoji 👨‍👩‍👧 left "👨‍👩‍" with a dangling joiner (QA)."""
    import unicodedata

    def extends(char: str) -> bool:  # drawn as part of the character before it
        return (unicodedata.category(char) in ("Mn", "Me", "Mc") or char == "\u200d" or _is_tag(char)
                or 0xFE00 <= ord(char) <= 0xFE0F or 0x1F3FB <= ord(char) <= 0x1F3FF)

    def regional(char: str) -> bool:  # half of a flag such as 🇫🇷
        return 0x1F1E6 <= ord(char) <= 0x1F1FF

    cut = min(limit, len(text))
    while 0 < cut < len(text) and (extends(text[cut]) or text[cut - 1] == "\u200d"):
        cut -= 1
    if 0 < cut < len(text) and regional(text[cut]):
        run = 0  # regional indicators right before the cut: an odd run means the cut splits a pair
        while run < cut and regional(text[cut - 1 - run]):
            run += 1
        cut -= run % 2
    return text[:cut]


def _is_tag(char: str) -> bool:
    """A Unicode tag character (U+E0000–U+E007F): what spells out a subdivision flag after 🏴 (category Cf)."""
    return 0xE0000 <= ord(char) <= 0xE007F


def _invisible(char: str) -> bool:
    import unicodedata

    return char.isspace() or unicodedata.category(char) in ("Cf", "Cc")


def _strip_invisible(text: str) -> str:
    start, end = 0, len(text)
    while start < end and _invisible(text[start]):
        start += 1
    while end > start and _invisible(text[end - 1]) and not _is_tag(text[end - 1]):
        end -= 1
    return text[start:end]


@dataclass(frozen=True)
class DataConfig:
    """Where the data is and how it is split and batched.

    Attributes:
        data_dir: dataset root holding ``train/`` and ``validation/``; ``None``
            means locate it (see :func:`catdog.data.locate_dataset`).
        image_size: (height, width) in pixels images are resized to.
        batch_size: images per batch.
        validation_size: images of ``validation/`` kept for validation.
        test_size: images of ``validation/`` held out as the test split: 200, about what the course holds out
            (1/5 of the validation batches, 6 × 32 = 192 images, drawn anew on every pass).
        seed: seed of the one-time stratified validation/test split.

    The sidebar's :func:`catdog.ui.data_config` gives ``None`` for a split size or seed whose field is empty; the
    pages then say so (:func:`split_settings_problem`) and go no further with it.
    """

    data_dir: str | None = None
    image_size: tuple[int, int] = IMAGE_SIZE
    batch_size: int = 32
    validation_size: int = 800
    test_size: int = 200
    seed: int = 42

    def to_dict(self) -> dict:
        """JSON-ready copy of the fields."""
        return asdict(self)


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run.

    Attributes:
        model: registry name, ``model1`` … ``model4``.
        epochs: passes over the training split (course: 20).
        learning_rate: Adam step size (Keras default 1e-3).
        seed: seeds Python, NumPy and TensorFlow (``keras.utils.set_random_seed``)
            so a run repeats on the same machine.  Default 0, the first seed: until
            3 Dec 2026 it was 42, with which model1 and model2 collapse in their first
            epoch on the course data (every image gets the same answer; QA: "a
            teacher's first demo with default settings fails").  With seed 0 none
            collapses, and the 20-epoch test accuracies (README) are model1 54.5 %,
            model2 51.0 %, model3 73.0 %, fast model4 at 224×224 97.0 % (the same as
            with 42), fine-tuned at 224×224 (10 epochs, after the BatchNormalization
            fix of 3 Dec) 96.5 % (seed 42: 97.5 %) — measured after the choice, not
            used to make it.
        flip_mode: ``RandomFlip`` mode for model2–4.
        rotation_factor: ``RandomRotation`` factor for model2–4, a fraction of
            a full turn (0.2 → ±72°).
        fill_mode: ``RandomRotation`` fill mode.
        weights: MobileNetV2 weights for model4: ``"imagenet"`` (Keras's
            download), a path to a local ``.h5`` weights file, or ``""`` for the
            default: ``$CATDOG_MOBILENET_WEIGHTS`` if set, else the download
            (:func:`catdog.models.resolve_mobilenet_weights`).
        name: optional human name for the run.
        fast: model4 only: train the head on cached MobileNetV2 features
            (see :mod:`catdog.features`) instead of running the frozen base on
            every image in every epoch.
        views: fast mode: views of each training image whose features are
            cached: view 0 is the image itself, views 1 … K-1 are augmented
            (1 = no augmentation).  Each view costs one more pass of MobileNetV2
            over the training split (≈ 10–25 s at 160×160, ≈ 20–45 s at 224 on 2 CPU cores); on the course
            data extra views did not raise validation accuracy at 160 and raised it a little at 224 (README), so
            the default is 1.
        fine_tune_epochs: model4 only: extra epochs with the top of MobileNetV2
            unfrozen (0 = no fine-tuning).
        fine_tune_at: first MobileNetV2 layer index unfrozen for fine-tuning
            (the TensorFlow transfer-learning tutorial uses 100).
        fine_tune_lr_factor: learning rate during fine-tuning as a fraction of
            ``learning_rate`` (tutorial: 1/10).
        fine_tune_accumulation_steps: during fine-tuning each batch runs as this
            many micro-batches (32 → 4 × 8) and Adam updates once per batch from
            their mean gradient (Keras's ``gradient_accumulation_steps``): the same
            updates as whole batches (the base's BatchNormalization layers stay
            frozen, so they run in inference mode: :func:`catdog.models.unfreeze_base`),
            with less memory; validation and testing then run in
            micro-batches too (same scores).  1 = whole batches; 0 = automatic
            (:func:`fine_tune_accumulation`): 4 above 160×160, else 1.
    """

    model: str = "model1"
    epochs: int = 20
    learning_rate: float = 1e-3
    seed: int = 0
    flip_mode: str = "horizontal"
    rotation_factor: float = 0.2
    fill_mode: str = "reflect"
    weights: str = ""
    name: str = ""
    fast: bool = False
    views: int = 1
    fine_tune_epochs: int = 0
    fine_tune_at: int = 100
    fine_tune_lr_factor: float = 0.1
    fine_tune_accumulation_steps: int = 0

    def to_dict(self) -> dict:
        """JSON-ready copy of the fields."""
        return asdict(self)


def fine_tune_accumulation(steps: int, image_size: tuple[int, int]) -> int:
    """The gradient accumulation steps fine-tuning uses: ``steps``, or for 0 the automatic choice.

    Automatic: 4 micro-batches per batch when the input is larger than 160×160, else whole
    batches.  Measured on 2 CPU cores with batch 32, 10 fine-tuning epochs
    (``bench/course_results.py``, 2 Dec 2026): at 224×224 whole batches peaked at 2.65 and
    2.68 GB RSS (training seeds 42 and 1), over the 2.5 GB target, and 4 micro-batches at 2.33
    and 2.30 GB, up to 10 % slower (seed 1: 545 vs 494 s in all) at about equal accuracy
    (seed 1: 98.4 vs 98.7 % on all 1,000 ``validation/`` images); at 160×160 whole batches
    peaked at only 1.83 GB, and 4 micro-batches of 8 were slower (321 vs 275 s) and scored
    lower with both seeds tried (95.5 vs 97.4 %, 96.3 vs 98.0 %).  All of these predate the
    BatchNormalization fix of 3 Dec 2026 (until then each micro-batch was normalized by its own
    statistics, so micro-batches were not the same updates); after it, 4 micro-batches at 224×224
    peak at 2.14–2.17 GB and whole batches at 160×160 at 1.66–1.68 GB.

    Args:
        steps: ``TrainConfig.fine_tune_accumulation_steps`` (≥ 0).
        image_size: model input ``(height, width)`` in pixels.

    Returns:
        Micro-batches per batch, ≥ 1 for ``steps`` ≥ 0 (a negative ``steps`` is returned as is,
        for :func:`catdog.data.check_accumulation_steps` to refuse).
    """
    if steps != 0:
        return steps
    return 4 if max(image_size) > 160 else 1


#: The file in the runs folder that keeps each browser's dataset settings across server restarts
#: (:func:`read_browser_settings`); a dot file, so the run store does not list it.
SETTINGS_FILE = ".settings.json"
#: Browsers whose settings that file keeps: those that changed a setting last (a class of 30 and its teacher, with
#: room to spare); an older browser gets the defaults again.
SETTINGS_KEEP = 100
#: The dataset settings kept, with the types a value may have (``None``: an emptied number field).
BROWSER_SETTINGS = {"data_dir": (str,), "validation_size": (int, type(None)), "test_size": (int, type(None)),
                    "split_seed": (int, type(None))}


def read_browser_settings(path: str | os.PathLike) -> dict[str, dict[str, tuple]]:
    """The dataset settings kept in ``path`` (:data:`SETTINGS_FILE`): ``{browser id: {setting: (value, when)}}``,
    ``when`` in nanoseconds since the epoch (``time.time_ns()``).

    A missing or unreadable file, and entries of the wrong shape or type (:data:`BROWSER_SETTINGS`; ``True`` is no
    number here), give nothing: the pages then start from the defaults, as before the file existed.
    """
    try:
        kept = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    settings: dict[str, dict[str, tuple]] = {}
    for owner, values in (kept.items() if isinstance(kept, dict) else ()):
        if not isinstance(values, dict):
            continue
        good = {key: (pair[0], pair[1]) for key, pair in values.items()
                if key in BROWSER_SETTINGS and isinstance(pair, list) and len(pair) == 2
                and isinstance(pair[0], BROWSER_SETTINGS[key]) and not isinstance(pair[0], bool)
                and isinstance(pair[1], int) and not isinstance(pair[1], bool)}
        if good:
            settings[str(owner)] = good
    return settings


def write_browser_settings(path: str | os.PathLike, settings: dict[str, dict[str, tuple]]) -> None:
    """Keep ``settings`` (:func:`read_browser_settings`' shape) in ``path`` atomically, those of the
    :data:`SETTINGS_KEEP` browsers that changed one last; a failure to write (a read-only runs folder, a full disk)
    is ignored: the settings then last as long as the server."""
    from catdog.atomic import write_atomic

    newest = sorted(settings.items(), key=lambda item: max(when for _, when in item[1].values()), reverse=True)
    kept = {owner: {key: list(pair) for key, pair in values.items()} for owner, values in newest[:SETTINGS_KEEP]}
    with contextlib.suppress(OSError, ValueError, TypeError):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, lambda handle: json.dump(kept, handle, indent=1))
