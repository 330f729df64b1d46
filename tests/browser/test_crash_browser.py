"""A server ended mid-training: after a restart the runs list loads.

SIGTERM (and Ctrl-C) ends Streamlit cleanly, and the queue's exit hook stops the training as Stop would: the run
is recorded as stopped, with its model. SIGKILL leaves no time for anything: the run shows as interrupted.
"""

from __future__ import annotations

import signal

import pytest

expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed").expect

from catdog.training import read_history_csv  # noqa: E402
from tests.browser.helpers import (  # noqa: E402
    configure_data, error_texts, open_app, read_runs, settle, start_training, wait_for, wait_for_run_status,
    wait_mid_epoch,
)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_server_killed_mid_epoch_leaves_readable_runs_and_an_interrupted_run(new_context, own_server, sig):
    page = new_context().new_page()
    open_app(page, own_server, "training")
    configure_data(page)
    stopped = None
    if sig == signal.SIGKILL:  # first a run stopped mid-epoch with Stop (the SIGTERM case skips it for time)
        # 200 epochs (the most the page takes): the 2-s live view must catch one of its ~1-s epochs mid-way, and in
        # one CI run it missed all 30 of them (the page was reconnecting meanwhile); Stop ends it long before
        stopped = start_training(page, own_server, epochs=200, batch=8, name="stopped run")
        wait_mid_epoch(page, 200, min_epoch=1)
        page.locator(".st-key-stop_job button").click()
        wait_for_run_status(own_server.runs_dir, stopped, statuses=("stopped",))
    # A run during which the server dies, after its first epoch (a run without one has no curves to compare).
    killed = start_training(page, own_server, epochs=30, batch=8, name="killed run")
    # Killed once two epochs are on disk (past the first epoch's one-time work: tracing, the first checkpoint),
    # whatever the page shows: its epochs take a fraction of a second here, so the 2-s live view can miss every
    # mid-epoch moment on a loaded machine (seen once in a full run).
    wait_for(lambda: len(read_history_csv(own_server.runs_dir / killed / "history.csv")) >= 2, interval=0.05,
             message="the killed run's second epoch")
    exit_status = own_server.kill(sig, timeout=30)
    assert exit_status is not None, f"the server did not exit within 30 s of {sig.name}"

    records = read_runs(own_server.runs_dir)  # raises if any run.json does not parse
    assert set(records) == {stopped, killed} - {None}
    if stopped:
        assert records[stopped]["status"] == "stopped" and records[stopped]["epochs_done"] < 200
    assert 1 <= len(read_history_csv(own_server.runs_dir / killed / "history.csv")) < 30
    if sig == signal.SIGTERM:  # stopped on the way out, as Stop does, not left to crash (once: SIGSEGV)
        assert exit_status == 0
        assert records[killed]["status"] == "stopped" and records[killed]["test"] is not None, records[killed]
        assert (own_server.runs_dir / killed / "model.keras").is_file()
    else:  # nothing in the process had the time to record the end: the record still says running
        assert records[killed]["status"] == "running", records[killed]

    own_server.restart()
    page = new_context().new_page()
    open_app(page, own_server, "training")
    configure_data(page)
    expect(page.get_by_role("heading", name="Runs")).to_be_visible()
    compare = page.get_by_test_id("stMultiSelect").filter(has_text="Compare runs")
    # two model1 runs with SIGKILL: the comparison begins with the one that ended with a test score
    expect(compare).to_contain_text("stopped run · model1 · test" if stopped else "killed run · model1 · test")
    if stopped:  # the interrupted run is offered too: chosen by typing, as a teacher would
        box = compare.get_by_role("combobox")
        box.click()
        box.press_sequentially("killed")
        page.get_by_role("option").filter(has_text="killed run · model1 · interrupted").click()
        settle(page)
        expect(compare).to_contain_text("killed run · model1 · interrupted")
    assert error_texts(page) == []
    assert set(read_runs(own_server.runs_dir)) == set(records)
