"""How fast catdog answers on the Classifier page.

Measures, per model:

- **first prediction**: from choosing a model (``catdog.models.load_model`` of
  its ``.keras`` file) to the probabilities of the first image, decoding
  included — what a student waits for after picking a run;
- **warm latency**: one image from its bytes to probabilities
  (``decode_image`` → ``to_model_input`` → ``predict_probabilities``), p50 and
  p95 over ``--repeats`` runs, with the share of each step.

Targets: p50 ≤ 150 ms for one image, first prediction ≤ 3 s.

``--compare N`` also times the Classifier's comparison of models: N synthetic 12-megapixel JPEGs (a phone's
photos) classified by every model, each file decoded once per model (``classify_files`` per model, as the page
did before 3 Dec 2026) against once for all of them (``decode_upload`` at every input size, then
``classify_uploads`` per model, as the page does now).  ``--sizes`` gives each model's input size.

The image is a real validation JPEG from ``../shared/datasets`` when present,
else a synthetic one.  model1 is built untrained, model4 with the MobileNetV2
weights file (``$CATDOG_MOBILENET_WEIGHTS`` or the shared copy); each is saved to
a temporary ``.keras`` file first.  ``--model-path`` measures a trained run's
``model.keras`` instead.

Usage::

    .venv/bin/python bench/predict_speed.py
    .venv/bin/python bench/predict_speed.py --model-path runs/<run>/model.keras --repeats 100
    .venv/bin/python bench/predict_speed.py --models model1 model2 model3 model4 --sizes 160 160 160 224 --compare 10
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared"
DEFAULT_IMAGE = SHARED / "datasets/cats_and_dogs_filtered/validation/cats/cat.2000.jpg"
SHARED_WEIGHTS = SHARED / "keras/models/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"


def image_bytes(path: str | None) -> tuple[str, bytes]:
    """The benchmark image: ``path``, else the shared JPEG, else a synthetic 500×375 JPEG."""
    if path:
        return path, Path(path).read_bytes()
    if DEFAULT_IMAGE.is_file():
        return str(DEFAULT_IMAGE), DEFAULT_IMAGE.read_bytes()
    from tests.synthetic import synthetic_image

    buffer = io.BytesIO()
    synthetic_image(0, 1, size=(500, 375)).save(buffer, "JPEG", quality=90)
    return "synthetic 500×375 JPEG", buffer.getvalue()


def save_fresh_model(name: str, folder: Path, size: int = 160) -> Path:
    """Build registry model ``name`` (model4 with local weights) for ``size``×``size`` images and save it as
    ``.keras``."""
    from catdog.config import TrainConfig
    from catdog.models import build_model

    weights = os.environ.get("CATDOG_MOBILENET_WEIGHTS") or (str(SHARED_WEIGHTS) if SHARED_WEIGHTS.is_file() else "")
    model = build_model(TrainConfig(model=name, weights=weights or "imagenet"), image_size=(size, size))
    path = folder / f"{name}.keras"
    model.save(path)
    return path


def percentile_ms(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(values, q) * 1000.0)


def measure(model_path: Path, data: bytes, repeats: int) -> dict:
    """First-prediction time and warm latency of the model saved at ``model_path``."""
    import numpy as np

    from catdog.images import decode_image, to_model_input
    from catdog.models import input_size, load_model
    from catdog.predict import predict_probabilities

    start = time.perf_counter()
    model = load_model(model_path)
    loaded = time.perf_counter()
    size = input_size(model)
    first = predict_probabilities(model, to_model_input(decode_image(data, "bench.jpg"), size)[None])
    done = time.perf_counter()

    steps: dict[str, list[float]] = {"decode": [], "resize": [], "predict": [], "total": []}
    for _ in range(repeats):
        t0 = time.perf_counter()
        image = decode_image(data, "bench.jpg")
        t1 = time.perf_counter()
        array = to_model_input(image, size)
        t2 = time.perf_counter()
        probabilities = predict_probabilities(model, array[None])
        t3 = time.perf_counter()
        steps["decode"].append(t1 - t0)
        steps["resize"].append(t2 - t1)
        steps["predict"].append(t3 - t2)
        steps["total"].append(t3 - t0)
    assert np.allclose(probabilities, first, atol=1e-5), "predictions changed between runs"
    return {
        "model": model.name,
        "file": str(model_path),
        "load_s": round(loaded - start, 3),
        "first_prediction_s": round(done - start, 3),
        "p50_ms": round(percentile_ms(steps["total"], 50), 1),
        "p95_ms": round(percentile_ms(steps["total"], 95), 1),
        "p50_ms_by_step": {k: round(percentile_ms(v, 50), 1) for k, v in steps.items() if k != "total"},
        "repeats": repeats,
    }


def phone_photos(count: int) -> list[tuple[str, bytes]]:
    """``count`` synthetic 4000×3000 JPEGs (quality 90), different pictures."""
    from tests.synthetic import synthetic_image

    files = []
    for i in range(count):
        buffer = io.BytesIO()
        synthetic_image(i % 2, i, size=(4000, 3000)).save(buffer, "JPEG", quality=90)
        files.append((f"photo{i}.jpg", buffer.getvalue()))
    return files


def measure_compare(model_paths: list[Path], count: int) -> dict:
    """Seconds to classify ``count`` phone photos with every model: one decode per file and model, against one
    decode per file for all models (the verdicts must agree to 1e-6)."""
    import numpy as np

    from catdog.models import input_size, load_model
    from catdog.predict import classify_files, classify_uploads, decode_upload

    models = [load_model(path) for path in model_paths]
    files = phone_photos(count)
    for model in models:  # warm: the first predict traces the model
        classify_files(model, files[:1])
    start = time.perf_counter()
    per_model = [classify_files(model, files) for model in models]
    middle = time.perf_counter()
    uploads = [decode_upload(name, data, sorted({input_size(m) for m in models})) for name, data in files]
    once = [classify_uploads(model, uploads) for model in models]
    end = time.perf_counter()
    for a, b in zip(per_model, once):
        assert np.allclose([list(p.probabilities.values()) for p in a], [list(p.probabilities.values()) for p in b],
                           atol=1e-6), "the verdicts differ"
    return {"files": count, "models": len(models), "decode_per_model_s": round(middle - start, 2),
            "decode_once_s": round(end - middle, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["model1", "model4"], help="registry models to build")
    parser.add_argument("--model-path", action="append", default=[], help="a saved .keras model (repeatable)")
    parser.add_argument("--image", help="image file to classify (default: a shared validation JPEG)")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--json", action="store_true", help="print one JSON object per model")
    parser.add_argument("--sizes", nargs="+", type=int, help="input size of each model of --models (default 160)")
    parser.add_argument("--compare", type=int, default=0, metavar="N",
                        help="also time N phone photos classified by every model (the Classifier's comparison)")
    args = parser.parse_args(argv)

    label, data = image_bytes(args.image)
    print(f"image: {label} ({len(data):,} bytes)", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        sizes = args.sizes or [160] * len(args.models)
        if len(sizes) != len(args.models):
            parser.error("--sizes needs one size per model of --models")
        paths = [Path(p) for p in args.model_path] or [
            save_fresh_model(m, Path(tmp), size) for m, size in zip(args.models, sizes)]
        results = [measure(path, data, args.repeats) for path in paths]
        compared = measure_compare(paths, args.compare) if args.compare else None
    ok = True
    for r in results:
        passed = r["p50_ms"] <= 150 and r["first_prediction_s"] <= 3.0
        ok &= passed
        if args.json:
            print(json.dumps(r))
        else:
            steps = ", ".join(f"{k} {v} ms" for k, v in r["p50_ms_by_step"].items())
            print(
                f"{r['model']}: one image p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms ({steps}); "
                f"load {r['load_s']} s, first prediction {r['first_prediction_s']} s "
                f"[{'within' if passed else 'OVER'} targets 150 ms / 3 s]"
            )
    if compared:
        print(json.dumps(compared) if args.json else
              f"{compared['files']} phone photos × {compared['models']} models: decoded once per model "
              f"{compared['decode_per_model_s']} s, once for all models {compared['decode_once_s']} s")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
