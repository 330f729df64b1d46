"""``python -m catdog`` trains and predicts through the same code path as the pages."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.conftest import REPO
from tests.synthetic import synthetic_image


def run_cli(*args, env_extra=None):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "catdog", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)


def test_train_then_predict(synthetic_data, tmp_path):
    done = run_cli("train", "--model", "model1", "--epochs", "1", "--data-dir", str(synthetic_data),
                   "--runs-dir", str(tmp_path / "runs"), "--batch-size", "8", "--validation-size", "12",
                   "--test-size", "8", "--seed", "3", "--image-size", "48")
    assert done.returncode == 0, done.stderr
    [record] = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*/run.json")]
    # --seed is the training seed; the split keeps its own seed (the pages' default, 42).
    assert record["train_config"]["seed"] == 3 and record["data_config"]["seed"] == 42
    assert record["data_config"]["image_size"] == [48, 48]
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines[0]["epoch"] == 1 and {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"} <= set(lines[0])
    assert 0 <= lines[-1]["test_accuracy"] <= 1
    model_path = lines[-1]["model_path"]  # a 48×48 model: predict resizes to the model's input size

    cat = tmp_path / "cat.png"
    synthetic_image(0, 99).save(cat)
    junk = tmp_path / "junk.jpg"
    junk.write_text("not an image")
    done = run_cli("predict", "--model-path", model_path, str(cat), str(junk))
    assert done.returncode == 1  # one file was not an image
    good, bad = [json.loads(line) for line in done.stdout.splitlines()]
    assert good["label"] in ("cats", "dogs") and abs(sum(good["probabilities"].values()) - 1) < 1e-6
    assert bad["label"] is None and "junk.jpg" in bad["error"] and "not an image" in bad["error"]


def test_bad_data_dir_is_a_clean_error(tmp_path):
    done = run_cli("train", "--data-dir", str(tmp_path / "nowhere"), "--runs-dir", str(tmp_path / "runs"))
    assert done.returncode == 2
    assert "does not exist" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("args, message", [
    (["--batch-size", "0"], "The batch size must be at least 1, not 0."),
    (["--image-size", "17"], "The input size must be between 32 and 512 pixels a side, not 17×17."),
    (["--image-size", "0"], "not 0×0"),
    (["--image-size", "-5"], "not -5×-5"),
    (["--test-size", "0"], "The validation and test splits need at least 1 image each, not 12 and 0."),
    (["--learning-rate", "-1"], "The learning rate (and the fine-tuning factor) must be a number greater than 0"),
    (["--learning-rate", "inf"], "must be a number greater than 0, not inf"),  # trained to NaN, reported "done"
    (["--seed", "-1"], "The seed must be between 0 and 4294967295, not -1."),  # was a ValueError traceback
    (["--seed", str(2**32)], "not 4294967296"),
    (["--model", "model4", "--weights", "/nowhere/w.h5"], "weights file '/nowhere/w.h5' does not exist"),
    (["--fine-tune-accumulation-steps", "-1"], "must be 0 (automatic) or between 1 and the batch size, not -1"),
    (["--split-seed", "-1"], "The split seed must be between 0 and 2147483647, not -1."),  # was NumPy's traceback
    (["--model", "model4", "--fast", "--views", "0"], "Views per training image must be between 1 and 20, not 0."),
    (["--model", "model4", "--fine-tune-epochs", "1", "--fine-tune-at", "155"], "between 0 and 154 (MobileNetV2 "
                                                                                 "has 154 layers), not 155."),
])
def test_settings_that_cannot_train_are_refused_before_a_run_is_made(synthetic_data, tmp_path, capsys, args,
                                                                     message):
    from catdog.cli import main

    base = ["train", "--data-dir", str(synthetic_data), "--runs-dir", str(tmp_path / "runs"), "--validation-size",
            "12", "--test-size", "8"]
    assert main(base + args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err.splitlines()[0] and "Traceback" not in err
    assert len(err.splitlines()) == 1  # nothing else, not even the time taken
    assert not (tmp_path / "runs").exists()  # no failed run left behind


def test_an_unusable_runs_folder_is_a_clean_error(synthetic_data, tmp_path, capsys):
    from catdog.cli import main

    (tmp_path / "afile").write_text("in the way")
    assert main(["train", "--data-dir", str(synthetic_data), "--runs-dir", str(tmp_path / "afile" / "runs"),
                 "--validation-size", "12", "--test-size", "8"]) == 2
    err = capsys.readouterr().err
    assert "error: Cannot make a run folder in the runs folder" in err and "--runs-dir" in err


def test_predict_says_plainly_what_is_wrong_with_each_path(synthetic_data, tmp_path, capsys):
    from catdog.cli import main
    from catdog.config import DataConfig, TrainConfig
    from catdog.training import RunStore, train_run

    run = train_run(TrainConfig(epochs=1), DataConfig(str(synthetic_data), validation_size=12, test_size=8,
                                                      batch_size=8), store=RunStore(tmp_path / "runs")).run
    assert main(["predict", "--model-path", str(run.path), "x.jpg"]) == 2  # the run folder, not its model
    assert f"is a folder, not a .keras file; the run's final model is '{run.model_path}'." in capsys.readouterr().err
    fake = tmp_path / "fake.keras"
    fake.write_text("not a zip")
    assert main(["predict", "--model-path", str(fake), "x.jpg"]) == 2
    assert "is not a Keras model file" in capsys.readouterr().err
    cat = tmp_path / "cat.png"
    synthetic_image(0, 99).save(cat)
    assert main(["predict", "--model-path", str(run.model_path), str(tmp_path / "nope.jpg"), str(cat),
                 str(tmp_path)]) == 1
    missing, good, folder = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert missing["error"] == f"{tmp_path / 'nope.jpg'}: cannot be read (No such file or directory)."
    assert good["path"] == str(cat) and good["label"] in ("cats", "dogs") and "error" not in good
    assert folder["error"] == f"{tmp_path}: cannot be read (Is a directory)."


def test_train_warns_of_a_collapse_at_once_and_ctrl_c_stops_like_the_page(synthetic_data, tmp_path, monkeypatch,
                                                                            capsys):
    from catdog import cli, training

    def collapsing(train_config, data_config, *, store, progress, stop):
        """Seen collapsing in epoch 1; a Ctrl-C arrives half a second later; ends when told to stop."""
        run = store.create(train_config, data_config)
        progress.set(phase="training", epoch=1, batch=30, collapsed={"epoch": 1, "batch": 30})
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
        deadline = time.time() + 30
        while not stop.is_set() and time.time() < deadline:
            time.sleep(0.01)
        store.update(run, status="stopped" if stop.is_set() else "done")
        return training.TrainResult(run, [], None)

    monkeypatch.setattr(training, "train_run", collapsing)
    before = signal.getsignal(signal.SIGINT)
    status = cli.main(["train", "--model", "model1", "--data-dir", str(synthetic_data),
                       "--runs-dir", str(tmp_path / "runs")])
    out, err = capsys.readouterr()
    assert status == 130 and signal.getsignal(signal.SIGINT) is before  # the handler is put back
    assert "warning: In epoch 1, after batch 30, this network already gives the very same answer" in err
    assert "Stop it (Ctrl-C)" in err and "stopping after the current batch" in err and "Traceback" not in err
    assert json.loads(out.splitlines()[-1])["status"] == "stopped"


def test_sigterm_stops_training_like_ctrl_c_and_nan_is_written_as_null(synthetic_data, tmp_path, monkeypatch,
                                                                        capsys):
    """``timeout`` and job schedulers send SIGTERM: the run is kept as stopped (it was left "running")."""
    from catdog import cli, training

    def diverging(train_config, data_config, *, store, progress, stop):
        run = store.create(train_config, data_config)
        progress.set(phase="training", epoch=1)
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM)).start()
        deadline = time.time() + 30
        while not stop.is_set() and time.time() < deadline:
            time.sleep(0.01)
        store.update(run, status="stopped" if stop.is_set() else "done")
        return training.TrainResult(run, [], {"accuracy": 0.5, "loss": float("nan"), "images": 8})

    monkeypatch.setattr(training, "train_run", diverging)
    before = signal.getsignal(signal.SIGTERM)
    status = cli.main(["train", "--model", "model1", "--data-dir", str(synthetic_data),
                       "--runs-dir", str(tmp_path / "runs")])
    out, err = capsys.readouterr()
    assert status == 143 and signal.getsignal(signal.SIGTERM) is before
    assert "stopping after the current batch (SIGTERM again to abort)" in err
    last = json.loads(out.splitlines()[-1])  # strict JSON: no bare NaN
    assert last["status"] == "stopped" and last["test_loss"] is None and last["model_path"] is None


def test_model4_options_given_for_another_model_get_a_warning(synthetic_data, tmp_path, monkeypatch, capsys):
    from catdog import cli, training

    def quick(train_config, data_config, *, store, progress, stop):
        run = store.create(train_config, data_config)
        store.update(run, status="done")
        return training.TrainResult(run, [], None)

    monkeypatch.setattr(training, "train_run", quick)
    assert cli.main(["train", "--model", "model1", "--fast", "--fine-tune-epochs", "3", "--data-dir",
                     str(synthetic_data), "--runs-dir", str(tmp_path / "runs")]) == 0
    assert "warning: --fast, --fine-tune-epochs only change model4; model1 trains without them." in \
        capsys.readouterr().err
    (record,) = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*/run.json")]
    assert record["train_config"]["fast"] is False and record["train_config"]["fine_tune_epochs"] == 0
    assert cli.main(["train", "--model", "model1", "--data-dir", str(synthetic_data), "--runs-dir",
                     str(tmp_path / "runs")]) == 0
    assert "warning" not in capsys.readouterr().err
