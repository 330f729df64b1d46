"""The one augmentation builder."""

from collections import Counter

import numpy as np
import pytest

from catdog.augment import augment_samples, build_augmentation, rotation_degrees


def image():
    rng = np.random.default_rng(0)
    return rng.uniform(0, 255, (32, 32, 3)).astype("float32")


def test_changes_pixels_only_in_training():
    layer = build_augmentation("horizontal_and_vertical", 0.3, seed=1)
    batch = np.repeat(image()[None], 4, axis=0)
    np.testing.assert_array_equal(np.asarray(layer(batch, training=False)), batch)
    assert not np.allclose(np.asarray(layer(batch, training=True)), batch)


def test_horizontal_and_vertical_turns_half_the_images_180_degrees_as_the_help_says():
    # FLIP_HELP said "each of the two, independently"; Keras 3 draws one coin for both flips (QA)
    original = image()
    out = augment_samples(original, 64, flip_mode="horizontal_and_vertical", rotation_factor=0.0, seed=3)
    kinds = Counter("same" if np.array_equal(v, original) else "180°" if np.array_equal(v, original[::-1, ::-1])
                    else "one way" for v in out)
    assert kinds["one way"] == 0 and kinds["same"] > 10 and kinds["180°"] > 10


def test_samples_are_seeded_and_varied():
    a = augment_samples(image(), 4, rotation_factor=0.25, seed=5)
    b = augment_samples(image(), 4, rotation_factor=0.25, seed=5)
    assert a.shape == (4, 32, 32, 3) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a[0], a[1])


def test_flips_and_rotations_are_drawn_independently():
    # a bright dot right of centre: a horizontal flip puts it on the left, and the rotation turns it up or down
    dot = np.zeros((33, 33, 3), "float32")
    dot[15:18, 26:29] = 255.0
    out = augment_samples(dot, 64, rotation_factor=0.2, fill_mode="constant", seed=42)
    combos = Counter()
    for sample in out:
        ys, xs = np.nonzero(sample[:, :, 0] > 128)
        combos[bool(xs.mean() < 16), bool(ys.mean() < 16)] += 1
    # one seed for both layers drew the same numbers for both: 62 of the 64 dots ended up above the centre
    assert len(combos) == 4 and min(combos.values()) >= 5, combos


def test_the_preview_as_model3_and_model4_see_it_differs_only_in_constant_fill():
    white = np.full((32, 32, 3), 255.0, "float32")
    raw, scaled = (augment_samples(white, 4, rotation_factor=0.5, fill_mode="constant", seed=3, scaled=s)
                   for s in (False, True))
    # the corners turned in: 0 on raw pixels (black), 0 of [-1, 1] in model3 and model4 (mid-grey, QA)
    assert raw.min() == 0.0 and scaled.min() == pytest.approx(127.5)
    np.testing.assert_allclose(raw == 255.0, scaled == 255.0)  # the same turns
    for fill in ("reflect", "nearest", "wrap"):  # the other fills only move pixels: the same either way
        np.testing.assert_allclose(augment_samples(image(), 2, rotation_factor=0.3, fill_mode=fill, seed=1),
                                   augment_samples(image(), 2, rotation_factor=0.3, fill_mode=fill, seed=1,
                                                   scaled=True), atol=1e-3)


def test_no_flip_no_rotation_is_identity():
    out = augment_samples(image(), 2, flip_mode="none", rotation_factor=0.0)
    np.testing.assert_allclose(out, np.repeat(image()[None], 2, axis=0))


def test_same_builder_inside_the_models():
    from catdog.config import TrainConfig
    from catdog.models import build_model

    model = build_model(TrainConfig(model="model2", flip_mode="vertical", rotation_factor=0.1), compile=False)
    aug = model.get_layer("augmentation")
    assert [type(layer).__name__ for layer in aug.layers] == ["RandomFlip", "RandomRotation"]
    assert aug.layers[0].mode == "vertical" and aug.layers[1].factor == (-0.1, 0.1)


@pytest.mark.parametrize("kwargs", [{"flip_mode": "sideways"}, {"fill_mode": "blur"}, {"rotation_factor": 0.7}])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        build_augmentation(**kwargs)


def test_rotation_factor_in_degrees():
    assert rotation_degrees(0.2) == pytest.approx(72.0)
