"""How long each page takes to show in a real browser: the wait a class sees when the teacher clicks a page.

Each round starts a fresh dashboard (``streamlit run dashboard.py``) on the real data, opens the Data page in
headless Chromium (Playwright, Debian's ``/usr/bin/chromium``) at 1280×720, then clicks through Augmentation,
Training and Classifier twice. A time is from the click (or ``goto``) until the page's script run has ended and its
title is shown (the browser tests' ``settle``), so it includes the server's work and the browser's drawing. The
first visit of a page in a fresh server pays for imports (TensorFlow on the Training page) and caches (the dataset
scan); the second shows what switching pages costs in class.

    .venv/bin/python bench/page_load.py --rounds 3 [--runs-from DIR]

``--runs-from DIR`` copies the run folders of ``DIR`` into each round's runs folder first, so the Training and
Classifier pages draw their tables and charts of those runs. Needs the real dataset (``--data-dir``, by default
``../shared``'s copy), Playwright and Chromium; prints a markdown table of the median and the range per page and visit.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import DEFAULT_DATA, REPO

sys.path.insert(0, str(REPO))

from tests.browser import helpers as web  # noqa: E402  (the browser tests' server and page helpers)

PAGES = ("Augmentation", "Training", "Classifier", "Data")
VIEWPORT = {"width": 1280, "height": 720}


def one_round(data_dir: Path, runs_from: Path | None) -> dict[str, list[float]]:
    """Seconds per page and visit in a fresh server: ``{"Data (first)": [s], "Training (second)": [s], …}``."""
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="catdog-pageload-") as tmp:
        runs = Path(tmp) / "runs"
        if runs_from is not None:
            shutil.copytree(runs_from, runs)
        server = web.AppServer(data_dir, runs, Path(tmp)).start()
        try:
            with sync_playwright() as playwright:
                browser = web.launch_browser(playwright)
                page = browser.new_page(viewport=VIEWPORT)
                started = time.perf_counter()
                web.open_app(page, server)
                web.settle(page)
                times["Data (first)"] = [time.perf_counter() - started]
                for visit in ("first", "second"):
                    for title in PAGES:
                        if (title, visit) == ("Data", "first"):
                            continue
                        started = time.perf_counter()
                        web.go_to(page, title)
                        times[f"{title} ({visit})"] = [time.perf_counter() - started]
                        if problems := web.error_texts(page):
                            raise SystemExit(f"{title}: the page shows errors: {problems}")
                browser.close()
        finally:
            server.stop()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="fresh servers, one after the other (default 3)")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help="the cats_and_dogs_filtered folder")
    parser.add_argument("--runs-from", type=Path, help="run folders to show (copied into each round's runs folder)")
    args = parser.parse_args()
    if reason := web.browser_missing_reason():
        raise SystemExit(f"cannot run: {reason}")
    rounds = [one_round(args.data_dir, args.runs_from) for _ in range(args.rounds)]
    print(f"| page (visit) | median | min–max | rounds: {args.rounds} |")
    print("|---|---|---|---|")
    for key in rounds[0]:
        values = [r[key][0] for r in rounds]
        print(f"| {key} | {statistics.median(values):.2f} s | {min(values):.2f}–{max(values):.2f} s | |")


if __name__ == "__main__":
    main()
