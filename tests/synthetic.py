"""Small synthetic cats-vs-dogs datasets the tests make themselves.

Cats are reddish images with a bright disc, dogs bluish with a bright bar, so a
model can learn them in an epoch or two.  Nothing from ``../shared`` is copied.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ("cats", "dogs")


def synthetic_image(label: int, seed: int, size: tuple[int, int] = (48, 40)) -> Image.Image:
    """One RGB image of class ``label`` (0 cats, 1 dogs), ``size`` = (width, height)."""
    rng = np.random.default_rng(seed)
    w, h = size
    base = np.array([170, 60, 50] if label == 0 else [50, 70, 170], dtype=np.float32)
    pixels = base + rng.normal(0, 25, size=(h, w, 3))
    yy, xx = np.mgrid[0:h, 0:w]
    if label == 0:
        mask = (yy - h / 2) ** 2 + (xx - w / 2) ** 2 < (min(w, h) / 4) ** 2
    else:
        mask = np.abs(yy - h / 2) < h / 8
    pixels[mask] = 235
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def make_dataset(root: Path, train_per_class: int = 8, validation_per_class: int = 10,
                 size: tuple[int, int] = (48, 40)) -> Path:
    """Write ``root/{train,validation}/{cats,dogs}/*.jpg`` and return ``root``."""
    seed = 0
    for split, n in (("train", train_per_class), ("validation", validation_per_class)):
        for label, name in enumerate(CLASSES):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                seed += 1
                synthetic_image(label, seed, size).save(folder / f"{name[:-1]}.{i}.jpg", quality=90)
    return root
