"""Training in a child process (catdog.worker): the same runs, progress, Stop and errors as the training thread."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
import types

import pytest

from catdog import worker
from catdog.config import DataConfig, TrainConfig
from catdog.errors import CatdogError
from catdog.training import STOPPED_AT_SHUTDOWN, RunStore, TrainingQueue, train_run
from catdog.worker import ProcessTrainer, training_in_server

SMALL = dict(validation_size=12, test_size=8, batch_size=4)


def wait_for(predicate, timeout=120, message="condition"):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"{message} not reached in {timeout} s")


def test_a_training_in_a_child_process_records_and_reports_what_the_training_thread_does(synthetic_data, tmp_path):
    data = DataConfig(str(synthetic_data), **SMALL)
    in_thread = train_run(TrainConfig(epochs=2, seed=3), data, store=RunStore(tmp_path / "thread"))
    trainer = ProcessTrainer(keep_warm=False)
    child = trainer.waiting  # started at once, to load TensorFlow before the click
    jobs = TrainingQueue(tmp_path / "runs", trainer=trainer)
    try:
        job = jobs.submit(TrainConfig(epochs=2, seed=3), data, owner="me")
        wait_for(lambda: job.finished, message="the job's end")
    finally:
        jobs.close()
    assert job.state == "done" and job.error is None
    run = jobs.store.get(job.run_id)  # the run the child made, known to the queue as soon as it existed
    assert run.status == "done" and run.model_path.is_file() and (run.path / "best.keras").is_file()
    snap = job.progress.snapshot()  # the live view's state, copied from the child
    assert snap["phase"] == "done" and [row["epoch"] for row in snap["history"]] == [1, 2]
    # a seeded training repeats itself in another process
    assert [row["loss"] for row in run.history()] == pytest.approx([row["loss"] for row in in_thread.history],
                                                                     rel=1e-5)
    assert job.result == run.record["test"] == pytest.approx(in_thread.test, rel=1e-5)
    # the child ended with its training, and with it the memory Keras keeps; none waits (keep_warm=False)
    assert child.returncode == 0 and trainer.training is None and trainer.waiting is None


def test_stop_reaches_the_child_the_run_keeps_its_model_and_a_child_waits_for_the_next_job(synthetic_data, tmp_path):
    trainer = ProcessTrainer()
    jobs = TrainingQueue(tmp_path / "runs", trainer=trainer)
    try:
        job = jobs.submit(TrainConfig(epochs=200, seed=1), DataConfig(str(synthetic_data), **SMALL), owner="me")
        wait_for(lambda: job.progress.snapshot()["history"], message="the first epoch")
        jobs.stop(job)
        wait_for(lambda: job.finished, message="the stopped job's end")
        assert job.state == "stopped" and job.progress.snapshot()["phase"] == "stopped"
        run = jobs.store.get(job.run_id)
        assert run.status == "stopped" and run.model_path.is_file() and run.record["test"] is not None
        assert len(run.history()) < 200
        assert trainer.training is None
        following = trainer.waiting  # started for the next click as soon as the training ended
        assert following is not None and following.poll() is None
    finally:
        assert jobs.close(timeout=30) is True
    assert following.returncode == 0 and trainer.waiting is None  # closing ends the waiting child
    with pytest.raises(CatdogError, match="shutting down"):
        trainer(TrainConfig(), DataConfig(), store=jobs.store)


def test_an_error_in_the_child_reaches_the_page_with_the_training_threads_message(tmp_path, monkeypatch):
    data = DataConfig(str(tmp_path / "no such folder"), **SMALL)
    with pytest.raises(CatdogError) as in_thread:
        train_run(TrainConfig(epochs=1), data, store=RunStore(tmp_path / "thread"))
    # Streamlit runs each page as __main__ (so do AppTest's page tests): the child must not run it again, as
    # multiprocessing's spawn did (the Classifier page, run bare in the child, ended it before its job)
    page = types.ModuleType("__main__")
    page.__file__ = str(tmp_path / "page.py")
    (tmp_path / "page.py").write_text("raise SystemExit('the page script ran in the training process')\n")
    monkeypatch.setitem(sys.modules, "__main__", page)
    jobs = TrainingQueue(tmp_path / "runs", trainer=ProcessTrainer(keep_warm=False))
    try:
        job = jobs.submit(TrainConfig(epochs=1), data)
        wait_for(lambda: job.finished, message="the job's end")
    finally:
        jobs.close()
    assert job.state == "failed" and job.error == str(in_thread.value)
    assert job.progress.snapshot()["phase"] == "failed"


def test_a_child_killed_mid_training_fails_its_job_plainly_and_the_next_job_trains(synthetic_data, tmp_path):
    data = DataConfig(str(synthetic_data), **SMALL)
    trainer = ProcessTrainer(keep_warm=False)
    jobs = TrainingQueue(tmp_path / "runs", trainer=trainer)
    try:
        job = jobs.submit(TrainConfig(epochs=200), data)
        wait_for(lambda: job.progress.snapshot()["history"], message="the first epoch")
        os.kill(trainer.training.pid, signal.SIGKILL)  # as the kernel's out-of-memory killer would
        wait_for(lambda: job.finished, timeout=30, message="the killed job's end")
        assert job.state == "failed" and job.error.startswith(
            "The training process ended unexpectedly (exit code -9). It was killed, often for lack of memory")
        assert jobs.store.get(job.run_id).status == "interrupted"  # its record still says running
        again = jobs.submit(TrainConfig(epochs=1), data)
        wait_for(lambda: again.finished, message="the next job's end")
        assert again.state == "done"
    finally:
        jobs.close()


def test_a_run_folder_deleted_while_its_child_trains_fails_the_job_as_in_the_training_thread(synthetic_data, tmp_path):
    jobs = TrainingQueue(tmp_path / "runs", trainer=ProcessTrainer(keep_warm=False))
    try:
        job = jobs.submit(TrainConfig(epochs=200), DataConfig(str(synthetic_data), **SMALL), owner="me")
        wait_for(lambda: job.progress.snapshot()["history"], message="the first epoch")
        shutil.rmtree(jobs.store.root / job.run_id)  # by hand: the dashboard refuses while it trains
        wait_for(lambda: job.finished, message="the job's end")
    finally:
        jobs.close()
    assert job.state == "failed" and "has been deleted, outside the dashboard" in job.error
    assert job.folder_gone and jobs.job_in_view(None, "me") is job  # its owner is told why it ended


def test_a_child_that_cannot_start_fails_its_job_plainly(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "executable", "/bin/false")  # exits at once with 1, as a broken installation would
    jobs = TrainingQueue(tmp_path / "runs", trainer=ProcessTrainer(start=False, keep_warm=False))
    try:
        job = jobs.submit(TrainConfig(epochs=1), DataConfig())
        wait_for(lambda: job.finished, timeout=30, message="the job's end")
    finally:
        jobs.close()
    # not "BrokenPipeError: [Errno 32] Broken pipe"
    assert job.state == "failed" and job.error.startswith(
        "The training process ended unexpectedly (exit code 1). The server's terminal shows why.")


def test_a_child_whose_server_is_gone_ignores_ctrl_c_and_stops_as_stop_would(synthetic_data, tmp_path):
    child, parent = worker._start_child()
    parent.send((TrainConfig(epochs=200), DataConfig(str(synthetic_data), **SMALL), str(tmp_path / "runs"),
                 worker._environment()))
    epochs = 0
    while epochs < 1:  # ("ready",), ("run", run), then copies of the progress until the first epoch has ended
        message = parent.recv()
        epochs = len(message[1]["history"]) if message[0] == "progress" else epochs
    os.kill(child.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group: the server's shutdown stops it
    assert parent.poll(5) and child.poll() is None
    parent.close()  # the server is gone (killed): the child ends its training as Stop does
    assert child.wait(120) == 0
    (run,) = RunStore(tmp_path / "runs").list()
    assert run.status == "stopped" and run.record["stopped_by"] == STOPPED_AT_SHUTDOWN and run.model_path.is_file()


def test_training_in_the_server_is_asked_for_by_an_environment_variable(monkeypatch):
    for value, expected in (("1", True), ("yes", True), ("TRUE", True), ("0", False), ("", False)):
        monkeypatch.setenv("CATDOG_TRAIN_IN_SERVER", value)
        assert training_in_server() is expected
    monkeypatch.delenv("CATDOG_TRAIN_IN_SERVER")
    assert training_in_server() is False
