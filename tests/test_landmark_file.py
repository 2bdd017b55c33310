import numpy as np
import pytest
from helpers import make_table

from hand_gesture_recognition.errors import InputError
from hand_gesture_recognition.landmark_file import LandmarkTable, load_tables


def test_merged_files_keep_recordings_apart(tmp_path):
    dataset = make_table(subjects=("s1", "s2"), seed=0)
    dataset.meta = {"extractor": {"extractor": "auto"}}
    takes = make_table(subjects=("s2", "me"), seed=1)  # s2's ids clash with the dataset's.
    dataset.save(tmp_path / "dataset.npz")
    takes.save(tmp_path / "takes.npz")

    merged = load_tables([tmp_path / "dataset.npz", tmp_path / "takes.npz"])

    assert len(merged) == len(dataset) + len(takes)
    assert sorted(set(merged.sequence)) == [
        "dataset:s2/01_palm",
        "dataset:s2/02_l",
        "me/01_palm",
        "me/02_l",
        "s1/01_palm",
        "s1/02_l",
        "takes:s2/01_palm",
        "takes:s2/02_l",
    ]
    # Each recording's rows are its own file's, in frame order.
    for name, source in (("dataset", dataset), ("takes", takes)):
        rows = merged.sequence == f"{name}:s2/01_palm"
        original = source.sequence == "s2/01_palm"
        np.testing.assert_array_equal(merged.landmarks[rows], source.landmarks[original])
        np.testing.assert_array_equal(merged.frame[rows], np.arange(60))
    assert merged.meta["extractor"] == {"extractor": "auto"}
    assert [s["prefixed"] for s in merged.meta["sources"]] == [True, True]
    assert merged.subjects == ["me", "s1", "s2"]


def test_files_that_cannot_be_merged_are_named(tmp_path):
    first = make_table(subjects=("a",))
    first.meta = {"preprocessing": {"sequence_length": 30}}
    second = make_table(subjects=("b",))
    second.meta = {"preprocessing": {"sequence_length": 20}}
    first.save(tmp_path / "first.npz")
    second.save(tmp_path / "second.npz")
    with pytest.raises(
        InputError,
        match=r"second.npz: recorded with preprocessing "
        r"sequence_length=20, but .*first.npz with sequence_length=30",
    ):
        load_tables([tmp_path / "first.npz", tmp_path / "second.npz"])

    (tmp_path / "other").mkdir()
    first.save(tmp_path / "other" / "first.npz")
    with pytest.raises(InputError, match="both files are named 'first'"):
        load_tables([tmp_path / "first.npz", tmp_path / "other" / "first.npz"])
    one = load_tables([tmp_path / "first.npz"])
    assert isinstance(one, LandmarkTable) and sorted(set(one.sequence)) == ["a/01_palm", "a/02_l"]
