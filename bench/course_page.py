"""Issue 3's "done when", from the page: the course's models trained by pressing Train in a real browser.

Starts the dashboard (``streamlit run dashboard.py``, its log in ``RUNS_DIR-logs/``; each training in a child
process of its own, as the dashboard does), opens the Training page in headless Chromium (Playwright, Debian's
``/usr/bin/chromium``) and, one after the other, trains each of ``--models`` for ``--epochs`` epochs with the
page's other defaults (training seed 0, batch 32, split seed 42; model4 in fast mode at the input size of its
weights): ``model4-finetune`` is model4 with 10 fine-tuning epochs more.  Then it restarts the server and reads the
Compare picker's options, which list every run with curves.  Prints a markdown table of each run's scores and
times from its ``run.json``, and the runs offered after the restart.

    export CATDOG_MOBILENET_WEIGHTS=../shared/keras/models/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5
    .venv/bin/python bench/course_page.py --runs-dir runs/course-page

Needs the real dataset (``$CATDOG_DATA_DIR`` or ``../shared``), Playwright and Chromium; ≈ 27 minutes on
2 cores for all five.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from _common import DEFAULT_DATA, REPO, comma_list
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(REPO))

from tests.browser import helpers as web  # noqa: E402  (the browser tests' server and page helpers)

MODELS = ("model1", "model2", "model3", "model4", "model4-finetune")


def _train(page, server, item: str, epochs: int) -> tuple[dict, float]:
    """Press Train for ``item`` on the open Training page; return its finished ``run.json`` and the seconds from
    the click to the run's end."""
    model = "model4" if item.startswith("model4") else item
    web.set_training(page, epochs, batch=32, model=model)
    if model == "model4":  # shown once model4 is chosen
        web.set_input(page, page.get_by_test_id("stMain"), "Fine-tuning epochs (0 = none)",
                      10 if item == "model4-finetune" else 0)
    clicked = time.time()
    run_id = web.start_training(page, server, epochs=epochs, batch=32, name=f"page {item}")
    record = web.wait_for_run_status(server.runs_dir, run_id, statuses=("done",), timeout=3600)
    return record, time.time() - clicked


def _offered(page) -> list[str]:
    """The runs the Compare picker offers, chosen (its tags) or not (its open list): every run with at least one
    finished epoch."""
    picker = page.get_by_test_id("stMain").get_by_test_id("stMultiSelect").filter(has_text="Compare runs")
    web.expect()(picker.locator("[data-tag]").first).to_be_visible(timeout=web.APP_TIMEOUT_MS)
    chosen = picker.locator("[data-tag]").all_inner_texts()
    picker.locator("input").click()
    more = [text for text in page.get_by_role("option").all_inner_texts() if text != "No results"]
    page.keyboard.press("Escape")
    return chosen + more


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("CATDOG_DATA_DIR") or str(DEFAULT_DATA),
                        help="the cats_and_dogs_filtered folder (default: $CATDOG_DATA_DIR, else ../shared)")
    parser.add_argument("--runs-dir", default="runs/course-page", help="the server's runs folder")
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, of {', '.join(MODELS)}")
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    items = comma_list(parser, args.models, MODELS, "model")
    runs_dir = Path(args.runs_dir).resolve()
    server = web.AppServer(Path(args.data_dir), runs_dir, runs_dir.with_name(runs_dir.name + "-logs")).start()
    rows = []
    try:
        with sync_playwright() as playwright:
            browser = web.launch_browser(playwright)
            page = browser.new_page(viewport={"width": 1280, "height": 2000})
            web.open_app(page, server)
            web.go_to(page, "Training")
            for item in items:
                record, seconds = _train(page, server, item, args.epochs)
                errors = web.error_texts(page)
                rows.append(f"| {item} | {record['data_config']['image_size'][0]} | "
                            f"{record['best_val_accuracy']:.1%} | **{record['test']['accuracy']:.1%}** | "
                            f"{record['test_best']['accuracy']:.1%} | {record['wall_seconds']:.0f} | {seconds:.0f} | "
                            f"{'; '.join(errors) or 'none'} |")
                print(rows[-1], file=sys.stderr, flush=True)
            server.stop()
            server.start()
            web.open_app(page, server)
            web.go_to(page, "Training")
            offered = _offered(page)
            browser.close()
    finally:
        server.stop()
    print("| model | input px | best val. acc. | test acc. | test acc., best-val. epoch | run wall s "
          "| click → done s | error boxes |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    print("\n".join(rows))
    print(f"\nAfter a server restart the Compare picker offers {len(offered)} runs: {'; '.join(offered)}")


if __name__ == "__main__":
    main()
