"""Training in Chromium: live curves, Stop, two users and the queue, then the Classifier on the result."""

from __future__ import annotations

import io
import re
import time

import pytest

expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed").expect

from catdog.training import RunStore, read_history_csv  # noqa: E402
from tests.browser.helpers import (  # noqa: E402
    TRAIN_TIMEOUT_S, chart_points, click_train, configure_data, error_texts, go_to, new_runs, open_app, read_runs,
    set_input, set_training, settle, start_training, wait_for, wait_for_run_status, wait_mid_epoch,
)
from tests.synthetic import synthetic_image  # noqa: E402


def job_heading(page, text: str):
    return page.get_by_test_id("stMain").locator("h3").filter(has_text=text)


def test_live_curve_gains_points_while_the_test_watches(page, app_server):
    open_app(page, app_server, "training")
    configure_data(page)
    epochs = 16  # long enough (several seconds) for a redraw to fall mid-run
    run_id = start_training(page, app_server, epochs=epochs, batch=8, name="live curve")
    seen = []  # distinct point counts of the live accuracy chart, in the order seen
    gone_since = None  # when the chart, once drawn, was last found missing
    deadline = time.time() + TRAIN_TIMEOUT_S
    while time.time() < deadline:
        points = chart_points(page, "live_accuracy")
        if not points and seen and seen[-1] > 0:
            # While a new epoch is drawn the chart's data reads empty for a few tens of ms (probed at a
            # 10 ms poll: Streamlit briefly holds an old and a new copy): that is a redraw; missing for
            # seconds would be a curve that vanished in front of the class.
            gone_since = gone_since or time.time()
            assert time.time() - gone_since < 3, f"the drawn curve vanished (point counts seen: {seen})"
            page.wait_for_timeout(100)
            continue
        gone_since = None
        count = points[0] if points else 0
        if not seen or seen[-1] != count:
            seen.append(count)
        if count == epochs and read_runs(app_server.runs_dir)[run_id]["status"] == "done":
            break
        page.wait_for_timeout(100)
    # The fragment redraws every 2 s, so a fast epoch may be skipped (and on a quick machine the first
    # epochs may end before the first look: seen [5, 10, 16] once); but the curve must be seen
    # part-drawn at least once and never lose points.
    assert seen[-1] == epochs and seen == sorted(seen), f"point counts seen: {seen}"
    assert len([c for c in seen if 0 < c < epochs]) >= 1, f"never saw a part-drawn curve: {seen}"
    # the loss chart is the next element of the same redraw: the browser may draw it a moment after the accuracy
    # chart (CI once read 15 points there right after the accuracy chart's 16)
    wait_for(lambda: chart_points(page, "live_loss") == [epochs, epochs], timeout=10,
             message=f"the loss chart's {epochs} epochs")
    record = wait_for_run_status(app_server.runs_dir, run_id)
    assert record["epochs_done"] == epochs
    assert len(read_history_csv(app_server.runs_dir / run_id / "history.csv")) == epochs
    expect(job_heading(page, "live curve · done")).to_be_visible(timeout=60_000)
    expect(page.get_by_test_id("stMetric").filter(has_text="Test accuracy").first).to_be_visible()
    assert error_texts(page) == []


def test_stop_ends_a_run_mid_epoch(page, app_server):
    open_app(page, app_server, "training")
    configure_data(page)
    epochs = 150  # never reached: the test stops it (and the reload and second tab take a while)
    run_id = start_training(page, app_server, epochs=epochs, batch=8, name="stop me")
    wait_mid_epoch(page, epochs, min_epoch=2)
    # Visiting another page must not abort the run; coming back shows it still running, with its curve.
    go_to(page, "Data")
    go_to(page, "Training")
    expect(job_heading(page, "stop me · running")).to_be_visible(timeout=30_000)
    assert chart_points(page, "live_accuracy")[0] >= 1
    # The same browser owns the job after a reload and in a second tab (the cookie is re-masked on each load).
    page.reload()
    configure_data(page)  # the small test dataset's split sizes live in the session, which a reload starts anew
    expect(page.locator(".st-key-stop_job button")).to_be_visible(timeout=30_000)
    other = page.context.new_page()
    open_app(other, app_server, "training")
    configure_data(other)
    expect(other.locator(".st-key-stop_job button")).to_be_visible(timeout=30_000)
    other.close()
    page.locator(".st-key-stop_job button").click()
    record = wait_for_run_status(app_server.runs_dir, run_id, statuses=("stopped",))
    history = read_history_csv(app_server.runs_dir / run_id / "history.csv")
    assert 2 <= record["epochs_done"] < epochs
    assert len(history) == record["epochs_done"]
    assert record["test"] is not None  # an epoch finished, so the model was scored
    expect(job_heading(page, "stop me · stopped")).to_be_visible(timeout=60_000)
    expect(page.locator(".st-key-stop_job")).to_have_count(0)
    assert error_texts(page) == []


def test_two_users_train_at_once_and_one_waits_in_the_queue(new_context, app_server):
    users = {"user A": new_context().new_page(), "user B": new_context().new_page()}
    epochs = {"user A": 2, "user B": 1}
    for name, page in users.items():
        open_app(page, app_server, "training")
        configure_data(page)
        set_training(page, epochs=epochs[name], batch=8, name=name)
    before = set(read_runs(app_server.runs_dir))
    click_train(users["user A"])
    expect(job_heading(users["user A"], "user A ·")).to_be_visible()
    click_train(users["user B"])
    expect(users["user B"].get_by_text("Waiting in the queue: position 1")).to_be_visible(timeout=60_000)
    expect(job_heading(users["user B"], "user B · queued")).to_be_visible()
    expect(job_heading(users["user A"], "user A · running")).to_be_visible()

    runs = wait_for(lambda: len(new_runs(app_server.runs_dir, before)) == 2 and new_runs(app_server.runs_dir, before),
                    timeout=2 * TRAIN_TIMEOUT_S, message="both runs to start")
    for run_id in runs:
        wait_for_run_status(app_server.runs_dir, run_id)
    records = new_runs(app_server.runs_dir, before)
    assert sorted(r["name"] for r in records.values()) == ["user A", "user B"]
    for run_id, record in records.items():
        asked = epochs[record["name"]]
        assert record["status"] == "done" and record["epochs_done"] == record["train_config"]["epochs"] == asked
        assert len(read_history_csv(app_server.runs_dir / run_id / "history.csv")) == asked
    for name, page in users.items():
        expect(job_heading(page, f"{name} · done")).to_be_visible(timeout=60_000)
        assert error_texts(page) == []


def test_an_idle_tab_shows_a_job_started_elsewhere_and_lists_its_run_when_it_ends(new_context, app_server):
    from catdog.config import DataConfig, TrainConfig

    RunStore(app_server.runs_dir).create(TrainConfig(name="an earlier run"), DataConfig())  # one to rename
    watcher, trainer = new_context().new_page(), new_context().new_page()
    for page in (watcher, trainer):
        open_app(page, app_server, "training")
        configure_data(page)  # the watcher trains nothing: its live view polls slowly until a job starts
    configure_data(trainer)
    set_training(trainer, epochs=1, batch=8, name="seen from the other tab")
    set_training(watcher, epochs=1, batch=8)
    # The watcher's user is typing a name, not yet committed (no Enter, no blur), when the jobs change, and has
    # begun to rename a run: the live view's and the listing's redraws used to fold that expander (QA).
    main = watcher.get_by_test_id("stMain")
    main.get_by_text("Rename or delete a run").click()
    renaming = main.get_by_label("New name", exact=True)
    renaming.fill("half-renamed")
    typing = main.get_by_label("Run name (optional)", exact=True)
    typing.fill("half-typed")
    before = set(read_runs(app_server.runs_dir))
    click_train(trainer)
    expect(job_heading(watcher, "seen from the other tab ·")).to_be_visible(timeout=30_000)  # ≤ 10 s idle poll
    (run_id,) = wait_for(lambda: new_runs(app_server.runs_dir, before), message="the run to start")
    wait_for_run_status(app_server.runs_dir, run_id)
    expect(job_heading(watcher, "seen from the other tab · done")).to_be_visible(timeout=30_000)
    # the page redrew as a whole when the job ended: the new run is among the runs compared below
    expect(watcher.get_by_test_id("stMultiSelect").get_by_text("seen from the other tab · model1 · test",
                                                                 exact=False)).to_be_visible(timeout=30_000)
    assert error_texts(watcher) == []
    # Both redraws left the edits alone, and they still reach the server: the watcher's own run is named by it.
    expect(renaming).to_be_visible()
    expect(renaming).to_have_value("half-renamed")
    expect(typing).to_have_value("half-typed")
    before = set(read_runs(app_server.runs_dir))
    click_train(watcher)
    (run_id,) = wait_for(lambda: new_runs(app_server.runs_dir, before), message="the watcher's run to start")
    assert read_runs(app_server.runs_dir)[run_id]["name"] == "half-typed"
    wait_for_run_status(app_server.runs_dir, run_id)


def image_bytes(label: int, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    synthetic_image(label, seed=999, size=(64, 64)).save(buffer, format=fmt)
    return buffer.getvalue()


def test_classifier_gives_a_verdict_and_names_a_bad_file(page, app_server, trained_run):
    open_app(page, app_server, "classifier")
    configure_data(page)  # the test-split tab reads the sidebar settings
    expect(page.get_by_test_id("stSelectbox").filter(has_text="Model (trained run)")).to_be_visible()
    drop = page.get_by_test_id("stFileUploader").locator("input[type='file']")
    drop.set_input_files(files=[{"name": "my_pet.jpg", "mimeType": "image/jpeg", "buffer": image_bytes(0, "JPEG")}])
    verdict = page.get_by_test_id("stMain").locator("h3").filter(
        has_text=re.compile(r"^(cats|dogs) · (\d+\.\d|>99\.9)%$"))  # never a certain "100.0%"
    expect(verdict).to_have_count(1, timeout=120_000)
    expect(page.get_by_test_id("stImageCaption").filter(has_text="my_pet.jpg")).to_be_visible()
    assert error_texts(page) == []

    drop.set_input_files(files=[{"name": "holiday.jpg", "mimeType": "image/jpeg",
                                 "buffer": b"Dear diary, today we went to the sea.\n"}])
    bad = page.get_by_test_id("stAlertContentError")
    expect(bad).to_have_count(1, timeout=120_000)
    expect(bad).to_contain_text("holiday.jpg: this file is not an image")
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_the_classifier_offers_a_run_that_finishes_while_it_is_open(page, app_server, trained_run):
    import shutil

    open_app(page, app_server, "classifier")
    configure_data(page)  # the synthetic dataset's split sizes (for the test-split tab)
    copy_id = f"{trained_run[:16]}model1-later0"  # a run of the same kind, finished after the page was drawn
    shutil.copytree(app_server.runs_dir / trained_run, app_server.runs_dir / copy_id)
    store = RunStore(app_server.runs_dir)
    store.update(store.get(copy_id), run_id=copy_id, name="arrived later")
    picker = page.get_by_test_id("stSelectbox").filter(has_text="Model (trained run)")
    try:
        def offered():
            picker.click()
            found = page.get_by_role("option").filter(has_text="arrived later").count() > 0
            page.keyboard.press("Escape")
            return found

        wait_for(offered, timeout=60, interval=2, message="the new run among the models")  # a look every 10 s
        assert error_texts(page) == []
    finally:  # removed for good, not left in the trash for the other tests' pages
        shutil.rmtree(app_server.runs_dir / copy_id)


def test_a_run_deleted_from_the_page_comes_back_with_restore(page, app_server, trained_run):
    # On a class's shared server anyone can delete a run: a student's Delete took a teacher's prepared runs for good
    # (QA H). Delete now keeps the run in runs/.trash, and Recently deleted brings it back.
    import shutil

    copy_id = f"{trained_run[:16]}model1-trash0"  # a copy: the other tests keep the fixture's run
    shutil.copytree(app_server.runs_dir / trained_run, app_server.runs_dir / copy_id)
    store = RunStore(app_server.runs_dir)
    store.update(store.get(copy_id), name="to the trash")
    try:
        open_app(page, app_server, "training")
        configure_data(page)
        page.get_by_text("Rename or delete a run").click()
        settle(page)
        manage = page.get_by_test_id("stExpander").filter(has_text="Rename or delete a run")
        manage.get_by_test_id("stSelectbox").first.click()
        page.get_by_role("option").filter(has_text="to the trash").first.click()
        settle(page)
        manage.get_by_test_id("stPopover").get_by_role("button").click()
        body = page.get_by_test_id("stPopoverBody")
        expect(body).to_contain_text("It can be restored for 7 days under Recently deleted")
        body.get_by_role("button", name="Delete").click()
        settle(page)
        wait_for(lambda: copy_id not in read_runs(app_server.runs_dir), timeout=30, message="the run deleted")
        assert copy_id in [run.run_id for run, _ in store.deleted()]
        # chosen for Restore at once
        expect(manage.get_by_role("combobox", name="Deleted run")).to_have_value(re.compile("^to the trash · model1"))
        manage.get_by_role("button", name="Restore").click()
        settle(page)
        wait_for(lambda: copy_id in read_runs(app_server.runs_dir), timeout=30, message="the run restored")
        assert store.get(copy_id).name == "to the trash" and store.get(copy_id).model_path.is_file()
        expect(manage.get_by_text("Recently deleted")).to_have_count(0)  # nothing left to restore
        assert error_texts(page) == []
    finally:
        for folder in (app_server.runs_dir / copy_id, app_server.runs_dir / ".trash" / copy_id):
            shutil.rmtree(folder, ignore_errors=True)


def test_a_run_renamed_twice_from_the_page_stays_chosen(page, app_server, trained_run):
    # The browser sends back the label a run had when it was chosen; after a rename that label is no longer
    # offered, and the page took the choice for a deleted run (QA): Rename went off until the run was chosen again.
    open_app(page, app_server, "training")
    configure_data(page)  # the synthetic dataset's split sizes (the page's dataset error aside)
    page.get_by_text("Rename or delete a run").click()
    settle(page)
    manage = page.get_by_test_id("stExpander").filter(has_text="Rename or delete a run")
    manage.get_by_test_id("stSelectbox").first.click()  # "Run"; "Deleted run" may follow
    store = RunStore(app_server.runs_dir)
    original = store.get(trained_run)  # the fixture's, or an earlier test's run
    page.get_by_role("option").filter(has_text=re.compile(rf"^{re.escape(original.label())}$")).first.click()
    settle(page)
    name, rename = manage.get_by_label("New name"), manage.get_by_role("button", name="Rename")
    for new in ("renamed once", "renamed twice"):
        name.fill(new)
        name.press("Enter")
        settle(page)
        expect(rename).to_be_enabled()
        rename.click()
        settle(page)
        wait_for(lambda: read_runs(app_server.runs_dir)[trained_run].get("name") == new, timeout=60)
    expect(page.get_by_test_id("stAlertContentInfo").filter(has_text="has been deleted")).to_have_count(0)
    assert error_texts(page) == []
    # A message coming and going above it (the form's error on 0 epochs) folded the expander shut, hiding what was
    # typed in it (QA): it stays open, with the half-typed name.
    name.fill("half typed")
    name.press("Enter")
    settle(page)
    for epochs in ("0", "1"):
        set_input(page, page.get_by_test_id("stMain"), "Epochs", epochs)
        expect(name).to_be_visible()
        expect(name).to_have_value("half typed")
    store.update(store.get(trained_run), name=original.record.get("name", ""))  # as the other tests knew it


def test_teacher_mode_unlocks_one_browser_which_may_stop_a_students_training(new_context, tmp_path, browser_data,
                                                                              monkeypatch):
    """A class's server with $CATDOG_TEACHER_PASSWORD: only the student's browser could stop the student's training
    that held up the demo (QA M); the teacher's browser, once unlocked (Enter in the field), in every tab, can."""
    from tests.browser.helpers import AppServer

    monkeypatch.setenv("CATDOG_TEACHER_PASSWORD", "Chat noir 7")
    server = AppServer(browser_data, tmp_path / "runs", tmp_path / "logs").start()
    try:
        student, teacher = new_context().new_page(), new_context().new_page()
        open_app(student, server, "training")
        configure_data(student)
        run_id = start_training(student, server, epochs=150, batch=8, name="student's run")
        open_app(teacher, server, "training")
        configure_data(teacher)  # the small dataset: the defaults' 800 + 200 images are an error on it
        expect(job_heading(teacher, "student's run · running")).to_be_visible(timeout=60_000)
        expect(teacher.locator(".st-key-stop_job")).to_have_count(0)  # another browser's training
        sidebar = teacher.get_by_test_id("stSidebar")
        sidebar.get_by_text("Teacher mode", exact=True).click()
        field = sidebar.get_by_label("Teacher's password")
        field.fill("Chat noir 7")
        field.press("Enter")
        settle(teacher)
        expect(sidebar.get_by_text("Unlocked in this browser")).to_be_visible()
        other_tab = teacher.context.new_page()  # the browser's cookie: its other tabs are the teacher's too
        open_app(other_tab, server, "training")
        expect(other_tab.locator(".st-key-stop_job button")).to_be_visible(timeout=30_000)
        teacher.locator(".st-key-stop_job button").click()
        wait_for_run_status(server.runs_dir, run_id, statuses=("stopped",))
        expect(job_heading(student, "student's run · stopped")).to_be_visible(timeout=60_000)
        expect(student.get_by_text("The teacher stopped this training.")).to_be_visible()  # not their own Stop (QA)
        # Lock in the other tab: this one's label and buttons follow within seconds (they stayed unlocked, QA)
        other_sidebar = other_tab.get_by_test_id("stSidebar")
        other_sidebar.get_by_text("Teacher mode: unlocked", exact=True).click()
        other_sidebar.get_by_role("button", name="Lock").click()
        expect(sidebar.get_by_text("Teacher mode: unlocked", exact=True)).to_have_count(0, timeout=20_000)
        expect(sidebar.get_by_text("Teacher mode", exact=True)).to_be_visible()
        assert error_texts(teacher) == [] and error_texts(student) == [] and error_texts(other_tab) == []
    finally:
        server.stop()
