"""The model registry: one builder for each of the course's four models.

Every model maps float32 images (batch, 160, 160, 3) in [0, 255] to logits
(batch, 2) (model4 may also be built for 224×224, see :data:`MOBILENET_INPUT_SIZES`);
preprocessing and augmentation are layers *inside* the model, so a saved ``.keras``
file is the whole pipeline.  Layer choices follow the course
(``../shared/NOTES.md`` beside the repository, not in it):

- ``model1``: Conv2D(32)→MaxPool→Dropout(0.2)→Conv2D(32)→MaxPool→Dropout(0.2)→
  Conv2D(64)→Flatten→Dense(64, relu)→Dense(2).
- ``model2``: augmentation (RandomFlip, RandomRotation) + model1.
- ``model3``: preprocessing (``Rescaling(1/127.5, offset=-1)``, equal to
  ``mobilenet_v2.preprocess_input``) + model2.
- ``model4``: preprocessing + augmentation + frozen MobileNetV2 (ImageNet weights,
  called with ``training=False``) + GlobalMaxPooling2D + Dropout(0.2) + Dense(2).
"""

from __future__ import annotations

import functools
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from catdog.augment import build_augmentation
from catdog.config import ENV_MOBILENET_WEIGHTS, IMAGE_SIZE, TrainConfig, typed_path
from catdog.errors import CatdogError


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry: what a model is, for the Training page.

    Attributes:
        name: registry name, ``model1`` … ``model4`` (the key in :data:`MODEL_SPECS`).
        title: short human title.
        description: one sentence on its layers.
        augmentation: whether it starts with the augmentation block (:func:`catdog.augment.build_augmentation`).
        preprocessing: whether it scales pixels from [0, 255] to [-1, 1] first (:func:`preprocessing_layer`).
        mobilenet: whether it is the MobileNetV2 transfer-learning model (model4).
    """

    name: str
    title: str
    description: str
    augmentation: bool
    preprocessing: bool
    mobilenet: bool


#: The course's four models by registry name, in the order the Training page lists them (module docstring).
MODEL_SPECS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("model1", "Small CNN",
                  "Three convolution layers (with max pooling and dropout) and a dense head, trained from scratch "
                  "on the raw pixel values (0–255).",
                  augmentation=False, preprocessing=False, mobilenet=False),
        ModelSpec("model2", "CNN + augmentation",
                  "model1 with RandomFlip and RandomRotation in front: each epoch sees other versions of the "
                  "images, against overfitting. On raw pixels it may stay near chance (≈ 50%) for all 20 "
                  "epochs; model3 scales them.",
                  augmentation=True, preprocessing=False, mobilenet=False),
        # the title in the layers' order (QA: "augmentation + preprocessing" while preprocessing runs first)
        ModelSpec("model3", "CNN + preprocessing + augmentation",
                  "model2 with the pixels first scaled from 0–255 to −1…1 (what mobilenet_v2.preprocess_input "
                  "does): with inputs near 0 the first training steps change the network only a little, so its "
                  "units (ReLUs) do not all fall silent, as they can in model1 and model2, and it starts to learn.",
                  augmentation=True, preprocessing=True, mobilenet=False),
        ModelSpec("model4", "Transfer learning (MobileNetV2)",
                  "Preprocessing and augmentation, then a frozen MobileNetV2 pretrained on ImageNet, "
                  "global max pooling, dropout and a Dense(2) head.",
                  augmentation=True, preprocessing=True, mobilenet=True),
    )
}

#: Where Keras downloads MobileNetV2's ImageNet weights from (``keras.applications.mobilenet_v2``'s
#: ``BASE_WEIGHT_PATH``), for the message of a failed download.
KERAS_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"
#: Input sides Keras has MobileNetV2 weights for; another size gets those of 224 (``keras.applications.MobileNetV2``).
KERAS_WEIGHTS_SIDES = (96, 128, 160, 192, 224)


def keras_weights_name(image_size: tuple[int, int]) -> str:
    """The weights file ``weights="imagenet"`` downloads for model4 at ``image_size`` (height, width in pixels):
    ``mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_<side>_no_top.h5``, ``side`` the height when Keras has
    weights for it (:data:`KERAS_WEIGHTS_SIDES`), else 224, as ``keras.applications.MobileNetV2`` chooses."""
    side = image_size[0] if image_size[0] == image_size[1] and image_size[0] in KERAS_WEIGHTS_SIDES else 224
    return f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{side}_no_top.h5"


#: Name of the nested MobileNetV2 layer inside model4.
MOBILENET_LAYER = "mobilenetv2_base"
#: Layers of Keras's MobileNetV2 without its top (input layer included): "Unfreeze from layer" runs 0 … this
#: (the TensorFlow transfer-learning tutorial prints 154 and fine-tunes from 100); a test checks it.
MOBILENET_LAYERS = 154
#: Weight arrays of that MobileNetV2 (alpha 1.0, no top): ``len(base.weights)``, kernels, BatchNormalization's four
#: arrays per layer included (Keras 3.15; a test checks it), what a file in Keras 3's own weights layout must hold.
MOBILENET_WEIGHT_ARRAYS = 260

#: Square input sizes (pixels) the Training page offers for model4: the course's 160, and 224, the size the
#: offline weights file ``…_1.0_224_no_top.h5`` was trained at.  Keras publishes MobileNetV2 ImageNet
#: weights for 96, 128, 160, 192 and 224 (``keras.applications.MobileNetV2`` documentation).
MOBILENET_INPUT_SIZES: tuple[int, ...] = (160, 224)

#: A weights file named the Keras way: its width multiplier (alpha) and the square image size it was trained at.
#: A ".weights.h5" end too: Keras 3's own layout, as its ``save_weights`` requires (QA N: "…_224_no_top.weights.h5"
#: was said to tell no size).
_WEIGHTS_NAME = re.compile(r"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_(?P<alpha>[0-9.]+)_(?P<size>\d+)"
                           r"(_no_top)?(\.weights)?\.h5$")


def weights_image_size(weights: str | None) -> int | None:
    """The square image size (pixels) a MobileNetV2 weights file was trained at, read from its name.

    Keras names its files ``mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_{size}_no_top.h5``
    (``keras/src/applications/mobilenet_v2.py``) and, for ``weights="imagenet"``, downloads the
    file trained at the model's own input size.  Features of weights used at another size than
    they were trained at are less accurate: on this project's data, the 224 file in a 160×160
    fast model4 scored 93.0 % test / 96.9 % on all of ``validation/``, at 224×224 97.0 % / 98.7 %
    (training seed 0, 3 Dec 2026; README, Benchmarks).

    Args:
        weights: ``"imagenet"``, ``None`` or a path.

    Returns:
        The size, or ``None`` for ``"imagenet"``/``None`` and for files not named the Keras way.
    """
    if not weights or weights == "imagenet":
        return None
    match = _WEIGHTS_NAME.search(Path(weights).name)
    return int(match["size"]) if match else None


def default_input_size(weights: str | None) -> int:
    """model4's input size (pixels, square) unless the user picks one: the weights' own size.

    Keras does the same for ``weights="imagenet"``: it downloads the file trained at the
    model's input size.  A weights file named the Keras way (:func:`weights_image_size`) at
    one of :data:`MOBILENET_INPUT_SIZES` gives its size (224 for the offline
    ``…_1.0_224_no_top.h5``: 97.0 % test in fast mode instead of 93.0 % at 160, README
    Benchmarks); anything else gives the course's 160 (:data:`catdog.config.IMAGE_SIZE`).

    Args:
        weights: ``"imagenet"``, ``None`` or a path (resolve ``$CATDOG_MOBILENET_WEIGHTS`` first
            with :func:`resolve_mobilenet_weights`).

    Returns:
        An element of :data:`MOBILENET_INPUT_SIZES`.
    """
    trained = weights_image_size(weights)
    return trained if trained in MOBILENET_INPUT_SIZES else IMAGE_SIZE[0]


def preprocessing_layer():
    """``Rescaling(1/127.5, offset=-1)``: [0, 255] → [-1, 1].

    Equal to ``keras.applications.mobilenet_v2.preprocess_input`` (x / 127.5 - 1)
    but, unlike a ``Lambda`` around it, it serialises and reloads cleanly.
    """
    import keras

    return keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="preprocess")


def resolve_mobilenet_weights(weights: str | None = None) -> str:
    """Which MobileNetV2 weights to use.

    ``None`` or an empty string means "the default": ``$CATDOG_MOBILENET_WEIGHTS`` when it
    is set (an offline server's file), else ``"imagenet"``.  ``"imagenet"`` always means
    Keras's download, and any other string is a path (quotes and a ``file://`` URL taken off:
    :func:`catdog.config.typed_path`), so a user can pick either explicitly whatever the environment says.

    Returns:
        ``"imagenet"`` or a path to a ``.h5`` weights file.
    """
    if weights and (typed := typed_path(weights)):  # quoted, or a file:// URL, as a data folder may be (QA L)
        return typed
    return typed_path(os.environ.get(ENV_MOBILENET_WEIGHTS, "")) or "imagenet"


#: The first 8 bytes of an HDF5 file (the format of Keras's ``.h5`` weights), HDF5 File Format Specification,
#: "Format Signature".
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def weights_file_problem(weights: str) -> str | None:
    """What is wrong with a MobileNetV2 weights path, in a sentence for the user, or ``None`` if nothing shows.

    Cheap checks only (no weights are read): the path exists, is a file, not a folder, starts with
    :data:`HDF5_SIGNATURE`, and its layout is that of MobileNetV2 at alpha 1.0 without its top
    (:func:`_weights_layout_problem`).  Whether every weight fits is only known once it is loaded
    (:func:`build_mobilenet_base`).  ``"imagenet"`` (Keras's download) is not checked.
    """
    if weights == "imagenet":
        return None
    path = Path(weights).expanduser()
    if path.is_dir():
        return (f"'{path}' is a folder. Give the path of the .h5 file in it, such as "
                "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5.")
    if not path.is_file():
        return (f"The MobileNetV2 weights file '{path}' does not exist. Give the path of a .h5 file such "
                "as mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5, or leave the "
                "setting empty to download the ImageNet weights.")
    try:
        with open(path, "rb") as handle:
            signature = handle.read(len(HDF5_SIGNATURE))
    except OSError as err:
        return f"The MobileNetV2 weights file '{path}' cannot be read ({err.strerror or err})."
    if signature != HDF5_SIGNATURE:
        return (f"'{path}' is not a Keras weights file (.h5, HDF5). Give the path of a file such as "
                "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5.")
    stat = path.stat()
    return _weights_layout_problem(str(path), stat.st_size, stat.st_mtime_ns)


#: The first convolution's kernel in Keras's MobileNetV2 weights files of alpha 1.0 (3×3, RGB in, 32 filters;
#: ``_make_divisible(32 * alpha, 8)`` in ``keras/src/applications/mobilenet_v2.py``): 16 filters in the 0.35 and
#: 0.5 files, 24 in 0.75, 40 and 48 in 1.3 and 1.4.
FIRST_KERNEL_SHAPE = (3, 3, 3, 32)


@functools.lru_cache(maxsize=32)
def _weights_layout_problem(path: str, size: int, mtime_ns: int) -> str | None:
    """What the layout of an HDF5 file shows wrong for model4's MobileNetV2 (alpha 1.0, no top), read with h5py
    without loading any weights (a few ms; cached per path, size and modification time), or ``None``.

    Keras's weight files (``model.save_weights`` in the legacy HDF5 layout, as Keras publishes MobileNetV2's) list
    their layers in the root's ``layer_names`` (a file in Keras 3's own ``.weights.h5`` layout is left to
    loading); the first convolution ``Conv1`` holds a kernel of :data:`FIRST_KERNEL_SHAPE`, and a file "with
    top" ends in the ImageNet classifier ``Logits``. Before, the
    0.35-wide file passed every check here, and training failed only after Train with Keras's "Shape mismatch in
    layer #0 (named Conv1)…" (QA).
    """
    import h5py

    name = Path(path).name
    the_file = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
    try:
        with h5py.File(path, "r") as f:
            if "layer_names" not in f.attrs and "layers" in f and "vars" in f:
                # Keras 3's own layout (``model.save_weights("….weights.h5")``), whose layer names are no model's
                # own: MobileNetV2's number of arrays and first kernel. Another model's file passed, and training
                # failed on a list of the 104 layers it could not load, screens long (QA L).
                shapes = []
                f["layers"].visititems(lambda key, obj: shapes.append(tuple(obj.shape))
                                       if isinstance(obj, h5py.Dataset) else None)
                if len(shapes) != MOBILENET_WEIGHT_ARRAYS or FIRST_KERNEL_SHAPE not in shapes:
                    return (f"'{name}' holds the weights of another model than MobileNetV2 at alpha 1.0 without its "
                            f"top ({len(shapes)} arrays, not {MOBILENET_WEIGHT_ARRAYS}). Give the path of "
                            f"{the_file}.")
                return None
            layers = [n.decode() if isinstance(n, bytes) else str(n) for n in f.attrs.get("layer_names", [])]
            kernels = []
            if "Conv1" in layers and "Conv1" in f:
                f["Conv1"].visititems(lambda key, obj: kernels.append(obj.shape) if "kernel" in key else None)
    except Exception as err:  # a damaged HDF5 file
        return f"'{name}' cannot be read as a Keras weights file ({err})."
    if "Conv1" not in layers:
        return (f"'{name}' holds no MobileNetV2 weights (no layer 'Conv1'). Give the path of {the_file}.")
    if "Logits" in layers:
        return (f"'{name}' holds the whole ImageNet classifier (\"with top\"); model4 needs MobileNetV2 without "
                f"its top: {the_file}.")
    if kernels and tuple(kernels[0]) != FIRST_KERNEL_SHAPE:
        named = _WEIGHTS_NAME.search(name)
        width = f"of width (alpha) {named['alpha']}" if named else f"whose first layer has {kernels[0][-1]} filters"
        return (f"'{name}' holds a MobileNetV2 {width}; model4 is built at alpha 1.0 (32 filters). Give the path "
                f"of {the_file}.")
    return None


def _keras_models_dir() -> str:
    """Where Keras keeps downloaded weights: ``$KERAS_HOME/models``, else ``~/.keras/models`` (Keras 3's
    ``keras.utils.get_file`` default cache; it falls back to ``/tmp/.keras`` only when that is unwritable)."""
    return str(Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "models") + "/"


def build_mobilenet_base(weights: str | None = "imagenet", image_size: tuple[int, int] = IMAGE_SIZE):
    """A frozen MobileNetV2 feature extractor (alpha 1.0, no top).

    Args:
        weights: ``"imagenet"`` downloads Keras's weights for this input size
            into its cache; a path loads a ``.h5`` file of the same architecture
            with ``load_weights`` (kernel shapes do not depend on the input size,
            so the 224×224 file fits a 160×160 base); ``None`` leaves the weights
            random (tests only).
        image_size: (height, width) of the input, in pixels.

    Returns:
        A non-trainable ``keras.Model`` mapping float32 (batch, h, w, 3) in [-1, 1] to
        (batch, h/32, w/32, 1280) feature maps; 2,257,984 parameters.

    Raises:
        CatdogError: the download failed or the file is missing or does not fit.
    """
    import keras

    shape = (*image_size, 3)
    if weights == "imagenet":
        try:
            base = keras.applications.MobileNetV2(input_shape=shape, include_top=False, weights="imagenet")
        except Exception as err:
            raise CatdogError(
                "Could not download the MobileNetV2 ImageNet weights "
                f"({type(err).__name__}: {err}). Without network access, point the 'MobileNetV2 weights "
                f"file' setting on the Training page (on the command line --weights, or the environment "
                f"variable {ENV_MOBILENET_WEIGHTS}) at a local file such as "
                "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5, or copy the file Keras "
                f"fetches for this input size, {keras_weights_name(image_size)} (from {KERAS_WEIGHTS_URL} on a "
                f"computer that is online), into {_keras_models_dir()}."
            ) from err
    else:
        base = keras.applications.MobileNetV2(input_shape=shape, include_top=False, weights=None)
        if weights is not None:
            path = Path(weights).expanduser()
            if problem := weights_file_problem(weights):
                raise CatdogError(problem)
            try:
                base.load_weights(str(path))
            except Exception as err:  # its first line: Keras's can list every layer it could not load (QA L)
                why = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                raise CatdogError(f"'{path}' is not a MobileNetV2 (alpha 1.0, no top) weights file: "
                                  f"{why if len(why) <= 300 else why[:299] + '…'}") from err
    base.trainable = False
    return keras.Model(base.input, base.output, name=MOBILENET_LAYER)


def _small_cnn(x):
    import keras
    from keras import layers

    x = layers.Conv2D(32, 3, activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Dropout(0.2, name="dropout1")(x)
    x = layers.Conv2D(32, 3, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Dropout(0.2, name="dropout2")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv3")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(64, activation="relu", name="dense")(x)
    return keras.layers.Dense(2, name="logits")(x)


def mobilenet_head(x, seed: int | None = None):
    """model4's trainable head: GlobalMaxPooling2D → Dropout(0.2) → Dense(2) logits (the course's head).

    Args:
        x: MobileNetV2's feature map, float32 (batch, h, w, 1280) (:func:`build_mobilenet_base`).
        seed: seed of the dropout layer; ``None`` draws one.

    Returns:
        The logits tensor, float32 (batch, 2).
    """
    from keras import layers

    x = layers.GlobalMaxPooling2D(name="global_max_pool")(x)
    x = layers.Dropout(0.2, seed=seed, name="head_dropout")(x)
    return layers.Dense(2, name="logits")(x)


def build_model(
    config: TrainConfig,
    *,
    image_size: tuple[int, int] = IMAGE_SIZE,
    compile: bool = True,
    pretrained: bool = True,
):
    """Build (and compile) the registry model ``config.model``.

    Args:
        config: model name, augmentation settings, MobileNetV2 weights, learning rate.
        image_size: (height, width) of the input, in pixels.
        compile: compile with Adam(``config.learning_rate``),
            ``SparseCategoricalCrossentropy(from_logits=True)`` and accuracy.
        pretrained: model4 only: load the MobileNetV2 weights; ``False`` leaves
            them random (for layer tables and tests: same shapes and counts).

    Returns:
        A functional ``keras.Model`` named after the registry entry:
        float32 (batch, h, w, 3) in [0, 255] → logits (batch, 2).

    Raises:
        CatdogError: unknown model name, or MobileNetV2 weights unavailable.
        ValueError: for model2–model4, an unknown flip or fill mode or a rotation factor outside [0, 0.5]
            (:func:`catdog.augment.build_augmentation`).
    """
    import keras

    spec = MODEL_SPECS.get(config.model)
    if spec is None:
        raise CatdogError(f"Unknown model '{config.model}'. Choose one of {', '.join(MODEL_SPECS)}.")
    inputs = keras.Input(shape=(*image_size, 3), name="image")
    x = inputs
    if spec.preprocessing:
        x = preprocessing_layer()(x)
    if spec.augmentation:
        x = build_augmentation(config.flip_mode, config.rotation_factor, config.fill_mode, seed=config.seed)(x)
    if spec.mobilenet:
        weights = resolve_mobilenet_weights(config.weights) if pretrained else None
        base = build_mobilenet_base(weights, image_size)
        outputs = mobilenet_head(base(x, training=False), seed=config.seed)
    else:
        outputs = _small_cnn(x)
    model = keras.Model(inputs, outputs, name=spec.name)
    if compile:
        compile_model(model, config.learning_rate)
    return model


def compile_model(model, learning_rate: float, accumulation_steps: int = 1) -> None:
    """Compile with the course's optimizer (Adam), loss and metric.

    Args:
        model: any catdog model.
        learning_rate: Adam's step size.
        accumulation_steps: ≥ 2: Adam applies the mean gradient of every
            ``accumulation_steps`` steps (``gradient_accumulation_steps``; feed it
            batches from :func:`catdog.data.split_batches`); 1: every step.
    """
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(
            learning_rate, gradient_accumulation_steps=accumulation_steps if accumulation_steps > 1 else None),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )


def build_feature_head(config: TrainConfig, feature_dim: int = 1280, *, compile: bool = True):
    """model4's head alone, for training on cached features (see :mod:`catdog.features`).

    Same layers and names as the end of model4 after pooling:
    ``head_dropout`` (Dropout(0.2), seeded with ``config.seed``) → ``logits`` (Dense(2)).

    Args:
        config: seed and learning rate.
        feature_dim: length of a pooled MobileNetV2 feature vector (1,280 for alpha 1.0).
        compile: compile like :func:`build_model`.

    Returns:
        A ``keras.Model`` named ``model4_head``: float32 (batch, feature_dim) → logits (batch, 2).
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=(feature_dim,), name="features")
    x = layers.Dropout(0.2, seed=config.seed, name="head_dropout")(inputs)
    outputs = layers.Dense(2, name="logits")(x)
    head = keras.Model(inputs, outputs, name="model4_head")
    if compile:
        compile_model(head, config.learning_rate)
    return head


def copy_head_weights(head, model) -> None:
    """Copy the ``logits`` Dense weights of ``head`` (or a list of its weight arrays) into ``model``.

    Args:
        head: a model from :func:`build_feature_head`, or ``[kernel (D, 2), bias (2,)]`` float32 arrays.
        model: a model4; its ``logits`` layer is overwritten.

    Raises:
        ValueError: ``head`` or ``model`` has no ``logits`` layer, or the weights' shapes do not fit it.
    """
    weights = head if isinstance(head, (list, tuple)) else head.get_layer("logits").get_weights()
    model.get_layer("logits").set_weights(weights)


def unfreeze_base(model, fine_tune_at: int = 100):
    """Make the top of model4's MobileNetV2 trainable for fine-tuning.

    Layers ``fine_tune_at`` and later of the base become trainable, earlier ones
    stay frozen, and so do all BatchNormalization layers, as the Keras guide to
    transfer learning advises: a frozen BatchNormalization layer runs in inference
    mode.  The TensorFlow tutorial relies on calling the base with ``training=False``
    instead, but Keras 3 (3.15) passes ``fit``'s ``training=True`` on to the layers of a
    nested functional model: the unfrozen BatchNormalization layers normalized each
    micro-batch of 8 by its own statistics and moved their running statistics
    towards augmented images.  Measured 3 Dec 2026 (``fit`` of one epoch at learning
    rate 0, so no weight changed, 224×224, 4 micro-batches): training accuracy
    70.9 % (loss 2.63), against 94.7 % (0.268) with BatchNormalization frozen and
    94.9 % for the same images through ``model(x, training=True)``.  Recompile
    afterwards.

    Args:
        model: a model4.
        fine_tune_at: index into the base's layers (0 … number of layers; the
            tutorial uses 100 of 154).

    Returns:
        The base (``keras.Model`` named :data:`MOBILENET_LAYER`).

    Raises:
        CatdogError: ``model`` has no MobileNetV2 base, or ``fine_tune_at`` is out of range.
    """
    try:
        base = model.get_layer(MOBILENET_LAYER)
    except ValueError as err:
        raise CatdogError("Fine-tuning needs model4 (MobileNetV2 transfer learning).") from err
    n = len(base.layers)
    if not 0 <= fine_tune_at <= n:
        raise CatdogError(f"'Unfreeze from layer' must lie between 0 and {n} (MobileNetV2 has {n} layers).")
    import keras

    base.trainable = True
    for index, layer in enumerate(base.layers):
        layer.trainable = index >= fine_tune_at and not isinstance(layer, keras.layers.BatchNormalization)
    return base


def parameter_counts(model) -> dict[str, int]:
    """Trainable, non-trainable and total parameter counts of a built model (or layer).

    Returns:
        ``{"trainable", "non_trainable", "total"}``: numbers of scalar weights, as ``model.summary()`` counts them.
    """
    import numpy as np

    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    frozen = int(sum(np.prod(w.shape) for w in model.non_trainable_weights))
    return {"trainable": trainable, "non_trainable": frozen, "total": trainable + frozen}


def input_size(model) -> tuple[int, int]:
    """(height, width) in pixels of the images a built or loaded model takes.

    Read from ``model.input_shape`` (batch, height, width, 3), so a model trained
    at 224×224 gets 224×224 images in the Classifier and evaluation.

    Raises:
        CatdogError: the input is not a batch of fixed-size RGB images.
    """
    shape = tuple(getattr(model, "input_shape", None) or ())
    if len(shape) != 4 or shape[-1] != 3 or not all(isinstance(v, int) and v > 0 for v in shape[1:3]):
        raise CatdogError(f"This model takes inputs of shape {shape}, not a batch of fixed-size RGB images "
                          "(batch, height, width, 3); it was not made by catdog.")
    return int(shape[1]), int(shape[2])


def layer_table(model) -> list[dict]:
    """One row per top-level layer, like ``model.summary(show_trainable=True)``.

    Returns:
        Dicts with ``layer`` (name), ``type`` (class name), ``output shape`` (string, batch as ``None``),
        ``params`` (all of the layer's weights, int) and ``trainable``: ``"yes"`` when training changes all of
        them, ``"no"`` when none (model4's frozen MobileNetV2), ``"partly"`` when some (MobileNetV2 unfrozen from a
        layer on: its BatchNormalization statistics and earlier layers stay), ``None`` for a layer without weights
        (Keras's summary prints Y, N and -; it says Y for a partly trainable layer).
    """
    rows = []
    for layer in model.layers:
        try:
            shape = str(tuple(layer.output.shape))
        except (AttributeError, ValueError):
            shape = "?"
        counts = parameter_counts(layer)
        trainable = (None if not layer.weights else "no" if not counts["trainable"] else
                     "yes" if not counts["non_trainable"] else "partly")
        rows.append({"layer": layer.name, "type": type(layer).__name__, "output shape": shape,
                     "params": counts["total"], "trainable": trainable})
    return rows


def save_for_inference(model, path: str | os.PathLike) -> None:
    """Save ``model`` as a ``.keras`` file of its architecture and weights, without the optimizer's state.

    A trained model's own ``save`` also stores Adam's two slots per trainable weight: a model1
    file holds 3 × its 21 MB of weights (64 MB, 128 MB per run with ``best.keras``), a fine-tuned
    model4 file 25–32 MB instead of 9.6 MB.  Saved models only serve inference here (:func:`load_model`
    loads them uncompiled), so the file is written from a functional model over the same layers
    (``keras.Model(model.input, model.output)``: same layers, names and weights, no optimizer,
    no compile settings).  It goes to a temporary name in the same folder first and then replaces
    ``path`` (``os.replace``), so a reader never meets half a file.

    Args:
        model: a functional ``keras.Model`` (every registry model is one).
        path: the ``.keras`` file to (re)write; its folder must exist.

    Raises:
        OSError: the folder is missing or cannot be written (the temporary file is removed).
    """
    import keras

    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{id(model):x}.tmp.keras")
    try:
        keras.Model(model.input, model.output, name=model.name).save(tmp)  # input structure as built
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load_model(path: str | os.PathLike):
    """Load a saved ``.keras`` model (the whole pipeline, image → logits) for inference.

    Not compiled: prediction, evaluation and Grad-CAM need no optimizer, and
    skipping it loads faster and without optimizer-state warnings.

    Raises:
        CatdogError: the file is missing or not a Keras model.
    """
    import keras

    path = Path(path)
    if path.is_dir():
        inside = path / "model.keras"
        raise CatdogError(f"'{path}' is a folder, not a .keras file" + (
            f"; the run's final model is '{inside}'." if inside.is_file() else "."))
    if not path.is_file():
        raise CatdogError(f"The model file '{path}' does not exist.")
    if not zipfile.is_zipfile(path):
        raise CatdogError(f"'{path}' is not a Keras model file: a .keras file is a zip archive, as Keras's "
                          "model.save writes it, and this one is damaged or something else.")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as err:
        raise CatdogError(f"'{path}' could not be loaded as a Keras model: {err}") from err
