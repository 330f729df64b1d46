"""Locating, validating, splitting and loading the dataset."""

import os
import platform
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from catdog import data, training
from catdog.config import DataConfig
from catdog.errors import CatdogError
from tests.synthetic import make_dataset


def splits_of(root, **kwargs):
    return data.make_splits(data.scan_dataset(root), **kwargs)


def test_scan_lists_classes_and_counts(synthetic_data):
    info = data.scan_dataset(synthetic_data)
    assert info.class_names == ("cats", "dogs")
    assert info.count("train", "cats") == 8 and info.count("validation", "dogs") == 10


def test_splits_are_disjoint_stratified_and_deterministic(synthetic_data):
    a = splits_of(synthetic_data, validation_size=12, test_size=8, seed=3)
    b = splits_of(synthetic_data, validation_size=12, test_size=8, seed=3)
    c = splits_of(synthetic_data, validation_size=12, test_size=8, seed=4)
    assert a == b
    assert a.test != c.test
    assert not {p for p, _ in a.validation} & {p for p, _ in a.test}
    assert a.counts() == {"train": {"cats": 8, "dogs": 8}, "validation": {"cats": 6, "dogs": 6},
                          "test": {"cats": 4, "dogs": 4}}
    assert all("/validation/" in p for p, _ in a.validation + a.test)
    assert a.validation_folder == c.validation_folder == tuple(sorted(a.validation + a.test))
    assert all(Path(p).parent.name == a.class_names[label] for p, label in a.train + a.validation + a.test)


def test_stratified_shares_follow_class_sizes(tmp_path):
    root = make_dataset(tmp_path / "d", train_per_class=2, validation_per_class=10)
    for extra in range(5):  # 15 cats, 10 dogs in validation/
        (root / "validation/cats" / f"extra.{extra}.jpg").write_bytes((root / "validation/cats/cat.0.jpg").read_bytes())
    splits = splits_of(root, validation_size=10, test_size=5, seed=0)
    assert splits.counts()["test"] == {"cats": 3, "dogs": 2}
    assert splits.counts()["validation"] == {"cats": 6, "dogs": 4}


def test_too_large_split_is_refused(synthetic_data):
    with pytest.raises(CatdogError, match="too few"):
        splits_of(synthetic_data, validation_size=18, test_size=8)


def test_a_validation_folder_of_unreadable_files_says_why_it_is_too_few(tmp_path):
    from catdog.config import DataConfig
    from catdog.training import prepare_splits

    root = make_dataset(tmp_path / "d", train_per_class=2, validation_per_class=3)
    for path in (root / "validation").rglob("*.jpg"):
        path.write_text("not a picture")  # QA: "0 readable images: … Lower those sizes" at the minimum of 2
    with pytest.raises(CatdogError) as told:
        prepare_splits(DataConfig(str(root), validation_size=2, test_size=2, batch_size=2), download=False)
    message = str(told.value)
    assert message.startswith("validation/ holds 0 readable images; 6 of its 6 image files cannot be read. For "
                              "example cats/")
    assert "Lower those sizes" not in message and "replace the unreadable files" in message
    with pytest.raises(CatdogError, match="Lower those sizes"):  # room enough for smaller splits
        splits_of(make_dataset(tmp_path / "e", validation_per_class=3), validation_size=4, test_size=4)


def test_majority_baseline_is_half_on_balanced_data(synthetic_data):
    assert data.majority_baseline(splits_of(synthetic_data, validation_size=12, test_size=8)) == (("cats", "dogs"),
                                                                                                 0.5)


def test_majority_baseline_answers_the_training_majority_and_averages_a_tie(tmp_path):
    from tests.synthetic import make_dataset

    root = make_dataset(tmp_path / "d", 4, 6)
    for f in (root / "validation/dogs").iterdir():  # a test split of cats only
        f.unlink()
    # Tied training classes: neither is the majority; one of them always answered scores 100 % or 0 %.
    assert data.majority_baseline(splits_of(root, validation_size=4, test_size=2)) == (("cats", "dogs"), 0.5)
    next((root / "train/cats").iterdir()).unlink()
    assert data.majority_baseline(splits_of(root, validation_size=4, test_size=2)) == (("dogs",), 0.0)


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "missing", "does not exist"),
    (lambda p: (p / "file.txt").write_text("x") and p / "file.txt", "is a file"),
    (lambda p: (p / "empty").mkdir() or p / "empty", "has no train/ and no validation/"),
])
def test_unusable_folders_get_clear_messages_and_are_not_changed(tmp_path, make, message):
    target = make(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(CatdogError, match=message):
        data.locate_dataset(target, download=False)
    assert sorted(tmp_path.rglob("*")) == before


def test_paths_that_cannot_be_looked_up_get_clear_messages():
    # each gave a traceback on every page (QA): "~Desktop/…" for "~/Desktop/…", and a name past 255 bytes
    with pytest.raises(CatdogError, match=re.escape("there is no user 'NoSuchUser9' for ~NoSuchUser9 to stand for "
                                                    "(did you mean ~/NoSuchUser9/cats_and_dogs_filtered?)")):
        data.locate_dataset("~NoSuchUser9/cats_and_dogs_filtered", download=False)
    with pytest.raises(CatdogError, match="longer than the 255 bytes a file or folder name may have"):
        data.locate_dataset("/tmp/" + "ü" * 130, download=False)
    with pytest.raises(CatdogError, match=re.escape("'/tmp/a\\x00b' cannot be used: it holds a NUL character")):
        data.locate_dataset("/tmp/a\x00b", download=False)  # typed or pasted: a ValueError's traceback (QA L)
    assert data.dataset_stamp("~NoSuchUser9/x") == data.dataset_stamp("/tmp/a\x00b") == ()  # keys the pages' cache


def test_the_dataset_stamp_changes_when_files_come_or_go(tmp_path):
    root = make_dataset(tmp_path / "d", 2, 2)
    before = data.dataset_stamp(str(root))
    assert [folder for folder, _ in before] == [str(root), *(str(root / s) for s in ("train", "validation")),
                                               *(str(root / s / c) for s in ("train", "validation")
                                                 for c in ("cats", "dogs"))]
    assert data.dataset_stamp(str(root)) == before
    stamp = {folder: time for folder, time in before}
    (root / "train/cats/cat.0.jpg").unlink()  # a teacher tidying the folder: the page's scan went stale (QA)
    os.utime(root / "train/cats", ns=(1, stamp[str(root / "train/cats")] + 1))  # a coarse clock: still a change
    assert data.dataset_stamp(str(root)) != before
    with pytest.raises(CatdogError, match="is gone: the dataset folder has changed since it was read"):
        data.load_image(root / "train/cats/cat.0.jpg")


def test_nested_folder_hint(tmp_path):
    root = make_dataset(tmp_path / "cats_and_dogs_filtered", 1, 1)
    with pytest.raises(CatdogError, match="Did you mean"):
        data.scan_dataset(tmp_path)
    # one level too low, the likelier slip: train/ itself, or one of its class folders (QA)
    for too_low in (root / "train", root / "train" / "cats"):
        with pytest.raises(CatdogError, match=re.escape(f"Did you mean '{root}'?")):
            data.scan_dataset(too_low)
    own = make_dataset(tmp_path / "lesson" / "pets", 1, 1)  # a teacher's own folder, one level down (QA L)
    (tmp_path / "lesson" / "notes").mkdir()
    with pytest.raises(CatdogError, match=re.escape(f"Did you mean '{own}'?")):
        data.scan_dataset(tmp_path / "lesson")


def test_a_quoted_path_is_read_without_its_quotes(tmp_path):
    root = make_dataset(tmp_path / "with space", 1, 1)  # "Copy as path" quotes it (QA)
    for quoted in (f'"{root}"', f"'{root}'", f'  "{root}" '):
        assert data.locate_dataset(quoted, download=False) == root.resolve()
    # a file:// URL (a file manager's "Copy", an address bar) is its path; a Windows path is said (QA L)
    url = root.resolve().as_uri()
    assert "%20" in url and data.locate_dataset(url, download=False) == root.resolve()
    assert data.locate_dataset(f'"{url}"', download=False) == root.resolve()
    windows = re.escape(r"'C:\Users\me\cats' is a Windows path, and the dashboard runs on "
                        f"{platform.system()}: give the folder's path on that computer")
    with pytest.raises(CatdogError, match=windows):
        data.locate_dataset(r"C:\Users\me\cats", download=False)
    # the weights field takes the same forms (QA L: a quoted path "did not exist")
    from catdog.models import resolve_mobilenet_weights
    assert resolve_mobilenet_weights(f' "{root}/w.h5" ') == resolve_mobilenet_weights((root / "w.h5").as_uri()) \
        == f"{root}/w.h5"


def test_empty_class_folder_in_train_is_refused(tmp_path):
    root = make_dataset(tmp_path / "d", 2, 2)
    for f in (root / "train/dogs").iterdir():
        f.unlink()
    with pytest.raises(CatdogError, match="but train/dogs in '.*' is empty"):
        data.scan_dataset(root)
    for f in (root / "train/cats").iterdir():
        f.unlink()
    with pytest.raises(CatdogError, match="but train/cats and train/dogs in '.*' are empty"):
        data.scan_dataset(root)


def test_missing_classes_names_the_splits_that_lack_one():
    counts = {"train": {"cats": 8, "dogs": 8}, "validation": {"cats": 6, "dogs": 0}, "test": {"cats": 4, "dogs": 0}}
    assert data.missing_classes(counts) == {"validation": ["dogs"], "test": ["dogs"]}
    assert data.missing_classes({"train": {"cats": 1, "dogs": 1}}) == {}


def test_non_images_and_corrupt_files_are_reported_and_skipped(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2000)  # PIL refuses past twice that: the 48×40 images pass
    root = make_dataset(tmp_path / "d", 4, 4)
    Image.new("RGB", (100, 100)).save(root / "validation/cats/huge.png")  # a decompression bomb to PIL
    (root / "train/cats/notes.txt").write_text("hello")
    (root / "train/dogs/broken.jpg").write_bytes((root / "train/dogs/dog.0.jpg").read_bytes()[:300])
    (root / "validation/dogs/empty.jpg").write_bytes(b"")
    Image.open(root / "train/cats/cat.0.jpg").save(root / "train/cats/tiff.jpg", format="TIFF")  # PIL reads it, TF not
    # TensorFlow fails on a 1-bit BMP (a traceback on the Data page, QA) and reads a palette one's numbers as grey
    Image.open(root / "train/cats/cat.1.jpg").convert("1").save(root / "train/cats/scan.bmp")
    Image.open(root / "train/cats/cat.1.jpg").convert("P").save(root / "train/cats/palette.bmp")
    Image.open(root / "train/cats/cat.1.jpg").convert("L").save(root / "train/cats/grey.bmp")  # read alike: kept
    (root / "train/dogs/nested").mkdir()
    (root / "validation/readme.md").write_text("a stray file")
    (root / "train/cats/moved.jpg").symlink_to(root / "nowhere.jpg")  # "not an image file" (QA L)
    info = data.scan_dataset(root)
    assert ("train/cats/notes.txt", "not an image file") in info.ignored
    assert ("train/cats/moved.jpg", "a link to a file that is not there") in info.ignored
    assert ("train/dogs/nested/", "a folder: only images directly in a class folder are read") in info.ignored
    assert ("validation/readme.md", "not in a class folder") in info.ignored
    everything = [p for split in info.files.values() for files in split.values() for p in files]
    bad = data.check_images(everything).unreadable
    assert sorted(p.name for p, _ in bad) == ["broken.jpg", "empty.jpg", "huge.png", "palette.bmp", "scan.bmp",
                                              "tiff.jpg"]
    reasons = dict((p.name, why) for p, why in bad)
    assert "a TIFF image" in reasons["tiff.jpg"]
    assert reasons["scan.bmp"] == ("a black-and-white (1-bit) BMP, which TensorFlow cannot decode in colour; save it "
                                   "as JPEG or PNG")
    assert reasons["palette.bmp"].startswith("a 256-colour (palette) BMP")
    # in an upload's words, not "UnidentifiedImageError: cannot identify image file '<the path again>'" (QA)
    assert reasons["empty.jpg"] == "the file is empty (0 bytes)"
    assert reasons["broken.jpg"] == "the file is cut off (truncated): only part of the picture is there"
    # an upload's "too large", not "damaged and cannot be decoded (DecompressionBombError)" (QA)
    assert reasons["huge.png"] == "the image is too large to process safely (over 4,000 pixels)"
    splits = data.make_splits(info, validation_size=6, test_size=2, skip=bad)
    assert len(splits.train) == 9 and len(splits.skipped) == 6  # 4 + 4 good and grey.bmp; 4 in train/ left out
    assert splits.ignored == info.ignored and splits.empty_classes == info.empty_classes == ()


def save_turned(path: Path, orientation: int = 6) -> None:
    """Save ``path`` again with an EXIF orientation (6: "turn 90° clockwise to show it"), as phones store photos."""
    image = Image.open(path)
    exif = Image.Exif()
    exif[data.EXIF_ORIENTATION] = orientation
    image.save(path, exif=exif, quality=95)


def test_photos_stored_turned_are_found_and_trained_on_as_stored(tmp_path):
    root = make_dataset(tmp_path / "d", 4, 4)
    plain = root / "train/cats/cat.0.jpg"
    Image.open(plain).save(tmp_path / "plain.jpg", quality=95)  # encoded as save_turned does, without EXIF
    save_turned(plain)
    save_turned(root / "validation/dogs/dog.1.jpg", orientation=1)  # "as stored": nothing to say
    (root / "train/dogs/broken.jpg").write_bytes(b"not an image")  # unreadable: not "turned"
    _, splits = training.prepare_splits(DataConfig(data_dir=str(root), validation_size=4, test_size=4))
    assert splits.turned == (str(plain),)
    assert len(splits.skipped) == 1
    # TensorFlow's decoder ignores the EXIF note, as image_dataset_from_directory does: the same pixels
    with Image.open(plain) as turned:
        assert turned.getexif()[data.EXIF_ORIENTATION] == 6
    np.testing.assert_array_equal(data.load_image(plain, (40, 48)), data.load_image(tmp_path / "plain.jpg", (40, 48)))


def test_transparent_images_are_found_and_trained_on_without_their_alpha(tmp_path):
    from catdog.images import decode_image

    root = make_dataset(tmp_path / "d", 4, 4)
    cutout = Image.new("RGBA", (40, 30), (200, 30, 30, 255))
    cutout.paste((0, 0, 0, 0), (0, 0, 20, 30))  # the left half see-through, black under it (as editors store it)
    cutout.save(root / "train/cats/cutout.png")
    Image.new("RGBA", (40, 30), (10, 200, 10, 255)).save(root / "train/dogs/opaque.png")  # alpha, all opaque
    gif = Image.new("P", (40, 30), 1)
    gif.putpalette([255, 255, 255, 20, 40, 60] + [0] * 762)
    gif.paste(0, (0, 0, 10, 30))
    gif.save(root / "validation/dogs/clip.gif", transparency=0)  # palette colour 0 (white) see-through
    Image.new("RGB", (40, 30), (1, 2, 3)).save(root / "validation/cats/plain.png")
    _, splits = training.prepare_splits(DataConfig(data_dir=str(root), validation_size=5, test_size=5))
    assert splits.transparent == (str(root / "train/cats/cutout.png"), str(root / "validation/dogs/clip.gif"))
    assert splits.turned == () and splits.skipped == ()
    # also with split sizes that leave images of validation/ out: "N images of this folder" (the count changed, QA)
    _, fewer = training.prepare_splits(DataConfig(data_dir=str(root), validation_size=2, test_size=2))
    assert fewer.unused and fewer.transparent == splits.transparent
    # training sees the colours stored under the transparent half, the Classifier's uploads white
    seen = data.load_image(root / "train/cats/cutout.png", (30, 40))
    np.testing.assert_array_equal(seen[:, :10], 0)
    np.testing.assert_array_equal(seen[:, -10:], np.broadcast_to([200, 30, 30], (30, 10, 3)))
    uploaded = np.asarray(decode_image((root / "train/cats/cutout.png").read_bytes()))
    np.testing.assert_array_equal(uploaded[:, :10], 255)


def test_uploads_that_are_dataset_images_are_found_by_their_bytes(tmp_path):
    root = make_dataset(tmp_path / "d", 3, 3)
    _, splits = training.prepare_splits(DataConfig(data_dir=str(root), validation_size=4, test_size=2))
    cat = root / "train/cats/cat.1.jpg"
    same_size = bytearray(cat.read_bytes())
    same_size[-3] ^= 0xFF  # another file of the very same size: compared byte for byte
    dog = root / "validation/dogs/dog.2.jpg"
    found = data.find_copies([cat.read_bytes(), bytes(same_size), dog.read_bytes(), b""], splits)
    assert found == [str(cat), None, str(dog), None]
    dog_bytes = dog.read_bytes()
    dog.unlink()  # gone since the folder was read: found no more, and no error
    assert data.find_copies([cat.read_bytes(), dog_bytes], splits) == [str(cat), None]


def test_locate_precedence_explicit_then_env_then_keras_cache(tmp_path, monkeypatch):
    explicit = make_dataset(tmp_path / "a", 1, 1)
    env = make_dataset(tmp_path / "b", 1, 1)
    cached = make_dataset(tmp_path / "keras_home/datasets/cats_and_dogs_filtered_extracted/cats_and_dogs_filtered",
                          1, 1)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    assert data.locate_dataset(None, download=False) == cached.resolve()
    monkeypatch.setenv("CATDOG_DATA_DIR", str(env))
    assert data.locate_dataset(None, download=False) == env.resolve()
    assert data.locate_dataset(str(explicit), download=False) == explicit.resolve()


def test_download_uses_keras_get_file_with_official_url(tmp_path, monkeypatch):
    import keras

    calls = []

    def fake_get_file(fname, origin, extract):
        calls.append((fname, origin, extract))
        return str(make_dataset(tmp_path / "x_extracted/cats_and_dogs_filtered", 1, 1).parent)

    monkeypatch.setattr(keras.utils, "get_file", fake_get_file)
    root = data.locate_dataset(None)
    assert calls == [("cats_and_dogs_filtered.zip", data.DATASET_URL, True)]
    assert (root / "train").is_dir()


def test_failed_download_says_what_to_do(monkeypatch):
    import keras

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: no network")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(CatdogError, match="CATDOG_DATA_DIR"):
        data.locate_dataset(None)


def test_dataset_batches_match_image_dataset_from_directory_format(synthetic_data):
    splits = splits_of(synthetic_data, validation_size=12, test_size=8)
    images, labels = next(iter(data.make_dataset(splits.train, batch_size=5)))
    assert images.shape == (5, 160, 160, 3) and images.dtype.name == "float32"
    assert labels.dtype.name == "int32"
    assert 0 <= float(images.numpy().min()) and float(images.numpy().max()) <= 255
    np.testing.assert_allclose(images[0].numpy(), data.load_image(splits.train[0][0]), atol=0.0625)
    # Uncached batches are exact; the in-memory cache holds float16, off by ≤ 1/16 of a pixel level.
    exact, _ = next(iter(data.make_dataset(splits.train, batch_size=5, cache=False)))
    np.testing.assert_allclose(exact[0].numpy(), data.load_image(splits.train[0][0]), atol=1e-4)
    np.testing.assert_allclose(images.numpy(), exact.numpy(), atol=0.0625)


def test_datasets_run_without_tf_data_autotuning(synthetic_data):
    # With autotuning, the end of a pass stalled for seconds after the model had used the cores.
    splits = splits_of(synthetic_data, validation_size=12, test_size=8)
    for cache, shuffle in ((True, True), (False, False)):
        ds = data.make_dataset(splits.train, batch_size=5, cache=cache, shuffle=shuffle)
        assert ds.options().autotune.enabled is False
    ordered = [y.numpy().tolist() for _, y in data.make_dataset(splits.train, batch_size=5, cache=False)]
    assert sum(ordered, []) == [label for _, label in splits.train]  # order kept


def test_split_batches_halves_each_batch_in_order():
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((np.arange(70, dtype=np.float32), np.arange(70) % 2)).batch(32)
    micro = data.split_batches(ds, 2, examples=70, batch_size=32)
    assert [int(x.shape[0]) for x, _ in micro] == [16, 16, 16, 16, 3, 3]  # pairs = the batches of 32, 32, 6
    assert int(micro.cardinality()) == 6  # known length: Keras shows progress from the first epoch
    assert np.concatenate([x.numpy() for x, _ in micro]).tolist() == list(range(70))
    assert data.split_batches(ds, 1, examples=70, batch_size=32) is ds
    single = tf.data.Dataset.from_tensor_slices((np.zeros(1, np.float32), np.zeros(1, np.int32))).batch(32)
    micro = data.split_batches(single, 2, examples=1, batch_size=32)
    assert [int(x.shape[0]) for x, _ in micro] == [1] and int(micro.cardinality()) == 1  # no empty micro-batch
    for parts in (0, 33):
        with pytest.raises(CatdogError, match="between 1 and the batch size"):
            data.split_batches(ds, parts, examples=70, batch_size=32)


def test_gradient_accumulation_over_split_batches_equals_whole_batch_updates():
    # What fine-tuning relies on: 2 micro-batches + Adam(gradient_accumulation_steps=2) = 1 batch.
    import keras
    import tensorflow as tf

    from catdog.models import compile_model

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(20, 6)).astype(np.float32), rng.integers(0, 2, 20).astype(np.int32)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)  # 8, 8, 4 → 4+4, 4+4, 2+2

    def trained(steps):
        keras.utils.set_random_seed(1)
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])
        compile_model(model, 0.01, steps)
        model.fit(data.split_batches(ds, steps, examples=20, batch_size=8), epochs=3, verbose=0)
        return model.get_weights()

    for whole, accumulated in zip(trained(1), trained(2)):
        np.testing.assert_allclose(accumulated, whole, atol=1e-5)


def test_samples_give_a_row_per_class(synthetic_data):
    rows = data.sample_items(splits_of(synthetic_data, validation_size=12, test_size=8), "train", 3, seed=1)
    assert [[label for _, label in row] for row in rows] == [[0, 0, 0], [1, 1, 1]]


def test_a_dataset_must_have_exactly_two_classes(tmp_path):
    root = make_dataset(tmp_path / "d", 2, 2)
    for split in ("train", "validation"):
        (root / split / "birds").mkdir()
        (root / split / "cats/cat.0.jpg").rename(root / split / "birds/bird.0.jpg")
    with pytest.raises(CatdogError, match=r"exactly two class folders .* Found 3: birds, cats, dogs\. Keep two of "
                                          r"them in train/ and validation/"):  # what to do, too (QA 14)
        data.scan_dataset(root)
    shutil.rmtree(root / "validation" / "birds")  # now the two splits differ: which folder to add or take out
    with pytest.raises(CatdogError, match=r"To fix it, add birds to validation/ \(with images\), or take it out of "
                                          r"train/\.$"):
        data.scan_dataset(root)


def test_splits_have_the_sizes_asked_for_when_classes_are_unbalanced(tmp_path):
    root = make_dataset(tmp_path / "d", 2, 3)
    for f in sorted((root / "validation/cats").iterdir())[1:]:  # 1 cat, 3 dogs
        f.unlink()
    counts = splits_of(root, validation_size=2, test_size=2, seed=0).counts()
    assert sum(counts["validation"].values()) == 2 and sum(counts["test"].values()) == 2  # was 1 validation image
    assert counts["test"] == {"cats": 1, "dogs": 1} and counts["validation"] == {"cats": 0, "dogs": 2}


def test_a_class_without_one_readable_training_image_is_refused(tmp_path):
    root = make_dataset(tmp_path / "d", 2, 2)
    for f in (root / "train/dogs").iterdir():
        f.write_bytes(b"not a picture")
    with pytest.raises(CatdogError, match="no image in train/dogs of .* can be read"):
        training.prepare_splits(DataConfig(str(root), validation_size=2, test_size=2))


def test_browser_settings_keep_the_browsers_that_changed_one_last(tmp_path, monkeypatch):
    from catdog import config

    monkeypatch.setattr(config, "SETTINGS_KEEP", 2)
    path = tmp_path / "runs" / config.SETTINGS_FILE  # its folder made on the first write
    settings = {f"b{i}": {"test_size": (100 + i, i), "data_dir": ("/d", 10 - i)} for i in range(4)}
    config.write_browser_settings(path, settings)
    assert config.read_browser_settings(path) == {"b0": settings["b0"], "b1": settings["b1"]}  # newest: 10, 9
    assert config.read_browser_settings(tmp_path / "missing.json") == {}


def test_a_mistyped_data_folder_gets_the_folder_beside_it_named(tmp_path):
    from catdog.data import scan_dataset

    (tmp_path / "cats_and_dogs_filtered").mkdir()
    with pytest.raises(CatdogError, match=r"does not exist\. Did you mean '.*cats_and_dogs_filtered'\?"):
        scan_dataset(tmp_path / "cats_and_dogs_filterd")  # a typo in class (QA): only "does not exist"
    with pytest.raises(CatdogError, match=r"does not exist\.$"):
        scan_dataset(tmp_path / "something else")
