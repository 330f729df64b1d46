"""Locate, validate, split, count and load the cats-vs-dogs dataset.

The dataset is Google's ``cats_and_dogs_filtered.zip`` (68,606,236 bytes): a
3,000-image subset of Kaggle's "Dogs vs. Cats" (Microsoft Asirra), laid out as
``cats_and_dogs_filtered/{train,validation}/{cats,dogs}/*.jpg`` with 1,000 + 1,000
training and 500 + 500 validation images.

Splits: ``train/`` is the training split.  ``validation/`` is split *once* —
seeded, stratified by class and disjoint — into a validation split and a held-out
test split.  The course instead takes the first 1/5 of the batches of a dataset
that reshuffles on every iteration, so its test and validation images overlap and
change from epoch to epoch.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import itertools
import os
import platform
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from catdog.config import CLASS_NAMES, ENV_DATA_DIR, IMAGE_SIZE, SPLIT_SIZES, typed_path
from catdog.errors import CatdogError
from catdog.images import unreadable_reason

#: The official download of the course's dataset.
DATASET_URL = "https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip"
#: The folder the zip extracts to, and the name :func:`download_dataset` gives ``keras.utils.get_file``.
DATASET_NAME = "cats_and_dogs_filtered"

#: Sub-folders a dataset root must hold.
SPLIT_DIRS = ("train", "validation")

#: File name endings read as images (lower case).
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"})

#: The names of the three splits, in display order.
SPLITS = ("train", "validation", "test")


# --------------------------------------------------------------------------- locate


def keras_home() -> Path:
    """Keras's cache folder: ``$KERAS_HOME`` or ``~/.keras`` (as ``get_file`` uses)."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")


def keras_cache_candidates() -> list[Path]:
    """Places where an earlier ``keras.utils.get_file`` may have left the dataset.

    Keras 3 extracts ``NAME.zip`` into ``datasets/NAME_extracted/``; Keras 2 and the
    course's ``extract=True`` extracted straight into ``datasets/``.
    """
    datasets = keras_home() / "datasets"
    return [
        datasets / f"{DATASET_NAME}_extracted" / DATASET_NAME,
        datasets / DATASET_NAME,
    ]


def download_dataset() -> Path:
    """Download and extract the official zip through ``keras.utils.get_file``.

    Returns:
        The extracted dataset root (holding ``train/`` and ``validation/``).

    Raises:
        CatdogError: the download failed (typically: no network).
    """
    import keras

    try:
        extracted = Path(
            keras.utils.get_file(f"{DATASET_NAME}.zip", origin=DATASET_URL, extract=True)
        )
    except Exception as err:  # urllib raises several types; all mean "no download".
        raise CatdogError(
            f"Could not download the dataset from {DATASET_URL} ({err}). "
            "If this computer is offline, copy the unzipped 'cats_and_dogs_filtered' folder "
            f"here and enter its path in the sidebar, or set the environment variable {ENV_DATA_DIR}."
        ) from err
    for candidate in (extracted / DATASET_NAME, extracted):
        if (candidate / "train").is_dir():
            return candidate
    raise CatdogError(f"The downloaded archive at {extracted} holds no '{DATASET_NAME}/train' folder.")


def _folder_path(text: str) -> Path:
    """The absolute path of a typed folder (``~`` expanded).

    Raises:
        CatdogError: the path cannot be made one: "~Desktop/…" (a slip for "~/Desktop/…") names a user who does not
            exist, a part longer than the system allows (255 bytes) cannot even be looked up, nor a path holding
            a NUL character (pasted from a terminal or a document; ``ValueError``); each gave a traceback on every
            page (QA).
    """
    try:
        return Path(text).expanduser().resolve()
    except (RuntimeError, OSError, ValueError) as err:
        raise _unusable_folder(text, err) from err


def _unusable_folder(text: str, err: Exception) -> CatdogError:
    """The error for a data folder path ``text`` that cannot even be looked up (``err``: the lookup's error)."""
    if isinstance(err, RuntimeError) and text.startswith("~"):
        user = text[1:].split("/", 1)[0]
        why = f"there is no user '{user}' for ~{user} to stand for (did you mean ~/{text[1:]}?)"
    elif isinstance(err, OSError) and err.errno == errno.ENAMETOOLONG:
        why = "a part of it is longer than the 255 bytes a file or folder name may have"
    elif "\x00" in text:
        why = "it holds a NUL character (\\x00), which no file or folder name may hold; type the path again"
    else:
        why = str(getattr(err, "strerror", None) or err)
    shown = text.replace("\x00", "\\x00")  # visible
    return CatdogError(f"The data folder '{shown}' cannot be used: {why}.")


def dataset_stamp(data_dir: str | None) -> tuple:
    """What changes when images are added to, removed from or renamed in the dataset folder ``data_dir`` (else
    ``$CATDOG_DATA_DIR``, else the Keras cache's copies): ``(path, st_mtime_ns)`` of the folder, its ``train/``
    and ``validation/`` and their class folders, whose modification times change with every file added, removed
    or renamed in them. The pages key their cached scan of the folder by it: the scan was kept until the server
    restarted, and a file removed since gave a traceback (``NotFoundError``), a file added was never seen (QA).
    A file changed in place, under the same name, changes nothing here. Never raises: a folder that cannot be
    looked up counts as ``None``. About 10 ``stat`` calls for the course's folder."""
    text = typed_path(str(data_dir or os.environ.get(ENV_DATA_DIR) or ""))
    if "\x00" in text:  # no path can hold it (os functions raise ValueError): said by locate_dataset
        return ()
    try:
        roots = [Path(text).expanduser()] if text else keras_cache_candidates()
    except RuntimeError:  # "~nobody": said by locate_dataset
        return ()
    stamp = []
    for root in roots:
        folders = [root, *(root / split for split in SPLIT_DIRS)]
        for split in SPLIT_DIRS:
            with contextlib.suppress(OSError):
                folders += sorted(p for p in (root / split).iterdir() if p.is_dir())
        for folder in folders:
            try:
                stamp.append((str(folder), folder.stat().st_mtime_ns))
            except OSError:
                stamp.append((str(folder), None))
    return tuple(stamp)


def locate_dataset(
    data_dir: str | os.PathLike | None = None,
    *,
    download: bool = True,
    on_download: Callable[[], None] | None = None,
) -> Path:
    """Find the dataset root, in this order of precedence.

    1. ``data_dir`` (given in the UI or on the command line);
    2. the environment variable ``CATDOG_DATA_DIR``;
    3. a copy already in the Keras cache (:func:`keras_cache_candidates`);
    4. the official download (:func:`download_dataset`) when ``download`` is true.

    A folder given (steps 1, 2) or downloaded is validated (:func:`scan_dataset`) before it is returned; a copy in
    the Keras cache is only checked for ``train/`` and ``validation/`` (the later scan of the pages reads it).

    Args:
        data_dir: explicit dataset root; empty string counts as not given.
        download: whether step 4 may run.
        on_download: called just before a download starts (for a progress note).

    Returns:
        Absolute path of the dataset root.

    Raises:
        CatdogError: the given folder is unusable, or nothing was found and the
            download is off or failed.
        OSError: a folder inside the dataset root cannot be listed (:func:`scan_dataset`).
    """
    for explicit in (data_dir, os.environ.get(ENV_DATA_DIR)):
        if explicit is not None and (text := typed_path(str(explicit))):
            if os.name != "nt" and re.match(r"[A-Za-z]:[\\/]", text):  # read as a folder "C:\…" here (QA L)
                raise CatdogError(f"The data folder '{text}' is a Windows path, and the dashboard runs on "
                                  f"{platform.system()}: give the folder's path on that computer, such as "
                                  "/home/you/cats_and_dogs_filtered.")
            root = _folder_path(text)
            scan_dataset(root)
            return root
    for candidate in keras_cache_candidates():
        if (candidate / "train").is_dir() and (candidate / "validation").is_dir():
            return candidate.resolve()
    if not download:
        raise CatdogError(
            "No dataset folder given and none found in the Keras cache "
            f"({keras_home() / 'datasets'}). Enter the path of a 'cats_and_dogs_filtered' "
            f"folder, set {ENV_DATA_DIR}, or allow the download."
        )
    if on_download is not None:
        on_download()
    root = download_dataset()
    scan_dataset(root)
    return root.resolve()


# --------------------------------------------------------------------------- validate


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset folder holds, as found by :func:`scan_dataset`.

    Attributes:
        root: the dataset root.
        class_names: class folder names in label order (sorted).
        files: ``files[split_dir][class_name]`` → sorted image paths, for
            ``split_dir`` in ``train``/``validation``.
        ignored: what is skipped as not an image, as ``(path relative to root, reason)`` pairs (a folder's path
            ends in ``/``): files in a class folder not named as an image, sub-folders of a class folder, and
            files outside the class folders (e.g. ``vectorize.py``).
        empty_classes: ``"split/class"`` folders that hold no image.
    """

    root: Path
    class_names: tuple[str, ...]
    files: dict[str, dict[str, list[Path]]]
    ignored: tuple[tuple[str, str], ...] = ()
    empty_classes: tuple[str, ...] = ()

    def count(self, split_dir: str, class_name: str) -> int:
        """Number of image files in ``split_dir/class_name``.

        Raises:
            KeyError: ``split_dir`` is not ``train``/``validation`` or ``class_name`` not one of :attr:`class_names`.
        """
        return len(self.files[split_dir][class_name])


def _fix_classes(classes: dict[str, list[str]]) -> str:
    """What to do about class folders that differ between ``train/`` and ``validation/`` (``{split: names}``)."""
    steps = []
    for have, lack in (("train", "validation"), ("validation", "train")):
        if extra := sorted(set(classes[have]) - set(classes[lack])):
            steps.append(f"add {' and '.join(extra)} to {lack}/ (with images), or take "
                         f"{'it' if len(extra) == 1 else 'them'} out of {have}/")
    return f"To fix it, {'; and '.join(steps)}." if steps else ""


def _near_name(path: Path) -> str:
    """`` Did you mean '…'?`` naming the folder beside ``path`` whose name is closest to its mistyped one
    ("cats_and_dogs_filterd" → "cats_and_dogs_filtered": the message only said it did not exist, QA), by
    ``difflib.get_close_matches`` (ratio ≥ 0.8); ``""`` when there is none, or the folder above cannot be listed."""
    import difflib

    try:
        names = [p.name for p in path.parent.iterdir() if p.is_dir()] if path.parent.is_dir() else []
    except OSError:
        return ""
    close = difflib.get_close_matches(path.name, names, n=1, cutoff=0.8)
    return f" Did you mean '{path.parent / close[0]}'?" if close else ""


def scan_dataset(root: str | os.PathLike) -> DatasetInfo:
    """Check that ``root`` is a usable dataset folder and list its images.

    A usable folder holds ``train/`` and ``validation/``, each with the same two class
    sub-folders (the models have two outputs), and at least one image per class in ``train/``.
    Nothing is created or changed in ``root``.

    Args:
        root: the dataset root to check.

    Returns:
        A :class:`DatasetInfo` of ``root``; images are recognised by name (:data:`IMAGE_EXTENSIONS`), not decoded.

    Raises:
        CatdogError: with what exactly is wrong (missing path, a file, no
            ``train/`` or ``validation/``, class folders that differ, not exactly two
            class folders, no images in a ``train/`` class folder).
        OSError: a folder inside ``root`` cannot be listed (no permission).
    """
    root = Path(root)
    try:
        exists = root.exists()
    except OSError as err:  # a name too long (QA: a traceback on every page)
        raise _unusable_folder(str(root), err) from err
    if not exists:
        raise CatdogError(f"The data folder '{root}' does not exist.{_near_name(root)}")
    if not root.is_dir():
        raise CatdogError(f"'{root}' is a file, not a folder. Give the folder that holds train/ and validation/.")
    missing = [name for name in SPLIT_DIRS if not (root / name).is_dir()]
    if missing:
        # one level too high (the folder that holds cats_and_dogs_filtered, or a teacher's own "pets/": QA L), or
        # too low: train/ itself or one of its class folders, the likeliest slips at the start of a lesson (QA)
        below = []
        with contextlib.suppress(OSError):
            below = sorted(p for p in itertools.islice(root.iterdir(), 200) if p.is_dir())  # not a whole disk
        near = [c for c in (root / DATASET_NAME, *below, root.parent, root.parent.parent)
                if c != root and all((c / name).is_dir() for name in SPLIT_DIRS)]
        hint = f" Did you mean '{near[0]}'?" if near else ""
        raise CatdogError(
            f"The data folder '{root}' has no {' and no '.join(m + '/' for m in missing)} sub-folder. "
            f"It must hold train/ and validation/, each with one sub-folder per class.{hint}"
        )
    classes: dict[str, list[str]] = {
        split: sorted(p.name for p in (root / split).iterdir() if p.is_dir() and not p.name.startswith("."))
        for split in SPLIT_DIRS
    }
    if classes["train"] != classes["validation"]:
        raise CatdogError(
            f"train/ has the class folders {', '.join(classes['train'])} but validation/ has "
            f"{', '.join(classes['validation']) or 'none'}; "
            "they must be the same: a model is scored on the classes it was trained on. " + _fix_classes(classes)
        )
    class_names = tuple(classes["train"])
    if len(class_names) != len(CLASS_NAMES):
        raise CatdogError(
            f"train/ in '{root}' must hold exactly two class folders (such as cats/ and dogs/): every catdog model "
            f"gives two outputs, one per class (its last layer is Dense(2), as in the course). Found "
            f"{len(class_names)}: {', '.join(class_names)}. "
            + ("Add a second class folder, with its images, to train/ and validation/." if len(class_names) < 2 else
               "Keep two of them in train/ and validation/: move the others out of the dataset folder.")
        )
    files: dict[str, dict[str, list[Path]]] = {}
    ignored: list[tuple[str, str]] = []
    empty: list[str] = []
    for split in SPLIT_DIRS:
        files[split] = {}
        for name in class_names:
            images = []
            for path in sorted((root / split / name).iterdir()):
                if path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS:
                    images.append(path)
                elif path.is_dir() and not path.name.startswith("."):
                    ignored.append((f"{path.relative_to(root).as_posix()}/",
                                    "a folder: only images directly in a class folder are read"))
                elif not path.name.startswith("."):  # a link to nothing read as "not an image file" (QA L)
                    ignored.append((path.relative_to(root).as_posix(),
                                    "a link to a file that is not there" if path.is_symlink() and not path.exists()
                                    else "not an image file"))
            files[split][name] = images
            if not images:
                empty.append(f"{split}/{name}")
    for path in [*sorted(root.iterdir()), *(p for split in SPLIT_DIRS for p in sorted((root / split).iterdir()))]:
        if path.is_file() and not path.name.startswith("."):
            ignored.append((path.relative_to(root).as_posix(), "not in a class folder"))
    if empty_train := [e for e in empty if e.startswith("train/")]:
        raise CatdogError(
            f"Every class needs training images, but {' and '.join(empty_train)} in '{root}' "
            f"{'is' if len(empty_train) == 1 else 'are'} empty."
        )
    return DatasetInfo(root, class_names, files, tuple(ignored), tuple(empty))


#: PIL's names of the formats ``tf.io.decode_image`` reads (its error: "One of JPEG, JPEG XL, PNG, GIF, BMP, WebP
#: required"; MPO is a JPEG with extra pictures, as some cameras write; DIB is a BMP without its file header).
TF_DECODABLE_FORMATS = ("JPEG", "MPO", "PNG", "GIF", "BMP", "DIB", "WEBP")


#: BMPs that PIL reads but TensorFlow's decoder does not (PIL mode → what it is): a 1-bit one fails ("Number of
#: channels inherent in the image must be 1, 3 or 4, was 0": a traceback on the Data page, QA), and of a 256-colour
#: one TensorFlow reads the palette numbers as grey levels (measured: mean pixel 116 against 130 through PIL).
_TF_MISREAD_BMP_MODES = {"1": "black-and-white (1-bit)", "P": "256-colour (palette)"}


#: The EXIF tag (0x0112, "Orientation"; EXIF 2.3, section 4.6.4) by which cameras and phones store a photo as
#: taken and say how to turn or mirror it for display; 1 means "as stored".
EXIF_ORIENTATION = 0x0112


#: PIL modes with an alpha channel; a palette (``P``) or grey/RGB image can be transparent too, through a
#: ``transparency`` entry (PNG's tRNS chunk, GIF's transparent colour).
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


@dataclass(frozen=True)
class ImageCheck:
    """What :func:`check_images` found.

    Attributes:
        unreadable: ``(path, reason)`` of the files PIL cannot decode or TensorFlow's decoder would refuse, the
            reason in the words an upload of the file gets (:func:`catdog.images.unreadable_reason`).
        turned: paths (strings) of the readable images whose EXIF orientation asks a viewer to turn or mirror them
            (values 2–8).
        transparent: paths (strings) of the readable images with at least one pixel less than fully opaque.
    """

    unreadable: list[tuple[Path, str]]
    turned: list[str]
    transparent: list[str]


def check_images(paths: Sequence[str | os.PathLike]) -> ImageCheck:
    """Open each file of ``paths`` once and find what training cannot read, or reads otherwise than a viewer.

    Each file is decoded in full (``Image.load``), so truncated JPEGs are caught too; JPEGs are decoded at 1/8
    scale (``Image.draft``), which still reads every byte of the file.  A file PIL reads in a format outside
    :data:`TF_DECODABLE_FORMATS` (a TIFF named ``.jpg``), or a BMP TensorFlow misreads (:data:`_TF_MISREAD_BMP_MODES`),
    is unreadable too: training and previews decode with TensorFlow.

    Training and the previews decode with TensorFlow, as ``keras.utils.image_dataset_from_directory`` does: it
    reads the pixels as stored, ignoring the EXIF orientation, and drops the alpha channel, keeping the colours
    stored under transparent pixels; PIL and the Classifier's uploads (:func:`catdog.images.decode_image`) turn
    photos upright and put transparent parts on white.  Such images are listed in :attr:`ImageCheck.turned` and
    :attr:`ImageCheck.transparent`.  The course's 3,000 JPEGs have neither.

    Returns:
        An :class:`ImageCheck`, each list in the order of ``paths``.  Raises nothing for a bad file: one that
        cannot even be opened (``OSError``) is listed as unreadable with its reason too.
    """
    from PIL import Image

    bad, turned, transparent = [], [], []
    for path in paths:
        try:
            with Image.open(path) as image:
                if image.format not in TF_DECODABLE_FORMATS:
                    bad.append((Path(path), f"a {image.format} image under an image name; TensorFlow reads only "
                                            "JPEG, PNG, GIF, BMP and WebP"))
                    continue
                if image.format in ("BMP", "DIB") and image.mode in _TF_MISREAD_BMP_MODES:
                    bad.append((Path(path), f"a {_TF_MISREAD_BMP_MODES[image.mode]} BMP, which TensorFlow "
                                            "cannot decode in colour; save it as JPEG or PNG"))
                    continue
                orientation = image.getexif().get(EXIF_ORIENTATION, 1)
                image.draft("RGB", (max(image.width // 8, 1), max(image.height // 8, 1)))
                image.load()
                see_through = (image.mode in _ALPHA_MODES or "transparency" in image.info) and \
                    image.convert("RGBA").getchannel("A").getextrema()[0] < 255
        except Exception as err:  # PIL raises many types for broken files.
            try:
                with open(path, "rb") as file:
                    bad.append((Path(path), unreadable_reason(file.read(512), err)))
            except OSError as read_err:  # no permission, say
                bad.append((Path(path), f"the file cannot be read ({read_err.strerror or read_err})"))
            continue
        if orientation in range(2, 9):  # 9, 65535: broken, ignored by PIL
            turned.append(str(path))
        if see_through:
            transparent.append(str(path))
    return ImageCheck(bad, turned, transparent)


# --------------------------------------------------------------------------- split


@dataclass(frozen=True)
class Splits:
    """The three splits as ``(path, label)`` pairs; label indexes ``class_names``.

    Attributes:
        class_names: class names in label order.
        train: every readable image of ``train/`` (those in :attr:`skipped` left out).
        validation: the part of ``validation/`` used during training.
        test: the held-out part of ``validation/``, disjoint from ``validation``.
        seed: seed the validation/test split was drawn with.
        skipped: unreadable files left out of all splits, with the reason.
        ignored: files of the dataset folder that are not images, with the reason
            (:attr:`DatasetInfo.ignored`).
        empty_classes: ``"split/class"`` folders without images (:attr:`DatasetInfo.empty_classes`).
        unused: readable images of ``validation/`` in neither split, when the split sizes asked for add up to
            fewer than it holds (0 with the course's 800 + 200).
        turned: readable images of the folder whose EXIF orientation training ignores (:func:`check_images`);
            filled in by :func:`catdog.training.prepare_splits`.
        transparent: readable images of the folder with transparent pixels, whose alpha channel training ignores
            (:func:`check_images`); filled in by :func:`catdog.training.prepare_splits`.
    """

    class_names: tuple[str, ...]
    train: tuple[tuple[str, int], ...]
    validation: tuple[tuple[str, int], ...]
    test: tuple[tuple[str, int], ...]
    seed: int
    skipped: tuple[tuple[str, str], ...] = field(default=())
    ignored: tuple[tuple[str, str], ...] = ()
    empty_classes: tuple[str, ...] = ()
    unused: int = 0
    turned: tuple[str, ...] = ()
    transparent: tuple[str, ...] = ()

    def split(self, name: str) -> tuple[tuple[str, int], ...]:
        """The split called ``name`` (``train``, ``validation`` or ``test``).

        Raises:
            ValueError: ``name`` is not one of :data:`SPLITS`.
        """
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; expected one of {SPLITS}")
        return getattr(self, name)

    @property
    def validation_folder(self) -> tuple[tuple[str, int], ...]:
        """The images of ``validation/`` in the validation and test splits together (all of them unless the split
        sizes leave some :attr:`unused`), sorted by path."""
        return tuple(sorted(self.validation + self.test))

    def counts(self) -> dict[str, dict[str, int]]:
        """Images per split and class: ``{split: {class_name: n}}``."""
        result = {}
        for name in SPLITS:
            labels = np.array([label for _, label in self.split(name)], dtype=int)
            result[name] = {c: int((labels == i).sum()) for i, c in enumerate(self.class_names)}
        return result


@functools.lru_cache(maxsize=4)
def _sizes(splits: Splits) -> dict[int, list[str]]:
    """``{file size in bytes: paths}`` of the images of ``train/`` and ``validation/`` in ``splits`` (one ``stat``
    a file: about 10 ms for the course's 3,000)."""
    sizes: dict[int, list[str]] = {}
    for path, _ in (*splits.train, *splits.validation_folder):
        with contextlib.suppress(OSError):  # gone since the folder was read: not a copy of anything
            sizes.setdefault(os.path.getsize(path), []).append(path)
    return sizes


def find_copies(contents: Sequence[bytes], splits: Splits) -> list[str | None]:
    """For each uploaded file, the dataset image that is the very same file (byte for byte), else ``None``: a
    student uploading ``train/cats/cat.5.jpg`` to "test" the model was shown its confident verdict on a picture it
    had learned from, without a word (QA).

    Files are compared by size first, then byte for byte with the few images of that size; the sizes are read once
    per ``splits`` (:func:`_sizes`). A copy saved again (re-encoded, resized) is not found.

    Args:
        contents: the files' bytes.
        splits: the dataset's splits; the images of ``train/`` and ``validation/`` in them are searched.

    Returns:
        One path (as in ``splits``) or ``None`` per file, in order.
    """
    sizes = _sizes(splits)
    found = []
    for content in contents:
        match = None
        for path in sizes.get(len(content), ()):
            with contextlib.suppress(OSError):
                if Path(path).read_bytes() == content:
                    match = path
                    break
        found.append(match)
    return found


def split_of(path: str, splits: Splits) -> str | None:
    """The split of ``splits`` that holds the dataset image ``path`` (as :func:`find_copies` returns it):
    ``"train"``, ``"validation"`` or ``"test"``; ``None`` for an image in none of them (left out by the split
    sizes, or unreadable)."""
    for name in SPLITS:
        if any(item == path for item, _ in getattr(splits, name)):
            return name
    return None


def _stratified_take(n_take: int, per_class: dict[str, int]) -> dict[str, int]:
    """Share ``n_take`` among classes in proportion to their sizes (largest remainder)."""
    total = sum(per_class.values())
    if not total:
        return {c: 0 for c in per_class}
    exact = {c: n_take * n / total for c, n in per_class.items()}
    take = {c: int(np.floor(v)) for c, v in exact.items()}
    for c in sorted(exact, key=lambda c: exact[c] - take[c], reverse=True)[: n_take - sum(take.values())]:
        take[c] += 1
    return take


def _too_few_message(info: DatasetInfo, skip, available: int, validation_size: int, test_size: int) -> str:
    """:func:`make_splits`'s error when ``validation/`` cannot fill the splits: how many readable images it holds,
    how many of its files cannot be read and why (one example), and what to do. A folder of text files named .jpg
    was "0 readable images: … Lower those sizes" with the sizes at their minimum of 2, and nothing said why (QA)."""
    files = {str(p) for c in info.class_names for p in info.files["validation"][c]}
    unreadable = [(Path(p), why) for p, why in skip if str(p) in files]
    text = f"validation/ holds {available:,} readable images"
    if unreadable:
        path, why = unreadable[0]
        text += (f"; {len(unreadable):,} of its {len(files):,} image files cannot be read. For example "
                 f"{path.parent.name}/{path.name}: {why}")
    text += f". That is too few for a validation split of {validation_size:,} plus a test split of {test_size:,}."
    if available >= 2 * SPLIT_SIZES[0]:
        return text + (" Lower those sizes (Dataset settings in the sidebar; --validation-size and --test-size on "
                       "the command line).")
    return text + (f" Each split needs at least {SPLIT_SIZES[0]} images: put readable JPEG or PNG images in the "
                   "class folders of validation/" + (", or replace the unreadable files." if unreadable else "."))


def make_splits(
    info: DatasetInfo,
    *,
    validation_size: int | None = 800,
    test_size: int = 200,
    seed: int = 42,
    skip: Sequence[tuple[Path, str]] = (),
) -> Splits:
    """Split ``validation/`` once into disjoint validation and test splits.

    Per class, the sorted file list is permuted with ``numpy.random.default_rng(seed)``
    and the first share goes to test, the next to validation; test shares are
    proportional to class sizes, validation shares to what test left of each class
    (stratified; the splits have exactly the sizes asked for).  Same files and seed → same splits.

    Args:
        info: the scanned dataset.
        validation_size: images in the validation split; ``None`` means all that
            remain after the test split.
        test_size: images in the test split.
        seed: the split's seed.
        skip: unreadable files (:attr:`ImageCheck.unreadable`) to leave out.

    Returns:
        The :class:`Splits`; ``train`` is every readable image of ``train/``.

    Raises:
        CatdogError: ``validation_size + test_size`` exceeds the images in
            ``validation/``, a size is negative, or a class has no readable training image.
        ValueError: a negative ``seed`` (NumPy's ``default_rng``; :func:`catdog.training.check_settings` and the
            pages refuse one first).
    """
    skipped_paths = {str(p) for p, _ in skip}
    pool = {
        c: [p for p in info.files["validation"][c] if str(p) not in skipped_paths] for c in info.class_names
    }
    available = sum(len(v) for v in pool.values())
    if validation_size is None:
        validation_size = available - test_size
    if test_size < 0 or validation_size < 0:
        raise CatdogError("The validation and test sizes must not be negative.")
    if validation_size + test_size > available:
        raise CatdogError(_too_few_message(info, skip, available, validation_size, test_size))
    sizes = {c: len(v) for c, v in pool.items()}
    test_take = _stratified_take(test_size, sizes)
    # shared out over what test leaves of each class, so that no class is asked for more than it has left
    val_take = _stratified_take(validation_size, {c: n - test_take[c] for c, n in sizes.items()})
    rng = np.random.default_rng(seed)
    validation, test = [], []
    for label, name in enumerate(info.class_names):
        files = pool[name]
        order = rng.permutation(len(files))
        n_test = min(test_take[name], len(files))
        n_val = min(val_take[name], len(files) - n_test)
        test += [(str(files[i]), label) for i in order[:n_test]]
        validation += [(str(files[i]), label) for i in order[n_test : n_test + n_val]]
    train = [
        (str(p), label)
        for label, name in enumerate(info.class_names)
        for p in info.files["train"][name]
        if str(p) not in skipped_paths
    ]
    unread = [f"train/{name}" for label, name in enumerate(info.class_names) if all(lab != label for _, lab in train)]
    if unread:
        raise CatdogError(f"Every class needs training images, but no image in {' and '.join(unread)} of "
                          f"'{info.root}' can be read ({len(skip)} unreadable file(s) in the dataset folder).")
    return Splits(
        class_names=info.class_names,
        train=tuple(train),
        validation=tuple(sorted(validation)),
        test=tuple(sorted(test)),
        seed=seed,
        skipped=tuple((str(p), why) for p, why in skip),
        ignored=info.ignored,
        empty_classes=info.empty_classes,
        unused=available - validation_size - test_size,
    )


def missing_classes(counts: dict[str, dict[str, int]]) -> dict[str, list[str]]:
    """``{split: [class names with no image in it]}`` for the splits that lack a class.

    Args:
        counts: ``{split: {class name: images}}`` as :meth:`Splits.counts` returns.
    """
    return {split: missing for split, per_class in counts.items()
            if (missing := [name for name, n in per_class.items() if n == 0])}


def majority_baseline(splits: Splits) -> tuple[tuple[str, ...], float]:
    """Accuracy on the test split of always predicting the training majority class.

    The "no-skill" baseline every model must beat; 50 % on the balanced course data. When classes tie for the
    most training images (1,000 each in the course data), no class is *the* majority: the baseline is then the
    mean test accuracy of always answering one of them (what such a guesser scores on average), not that of
    whichever comes first, which read 0 % when the test split lacked it.

    Returns:
        (the majority class names, one unless tied, in label order; accuracy in [0, 1]).
    """
    return baseline_of_counts(splits.counts(), splits.class_names)


def baseline_of_counts(counts: dict[str, dict[str, int]], class_names) -> tuple[tuple[str, ...], float]:
    """:func:`majority_baseline` from split counts, as :meth:`Splits.counts` gives them and ``run.json`` keeps
    them (``counts``): ``{split: {class name: images}}`` with ``train`` and ``test``.

    Raises:
        KeyError: a split or class missing from ``counts``.
    """
    most = max(counts["train"][c] for c in class_names)
    majority = tuple(c for c in class_names if counts["train"][c] == most)
    total = sum(counts["test"].values()) or 1
    return majority, sum(counts["test"][c] for c in majority) / len(majority) / total


def sample_items(splits: Splits, split: str, per_class: int, seed: int) -> list[list[tuple[str, int]]]:
    """Pick ``per_class`` random images of each class from a split.

    Args:
        splits: the splits to pick from.
        split: ``train``, ``validation`` or ``test``.
        per_class: images per class (fewer where a class has fewer).
        seed: seed of ``numpy.random.default_rng``; the same seed picks the same images.

    Returns:
        One list per class (label order) of ``(path, label)`` pairs.

    Raises:
        ValueError: an unknown ``split`` (:meth:`Splits.split`), or a negative ``seed`` (NumPy's ``default_rng``).
    """
    rng = np.random.default_rng(seed)
    items = splits.split(split)
    rows = []
    for label in range(len(splits.class_names)):
        of_class = [item for item in items if item[1] == label]
        picks = rng.choice(len(of_class), size=min(per_class, len(of_class)), replace=False)
        rows.append([of_class[i] for i in picks])
    return rows


# --------------------------------------------------------------------------- load


def load_image(path: str | os.PathLike, image_size: tuple[int, int] = IMAGE_SIZE) -> np.ndarray:
    """Read one image file as the models see it.

    Decoded and resized exactly as :func:`make_dataset` does (TensorFlow decoder,
    bilinear resize without antialiasing, like ``image_dataset_from_directory``).

    Args:
        path: the image file (JPEG, PNG, GIF, BMP or WebP; an animated file gives its first frame).
        image_size: (height, width) in pixels to resize to.

    Returns:
        float32 array of shape (height, width, 3), values in [0, 255].

    Raises:
        CatdogError: the file is gone, or TensorFlow cannot decode it (it was moved, deleted or changed after the
            dataset folder was read: TensorFlow's ``NotFoundError`` gave a traceback on the Data page, QA).
    """
    import tensorflow as tf

    try:
        return _decode_resize(tf.io.read_file(str(path)), image_size).numpy()
    except tf.errors.OpError as err:
        raise CatdogError(changed_file_message(f"The image '{path}'", err)) from err


def changed_file_message(subject: str, err: Exception) -> str:
    """What to say when a dataset file that was listed cannot be read any more, e.g. "The image '…/cat.1.jpg' is
    gone: the dataset folder has changed since it was read (…). Reload the page to read the folder again."

    Args:
        subject: the file, as the sentence's subject ("The image '…'", "An image of the split").
        err: TensorFlow's error (``NotFoundError``: gone; any other: cannot be decoded).
    """
    import tensorflow as tf

    what = "is gone" if isinstance(err, tf.errors.NotFoundError) else "cannot be decoded"
    return (f"{subject} {what}: the dataset folder has changed since it was read (a file moved, deleted or "
            "rewritten). Reload the page to read the folder again.")


def _decode_resize(raw, image_size):
    import tensorflow as tf

    image = tf.io.decode_image(raw, channels=3, expand_animations=False)
    image = tf.image.resize(image, image_size, method="bilinear")
    image.set_shape((*image_size, 3))
    return image


def make_dataset(
    items: Sequence[tuple[str, int]],
    *,
    image_size: tuple[int, int] = IMAGE_SIZE,
    batch_size: int = 32,
    shuffle: bool = False,
    seed: int = 42,
    cache: bool = True,
):
    """A ``tf.data.Dataset`` of ``(images, labels)`` batches.

    Images are float32 (batch, height, width, 3) in [0, 255], labels int32
    (batch,), the same as ``keras.utils.image_dataset_from_directory`` yields.
    With ``cache``, decoded images are kept in memory after the first epoch as
    float16 (2,000 images at 160×160 take 307 MB instead of 614 MB; float16 has
    11 significant bits, so a value in [0, 255] moves by at most 0.0625, a
    sixteenth of one 8-bit pixel level), then shuffled each epoch when ``shuffle``
    is true.

    Args:
        items: ``(path, label)`` pairs, e.g. ``splits.train``.
        image_size: (height, width) in pixels every image is resized to.
        batch_size: images per batch; the last batch may be smaller.
        shuffle: reshuffle the images every epoch (buffer: the whole split).
        seed: the shuffle's seed.
        cache: keep the decoded images in memory (as float16) after the first pass.

    Raises:
        CatdogError: ``items`` is empty.  A file that is missing or not an image raises TensorFlow's
            ``NotFoundError``/``InvalidArgumentError`` (as :func:`load_image`) only when the dataset is iterated.
    """
    import tensorflow as tf

    if not items:
        raise CatdogError("This split holds no images.")
    paths = [p for p, _ in items]
    labels = np.array([label for _, label in items], dtype=np.int32)
    ds = tf.data.Dataset.from_tensor_slices((paths, labels))
    ds = ds.map(
        lambda p, y: (_decode_resize(tf.io.read_file(p), image_size), y),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    if cache:
        ds = ds.map(_to_float16).cache()
    if shuffle:
        # The shuffle buffer holds references to the cached tensors, not copies:
        # casting back to float32 only after it keeps the whole split in memory once.
        ds = ds.shuffle(len(items), seed=seed, reshuffle_each_iteration=True)
    if cache:
        ds = ds.map(_to_float32)
    return without_autotuning(ds.batch(batch_size).prefetch(tf.data.AUTOTUNE))


def check_accumulation_steps(parts: int, batch_size: int) -> None:
    """Refuse gradient accumulation steps outside 1 … ``batch_size`` (see :func:`split_batches`).

    Raises:
        CatdogError: naming the allowed range.
    """
    if not 1 <= parts <= batch_size:
        raise CatdogError(f"Gradient accumulation steps must lie between 1 and the batch size ({batch_size}), "
                          f"not {parts}.")


def split_batches(ds, parts: int, *, examples: int, batch_size: int):
    """Split every batch of ``ds`` into ``parts`` consecutive micro-batches, for gradient accumulation.

    A batch of ``n`` images becomes micro-batches of rows ``[n·i // parts, n·(i+1) // parts)``
    for ``i = 0 … parts − 1`` (with 2 parts, 32 → 16 + 16 and the course's last train batch of 16 → 8 + 8;
    with 4, 32 → 4 × 8),
    so with ``keras.optimizers.Adam(gradient_accumulation_steps=parts)`` the micro-batches of
    one batch make exactly one update from the mean of their gradients: the same update
    as the whole batch when the parts are equal.  Empty micro-batches (a last batch of
    fewer than ``parts`` images) are dropped.  The result declares its length
    (``assert_cardinality``), so Keras shows per-step progress from the first epoch.

    Args:
        ds: a ``tf.data.Dataset`` of ``(images, labels)`` batches, e.g. from :func:`make_dataset`.
        parts: micro-batches per batch, 1 … ``batch_size`` (1 returns ``ds`` unchanged).
        examples: images in ``ds`` (e.g. ``len(items)``).
        batch_size: images per batch of ``ds``; only its last batch may be smaller.

    Returns:
        The dataset of micro-batches, same dtypes; the batch dimension becomes ``None``.

    Raises:
        CatdogError: ``parts`` outside 1 … ``batch_size``.
    """
    import tensorflow as tf

    check_accumulation_steps(parts, batch_size)
    if parts == 1:
        return ds

    def split(images, labels):
        n = tf.shape(images, out_type=tf.int64)[0]

        def part(i):
            start, stop = n * i // parts, n * (i + 1) // parts
            return images[start:stop], labels[start:stop]

        return tf.data.Dataset.range(parts).map(part)

    full, tail = divmod(examples, batch_size)
    micro = ds.flat_map(split).filter(lambda images, labels: tf.shape(images)[0] > 0)
    return micro.apply(tf.data.experimental.assert_cardinality(full * parts + min(tail, parts)))


def without_autotuning(ds):
    """``ds`` with tf.data's autotuning switched off (``tf.data.Options().autotune.enabled = False``).

    ``AUTOTUNE`` parallelism and prefetch sizes then take tf.data's fixed defaults
    instead of being tuned by a background optimisation while the model runs.
    Element order and values do not change (maps stay deterministic, shuffles
    keep their seeds).  The background optimisation competes with the model for
    the CPU: on 2 CPU cores, cold fast-mode feature extraction of the 3,000
    course images at 224×224 took a median 54.2 s without it and 64.0 s with it
    (2 runs each, interleaved, ``bench/autotune.py``, 22 Nov 2026); in earlier
    probes the end of a pass stalled for up to 36 s with it (bench/README.md).

    Args:
        ds: any ``tf.data.Dataset``.

    Returns:
        The same dataset with the option set.
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.with_options(options)


def _to_float16(image, label):
    import tensorflow as tf

    return tf.cast(image, tf.float16), label


def _to_float32(image, label):
    import tensorflow as tf

    return tf.cast(image, tf.float32), label
