"""Explain a trained model: evaluation on a split and Grad-CAM heatmaps.

- :func:`evaluate_split` runs a model over a split (``(path, label)`` pairs as in
  :class:`catdog.data.Splits`) and returns an :class:`Evaluation`: confusion
  matrix, accuracy, per-class precision and recall, and the misclassified
  images with their probabilities.
- :func:`grad_cam` makes a Grad-CAM heatmap (Selvaraju et al., 2017) for one
  image: which regions of the last convolutional feature map raised the logit
  of a class.  :func:`overlay` paints it over the image.

Plotly figures of these live in :mod:`catdog.charts_explain`.  No Streamlit here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from catdog.charts_explain import confusion_figure  # re-exported: the figure of an Evaluation
from catdog.config import CLASS_NAMES
from catdog.errors import CatdogError

__all__ = [
    "Evaluation", "Misclassified", "confusion_figure", "evaluate_split", "grad_cam", "jet",
    "last_conv_layer", "overlay", "summarize",
]

# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class Misclassified:
    """One image the model got wrong.

    Attributes:
        index: position in the evaluated split.
        path: the image file.
        true_label: the label index from the split.
        predicted_label: the model's class index (argmax of the probabilities).
        probabilities: float64 (classes,), summing to 1.
        confidence: probability of the (wrong) predicted class, in [0, 1].
    """

    index: int
    path: str
    true_label: int
    predicted_label: int
    probabilities: np.ndarray
    confidence: float


@dataclass(frozen=True, eq=False)
class Evaluation:
    """A model's results on one split.

    Attributes:
        class_names: class names in label order.
        paths: the image files, in split order, length n.
        labels: int64 (n,) true label indices.
        predictions: int64 (n,) predicted label indices (argmax of probabilities).
        probabilities: float64 (n, classes), softmax of the logits, rows sum to 1.
        confusion: int64 (classes, classes); ``confusion[t, p]`` counts images of
            true class ``t`` predicted as ``p`` (rows = true, columns =
            predicted); sums to n.
        accuracy: fraction in [0, 1] of images predicted correctly (0 when n = 0).
        per_class: ``{class name: {"precision", "recall", "support"}}``;
            precision = correct / predicted as the class, recall = correct /
            images of the class, both in [0, 1] and 0.0 when undefined (the class
            was never predicted / has no image, as scikit-learn's default);
            support = images of the class (int).
    """

    class_names: tuple[str, ...]
    paths: tuple[str, ...]
    labels: np.ndarray
    predictions: np.ndarray
    probabilities: np.ndarray
    confusion: np.ndarray
    accuracy: float
    per_class: dict[str, dict[str, float]]

    @property
    def size(self) -> int:
        """Number of images evaluated."""
        return len(self.paths)

    def row_rates(self) -> np.ndarray:
        """float64 (classes, classes): each confusion row divided by its sum (0 for empty rows)."""
        totals = self.confusion.sum(axis=1, keepdims=True)
        return np.divide(self.confusion, totals, out=np.zeros(self.confusion.shape), where=totals > 0)

    def misclassified(self) -> list[Misclassified]:
        """The wrongly predicted images, most confidently wrong first (ties in split order)."""
        wrong = np.flatnonzero(self.predictions != self.labels)
        items = [
            Misclassified(
                index=int(i),
                path=self.paths[i],
                true_label=int(self.labels[i]),
                predicted_label=int(self.predictions[i]),
                probabilities=self.probabilities[i].copy(),
                confidence=float(self.probabilities[i, self.predictions[i]]),
            )
            for i in wrong
        ]
        return sorted(items, key=lambda m: (-m.confidence, m.index))


def summarize(
    labels: Sequence[int], probabilities: np.ndarray, class_names: Sequence[str] = CLASS_NAMES,
    paths: Sequence[str] | None = None,
) -> Evaluation:
    """Build an :class:`Evaluation` from true labels and predicted probabilities.

    Args:
        labels: n true label indices in ``[0, classes)``.
        probabilities: (n, classes) class probabilities (rows summing to 1).
        class_names: class names in label order.
        paths: n file names; ``None`` numbers the images ``"0"``, ``"1"``, ….

    Returns:
        The :class:`Evaluation`; ``labels`` and ``predictions`` as int64, ``probabilities`` as float64.

    Raises:
        ValueError: shapes disagree or a label is out of range.
    """
    class_names = tuple(class_names)
    n_classes = len(class_names)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    probabilities = np.asarray(probabilities, dtype=np.float64).reshape(len(labels), -1)
    if probabilities.shape[1] != n_classes:
        raise ValueError(f"probabilities have {probabilities.shape[1]} columns, expected {n_classes}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes})")
    paths = tuple(str(p) for p in paths) if paths is not None else tuple(str(i) for i in range(len(labels)))
    if len(paths) != len(labels):
        raise ValueError(f"{len(paths)} paths for {len(labels)} labels")
    predictions = probabilities.argmax(axis=1).astype(np.int64) if labels.size else np.zeros(0, np.int64)
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(confusion, (labels, predictions), 1)
    correct = np.diag(confusion)
    predicted, actual = confusion.sum(axis=0), confusion.sum(axis=1)
    per_class = {
        name: {
            "precision": float(correct[i] / predicted[i]) if predicted[i] else 0.0,
            "recall": float(correct[i] / actual[i]) if actual[i] else 0.0,
            "support": int(actual[i]),
        }
        for i, name in enumerate(class_names)
    }
    accuracy = float(correct.sum() / len(labels)) if len(labels) else 0.0
    return Evaluation(class_names, paths, labels, predictions, probabilities, confusion, accuracy, per_class)


def evaluate_split(
    model,
    items: Sequence[tuple[str, int]],
    class_names: Sequence[str] = CLASS_NAMES,
    *,
    image_size: tuple[int, int] | None = None,
    batch_size: int = 32,
) -> Evaluation:
    """Run ``model`` over a split and compare with the true labels.

    Images are decoded and resized by :func:`catdog.data.make_dataset` (no
    cache, no shuffle), exactly as during training, and the model is called in
    inference mode (augmentation and dropout off).

    Args:
        model: a registry model, float32 (batch, h, w, 3) in [0, 255] → logits
            (batch, classes).
        items: ``(path, label)`` pairs, e.g. ``splits.test``.
        class_names: class names in label order.
        image_size: (height, width) images are resized to; ``None``: the
            model's input size (:func:`catdog.models.input_size`).
        batch_size: images per model call.

    Returns:
        An :class:`Evaluation`; its confusion matrix sums to ``len(items)``.

    Raises:
        CatdogError: ``items`` is empty, or the model's output does not have one
            column per class, or (``image_size`` ``None``) its input is not a batch
            of fixed-size RGB images (:func:`catdog.models.input_size`), or a file of ``items`` is gone or cannot
            be decoded (:func:`catdog.data.changed_file_message`).
    """
    import tensorflow as tf

    from catdog.data import changed_file_message, make_dataset
    from catdog.models import input_size
    from catdog.predict import softmax

    image_size = image_size or input_size(model)
    items = [(str(p), int(y)) for p, y in items]
    dataset = make_dataset(items, image_size=image_size, batch_size=batch_size, shuffle=False, cache=False)
    try:
        logits = [np.asarray(model.predict_on_batch(images)) for images, _ in dataset]
    except tf.errors.OpError as err:  # a file moved or deleted since the split was made: a traceback (QA)
        raise CatdogError(changed_file_message("An image of the split", err)) from err
    logits = np.concatenate(logits, axis=0)
    if logits.ndim != 2 or logits.shape[1] != len(class_names):
        raise CatdogError(
            f"The model gives {logits.shape[-1]} outputs per image but the data has "
            f"{len(class_names)} classes ({', '.join(class_names)}); it was trained on other data."
        )
    return summarize([y for _, y in items], softmax(logits), class_names, [p for p, _ in items])


# --------------------------------------------------------------------------- Grad-CAM

_CONV_TYPES = ("Conv1D", "Conv2D", "Conv3D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose")


def _has_conv(layer) -> bool:
    """Whether ``layer`` is a convolution or a nested model (at any depth) holding one."""
    if type(layer).__name__ in _CONV_TYPES:
        return True
    return any(_has_conv(sub) for sub in getattr(layer, "layers", ()))


def _is_feature_layer(layer) -> bool:
    """A convolution, or a nested model that contains one, with a 4-D output."""
    if not _has_conv(layer):
        return False
    try:
        return len(layer.output.shape) == 4
    except (AttributeError, ValueError):
        return False


def _layer_chain(model) -> list:
    """The model's top-level layers after the input, checked to form a single chain.

    Raises:
        CatdogError: the model has several inputs/outputs or branches, so it
            cannot be run layer by layer.
    """
    import keras

    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    problem = len(model.inputs) != 1 or len(model.outputs) != 1 or not layers
    previous = None
    for layer in layers:
        nodes = getattr(layer, "_inbound_nodes", None)
        if nodes is None:  # Keras internals changed: trust the layer order.
            break
        parents = [parent.operation for parent in nodes[0].parent_nodes] if len(nodes) == 1 else None
        expected = [previous] if previous is not None else None
        if parents is None or (expected is None and len(parents) > 1) or (expected and parents != expected):
            problem = True
            break
        previous = layer
    if problem:
        raise CatdogError(
            f"Grad-CAM works on models whose layers form one chain (like model1–model4); "
            f"'{model.name}' has branches or several inputs."
        )
    return layers


def last_conv_layer(model) -> str:
    """Name of the top-level layer whose output :func:`grad_cam` explains.

    Rule: the last top-level layer (in the model's layer order) that is a
    convolution (``Conv2D``, ``DepthwiseConv2D``, ``SeparableConv2D`` …) or a
    nested model containing convolutions, and whose output is 4-D
    (batch, height, width, channels).  For model1–3 that is ``conv3``
    (36×36×64 at 160 px); for model4 the nested ``mobilenetv2_base``, whose
    output is MobileNetV2's last convolutional feature map (5×5×1280 at 160 px).

    Raises:
        CatdogError: the model has no such layer.
    """
    import keras

    for layer in reversed(model.layers):
        if not isinstance(layer, keras.layers.InputLayer) and _is_feature_layer(layer):
            return layer.name
    raise CatdogError(f"'{model.name}' has no convolutional layer, so Grad-CAM cannot explain it.")


def grad_cam(
    model, image: np.ndarray, class_index: int | None = None, *, layer_name: str | None = None
) -> np.ndarray:
    """Grad-CAM heatmap of one image: where the model looked for ``class_index``.

    The model is run layer by layer in inference mode (augmentation and dropout
    off); at the feature layer (:func:`last_conv_layer` unless ``layer_name``
    is given) a ``tf.GradientTape`` records the feature map A (h, w, k) and the
    gradient of the class's logit y with respect to it.  Channel weights are
    the spatially averaged gradients w_k = mean(∂y/∂A_k); the map is
    ``relu(Σ_k w_k A_k)`` (Selvaraju et al., 2017), resized bilinearly to the
    image size and divided by its maximum.  Works on built and on reloaded
    (``keras.models.load_model``) models.

    Args:
        model: a chain-shaped image → logits model (all registry models).
        image: float (H, W, 3) in [0, 255], the size the model takes (e.g. from
            :func:`catdog.images.to_model_input`).
        class_index: the class to explain; ``None`` means the predicted one.
        layer_name: explain this top-level layer's output instead.

    Returns:
        float32 (H, W) in [0, 1]; all zeros when no region raised the logit
        (never NaN).

    Raises:
        CatdogError: the model has no convolutional layer (:func:`last_conv_layer`), its layers do not form one
            chain (branches, several inputs or outputs), ``layer_name`` is not one of its top-level layers, or
            ``class_index`` is out of range.
        ValueError: ``image`` is not (H, W, 3).
    """
    import tensorflow as tf

    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"image must have shape (height, width, 3), not {image.shape}")
    target = layer_name or last_conv_layer(model)
    layers = _layer_chain(model)
    if target not in [layer.name for layer in layers]:
        raise CatdogError(f"'{model.name}' has no top-level layer '{target}'.")
    x = tf.convert_to_tensor(image[None])
    fmap = None
    with tf.GradientTape() as tape:
        for layer in layers:
            x = layer(x, training=False)
            if layer.name == target:
                fmap = tf.convert_to_tensor(x)
                tape.watch(fmap)
                x = fmap
        logits = x
        n_classes = int(logits.shape[-1])
        if class_index is None:
            class_index = int(tf.argmax(logits[0]))
        if not 0 <= class_index < n_classes:
            raise CatdogError(f"Class index {class_index} is out of range; the model has {n_classes} classes.")
        score = logits[0, class_index]
    grads = tape.gradient(score, fmap)
    if grads is None:  # The logit does not depend on the map (should not happen in a chain).
        return np.zeros(image.shape[:2], dtype=np.float32)
    weights = tf.reduce_mean(grads[0], axis=(0, 1))  # (k,)
    cam = tf.nn.relu(tf.reduce_sum(fmap[0] * weights, axis=-1))  # (h, w)
    cam = tf.image.resize(cam[..., None], image.shape[:2], method="bilinear")[..., 0].numpy()
    cam = np.nan_to_num(cam.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    peak = float(cam.max())
    if peak <= 1e-12:
        return np.zeros(image.shape[:2], dtype=np.float32)
    return np.clip(cam / peak, 0.0, 1.0).astype(np.float32)


def jet(values: np.ndarray) -> np.ndarray:
    """A jet-like colour map (blue → cyan → yellow → red) in plain NumPy.

    The usual piecewise-linear approximation of MATLAB's and matplotlib's ``jet`` (the colour map of the
    Keras Grad-CAM example, keras.io/examples/vision/grad_cam): channel = clip(1.5 − |4v − c|, 0, 1) with
    c = 3, 2, 1 for red, green, blue, so they peak at v = 3/4, 1/2, 1/4.

    Args:
        values: any shape, in [0, 1] (clipped).

    Returns:
        uint8 array of shape ``values.shape + (3,)``, RGB.
    """
    v = np.clip(np.asarray(values, dtype=np.float32), 0.0, 1.0)[..., None]
    centres = np.array([3.0, 2.0, 1.0], dtype=np.float32)  # red, green, blue peaks at 3/4, 1/2, 1/4
    rgb = np.clip(1.5 - np.abs(4.0 * v - centres), 0.0, 1.0)
    return np.rint(rgb * 255.0).astype(np.uint8)


def overlay(image, heatmap: np.ndarray, alpha: float = 0.4):
    """Paint a heatmap over an image.

    Args:
        image: ``PIL.Image`` or array (H, W, 3), uint8 or float in [0, 255].
        heatmap: (h, w) in [0, 1]; resized bilinearly to (H, W) when different.
        alpha: weight of the colours, in [0, 1]; 0 gives the image, 1 the map.  The default 0.4 is the
            heatmap weight of the Keras Grad-CAM example (keras.io/examples/vision/grad_cam), which adds
            ``alpha × jet`` to the full image instead of blending.

    Returns:
        RGB ``PIL.Image`` of size (W, H): ``(1 - alpha) * image + alpha * jet(heatmap)``.

    Raises:
        ValueError: ``alpha`` outside [0, 1], or shapes that are not (H, W, 3)
            and (h, w).
    """
    from PIL import Image

    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], not {alpha}")
    if isinstance(image, Image.Image):
        image = image.convert("RGB")
    base = np.clip(np.asarray(image, dtype=np.float32), 0.0, 255.0)
    heat = np.asarray(heatmap, dtype=np.float32)
    if base.ndim != 3 or base.shape[-1] != 3 or heat.ndim != 2:
        raise ValueError(f"expected image (H, W, 3) and heatmap (h, w), got {base.shape} and {heat.shape}")
    if heat.shape != base.shape[:2]:
        resized = Image.fromarray(np.nan_to_num(heat), "F").resize(
            (base.shape[1], base.shape[0]), Image.Resampling.BILINEAR
        )
        heat = np.asarray(resized, dtype=np.float32)
    colours = jet(np.nan_to_num(heat)).astype(np.float32)
    blended = (1.0 - alpha) * base + alpha * colours
    return Image.fromarray(np.clip(np.rint(blended), 0, 255).astype(np.uint8), "RGB")
