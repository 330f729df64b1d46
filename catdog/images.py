"""Decode uploaded image bytes into RGB pictures the models can read.

Every upload goes through PIL here, in memory; nothing is written to disk.
"""

from __future__ import annotations

import io

import numpy as np

from catdog.config import IMAGE_SIZE
from catdog.errors import CatdogError

#: Largest upload accepted, in bytes (also ``server.maxUploadSize`` in MB).
MAX_BYTES = 20 * 1024 * 1024

#: Largest image accepted, in pixels (width × height); larger ones are refused
#: as possible decompression bombs.  40 MP covers any phone photo.
MAX_PIXELS = 40_000_000


def decode_image(data: bytes, name: str = "image", *, max_bytes: int = MAX_BYTES,
                 max_pixels: int = MAX_PIXELS):
    """Decode image bytes to an RGB ``PIL.Image``.

    Args:
        data: the file's bytes.
        name: file name for messages.

    Returns:
        A loaded RGB ``PIL.Image.Image``.

    Raises:
        CatdogError: empty, too large, or not a readable image.
    """
    from PIL import Image, ImageOps

    if not data:
        raise CatdogError(f"{name}: the file is empty.")
    if len(data) > max_bytes:
        raise CatdogError(f"{name}: the file is {len(data) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB.")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > max_pixels:
                raise CatdogError(
                    f"{name}: the image is {image.width}×{image.height} pixels; the limit is "
                    f"{max_pixels / 1e6:.0f} million pixels."
                )
            image.seek(0)
            image = ImageOps.exif_transpose(image)
            return image.convert("RGB")
    except CatdogError:
        raise
    except Exception as err:
        raise CatdogError(f"{name}: not a readable image ({type(err).__name__}).") from err


def to_model_input(image, image_size: tuple[int, int] = IMAGE_SIZE) -> np.ndarray:
    """Resize an RGB image as the training pipeline does (bilinear, no antialias).

    Returns:
        float32 array (height, width, 3), values in [0, 255].
    """
    import tensorflow as tf

    array = np.asarray(image.convert("RGB"), dtype=np.float32)
    return tf.image.resize(array, image_size, method="bilinear").numpy()
