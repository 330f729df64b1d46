"""The model registry: layers, parameter counts, weights handling."""

import numpy as np
import pytest

from catdog.config import TrainConfig
from catdog.errors import CatdogError
from catdog.models import (MOBILENET_LAYER, build_model, default_input_size, input_size, layer_table,
                           parameter_counts, resolve_mobilenet_weights, unfreeze_base, weights_file_problem,
                           weights_image_size)
from tests.conftest import SHARED_WEIGHTS, needs_weights

# 160 → conv 158 → pool 79 → conv 77 → pool 38 → conv 36: flatten 36·36·64 = 82,944 features.
# conv1 (3·3·3+1)·32 + conv2 (3·3·32+1)·32 + conv3 (3·3·32+1)·64 + dense (82,944+1)·64 + logits (64+1)·2
SMALL_CNN_PARAMS = 896 + 9_248 + 18_496 + 5_308_480 + 130  # = 5,337,250


@pytest.mark.parametrize("name", ["model1", "model2", "model3"])
def test_cnn_models_have_the_course_parameter_count(name):
    model = build_model(TrainConfig(model=name))
    assert parameter_counts(model) == {"trainable": SMALL_CNN_PARAMS, "non_trainable": 0, "total": SMALL_CNN_PARAMS}
    assert model.output_shape == (None, 2)


def test_models_differ_only_by_their_front():
    names = {m: [row["layer"] for row in layer_table(build_model(TrainConfig(model=m), compile=False))]
             for m in ("model1", "model2", "model3")}
    assert names["model2"] == ["image", "augmentation"] + names["model1"][1:]
    assert names["model3"] == ["image", "preprocess", "augmentation"] + names["model1"][1:]


def test_model4_has_frozen_base_and_small_head():
    model = build_model(TrainConfig(model="model4"), pretrained=False)
    base = model.get_layer(MOBILENET_LAYER)
    assert parameter_counts(base) == {"trainable": 0, "non_trainable": 2_257_984, "total": 2_257_984}
    assert parameter_counts(model)["trainable"] == 2_562
    table = layer_table(model)
    assert [r["layer"] for r in table] == [
        "image", "preprocess", "augmentation", MOBILENET_LAYER, "global_max_pool", "head_dropout", "logits"]
    # as model.summary(show_trainable=True) reads: the frozen base N, the head Y, layers without weights -
    assert [(r["params"], r["trainable"]) for r in table] == [
        (0, None), (0, None), (0, None), (2_257_984, "no"), (0, None), (0, None), (2_562, "yes")]
    unfreeze_base(model, 100)  # BatchNormalization and the first 100 layers stay frozen
    assert layer_table(model)[3]["trainable"] == "partly"


def test_preprocessing_equals_mobilenet_preprocess_input():
    import keras

    from catdog.models import preprocessing_layer

    x = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    expected = keras.applications.mobilenet_v2.preprocess_input(x.copy())
    np.testing.assert_allclose(np.asarray(preprocessing_layer()(x)), expected, atol=1e-6)


@needs_weights
def test_local_weights_file_is_loaded():
    import h5py

    model = build_model(TrainConfig(model="model4", weights=str(SHARED_WEIGHTS)))
    kernel = model.get_layer(MOBILENET_LAYER).get_layer("Conv1").kernel.numpy()
    with h5py.File(SHARED_WEIGHTS) as f:
        stored = f["Conv1"]["Conv1"]["kernel:0"][()]
    np.testing.assert_array_equal(kernel, stored)


def test_missing_weights_file_says_what_to_do(tmp_path):
    with pytest.raises(CatdogError, match="does not exist"):
        build_model(TrainConfig(model="model4", weights=str(tmp_path / "nope.h5")))
    with pytest.raises(CatdogError, match="is a folder. Give the path of the .h5 file in it"):
        build_model(TrainConfig(model="model4", weights=str(tmp_path)))


def test_wrong_weights_file_is_refused(tmp_path):
    import h5py

    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(CatdogError, match="is not a Keras weights file"):  # seen before loading anything
        build_model(TrainConfig(model="model4", weights=str(bad)))
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["numbers"] = [1, 2, 3]
    assert "holds no MobileNetV2 weights (no layer 'Conv1')" in weights_file_problem(str(other))
    with pytest.raises(CatdogError, match="holds no MobileNetV2 weights"):  # HDF5, but not these weights
        build_model(TrainConfig(model="model4", weights=str(other)))
    with pytest.raises(CatdogError, match="not a MobileNetV2"):  # laid out as MobileNetV2, but its weights do not fit
        build_model(TrainConfig(model="model4", weights=str(mobilenet_shaped_h5(tmp_path / "shaped.h5"))))
    with h5py.File(tmp_path / "with_top.h5", "w") as f:
        f.attrs["layer_names"] = [b"Conv1", b"out_relu", b"Logits"]
    assert "the whole ImageNet classifier" in weights_file_problem(str(tmp_path / "with_top.h5"))
    import keras  # MobileNetV2's weights saved by Keras 3 itself: its own layout, which loads

    keras.applications.MobileNetV2(input_shape=(96, 96, 3), include_top=False, weights=None).save_weights(
        tmp_path / "mine.weights.h5")
    assert weights_file_problem(str(tmp_path / "mine.weights.h5")) is None
    build_model(TrainConfig(model="model4", weights=str(tmp_path / "mine.weights.h5")))
    # another model's weights in that layout: said before Train, not a screens-long list after it (QA L)
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]).save_weights(tmp_path / "dense.weights.h5")
    assert weights_file_problem(str(tmp_path / "dense.weights.h5")) == (
        "'dense.weights.h5' holds the weights of another model than MobileNetV2 at alpha 1.0 without its top (2 "
        "arrays, not 260). Give the path of mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5.")


def mobilenet_shaped_h5(path):
    """An HDF5 file in Keras's weights layout whose first kernel is MobileNetV2's (alpha 1.0), and nothing else."""
    import h5py

    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"Conv1", b"out_relu"]
        f["Conv1/Conv1/kernel:0"] = np.zeros((3, 3, 3, 32), "float32")
    return path


@needs_weights
@pytest.mark.parametrize("alpha", ["0.35", "0.5"])
def test_a_narrower_mobilenet_weights_file_is_refused_before_training(alpha):
    narrow = SHARED_WEIGHTS.with_name(SHARED_WEIGHTS.name.replace("_1.0_", f"_{alpha}_"))
    if not narrow.is_file():
        pytest.skip(f"no {narrow.name}")
    assert f"holds a MobileNetV2 of width (alpha) {alpha}; model4 is built at alpha 1.0" in \
        weights_file_problem(str(narrow))
    assert weights_file_problem(str(SHARED_WEIGHTS)) is None


def test_imagenet_download_failure_says_what_to_do(monkeypatch):
    import keras

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/…: None -- [Errno -3]")

    monkeypatch.delenv("CATDOG_MOBILENET_WEIGHTS", raising=False)
    monkeypatch.setattr(keras.applications, "MobileNetV2", offline)
    monkeypatch.setenv("KERAS_HOME", "/srv/keras")
    with pytest.raises(CatdogError, match="CATDOG_MOBILENET_WEIGHTS") as caught:
        build_model(TrainConfig(model="model4"))
    assert "--weights" in str(caught.value) and "into /srv/keras/models/" in str(caught.value)  # Keras's cache here
    # which file, and where from: "Keras's weights file" named neither (review)
    assert ("mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_160_no_top.h5 (from https://storage.googleapis.com/"
            "tensorflow/keras-applications/mobilenet_v2/ on a computer that is online)") in str(caught.value)


def test_weights_precedence(monkeypatch):
    monkeypatch.delenv("CATDOG_MOBILENET_WEIGHTS", raising=False)
    assert resolve_mobilenet_weights("") == resolve_mobilenet_weights(None) == "imagenet"
    monkeypatch.setenv("CATDOG_MOBILENET_WEIGHTS", "/w.h5")
    assert resolve_mobilenet_weights("") == resolve_mobilenet_weights(TrainConfig().weights) == "/w.h5"
    # an explicit choice wins over the environment: Keras's download stays reachable on an offline-configured server
    assert resolve_mobilenet_weights("imagenet") == "imagenet"
    assert resolve_mobilenet_weights(" /x.h5 ") == "/x.h5"


def test_unknown_model_is_a_user_error():
    with pytest.raises(CatdogError, match="Unknown model"):
        build_model(TrainConfig(model="model9"))


def test_weights_image_size_reads_keras_file_names():
    assert weights_image_size("/w/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5") == 224
    assert weights_image_size("mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_160.h5") == 160
    assert weights_image_size("mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.weights.h5") == 224
    assert weights_image_size("imagenet") is None  # Keras downloads the file trained at the input size
    assert weights_image_size("my_weights.h5") is None and weights_image_size(None) is None


def test_model4_input_size_defaults_to_the_size_the_weights_were_trained_at():
    assert default_input_size("/w/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5") == 224
    assert default_input_size("imagenet") == 160 and default_input_size(None) == 160  # the course's size
    assert default_input_size("mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5") == 160  # not offered
    assert default_input_size("my_weights.h5") == 160


def test_input_size_comes_from_the_model():
    import keras

    assert input_size(build_model(TrainConfig(model="model1"), image_size=(48, 64), compile=False)) == (48, 64)
    model4 = build_model(TrainConfig(model="model4"), image_size=(224, 224), compile=False, pretrained=False)
    assert input_size(model4) == (224, 224) and model4.get_layer(MOBILENET_LAYER).output.shape[1:3] == (7, 7)
    flat = keras.Sequential([keras.Input((10,)), keras.layers.Dense(2)])
    with pytest.raises(CatdogError, match="not a batch of fixed-size RGB images"):
        input_size(flat)
