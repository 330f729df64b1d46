"""Regenerate the dashboard screenshots in docs/screenshots/ (full-page PNGs, Chromium).

Starts ``streamlit run dashboard.py`` on a free port with an empty runs folder,
on the real dataset (``../shared/datasets/cats_and_dogs_filtered``) when it is
there, else on a synthetic one, and captures each step: Data, Augmentation,
Training (live, then after training ``--model``, by default a 20-epoch fast model4), Classifier (with
dropped images) and its test-split evaluation.

Usage::

    .venv/bin/python scripts/screenshots.py [--data DIR] [--out docs/screenshots] [--model model4] [--epochs N]
        [--runs-from DIR]

Needs the playwright package and Debian's Chromium at /usr/bin/chromium (no download).
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser.helpers import (  # noqa: E402
    VIEWPORT, AppServer, browser_missing_reason, click_train, configure_data, error_texts, go_to, launch_browser,
    new_runs, open_app, read_runs, set_training, settle, wait_for, wait_for_run_status, wait_mid_epoch,
)
from tests.synthetic import make_dataset, synthetic_image  # noqa: E402

REAL_DATA = REPO.parent / "shared/datasets/cats_and_dogs_filtered"


def wait_images_loaded(page, timeout: float = 60) -> None:
    """Wait until every <img> of the page has finished loading."""
    wait_for(lambda: page.evaluate("Array.from(document.images).every(img => img.complete && img.naturalWidth > 0)"),
             timeout=timeout, interval=0.2, message="images to load")


def full_page(page, path: Path) -> None:
    """Screenshot the whole page: Streamlit scrolls inside its main container, so the
    viewport is made as tall as the content first."""
    settle(page)
    wait_images_loaded(page)
    height = page.evaluate(
        "Math.max(...['stMain', 'stSidebarContent'].map(id => "
        "(document.querySelector(`[data-testid=${id}]`) || {scrollHeight: 0}).scrollHeight))"
    )
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(VIEWPORT["height"], int(height) + 40)})
    page.wait_for_timeout(800)  # charts re-layout to the new size
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(VIEWPORT)
    problems = error_texts(page)
    print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}"
          + (f"  (error shown: {problems})" if problems else ""))


def png_bytes(label: int) -> bytes:
    buffer = io.BytesIO()
    synthetic_image(label, seed=4242 + label, size=(120, 100)).save(buffer, format="PNG")
    return buffer.getvalue()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="dataset folder (default: the real data if present, else synthetic)")
    parser.add_argument("--out", type=Path, default=REPO / "docs/screenshots")
    parser.add_argument("--model", default="model4", help="the model trained on the Training page (default model4)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs of that training (default 20 for model4 in fast mode, else 1)")
    parser.add_argument("--runs-from", type=Path, default=None,
                        help="copy the runs of this folder into the server's runs folder first (for the comparison)")
    args = parser.parse_args(argv)

    reason = browser_missing_reason()
    if reason:
        print(f"cannot take screenshots: {reason}", file=sys.stderr)
        return 1
    from playwright.sync_api import expect, sync_playwright

    epochs = args.epochs or (20 if args.model == "model4" else 1)
    work = Path(tempfile.mkdtemp(prefix="catdog-screenshots-"))
    if args.runs_from:
        shutil.copytree(args.runs_from, work / "runs")
    data = args.data or (REAL_DATA if (REAL_DATA / "train").is_dir() else None)
    synthetic = data is None
    if synthetic:
        data = make_dataset(work / "cats_and_dogs_filtered", train_per_class=40, validation_per_class=30)
    sizes = dict(validation=40, test=20) if synthetic else None
    print(f"dataset: {data}{' (synthetic)' if synthetic else ''}")
    args.out.mkdir(parents=True, exist_ok=True)

    # a cold feature cache of its own: with a warm one model4's 20 epochs ended before the live shot (3 Dec)
    os.environ["CATDOG_CACHE_DIR"] = str(work / "cache")
    server = AppServer(data, work / "runs", work / "logs", extra_args=("--client.toolbarMode", "minimal")).start()
    started = time.time()
    try:
        with sync_playwright() as playwright:
            browser = launch_browser(playwright)
            page = browser.new_context(viewport=VIEWPORT).new_page()
            page.set_default_timeout(120_000)
            open_app(page, server)
            if sizes:
                configure_data(page, **sizes)
            expect(page.locator(".st-key-counts_chart .js-plotly-plot")).to_be_visible()
            full_page(page, args.out / "1_data.png")

            go_to(page, "Augmentation")
            expect(page.get_by_test_id("stMain").get_by_test_id("stImage")).to_have_count(9)
            full_page(page, args.out / "2_augmentation.png")

            go_to(page, "Training")
            before = set(read_runs(server.runs_dir))
            set_training(page, epochs=epochs, batch=8 if synthetic else 32, model=args.model, name="screenshot run")
            click_train(page)
            run_id = next(iter(wait_for(lambda: new_runs(server.runs_dir, before), message="the run folder")))
            if args.model == "model4":  # fast mode: its 20 epochs on cached features end within seconds
                under_way = re.compile(r"extracting features · batch ([1-9]\d*)/")
                wait_for(lambda: any(under_way.search(t) for t in page.get_by_test_id("stProgress").all_inner_texts()),
                         interval=0.1, message="feature extraction under way")
                page.wait_for_timeout(500)
            else:
                wait_mid_epoch(page, epochs)
                page.wait_for_timeout(1500)
            full_page(page, args.out / "3_training_live.png")
            wait_for_run_status(server.runs_dir, run_id, timeout=900)
            expect(page.get_by_test_id("stMetric").filter(has_text="Test accuracy").first).to_be_visible()
            expect(page.locator(".st-key-compare_curves .js-plotly-plot")).to_be_visible()
            full_page(page, args.out / "4_training_done.png")

            go_to(page, "Classifier")
            if synthetic:
                files = [{"name": f"{n}.png", "mimeType": "image/png", "buffer": png_bytes(i)}
                         for i, n in enumerate(("my_cat", "my_dog"))]
            else:
                files = [str(data / "validation/cats/cat.2000.jpg"), str(data / "validation/dogs/dog.2000.jpg")]
            page.get_by_test_id("stFileUploader").locator("input[type='file']").set_input_files(files)
            verdicts = page.get_by_test_id("stMain").locator("h3").filter(has_text=re.compile(r"^(cats|dogs) · "))
            expect(verdicts).to_have_count(2)
            page.get_by_test_id("stMain").get_by_text("Show Grad-CAM").click()
            settle(page)
            full_page(page, args.out / "5_classifier.png")

            page.get_by_role("tab", name="Test-split evaluation").click()
            page.get_by_role("button", name="Evaluate on the test split").click()
            expect(page.locator(".st-key-confusion .js-plotly-plot")).to_be_visible(timeout=300_000)
            full_page(page, args.out / "6_classifier_evaluation.png")
            browser.close()
    finally:
        server.stop()
    print(f"done in {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
