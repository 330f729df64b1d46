"""Run store, training function and job queue."""

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from catdog.config import DataConfig, TrainConfig
from catdog.errors import CatdogError
from catdog.training import (
    CANCELLED_FILE, Progress, RunInfo, RunStore, TrainResult, TrainingQueue, best_epoch, prepare_splits,
    read_history_csv, train_run, write_json_atomic,
)

SMALL = dict(validation_size=12, test_size=8, batch_size=4)


def wait_for(predicate, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return True
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def saved_weight_groups(path):
    """Top-level groups of a ``.keras`` file's weights: ``optimizer`` is there when Adam's state was saved."""
    import io
    import zipfile

    import h5py

    with zipfile.ZipFile(path) as archive, h5py.File(io.BytesIO(archive.read("model.weights.h5"))) as weights:
        return sorted(weights)


def test_save_for_inference_keeps_the_model_and_drops_the_optimizer(tmp_path):
    import numpy as np

    from catdog.models import build_model, load_model, save_for_inference

    model = build_model(TrainConfig(model="model3"), image_size=(32, 32))
    images = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    model.fit(images, np.array([0, 1, 0, 1]), epochs=1, verbose=0)
    model.save(tmp_path / "full.keras")
    save_for_inference(model, tmp_path / "lean.keras")
    assert saved_weight_groups(tmp_path / "full.keras") == ["layers", "optimizer", "vars"]
    assert saved_weight_groups(tmp_path / "lean.keras") == ["layers", "vars"]
    full, lean = load_model(tmp_path / "full.keras"), load_model(tmp_path / "lean.keras")
    assert lean.name == "model3" and [layer.name for layer in lean.layers] == [layer.name for layer in full.layers]
    np.testing.assert_array_equal(lean.predict(images, verbose=0), full.predict(images, verbose=0))
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".keras")) == ["full.keras", "lean.keras"]


def test_train_run_writes_a_complete_run(synthetic_data, tmp_path):
    store = RunStore(tmp_path / "runs")
    progress = Progress()
    result = train_run(TrainConfig(model="model2", epochs=2), DataConfig(str(synthetic_data), **SMALL),
                       store=store, progress=progress)
    run = store.get(result.run.run_id)
    assert run.status == "done" and run.has_epochs and run.record["partial_epoch"] is None
    assert [row["epoch"] for row in run.history()] == [1, 2]
    assert not any("stopped_after_batch" in row for row in run.history())
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(run.history()[0])
    assert 0 <= run.test_accuracy <= 1 and run.record["test"]["images"] == 8
    assert run.record["counts"]["test"] == {"cats": 4, "dogs": 4}
    assert "collapsed" in run.record  # model1/model2: checked while training (None, or where it collapsed)
    assert run.record["parameters"]["trainable"] > 0
    assert run.record["versions"]["keras"].startswith("3.")
    assert (run.path / "best.keras").is_file() and run.model_path.is_file()
    # Both model files hold weights only, not Adam's state (a third of the size), and nothing half-written is left.
    assert saved_weight_groups(run.path / "best.keras") == saved_weight_groups(run.model_path) == ["layers", "vars"]
    assert sorted(p.name for p in run.path.iterdir() if p.suffix == ".keras") == ["best.keras", "model.keras"]
    # TensorBoard event files for both splits, so `tensorboard --logdir runs/` shows the run.
    assert {p.parent.name for p in (run.path / "tensorboard").rglob("events.out.tfevents.*")} == {"train", "validation"}
    assert progress.snapshot()["batches"] == 4 and progress.snapshot()["phase"] == "done"
    # each epoch's wall time without its first batch (which traced the step in epoch 1) paces the time left
    assert all(0 < row["steady_seconds"] for row in progress.snapshot()["history"])
    # best.keras is scored on the test split too, and it is the best-validation epoch's model.
    best = run.record["test_best"]
    assert best["epoch"] == best_epoch(run.history()) and best["images"] == 8
    assert run.test_best_accuracy == best["accuracy"] == result.test_best["accuracy"]


def test_best_checkpoint_is_scored_when_an_earlier_epoch_was_best(synthetic_data, tmp_path):
    from catdog import data
    from catdog.models import build_model, save_for_inference
    from catdog.training import _score_best_checkpoint

    data_config = DataConfig(str(synthetic_data), **SMALL)
    _, splits = prepare_splits(data_config)
    run = RunStore(tmp_path / "runs").create(TrainConfig(), data_config)
    best_model = build_model(TrainConfig(seed=3))
    best_model.save(run.path / "best.keras")
    test_ds = data.make_dataset(splits.test, batch_size=4, cache=False)
    expected = best_model.evaluate(test_ds, verbose=0, return_dict=True)
    history = [{"val_accuracy": 0.9}, {"val_accuracy": 0.5}]
    final = {"loss": 9.0, "accuracy": 0.125, "images": 8}
    final_model = build_model(TrainConfig(seed=4))
    best = _score_best_checkpoint(final_model, run, history, final, splits.test, image_size=(160, 160), batch_size=4)
    assert best == pytest.approx({"loss": expected["loss"], "accuracy": expected["accuracy"], "images": 8, "epoch": 1})
    # When the last epoch is the best, best.keras is the final model (saved first, as train_run does): its scores
    # are reused and the file is copied.
    save_for_inference(final_model, run.path / "model.keras")
    assert _score_best_checkpoint(final_model, run, history[::-1], final, splits.test, image_size=(160, 160),
                                  batch_size=4) == {**final, "epoch": 2}
    assert (run.path / "best.keras").read_bytes() == (run.path / "model.keras").read_bytes()
    # A stopped run's final weights may be from mid-epoch: the checkpoint is scored itself.
    best_model.save(run.path / "best.keras")
    stopped = _score_best_checkpoint(final_model, run, history[::-1], final, splits.test, stopped=True,
                                     image_size=(160, 160), batch_size=4)
    assert stopped["epoch"] == 2 and stopped["accuracy"] == pytest.approx(expected["accuracy"])


def test_best_epoch_is_the_first_epoch_of_highest_validation_accuracy():
    history = [{"val_accuracy": 0.5}, {"val_accuracy": 0.75}, {"val_accuracy": 0.75}, {"val_accuracy": 0.6}]
    assert best_epoch(history) == 2
    assert best_epoch([{"loss": 0.7}]) is None and best_epoch([]) is None


def test_same_seed_same_run(synthetic_data, tmp_path):
    store = RunStore(tmp_path / "runs")
    config = DataConfig(str(synthetic_data), **SMALL)
    a = train_run(TrainConfig(epochs=1, seed=5), config, store=store).history
    b = train_run(TrainConfig(epochs=1, seed=5), config, store=store).history
    assert a[0]["loss"] == pytest.approx(b[0]["loss"], rel=1e-5)


def test_other_threads_drawing_python_random_do_not_change_a_run(synthetic_data, tmp_path):
    """Keras seeds layers built without a seed from Python's shared ``random`` generator, which
    other server threads draw from (uvicorn's keep-alive ping calls ``random.getrandbits``).
    A run must give the same weights and history whatever another thread draws meanwhile."""
    import random

    import numpy as np

    from catdog.models import load_model

    store = RunStore(tmp_path / "runs")
    config = DataConfig(str(synthetic_data), **SMALL)
    quiet = train_run(TrainConfig(epochs=1, seed=7), config, store=store)
    done = threading.Event()

    def draw():
        while not done.is_set():
            random.getrandbits(32), random.randint(1, 10), random.random()
            time.sleep(0)  # let the training thread have the GIL: a tight loop tripled this test's time

    noise = threading.Thread(target=draw, daemon=True)
    noise.start()
    try:
        noisy = train_run(TrainConfig(epochs=1, seed=7), config, store=store)
    finally:
        done.set()
        noise.join()
    assert noisy.history[0]["loss"] == quiet.history[0]["loss"]
    for a, b in zip(load_model(quiet.run.model_path).get_weights(), load_model(noisy.run.model_path).get_weights()):
        np.testing.assert_array_equal(a, b)
    random.seed(3)
    expected = random.random()
    random.seed(3)
    assert random.random() == expected  # outside a run, random is the ordinary shared generator


class StopPressedAsTheFitBegan(threading.Event):
    """Stop pressed just after model.fit began: the look before the fit sees nothing, every later one sees it."""

    looks = 0

    def is_set(self):
        self.looks += 1
        return self.looks > 1


def test_stop_pressed_while_the_data_is_prepared_trains_nothing(synthetic_data, tmp_path):
    stop = threading.Event()
    stop.set()  # not one batch trained, then validated and tested (QA)
    result = train_run(TrainConfig(epochs=5), DataConfig(str(synthetic_data), **SMALL),
                       store=RunStore(tmp_path / "runs"), stop=stop)
    assert result.run.status == "stopped" and result.history == [] and result.test is None
    assert not result.run.model_path.is_file()
    from catdog.reporting import run_rows

    assert run_rows([RunStore(tmp_path / "runs").get(result.run.run_id)])[0]["status"] == \
        "stopped before its first epoch"


def test_stop_ends_training_after_the_current_batch(synthetic_data, tmp_path):
    stop = StopPressedAsTheFitBegan()
    result = train_run(TrainConfig(epochs=5), DataConfig(str(synthetic_data), **SMALL),
                       store=RunStore(tmp_path / "runs"), stop=stop)
    assert result.run.status == "stopped" and len(result.history) == 1
    # Keras still validates and logs the epoch that Stop cut short: the run says how far it went
    (run,) = RunStore(tmp_path / "runs").list()
    cut = run.record["partial_epoch"]
    assert cut["epoch"] == 1 and cut["batch"] == 1 < cut["batches"]
    assert run.history()[-1]["stopped_after_batch"] == 1 == result.history[-1]["stopped_after_batch"]
    from catdog.charts import history_figure
    from catdog.reporting import run_rows

    assert run_rows([run])[0]["status"] == f"stopped: epoch 1, batch 1/{cut['batches']}"
    validation = history_figure(run.history()).data[1]
    assert list(validation.marker.symbol) == ["circle-open"] and "stopped after batch 1 of" in validation.hovertext[0]


def test_stop_pressed_during_validation_ends_the_fit_with_that_epoch():
    from types import SimpleNamespace

    from catdog.training import Progress, _make_live_callback

    stop, progress = threading.Event(), Progress()
    callback, model = _make_live_callback(progress, stop), SimpleNamespace(stop_training=False)
    callback.set_model(model)
    callback.set_params({"steps": 4, "epochs": 3})
    callback.on_train_begin()
    callback.on_epoch_begin(0)
    for batch in range(4):
        callback.on_train_batch_end(batch)
    assert not model.stop_training
    stop.set()  # while Keras validates epoch 1: before, epoch 2 trained one batch and was validated again
    callback.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.6})
    assert model.stop_training and progress.partial_epoch is None  # a whole epoch, not a cut one
    assert "stopped_after_batch" not in progress.history[-1]


def test_a_stop_during_the_last_epochs_validation_leaves_a_done_run(synthetic_data, tmp_path, monkeypatch):
    from catdog import training

    stop, make = threading.Event(), training._make_live_callback

    def pressing_stop_in_the_last_validation(progress, stop_event, steps_per_batch=1):
        callback = make(progress, stop_event, steps_per_batch)
        on_epoch_end = callback.on_epoch_end

        def late_stop(epoch, logs=None):
            if epoch + 1 == 2:  # Keras has validated the last epoch; its end is logged next
                stop.set()
            on_epoch_end(epoch, logs)

        callback.on_epoch_end = late_stop
        return callback

    monkeypatch.setattr(training, "_make_live_callback", pressing_stop_in_the_last_validation)
    result = train_run(TrainConfig(epochs=2), DataConfig(str(synthetic_data), **SMALL),
                       store=RunStore(tmp_path / "runs"), stop=stop)
    assert stop.is_set() and len(result.history) == 2
    assert result.run.status == "done" and run_rows_status(result.run) == "done"  # not "stopped": every epoch ran


def run_rows_status(run) -> str:
    from catdog.reporting import run_rows

    return run_rows([run])[0]["status"]


def test_failure_marks_the_run_failed(synthetic_data, tmp_path):
    from catdog.models import HDF5_SIGNATURE
    from tests.test_models import mobilenet_shaped_h5

    store = RunStore(tmp_path / "runs")
    with pytest.raises(CatdogError, match="does not exist"):  # seen before any run folder is made
        train_run(TrainConfig(model="model4", epochs=1, weights=str(tmp_path / "missing.h5")),
                  DataConfig(str(synthetic_data), **SMALL), store=store)
    assert store.list() == []
    (tmp_path / "damaged.h5").write_bytes(HDF5_SIGNATURE + bytes(200))  # HDF5's signature, then nothing
    with pytest.raises(CatdogError, match="cannot be read as a Keras weights file"):  # seen before a run is made
        train_run(TrainConfig(model="model4", epochs=1, weights=str(tmp_path / "damaged.h5")),
                  DataConfig(str(synthetic_data), **SMALL), store=store)
    assert store.list() == []
    mobilenet_shaped_h5(tmp_path / "bad.h5")  # laid out as MobileNetV2's weights; only loading tells
    with pytest.raises(CatdogError) as failure:
        train_run(TrainConfig(model="model4", epochs=1, weights=str(tmp_path / "bad.h5")),
                  DataConfig(str(synthetic_data), **SMALL), store=store)
    (run,) = store.list()
    assert run.status == "failed" and run.record["error"] == str(failure.value)
    assert not run.has_epochs  # nothing for "Compare runs" to draw


def test_a_run_folder_deleted_by_hand_ends_its_training_at_that_epoch_and_says_so(synthetic_data, tmp_path):
    jobs = TrainingQueue(tmp_path / "runs")  # the real trainer
    try:
        job = jobs.submit(TrainConfig(epochs=200), DataConfig(str(synthetic_data), **SMALL), owner="me")
        wait_for(lambda: job.progress.snapshot()["history"] or job.finished)
        shutil.rmtree(jobs.store.root / job.run_id)  # outside the dashboard, which refuses while it trains
        wait_for(lambda: job.finished)
    finally:
        jobs.close()
    # not 200 epochs written nowhere, then "Cannot write the record … (No such file or directory)" (QA)
    assert job.state == "failed" and "has been deleted, outside the dashboard" in job.error
    assert len(job.progress.snapshot()["history"]) < 200 and not (jobs.store.root / job.run_id).exists()
    assert jobs.store.scan() == ([], [])
    # its owner's tabs show why it ended (QA: all said "Nothing is training"); others' failures are theirs to read
    assert jobs.job_in_view(None, "me") is job and jobs.job_in_view(None, "someone else") is None


def test_store_lists_renames_deletes_and_skips_broken_folders(tmp_path):
    store = RunStore(tmp_path / "runs")
    run = store.create(TrainConfig(), DataConfig())
    store.update(run, status="done")
    (tmp_path / "runs/half-written").mkdir()
    (tmp_path / "runs/half-written/run.json").write_text('{"status": "do')
    (tmp_path / "runs/empty").mkdir()
    assert [r.run_id for r in store.list()] == [run.run_id]
    started = datetime.strptime(run.run_id[:15], "%Y%m%d-%H%M%S")  # unnamed: when it started, short for legends
    assert run.name == f"{started.day} {started:%b %H:%M:%S}" and run.label() == f"{run.name} · model1 · done"
    assert RunInfo("odd-folder", tmp_path, {}, "done").name == "odd-folder"
    assert store.rename(run.run_id, "  baseline  ").name == "baseline"
    assert RunStore(tmp_path / "runs").get(run.run_id).name == "baseline"  # survives a restart
    with pytest.raises(CatdogError):
        store.rename(run.run_id, " ")
    for invisible in ("\u200b", " \u200b\u00a0\ufeff ", "\x00"):  # a zero-width space was kept as a name (QA)
        with pytest.raises(CatdogError, match="cannot be empty"):
            store.rename(run.run_id, invisible)
    assert store.rename(run.run_id, "\u200b👩\u200d🏫 demo\u200b").name == "👩\u200d🏫 demo"  # inside: kept
    scotland = "Scotland 🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"  # a flag's tags end it
    assert store.rename(run.run_id, scotland).name == scotland
    with pytest.raises(CatdogError, match="cannot be empty"):
        store.rename(run.run_id, "\U000e0067\U000e007f")
    store.delete(run.run_id)
    assert store.list() == [] and not any(p.name.startswith(".deleted-") for p in store.root.iterdir())
    with pytest.raises(CatdogError):
        store.get("../etc")
    assert store.scan()[1] == [("half-written", "run.json is not valid JSON in UTF-8")]  # "empty": no run.json


def test_a_deleted_run_waits_in_the_trash_to_be_restored_for_a_week(tmp_path):
    """On a class's shared server anyone can delete a run: a student's Delete took a teacher's prepared runs for
    good (QA H). Deleted runs are kept (the last TRASH_KEEP, for TRASH_DAYS days) and can be restored as they were."""
    from catdog.reporting import deleted_labels
    from catdog.training import HISTORY_FILE, TRASH_DAYS, TRASH_KEEP, curve_colours

    store = RunStore(tmp_path / "runs")

    def run(name):
        made = store.create(TrainConfig(), DataConfig())
        (made.path / HISTORY_FILE).write_text("epoch,accuracy\n0,0.5\n")
        (made.path / "model.keras").write_bytes(b"weights")
        return store.update(made, status="done", name=name, test={"accuracy": 0.6, "loss": 0.7, "images": 200})

    kept = run("kept")
    record = json.loads((kept.path / "run.json").read_text())
    key = store.listing_key()  # the Training page redraws when it changes: a rename, a delete, a restore (QA)
    assert key[1] == set() and [name for name, _ in key[0]] == [kept.run_id]
    store.rename(kept.run_id, "kept")  # the same name, rewritten
    os.utime(kept.path / "run.json", ns=(1, 1))
    assert store.listing_key() != key
    store.delete(kept.run_id)
    assert store.listing_key() == (set(), {kept.run_id})
    assert store.list() == [] and store.scan() == ([], [])  # out of every list
    [(deleted, when)] = store.deleted()
    assert deleted.run_id == kept.run_id and abs(when - time.time()) < 60  # when it was deleted, not made
    assert deleted_labels(store.deleted())[kept.run_id].startswith("kept · model1 · test 60.0% · deleted ")
    newer = run("newer")  # made meanwhile: it takes the free colour 0, the deleted run's
    restored = store.restore(kept.run_id)
    assert store.deleted() == [] and {r.run_id for r in store.list()} == {kept.run_id, newer.run_id}
    assert (restored.path / "model.keras").read_bytes() == b"weights" and restored.test_accuracy == 0.6
    assert {k: v for k, v in restored.record.items() if k != "colour"} == {k: v for k, v in record.items()
                                                                           if k != "colour"}
    colours = curve_colours(store.list())
    assert colours[kept.run_id] != colours[newer.run_id]  # two lines of one colour in Compare otherwise
    with pytest.raises(CatdogError, match="There is no deleted run .* to restore: it was restored or removed"):
        store.restore(kept.run_id)  # restored in another tab meanwhile
    for bad in ("", "../runs", ".trash"):
        with pytest.raises(CatdogError):
            store.restore(bad)
    store.delete(kept.run_id)
    shutil.copytree(store.root / ".trash" / kept.run_id, store.root / kept.run_id)  # copied back by hand
    with pytest.raises(CatdogError, match="the runs folder has a run .* already. Nothing was changed"):
        store.restore(kept.run_id)
    shutil.rmtree(store.root / kept.run_id)
    # the newest TRASH_KEEP are kept, for TRASH_DAYS days
    many = [run(f"run {i}") for i in range(TRASH_KEEP)]
    for i, made in enumerate(many):
        assert store.delete(made.run_id) == (["kept"] if i == TRASH_KEEP - 1 else [])  # the 11th in the trash
        os.utime(store.root / ".trash" / made.run_id, (time.time() + 100 * (i + 1),) * 2)  # 100 s apart
    assert [r.name for r, _ in store.deleted()] == [f"run {i}" for i in reversed(range(TRASH_KEEP))]  # "kept" gone
    assert not (store.root / ".trash" / kept.run_id).exists()
    assert store.purge_trash(now=time.time() + TRASH_DAYS * 86400 - 3600) == []
    # the 5 deleted first, named for the page to say so (QA: the 11th Delete removed a run for good unsaid)
    assert store.purge_trash(now=time.time() + TRASH_DAYS * 86400 + 550) == [f"run {i}" for i in range(4, -1, -1)]
    old = store.deleted()[-1][0].run_id
    os.utime(store.root / ".trash" / old, (time.time() - TRASH_DAYS * 86400 - 60,) * 2)
    store.remove_stale_temporaries()  # a server opening the folder a week later, no Delete since
    assert old not in {r.run_id for r, _ in store.deleted()} and len(store.deleted()) == 4
    assert not [p for p in store.root.iterdir() if p.name.startswith(".deleted-")]  # removed whole


@pytest.mark.parametrize("sign", ["👨\u200d👩\u200d👧", "👍🏽", "🇫🇷", "❤\ufe0f", "e\u0301",
                                  "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"])
def test_a_long_run_name_is_never_cut_inside_one_drawn_sign(sign):
    from catdog.config import RUN_NAME_MAX, run_name

    for before in range(RUN_NAME_MAX - len(sign), RUN_NAME_MAX + 1):  # the sign across the cut at every offset
        name = run_name("a" * before + sign + " and more")
        assert name in ("a" * before, "a" * before + sign), (before, name)  # whole or left out, never half
        assert len(name) <= RUN_NAME_MAX
    assert run_name("x" + "🇫🇷" * 50) == "x" + "🇫🇷" * 39  # flags in a row: cut between two, not inside one


def test_a_record_saved_with_a_byte_order_mark_is_read(tmp_path):
    store = RunStore(tmp_path / "runs")
    run = store.create(TrainConfig(), DataConfig())
    path = run.path / "run.json"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # as Windows Notepad saves it: the run vanished (QA)
    assert store.get(run.run_id).run_id == run.run_id and store.scan()[1] == []
    assert store.rename(run.run_id, "renamed by hand").name == "renamed by hand"


def test_a_runs_folder_that_cannot_be_written_is_said_plainly_and_nothing_is_lost(tmp_path, monkeypatch):
    from catdog import training

    store = RunStore(tmp_path / "runs")
    run = store.create(TrainConfig(), DataConfig())
    store.update(run, status="done", name="kept")

    def read_only(*args, **kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(training, "write_json_atomic", read_only)
    with pytest.raises(CatdogError, match=r"Cannot write the record of run 'kept' .*\(Read-only file system\): "
                                          r"nothing was changed"):
        store.rename(run.run_id, "new name")
    monkeypatch.setattr(training.os, "rename", read_only)
    with pytest.raises(CatdogError, match=r"Cannot delete run 'kept' \(Read-only file system\): nothing was deleted"):
        store.delete(run.run_id)
    monkeypatch.undo()
    assert store.get(run.run_id).name == "kept" and store.get(run.run_id).model_path.parent.is_dir()
    # a delete that rmtree could finish only in part leaves a hidden folder, gone from the listing at once
    trash = store.root / ".deleted-old-abcdef"
    shutil.copytree(run.path, trash)
    assert [r.run_id for r in store.list()] == [run.run_id] and store.scan()[1] == []
    store.remove_stale_temporaries()  # when a server next opens the folder
    assert not trash.exists()


@pytest.mark.parametrize("field, value", [
    ("created", 5), ("parameters", [1, 2]), ("partial_epoch", {"epoch": 2}), ("test", {"accuracy": "high"}),
    ("data_config", {"image_size": [160]}), ("epochs_done", True), ("train_config", {"model": None, "seed": "x"}),
    # numbers out of range broke the runs table for everyone, even after a restart (QA)
    ("test", {"accuracy": 1.7, "loss": 0.1, "images": 200}), ("test", {"accuracy": 0.9, "loss": 0.1, "images": -5}),
    ("test_best", {"accuracy": float("nan"), "images": 200}), ("best_val_accuracy", -0.1),
    ("colour", "blue"), ("colour", -1),
])
def test_a_hand_edited_record_of_the_wrong_shape_is_skipped_not_fatal(tmp_path, field, value):
    """Each of these broke the runs table or the Classifier page for every user (a sort, a ``.get``, a key)."""
    from catdog.reporting import run_rows

    store = RunStore(tmp_path / "runs")
    good, edited = store.create(TrainConfig(), DataConfig()), store.create(TrainConfig(seed=1), DataConfig())
    store.update(edited, status="done", **{field: value})
    assert [run.run_id for run in store.list()] == [good.run_id]
    assert len(run_rows(store.list())) == 1
    with pytest.raises(CatdogError):
        store.get(edited.run_id)
    [(name, why)] = store.scan()[1]  # and said, not left out without a word
    assert name == edited.run_id and why.startswith(field)


def test_each_run_keeps_its_colour_and_the_runs_shown_get_distinct_ones(tmp_path):
    from catdog.training import HISTORY_FILE, curve_colours

    store = RunStore(tmp_path / "runs")

    def run(curves=True, **record):
        made = store.create(TrainConfig(), DataConfig())
        if curves:
            (made.path / HISTORY_FILE).write_text("epoch,accuracy\n0,0.5\n")
        return store.update(made, status="done", **record).run_id

    a, b, c = run(), run(), run()
    colours = lambda: curve_colours(store.list())  # noqa: E731
    assert [colours()[r] for r in (a, b, c)] == [0, 1, 2]
    store.delete(a)  # deleting an older run moved every younger one to the next colour (QA)
    assert [colours()[r] for r in (b, c)] == [1, 2]
    failed = run(curves=False)  # no curves to draw: its number is free for the next run
    again = run()
    assert colours()[failed] == colours()[again] == 0  # the lowest free: nine runs, nine colours (QA)
    third = run()
    assert colours()[third] == 3
    old = run(colour=None)  # a run from before colours were recorded: the lowest number free, kept by the others
    assert colours()[old] == 4 and [colours()[r] for r in (b, c)] == [1, 2]


def test_running_record_without_live_job_is_interrupted(tmp_path):
    live = set()
    store = RunStore(tmp_path / "runs", live=lambda: live)
    run = store.create(TrainConfig(), DataConfig())
    assert store.get(run.run_id).status == "interrupted"
    # Killed after one epoch: its row shows what the history holds, not the planned 20 epochs and no accuracy.
    (run.path / "history.csv").write_text("epoch,accuracy,loss,val_accuracy,val_loss\n0,0.6,0.7,0.55,0.69\n")
    from catdog.reporting import run_rows

    [row] = run_rows([store.get(run.run_id)])
    assert row["status"] == "interrupted" and row["epochs"] == 1 and row["best validation accuracy"] == 0.55
    # the course's comparison first (issue 3), in the 820 px of a table at 1280 px; the status after it
    assert list(row)[:8] == ["run", "model", "test accuracy", "best validation accuracy", "epochs", "wall time (s)",
                             "params", "status"]
    assert row["training seed"] == 0
    store.update(run, collapsed={"epoch": 1, "batch": 30, "images": 16})  # why it guesses, in the table (QA)
    assert run_rows([store.get(run.run_id)])[0]["status"] == "interrupted · collapsed"
    store.update(run, collapsed=None, status="done", epochs_done=1)  # trained, but its model file deleted by hand
    assert run_rows([store.get(run.run_id)])[0]["status"] == "done · model file missing"
    store.update(run, status="running", epochs_done=None)
    live.add(run.run_id)  # while it trains, the live view has the numbers; the table would go stale
    [row] = run_rows([store.get(run.run_id)])
    assert row["status"] == "running · scores when it ends"  # not a bare "running" beside empty cells (QA)
    assert row["epochs"] is None and row["best validation accuracy"] is None
    live.clear()
    live.add(run.run_id)
    assert store.get(run.run_id).status == "running"
    with pytest.raises(CatdogError, match="is training now: it can be deleted once its training has ended"):
        store.delete(run.run_id)


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    write_json_atomic(tmp_path / "a.json", {"x": 1})
    write_json_atomic(tmp_path / "a.json", {"x": 2})
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_history_csv_drops_torn_lines(tmp_path):
    (tmp_path / "h.csv").write_text("epoch,accuracy,loss\n0,0.5,0.7\n1,0.6,0.")
    (tmp_path / "g.csv").write_text("epoch,accuracy,loss\n0,0.5,0.7\n1,0.6")
    assert read_history_csv(tmp_path / "h.csv")[-1]["epoch"] == 2
    assert len(read_history_csv(tmp_path / "g.csv")) == 1
    assert read_history_csv(tmp_path / "missing.csv") == []
    # a power cut can leave NUL bytes or garbage at the end of a file: its good rows still count
    (tmp_path / "f.csv").write_bytes(b"epoch,accuracy,loss\n0,0.5,0.7\n1,0.6,\xe9\xff\n" + b"\0" * 64)
    assert [row["epoch"] for row in read_history_csv(tmp_path / "f.csv")] == [1]
    (tmp_path / "e.csv").write_text("epoch,accuracy,loss\n0,0.5,0.7\nnan,0.6,0.6\n")  # "nan" parses as a float
    assert [row["epoch"] for row in read_history_csv(tmp_path / "e.csv")] == [1]


def fake_trainer(release: threading.Event):
    """A trainer with train_run's signature that waits for ``release`` or a stop."""

    def trainer(train_config, data_config, *, store, progress, stop, on_run_created):
        run = store.create(train_config, data_config)
        on_run_created(run)
        progress.set(phase="training", epoch=1)
        while not (release.is_set() or stop.is_set()):
            time.sleep(0.01)
        store.update(run, status="stopped" if stop.is_set() else "done")
        return TrainResult(run, [], {"accuracy": 1.0, "loss": 0.0, "images": 1})

    return trainer


def recording_trainer(release: threading.Event, started: list):
    """:func:`fake_trainer` that appends each training's name to ``started`` as it starts."""
    hold = fake_trainer(release)

    def trainer(train_config, data_config, **kwargs):
        started.append(train_config.name)
        return hold(train_config, data_config, **kwargs)

    return trainer


def test_queue_runs_one_job_at_a_time_in_order(tmp_path):
    release = threading.Event()
    jobs = TrainingQueue(tmp_path / "runs", trainer=fake_trainer(release))
    first = jobs.submit(TrainConfig(name="a"), DataConfig(), owner="alice")
    assert jobs.position(first) in (1, 0)  # next, or running already: never "position 0" while it waits
    if first.state == "queued":  # the moment before the training thread picks it up: not "queued" (QA)
        assert jobs.starting(first) and jobs.queue_text(first) == "starting…"
    second = jobs.submit(TrainConfig(name="b"), DataConfig(), owner="bob")
    wait_for(lambda: first.state == "running" and first.run_id is not None)  # the run folder exists
    assert second.state == "queued" and jobs.position(first) == 0 and jobs.position(second) == 1
    assert not jobs.starting(second) and jobs.queue_text(second) == "queued, position 1"
    assert jobs.store.get(first.run_id).status == "running"
    release.set()
    wait_for(lambda: second.finished)
    assert first.state == second.state == "done" and jobs.position(first) == -1
    assert {r.status for r in jobs.store.list()} == {"done"}


def test_each_browser_follows_its_own_job_else_the_one_training(tmp_path):
    release = threading.Event()
    jobs = TrainingQueue(tmp_path / "runs", trainer=fake_trainer(release))
    teacher = jobs.submit(TrainConfig(name="demo"), DataConfig(), owner="teacher")
    wait_for(lambda: teacher.state == "running" and teacher.run_id is not None)
    student = jobs.submit(TrainConfig(name="mine", seed=1), DataConfig(), owner="student")
    assert jobs.job_in_view(None, "projector") is teacher  # the one training, not the newest, queued (QA)
    assert jobs.job_in_view(None, "student") is student  # a browser's own job first, after a reload too
    assert jobs.job_in_view(teacher.job_id, "student") is teacher  # the tab chose it (Show)
    assert jobs.job_in_view("gone", "nobody") is teacher
    mistake = jobs.submit(TrainConfig(name="by mistake", seed=2), DataConfig(), owner="student")
    jobs.stop(mistake)  # cancelled, the newest of the student's: a reload follows the one still waiting (QA)
    assert mistake.finished and jobs.job_in_view(None, "student") is student
    # the teacher queues another in one tab: the projector's tab of the same browser stays on the one training (QA)
    queued = jobs.submit(TrainConfig(name="next", seed=3), DataConfig(), owner="teacher")
    assert jobs.job_in_view(None, "teacher") is teacher
    # nor does the tab whose Train queued it: it waits in "Your other trainings" while the first trains (QA)
    assert jobs.job_in_view(queued.job_id, "teacher") is teacher
    assert jobs.job_in_view(queued.job_id, "teacher", keep=True) is queued  # chosen with Show: as chosen
    jobs.stop(queued)
    jobs.store.rename(teacher.run_id, "renamed meanwhile")
    assert (jobs.job_name(teacher), jobs.job_name(student)) == ("renamed meanwhile", "mine")
    assert jobs.job_name(teacher, with_model=True) == "renamed meanwhile"  # a name of the user's own: as it is
    jobs.store.update(jobs.store.get(teacher.run_id), name="")  # no name: as the runs table, Compare and the Classifier call it (QA)
    started = jobs.store.get(teacher.run_id).started
    assert (jobs.job_name(teacher), jobs.job_name(teacher, with_model=True)) == (started, f"{started} · model1")
    unnamed = jobs.submit(TrainConfig(model="model3"), DataConfig(), owner="x")
    assert jobs.job_name(unnamed, with_model=True) == "model3"  # no run yet
    jobs.stop(unnamed)
    jobs.stop(student)  # cancelled in the queue: no run, so another browser is not shown it
    release.set()
    wait_for(lambda: teacher.finished and student.finished)
    assert jobs.job_in_view(None, "projector") is teacher
    jobs.store.delete(teacher.run_id)  # its run deleted: nothing is left to show a browser without jobs
    assert jobs.job_in_view(None, "projector") is None and jobs.job_in_view(None, "nobody") is None
    assert jobs.job_in_view(teacher.job_id, "teacher") is queued  # the teacher's newest left: cancelled, no run


def test_a_started_job_no_longer_reads_queued(tmp_path):
    phases = []

    def trainer(train_config, data_config, *, progress, **_):
        phases.append(progress.snapshot()["phase"])  # what the page shows before train() sets its own
        raise CatdogError("done looking")

    job = TrainingQueue(tmp_path / "runs", trainer=trainer).submit(TrainConfig(), DataConfig())
    assert job.progress.snapshot()["phase"] in ("queued", "preparing data", "failed")
    wait_for(lambda: job.finished)
    assert phases == ["preparing data"]  # not "queued" beside a "running" heading (QA)


def test_queue_stop_works_for_running_and_queued_jobs(tmp_path):
    release = threading.Event()
    jobs = TrainingQueue(tmp_path / "runs", trainer=fake_trainer(release))
    running = jobs.submit(TrainConfig(), DataConfig())
    waiting = jobs.submit(TrainConfig(), DataConfig())
    third = jobs.submit(TrainConfig(seed=1), DataConfig())
    wait_for(lambda: running.state == "running")
    assert jobs.position(third) == 2
    jobs.stop(waiting)  # cancelled at once, not when its turn comes; the jobs behind it move up
    assert waiting.state == "stopped" and waiting.progress.snapshot()["message"] == "cancelled before it started"
    assert jobs.position(third) == 1 and jobs.position(waiting) == -1
    jobs.stop(third)
    jobs.stop(running)
    wait_for(lambda: running.finished and waiting.finished)
    assert running.state == waiting.state == third.state == "stopped" and waiting.run_id is None
    assert len(jobs.store.list()) == 1  # the cancelled jobs never made a run


def test_the_queue_holds_a_few_waiting_jobs_per_browser_and_a_bounded_number_in_all(tmp_path):
    release = threading.Event()
    jobs = TrainingQueue(tmp_path / "runs", trainer=fake_trainer(release), max_waiting=3, max_waiting_per_owner=2)
    running = jobs.submit(TrainConfig(seed=0), DataConfig(), owner="alice")
    wait_for(lambda: running.state == "running")  # the running job does not count
    waiting = [jobs.submit(TrainConfig(seed=s), DataConfig(), owner="alice") for s in (1, 2)]
    with pytest.raises(CatdogError, match="already have 2 trainings waiting"):
        jobs.submit(TrainConfig(seed=3), DataConfig(), owner="alice")
    jobs.submit(TrainConfig(seed=4), DataConfig(), owner="bob")
    with pytest.raises(CatdogError, match="The queue is full: 3 trainings are waiting"):
        jobs.submit(TrainConfig(seed=5), DataConfig(), owner="carol")
    jobs.stop(waiting[0])  # a cancelled job frees its place
    jobs.submit(TrainConfig(seed=3), DataConfig(), owner="alice")
    again = jobs.retry(running, owner="alice", seed=9)  # replaces a job: allowed over the limits, and goes first
    assert len([j for j in jobs.active() if j.state == "queued"]) == 4 and jobs.position(again) in (1, 0)
    wait_for(lambda: again.state == "running")  # takes the place of the job it replaced
    assert running.state == "stopped" and len([j for j in jobs.active() if j.state == "queued"]) == 3
    for job in jobs.active():
        jobs.stop(job)
    release.set()


def test_queue_finds_the_owners_unfinished_twin_of_a_training(tmp_path):
    release = threading.Event()
    jobs = TrainingQueue(tmp_path / "runs", trainer=fake_trainer(release))
    first = jobs.submit(TrainConfig(name="a"), DataConfig(), owner="alice")
    assert jobs.unfinished_twin(TrainConfig(name="a"), DataConfig(), owner="alice") is first  # a second click
    assert jobs.unfinished_twin(TrainConfig(name="a"), DataConfig(), owner="bob") is None  # someone else's
    assert jobs.unfinished_twin(TrainConfig(name="a", seed=7), DataConfig(), owner="alice") is None
    wait_for(lambda: first.state == "running")
    jobs.stop(first)  # Stop, then Train at once: the stopping job (still ending its batch) is no twin
    assert not first.finished and jobs.unfinished_twin(TrainConfig(name="a"), DataConfig(), owner="alice") is None
    release.set()
    wait_for(lambda: first.finished)
    assert jobs.unfinished_twin(TrainConfig(name="a"), DataConfig(), owner="alice") is None  # may train it again


def test_an_update_keeps_a_rename_made_while_the_run_trains(tmp_path):
    store = RunStore(tmp_path / "runs")
    run = store.create(TrainConfig(name="ren2"), DataConfig())  # the training thread's copy of the record
    store.rename(run.run_id, "renamed2")  # from the page, meanwhile
    store.update(run, status="done", seconds=12.5)  # the training ends and writes its record
    assert (store.get(run.run_id).name, store.get(run.run_id).status) == ("renamed2", "done")
    assert run.record["name"] == "renamed2" and run.status == "done"


def test_closing_the_queue_stops_its_jobs_and_refuses_new_ones(tmp_path):
    from catdog.reporting import cancelled_text, run_rows

    jobs = TrainingQueue(tmp_path / "runs", trainer=fake_trainer(threading.Event()))  # never released
    running = jobs.submit(TrainConfig(), DataConfig(), owner="alice")
    waiting = jobs.submit(TrainConfig(seed=1), DataConfig(), owner="alice")
    theirs = jobs.submit(TrainConfig(model="model3", name="demo"), DataConfig(), owner="bob")
    wait_for(lambda: running.run_id is not None)
    assert jobs.close(timeout=10) is True
    assert running.state == waiting.state == theirs.state == "stopped" and waiting.run_id is None
    assert jobs.store.get(running.run_id).status == "stopped"
    # not by its owner, and before its first epoch had ended (not a bare "stopped", QA)
    assert run_rows([jobs.store.get(running.run_id)])[0]["status"] == "stopped at shutdown before its first epoch"
    with pytest.raises(CatdogError, match="shutting down"):
        jobs.submit(TrainConfig(), DataConfig())
    assert TrainingQueue(tmp_path / "idle").close(timeout=10) is True  # an idle worker wakes up and ends
    # After a restart, each browser is told which of its waiting trainings the shutdown cancelled, until it has read so.
    restarted = TrainingQueue(tmp_path / "runs")
    assert [r.run_id for r in restarted.store.list()] == [running.run_id]  # the record is no run
    mine, stopped = restarted.cancelled_for("alice")  # the training cancelled, then the one stopped mid-run
    assert stopped["run_id"] == running.run_id and "run_id" not in mine
    assert (mine["model"], mine["name"], mine["epochs"], mine["seed"]) == ("model1", "", 20, 1)
    assert restarted.cancelled_for("alice") == [mine, stopped]  # a reload before reading it loses nothing
    text = cancelled_text([mine, stopped])
    # the stopped run named as the runs table names it, its start time ("model1" was not found there, QA)
    assert stopped["name"] == restarted.store.get(running.run_id).started
    assert f", your training “{stopped['name']}” (model1, 20 epochs, seed 0) was stopped: its run, with the curves so " \
           "far and a test score, is in the runs table below. Also, your training model1 (20 epochs, seed 1) was " \
           "still waiting in the queue" in text
    restarted.forget_cancelled("alice")
    assert restarted.cancelled_for("alice") == []
    [bobs] = restarted.cancelled_for("bob")
    assert cancelled_text([bobs]).endswith(", your training “demo” (model3, 20 epochs, seed 0) was still waiting "
                                           "in the queue and was cancelled, before any run was made. Set it up "
                                           "again and press Train.")
    restarted.forget_cancelled("bob")
    assert not (tmp_path / "runs" / CANCELLED_FILE).exists()
    # Two stops, in order of time (not of text); an entry a week old is dropped at the next write.
    entries = [{**bobs, "cancelled": "2026-12-10T08:00:00+00:00"}, {**bobs, "cancelled": "2026-12-09T09:00:00+00:00"}]
    assert cancelled_text(entries).index("9 Dec") < cancelled_text(entries).index("10 Dec")
    same_minute = [{**bobs, "cancelled": "2026-12-10T08:00:00+00:00"},
                   {**bobs, "cancelled": "2026-12-10T08:00:01+00:00"}]
    assert cancelled_text(same_minute).count("10 Dec") == 1  # a stopped and a cancelled training: one time (QA)
    old = {**bobs, "owner": "gone", "cancelled": "2020-01-01T00:00:00+00:00"}
    (tmp_path / "runs" / CANCELLED_FILE).write_text(json.dumps([old, stopped, mine]))
    restarted.forget_cancelled("alice")
    assert not (tmp_path / "runs" / CANCELLED_FILE).exists()
    (tmp_path / "runs" / CANCELLED_FILE).write_text("{not json")  # hand-edited: no notice, no error
    assert restarted.cancelled_for("alice") == [] and restarted.close(timeout=10)


def test_trainings_a_shutdown_cancelled_are_queued_again_with_their_settings(tmp_path):
    from catdog.reporting import cancelled_text
    from catdog.training import cancelled_configs

    jobs = TrainingQueue(tmp_path / "runs", trainer=fake_trainer(threading.Event()))  # never released
    running = jobs.submit(TrainConfig(), DataConfig(), owner="alice")
    fine = TrainConfig(model="model4", fast=True, views=3, fine_tune_epochs=2, fine_tune_at=120, seed=5, name="ft")
    small = DataConfig(image_size=(224, 224), batch_size=16, validation_size=10, test_size=6, seed=3)
    jobs.submit(fine, small, owner="alice")
    jobs.submit(TrainConfig(model="model3", epochs=4), DataConfig(), owner="alice")
    wait_for(lambda: running.run_id is not None)
    assert jobs.close(timeout=10) is True
    restarted = TrainingQueue(tmp_path / "runs", trainer=fake_trainer(threading.Event()))
    *waiting, stopped = restarted.cancelled_for("alice")  # recorded as the queue closed, then the one stopped
    assert cancelled_configs(stopped) is None  # it has its run
    assert [cancelled_configs(e) for e in waiting] == [(fine, small), (TrainConfig(model="model3", epochs=4),
                                                                       DataConfig())]
    # the notice names model4's mode and a batch size other than 32, and the button
    assert cancelled_text(waiting, requeue=True).endswith(
        "2 of your trainings were still waiting in the queue and were cancelled, before any run was made: “ft” "
        "(model4 (fast ×3, FT 2), 20 epochs, seed 5, 224×224 input, batch size 16); model3 (4 epochs, seed 0). Press Queue again to "
        "queue them with the same settings.")
    unnamed = {**waiting[0], "name": "", "train_config": {**waiting[0]["train_config"], "name": ""}}
    assert "model4 (fast ×3, FT 2; 20 epochs, seed 5, 224×224 input, batch size 16)" in cancelled_text([unnamed])  # not ") (" (QA)
    first, second = restarted.requeue_cancelled("alice")
    assert (first.train_config, first.data_config) == (fine, small) and second.train_config.model == "model3"
    assert restarted.cancelled_for("alice") == [] and restarted.requeue_cancelled("alice") == []  # a second tab
    # one set up again by hand meanwhile (Train) is not queued twice (QA)
    (tmp_path / "runs" / CANCELLED_FILE).write_text(json.dumps(waiting))
    assert restarted.requeue_cancelled("alice") == [] and restarted.cancelled_for("alice") == []
    # a full queue: what was not queued is listed again
    wait_for(lambda: first.state == "running")  # second waits: 2 more fit in alice's 3 places
    others = [{**e, "train_config": {**e["train_config"], "seed": 100 + i}} for i, e in enumerate(waiting * 3)]
    (tmp_path / "runs" / CANCELLED_FILE).write_text(json.dumps(others))
    with pytest.raises(CatdogError, match="already have 3 trainings waiting"):
        restarted.requeue_cancelled("alice")
    assert restarted.cancelled_for("alice") == others[2:]
    # entries written before the settings were recorded, or hand-edited: no button, no error
    old = {k: v for k, v in waiting[0].items() if k not in ("train_config", "data_config")}
    assert cancelled_configs(old) is None
    assert cancelled_configs({**waiting[0], "train_config": {"model": "model4", "colour": 3}}) is None
    assert restarted.close(timeout=10)


def test_trainings_of_a_server_killed_without_warning_are_said_and_can_be_queued_again(tmp_path, monkeypatch):
    from catdog.reporting import cancelled_text

    monkeypatch.setenv("CATDOG_TEACHER_PASSWORD", "x")  # run owners are kept in teacher mode: the sync point below
    from catdog.training import QUEUE_FILE, cancelled_configs

    jobs = TrainingQueue(tmp_path / "runs", trainer=fake_trainer(threading.Event()))  # never released
    running = jobs.submit(TrainConfig(name="k1"), DataConfig(), owner="alice")
    jobs.submit(TrainConfig(model="model2", epochs=3), DataConfig(), owner="bob")
    cancelled = jobs.submit(TrainConfig(model="model3"), DataConfig(), owner="bob")
    jobs.stop(cancelled)
    # the run's owner is recorded after its journal entry: the worker is done writing the journal (a rewrite still
    # under way landed after the restart below had removed the file, under load)
    wait_for(lambda: running.run_id is not None and jobs.run_owner(running.run_id) == "alice")
    journal = json.loads((tmp_path / "runs" / QUEUE_FILE).read_text())
    assert [(e["owner"], e["model"], e.get("run_id")) for e in journal] == [
        ("alice", "model1", running.run_id), ("bob", "model2", None)]
    # SIGKILL: no close(), the journal stays (QA: bob's waiting training vanished without a word)
    restarted = TrainingQueue(tmp_path / "runs", trainer=fake_trainer(threading.Event()))
    assert not (tmp_path / "runs" / QUEUE_FILE).exists()
    [bobs] = restarted.cancelled_for("bob")
    assert cancelled_configs(bobs) == (TrainConfig(model="model2", epochs=3), DataConfig())
    assert cancelled_text([bobs], requeue=True).startswith("When the server stopped without warning (")
    assert "your training model2 (3 epochs, seed 0) was still waiting in the queue" in cancelled_text([bobs])
    [alices] = restarted.cancelled_for("alice")
    assert alices["run_id"] == running.run_id and alices["unclean"]
    assert "your training “k1” (model1, 20 epochs, seed 0) was cut off: its run, with the epochs finished, is in " \
           "the runs table below (its status says how it ended)." in cancelled_text([alices])
    [again] = restarted.requeue_cancelled("bob")
    assert again.train_config.model == "model2"
    assert [e["model"] for e in json.loads((tmp_path / "runs" / QUEUE_FILE).read_text())] == ["model2"]
    assert restarted.close(timeout=10) and not (tmp_path / "runs" / QUEUE_FILE).exists()  # clean: none left
    assert [e["model"] for e in TrainingQueue(tmp_path / "runs").cancelled_for("bob")] == ["model2"]  # said once
    assert jobs.close(timeout=10)  # the killed server's queue, still alive in this test process, ends


def test_a_process_that_exits_mid_training_records_the_run_as_stopped(tmp_path):
    """Ctrl-C or SIGTERM ends Streamlit's main thread; the queue's exit hook then stops the training."""
    script = f"""
import sys, threading, time
sys.path.insert(0, {str(Path(__file__).parent.parent)!r})
from catdog.config import DataConfig, TrainConfig
from catdog.training import TrainingQueue
from tests.test_training import fake_trainer
jobs = TrainingQueue({str(tmp_path / "runs")!r}, trainer=fake_trainer(threading.Event()))
job = jobs.submit(TrainConfig(), DataConfig())
while job.run_id is None:
    time.sleep(0.01)
print(job.run_id)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.split()[-1]
    assert json.loads((tmp_path / "runs" / run_id / "run.json").read_text())["status"] == "stopped"
    # the terminal says why Ctrl-C takes a while
    # named as the runs table names it, with its model
    assert re.search(rf"catdog: stopping the training of “\d+ \w+ [\d:]+ · model1” \({run_id}\) so that its run "
                     "keeps its model", done.stderr)


def test_queue_survives_a_failing_job(tmp_path):
    def broken(*args, **kwargs):
        raise CatdogError("weights missing")

    jobs = TrainingQueue(tmp_path / "runs", trainer=broken)
    job = jobs.submit(TrainConfig(), DataConfig())
    wait_for(lambda: job.finished)
    assert job.state == "failed" and job.error == "weights missing"
    again = jobs.submit(TrainConfig(), DataConfig())
    wait_for(lambda: again.finished)


def test_a_test_score_is_compared_with_the_majority_baseline_through_its_interval(tmp_path):
    from catdog.reporting import baseline_note, run_baseline_note

    assert baseline_note(0.565, 200, 0.5).startswith(  # 95% interval 49.6–63.2%: maybe no better than guessing
        "Not clearly better than guessing: the 95% interval of 56.5% on 200 test images, 49.6%–63.2%, includes 50.0%")
    assert baseline_note(0.57, 200, 0.5) is None  # 50.07–63.7%
    assert baseline_note(0.9, 10, 0.8) is not None
    # a model collapsed onto the smaller class of a teacher's uneven dataset: not "includes 50%" (review)
    assert baseline_note(0.3, 200, 0.5).startswith(
        "Worse than guessing: the 95% interval of 30.0% on 200 test images, 24.1%–36.7%, lies below 50.0%, the "
        "majority-class baseline")
    store = RunStore(tmp_path / "runs")
    run = store.create(TrainConfig(), DataConfig())
    assert run_baseline_note(run) is None  # not scored yet
    counts = {"train": {"cats": 30, "dogs": 10}, "validation": {"cats": 3, "dogs": 1}, "test": {"cats": 12, "dogs": 8}}
    run = store.update(run, counts=counts, test={"accuracy": 0.95, "loss": 0.3, "images": 20})
    assert run_baseline_note(run) is None  # 76.4–99.1% lies above always answering cats, 60%
    run = store.update(run, test={"accuracy": 0.8, "loss": 0.3, "images": 20})
    assert "58.4%–91.9%, includes 60.0%" in run_baseline_note(run)


def test_a_server_holding_half_the_memory_is_advised_to_restart():
    from catdog.reporting import memory_note, process_memory

    rss, total = process_memory()  # this process, from /proc (Linux)
    assert 0 < rss < total
    assert memory_note(4.2e9, 8e9, 0.5).startswith("This server holds 4.2 GB of the machine's 8.0 GB: Keras keeps "
                                                   "about 90 MB after every training in it")
    # a server that trains in child processes (the default) keeps nothing per training: no cause is named
    assert memory_note(4.2e9, 8e9, 0.5, trains_here=False) == (
        "This server holds 4.2 GB of the machine's 8.0 GB. Restart the server between lessons (Ctrl-C in its "
        "terminal, then start it again): every run is kept.")
    assert memory_note(3.9e9, 8e9, 0.5) is None and memory_note(None, 8e9, 0.5) is None
    assert memory_note(4.2e9, None, 0.5) is None


def test_code_spans_show_file_names_with_backticks_as_typed():
    from catdog.reporting import code_span

    assert code_span("x.jpg") == "`x.jpg`" and code_span(Path("/d/x.jpg")) == "`/d/x.jpg`"
    assert code_span("a`b.jpg") == "``a`b.jpg``"  # "`a`b.jpg`" closed after "a" (review)
    assert code_span("`x") == "`` `x ``" and code_span("a``b") == "```a``b```"


def test_reporting_helpers():
    from catdog.reporting import (
        eta_seconds,
        format_seconds,
        fraction_done,
        phase_text,
        progress_text,
        stuck_at_chance,
    )

    snap = {"epochs": 4, "epoch": 2, "batch": 5, "batches": 10, "epoch_started": 100.0, "phase": "training",
            "first_batch_ended": 102.0}
    assert fraction_done(snap) == pytest.approx((1 + 0.5) / 4)
    # No epoch done yet: 2 s per batch since the first batch ended (it traced the step for 2 s more).
    assert eta_seconds(snap, now=110.0) == pytest.approx(2.0 * (5 + 2 * 10))
    assert eta_seconds({**snap, "batch": 0}) is None and eta_seconds({**snap, "phase": "testing"}) is None
    assert eta_seconds({**snap, "batch": 2}) is None  # one batch past the first: no pace yet
    # Validation counts before any epoch has been validated: 0.4 validation images per training image, each
    # batch at VALIDATION_BATCH_COST of the training pace (2 s): 10 × 0.4 × 0.25 × 2 = 2 s per epoch
    validated = {**snap, "validation_share": 0.4}
    assert eta_seconds(validated, now=110.0) == pytest.approx(2.0 * 5 + 2.0 + 2 * (2.0 * 10 + 2.0))
    validating = {**validated, "batch": 10, "batches_ended": 10, "last_batch_ended": 120.0}  # validation under way
    assert [eta_seconds(validating, now=t) for t in (120.0, 121.5, 125.0)] == pytest.approx([46.0, 44.5, 44.0])
    # Once an epoch of this fit is done, its wall time (with validation) paces the rest: half of epoch 2, then 3, 4.
    done = {**snap, "history": [{"epoch": 1, "seconds": 30.0}], "fit_first_epoch": 1, "fit_last_epoch": 4}
    assert eta_seconds(done, now=110.0) == pytest.approx(30.0 * (0.5 + 2))
    assert eta_seconds({**done, "batch": 0}, now=100.0) == pytest.approx(30.0 * 3)  # a new epoch's start: said too
    # The fit's first epoch traced the step in its first batch: its steady pace (without that batch) paces the rest
    steady = {**done, "history": [{"epoch": 1, "seconds": 30.0, "steady_seconds": 20.0}]}
    assert eta_seconds({**steady, "batch": 0}, now=100.0) == pytest.approx(20.0 * 3)
    # The last finished epoch paces, not the mean: the first carries one-time work (tracing, first checkpoint).
    assert eta_seconds({**done, "epoch": 3, "history": [{"epoch": 1, "seconds": 30.0}, {"epoch": 2, "seconds": 10.0}]},
                       now=110.0) == pytest.approx(10.0 * (0.5 + 1))
    # The frozen phase of a fast model4 ends at epoch 3 (fine-tuning epochs follow, at their own pace).
    assert eta_seconds({**done, "fit_last_epoch": 3}, now=110.0) == pytest.approx(30.0 * (0.5 + 1))
    # Fine-tuning from epoch 3 on: the head-only epochs 1-2 do not pace it.
    tuning = {**done, "epoch": 4, "history": [{"epoch": 1, "seconds": 1.0}, {"epoch": 2, "seconds": 1.0},
                                              {"epoch": 3, "seconds": 40.0}], "fit_first_epoch": 3}
    assert eta_seconds(tuning, now=110.0) == pytest.approx(40.0 * 0.5)
    assert eta_seconds({**tuning, "epoch": 3, "history": tuning["history"][:2]}, now=110.0) == pytest.approx(2 * 15)
    # Paced up to the end of the last whole batch; the batch under way counts down, at most one batch's worth.
    ended = {**snap, "last_batch_ended": 110.0, "batches_ended": 5}  # 2 s per batch from 102 to 110 s
    assert [eta_seconds(ended, now=t) for t in (110.0, 111.0, 113.0)] == pytest.approx([50.0, 49.0, 48.0])
    # with gradient accumulation, "batch" counts the batch whose micro-batches have begun; the pace does not
    assert eta_seconds({**ended, "batch": 6}, now=111.0) == pytest.approx(49.0)
    validating = {**ended, "batch": 10, "batches_ended": 10, "last_batch_ended": 120.0}  # epoch 2's batches ran
    assert eta_seconds(validating, now=125.0) == pytest.approx(20.0 * 2)  # epochs 3 and 4 left
    extracting = {**snap, "phase": "extracting features", "epoch": 0, "batch": 3, "batches": 12}
    assert phase_text(extracting) == "extracting features · batch 3/12 through MobileNetV2"
    assert progress_text(extracting, now=110.0) == ("extracting features · batch 3/12 through MobileNetV2 · about "
                                                    "36 s of it left")
    # Before a pace is known the line says what is going on (fine-tuning's start sat at batch 0 for 10-15 s)
    assert progress_text({**snap, "batch": 0}) == ("training · epoch 2/4 · preparing (TensorFlow builds the training "
                                                   "step)…")
    assert progress_text({**snap, "batch": 2}).endswith("· timing the first batches…")
    assert progress_text({**extracting, "batch": 0}).endswith("· preparing (TensorFlow builds the model)…")
    assert progress_text(done, now=110.0) == "training · epoch 2/4 · about 1 min 15 s left"
    assert progress_text({**done, "fit_last_epoch": 3}, now=110.0).endswith("about 45 s left before fine-tuning")
    assert progress_text({**snap, "phase": "testing"}) == "testing · epoch 2/4"
    assert phase_text({"phase": "preparing data", "epoch": 0, "epochs": 2}) == "preparing data"  # no "epoch 0/2"
    last = {**done, "epoch": 4, "batch": 10, "batches_ended": 10, "last_batch_ended": 120.0}  # validating epoch 4
    assert progress_text(last, now=121.0) == "training · epoch 4/4 · validating…"  # not "about 0 s left" (QA)
    tuning_line = {**done, "message": "fine-tuning MobileNetV2 from layer 100; each batch in 4 pieces"}
    assert progress_text(tuning_line, now=110.0, short=True) == (
        "training · epoch 2/4 · fine-tuning MobileNetV2 from layer 100 · about 1 min 15 s left")
    assert fraction_done(extracting) == pytest.approx(0.25) and eta_seconds(extracting, now=110.0) == pytest.approx(
        4.0 * 9)  # 4 s per pass since the first ended (at 102 s), 9 passes to go
    assert eta_seconds({**extracting, "batch": 2}, now=110.0) is None
    assert format_seconds(75) == "1 min 15 s" and format_seconds(None) == "…"
    assert phase_text({**snap, "phase": "training", "message": ""}) == "training · epoch 2/4"
    assert phase_text({**snap, "phase": "training", "message": "fine-tuning"}) == "training · epoch 2/4 · fine-tuning"
    assert stuck_at_chance([{"val_accuracy": 0.5}, {"val_accuracy": 0.505}])
    assert not stuck_at_chance([{"val_accuracy": 0.5}, {"val_accuracy": 0.61}])
    assert not stuck_at_chance([])


def test_fine_tuning_accumulates_gradients_automatically_only_above_160_pixels():
    from catdog.config import fine_tune_accumulation

    assert TrainConfig().fine_tune_accumulation_steps == 0  # automatic
    assert fine_tune_accumulation(0, (224, 224)) == 4  # whole batches peaked at 2.65 GB there
    assert fine_tune_accumulation(0, (160, 160)) == 1  # 1.83 GB, and micro-batches were slower
    assert fine_tune_accumulation(2, (224, 224)) == 2 and fine_tune_accumulation(1, (224, 224)) == 1


def test_gives_one_answer_is_true_only_for_identical_logits():
    from catdog.training import gives_one_answer

    assert gives_one_answer([[0.3, -0.2]] * 16)
    assert gives_one_answer([[1e4, -1e4], [1e4 + 1e-3, -1e4]])  # float32 rounding at that size
    assert not gives_one_answer([[0.3, -0.2], [0.3, -0.1]])


def _tiny_cnn(dead: bool):
    """model1 at 32×32; ``dead``: the dense layer's ReLUs output 0 for any image (a collapsed network)."""
    from catdog.models import build_model

    model = build_model(TrainConfig(model="model1"), image_size=(32, 32))
    if dead:
        dense = model.get_layer("dense")
        kernel, bias = dense.get_weights()
        dense.set_weights([kernel * 0, bias * 0 - 1e6])
    return model


@pytest.mark.parametrize("dead", [True, False])
def test_collapse_check_flags_a_network_that_gives_one_answer(dead):
    import numpy as np

    from catdog.training import _make_collapse_check

    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (12, 32, 32, 3)).astype("float32")
    labels = np.arange(12) % 2
    progress = Progress()
    model = _tiny_cnn(dead)
    model.fit(images, labels, batch_size=2, epochs=1, verbose=0,
              callbacks=[_make_collapse_check(progress, images[:4], every=2)])
    # lr 1e-3 cannot lift a bias of -1e6: still dead at the end of the epoch, first seen after batch 2
    assert progress.snapshot()["collapsed"] == ({"epoch": 1, "batch": 2, "images": 4} if dead else None)
    if dead:
        assert progress.snapshot()["one_class"] is True


def test_collapse_check_tells_a_network_that_answers_one_class_with_outputs_that_still_differ():
    """QA: "did not collapse (it gave different answers to different images)" of a model1 that answered
    "cats · 50.4%" for every image."""
    import numpy as np

    from catdog.training import _make_collapse_check

    images = np.random.default_rng(0).uniform(0, 255, (12, 32, 32, 3)).astype("float32")
    model = _tiny_cnn(dead=False)
    head = model.layers[-1]
    kernel, bias = head.get_weights()
    head.set_weights([kernel * 1e-4, bias + np.array([50.0, -50.0])])  # the bias decides every answer
    progress = Progress()
    model.fit(images, np.arange(12) % 2, batch_size=2, epochs=1, verbose=0,
              callbacks=[_make_collapse_check(progress, images[:4], every=2)])
    snap = progress.snapshot()
    assert snap["collapsed"] is None and snap["one_class"] is True


def test_retry_stops_the_job_and_queues_it_again_with_the_change(tmp_path):
    release = threading.Event()
    jobs = TrainingQueue(tmp_path / "runs", trainer=fake_trainer(release))
    first = jobs.submit(TrainConfig(model="model1", seed=42, name="demo"), DataConfig(batch_size=8), owner="alice")
    wait_for(lambda: first.state == "running")
    again = jobs.retry(first, owner="alice", seed=43)
    wait_for(lambda: first.finished and again.state == "running")
    assert first.state == "stopped" and jobs.store.get(first.run_id).status == "stopped"  # its run is kept
    assert again.train_config == TrainConfig(model="model1", seed=43, name="demo")
    assert again.data_config == DataConfig(batch_size=8) and again.owner == "alice"
    release.set()
    wait_for(lambda: again.finished)
    with pytest.raises(TypeError):
        jobs.retry(again, colour="red")


def test_chance_hint_comes_from_the_third_epoch_of_a_stuck_model1_or_model2():
    from catdog.reporting import CHANCE_PATIENCE_EPOCHS, chance_hint, offers_retry

    stuck = [{"val_accuracy": 0.5}, {"val_accuracy": 0.5}, {"val_accuracy": 0.5}]
    assert chance_hint("model1", stuck[:2], finished=False) is None  # seed 43 sat there two epochs, then learned
    # not collapsed: told it may still learn, and no retry offered yet (QA: the default seed 0 sits at 48-50 % for
    # four epochs, then learns; at the third the page offered seed 1 as if the demo had failed)
    assert "After 3 epochs" in chance_hint("model1", stuck, finished=False)
    assert "has not collapsed" in chance_hint("model2", stuck, finished=False)
    assert "Give it a few more epochs" in chance_hint("model2", stuck, finished=False)
    assert not offers_retry("model1", stuck) and not offers_retry("model1", (stuck * 2)[:CHANCE_PATIENCE_EPOCHS - 1])
    longer = [{"val_accuracy": 0.5}] * CHANCE_PATIENCE_EPOCHS
    assert offers_retry("model1", longer) and not offers_retry("model3", longer)
    assert "is not learning on raw [0, 255] pixels. Stop it and try" in chance_hint("model1", longer, False)
    assert offers_retry("model2", [], {"epoch": 1, "batch": 20})  # seen collapsing: at once
    # finished without being seen collapsing: after 1-2 epochs it may only need more (QA: seed 43, 2 epochs)
    assert chance_hint("model1", stuck[:2], finished=True).startswith("This run ended at chance level (≈ 50%) after "
                                                                      "only 2 epochs. Its network did not collapse")
    assert "after only 1 epoch." in chance_hint("model1", stuck[:1], finished=True)
    assert chance_hint("model1", stuck[:1], finished=True, stopped=True).startswith(  # Stop in epoch 1 (QA)
        "This run was stopped at chance level (≈ 50%) in epoch 1, too early to tell. Its network did not collapse")
    assert chance_hint("model1", stuck, finished=True).startswith(
        "This run stayed at chance level (≈ 50%) in all 3 epochs, though its network did not collapse (it gave "
        "different answers to different images)")
    # one class for every probe image, the outputs still a little apart: not "different answers" (QA)
    for finished, epochs in ((True, 1), (True, 3), (False, 3), (False, CHANCE_PATIENCE_EPOCHS)):
        hint = chance_hint("model1", longer[:epochs], finished, one_class=True)
        assert "different answers" not in hint and "though it gave" not in hint  # read as a contradiction (QA)
        assert "from image to image, if too little yet to give any image the other class" in hint
    assert chance_hint("model3", stuck, finished=True) is None  # scaled pixels: not this failure
    assert chance_hint("model1", [{"val_accuracy": 0.5}, {"val_accuracy": 0.6}], finished=False) is None
    assert chance_hint("model1", [], finished=True) is None
    # seen collapsing in the first epoch: at once, with where
    seen = {"epoch": 1, "batch": 20}
    assert "In epoch 1, after batch 20" in chance_hint("model1", [], finished=False, collapsed=seen)
    assert "Stop it and try" in chance_hint("model2", [], finished=False, collapsed=seen)
    assert "Stop it (Ctrl-C) and try" in chance_hint("model2", stuck, False, seen, stop_how=" (Ctrl-C)")
    assert chance_hint("model3", [], finished=False, collapsed=seen) is None
    assert chance_hint("model1", stuck[:1], finished=True, collapsed=seen).startswith(
        "This run stayed at chance level (≈ 50%): in epoch 1, after batch 20, its network already gave")
    from catdog.reporting import guesses

    assert guesses(stuck) and guesses([], seen) and not guesses([], None) and not guesses([{"val_accuracy": 0.7}])


def test_wilson_interval_matches_published_values_and_run_rows_show_it(tmp_path):
    from catdog.reporting import run_rows, wilson_interval

    # 191 of 200 correct → 91.67 %–97.61 % (Wilson score interval, z = 1.96).
    assert wilson_interval(0.955, 200) == pytest.approx((0.9167, 0.9761), abs=1e-4)
    assert wilson_interval(0.0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    low, high = wilson_interval(1.0, 200)
    assert high == pytest.approx(1.0) and low == pytest.approx(0.9812, abs=1e-4)
    with pytest.raises(ValueError):
        wilson_interval(0.5, 0)
    store = RunStore(tmp_path / "runs")
    run = store.create(TrainConfig(), DataConfig())
    store.update(run, status="done", test={"accuracy": 0.955, "loss": 0.1, "images": 200},
                 test_best={"accuracy": 0.935, "loss": 0.2, "images": 200, "epoch": 18})
    [row] = run_rows(store.list())
    assert row["test 95% interval"] == "91.7%–97.6%" and row["test accuracy (best epoch)"] == 0.935
    store.create(TrainConfig(), DataConfig())  # still running: no test yet
    [running] = [r for r in run_rows(store.list()) if r["status"] != "done"]
    assert running["test 95% interval"] is None


def test_the_runs_table_tells_runs_of_one_name_apart(tmp_path):
    from catdog.reporting import run_rows
    from catdog.training import RunInfo

    def run(run_id, name=""):
        return RunInfo(run_id, tmp_path / run_id, {"name": name, "train_config": {"model": "model1"}}, "failed")

    runs = [run("20261204-204107-model1-aaaaaa", "test"), run("20261204-204233-model1-bbbbbb", "test"),
            run("20261204-204233-model1-cccccc", "test"), run("20261204-204301-model1-dddddd", "mine"),
            run("20261204-204301-model1-eeeeee"), run("20261204-204301-model1-ffffff")]
    assert [row["run"] for row in run_rows(runs)] == [
        "test · 4 Dec 20:41:07",  # two students' "test": two rows alike (QA)
        "test · 4 Dec 20:42:33 · 20261204-204233-model1-bbbbbb",  # the same second too: the ids
        "test · 4 Dec 20:42:33 · 20261204-204233-model1-cccccc",
        "mine",
        "4 Dec 20:43:01 · 20261204-204301-model1-eeeeee", "4 Dec 20:43:01 · 20261204-204301-model1-ffffff"]


@pytest.mark.parametrize("setting, pooled", [(None, True), ("false", False)])
def test_importing_catdog_puts_tensorflow_cpu_tensors_in_one_pool(setting, pooled):
    """catdog's import turns on TensorFlow's BFC pool for CPU tensors (fine-tuning memory stays flat);
    an explicit ``TF_CPU_ALLOCATOR_USE_BFC`` in the environment wins.  Only a pooled allocator keeps
    the statistics that ``get_memory_info`` reads, so that call tells which one TensorFlow uses.  oneDNN
    (on by default where the CPU has AVX-512 or AMX) pools CPU tensors whatever the setting, so the child
    runs with ``TF_ENABLE_ONEDNN_OPTS=0`` to see the setting's own effect on every machine."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "TF_CPU_ALLOCATOR_USE_BFC"}
    if setting is not None:
        env["TF_CPU_ALLOCATOR_USE_BFC"] = setting
    code = ("import catdog, tensorflow as tf\n"
            "x = tf.ones((256, 256)) @ tf.ones((256, 256))\n"
            "try:\n    print(tf.config.experimental.get_memory_info('CPU:0')['peak'] > 0)\n"
            "except ValueError:\n    print('no pool')\n")
    done = subprocess.run([sys.executable, "-c", code], env={**env, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"},
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1], timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == ("True" if pooled else "no pool")


def test_fast_mode_scores_the_best_head_on_cached_features_and_keeps_the_final_weights():
    import keras
    import numpy as np
    import tensorflow as tf

    from catdog.training import _score_best_head

    head = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="logits")])
    head.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    features = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [2, 0, 0]], dtype=np.float32)
    labels = np.array([0, 1, 1, 0])
    test_ds = tf.data.Dataset.from_tensor_slices((features, labels)).batch(4)
    final = [w.copy() for w in head.get_layer("logits").get_weights()]
    best = [np.array([[5, -5], [-5, 5], [-5, 5]], dtype=np.float32), np.zeros(2, dtype=np.float32)]
    test = {"loss": 9.0, "accuracy": 0.25, "images": 4}
    history = [{"val_accuracy": 0.9}, {"val_accuracy": 0.5}]
    scored = _score_best_head(head, best, history, test, test_ds)
    assert scored["epoch"] == 1 and scored["accuracy"] == 1.0 and scored["images"] == 4 and scored["loss"] < 0.01
    for kept, weights in zip(final, head.get_layer("logits").get_weights()):
        np.testing.assert_array_equal(kept, weights)
    assert _score_best_head(head, best, history[::-1], test, test_ds) == {**test, "epoch": 2}
    assert _score_best_head(head, None, history, test, test_ds) is None


def test_the_fine_tuning_label_sits_on_the_side_with_room():
    from catdog.charts import history_figure

    rows = [{"epoch": e, "accuracy": 0.9, "val_accuracy": 0.9, "loss": 0.3, "val_loss": 0.3} for e in range(1, 31)]
    # 2 frozen epochs + 1 fine-tuning epoch: the line is near the right edge, so the label goes left of it
    assert history_figure(rows[:3], fine_tune_start=3).layout.annotations[0].xanchor == "right"
    assert history_figure(rows[:6], fine_tune_start=3).layout.annotations[0].xanchor == "left"
    # 1 frozen epoch, fine-tuning's first still running: the axis reaches epoch 2, the label is left of the line
    # (right of it, it ran off the chart: "fine-tuning st", QA)
    waiting = history_figure(rows[:1], fine_tune_start=2)
    assert waiting.layout.annotations[0].xanchor == "right" and list(waiting.layout.xaxis.range) == [0.5, 2.5]
    assert history_figure(rows[:2], fine_tune_start=2).layout.annotations[0].xanchor == "right"
    # away from the curves: accuracy ends near the top of its chart, loss near the bottom
    assert history_figure(rows[:5], fine_tune_start=3).layout.annotations[0].y == 0
    assert history_figure(rows[:5], "loss", fine_tune_start=3).layout.annotations[0].y == 1


def test_accuracy_axes_zoom_on_the_curves_up_to_100_percent():
    from catdog.charts import compare_figure, history_figure

    def axis(figure):
        y = figure.layout.yaxis
        return [round(v, 4) for v in y.range], list(y.tickvals)

    model4 = [{"epoch": 1, "accuracy": 0.88, "val_accuracy": 0.97},
              {"epoch": 2, "accuracy": 0.95, "val_accuracy": 0.98}]
    # not two flat lines along the top; no tick above 100 %, and room for a whole marker at both ends
    assert axis(history_figure(model4)) == ([0.796, 1.004], [0.8, 0.85, 0.9, 0.95, 1.0])
    assert axis(compare_figure({"model4": model4[1:]}, ["accuracy"])) == ([0.898, 1.002], [0.9, 0.92, 0.94, 0.96,
                                                                                            0.98, 1.0])
    model1 = [{"epoch": 1, "val_accuracy": 0.5, "val_loss": 0.69}]
    both = compare_figure({"model4": model4, "model1": model1})
    assert axis(both)[1] == [0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert both.layout.yaxis2.tickformat is None and both.layout.yaxis2.rangemode == "tozero"  # loss from 0
    # one legend under both charts: a run's two lines share one entry, which hides both
    assert [(t.name, t.legendgroup, t.showlegend) for t in both.data] == [
        ("model4", "0", True), ("model1", "1", True), ("model4", "0", False), ("model1", "1", False)]
    assert [a.text for a in both.layout.annotations] == ["validation accuracy", "validation loss"]
    assert axis(history_figure([])) == ([-0.02, 1.02], [0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    assert axis(history_figure([{"epoch": 1, "accuracy": 0.0}]))[0] == [-0.02, 1.02]  # a marker on 0 % drawn whole
    assert axis(history_figure([{"epoch": 1, "accuracy": float("nan")}]))[0] == [-0.02, 1.02]


def test_a_restarted_server_deletes_the_temporary_model_files_of_killed_saves(tmp_path):
    run = RunStore(tmp_path / "runs").create(TrainConfig(), DataConfig())
    stale, fresh = run.path / ".model.123.7f.tmp.keras", run.path / ".best.456.7f.tmp.keras"
    for tmp in (stale, fresh):
        tmp.write_bytes(b"half a model")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))  # a save takes seconds: this one was killed
    jobs = TrainingQueue(tmp_path / "runs")
    assert not stale.exists() and fresh.exists()  # perhaps another process saving right now
    assert [r.run_id for r in jobs.store.list()] == [run.run_id] and jobs.close(timeout=10)


def test_the_classifier_compares_the_best_run_of_each_model_under_short_titles(tmp_path):
    from catdog.reporting import best_per_model, distinct_labels, rank_runs, verdict_titles

    def run(run_id, model, accuracy, val_accuracy, name="", images=200):
        path = tmp_path / run_id
        path.mkdir()
        (path / "history.csv").write_text(f"epoch,accuracy,loss,val_accuracy,val_loss\n0,0.7,0.6,{val_accuracy},0.6\n")
        return RunInfo(run_id, path, {"name": name, "train_config": {"model": model},
                                      "data_config": {"validation_size": images},
                                      "test": {"accuracy": accuracy, "loss": 0.5, "images": images}}, "done")

    runs = [run("20261202-101010-model2-aaaaaa", "model2", 0.5, 0.5, "stuck"),
            run("20261202-101011-model1-bbbbbb", "model1", 0.65, 0.58, "demo"),
            run("20261202-101012-model1-cccccc", "model1", 0.60, 0.6, "demo"),
            run("20261202-101013-model4-dddddd", "model4", 0.97, 0.98)]
    ranked = rank_runs(runs)
    assert [r.run_id[-6:] for r in ranked] == ["dddddd", "cccccc", "bbbbbb", "aaaaaa"]  # by validation; guesser last
    assert [r.run_id[-6:] for r in best_per_model(ranked)] == ["cccccc", "aaaaaa", "dddddd"]  # model order
    few = run("20261202-101014-model1-eeeeee", "model1", 0.70, 0.7, "synthetic", images=20)
    assert [r.run_id[-6:] for r in rank_runs([few, *runs])][:4] == ["dddddd", "cccccc", "bbbbbb", "eeeeee"]  # 48–85 %
    # a tie: the older run stays first, a newer one must beat it (QA M: a student's run tied the teacher's)
    tie = run("20261202-101020-model4-tttttt", "model4", 0.95, 0.98)
    assert [r.run_id[-6:] for r in rank_runs([tie, *runs])][:2] == ["dddddd", "tttttt"]
    titles = verdict_titles(runs)
    assert titles[runs[0].run_id] == "⚠ model2 · stuck"
    assert titles[runs[1].run_id] == "model1 · demo · 2 Dec 10:10:11"  # two alike: told apart by their start
    assert titles[runs[3].run_id] == "model4 · 2 Dec 10:10:13"
    named = run("20261202-101015-model1-ffffff", "model1", 0.6, 0.6, "Model1 · 4 epochs")
    named10 = run("20261202-101016-model1-gggggg", "model1", 0.6, 0.6, "like model10")
    assert verdict_titles([named, named10]) == {named.run_id: "Model1 · 4 epochs",  # not "model1 · Model1 · …"
                                                named10.run_id: "model1 · like model10"}
    assert named.label() == "Model1 · 4 epochs · test 60.0%" and named10.label().startswith("like model10 · model1")
    # the Classifier's picker: the score that orders it, named; a long name cut in its middle, keeping its end (the
    # seed told these runs apart, QA 16) and the model, so that the scores stay in the select box at 1024 px (QA)
    whole = run("20261202-101016-model4-hhhhhg", "model4", 0.965, 0.985, "course model4-finetune (seed 0)")
    assert whole.label(validation=True) == "course model4-finetune (seed 0) · final val 98.5% · test 96.5%"
    long = run("20261202-101017-model4-hhhhhh", "model4", 0.965, 0.985, "course model4-finetune, 10 epochs (seed 0)")
    # the model stays also when the name held it (review: cut, "course mode…ne (seed 0)" named no model)
    assert long.label(validation=True) == "course model…chs (seed 0) · model4 · final val 98.5% · test 96.5%"
    longer = run("20261202-101018-model4-iiiiii", "model4", 0.97, 0.99, "a very long name for the frozen one")
    assert longer.label(validation=True) == "a very long …e frozen one · model4 · final val 99.0% · test 97.0%"
    assert named.label(validation=True) == "Model1 · 4 epochs · final val 60.0% · test 60.0%"
    # A run of another dataset (a teacher's own classes) comes after the runs of the dataset in use, however good,
    # is left out of the default comparison, and its label names its classes (QA: it labelled a cat "Katzen").
    german = run("20261202-101019-model4-jjjjjj", "model4", 1.0, 1.0, "de")
    german.record["class_names"] = ["Hunde", "Katzen"]
    assert [r.run_id[-6:] for r in rank_runs([german, *runs], ("cats", "dogs"))] == [
        "dddddd", "cccccc", "bbbbbb", "aaaaaa", "jjjjjj"]
    assert rank_runs([german, *runs])[0] is german  # the dataset not known: no preference
    assert "jjjjjj" not in [r.run_id[-6:] for r in best_per_model(rank_runs([german, *runs]), ("cats", "dogs"))]
    assert best_per_model([german], ("cats", "dogs")) == [german]  # no run of this dataset: the others still
    labels = distinct_labels([german, runs[3]], validation=True, class_names=("cats", "dogs"))
    assert labels == {german.run_id: "de · model4 · final val 100.0% · test 100.0% · classes Hunde, Katzen",
                      runs[3].run_id: "2 Dec 10:10:13 · model4 · final val 98.0% · test 97.0%"}
    # a model file that is no Keras file (no zip archive) comes last: it was chosen first, and opened on its error (QA)
    import zipfile

    for r in runs:
        zipfile.ZipFile(r.model_path, "w").close()
    runs[3].model_path.write_bytes(b"damaged")
    assert [r.run_id[-6:] for r in rank_runs(runs)] == ["cccccc", "bbbbbb", "aaaaaa", "dddddd"]
    assert distinct_labels(runs)[runs[3].run_id] == "2 Dec 10:10:13 · model4 · test 97.0% · model file damaged"
    assert not distinct_labels(runs)[runs[2].run_id].endswith("damaged")  # why it ranks last (QA)


def test_a_fine_tuned_model4_is_named_and_compared_as_a_model_of_its_own(tmp_path):
    """The Classifier compared the best model4 alone, so a fine-tuned run (final val 98.9 %) lost its column to a
    fast one (99.1 %), and pickers read "model4" for both (QA)."""
    from catdog.reporting import best_per_model, rank_runs, verdict_titles, verdict_titles_note

    def run(run_id, model, val_accuracy, name="", fine_tune_start=None, collapsed=False):
        path = tmp_path / run_id
        path.mkdir()
        (path / "history.csv").write_text(f"epoch,accuracy,loss,val_accuracy,val_loss\n0,0.7,0.6,{val_accuracy},0.6\n")
        return RunInfo(run_id, path, {"name": name, "train_config": {"model": model}, "collapsed": collapsed,
                                      "fine_tune_start_epoch": fine_tune_start,
                                      "test": {"accuracy": val_accuracy, "loss": 0.5, "images": 200}}, "done")

    fast = run("20261202-101010-model4-aaaaaa", "model4", 0.991)
    tuned = run("20261202-101011-model4-bbbbbb", "model4", 0.989, fine_tune_start=21)
    stopped = run("20261202-101012-model4-cccccc", "model4", 0.95, "model4 demo")  # stopped before fine-tuning
    ranked = rank_runs([tuned, stopped, fast])
    assert best_per_model(ranked) == [fast]
    assert best_per_model(ranked, fine_tuned_apart=True) == [fast, tuned]
    assert tuned.model_kind == "model4 fine-tuned" and fast.model_kind == stopped.model_kind == "model4"
    assert tuned.label() == "2 Dec 10:10:11 · model4 fine-tuned · test 98.9%"
    assert stopped.label() == "model4 demo · test 95.0%"  # the name holds the model: as it was
    for name in ("model4 FT", "Model4 fine-tuned (seed 1)", "model4 finetune"):  # says it itself
        tuned.record["name"] = name
        assert tuned.name_with_model() == name
    tuned.record["name"] = "course model4"  # names the model, not the fine-tuning
    assert tuned.name_with_model() == "course model4 · model4 fine-tuned"
    tuned.record["name"] = ""
    # in a column of about 14 characters "model4 fine-tuned" left the name off screen (QA)
    assert verdict_titles([fast, tuned]) == {fast.run_id: "model4 · 2 Dec 10:10:10",
                                             tuned.run_id: "model4 FT · 2 Dec 10:10:11"}
    assert verdict_titles_note([fast]) is None
    assert verdict_titles_note([fast, tuned]) == "FT: fine-tuned. Point at a column title for the whole run and its scores."
    # a guessing model marked first, whether the name holds the model or not ("model1 demo at chance" stood beside
    # "model2 at chance · stuck", and "at chance" was cut to "at chanc", QA)
    demo = run("20261202-101013-model1-dddddd", "model1", 0.5, "model1 demo")
    stuck = run("20261202-101014-model2-eeeeee", "model2", 0.5, "stuck")
    ten = run("20261202-101016-model1-gggggg", "model1", 0.5, "model10 try")
    assert verdict_titles([demo, stuck, ten]) == {
        demo.run_id: "⚠ model1 demo", stuck.run_id: "⚠ model2 · stuck", ten.run_id: "⚠ model1 · model10 try"}
    assert verdict_titles_note([demo, tuned]) == (
        "FT: fine-tuned; ⚠: stayed at chance level while it trained, so its verdicts are guesses. Point at a column "
        "title for the whole run and its scores.")


def test_the_overfitting_hint_comes_when_training_accuracy_pulls_away_from_validation():
    from catdog.reporting import overfitting_hint

    rows = [{"epoch": e, "accuracy": a, "val_accuracy": v, "val_loss": loss}
            for e, a, v, loss in ((1, 0.55, 0.55, 0.68), (2, 0.62, 0.60, 0.66), (3, 0.70, 0.61, 0.67),
                                  (4, 0.80, 0.62, 0.75), (5, 0.90, 0.61, 0.90))]
    assert overfitting_hint("model1", rows[:2]) is None  # too early to tell
    assert overfitting_hint("model1", rows[:3]) is None  # 9 points apart
    text = overfitting_hint("model1", rows)
    assert text.startswith("Overfitting: in epoch 5 the model got 90% of its training images right but only 61% of "
                           "the validation images")
    assert "Its validation loss has risen since epoch 2, its lowest." in text and "model2 adds random flips" in text
    falling = [{**row, "val_loss": 1.0 - row["epoch"] / 10} for row in rows]
    assert "risen" not in overfitting_hint("model4", falling) and "early stopping" in overfitting_hint("model4", rows)
    stuck = [{**row, "val_accuracy": 0.5} for row in rows]
    assert overfitting_hint("model1", stuck) is None  # at chance: chance_hint speaks for it


def test_the_curves_note_names_augmentation_only_where_training_images_are_augmented():
    from catdog.reporting import curves_help

    def on(**config) -> str:
        return re.search(r"change, (.*); validation is measured after the epoch with (\w+) off",
                         curves_help(TrainConfig(**config))).group(1, 2)

    # model1 has no augmentation layers, fast mode with 1 view trains on the images as they are (QA)
    assert on(model="model1") == ("with dropout on", "it")
    assert on(model="model4", fast=True) == (
        "with dropout on (fast mode with 1 view trains on the images as they are)", "it")
    assert on(model="model4", fast=True, fine_tune_epochs=2) == (
        "with dropout on, and augmentation too from fine-tuning on", "both")
    for config in ({"model": "model2"}, {"model": "model3"}, {"model": "model4"},
                   {"model": "model4", "fast": True, "views": 3}):
        assert on(**config) == ("with dropout and augmentation on", "both")


def test_the_fine_tuning_note_explains_a_drop_only_where_there_is_one():
    from catdog.reporting import fine_tune_drop_note

    rows = [{"epoch": 1, "accuracy": 0.96}, {"epoch": 2, "accuracy": 0.90}]
    both = fine_tune_drop_note(rows, 2, layers_unfrozen=True, frozen_on_plain_images=True)
    assert both.startswith("Training accuracy drops where fine-tuning starts (96.0% → 90.0%): the newly unfrozen "
                           "layers start to change, and in fast mode with 1 view")
    assert both.endswith("validation images are never augmented. It usually climbs back over the next epochs.")
    head_only = fine_tune_drop_note(rows, 2, layers_unfrozen=False, frozen_on_plain_images=True)
    assert "unfrozen" not in head_only and "in fast mode with 1 view" in head_only
    assert "fast mode" not in fine_tune_drop_note(rows, 2, layers_unfrozen=True, frozen_on_plain_images=False)
    assert fine_tune_drop_note(rows, 2, layers_unfrozen=False, frozen_on_plain_images=False) is None
    rose = [{"epoch": 1, "accuracy": 0.86}, {"epoch": 2, "accuracy": 0.90}]  # from layer 154, the head only (QA)
    assert fine_tune_drop_note(rose, 2, layers_unfrozen=True, frozen_on_plain_images=True) is None
    assert fine_tune_drop_note(rows[:1], 2, layers_unfrozen=True, frozen_on_plain_images=True) is None  # not yet
    # the loss rising with it is named too (QA: 0.37 → 0.68 left a student wondering)
    losses = [{**rows[0], "loss": 0.37}, {**rows[1], "loss": 0.68}]
    assert fine_tune_drop_note(losses, 2, layers_unfrozen=True, frozen_on_plain_images=False) == (
        "Training accuracy drops and the training loss rises where fine-tuning starts (96.0% → 90.0%, loss 0.37 → "
        "0.68): the newly unfrozen layers start to change. Both usually recover over the next epochs.")


def test_accuracy_axes_always_have_a_tick_at_100_percent_in_round_steps():
    from catdog.charts import history_figure

    for lowest in (0.0, 0.15, 0.35, 0.45, 0.55, 0.75, 0.88, 0.93, 1.0):
        ticks = list(history_figure([{"epoch": 1, "accuracy": lowest}]).layout.yaxis.tickvals)
        step = round(ticks[1] - ticks[0], 6)
        assert ticks[-1] == 1.0 and ticks[0] <= lowest and step in (0.2, 0.1, 0.05, 0.02), (lowest, ticks)


def test_loss_charts_leave_model1s_huge_first_epoch_loss_off_the_top_and_say_so():
    from catdog.charts import history_figure

    rows = [{"epoch": 1, "loss": 50.3, "val_loss": 0.69}, {"epoch": 2, "loss": 0.68, "val_loss": 0.67},
            {"epoch": 3, "loss": 0.6, "val_loss": 0.66}]
    figure = history_figure(rows, "loss")
    assert tuple(figure.layout.yaxis.range) == (0, pytest.approx(1.15 * 0.69))
    assert figure.layout.title.text == "loss<br><sup>epoch 1 training: 50.3, off the top ▲</sup>"
    # no line from it: a near-vertical stroke onto epoch 2 read as a spike there; a triangle on the top edge (QA M)
    training, validation, off = figure.data
    assert training.y == (None, 0.68, 0.6) and validation.y == (0.69, 0.67, 0.66)
    assert off.x == (1,) and off.marker.symbol == "triangle-up" and off.y[0] < 1.15 * 0.69 and not off.showlegend
    assert "training loss: 50.300 (off the top)" in off.hovertemplate
    # room for that second line on every chart, so that an accuracy chart beside it lines up (QA 16, QA 18)
    assert figure.layout.margin.t == history_figure(rows[1:], "loss").layout.margin.t == 56
    assert history_figure(rows[1:], "loss").layout.yaxis.range is None  # no outlier: plotly's own range
    assert history_figure(rows[:1], "loss").layout.yaxis.range is None
    model4 = [{"epoch": 1, "loss": 0.503, "val_loss": 0.07}, {"epoch": 2, "loss": 0.13, "val_loss": 0.04},
              {"epoch": 3, "loss": 0.15, "val_loss": 0.1}]
    assert history_figure(model4, "loss").layout.yaxis.range is None  # a plain learning curve: all of it shown
    many = [{"epoch": e, "loss": 0.5, "val_loss": 0.5} for e in range(1, 21)]
    assert history_figure(many, "loss").layout.xaxis.dtick is None  # 20 labels ran together at 1024 px
    assert history_figure(many[:10], "loss").layout.xaxis.dtick == 1
    # from half an epoch before the first: "tozero" drew an epoch 0 (QA)
    assert list(history_figure(many[:10], "loss").layout.xaxis.range) == [0.5, 10.5]
    # a tiny loss (a teacher's 10 easy images) is 5×10⁻⁶ on the axis, not plotly's SI "5μ" (QA 14)
    from catdog.charts import compare_figure

    tiny = [{"epoch": 1, "loss": 5e-6, "val_loss": 4e-6, "val_accuracy": 1.0}]
    assert history_figure(tiny, "loss").layout.yaxis.exponentformat == "power"
    assert compare_figure({"tiny · model1 · test 100.0%": tiny}).layout.yaxis2.exponentformat == "power"


def test_a_long_run_label_is_cut_in_the_comparison_legend_keeping_its_model_and_score():
    from catdog.charts import LEGEND_NAME_MAX, compare_figure, legend_names

    label = "A" * 80 + " · model4 · test 97.0%"
    figure = compare_figure({label: [{"epoch": 1, "val_accuracy": 0.9, "val_loss": 0.3}], "short · model1 · test "
                             "55.0%": [{"epoch": 1, "val_accuracy": 0.55, "val_loss": 0.69}]})
    names = [trace.name for trace in figure.data if trace.showlegend]
    assert len(names[0]) == LEGEND_NAME_MAX and names[0].startswith("AAAA") and names[0].endswith("…" + label[-22:])
    assert names[1] == "short · model1 · test 55.0%"
    # two names whose cuts read the same are told apart where they differ (QA 17: three "…tr… (seed 5)" entries)
    # and stay within LEGEND_NAME_MAX, so that two still share a line (review), also among three alike
    tries = {f"Ms Okafor's model4 try {n} (seed 5) · model4 · test 96.0%": [{"epoch": 1, "val_accuracy": 0.9}]
             for n in (18, 34, 18009)}
    names = [trace.name for trace in compare_figure(tries, metrics=("val_accuracy",)).data]
    score = " · model4 · test 96.0%"
    assert names == [f"Ms Okafo…4 try 18 (se…{score}", f"Ms Okafo…el4 try 34 (…{score}",
                     f"Ms Okafo…4 try 18009 …{score}"]
    short = [f"{a} · model1 · test 50.0%" for a in ("alike", "Alike")]
    assert legend_names(short) == {label: label for label in short}  # short: whole, however alike
    long = {f"{'A' * 30}{n} · model1 · test 50.0%": f"{'A' * 8}…{'A' * 8}{n} · … · model1 · test 50.0%"
            for n in (1, 2)}
    assert legend_names(list(long)) == long


def test_the_comparison_says_which_runs_lie_wholly_under_another():
    from catdog.charts import hidden_runs

    def history(values, start=1):
        return [{"epoch": start + i, "val_accuracy": a, "val_loss": loss} for i, (a, loss) in enumerate(values)]

    frozen = [(0.985, 0.06), (0.99, 0.05)]
    curves = {"fast": history(frozen), "tuned": history(frozen + [(0.98, 0.07)]), "other": history([(0.6, 0.7)] * 2)}
    assert hidden_runs(curves) == {"fast": "tuned"}  # drawn later, the fine-tuned run covers its frozen phase
    # drawn last, the shorter run lies on top: both show
    assert hidden_runs({"tuned": curves["tuned"], "fast": curves["fast"]}) == {}
    # one epoch off, or one metric off, shows
    assert hidden_runs({"fast": history([(0.985, 0.06), (0.99, 0.051)]), "tuned": curves["tuned"]}) == {}
    assert hidden_runs({"late": history(frozen, start=2), "tuned": curves["tuned"]}) == {}
    # twins: each but the last lies under the last drawn; a metric missing in both matches
    twins = [{"epoch": 1, "val_accuracy": 0.5}]
    assert hidden_runs({"a": twins, "b": twins, "c": twins}) == {"a": "c", "b": "c"}
    assert hidden_runs({"empty": [], "b": twins}) == {}


def test_a_job_told_to_stop_says_what_it_does_next():
    from catdog.reporting import stopping_text

    assert stopping_text({"phase": "training"}) == stopping_text({"phase": "extracting features"}) \
        == "stopping after the current batch"
    assert stopping_text({"phase": "testing"}) == "stopping"  # the test split is scored to its end (review)


def test_the_live_fine_tuning_marker_goes_once_a_run_ends_before_fine_tuning():
    from catdog.reporting import live_fine_tune_start

    tuned = TrainConfig(model="model4", epochs=3, fast=True, fine_tune_epochs=2)
    assert live_fine_tune_start(tuned, 1, finished=False) == 4  # drawn ahead while it trains
    assert live_fine_tune_start(tuned, 5, finished=True) == 4
    assert live_fine_tune_start(tuned, 4, finished=True) == 4  # stopped in the first fine-tuning epoch
    assert live_fine_tune_start(tuned, 3, finished=True) is None  # stopped at the end of the frozen phase (QA)
    assert live_fine_tune_start(TrainConfig(model="model4", epochs=3), 3, finished=False) is None
    assert live_fine_tune_start(TrainConfig(model="model1", epochs=3, fine_tune_epochs=2), 1, False) is None


def test_the_augmentation_settings_say_when_they_do_not_act():
    from catdog.reporting import augmentation_idle_note

    assert "do not act" in augmentation_idle_note("model4", True, 1, 0)  # the page's model4 default (QA)
    for args in (("model4", True, 2, 0), ("model4", True, 1, 2), ("model4", False, 1, 0), ("model2", True, 1, 0),
                 ("model4", True, None, 0)):
        assert augmentation_idle_note(*args) is None


def test_a_comparisons_loss_chart_leaves_a_stopped_runs_huge_loss_off_the_top():
    from catdog.charts import compare_figure, loss_outliers

    model4 = [{"epoch": e, "val_loss": 0.05, "val_accuracy": 0.98} for e in range(1, 21)]
    model1 = [{"epoch": e, "val_loss": 0.69 + e / 10, "val_accuracy": 0.55} for e in range(1, 21)]
    stopped = [{"epoch": 1, "val_loss": 14689.0, "val_accuracy": 0.5}]  # model1 stopped after batch 1 (QA)
    figure = compare_figure({"a · model4": model4, "b · model1": model1, "c · model1": stopped})
    assert tuple(figure.layout.yaxis2.range) == (0, pytest.approx(1.15 * 2.69))
    assert figure.layout.annotations[1].text == "validation loss<br><sup>1 point off the top (up to 14,689)</sup>"
    assert compare_figure({"a · model4": model4, "b · model1": model1[:1]}).layout.yaxis2.range is None  # both kept
    assert loss_outliers([0.05] * 40 + [0.69]) is None and loss_outliers([]) is None
    assert loss_outliers([1126.0]) is None  # a run alone: all of it drawn


def test_a_teachers_trainings_wait_ahead_of_the_others_and_each_run_keeps_its_browser(tmp_path, monkeypatch):
    """Teacher mode: trainings students queued before the lesson held up the teacher's demo (QA M)."""
    from catdog.reporting import run_rows
    from catdog.training import STOPPED_BY_TEACHER

    monkeypatch.setenv("CATDOG_TEACHER_PASSWORD", "x")

    release, started = threading.Event(), []
    jobs = TrainingQueue(tmp_path / "runs", trainer=recording_trainer(release, started))
    running = jobs.submit(TrainConfig(name="student 1"), DataConfig(), owner="s1")
    wait_for(lambda: running.state == "running" and running.run_id is not None)
    waiting = jobs.submit(TrainConfig(name="student 2"), DataConfig(), owner="s2")
    demo = jobs.submit(TrainConfig(name="demo"), DataConfig(), owner="teacher", priority=True)
    retry = jobs.retry(running, owner="s1", name="student 1 again")  # a student's retry: behind the teacher's
    second_demo = jobs.submit(TrainConfig(name="demo 2"), DataConfig(), owner="teacher", priority=True)
    assert [jobs.position(job) for job in (demo, second_demo, retry, waiting)] == [1, 2, 3, 4]
    assert jobs.queue_text(waiting) == "queued, position 4"
    release.set()
    wait_for(lambda: all(job.finished for job in jobs.jobs()))
    assert started == ["student 1", "demo", "demo 2", "student 1 again", "student 2"]
    owners = {jobs.run_owner(job.run_id) for job in (demo, second_demo)}
    assert owners == {"teacher"} and jobs.run_owner(waiting.run_id) == "s2" and jobs.run_owner("nope") == ""
    assert jobs.store.get(demo.run_id).by_teacher and not jobs.store.get(waiting.run_id).by_teacher
    jobs.store.delete(running.run_id)  # in the trash: its owner is kept, for Restore
    jobs.submit(TrainConfig(name="later"), DataConfig(), owner="s3")
    wait_for(lambda: all(job.finished for job in jobs.jobs()))
    assert jobs.run_owner(running.run_id) == "s1"
    release.clear()  # the next trains until stopped
    stopped = jobs.submit(TrainConfig(name="stopped by the teacher"), DataConfig(), owner="s4")
    wait_for(lambda: stopped.state == "running" and stopped.run_id is not None)
    jobs.stop(stopped, by=STOPPED_BY_TEACHER)
    jobs.stop(stopped, by="")  # a second click, the student's own: the teacher's Stop stays the one said
    wait_for(lambda: stopped.finished)
    assert stopped.stopped_by == "teacher" and jobs.store.get(stopped.run_id).record["stopped_by"] == "teacher"
    assert run_rows([jobs.store.get(stopped.run_id)])[0]["status"].startswith("stopped by the teacher")
    (tmp_path / "runs" / ".run_owners.json").write_text("[not json", encoding="utf-8")
    assert jobs.run_owner(waiting.run_id) == ""  # unreadable: nobody's (teacher mode: the teacher's to manage)
    monkeypatch.delenv("CATDOG_TEACHER_PASSWORD")  # off: a run of no browser, as before owners were kept
    release.set()
    (tmp_path / "runs" / ".run_owners.json").write_text("{}", encoding="utf-8")
    off = jobs.submit(TrainConfig(name="teacher mode off"), DataConfig(), owner="s5")
    wait_for(lambda: off.finished)
    assert json.loads((tmp_path / "runs" / ".run_owners.json").read_text()) == {}
    jobs.close()


def test_teacher_mode_is_off_without_its_password_and_matches_it_exactly(monkeypatch):
    from catdog import teacher

    monkeypatch.delenv("CATDOG_TEACHER_PASSWORD", raising=False)
    assert not teacher.enabled() and not teacher.password_matches("")
    assert teacher.may_manage("", "anyone", teacher=False)  # off: as before teacher mode, anyone renames any run
    monkeypatch.setenv("CATDOG_TEACHER_PASSWORD", "")
    assert not teacher.enabled()
    monkeypatch.setenv("CATDOG_TEACHER_PASSWORD", "  ")
    assert not teacher.enabled() and not teacher.password_matches("")
    monkeypatch.setenv("CATDOG_TEACHER_PASSWORD", "Chat noir 7")
    assert teacher.enabled() and teacher.password_matches("Chat noir 7")
    assert teacher.password_matches(" Chat noir 7 ")  # copied with a space: QA
    assert not any(map(teacher.password_matches, ["chat noir 7", "Chat noir  7", "", "Chat noir"]))
    assert teacher.may_manage("s1", "s1", teacher=False) and teacher.may_manage("s1", "t", teacher=True)
    assert not teacher.may_manage("s1", "s2", teacher=False) and not teacher.may_manage("", "", teacher=False)
    assert teacher.may_stop("s1", "s1", teacher=False) and teacher.may_stop("s1", "t", teacher=True)
    assert not teacher.may_stop("s1", "s2", teacher=False)


def test_unlocking_teacher_mode_moves_the_teachers_waiting_trainings_ahead_once(tmp_path):
    """A teacher who queued the demo (or pressed "Queue again" after a restart) before unlocking kept a student's
    place (QA)."""
    release, started = threading.Event(), []
    jobs = TrainingQueue(tmp_path / "runs", trainer=recording_trainer(release, started))
    running = jobs.submit(TrainConfig(name="student 1"), DataConfig(), owner="s1")
    wait_for(lambda: running.state == "running")
    student = jobs.submit(TrainConfig(name="student 2"), DataConfig(), owner="s2")
    demo = jobs.submit(TrainConfig(name="demo"), DataConfig(), owner="teacher")
    cancelled = jobs.submit(TrainConfig(name="cancelled"), DataConfig(), owner="teacher")
    jobs.stop(cancelled)
    assert jobs.position(demo) == 2 and jobs.promote("teacher") == 1 and jobs.promote("teacher") == 0
    assert demo.priority and jobs.position(demo) == 1 and jobs.position(student) == 2
    release.set()
    wait_for(lambda: all(job.finished for job in jobs.jobs()))
    time.sleep(0.2)  # the demo's older entry, popped after it ran: skipped, not trained twice
    assert started == ["student 1", "demo", "student 2"] and demo.state == "done"
    jobs.close()


def test_the_teachers_tabs_show_the_training_that_holds_the_demo_up_but_keep_the_demo_once_it_ended(tmp_path):
    """While the teacher's demo waits, the teacher's view shows what runs (its Stop cancelled the demo, QA); once
    the demo has ended, a tab without a choice of its own (the projector's) stays on it, not on the student's
    training that started next (QA: the class never saw the result)."""
    release = threading.Event()
    jobs = TrainingQueue(tmp_path / "runs", trainer=fake_trainer(release))
    student = jobs.submit(TrainConfig(name="student"), DataConfig(), owner="s1")
    wait_for(lambda: student.state == "running")
    demo = jobs.submit(TrainConfig(name="demo"), DataConfig(), owner="teacher", priority=True)
    assert jobs.job_in_view(None, "teacher", prefer_running=True) is student  # the projector's tab
    assert jobs.job_in_view(demo.job_id, "teacher", prefer_running=True) is student  # the tab that pressed Train
    assert jobs.job_in_view(None, "teacher") is demo  # not the teacher (teacher mode off): as before
    jobs.stop(student)
    wait_for(lambda: demo.state == "running")
    later = jobs.submit(TrainConfig(name="student again", seed=1), DataConfig(), owner="s1")
    jobs.stop(demo)
    wait_for(lambda: demo.finished and later.state == "running")
    assert jobs.job_in_view(None, "teacher", prefer_running=True) is demo
    assert jobs.job_in_view(demo.job_id, "teacher", prefer_running=True) is demo
    release.set()
    jobs.close()
