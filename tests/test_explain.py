"""Evaluation on a split, the confusion matrix figure, Grad-CAM and its overlay."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from catdog.config import TrainConfig
from catdog.errors import CatdogError
from catdog.explain import (
    Evaluation,
    confusion_figure,
    evaluate_split,
    grad_cam,
    jet,
    last_conv_layer,
    overlay,
    summarize,
)
from catdog.images import to_model_input
from tests.conftest import needs_weights
from tests.synthetic import synthetic_image


@pytest.fixture(scope="module")
def two_images() -> tuple[np.ndarray, np.ndarray]:
    """A synthetic cat and dog as model input: float32 (160, 160, 3) in [0, 255]."""
    return to_model_input(synthetic_image(0, 1)), to_model_input(synthetic_image(1, 2))


def build(name: str):
    import keras

    from catdog.models import build_model

    keras.utils.set_random_seed(0)
    return build_model(TrainConfig(model=name), compile=False)


def reload(model, tmp_path):
    import keras

    path = tmp_path / f"{model.name}.keras"
    model.save(path)
    return keras.models.load_model(path)


def check_heatmap(heatmap: np.ndarray, shape=(160, 160)) -> None:
    assert heatmap.shape == shape and heatmap.dtype == np.float32
    assert np.isfinite(heatmap).all()
    assert heatmap.min() >= 0.0 and heatmap.max() <= 1.0
    assert heatmap.max() == pytest.approx(1.0) or not heatmap.any()  # normalised, or nothing found


# --------------------------------------------------------------------------- Grad-CAM


def reference_grad_cam(model, image, layer_name, class_index):
    """Grad-CAM as the keras.io example computes it, through a two-output model."""
    import keras
    import tensorflow as tf

    grad_model = keras.Model(model.inputs, [model.get_layer(layer_name).output, model.output])
    with tf.GradientTape() as tape:
        fmap, logits = grad_model([image[None]], training=False)
        score = logits[:, class_index]
    grads = tape.gradient(score, fmap)
    cam = tf.nn.relu(tf.reduce_sum(fmap[0] * tf.reduce_mean(grads[0], axis=(0, 1)), axis=-1))
    cam = tf.image.resize(cam[..., None], image.shape[:2], method="bilinear")[..., 0].numpy()
    return cam / cam.max()


def test_grad_cam_model1(two_images, tmp_path):
    cat, dog = two_images
    model = build("model1")
    assert last_conv_layer(model) == "conv3"
    heat_cat, heat_dog = grad_cam(model, cat, 0), grad_cam(model, dog, 0)
    check_heatmap(heat_cat)
    check_heatmap(heat_dog)
    assert np.abs(heat_cat - heat_dog).mean() > 1e-3
    np.testing.assert_allclose(heat_cat, reference_grad_cam(model, cat, "conv3", 0), atol=1e-4)
    reloaded = reload(model, tmp_path)
    assert last_conv_layer(reloaded) == "conv3"
    np.testing.assert_allclose(grad_cam(reloaded, cat, 0), heat_cat, atol=1e-5)


@pytest.mark.parametrize("name", ["model2", "model3"])
def test_grad_cam_models_with_preprocessing_and_augmentation(name, two_images):
    cat, dog = two_images
    model = build(name)
    assert last_conv_layer(model) == "conv3"
    for class_index in (0, 1):
        heat = grad_cam(model, cat, class_index)
        check_heatmap(heat)
        np.testing.assert_array_equal(heat, grad_cam(model, cat, class_index))  # augmentation is off
    # Untrained, a class's map can be all zero (relu); some class tells the images apart.
    assert any(not np.allclose(grad_cam(model, cat, c), grad_cam(model, dog, c)) for c in (0, 1))


@needs_weights
def test_grad_cam_model4(two_images, tmp_path):
    from catdog.models import MOBILENET_LAYER

    cat, dog = two_images
    model = build("model4")
    assert last_conv_layer(model) == MOBILENET_LAYER
    assert tuple(model.get_layer(MOBILENET_LAYER).output.shape) == (None, 5, 5, 1280)
    heat_cat, heat_dog = grad_cam(model, cat), grad_cam(model, dog)
    check_heatmap(heat_cat)
    check_heatmap(heat_dog)
    assert np.abs(heat_cat - heat_dog).mean() > 1e-3
    reloaded = reload(model, tmp_path)
    assert last_conv_layer(reloaded) == MOBILENET_LAYER
    np.testing.assert_allclose(grad_cam(reloaded, cat), heat_cat, atol=1e-4)


def test_grad_cam_class_choice_and_errors(two_images):
    cat, _ = two_images
    model = build("model1")
    predicted = int(np.argmax(model.predict_on_batch(cat[None])[0]))
    np.testing.assert_array_equal(grad_cam(model, cat), grad_cam(model, cat, predicted))
    with pytest.raises(CatdogError, match="out of range"):
        grad_cam(model, cat, 2)
    with pytest.raises(ValueError, match="height, width, 3"):
        grad_cam(model, cat[..., 0])
    with pytest.raises(CatdogError, match="no top-level layer"):
        grad_cam(model, cat, layer_name="nope")


def test_grad_cam_flat_map_gives_zeros_not_nan(two_images):
    cat, _ = two_images
    model = build("model1")
    logits = model.get_layer("logits")
    logits.set_weights([np.zeros_like(w) for w in logits.get_weights()])
    heat = grad_cam(model, cat, 0)
    assert heat.shape == (160, 160) and heat.dtype == np.float32
    assert not heat.any()


def test_grad_cam_refuses_branching_model():
    import keras

    inputs = keras.Input((32, 32, 3))
    a = keras.layers.Conv2D(4, 3, name="a")(inputs)
    b = keras.layers.Conv2D(4, 3, name="b")(inputs)
    outputs = keras.layers.Dense(2)(keras.layers.Flatten()(keras.layers.Add()([a, b])))
    model = keras.Model(inputs, outputs, name="branches")
    with pytest.raises(CatdogError, match="one chain"):
        grad_cam(model, np.zeros((32, 32, 3), np.float32))
    with pytest.raises(CatdogError, match="no convolutional layer"):
        last_conv_layer(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)], name="dense_only"))


def test_overlay():
    image = np.full((20, 30, 3), 100, np.uint8)
    heat = np.zeros((20, 30), np.float32)
    heat[:, 15:] = 1.0
    result = overlay(image, heat, alpha=0.5)
    assert isinstance(result, Image.Image) and result.mode == "RGB" and result.size == (30, 20)
    pixels = np.asarray(result).astype(int)
    np.testing.assert_allclose(pixels[0, 0], (50, 50, 114), atol=1)  # half dark blue
    np.testing.assert_allclose(pixels[0, -1], (114, 50, 50), atol=1)  # half dark red
    np.testing.assert_array_equal(np.asarray(overlay(image.astype(np.float32), heat, 0.0)), image)
    small = overlay(Image.fromarray(image), np.eye(4, dtype=np.float32), 0.3)  # map resized
    assert small.size == (30, 20)
    with pytest.raises(ValueError, match="alpha"):
        overlay(image, heat, 1.5)


def test_jet_endpoints():
    colours = jet(np.array([0.0, 0.5, 1.0]))
    np.testing.assert_array_equal(colours, [[0, 0, 128], [128, 255, 128], [128, 0, 0]])


# --------------------------------------------------------------------------- evaluation


@pytest.fixture(scope="module")
def test_split(synthetic_data):
    from catdog.data import make_splits, scan_dataset

    return make_splits(scan_dataset(synthetic_data), validation_size=8, test_size=12, seed=1)


class ColourModel:
    """A stand-in model: logits = (mean red, mean blue); right on the synthetic data."""

    input_shape = (None, 160, 160, 3)

    def predict_on_batch(self, images):
        array = np.asarray(images, dtype=np.float32)
        return np.stack([array[..., 0].mean(axis=(1, 2)), array[..., 2].mean(axis=(1, 2))], axis=1) / 50.0


class AlwaysCats:
    input_shape = (None, 160, 160, 3)

    def predict_on_batch(self, images):
        return np.tile([[2.0, 0.0]], (len(images), 1))


def test_evaluate_split_counts_add_up(test_split):
    items = test_split.test
    evaluation = evaluate_split(build("model1"), items, test_split.class_names, batch_size=5)
    assert isinstance(evaluation, Evaluation)
    n = len(items)
    assert evaluation.size == n and evaluation.confusion.sum() == n
    assert evaluation.confusion.shape == (2, 2) and evaluation.confusion.dtype.kind == "i"
    np.testing.assert_array_equal(evaluation.confusion.sum(axis=1), [6, 6])
    assert evaluation.probabilities.shape == (n, 2)
    np.testing.assert_allclose(evaluation.probabilities.sum(axis=1), 1.0)
    assert evaluation.paths == tuple(p for p, _ in items)
    np.testing.assert_array_equal(evaluation.labels, [y for _, y in items])
    correct = np.trace(evaluation.confusion)
    assert evaluation.accuracy == pytest.approx(correct / n)
    assert len(evaluation.misclassified()) == n - correct


def test_evaluate_split_says_when_a_file_of_the_split_is_gone(test_split):
    # removed after the split was read: a NotFoundError traceback on the Classifier (QA)
    items = [*test_split.test[:2], (str(Path(test_split.test[0][0]).with_name("gone.jpg")), 0)]
    with pytest.raises(CatdogError, match="An image of the split is gone: the dataset folder has changed"):
        evaluate_split(AlwaysCats(), items, test_split.class_names, batch_size=5)


def test_evaluate_split_resizes_to_the_models_input_size(test_split):
    import keras

    from catdog.models import build_model

    keras.utils.set_random_seed(0)
    small = build_model(TrainConfig(model="model1"), image_size=(48, 48), compile=False)
    evaluation = evaluate_split(small, test_split.test, test_split.class_names)
    assert evaluation.confusion.sum() == len(test_split.test)


def test_evaluate_split_perfect_and_constant_models(test_split):
    items = test_split.test
    perfect = evaluate_split(ColourModel(), items, test_split.class_names, batch_size=4)
    np.testing.assert_array_equal(perfect.confusion, [[6, 0], [0, 6]])
    assert perfect.accuracy == 1.0 and perfect.misclassified() == []
    assert perfect.per_class["cats"] == {"precision": 1.0, "recall": 1.0, "support": 6}

    constant = evaluate_split(AlwaysCats(), items, test_split.class_names)
    np.testing.assert_array_equal(constant.confusion, [[6, 0], [6, 0]])
    assert constant.accuracy == 0.5
    assert constant.per_class["cats"] == {"precision": 0.5, "recall": 1.0, "support": 6}
    assert constant.per_class["dogs"] == {"precision": 0.0, "recall": 0.0, "support": 6}
    wrong = constant.misclassified()
    assert len(wrong) == 6 and {m.true_label for m in wrong} == {1} and {m.predicted_label for m in wrong} == {0}
    assert wrong[0].confidence == pytest.approx(1 / (1 + np.exp(-2.0)))
    np.testing.assert_allclose(wrong[0].probabilities.sum(), 1.0)


def test_evaluate_split_wrong_class_count(test_split):
    with pytest.raises(CatdogError, match="2 outputs per image but the data has 3 classes"):
        evaluate_split(AlwaysCats(), test_split.test, ("cats", "dogs", "birds"))


def test_summarize_and_misclassified_order():
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    evaluation = summarize([0, 0, 1, 1], probabilities, ("cats", "dogs"), ["a", "b", "c", "d"])
    np.testing.assert_array_equal(evaluation.confusion, [[1, 1], [1, 1]])
    assert [m.path for m in evaluation.misclassified()] == ["b", "c"]  # 0.8 before 0.6
    np.testing.assert_allclose(evaluation.row_rates(), [[0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(ValueError):
        summarize([0, 2], probabilities[:2])


def test_confusion_figure():
    probabilities = np.array([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.3, 0.7]])
    evaluation = summarize([0, 0, 1, 1], probabilities, ("cats", "dogs"))
    figure = confusion_figure(evaluation)
    (heatmap,) = figure.data
    assert heatmap.type == "heatmap"
    np.testing.assert_allclose(np.asarray(heatmap.z), [[1.0, 0.0], [0.5, 0.5]])
    np.testing.assert_array_equal(np.asarray(heatmap.customdata), [[2, 0], [1, 1]])
    assert list(heatmap.x) == ["cats", "dogs"] and list(heatmap.y) == ["cats", "dogs"]
    assert heatmap.text[0][0] == "2<br>100.0%" and heatmap.text[1][0] == "1<br>50.0%"  # as the per-class table
    assert figure.layout.xaxis.title.text == "predicted class"
    assert figure.layout.yaxis.title.text == "true class"
    tagged = confusion_figure(summarize([0, 0, 1, 1], probabilities, ("<i>cats", "dogs")))  # as typed (QA L)
    assert list(tagged.data[0].x) == ["&lt;i&gt;cats", "dogs"]
    assert "75.0%" in figure.layout.title.text
