"""Fast transfer learning: cache MobileNetV2 features once, train model4's head on them.

model4's MobileNetV2 base is frozen, so what it computes for an image never
changes from one epoch to the next.  Fast mode runs the base *once* over every
image, stores the pooled features (``GlobalMaxPooling2D`` output, 1,280 numbers
per image) on disk, and trains only the head (Dropout(0.2) → Dense(2)) on them.

- Training images get K *views*: view 0 is the image itself, views 1 … K-1 pass
  through model4's own augmentation layer (built by
  :func:`catdog.augment.build_augmentation`) with ``training=True``.  Each
  epoch, every training image contributes one of its K views, drawn at random,
  so an epoch has as many batches as normal training.
- Validation and test images are extracted unaugmented (one view).
- Each split is cached in ``<cache dir>/<key>.npz``; the key hashes the split's
  file list (paths, sizes, modification times), the image size, the weights'
  identity, the views and — for K > 1 — the augmentation settings and seed.
  A second run with the same settings reads the cache instead of extracting.

The features come from the very layers of the model being trained
(:func:`feature_extractor`), so the head's weights copied into that model's
``logits`` layer give the same logits as the feature path (within float
rounding) and ``model.keras`` is an ordinary model4.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from catdog import data
from catdog.atomic import write_atomic
from catdog.config import ENV_CACHE_DIR, PROJECT_DIR
from catdog.errors import CatdogError

#: Bump when the cached arrays' meaning changes, so old files are not reused.
CACHE_FORMAT = "catdog-features-v2"

#: Largest number of views per training image offered: each view is one more MobileNetV2 pass over the 2,000
#: training images (≈ 10–25 s at 160×160 on 2 CPU cores, README), so 20 views take 3–8 minutes to extract, and
#: their cache holds 2,000 × 20 × 1,280 float32 = 205 MB.
MAX_VIEWS = 20

#: Name of the layer whose output is cached (model4's pooling layer).
POOL_LAYER = "global_max_pool"


def default_cache_dir() -> Path:
    """Feature cache folder: ``$CATDOG_CACHE_DIR``, else ``.cache/features`` in the repository's folder
    (:data:`catdog.config.PROJECT_DIR`)."""
    return Path(os.environ.get(ENV_CACHE_DIR) or PROJECT_DIR / ".cache" / "features")


def weights_identity(weights: str | None) -> str:
    """A string that changes whenever the MobileNetV2 weights may have changed.

    Args:
        weights: ``"imagenet"``, a path to a ``.h5`` file, or ``None`` (random
            weights, tests only).

    Returns:
        ``"imagenet"``, ``"random"``, or ``"<absolute path>|<size in bytes>|<mtime in ns>"``
        (``"<path>|missing"`` for a file that does not exist).
    """
    if weights is None:
        return "random"
    if weights == "imagenet":
        return "imagenet"
    path = Path(weights).expanduser().resolve()
    try:
        st = path.stat()
    except OSError:
        return f"{path}|missing"
    return f"{path}|{st.st_size}|{st.st_mtime_ns}"


def augmentation_settings(config) -> dict:
    """The settings that decide what an augmented view looks like, from a
    :class:`catdog.config.TrainConfig`: flip mode, rotation factor, fill mode and seed."""
    return {"flip_mode": config.flip_mode, "rotation_factor": float(config.rotation_factor),
            "fill_mode": config.fill_mode, "seed": int(config.seed)}


def cache_key(
    items: Sequence[tuple[str, int]],
    *,
    image_size: tuple[int, int],
    weights: str | None,
    views: int = 1,
    augmentation: dict | None = None,
) -> str:
    """The cache key of one split's features.

    Args:
        items: the split's ``(path, label)`` pairs; each file's size and
            modification time enter the key, so an edited image invalidates it.
        image_size: (height, width) in pixels.
        weights: as for :func:`weights_identity`.
        views: views per image (≥ 1).  With one view (no augmentation) the
            augmentation settings do not enter the key.
        augmentation: the augmentation of views 1 … K-1, from
            :func:`augmentation_settings`.

    Returns:
        40 hexadecimal characters (SHA-1 of a JSON description).

    Raises:
        CatdogError: a file of ``items`` no longer exists.
    """
    files = []
    for path, label in items:
        try:
            st = os.stat(path)
        except OSError as err:
            raise CatdogError(f"The image '{path}' has disappeared since the dataset was scanned ({err}).") from err
        files.append([str(path), int(label), st.st_size, st.st_mtime_ns])
    description = {
        "format": CACHE_FORMAT,
        "files": files,
        "image_size": list(image_size),
        "weights": weights_identity(weights),
        "views": int(views),
    }
    if views > 1:
        description["augmentation"] = dict(augmentation or {})
    text = json.dumps(description, sort_keys=True)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- cache files


def save_features(path: Path, features: np.ndarray, labels: np.ndarray, meta: dict) -> None:
    """Write one split's features atomically (temporary file, then ``os.replace``).

    Args:
        path: the ``.npz`` file; its folder is created.
        features: float32 (images, views, 1280).
        labels: int32 (images,).
        meta: JSON-ready description stored beside the arrays.

    Raises:
        OSError: the folder cannot be created or the file written (read-only or full disk);
            :func:`load_or_extract_parts` catches it and goes on without the cache.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda handle: np.savez(
        handle, features=features.astype(np.float32), labels=labels.astype(np.int32), meta=np.array(json.dumps(meta))
    ), binary=True)


def load_features(path: Path, n_images: int, views: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Read one split's cached features, or ``None`` when missing, unreadable or of the wrong shape.

    Args:
        path: the ``.npz`` file written by :func:`save_features`.
        n_images: images the split holds now; a file for another number is not used.
        views: views per image expected (K).

    Returns:
        ``(features float32 (n_images, views, D), labels int32 (n_images,))``.
    """
    try:
        with np.load(path, allow_pickle=False) as npz:
            features, labels = npz["features"], npz["labels"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # BadZipFile: a file cut short
        return None
    if features.ndim != 3 or features.shape[:2] != (n_images, views) or labels.shape != (n_images,):
        return None
    return features.astype(np.float32, copy=False), labels.astype(np.int32, copy=False)


# --------------------------------------------------------------------------- extraction


def feature_extractor(model):
    """The image → pooled-features part of a built model4.

    Args:
        model: a model4 from :func:`catdog.models.build_model`.

    Returns:
        A ``keras.Model`` sharing ``model``'s layers: float32 images (batch, h, w, 3)
        in [0, 255] → float32 features (batch, 1280).  Called with
        ``training=False`` it is model4's inference path; with ``training=True``
        the augmentation acts while MobileNetV2 still runs in inference mode.

    Raises:
        CatdogError: ``model`` has no ``global_max_pool`` layer (not a model4).
    """
    import keras

    try:
        pool = model.get_layer(POOL_LAYER)
    except ValueError as err:
        raise CatdogError("Fast mode needs model4 (MobileNetV2 transfer learning).") from err
    return keras.Model(model.input, pool.output, name="feature_extractor")


class FeatureExtractor:
    """Compiled feature extraction of one model4 (one ``tf.function`` trace per mode).

    Args:
        model: a built model4.

    Raises:
        CatdogError: ``model`` has no ``global_max_pool`` layer (:func:`feature_extractor`).
    """

    def __init__(self, model):
        import tensorflow as tf

        self.model = feature_extractor(model)
        self.dim = int(self.model.output.shape[-1])
        spec = [tf.TensorSpec((None, *self.model.input.shape[1:]), tf.float32)]
        self._plain = tf.function(lambda x: self.model(x, training=False), input_signature=spec)
        self._augmented = tf.function(lambda x: self.model(x, training=True), input_signature=spec)

    def __call__(self, images, augment: bool = False) -> np.ndarray:
        """Features of a batch: float32 (batch, h, w, 3) in [0, 255] → float32 (batch, dim)."""
        fn = self._augmented if augment else self._plain
        return fn(images).numpy()


def extract_features(
    extractor: FeatureExtractor,
    items: Sequence[tuple[str, int]],
    *,
    image_size: tuple[int, int],
    views: int = 1,
    batch_size: int = 32,
    on_batch=None,
    stop: threading.Event | None = None,
) -> np.ndarray | None:
    """Run the frozen base over ``items``: each image is read once, then K views are computed.

    Args:
        extractor: from :class:`FeatureExtractor`.
        items: ``(path, label)`` pairs, read in this order.
        image_size: (height, width) in pixels images are resized to.
        views: view 0 is the image itself, views 1 … K-1 are augmented.
        batch_size: images per forward pass (default 32, the course's batch size).
        on_batch: called with no argument after each forward pass.
        stop: when set, extraction ends after the current forward pass.

    Returns:
        float32 (len(items), views, dim), dim = :attr:`FeatureExtractor.dim` (1,280 for model4), or ``None``
        when stopped.

    Raises:
        CatdogError: ``items`` is empty (:func:`catdog.data.make_dataset`).
    """
    ds = data.make_dataset(items, image_size=image_size, batch_size=batch_size, cache=False)
    out = np.empty((len(items), views, extractor.dim), dtype=np.float32)
    start = 0
    for images, _ in ds:
        n = int(images.shape[0])
        for view in range(views):
            if stop is not None and stop.is_set():
                return None
            out[start : start + n, view] = extractor(images, augment=view > 0)
            if on_batch is not None:
                on_batch()
        start += n
    return out


@dataclass
class FeatureSet:
    """Cached features of the three splits.

    Attributes:
        train: float32 (train images, K, 1280); view 0 unaugmented.
        train_labels: int32 (train images,).
        validation, test: float32 (images, 1, 1280), unaugmented.
        validation_labels, test_labels: int32 (images,).
        keys: split name → cache key.
        hits: split name → True when read from the cache.
        seconds: time spent loading or extracting, in seconds.
    """

    train: np.ndarray
    train_labels: np.ndarray
    validation: np.ndarray
    validation_labels: np.ndarray
    test: np.ndarray
    test_labels: np.ndarray
    keys: dict[str, str] = field(default_factory=dict)
    hits: dict[str, bool] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> dict:
        """JSON-ready description for ``run.json``."""
        return {"views": int(self.train.shape[1]), "keys": self.keys, "hits": self.hits,
                "seconds": round(self.seconds, 2)}


def load_or_extract(
    model,
    splits,
    *,
    image_size: tuple[int, int],
    weights: str | None,
    views: int = 1,
    augmentation: dict | None = None,
    cache_dir: str | os.PathLike | None = None,
    batch_size: int = 32,
    progress=None,
    stop: threading.Event | None = None,
) -> FeatureSet | None:
    """Features of the train, validation and test splits, from the cache or extracted now.

    The training split gets ``views`` views per image, the other two one
    (unaugmented); see :func:`load_or_extract_parts` for the arguments.

    Args:
        splits: a :class:`catdog.data.Splits`.
        views: K views per training image, 1 … :data:`MAX_VIEWS`.

    Returns:
        The :class:`FeatureSet`, or ``None`` when stopped.

    Raises:
        CatdogError: ``views`` out of range, a split is empty, or an image vanished.
    """
    if not 1 <= int(views) <= MAX_VIEWS:
        raise CatdogError(f"Views per training image must be between 1 and {MAX_VIEWS}, not {views}.")
    started = time.time()
    parts = [("train", splits.train, int(views)), ("validation", splits.validation, 1), ("test", splits.test, 1)]
    found = load_or_extract_parts(model, parts, image_size=image_size, weights=weights, augmentation=augmentation,
                                  cache_dir=cache_dir, batch_size=batch_size, progress=progress, stop=stop)
    if found is None:
        return None
    arrays, keys, hits = found
    return FeatureSet(
        train=arrays["train"][0], train_labels=arrays["train"][1],
        validation=arrays["validation"][0], validation_labels=arrays["validation"][1],
        test=arrays["test"][0], test_labels=arrays["test"][1],
        keys=keys, hits=hits, seconds=time.time() - started,
    )


def load_or_extract_parts(
    model,
    parts: Sequence[tuple[str, Sequence[tuple[str, int]], int]],
    *,
    image_size: tuple[int, int],
    weights: str | None,
    augmentation: dict | None = None,
    cache_dir: str | os.PathLike | None = None,
    batch_size: int = 32,
    progress=None,
    stop: threading.Event | None = None,
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, str], dict[str, bool]] | None:
    """Features of any lists of images, each from the cache or extracted now (one file per list).

    Args:
        model: the built model4 whose layers compute the features (its weights
            must be the ones ``weights`` names).
        parts: ``(name, items, views)`` per list: ``items`` are ``(path, label)``
            pairs, ``views`` K ≥ 1 (view 0 unaugmented); ``name`` labels the result
            and the cache file's metadata, it is not part of the cache key.
        image_size: (height, width) in pixels.
        weights: identity of the MobileNetV2 weights (see :func:`weights_identity`).
        augmentation: the augmentation settings of ``model``
            (:func:`augmentation_settings`; they only enter the cache key).
        cache_dir: the cache folder (default :func:`default_cache_dir`).
        batch_size: images per forward pass.
        progress: a :class:`catdog.training.Progress`; when something must be
            extracted it gets ``phase="extracting features"`` and batch / batches
            per forward pass.
        stop: when set, extraction ends after the current forward pass;
            nothing partial is cached.

    Returns:
        ``(arrays, keys, hits)`` keyed by name: ``(features float32 (images, K, D),
        labels int32 (images,))``, the cache key, and whether it was read from the
        cache; or ``None`` when stopped.

    Raises:
        CatdogError: a list is empty, or an image vanished.  A cache file that cannot be saved (``OSError``) is
            not raised: it becomes a warning and a notice on ``progress``.
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    keys, hits, arrays = {}, {}, {}
    todo = []
    for name, items, k in parts:
        if not items:
            raise CatdogError(f"The {name} split holds no images.")
        key = cache_key(items, image_size=image_size, weights=weights, views=k, augmentation=augmentation)
        keys[name] = key
        cached = load_features(cache / f"{key}.npz", len(items), k)
        hits[name] = cached is not None
        if cached is not None:
            arrays[name] = cached
        else:
            todo.append((name, items, k))
    if todo:
        total = sum(-(-len(items) // batch_size) * k for _, items, k in todo)
        done = 0

        def tick():
            nonlocal done
            done += 1
            if progress is not None:  # the first pass also builds the extractor's graph: the pace starts after it
                now = time.time()
                progress.set(batch=done, last_batch_ended=now, batches_ended=done,
                             **({"first_batch_ended": now} if done == 1 else {}))

        if progress is not None:
            progress.set(phase="extracting features", batch=0, batches=total, epoch_started=time.time(),
                         first_batch_ended=0.0, last_batch_ended=0.0, batches_ended=0)
        extractor = FeatureExtractor(model)
        for name, items, k in todo:
            features = extract_features(extractor, items, image_size=image_size, views=k,
                                        batch_size=batch_size, on_batch=tick, stop=stop)
            if features is None:
                return None
            labels = np.array([label for _, label in items], dtype=np.int32)
            meta = {"format": CACHE_FORMAT, "split": name, "images": len(items), "views": k,
                    "weights": weights_identity(weights), "image_size": list(image_size)}
            try:
                save_features(cache / f"{keys[name]}.npz", features, labels, meta)
            except OSError as err:  # the cache only saves time: a read-only or full disk failed the run (QA)
                notice = (f"The feature cache could not be saved in {cache} ({err.strerror or err}): training goes "
                          "on with the features in memory, and the next run extracts them again. Set "
                          f"${ENV_CACHE_DIR} to a folder you can write to.")
                logging.getLogger(__name__).warning(notice)
                if progress is not None:
                    progress.add_notice(notice)
            arrays[name] = (features, labels)
    return arrays, keys, hits


def feature_dataset(features: np.ndarray, labels: np.ndarray, *, batch_size: int = 32,
                    shuffle: bool = False, seed: int = 42):
    """A ``tf.data.Dataset`` of ``(features, labels)`` batches for the head.

    Args:
        features: float32 (images, K, D).  With K > 1 each pass over the
            dataset (an epoch) takes one view per image, drawn at random anew
            every epoch, so an epoch has ``ceil(images / batch_size)`` batches
            as in normal training.
        labels: int32 (images,).
        batch_size: feature vectors per batch; the last batch may be smaller.
        shuffle: reshuffle the images every epoch.
        seed: seed of the shuffle and of the view draws.

    Returns:
        Batches of float32 (batch, D) and int32 (batch,).
    """
    import tensorflow as tf

    n, k, _ = features.shape
    ds = tf.data.Dataset.from_tensor_slices((features, labels))
    if shuffle:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    if k > 1:
        draws = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
        ds = tf.data.Dataset.zip((ds, draws)).map(lambda pair, r: (pair[0][r % k], pair[1]))
    else:
        ds = ds.map(lambda f, y: (f[0], y))
    return data.without_autotuning(ds.batch(batch_size).prefetch(tf.data.AUTOTUNE))


def head_logits(head, features: np.ndarray) -> np.ndarray:
    """Logits of the head for unaugmented features: float32 (images, 1 or K, D) or (images, D) → (images, 2)."""
    x = features[:, 0] if features.ndim == 3 else features
    return np.asarray(head(x, training=False))
