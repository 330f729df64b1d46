"""Fixtures of the browser tests: synthetic datasets, a real ``streamlit run`` server, Chromium.

Every test here is marked ``browser`` and skipped (with the reason) when
Playwright or ``/usr/bin/chromium`` is missing.  On a failure, each open page is
saved as a PNG under ``<pytest tmp>/browser-failures/``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.browser.helpers import (
    VIEWPORT, AppServer, browser_missing_reason, configure_data, launch_browser, open_app, read_runs, start_training,
    wait_for_run_status,
)
from tests.synthetic import make_dataset

SKIP_REASON = browser_missing_reason()


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            if SKIP_REASON:
                item.add_marker(pytest.mark.skip(reason=f"browser tests: {SKIP_REASON}"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


# --------------------------------------------------------------------------- data


@pytest.fixture(scope="session")
def browser_data(tmp_path_factory) -> Path:
    """Synthetic dataset for the browser: 16 + 16 train, 10 + 10 validation images.

    With batch 8 that is 4 training steps per epoch at 160×160: a few seconds.
    """
    return make_dataset(tmp_path_factory.mktemp("browser_data") / "cats_and_dogs_filtered",
                        train_per_class=16, validation_per_class=10)


@pytest.fixture(scope="session")
def problem_data(tmp_path_factory, browser_data) -> Path:
    """A dataset with a truncated JPEG, a text file posing as a JPEG, a non-image file and an empty class.

    ``validation/dogs`` is the empty class folder: ``scan_dataset`` rejects an
    empty class in ``train/`` but accepts (and reports) one in ``validation/``.
    """
    root = tmp_path_factory.mktemp("problem_data") / "broken_dataset"
    shutil.copytree(browser_data, root)
    good = (root / "train/cats/cat.0.jpg").read_bytes()
    (root / "train/cats/cat.truncated.jpg").write_bytes(good[: len(good) // 2])
    (root / "validation/cats/cat.text.jpg").write_text("this is not a picture\n")
    (root / "train/dogs/notes.txt").write_text("a stray note\n")
    for path in (root / "validation/dogs").iterdir():
        path.unlink()
    return root


# --------------------------------------------------------------------------- server


@pytest.fixture(scope="session")
def app_server(tmp_path_factory, browser_data):
    """One dashboard server shared by the non-destructive tests (runs folder accumulates)."""
    base = tmp_path_factory.mktemp("app_server")
    server = AppServer(browser_data, base / "runs", base / "logs").start()
    yield server
    server.stop()


@pytest.fixture
def own_server(tmp_path, browser_data):
    """A server of this test alone (for tests that kill it); ``restart()`` keeps its runs folder."""
    server = AppServer(browser_data, tmp_path / "runs", tmp_path / "logs").start()
    yield server
    server.stop()


# --------------------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_browser(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def new_context(browser, request, tmp_path_factory):
    """Factory of browser contexts (one per simulated user); screenshots every page on failure."""
    contexts = []

    def make():
        context = browser.new_context(viewport=VIEWPORT)
        context.set_default_timeout(60_000)
        contexts.append(context)
        return context

    yield make
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        folder = tmp_path_factory.getbasetemp() / "browser-failures"
        folder.mkdir(exist_ok=True)
        for c, context in enumerate(contexts):
            for p, page in enumerate(context.pages):
                path = folder / f"{request.node.name}-{c}-{p}.png".replace("/", "_")
                try:
                    page.screenshot(path=str(path), full_page=True)
                    print(f"screenshot of the failed test: {path}")
                except Exception as err:  # the page may be gone with the server
                    print(f"no screenshot ({err})")
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context):
    """A fresh page (a new browser session, i.e. a new Streamlit session)."""
    return new_context().new_page()


@pytest.fixture
def trained_run(app_server, new_context) -> str:
    """Id of a finished run with a saved model on ``app_server``; trains one (1 epoch) if there is none."""
    for run_id, record in read_runs(app_server.runs_dir).items():
        if record.get("status") == "done" and (app_server.runs_dir / run_id / "model.keras").is_file():
            return run_id
    page = new_context().new_page()
    open_app(page, app_server, "training")
    configure_data(page)
    run_id = start_training(page, app_server, epochs=1, batch=8, name="for the classifier")
    wait_for_run_status(app_server.runs_dir, run_id)
    page.close()
    return run_id
