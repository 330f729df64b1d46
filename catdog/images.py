"""Decode uploaded image bytes into RGB pictures the models can read.

Every upload goes through PIL here, in memory; nothing is written to disk.
:func:`decode_image` never lets a PIL error through: whatever the bytes are
(empty, text renamed ``.jpg``, a truncated download, a decompression bomb, a
16-bit scan, a transparent PNG, an animated GIF, a phone photo stored
sideways), the caller gets either an RGB image or a
:class:`~catdog.errors.CatdogError` whose message names the file and says what
to do.

What the conversion does, by PIL mode:

- ``RGB``: kept; ``L``, ``1``, ``CMYK`` (through its ICC profile when it has
  one), ``YCbCr``, ``LAB``, ``HSV``: converted to RGB.
- ``P`` (palette), ``RGBA``, ``LA``, ``PA``, ``RGBa``, ``La``: transparent
  parts are composited on white (a student's transparent PNG of a cat shows
  the cat on white, not on black).
- ``I;16``/``I;16B``/``I;16L`` (16-bit), ``I`` (32-bit integer), ``F``
  (32-bit float): scaled to 8 bits, see :func:`_scale_to_uint8`.
- Animated GIF/WebP/APNG: the first frame.
- EXIF orientation: applied, so a portrait photo stored sideways (tag 6) comes
  out upright, width and height swapped.
- JPEG (RGB or greyscale): the pixels come from TensorFlow's decoder, as in
  training, not PIL's (see :func:`_as_training_decodes`); PIL still checks the
  file first.
"""

from __future__ import annotations

import io
import warnings

import numpy as np

from catdog.config import IMAGE_SIZE
from catdog.errors import CatdogError

#: Largest upload accepted, in bytes: 20 MiB.  ``.streamlit/config.toml`` sets
#: ``server.maxUploadSize = 20``; Streamlit's "MB" there is 1024 × 1024 bytes.
MAX_BYTES = 20 * 1024 * 1024

#: Largest image accepted, in pixels (width × height); larger ones are refused
#: as possible decompression bombs.  40 MP covers the 12-MP photos phones save by
#: default, not the 48–200 MP of their "high resolution" modes (those are refused
#: with a message to shrink them): decoding one 40-MP photo for the model takes
#: about 0.9 GB for a moment (20 × 6300×6300 PNGs, ``classify_files``, 2 Dec 2026).
MAX_PIXELS = 40_000_000

#: PIL formats :func:`decode_image` opens.  Others PIL knows (EPS, which runs
#: Ghostscript, PSD, ICNS, …) are refused: uploads come from anyone.
#: (Multi-picture JPEGs from phones, MPO, open through ``JPEG``.)
FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")

#: What to tell a student which files work.
_SUPPORTED = "JPEG, PNG, GIF, WebP, BMP or TIFF"

#: File name extensions the pages' uploaders accept: those of :data:`FORMATS` (the uploader refuses others before
#: catdog sees them, so this list and the messages above must agree). ``.jfif`` (and ``.jpe``) is how Chrome and
#: Edge on Windows save many JPEGs from the web; without it the uploader refused them ("image/jpeg files are not
#: allowed", QA).
UPLOAD_TYPES = ("jpg", "jpeg", "jpe", "jfif", "png", "gif", "webp", "bmp", "tif", "tiff")

#: The uploaders' help: a real ``.heic``, ``.pdf`` or ``.zip`` is refused by the uploader itself with only
#: "image/heif files are not allowed", before catdog could say what to do (QA).
UPLOAD_HELP = (f"{_SUPPORTED}, up to {MAX_BYTES // 2**20} MB each. An iPhone's HEIC photos: export them as JPEG "
               "first; a ZIP of images: unzip it and drop the images.")

_MIB = 1024 * 1024


def _megabytes(n: int) -> str:
    """``n`` bytes in Streamlit's megabytes (MiB), e.g. ``'20 MB'``, ``'20.5 MB'``."""
    value = n / _MIB
    return f"{value:.0f} MB" if value == int(value) else f"{value:.1f} MB"


#: First bytes of the formats catdog reads, for telling "damaged image" from "not an image".
_MAGIC = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)


_NOT_AN_IMAGE = "this file is not an image"
#: What to do about a file that is not an image of a format catdog reads.
_UPLOAD_ANOTHER = f"Upload a {_SUPPORTED} file."


def _sniff(data: bytes) -> tuple[str, str] | None:
    """What a file that PIL cannot open is, from its first bytes, and what to do about it: ``(what, advice)`` for
    well-known non-image or unsupported files, else ``None``. A photo in a format catdog cannot read is not called
    "not an image" (QA: "this file is not an image: it is a HEIC/HEIF photo")."""
    head = data[:32]
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypmsf1", b"ftyphevc"):
        return "it is a HEIC/HEIF photo (the iPhone default), which catdog cannot read", "Export it as JPEG."
    if head[4:12] == b"ftypavif":
        return "it is an AVIF image, which catdog cannot read", "Save it as JPEG or PNG."
    if head.startswith(b"%PDF"):
        return f"{_NOT_AN_IMAGE}: it is a PDF document", _UPLOAD_ANOTHER
    if head.startswith(b"PK\x03\x04"):
        return f"{_NOT_AN_IMAGE}: it is a ZIP archive (or an Office document)", "Unzip it and upload the images."
    if head.lstrip().startswith((b"<svg", b"<?xml")):
        return "it is an SVG/XML drawing, which catdog cannot read", "Export it as PNG."
    sample = data[:512]
    if sample and all(32 <= b < 127 or b in (9, 10, 13) for b in sample):
        return (f"{_NOT_AN_IMAGE}: it contains plain text, not picture data (renaming a file does not make it an "
                "image)", _UPLOAD_ANOTHER)
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return f"it starts like a {kind} file but is cut off or damaged", \
                f"Upload a {_SUPPORTED} file that opens in an image viewer."
    return None


def unreadable_reason(head: bytes, err: Exception) -> str:
    """Why PIL could not read an image file, in words for a student, without advice: for the Data page's list of
    dataset files left out, in the words an upload of the same file gets (it showed "UnidentifiedImageError: cannot
    identify image file '…'" with the path twice, QA).

    Args:
        head: the file's first bytes (512 are enough), ``b""`` for an empty file.
        err: what PIL raised opening or decoding it.

    Returns:
        A lower-case phrase without a final full stop, e.g. ``"the file is empty (0 bytes)"``.
    """
    from PIL import Image, UnidentifiedImageError

    if not head:
        return "the file is empty (0 bytes)"
    if isinstance(err, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        # not "damaged (DecompressionBombError)" for a picture an upload calls too large (QA): PIL refuses past
        # twice Image.MAX_IMAGE_PIXELS (178,956,970 pixels by default) as a guard against decompression bombs
        return f"the image is too large to process safely (over {2 * Image.MAX_IMAGE_PIXELS:,} pixels)"
    if isinstance(err, UnidentifiedImageError):
        what, _ = _sniff(head) or (f"{_NOT_AN_IMAGE}: its content is not a picture catdog can read", "")
        return what
    if "truncated" in str(err).lower() or isinstance(err, (EOFError, SyntaxError)):
        return "the file is cut off (truncated): only part of the picture is there"
    return f"the picture data is damaged and cannot be decoded ({decoder_says(err)})"


def decoder_says(err: Exception, limit: int = 100) -> str:
    """What the image library said of a file it could not read, for the end of a message: ``"PIL: broken data
    stream when reading image file"``, cut at ``limit`` characters; the exception's type where it said nothing (a
    bare "(OSError)" told a student nothing, QA)."""
    words = " ".join(str(err).split())
    if not words:
        return type(err).__name__
    return f"PIL: {words if len(words) <= limit else words[:limit - 1] + '…'}"


def _scale_to_uint8(array: np.ndarray, mode: str) -> np.ndarray:
    """Scale a one-channel high-bit-depth image to uint8 without clipping to white.

    - ``I;16*`` (16-bit): ``value / 257``, so 0 → 0 and 65535 → 255.
    - ``I`` and ``F``: if all values lie in [0, 255] (``F``: [0, 1]) they are
      taken as 8-bit (float: fraction of full scale); else if they lie in
      [0, 65535], as 16-bit; else the range [min, max] is stretched to [0, 255].

    Args:
        array: (height, width) integer or float array.
        mode: the PIL mode it came from.

    Returns:
        uint8 array (height, width).
    """
    values = array.astype(np.float64)
    finite = values[np.isfinite(values)]
    values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if mode.startswith("I;16"):
        scaled = values / 257.0
    elif mode == "F" and low >= 0.0 and high <= 1.0:
        scaled = values * 255.0
    elif low >= 0.0 and high <= 255.0:
        scaled = values
    elif low >= 0.0 and high <= 65535.0:
        scaled = values / 257.0
    elif high > low:
        scaled = (values - low) * (255.0 / (high - low))
    else:
        scaled = np.zeros_like(values)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def _to_rgb(image):
    """Convert a loaded single-frame PIL image of any mode to RGB (see module docstring)."""
    from PIL import Image

    mode = image.mode
    if mode == "RGB":
        return image
    if mode.startswith("I") or mode == "F":
        gray = _scale_to_uint8(np.asarray(image), mode)
        return Image.fromarray(gray, "L").convert("RGB")
    if mode == "P":
        has_alpha = "transparency" in image.info or image.palette is not None and image.palette.mode == "RGBA"
        image = image.convert("RGBA" if has_alpha else "RGB")
        mode = image.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if mode == "CMYK" and image.info.get("icc_profile"):
        try:
            from PIL import ImageCms

            source = ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))
            return ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
        except Exception:  # A broken or unusable profile: fall back to PIL's plain conversion.
            pass
    return image.convert("RGB")


def decode_image(data: bytes, name: str = "image", *, max_bytes: int = MAX_BYTES,
                 max_pixels: int = MAX_PIXELS):
    """Decode the bytes of one uploaded file to an RGB ``PIL.Image``.

    Checks, in order: not empty; at most ``max_bytes`` bytes; a format of
    :data:`FORMATS`; at most ``max_pixels`` pixels, judged from the header
    *before* any pixel is decoded (PIL's own ``DecompressionBombWarning`` and
    ``DecompressionBombError`` are reported the same way); the pixel data is
    complete.  Then the first frame is taken, the EXIF orientation applied and
    the colour mode converted to RGB (module docstring).

    Args:
        data: the file's bytes.
        name: the file name, put at the start of every message.
        max_bytes: largest file accepted, in bytes.
        max_pixels: largest image accepted, width × height in pixels.

    Returns:
        A loaded ``PIL.Image.Image`` in mode ``RGB`` (8 bits per channel),
        upright; size (width, height) is the stored size, swapped for EXIF
        orientations 5–8.

    Raises:
        CatdogError: the file is empty, too large in bytes or pixels, not an
            image of a supported format, has a damaged header, no pixels (0 wide
            or high), is cut off or has damaged pixel data, or its colour mode
            cannot be converted to RGB; the message starts with ``name`` and is
            written for a student.
    """
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise CatdogError(f"{name}: the file is empty (0 bytes). Choose the picture again.")
    if len(data) > max_bytes:
        raise CatdogError(
            f"{name}: the file is {_megabytes(len(data))}; the limit is {_megabytes(max_bytes)}. "
            "Upload a smaller picture."
        )
    too_many_pixels = (
        f"{name}: the image is too large to process safely; the limit is {max_pixels:,} pixels "
        "(width × height). Shrink the picture and upload it again."
    )
    Image.init()  # Register every plugin, so ``formats`` names only known ones.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # e.g. "Corrupt EXIF data"
            # PIL warns (and above twice its limit raises) while reading the header.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as err:
        raise CatdogError(too_many_pixels) from err
    except UnidentifiedImageError as err:
        what, advice = _sniff(data) or (unreadable_reason(data[:512], err), _UPLOAD_ANOTHER)
        raise CatdogError(f"{name}: {what}. {advice}") from err
    except Exception as err:  # A damaged header makes some plugins raise other errors.
        raise CatdogError(
            f"{name}: the file looks like an image but its header is damaged ({decoder_says(err)}). "
            f"Upload a {_SUPPORTED} file that opens in an image viewer."
        ) from err
    with image:
        width, height = image.size
        if width * height > max_pixels:
            raise CatdogError(
                f"{name}: the image is {width:,}×{height:,} = {width * height:,} pixels; the limit is "
                f"{max_pixels:,} pixels. Shrink the picture and upload it again."
            )
        if width < 1 or height < 1:
            raise CatdogError(f"{name}: the image has no pixels ({width}×{height}).")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image.seek(0)  # Animated GIF/WebP/APNG: the first frame.
                image.load()
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as err:
            raise CatdogError(too_many_pixels) from err
        except Exception as err:  # OSError "image file is truncated", zlib errors, bad tiles …
            if (reason := unreadable_reason(data[:512], err)).startswith("the file is cut off"):
                raise CatdogError(
                    f"{name}: {reason}. It may not have finished downloading; get the file again and re-upload it."
                ) from err
            raise CatdogError(
                f"{name}: the picture data is damaged and cannot be decoded ({decoder_says(err)}). "
                "Open it in an image viewer and save it again as JPEG or PNG."
            ) from err
        if (as_trained := _as_training_decodes(data, image)) is not None:
            return as_trained
        upright = _upright(image)
        try:
            rgb = _to_rgb(upright)
            if rgb is image:  # Closing ``image`` below would free the pixels.
                rgb = image.copy()
            rgb.load()
        except Exception as err:
            raise CatdogError(
                f"{name}: the colour format ({image.mode}) cannot be converted to RGB ({decoder_says(err)}). "
                "Save the picture again as an ordinary JPEG or PNG."
            ) from err
    return rgb


def _upright(image):
    """``image`` turned or mirrored as its EXIF orientation asks (PIL's ``ImageOps.exif_transpose``); as it is
    when that EXIF is broken, which must not cost the student the picture."""
    from PIL import ImageOps

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "Corrupt EXIF data"
            return ImageOps.exif_transpose(image)
    except Exception:
        return image


def _as_training_decodes(data: bytes, image):
    """A JPEG's pixels as training reads them: TensorFlow's decoder, as :func:`catdog.data.load_image` (and
    ``image_dataset_from_directory``) calls it, turned upright by the file's EXIF orientation as PIL turns it
    (:func:`_upright`); ``None`` for other formats and colour modes, or when TensorFlow cannot decode the file
    (PIL's pixels are used then).

    PIL's JPEG decoder and TensorFlow's (its default, faster DCT) differ by about 1 grey level per pixel on the
    course's JPEGs (up to 4): a test image the test-split evaluation showed as misclassified ("said dogs 57.7%")
    was right when the same file was uploaded ("cats 56.0%", QA). PNG, GIF, BMP and WebP decode to the same
    pixels either way.

    Args:
        data: the file's bytes.
        image: the loaded ``PIL.Image`` of them (its ``format``, ``mode``, stored size and EXIF).

    Returns:
        An RGB ``PIL.Image``, upright, or ``None``.
    """
    if image.format not in ("JPEG", "MPO") or image.mode not in ("RGB", "L"):  # CMYK, say: PIL's conversion
        return None
    import tensorflow as tf
    from PIL import Image

    try:
        pixels = tf.io.decode_image(data, channels=3, expand_animations=False).numpy()
    except (tf.errors.OpError, ValueError):
        return None
    if pixels.shape[:2] != (image.height, image.width):
        return None
    decoded = Image.fromarray(pixels, "RGB")
    if "exif" in image.info:  # the file's EXIF, read by ``getexif`` as from the file itself
        decoded.info["exif"] = image.info["exif"]
    return _upright(decoded)


def to_model_input(image, image_size: tuple[int, int] = IMAGE_SIZE) -> np.ndarray:
    """Resize an RGB image as the training pipeline does (bilinear, no antialias).

    Same operation as :func:`catdog.data.make_dataset` applies after decoding
    (``tf.image.resize(..., method="bilinear")``, like
    ``image_dataset_from_directory``).  The uint8 pixels go to TensorFlow as
    they are (the result is the same float32 as resizing a float copy, but a
    12-megapixel photo takes about half the time).

    Args:
        image: a ``PIL.Image`` (converted to RGB if needed).
        image_size: (height, width) in pixels.

    Returns:
        float32 array (height, width, 3), values in [0, 255].
    """
    import tensorflow as tf

    rgb = image if image.mode == "RGB" else image.convert("RGB")
    resized = tf.image.resize(np.asarray(rgb), image_size, method="bilinear")
    return np.asarray(resized, dtype=np.float32)


def for_display(image, *, max_side: int = 1024, max_aspect: float = 8.0):
    """A copy of ``image`` that ``st.image`` can always draw at column width.

    Streamlit scales an image to the column's width; a strip such as 1500×1 pixels then gets a height of
    0 and PIL refuses to resize it.  The copy is shrunk to at most ``max_side`` pixels a side
    (``Image.thumbnail``, aspect ratio kept, at least 1 pixel) and, when one side is more than
    ``max_aspect`` times the other, centred on a grey canvas of that aspect ratio.  The model's input
    (:func:`to_model_input`) is not affected.

    Args:
        image: a ``PIL.Image`` in RGB.
        max_side: longest side of the copy, in pixels (1024: twice what the Classifier's three pictures a
            row need on a 1920-px screen, under 500 px each, so sharp on a high-density display too).
        max_aspect: the most elongated width/height (or height/width) ratio drawn as is (8: a 4000×100
            panorama still shows as a strip, at least 1/8 as high as wide, in a column a third of 1024 px).

    Returns:
        A new RGB ``PIL.Image``.
    """
    from PIL import Image

    shown = image.convert("RGB") if image.mode != "RGB" else image.copy()
    shown.thumbnail((max_side, max_side))
    width, height = shown.size
    if max(width, height) <= max_aspect * min(width, height):
        return shown
    if width > height:
        size = (width, max(height, round(width / max_aspect)))
    else:
        size = (max(width, round(height / max_aspect)), height)
    canvas = Image.new("RGB", size, (128, 128, 128))
    canvas.paste(shown, ((size[0] - width) // 2, (size[1] - height) // 2))
    return canvas
