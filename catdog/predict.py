"""Classify images with a trained model: logits → softmax probabilities."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from catdog.config import CLASS_NAMES
from catdog.errors import CatdogError
from catdog.images import decode_image, for_display, to_model_input

#: Longest side, in pixels, of the image a :class:`Prediction` keeps for display: the Classifier draws it in a
#: third of the page (about 400 CSS pixels, 800 device pixels on a 2× screen). Not the decoded photo itself: 20
#: uploaded 6300×6300 PNGs (2.6 MB of files, 40 MP each when decoded) kept 119 MB each and took a server from
#: 2.2 to 8.7 GB (QA, 2 Dec 2026).
DISPLAY_MAX_SIDE = 800


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (n, classes) logits, computed stably: exp(z − max z) / Σ exp(z − max z).

    Returns:
        float64 array of the logits' shape, each row in [0, 1] summing to 1.
    """
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def probability_text(probability: float) -> str:
    """A softmax probability in percent with one decimal, e.g. ``"97.3%"``; ``">99.9%"`` and ``"<0.1%"`` at the
    ends, where one decimal would round to a certainty that a softmax never gives ("cats · 100.0%", QA)."""
    if probability >= 0.9995:
        return ">99.9%"
    if probability < 0.0005:
        return "<0.1%"
    return f"{probability:.1%}"


def predict_probabilities(model, images: np.ndarray) -> np.ndarray:
    """Class probabilities for a batch.

    Args:
        model: a registry model (image → logits).
        images: float32 (n, height, width, 3) in [0, 255], at the model's input size.

    Returns:
        float64 (n, 2) rows summing to 1, columns in the order of the model's logits: the class names of the
        run it was trained in (``run.json``'s ``class_names``; :data:`CLASS_NAMES` for the course's data).

    Raises:
        ValueError: images of another size than the model's input (Keras's error, passed on).
    """
    logits = model.predict_on_batch(np.asarray(images, dtype=np.float32))
    return softmax(np.asarray(logits))


@dataclass(frozen=True)
class Prediction:
    """The verdict for one file.

    Attributes:
        name: the file name.
        label: predicted class name, or ``None`` when the file was not an image.
        probabilities: ``{class name: softmax probability in [0, 1]}``, summing to 1; empty on error.
        error: the message for an unreadable file, else ``None``.
        image: the decoded RGB ``PIL.Image`` shrunk for display (:func:`catdog.images.for_display`, at most
            :data:`DISPLAY_MAX_SIDE` pixels a side), else ``None``.
    """

    name: str
    label: str | None
    probabilities: dict[str, float]
    error: str | None = None
    image: object | None = None


@dataclass(frozen=True)
class Upload:
    """One uploaded file, decoded once for every model that classifies it.

    Attributes:
        name: the file name.
        inputs: ``{(height, width): float32 array (height, width, 3) in [0, 255]}``, the image resized as the
            training pipeline does (:func:`catdog.images.to_model_input`) to each size asked for; empty on error.
        image: the decoded RGB ``PIL.Image`` shrunk for display (at most :data:`DISPLAY_MAX_SIDE` pixels a side),
            else ``None``.
        error: the message for an unreadable file (starting with its name), else ``None``.
        size: the decoded image's (width, height) in pixels, upright, else ``None``.
    """

    name: str
    inputs: dict[tuple[int, int], np.ndarray]
    image: object | None = None
    error: str | None = None
    size: tuple[int, int] | None = None


def decode_upload(name: str, data: bytes, sizes: Sequence[tuple[int, int]]) -> Upload:
    """Decode one file once and resize it to every model input size in ``sizes``; never raises for bad bytes.

    The full-size decoded photo is freed before this returns: only the display copy and the model inputs are
    kept (20 decoded 6300×6300 PNGs held 2.4 GB, QA, 2 Dec 2026). Models trained at 160 and at 224 pixels
    thus share one decode: 4 compared models decoded every photo 4 times before (3 Dec 2026).

    Args:
        name: the file name, put at the start of an error message.
        data: the file's bytes.
        sizes: (height, width) pairs in pixels.

    Returns:
        An :class:`Upload`, with ``error`` set where :func:`catdog.images.decode_image` refuses the file.
    """
    try:
        with decode_image(data, name) as image:
            return Upload(name, {tuple(size): to_model_input(image, tuple(size)) for size in sizes},
                          image=for_display(image, max_side=DISPLAY_MAX_SIDE), size=image.size)
    except CatdogError as err:
        return Upload(name, {}, error=str(err))


def classify_uploads(model, uploads: Sequence[Upload], class_names=CLASS_NAMES,
                     image_size: tuple[int, int] | None = None) -> list[Prediction]:
    """Classify decoded uploads (:func:`decode_upload`); a file that is no image gets an error entry.

    Args:
        model: image → logits model.
        uploads: decoded files; each that decoded must hold an input of ``image_size``.
        class_names: class names in label order.
        image_size: (height, width) of the model's input, in pixels; ``None``: :func:`catdog.models.input_size`.

    Returns:
        One :class:`Prediction` per upload, in input order, keeping the upload's display copy.

    Raises:
        CatdogError: the model fails on the images, or does not give one output per class, or (``image_size``
            ``None``) its input is not a batch of fixed-size RGB images.
        KeyError: an upload lacks an input of ``image_size`` (a programming error).
    """
    from catdog.models import input_size

    image_size = tuple(image_size or input_size(model))
    images = [u for u in uploads if u.error is None]
    if not images:
        return [Prediction(u.name, None, {}, error=u.error) for u in uploads]
    try:
        probs = predict_probabilities(model, np.stack([u.inputs[image_size] for u in images]))
    except Exception as err:  # a model file that loads but is no image → logits model of this dashboard
        raise CatdogError(f"The model could not classify the images ({type(err).__name__}: {err}).") from err
    if probs.shape[-1] != len(class_names):
        raise CatdogError(f"The model gives {probs.shape[-1]} outputs, not one per class "
                          f"({', '.join(class_names)}): it is not a classifier of these classes.")
    rows = iter(probs)
    results = []
    for u in uploads:
        if u.error is not None:
            results.append(Prediction(u.name, None, {}, error=u.error))
            continue
        row = next(rows)
        results.append(Prediction(u.name, class_names[int(np.argmax(row))],
                                  {c: float(p) for c, p in zip(class_names, row)}, image=u.image))
    return results


def classify_files(model, files: list[tuple[str, bytes]], class_names=CLASS_NAMES,
                   image_size: tuple[int, int] | None = None) -> list[Prediction]:
    """Classify uploaded files; a bad file gets an error entry, the others a verdict.

    :func:`decode_upload` of each file (one at a time), then :func:`classify_uploads`.

    Args:
        model: image → logits model.
        files: ``(name, bytes)`` pairs.
        class_names: class names in label order.
        image_size: (height, width) in pixels images are resized to; ``None``: the model's
            input size (:func:`catdog.models.input_size`).

    Returns:
        One :class:`Prediction` per file, in input order.

    Raises:
        CatdogError: the model fails on the images, or does not give one output per class, or (``image_size``
            ``None``) its input is not a batch of fixed-size RGB images.  A file that is not an image raises
            nothing: its :class:`Prediction` carries the message.
    """
    from catdog.models import input_size

    image_size = tuple(image_size or input_size(model))
    uploads = [decode_upload(name, data, [image_size]) for name, data in files]
    return classify_uploads(model, uploads, class_names, image_size)


def verdict_rows(names: Sequence[str], verdicts: Mapping[str, Sequence[Prediction]]) -> list[dict]:
    """The Classifier's comparison of models: one row per file, one column per model.

    Args:
        names: the file names, in upload order.
        verdicts: ``{column title: predictions}``, each :func:`classify_files`'s result for those same files
            with one model.

    Returns:
        ``{"file": name, title: "cats · 97.3%", …}`` per file: the predicted class and its softmax probability
        (:func:`probability_text`); ``"—"`` where the file is not an image (as the Classifier's results table
        shows it).
    """
    rows = []
    for i, name in enumerate(names):
        row = {"file": name}
        for title, predictions in verdicts.items():
            p = predictions[i]
            row[title] = "—" if p.label is None else f"{p.label} · {probability_text(p.probabilities[p.label])}"
        rows.append(row)
    return rows


def predictions_csv(predictions: Sequence[Prediction], class_names: Sequence[str], run) -> bytes:
    """The Classifier's results table as a CSV file for download.

    One row per file: the run (name, id, model), the file, the verdict (the predicted class; empty for a file
    that is no image), the probability of each class (fractions in [0, 1]) and the message of a file that is no image.
    Text that a spreadsheet would run as a formula is kept as text (:func:`_csv_text`).
    UTF-8 with a byte-order mark, so that Excel reads names such as "été 🐱.jpg" (without it they came out
    garbled, QA).

    Args:
        predictions: :func:`classify_files`' result.
        class_names: the run's class names, in the order of its logits.
        run: the :class:`catdog.training.RunInfo` whose model gave them.

    Returns:
        The CSV file's bytes (UTF-8 with BOM, ``\r\n`` line ends as ``csv.writer`` writes them).
    """
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(map(_csv_text, ["run", "run id", "model", "file", "verdict", *class_names, "message"]))
    for p in predictions:
        writer.writerow([*map(_csv_text, [run.name, run.run_id, run.model, p.name, p.label or ""]),
                         *(p.probabilities.get(c, "") for c in class_names), _csv_text(p.error or "")])
    return out.getvalue().encode("utf-8-sig")


def _csv_text(text: str) -> str:
    """A text cell a spreadsheet will not run as a formula: one that starts with ``=``, ``+``, ``-``, ``@``, a tab
    or a carriage return gets a leading ``'`` (OWASP, "CSV Injection"). A file "=1+1.jpg", or a run renamed
    ``=HYPERLINK(…)`` by anyone on a shared server, opened as a live formula in Excel (QA L)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text

