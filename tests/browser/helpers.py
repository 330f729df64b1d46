"""Drive the real dashboard: a ``streamlit run`` subprocess and Playwright helpers.

Used by the browser tests (``tests/browser``) and by ``scripts/screenshots.py``.
Chromium is Debian's (``/usr/bin/chromium``); Playwright never downloads one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CATDOG_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
]
VIEWPORT = {"width": 1400, "height": 1000}

#: Ceilings for waits, generous because other jobs may load the CPU.
APP_TIMEOUT_MS = 120_000
TRAIN_TIMEOUT_S = 180


def browser_missing_reason() -> str | None:
    """Why the browser tests cannot run here, or ``None`` when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
    return None


def launch_browser(playwright):
    """Headless Debian Chromium, offline-friendly."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """In the server's child process: get SIGTERM when pytest dies (Linux ``PR_SET_PDEATHSIG``).

    A pytest killed by a timeout skips fixture teardown; without this its Streamlit server
    stayed up, busy with a training job, and slowed every later run on the 2 cores."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


class AppServer:
    """``streamlit run dashboard.py`` as a real subprocess in its own process group.

    Args:
        data_dir: ``CATDOG_DATA_DIR`` for the server.
        runs_dir: ``CATDOG_RUNS_DIR``; kept across :meth:`restart`.
        log_dir: where ``server-<n>.log`` files go.
        extra_args: more ``streamlit run`` options.
    """

    def __init__(self, data_dir: Path | None, runs_dir: Path, log_dir: Path, extra_args: tuple[str, ...] = ()):
        self.data_dir = data_dir
        self.runs_dir = Path(runs_dir)
        self.log_dir = Path(log_dir)
        self.extra_args = tuple(extra_args)
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.starts = 0
        self.log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("CATDOG_DATA_DIR", None)
        env.pop("CATDOG_TRAIN_IN_SERVER", None)  # the dashboard's default: each training in a child process
        if self.data_dir is not None:
            env["CATDOG_DATA_DIR"] = str(self.data_dir)
        env["CATDOG_RUNS_DIR"] = str(self.runs_dir)
        env["KERAS_HOME"] = str(self.log_dir / "keras_home")  # no dataset from a Keras cache, no downloads
        weights = REPO.parent / "shared/keras/models/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
        if not env.get("CATDOG_MOBILENET_WEIGHTS") and weights.is_file():
            env["CATDOG_MOBILENET_WEIGHTS"] = str(weights)
        env.update(TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
        return env

    def start(self, timeout: float = 90) -> "AppServer":
        """Start on a free port and wait for ``/_stcore/health`` to answer ``ok``."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.starts += 1
        self.log_path = self.log_dir / f"server-{self.starts}.log"
        command = [
            sys.executable, "-m", "streamlit", "run", "dashboard.py",
            "--server.headless", "true", "--server.port", str(self.port), "--server.address", "127.0.0.1",
            "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", *self.extra_args,
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, cwd=REPO, env=self.env(), stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True,
                                            preexec_fn=_die_with_parent)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as answer:
                    if answer.read().decode().strip() == "ok":
                        return self
            except OSError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"streamlit not healthy after {timeout:.0f} s:\n{self.log_tail()}")

    def kill(self, sig: int = signal.SIGKILL, timeout: float = 30) -> int | None:
        """Send ``sig`` to the server's process group; wait for the server to exit.

        Returns:
            The exit status, or ``None`` if it did not exit within ``timeout``.
        """
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """Teardown: SIGTERM the process group, then SIGKILL whatever is left."""
        if self.process is None:
            return
        if self.kill(signal.SIGTERM, timeout=15) is None:
            self.kill(signal.SIGKILL, timeout=15)
        try:  # children that outlived the leader
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def restart(self) -> "AppServer":
        """Stop (if running) and start again on the same runs folder (new port)."""
        self.stop()
        return self.start()

    def log_tail(self, chars: int = 4000) -> str:
        if self.log_path is None or not self.log_path.is_file():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]


# --------------------------------------------------------------------------- page helpers

ERROR_SELECTOR = "[data-testid='stException'], [data-testid='stAlertContentError']"


def expect():
    from playwright.sync_api import expect as _expect

    return _expect


def settle(page, timeout: int = APP_TIMEOUT_MS) -> None:
    """Wait until the script run triggered by the last action is over.

    The run may not have started yet when this is called, so give it a moment to
    flip to ``running`` first (as Streamlit's own e2e helpers do).
    """
    app = page.locator("[data-testid='stApp']")
    try:
        expect()(app).to_have_attribute("data-test-script-state", "running", timeout=300)
    except AssertionError:
        pass
    expect()(app).to_have_attribute("data-test-script-state", "notRunning", timeout=timeout)


def open_app(page, server: AppServer, path: str = "", timeout: int = APP_TIMEOUT_MS) -> None:
    """Load a page of the app and wait for its first script run to end."""
    page.goto(f"{server.url}/{path}")
    expect()(page.locator("[data-testid='stApp'][data-test-script-state='notRunning']")).to_be_attached(
        timeout=timeout)
    expect()(page.locator("h1").first).to_be_visible(timeout=timeout)


def sidebar_settings(page):
    """The sidebar's "Dataset settings" expander, opened."""
    sidebar = page.get_by_test_id("stSidebar")
    expander = sidebar.get_by_test_id("stExpander").filter(has_text="Dataset settings")
    details = expander.get_by_test_id("stExpanderDetails")
    if not details.is_visible():
        expander.locator("summary").click()
        expect()(details).to_be_visible()
    return details


def set_input(page, scope, label: str, value) -> None:
    """Type into a text or number input and commit it with Enter (one rerun)."""
    field = scope.get_by_label(label, exact=True)
    if field.input_value() == str(value):
        return
    field.fill(str(value))
    field.press("Enter")
    settle(page)
    expect()(field).to_have_value(str(value))


def configure_data(page, data_dir=None, validation: int = 12, test: int = 8) -> None:
    """Set the sidebar dataset settings of this browser session (once per page load).

    The defaults (800 validation + 200 test images) need the real dataset; the
    synthetic one holds fewer, so the sizes are typed in.
    """
    details = sidebar_settings(page)
    if data_dir is not None:
        set_input(page, details, "Data folder", str(data_dir))
    set_input(page, details, "Validation images", validation)
    set_input(page, details, "Test images", test)


def go_to(page, title: str, timeout: int = APP_TIMEOUT_MS) -> None:
    """Switch page through the sidebar navigation (same browser session)."""
    page.get_by_test_id("stSidebarNavLink").filter(has_text=title).click()
    expect()(page.locator("h1").filter(has_text=title)).to_be_visible(timeout=timeout)
    settle(page, timeout)


def error_texts(page) -> list[str]:
    """Texts of the exception and error elements on the page."""
    return page.locator(ERROR_SELECTOR).all_inner_texts()


def chart_points(page, key: str) -> list[int]:
    """Number of x values per trace of the Plotly chart with element key ``key`` (``[]`` if absent)."""
    chart = page.locator(f".st-key-{key} .js-plotly-plot")
    if chart.count() == 0:
        return []
    return chart.first.evaluate("el => (el.data || []).map(trace => (trace.x || []).length)")


def select_option(page, scope, label: str, option: str) -> None:
    """Pick ``option`` in the selectbox labelled ``label``: its text typed into the box, which lists the options
    that match (a click alone sometimes left the list shut, below model4's form: QA)."""
    box = scope.get_by_test_id("stSelectbox").filter(has_text=label).get_by_role("combobox")
    box.click()
    box.press_sequentially(option)
    page.get_by_role("option", name=option, exact=True).click()
    settle(page)


def set_training(page, epochs: int, batch: int = 8, model: str | None = None, name: str | None = None) -> None:
    """Fill the Training page's settings."""
    main = page.get_by_test_id("stMain")
    if model is not None:
        main.get_by_test_id("stRadio").get_by_text(model, exact=False).first.click()
        settle(page)
    set_input(page, main, "Epochs", epochs)
    select_option(page, main, "Batch size", str(batch))
    if name is not None:
        set_input(page, main, "Run name (optional)", name)


def click_train(page) -> None:
    page.get_by_test_id("stMain").get_by_role("button", name="Train", exact=True).click()


def start_training(page, server: AppServer, **settings) -> str:
    """Fill the Training page (see :func:`set_training`), press Train, return the new run's id."""
    set_training(page, **settings)
    before = set(read_runs(server.runs_dir))
    click_train(page)
    runs = wait_for(lambda: new_runs(server.runs_dir, before), message="the new run folder")
    return next(iter(runs))


def wait_mid_epoch(page, epochs: int, min_epoch: int = 1) -> None:
    """Wait until the live progress shows a batch of epoch ``min_epoch`` or later under way (not the last)."""
    pattern = re.compile(rf"epoch (\d+)/{epochs}")
    bars = page.get_by_test_id("stProgress")

    def under_way():
        texts = bars.all_inner_texts()
        if len(texts) < 2:
            return False
        epoch = pattern.search(texts[0])
        batch = re.search(r"batch (\d+)/(\d+)", texts[1])
        return bool(epoch and batch and int(epoch.group(1)) >= min_epoch and 0 < int(batch.group(1)) < int(batch.group(2)))

    wait_for(under_way, interval=0.1, message=f"a batch of epoch ≥ {min_epoch} under way")


# --------------------------------------------------------------------------- runs folder


def read_runs(runs_dir: Path) -> dict[str, dict]:
    """``{run id: parsed run.json}`` of the runs listed (not the hidden trash); raises if a run.json does not
    parse."""
    runs = {}
    if Path(runs_dir).is_dir():
        for folder in sorted(Path(runs_dir).iterdir()):
            if folder.is_dir() and not folder.name.startswith("."):
                runs[folder.name] = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    return runs


def wait_for(condition, timeout: float = TRAIN_TIMEOUT_S, interval: float = 0.3, message: str = "condition"):
    """Poll ``condition()`` until it returns something truthy; return it."""
    deadline = time.time() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {message}")
        time.sleep(interval)


def new_runs(runs_dir: Path, before: set[str]) -> dict[str, dict]:
    """Runs that appeared since ``before`` (tolerates a run.json being written right now)."""
    try:
        return {k: v for k, v in read_runs(runs_dir).items() if k not in before}
    except (OSError, ValueError):
        return {}


def wait_for_run_status(runs_dir: Path, run_id: str, statuses=("done",), timeout: float = TRAIN_TIMEOUT_S) -> dict:
    def finished():
        try:
            record = json.loads((Path(runs_dir) / run_id / "run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if record.get("status") in ("failed",) and "failed" not in statuses:
            raise AssertionError(f"run {run_id} failed: {record.get('error')}")
        return record if record.get("status") in statuses else None

    return wait_for(finished, timeout, message=f"run {run_id} to reach {statuses}")
