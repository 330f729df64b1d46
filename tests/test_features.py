"""Fast transfer learning (cached MobileNetV2 features) and fine-tuning of model4."""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import threading

import numpy as np
import pytest

from catdog import features as feats
from catdog.config import DataConfig, TrainConfig
from catdog.errors import CatdogError
from catdog.reporting import run_rows
from tests.conftest import needs_weights

SIZE = (64, 64)  # MobileNetV2 needs ≥ 32 px; small keeps these tests fast.
AUGMENTATION = feats.augmentation_settings(TrainConfig(model="model4", seed=1))


@pytest.fixture
def data_config(synthetic_data):
    return DataConfig(data_dir=str(synthetic_data), image_size=SIZE, batch_size=8, validation_size=12, test_size=8)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    path = tmp_path / "feature_cache"
    monkeypatch.setenv("CATDOG_CACHE_DIR", str(path))
    return path


@pytest.fixture
def splits(data_config):
    from catdog.training import prepare_splits

    return prepare_splits(data_config)[1]


@pytest.fixture(scope="module")
def random_model4():
    """model4 with random MobileNetV2 weights (no weights file needed)."""
    from catdog.models import build_model

    return build_model(TrainConfig(model="model4"), image_size=SIZE, compile=False, pretrained=False)


def _extract(model, splits, cache_dir, **kwargs):
    args = dict(image_size=SIZE, weights=None, views=2, augmentation=AUGMENTATION, cache_dir=cache_dir, batch_size=8)
    return feats.load_or_extract(model, splits, **{**args, **kwargs})


def test_default_cache_and_runs_dirs_follow_environment_else_the_repository(tmp_path, monkeypatch):
    from catdog.config import default_runs_dir

    repo = feats.Path(__file__).resolve().parent.parent
    monkeypatch.delenv("CATDOG_CACHE_DIR", raising=False)
    monkeypatch.delenv("CATDOG_RUNS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)  # from another folder: still the repository's (a CLI run went elsewhere, review)
    assert feats.default_cache_dir() == repo / ".cache" / "features" and default_runs_dir() == repo / "runs"
    monkeypatch.setenv("CATDOG_CACHE_DIR", str(tmp_path))
    assert feats.default_cache_dir() == tmp_path


def test_cache_key_changes_with_views_augmentation_files_and_weights(splits, tmp_path):
    items = splits.train
    key = lambda **kw: feats.cache_key(items, **{"image_size": SIZE, "weights": None, "views": 3,  # noqa: E731
                                                 "augmentation": AUGMENTATION, **kw})
    base = key()
    assert key() == base
    assert key(views=2) != base
    for change in (dict(flip_mode="vertical"), dict(rotation_factor=0.1), dict(fill_mode="nearest"), dict(seed=7)):
        assert key(augmentation={**AUGMENTATION, **change}) != base
    assert key(image_size=(96, 96)) != base
    assert key(weights="imagenet") != base
    # One view is the unaugmented image: the augmentation settings do not matter then.
    assert key(views=1) == key(views=1, augmentation={**AUGMENTATION, "rotation_factor": 0.1, "seed": 7})
    weights_file = tmp_path / "w.h5"
    weights_file.write_bytes(b"x")
    before = key(weights=str(weights_file))
    weights_file.write_bytes(b"xy")
    assert key(weights=str(weights_file)) != before
    path = items[0][0]
    stat = os.stat(path)
    try:
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        assert key() != base
    finally:
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


@pytest.fixture(scope="module")
def extracted(random_model4, tmp_path_factory, synthetic_data):
    """One cold extraction (two views) shared by the tests below: (cache folder, feature set, progress)."""
    from catdog.training import Progress, prepare_splits

    splits = prepare_splits(DataConfig(data_dir=str(synthetic_data), image_size=SIZE, validation_size=12,
                                       test_size=8))[1]
    folder = tmp_path_factory.mktemp("feature_cache")
    progress = Progress()
    return folder, _extract(random_model4, splits, folder, progress=progress), progress


def test_extraction_is_cached_and_reused(random_model4, splits, extracted, monkeypatch):
    folder, first, progress = extracted
    assert first.hits == {"train": False, "validation": False, "test": False}
    assert first.train.shape == (len(splits.train), 2, 1280) and first.train.dtype == np.float32
    assert first.validation.shape == (len(splits.validation), 1, 1280)
    assert first.test.shape == (len(splits.test), 1, 1280)
    assert list(first.train_labels) == [label for _, label in splits.train]
    assert progress.phase == "extracting features" and progress.batch == progress.batches == 2 * 2 + 2 + 1
    assert len(list(folder.glob("*.npz"))) == 3
    assert not list(folder.glob("*.tmp"))

    def no_extraction(*args, **kwargs):
        raise AssertionError("features were extracted again")

    monkeypatch.setattr(feats, "extract_features", no_extraction)
    second = _extract(random_model4, splits, folder)
    assert second.hits == {"train": True, "validation": True, "test": True}
    np.testing.assert_array_equal(second.train, first.train)
    np.testing.assert_array_equal(second.test, first.test)


def test_a_cache_that_cannot_be_written_costs_time_not_the_run(random_model4, splits, extracted, tmp_path):
    from catdog.training import Progress

    blocked = tmp_path / "not a folder"
    blocked.write_text("a file where the cache folder should be")  # as a read-only or full disk: OSError
    progress = Progress()
    fs = _extract(random_model4, splits, blocked / "features", progress=progress)
    np.testing.assert_array_equal(fs.test, extracted[1].test)  # extracted all the same, kept in memory
    [notice] = progress.snapshot()["notices"]  # said once, though all three splits failed to save
    assert notice.startswith(f"The feature cache could not be saved in {blocked / 'features'} (")
    assert "training goes on" in notice and "$CATDOG_CACHE_DIR" in notice


def test_any_list_of_images_shares_the_split_cache(random_model4, splits, extracted, monkeypatch):
    """``load_or_extract_parts`` (what the benches use for all of validation/) hits the same cache files."""
    folder, first, _ = extracted
    monkeypatch.setattr(feats, "extract_features", lambda *a, **k: pytest.fail("features were extracted again"))
    args = dict(image_size=SIZE, weights=None, augmentation=AUGMENTATION, cache_dir=folder, batch_size=8)
    arrays, keys, hits = feats.load_or_extract_parts(
        random_model4, [("all training images", splits.train, 2), ("held out", splits.test, 1)], **args)
    assert hits == {"all training images": True, "held out": True}
    assert keys == {"all training images": first.keys["train"], "held out": first.keys["test"]}
    np.testing.assert_array_equal(arrays["held out"][0], first.test)
    with pytest.raises(CatdogError, match="nothing split holds no images"):
        feats.load_or_extract_parts(random_model4, [("nothing", (), 1)], **args)


def test_view_zero_is_the_unaugmented_image(random_model4, splits, extracted):
    from catdog import data

    fs = extracted[1]
    images = np.stack([data.load_image(p, SIZE) for p, _ in splits.train[:4]])
    plain = np.asarray(feats.feature_extractor(random_model4)(images, training=False))
    # Random weights give tiny features (~1e-12): compare relative to their size.
    scale = np.abs(plain).mean()
    assert np.abs(fs.train[:4, 0] - plain).max() < 1e-3 * scale
    assert np.abs(fs.train[:, 1] - fs.train[:, 0]).mean() > 1e-2 * scale


def test_other_views_re_extract_only_train_and_corrupt_files_are_misses(random_model4, splits, extracted, tmp_path):
    shutil.copytree(extracted[0], tmp_path, dirs_exist_ok=True)
    (tmp_path / f"{extracted[1].keys['test']}.npz").write_bytes(b"not a zip")
    whole = (tmp_path / f"{extracted[1].keys['validation']}.npz").read_bytes()
    (tmp_path / f"{extracted[1].keys['validation']}.npz").write_bytes(whole[: len(whole) // 2])  # a zip cut short
    again = _extract(random_model4, splits, tmp_path, views=1)
    assert again.hits == {"train": False, "validation": False, "test": False}


def test_stop_ends_extraction_and_caches_nothing(random_model4, splits, tmp_path):
    stop = threading.Event()
    stop.set()
    assert _extract(random_model4, splits, tmp_path, stop=stop) is None
    assert not list(tmp_path.glob("*"))
    with pytest.raises(CatdogError, match="between 1 and"):
        _extract(random_model4, splits, tmp_path, views=0)


def test_feature_dataset_draws_one_view_per_image_each_epoch():
    n, k = 10, 3
    features = np.zeros((n, k, 4), np.float32)
    features[:, :, 0] = np.arange(k)[None, :]  # feature 0 holds the view index
    features[:, :, 1] = np.arange(n)[:, None]  # feature 1 holds the image index
    ds = feats.feature_dataset(features, np.arange(n, dtype=np.int32), batch_size=4, shuffle=True, seed=3)
    epochs = [np.concatenate([x.numpy() for x, _ in ds]) for _ in range(2)]
    for x in epochs:
        assert x.shape == (n, 4) and sorted(x[:, 1].tolist()) == list(range(n))
    assert len({tuple(x[np.argsort(x[:, 1]), 0]) for x in epochs}) == 2  # views are redrawn
    assert ds.options().autotune.enabled is False


def test_unfreeze_base_from_layer(random_model4):
    import keras

    from catdog.models import MOBILENET_LAYER, MOBILENET_LAYERS, MOBILENET_WEIGHT_ARRAYS, unfreeze_base

    base = unfreeze_base(random_model4, 100)
    assert base.name == MOBILENET_LAYER and len(base.layers) == MOBILENET_LAYERS  # as the Training page offers
    assert len(base.weights) == MOBILENET_WEIGHT_ARRAYS  # what a weights file in Keras 3's layout must hold
    bn = [isinstance(layer, keras.layers.BatchNormalization) for layer in base.layers]
    # BatchNormalization stays frozen: fit's training=True reached it through the base's training=False (3 Dec)
    assert [layer.trainable for layer in base.layers] == [i >= 100 and not bn[i] for i in range(len(base.layers))]
    x = np.random.default_rng(0).uniform(0, 255, (4, *random_model4.input_shape[1:3], 3)).astype("float32")
    before = [layer.get_weights() for layer in base.layers if isinstance(layer, keras.layers.BatchNormalization)]
    random_model4.compile(optimizer=keras.optimizers.Adam(0.0), loss=keras.losses.SparseCategoricalCrossentropy(
        from_logits=True))
    random_model4.fit(x, np.array([0, 1, 0, 1]), epochs=1, verbose=0)  # a fit: training=True all the way down
    after = [layer.get_weights() for layer in base.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert all(np.array_equal(a, b) for w0, w1 in zip(before, after) for a, b in zip(w0, w1))  # running stats too
    with pytest.raises(CatdogError, match="between 0 and"):
        unfreeze_base(random_model4, 1000)
    base.trainable = False


# --------------------------------------------------------------------------- train_run (weights file)


def _history(run):
    with open(run.path / "history.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@needs_weights
def test_fast_train_run_writes_a_complete_run_and_reuses_the_cache(data_config, cache_dir, monkeypatch):
    from catdog import data
    from catdog.models import compile_model, load_model
    from catdog.training import Progress, RunStore, train_run

    store = RunStore(os.environ["CATDOG_RUNS_DIR"])
    config = TrainConfig(model="model4", epochs=2, fast=True, views=2)
    progress = Progress()
    result = train_run(config, data_config, store=store, progress=progress)
    record = json.loads((result.run.path / "run.json").read_text())
    assert record["status"] == "done" and record["mode"] == "fast"
    assert record["train_config"]["weights"] == os.environ["CATDOG_MOBILENET_WEIGHTS"]  # what the default "" resolved to
    assert record["features"]["hits"] == {"train": False, "validation": False, "test": False}
    assert record["epochs_done"] == 2 and 0 <= record["test"]["accuracy"] <= 1
    rows = _history(result.run)
    assert [row["epoch"] for row in rows] == ["0", "1"]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(rows[0])
    assert [row["epoch"] for row in progress.snapshot()["history"]] == [1, 2]
    assert (result.run.path / "best.keras").is_file()
    assert run_rows([result.run])[0]["model"] == "model4 (fast ×2)"  # its 2 views, which a 1-view run lacks (QA)
    assert list((result.run.path / "tensorboard" / "validation").glob("events.out.tfevents.*"))
    if record["test_best"]["epoch"] == 2:  # best.keras is the final model: the same test scores
        assert record["test_best"]["accuracy"] == record["test"]["accuracy"]
    # The best checkpoint is scored on cached features: the same as best.keras end to end.
    test_ds = data.make_dataset(data_config_items(data_config), image_size=SIZE, batch_size=4, cache=False)
    best_model = load_model(result.run.path / "best.keras")
    compile_model(best_model, config.learning_rate)
    expected = best_model.evaluate(test_ds, verbose=0, return_dict=True)
    assert record["test_best"]["accuracy"] == pytest.approx(expected["accuracy"], abs=1e-6)
    assert record["test_best"]["loss"] == pytest.approx(expected["loss"], abs=1e-4)

    model = load_model(result.run.model_path)
    assert model.name == "model4"
    images = np.stack([data.load_image(p, SIZE) for p, _ in data_config_items(data_config)])
    logits = np.asarray(model(images, training=False))
    assert logits.shape == (len(images), 2)

    # Equal logits: cached test features → the saved logits layer, vs the saved model end to end.
    fs_test = np.load(cache_dir / f"{record['features']['keys']['test']}.npz")["features"][:, 0]
    kernel, bias = model.get_layer("logits").get_weights()
    feature_logits = fs_test @ kernel + bias
    np.testing.assert_allclose(feature_logits, logits, atol=1e-4)
    accuracy = float(np.mean(np.argmax(feature_logits, 1) == np.array([y for _, y in data_config_items(data_config)])))
    assert accuracy == pytest.approx(record["test"]["accuracy"], abs=1e-6)

    monkeypatch.setattr(feats, "extract_features", lambda *a, **k: pytest.fail("extracted again"))
    again = train_run(config, data_config, store=store)
    assert again.run.record["features"]["hits"] == {"train": True, "validation": True, "test": True}


def data_config_items(data_config):
    from catdog.training import prepare_splits

    return prepare_splits(data_config)[1].test


@needs_weights
def test_fast_run_can_be_stopped_during_extraction(data_config, cache_dir):
    from catdog.training import RunStore, train_run

    stop = threading.Event()
    stop.set()
    result = train_run(TrainConfig(model="model4", epochs=2, fast=True, views=1), data_config,
                       store=RunStore(os.environ["CATDOG_RUNS_DIR"]), stop=stop)
    assert result.run.record["status"] == "stopped" and result.test is None
    assert not result.run.model_path.exists()  # nothing trained: no model for the Classifier to offer
    assert not list(cache_dir.glob("*.npz"))


@needs_weights
def test_stop_pressed_as_the_extraction_ends_trains_not_one_batch_of_the_head(data_config, cache_dir, monkeypatch):
    from catdog.training import RunStore, train_run

    stop, real = threading.Event(), feats.load_or_extract

    def extract_then_stop(*args, **kwargs):
        extracted = real(*args, **kwargs)
        stop.set()
        return extracted

    monkeypatch.setattr(feats, "load_or_extract", extract_then_stop)
    result = train_run(TrainConfig(model="model4", epochs=2, fast=True, views=1), data_config,
                       store=RunStore(os.environ["CATDOG_RUNS_DIR"]), stop=stop)
    assert result.run.record["status"] == "stopped" and result.history == [] and result.test is None
    assert not result.run.model_path.exists()
    assert len(list(cache_dir.glob("*.npz"))) == 3  # the features extracted are kept for the next run


@needs_weights
def test_fine_tuning_continues_the_epochs_and_unfreezes_the_top(data_config, cache_dir):
    from catdog.models import MOBILENET_LAYER, load_model
    from catdog.training import RunStore, train_run

    from catdog.reporting import phase_text
    from catdog.training import Progress

    config = TrainConfig(model="model4", epochs=1, fast=True, views=1, fine_tune_epochs=1, fine_tune_at=100,
                         fine_tune_accumulation_steps=4)  # automatic at 64×64 would be whole batches
    shown = []

    class Recorded(Progress):  # keeps every phase line the page would have shown
        def set(self, **changes):
            super().set(**changes)
            shown.append(phase_text(self.snapshot()))

    progress = Recorded()
    result = train_run(config, data_config, store=RunStore(os.environ["CATDOG_RUNS_DIR"]), progress=progress)
    record = json.loads((result.run.path / "run.json").read_text())
    assert record["status"] == "done" and record["fine_tune_start_epoch"] == 2
    assert record["train_config"]["fine_tune_accumulation_steps"] == 4  # each batch as 4 micro-batches
    [row] = run_rows([result.run])
    assert row["model"] == "model4 (fast, FT 1)"  # not "model4 (fast)", as the frozen run reads (QA)
    assert row["trainable params"] > 1_000_000  # MobileNetV2's layers from 100 on train too, not only the head
    # The page counts batches, not micro-batch steps, and says what fine-tuning does.
    snap = progress.snapshot()
    assert snap["batches"] == math.ceil(sum(record["counts"]["train"].values()) / data_config.batch_size)
    assert any("epoch 2/2 · fine-tuning MobileNetV2 from layer 100; each batch in 4 pieces" in line
               for line in shown)
    # what the wait after the last epoch is, and then only "done": the fine-tuning line went with the training
    assert f"testing · epoch 2/2 · scoring the {record['test']['images']} test images" in shown
    assert phase_text(snap) == "done · epoch 2/2"
    assert record["epochs_done"] == 2 and record["test"] is not None
    assert [row["epoch"] for row in _history(result.run)] == ["0", "1"]
    base = load_model(result.run.model_path).get_layer(MOBILENET_LAYER)
    with_weights = [(i, layer) for i, layer in enumerate(base.layers) if layer.weights]
    assert [layer.trainable for _, layer in with_weights] == [  # BatchNormalization stays frozen
        i >= 100 and type(layer).__name__ != "BatchNormalization" for i, layer in with_weights]
