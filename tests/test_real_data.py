"""The real cats_and_dogs_filtered data, when ../shared holds it (always in CI)."""

import pytest
from streamlit.testing.v1 import AppTest

from catdog import data
from catdog.config import DataConfig, TrainConfig
from catdog.training import RunStore, prepare_splits, train_run
from tests.conftest import REAL_DATA, REPO, real_data

pytestmark = real_data


def test_counts_and_baseline():
    _, splits = prepare_splits(DataConfig(data_dir=str(REAL_DATA)))
    assert splits.counts() == {
        "train": {"cats": 1000, "dogs": 1000},
        "validation": {"cats": 400, "dogs": 400},
        "test": {"cats": 100, "dogs": 100},
    }
    assert splits.skipped == ()
    assert data.majority_baseline(splits) == (("cats", "dogs"), 0.5)


def test_batches_like_the_course():
    _, splits = prepare_splits(DataConfig(data_dir=str(REAL_DATA)))
    train = data.make_dataset(splits.train, cache=False)
    assert int(train.cardinality()) == 63  # 2,000 / 32 rounded up, as in the course
    images, labels = next(iter(train))
    assert images.shape == (32, 160, 160, 3) and labels.shape == (32,)


@pytest.mark.parametrize("page", ["dashboard.py", "pages/1_data.py", "pages/2_augmentation.py",
                                  "pages/3_training.py", "pages/4_classifier.py"])
def test_every_page_renders_on_real_data(page):
    at = AppTest.from_file(str(REPO / page), default_timeout=120)
    at.session_state["data_dir"] = str(REAL_DATA)
    at.run()
    assert not at.exception and not at.error
    if page.endswith("1_data.py"):
        assert len(at.get("image")) == 6


@pytest.mark.slow
def test_model1_one_epoch_on_real_data(tmp_path):
    result = train_run(TrainConfig(model="model1", epochs=1), DataConfig(data_dir=str(REAL_DATA)),
                       store=RunStore(tmp_path / "runs"))
    assert result.run.status == "done" and result.test["images"] == 200
    assert 0.0 <= result.test["accuracy"] <= 1.0 and len(result.history) == 1
    assert result.run.record["counts"]["validation"] == {"cats": 400, "dogs": 400}
