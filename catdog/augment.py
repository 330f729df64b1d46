"""The one augmentation builder, used by model2–model4 and the Augmentation page.

The course augments with ``RandomFlip`` and ``RandomRotation``; both layers act
only when called with ``training=True`` and pass images through unchanged
otherwise (so a saved model never augments at prediction time).
"""

from __future__ import annotations

import numpy as np

#: ``RandomFlip`` modes; ``"none"`` leaves the flip layer out.
FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical", "none")
#: What each of :data:`FLIP_MODES` does, for help texts. Keras 3's ``RandomFlip`` draws one coin per image:
#: "horizontal_and_vertical" flips an image both ways at once (a 180° turn) or not at all, never one way only
#: (Keras 3.15.1: 191 unchanged, 209 turned of 400; the help said "each of the two, independently", QA).
FLIP_HELP = ("horizontal: mirror left–right, half the images; vertical: mirror top–bottom, half the images; "
             "horizontal_and_vertical: half the images mirrored both ways at once (the same as a 180° turn), the "
             "others unchanged; none: no flips. Pets are seldom photographed upside down, so horizontal is the "
             "usual choice (the course's default).")

#: The rotation factor's help text (Keras's ``RandomRotation(factor)``).
ROTATION_HELP = "Fraction of a full turn: each rotation is drawn from ± factor × 360° (the course: 0.2 → ±72°)."

#: ``RandomRotation`` fill modes (how pixels rotated in from outside are filled).
FILL_MODES = ("reflect", "wrap", "constant", "nearest")
#: What each of :data:`FILL_MODES` does (Keras's ``RandomRotation`` documentation), for help texts.
FILL_HELP = ("How the corners that rotate into view are filled. reflect: the image mirrored at its edge (the "
             "course's); wrap: the image repeated from the opposite edge; constant: 0 (black on raw pixels); "
             "nearest: each edge pixel stretched outwards.")

#: Largest rotation factor offered: 0.5 of a turn, i.e. ±180°.
MAX_ROTATION_FACTOR = 0.5


def rotation_degrees(factor: float) -> float:
    """Largest rotation in degrees for a ``RandomRotation`` factor (a fraction of 360°)."""
    return factor * 360.0


def build_augmentation(
    flip_mode: str = "horizontal",
    rotation_factor: float = 0.2,
    fill_mode: str = "reflect",
    seed: int | None = None,
):
    """The augmentation block: ``RandomFlip`` then ``RandomRotation``.

    Args:
        flip_mode: one of :data:`FLIP_MODES`.
        rotation_factor: in [0, 0.5]; rotations are drawn uniformly from
            ±``rotation_factor`` × 360° (course: 0.2 → ±72°).  0 leaves the
            rotation layer out.
        fill_mode: one of :data:`FILL_MODES`.
        seed: seed of ``RandomFlip``'s random generator, and ``seed + 1`` of ``RandomRotation``'s; ``None``
            draws fresh ones.  Not one seed for both: each layer's ``keras.random.SeedGenerator(seed)`` then drew
            the same uniform numbers, and a layer flips when its number is below 0.5 and rotates by
            (2u − 1) × factor × 360°, so every flipped image turned one way and every unflipped one the other
            (QA, 2 Dec 2026: 0 of 192 images flipped and turned the other way).

    Returns:
        A ``keras.Sequential`` named ``augmentation`` mapping float images
        (batch, height, width, 3) to the same shape and dtype.

    Raises:
        ValueError: an unknown mode or a factor outside [0, 0.5].
    """
    import keras

    if flip_mode not in FLIP_MODES:
        raise ValueError(f"flip_mode must be one of {FLIP_MODES}, not {flip_mode!r}")
    if fill_mode not in FILL_MODES:
        raise ValueError(f"fill_mode must be one of {FILL_MODES}, not {fill_mode!r}")
    if not 0.0 <= rotation_factor <= MAX_ROTATION_FACTOR:
        raise ValueError(f"rotation_factor must lie in [0, {MAX_ROTATION_FACTOR}], not {rotation_factor}")
    layers = []
    if flip_mode != "none":
        layers.append(keras.layers.RandomFlip(flip_mode, seed=seed, name="random_flip"))
    if rotation_factor > 0:
        layers.append(
            keras.layers.RandomRotation(rotation_factor, fill_mode=fill_mode, seed=None if seed is None else seed + 1,
                                        name="random_rotation")
        )
    if not layers:
        layers.append(keras.layers.Identity(name="no_augmentation"))
    return keras.Sequential(layers, name="augmentation")


def augment_samples(
    image: np.ndarray,
    n: int,
    *,
    flip_mode: str = "horizontal",
    rotation_factor: float = 0.2,
    fill_mode: str = "reflect",
    seed: int | None = None,
    scaled: bool = False,
) -> np.ndarray:
    """``n`` augmented versions of one image, as the models see them in training.

    Args:
        image: (height, width, 3) array of any real dtype (cast to float32), values in [0, 255].
        n: number of versions (≥ 1).
        flip_mode, rotation_factor, fill_mode, seed: as for :func:`build_augmentation`.
        scaled: as model3 and model4 see them: scaled to [-1, 1] by their preprocessing layer
            (:func:`catdog.models.preprocessing_layer`) before the augmentation, and back to [0, 255] for display.
            Only ``fill_mode="constant"`` looks different: its 0 is mid-grey there, black on model2's raw pixels.

    Returns:
        float32 array (n, height, width, 3), values clipped to [0, 255].

    Raises:
        ValueError: an unknown mode or a factor outside [0, 0.5] (:func:`build_augmentation`).
    """
    augmentation = build_augmentation(flip_mode, rotation_factor, fill_mode, seed)
    batch = np.repeat(np.asarray(image, dtype=np.float32)[None], n, axis=0)
    if scaled:
        from catdog.models import preprocessing_layer

        out = (np.asarray(augmentation(preprocessing_layer()(batch), training=True)) + 1.0) * 127.5
    else:
        out = np.asarray(augmentation(batch, training=True))
    return np.clip(out, 0, 255).astype(np.float32)
