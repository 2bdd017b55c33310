import shutil

import pytest

from hand_gesture_recognition import dataset
from hand_gesture_recognition.errors import DownloadError, InputError


def test_finds_every_recording_of_the_sample(leap_sample):
    recordings = dataset.find_recordings(leap_sample)
    assert [r.gesture for r in recordings] == list(dataset.LEAPGESTRECOG_GESTURES)
    assert {r.subject for r in recordings} == {"00"}
    for recording in recordings:
        assert len(recording.frames) == 130
        names = [f.name for f in recording.frames]
        assert names == sorted(names)
        assert recording.sequence_id == f"00/{recording.gesture}"


def test_the_leapgestrecog_level_is_optional(leap_sample):
    with_level = dataset.find_recordings(leap_sample)
    without = dataset.find_recordings(leap_sample / "leapGestRecog")
    assert [r.sequence_id for r in with_level] == [r.sequence_id for r in without]


def test_frames_sort_naturally(tmp_path):
    folder = tmp_path / "07" / "wave"
    folder.mkdir(parents=True)
    for name in ("f10.png", "f2.png", "f1.png"):
        (folder / name).write_bytes(b"")
    (recording,) = dataset.find_recordings(tmp_path)
    assert [f.name for f in recording.frames] == ["f1.png", "f2.png", "f10.png"]
    assert recording.subject == "07"


def test_missing_empty_and_unrecognisable_trees(tmp_path):
    with pytest.raises(InputError, match="not found"):
        dataset.find_recordings(tmp_path / "nope")
    with pytest.raises(InputError, match="empty"):
        dataset.find_recordings(tmp_path)
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "00").mkdir()
    with pytest.raises(InputError, match="no <subject>/<gesture>/ folders"):
        dataset.find_recordings(tmp_path)


def test_gesture_order_puts_leapgestrecog_first():
    assert dataset.gesture_order({"zz", "03_fist", "01_palm"}) == ["01_palm", "03_fist", "zz"]


def test_download_reuses_an_existing_copy(tmp_path, leap_sample):
    # A folder shaped like kagglehub's download is reused without touching the network.
    target = tmp_path / "leapgestrecog" / "leapGestRecog" / "00" / "01_palm"
    target.mkdir(parents=True)
    source = leap_sample / "leapGestRecog" / "00" / "01_palm"
    for frame in sorted(source.iterdir())[:3]:
        shutil.copy(frame, target)
    root = dataset.download(tmp_path)
    assert root == tmp_path / "leapgestrecog" / "leapGestRecog"


def test_unreachable_kaggle_is_one_clear_error(tmp_path, monkeypatch):
    import kagglehub

    def offline(*args, **kwargs):
        raise ConnectionError("Failed to resolve 'www.kaggle.com'")

    monkeypatch.setattr(kagglehub, "dataset_download", offline)
    with pytest.raises(DownloadError, match="--data") as error:
        dataset.download(tmp_path)
    assert "\n" not in str(error.value)


def test_remove_download_only_deletes_under_dest(tmp_path):
    dest = tmp_path / "datasets"
    root = dest / "leapgestrecog" / "leapGestRecog"
    root.mkdir(parents=True)
    outside = tmp_path / "mine"
    outside.mkdir()
    with pytest.raises(InputError):
        dataset.remove_download(outside, dest)
    assert outside.exists()
    dataset.remove_download(root, dest)
    assert not (dest / "leapgestrecog").exists()
