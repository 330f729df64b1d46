"""The dashboard in Chromium: every page, the Data and Augmentation pages, bad and broken data folders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed").expect

from tests.browser.helpers import (
    configure_data, error_texts, go_to, open_app, set_input, set_training, settle, sidebar_settings,
    start_training,
    wait_for_run_status,
)

PAGES = ("Data", "Augmentation", "Training", "Classifier")


def snapshot(folder: Path) -> list[tuple[str, int]]:
    """Every path under ``folder`` with its size: to prove nothing was created or changed."""
    return sorted((str(p.relative_to(folder)), p.stat().st_size if p.is_file() else -1) for p in folder.rglob("*"))


def test_every_page_renders_without_an_error_and_keeps_the_dataset_settings(page, app_server):
    open_app(page, app_server)
    configure_data(page)
    for title in (*PAGES, "Data"):
        go_to(page, title)
        assert error_texts(page) == [], f"{title} page shows an error"
        assert page.locator("h1").first.inner_text() == title
    expect(page.get_by_test_id("stMainMenu")).to_be_visible()  # the menu a viewer gets, without "Deploy" (QA)
    expect(page.get_by_test_id("stAppDeployButton")).to_have_count(0)
    # The sidebar settings survive the trip through all pages (Classifier has no settings widgets).
    details = sidebar_settings(page)
    expect(details.get_by_label("Validation images", exact=True)).to_have_value("12")
    expect(details.get_by_label("Test images", exact=True)).to_have_value("8")


def test_training_settings_survive_visits_to_other_pages(page, app_server):
    open_app(page, app_server)
    configure_data(page)
    go_to(page, "Augmentation")
    set_input(page, page.get_by_test_id("stSidebar"), "Seed", 77)
    go_to(page, "Training")
    set_training(page, epochs=3, batch=16, model="model3", name="kept")
    # Stay until the live view has redrawn itself (every 10 s when nothing trains): leaving after such a fragment
    # run reset every setting of the browser to its default (QA), a short visit did not.
    page.wait_for_timeout(11_500)
    for title in ("Data", "Augmentation", "Classifier", "Training"):
        go_to(page, title)
    main = page.get_by_test_id("stMain")
    expect(main.get_by_label("Epochs", exact=True)).to_have_value("3")
    expect(main.get_by_label("Run name (optional)", exact=True)).to_have_value("kept")
    expect(main.get_by_role("combobox", name="Batch size")).to_have_value("16")
    expect(main.get_by_role("radio", name=re.compile("model3"))).to_be_checked()
    go_to(page, "Augmentation")
    expect(page.get_by_test_id("stSidebar").get_by_label("Seed", exact=True)).to_have_value("77")


def test_data_page_shows_the_counts_chart_and_six_sample_images(page, app_server):
    open_app(page, app_server)
    configure_data(page)
    chart = page.locator(".st-key-counts_chart .js-plotly-plot")
    expect(chart).to_be_visible()
    bars = chart.evaluate("el => el.data.map(t => [t.name, Array.from(t.y)])")
    assert bars == [["train", [16, 16]], ["validation", [6, 6]], ["test", [4, 4]]]
    images = page.get_by_test_id("stMain").get_by_test_id("stImage").locator("img")
    expect(images).to_have_count(6)
    for i in range(6):
        expect(images.nth(i)).to_have_js_property("complete", True)
        assert images.nth(i).evaluate("img => img.naturalWidth") > 0
    captions = page.get_by_test_id("stMain").get_by_test_id("stImageCaption").all_inner_texts()
    assert [c.split(" · ")[0] for c in captions] == ["cats"] * 3 + ["dogs"] * 3


def test_moving_the_rotation_slider_changes_the_preview(page, app_server):
    open_app(page, app_server, "augmentation")
    configure_data(page)
    images = page.get_by_test_id("stMain").get_by_test_id("stImage").locator("img")
    expect(images).to_have_count(1 + 8)  # the original and 8 augmented versions
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("± 72° at most")).to_be_visible()
    before = [images.nth(i).get_attribute("src") for i in range(9)]

    thumb = sidebar.locator(".st-key-aug_rotation input[type='range']")
    thumb.focus()
    thumb.press("End")  # the largest factor, 0.5 of a turn
    expect(sidebar.get_by_text("± 180° at most")).to_be_visible()
    settle(page)
    expect(images).to_have_count(9)
    after = [images.nth(i).get_attribute("src") for i in range(9)]
    assert after[0] == before[0], "the original image changed"
    assert all(a != b for a, b in zip(after[1:], before[1:])), "augmented previews did not change"
    assert error_texts(page) == []


def test_a_bad_data_folder_gets_a_clear_message_and_nothing_is_created(page, app_server, tmp_path):
    missing = tmp_path / "missing" / "cats_and_dogs_filtered"
    a_file = tmp_path / "dataset.zip"
    a_file.write_bytes(b"PK\x03\x04 not really a zip")
    no_train = tmp_path / "no_train"
    (no_train / "validation/cats").mkdir(parents=True)
    (no_train / "validation/dogs").mkdir(parents=True)
    before = snapshot(tmp_path)

    open_app(page, app_server)
    configure_data(page)
    cases = [
        (missing, "does not exist"),
        (a_file, "is a file, not a folder"),
        (no_train, "has no train/ sub-folder"),
    ]
    for title, checked in (("Data", cases), ("Training", cases[:1])):
        go_to(page, title)
        details = sidebar_settings(page)
        for folder, message in checked:
            set_input(page, details, "Data folder", str(folder))
            error = page.get_by_test_id("stAlertContentError")
            expect(error).to_have_count(1)
            expect(error).to_contain_text(message)
            expect(error).to_contain_text(str(folder))
            expect(page.get_by_test_id("stException")).to_have_count(0)
    assert snapshot(tmp_path) == before
    assert not missing.parent.exists()


def test_problem_files_are_reported_and_training_skips_them(page, app_server, problem_data):
    open_app(page, app_server)
    # validation/ keeps 10 readable cats and no dogs: 6 for validation, 4 for test.
    configure_data(page, data_dir=problem_data, validation=6, test=4)
    assert error_texts(page) == []
    problems = page.get_by_test_id("stExpander").filter(has_text="file problem(s)")
    expect(problems).to_contain_text("4 file problem(s)")
    for text in ("unreadable, skipped", "cat.truncated.jpg", "cat.text.jpg", "ignored: train/dogs/notes.txt",
                 "empty class folder: validation/dogs"):
        expect(problems).to_contain_text(text)

    go_to(page, "Training")
    expect(page.get_by_test_id("stAlertContentWarning").filter(has_text="2 unreadable file(s) skipped")) \
        .to_be_visible()
    run_id = start_training(page, app_server, epochs=1, batch=8, name="problem data")
    record = wait_for_run_status(app_server.runs_dir, run_id)
    assert len(record["skipped_files"]) == 2
    assert {Path(p).name for p in record["skipped_files"]} == {"cat.truncated.jpg", "cat.text.jpg"}
    assert record["counts"]["train"] == {"cats": 16, "dogs": 16}
    assert record["epochs_done"] == 1
    expect(page.get_by_test_id("stMain").locator("h3").filter(has_text=re.compile(r"problem data · done"))) \
        .to_be_visible(timeout=60_000)
    assert error_texts(page) == []
