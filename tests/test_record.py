"""``hand-gesture record``: takes of a real webcam video appended to a landmark file."""

from __future__ import annotations

import signal
import subprocess
import sys

import cv2
import numpy as np
import pytest

from hand_gesture_recognition import record
from hand_gesture_recognition.cli import main
from hand_gesture_recognition.errors import InputError
from hand_gesture_recognition.landmark_file import LandmarkTable
from hand_gesture_recognition.landmarks import make_extractor
from hand_gesture_recognition.realtime import (
    CaptureSource,
    FrameSource,
    landmark_pixels,
    read_image,
)

FPS = 10.0
#: The first frames of the webcam sample's ``stop`` show no hand yet; the videos start later.
FIRST = 20


def _write_video(path, frames) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (224, 224))
    assert writer.isOpened()
    for frame in frames:
        writer.write(frame)
    writer.release()


def _stop_frames(webcam_sample, count, first=FIRST):
    folder = webcam_sample / "stop"
    return [cv2.imread(str(folder / f"{i}.jpg")) for i in range(first, first + count)]


def _black(count):
    return [np.zeros((224, 224, 3), np.uint8) for _ in range(count)]


@pytest.fixture(scope="module")
def stop_video(webcam_sample, tmp_path_factory):
    """30 real webcam frames of an open palm (``stop``), 10 fps, MJPG."""
    path = tmp_path_factory.mktemp("video") / "stop.avi"
    _write_video(path, _stop_frames(webcam_sample, 30))
    return path


def _decoded(video):
    with CaptureSource(video) as source:
        return [frame for frame, _ in source]


def _reference(frames):
    """What the tracking extractor finds on a take's frames, reset first (as a take is)."""
    extractor = make_extractor("auto", tracking=True, min_confidence=0.5)
    try:
        results = [extractor.process(frame) for frame in frames]
    finally:
        extractor.close()
    detected = np.array([r.detected for r in results])
    landmarks = np.stack(
        [r.landmarks if r.detected else np.full((21, 3), np.nan, np.float32) for r in results]
    )
    return detected, landmarks


def _record(out, video, *extra):
    return main(
        ["record", "--no-display", "--source", str(video), "--gesture", "01_palm"]
        + ["--out", str(out), *extra]
    )


def _one_line_error(capsys, code, match):
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    errors = [line for line in err.splitlines() if line.startswith("hand-gesture record: error: ")]
    assert len(errors) == 1 and match in errors[0], err
    assert err.splitlines()[-1] == errors[0] and "Traceback" not in err, err
    return errors[0]


def _takes(table):
    """``(sequence, rows)`` of each take, in the order they were recorded."""
    rows = dict(table.sequences())
    return [(r["sequence"], rows[r["sequence"]]) for r in table.meta["recordings"]]


def test_record_two_takes_then_append_two_more(tmp_path, stop_video, capsys):
    out = tmp_path / "mine.npz"
    frames = _decoded(stop_video)
    assert len(frames) == 30
    # A countdown of 0.5 s skips 5 frames of the 10 fps video before each take of 10 frames.
    args = ["--count", "2", "--seconds", "1"]
    assert _record(out, stop_video, *args, "--countdown", "0.5", "--subject", "ann") == 0
    assert "2 take(s) of 01_palm added (2 recordings, 20 frames" in capsys.readouterr().out
    first = LandmarkTable.load(out)
    takes = _takes(first)
    assert len(takes) == 2 and len(first) == 20
    assert first.gestures == ["01_palm"] and first.subjects == ["ann"]
    assert first.extractor == "auto" and first.meta["extractor"]["tracking"] is True
    starts = [r["first_frame"] for r in first.meta["recordings"]]
    assert starts == [5, 20]
    for (sequence, rows), start in zip(takes, starts, strict=True):
        assert sequence.startswith("ann/01_palm/")
        assert first.frame[rows].tolist() == list(range(10))
        detected, landmarks = _reference(frames[start : start + 10])
        assert detected.mean() >= 0.9, detected
        np.testing.assert_array_equal(first.detected[rows], detected)
        np.testing.assert_allclose(first.landmarks[rows], landmarks, atol=1e-5)
        xy = first.landmarks[rows][first.detected[rows]][..., :2]
        assert ((xy > 0) & (xy < 1)).all()
    # Ids sort in recording order; each take is one run of consecutive rows.
    assert [s for s, _ in first.sequences()] == [s for s, _ in takes]
    assert np.concatenate([rows for _, rows in takes]).tolist() == list(range(20))

    # Appending: no countdown from a video by default, the default subject; nothing lost.
    assert _record(out, stop_video, *args) == 0
    both = LandmarkTable.load(out)
    assert len(both.meta["recordings"]) == 4 and len(both) == 40
    assert len(set(both.sequence.tolist())) == 4
    assert [r["first_frame"] for r in both.meta["recordings"]] == [5, 20, 0, 10]
    assert both.subjects == ["ann", record.DEFAULT_SUBJECT]
    for name in ("landmarks", "detected", "score", "frame", "aspect"):
        assert getattr(both, name)[:20].tobytes() == getattr(first, name)[:20].tobytes()
    for name in ("subject", "gesture", "sequence", "path"):
        assert getattr(both, name)[:20].tolist() == getattr(first, name)[:20].tolist()
    for (sequence, rows), start in zip(_takes(both)[2:], (0, 10), strict=True):
        assert sequence.startswith(f"{record.DEFAULT_SUBJECT}/01_palm/")
        assert rows.min() >= 20 and both.frame[rows].tolist() == list(range(10))
        detected, landmarks = _reference(frames[start : start + 10])
        np.testing.assert_array_equal(both.detected[rows], detected)
        np.testing.assert_allclose(both.landmarks[rows], landmarks, atol=1e-5)


@pytest.mark.parametrize(
    ("gesture", "match"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("a/b", "looks like a path"),
        ("..", "looks like a path"),
        (" palm", "starts or ends with whitespace"),
        ("pa\nlm", "holds control characters"),
    ],
)
def test_a_name_that_cannot_be_a_label_is_refused(tmp_path, capsys, gesture, match):
    out = tmp_path / "mine.npz"
    code = main(
        [
            "record",
            "--no-display",
            "--source",
            "nowhere.avi",
            "--gesture",
            gesture,
            "--out",
            str(out),
        ]
    )
    _one_line_error(capsys, code, f"--gesture {gesture!r}: {match}")
    assert not out.exists()


def test_bad_files_and_sources_are_refused_and_left_alone(tmp_path, stop_video, capsys):
    other = tmp_path / "other.npz"
    np.savez(other, weights=np.arange(3))
    before = other.read_bytes()
    _one_line_error(capsys, _record(other, stop_video), "exists and is not a landmark file")
    assert other.read_bytes() == before
    text = tmp_path / "notes.npz"
    text.write_text("my notes")
    _one_line_error(capsys, _record(text, stop_video), "is not a landmark file")
    assert text.read_text() == "my notes"

    out = tmp_path / "mine.npz"
    _one_line_error(capsys, _record(out, tmp_path / "missing.avi"), "--source: ")
    broken = tmp_path / "broken.avi"
    broken.write_bytes(b"not a video")
    _one_line_error(capsys, _record(out, broken), "not a readable video")
    _one_line_error(capsys, _record(out, "99"), "camera 99 could not be opened")
    _one_line_error(capsys, _record(out, "9" * 20), "no such camera (expected an index from 0 to")
    for option, value in (("--seconds", "1e308"), ("--countdown", "1e308"), ("--seconds", "0")):
        with pytest.raises(SystemExit) as exit_info:
            _record(out, stop_video, option, value)
        assert exit_info.value.code == 2
        assert f"argument {option}: expected a number of seconds" in capsys.readouterr().err
    _one_line_error(capsys, _record(tmp_path / "mine.csv", stop_video), "must end in .npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.avi", "notes.npz", "other.npz"]


def test_takes_without_enough_hand_are_refused(tmp_path, webcam_sample, stop_video, capsys):
    black = tmp_path / "black.avi"
    _write_video(black, _black(10))
    out = tmp_path / "mine.npz"
    line = _one_line_error(capsys, _record(out, black, "--seconds", "1"), "take 1 of 5")
    assert "no hand in any of its 10 frames; not saved; nothing was added" in line
    assert not out.exists()

    # One good take first, then a take with the hand in 4 of its 10 frames: the first stays.
    mixed = tmp_path / "mixed.avi"
    _write_video(mixed, _stop_frames(webcam_sample, 14) + _black(6))
    line = _one_line_error(
        capsys, _record(out, mixed, "--seconds", "1", "--count", "3"), "take 2 of 3"
    )
    assert "hand found in only 4 of its 10 frames (at least 50% needed); not saved" in line
    assert "the 1 take(s) before it were saved" in line
    kept = LandmarkTable.load(out)
    assert len(kept) == 10 and len(kept.meta["recordings"]) == 1

    # A video too short for the takes asked for: the takes before the end are kept.
    line = _one_line_error(
        capsys, _record(out, stop_video, "--seconds", "2", "--count", "2"), "ended during take 2"
    )
    assert len(LandmarkTable.load(out).meta["recordings"]) == 2


class _Interrupting(CaptureSource):
    """A video source that raises KeyboardInterrupt (Ctrl-C) when frame ``stop_at`` is read."""

    stop_at = 15

    def __iter__(self):
        for index, item in enumerate(super().__iter__()):
            if index == self.stop_at:
                raise KeyboardInterrupt
            yield item


def test_ctrl_c_keeps_the_finished_takes(tmp_path, stop_video, capsys, monkeypatch):
    monkeypatch.setattr(record, "open_source", _Interrupting)
    out = tmp_path / "mine.npz"
    code = _record(out, stop_video, "--seconds", "1", "--count", "3")
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 130 and err[-1] == "hand-gesture record: interrupted", err
    kept = LandmarkTable.load(out)
    assert len(kept) == 10 and len(kept.meta["recordings"]) == 1
    assert not [p for p in tmp_path.iterdir() if "hgr-tmp" in p.name]


class _Clock:
    """Seconds that pass only as frames are read: 1/8 s per frame of the fake camera."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class _FakeCamera(FrameSource):
    """A camera that delivers the given frames, each 1/8 s after the last."""

    camera = True

    def __init__(self, frames, clock):
        self.frames, self.clock = frames, clock

    def __iter__(self):
        for frame in self.frames:
            self.clock.now += 0.125
            yield frame, "camera 0"


def test_camera_takes_with_the_window(tmp_path, webcam_sample, monkeypatch):
    clock = _Clock()
    # Take 1: 4 countdown frames, 8 recorded; take 2: 4 countdown frames, 5 with the hand, 3
    # without (5 of 8 is enough).
    frames = _stop_frames(webcam_sample, 12) + _stop_frames(webcam_sample, 9, 40) + _black(3)
    monkeypatch.setattr(record, "open_source", lambda source: _FakeCamera(frames, clock))
    monkeypatch.setattr(record, "display_available", lambda: True)
    shown, texts = [], []
    monkeypatch.setattr(record, "show", lambda window, image: shown.append(image) or True)
    monkeypatch.setattr(record, "close_windows", lambda: shown.append("closed"))
    draw_text = record.draw_text_rows
    monkeypatch.setattr(
        record,
        "draw_text_rows",
        lambda image, rows: texts.append([t for t, _ in rows]) or draw_text(image, rows),
    )
    out = tmp_path / "mine.npz"
    settings = record.RecordSettings(
        gesture="none", out=out, source="0", count=2, seconds=1.0, countdown=0.5
    )
    log = []
    summary = record.record_gestures(settings, log=log.append, clock=clock)
    assert len(summary.saved) == 2 and summary.frames == 16 and not summary.stopped
    assert len(shown) == 2 * (4 + 8) + 1 and shown[-1] == "closed"
    assert texts[0] == ["none: take 1 of 2", "get ready: 1", "hand: found"]
    assert texts[4][:2] == ["none: take 1 of 2", "RECORDING  0.9 s left"]
    assert texts[12][:2] == ["none: take 2 of 2", "get ready: 1"]
    assert texts[-1] == [
        "none: take 2 of 2",
        "RECORDING  0.0 s left",
        "NO HAND VISIBLE: show your hand",
    ]
    table = LandmarkTable.load(out)
    assert table.gestures == ["none"]
    assert [r["first_frame"] for r in table.meta["recordings"]] == [4, 16]
    assert table.detected.tolist() == [True] * 13 + [False] * 3
    # The landmarks are drawn on the picture shown.
    points = landmark_pixels(table.landmarks[0], frames[4].shape)
    changed = np.abs(shown[4].astype(int) - frames[4].astype(int)).sum(axis=2) > 30
    assert np.mean([changed[y, x] for x, y in points if 0 <= x < 224 and 0 <= y < 224]) >= 0.9

    # q in the window during the second take: the first take is kept, nothing else.
    clock.now, shown[:] = 0.0, []
    monkeypatch.setattr(
        record, "show", lambda window, image: shown.append(image) or len(shown) < 15
    )
    summary = record.record_gestures(settings, log=log.append, clock=clock)
    assert len(summary.saved) == 1 and summary.stopped == "stopped from the window after 1 take(s)"
    assert len(LandmarkTable.load(out).meta["recordings"]) == 3

    # Without a window, the takes are announced on the terminal.
    log[:] = []
    quiet = record.RecordSettings(
        gesture="none", out=out, count=1, seconds=1.0, countdown=0.5, display=False
    )
    assert len(record.record_gestures(quiet, log=log.append, clock=clock).saved) == 1
    assert log[-4:-1] == [
        "'none': hand poses that are not gestures (the rejection class)",
        "take 1 of 1: starts in 0.5 s",
        "take 1 of 1: recording for 1 s",
    ]
    assert log[-1].startswith("take 1 of 1: saved 8 frames, hand in 8 (100%), as user/none/")


def test_ctrl_c_in_a_subprocess_keeps_the_finished_take(tmp_path, webcam_sample):
    video = tmp_path / "long.avi"
    _write_video(video, _stop_frames(webcam_sample, 30) * 10)
    out = tmp_path / "mine.npz"
    # Takes of 150 frames: the signal comes while the second one is being recorded.
    command = [sys.executable, "-m", "hand_gesture_recognition", "record", "--no-display"]
    command += ["--source", str(video), "--gesture", "01_palm", "--out", str(out)]
    command += ["--count", "2", "--seconds", "15"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    lines = []
    try:
        for line in process.stderr:
            lines.append(line.rstrip())
            if line.startswith("take 1 of 2: saved"):
                process.send_signal(signal.SIGINT)
                break
        lines += process.stderr.read().splitlines()
        code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert code == 130 and lines[-1] == "hand-gesture record: interrupted", lines
    table = LandmarkTable.load(out)
    assert len(table) == 150 and len(table.meta["recordings"]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [".mine.npz.lock", "long.avi", "mine.npz"]


# ---------------------------------------------------------------------------------------------
# Takes cut from clips, and the takes kept for fine-tuning.


def _jpgs(folder, first, count):
    return [read_image(folder / f"{i}.jpg") for i in range(first, first + count)]


def test_a_folder_of_clips_is_cut_into_takes_as_record_cuts_a_video(webcam_takes, webcam_sample):
    takes = webcam_takes
    order = record.take_order(takes)
    assert list(order) == ["stop", "thumbs_up"] and [len(ids) for ids in order.values()] == [5, 5]
    assert len(takes) == 2 * 5 * 36 and takes.subjects == [record.DEFAULT_SUBJECT]
    assert takes.extractor == "auto" and takes.meta["extractor"]["tracking"] is True
    entries = takes.meta["recordings"]
    assert [r["sequence"] for r in entries] == order["stop"] + order["thumbs_up"]
    assert [r["first_frame"] for r in entries] == [20, 56, 92, 128, 164] * 2
    assert {(r["source"], r["frames"], r["seconds"]) for r in entries[:5]} == {("stop", 36, 1.2)}
    assert [r["source"] for r in entries[5:]] == ["thumbs_up"] * 5
    rows = dict(takes.sequences())
    for entry in entries:
        sequence = entry["sequence"]
        gesture = entry["gesture"]
        assert sequence.startswith(f"{record.DEFAULT_SUBJECT}/{gesture}/")
        assert takes.frame[rows[sequence]].tolist() == list(range(36))
        assert entry["detected"] == int(takes.detected[rows[sequence]].sum()) >= 34
    # Each take is what the tracking extractor finds when it starts afresh at the take.
    for entry in (entries[0], entries[9]):
        folder = webcam_sample / entry["gesture"]
        detected, landmarks = _reference(_jpgs(folder, entry["first_frame"], 36))
        np.testing.assert_array_equal(takes.detected[rows[entry["sequence"]]], detected)
        np.testing.assert_allclose(takes.landmarks[rows[entry["sequence"]]], landmarks, atol=1e-5)


def test_a_video_clip_is_cut_too_and_what_is_left_over_is_not_a_take(tmp_path, webcam_sample):
    video = tmp_path / "clips" / "wave.avi"
    video.parent.mkdir()
    _write_video(video, _stop_frames(webcam_sample, 50))
    (tmp_path / "clips" / "notes.txt").write_text("not a clip")
    takes = record.folder_takes(tmp_path / "clips", 20, subject="ann")
    assert takes.gestures == ["wave"] and takes.subjects == ["ann"] and len(takes) == 40
    entries = takes.meta["recordings"]
    assert [(r["first_frame"], r["frames"], r["seconds"]) for r in entries] == [
        (0, 20, 2.0),  # 20 frames of a 10 fps video
        (20, 20, 2.0),
    ]
    decoded = _decoded(video)
    rows = dict(takes.sequences())
    for entry in entries:
        start = entry["first_frame"]
        detected, landmarks = _reference(decoded[start : start + 20])
        np.testing.assert_array_equal(takes.detected[rows[entry["sequence"]]], detected)
        np.testing.assert_allclose(takes.landmarks[rows[entry["sequence"]]], landmarks, atol=1e-5)
    # count: at most this many takes; more takes join the table given, which is not changed.
    extractor = make_extractor("auto", tracking=True)
    try:
        more = record.clip_takes(video, "wave", 10, extractor, table=takes, skip=5, count=2)
    finally:
        extractor.close()
    assert len(takes) == 40 and len(more) == 60
    assert [r["first_frame"] for r in more.meta["recordings"]] == [0, 20, 5, 15]
    assert len(record.take_order(more)["wave"]) == 4


def test_clips_that_cannot_be_cut_are_refused(tmp_path, webcam_sample, webcam_takes):
    clips = tmp_path / "clips"
    clips.mkdir()
    _write_video(clips / "fist.avi", _stop_frames(webcam_sample, 10) + _black(10))
    with pytest.raises(InputError, match=r"fist.avi: take 2 \(frames 10-19\): no hand in any "):
        record.folder_takes(clips, 10)
    with pytest.raises(InputError, match="fist.avi: too short for one take of 30 frames after"):
        record.folder_takes(clips, 30)
    with pytest.raises(InputError, match="no clip of peace; it has fist"):
        record.folder_takes(clips, 10, gestures=["peace"])
    with pytest.raises(InputError, match="takes need frames >= 1"):
        record.folder_takes(clips, 0)
    with pytest.raises(InputError, match="no clips"):
        record.folder_takes(tmp_path, 10)  # holds only the folder "clips", without frames
    with pytest.raises(InputError, match="'a/b': looks like a path"):
        record.clip_takes(clips / "fist.avi", "a/b", 10, None)
    with pytest.raises(InputError, match="nowhere: not found; expected a landmark file"):
        record.load_takes(tmp_path / "nowhere", 10)
    webcam_takes.save(tmp_path / "mine.npz")
    with pytest.raises(InputError, match="mine.npz: no takes of peace; it has stop, thumbs_up"):
        record.load_takes(tmp_path / "mine.npz", 10, gestures=["peace", "stop"])


def test_a_recorded_file_is_loaded_as_it_is(tmp_path, webcam_takes):
    webcam_takes.save(tmp_path / "mine.npz")
    loaded = record.load_takes(tmp_path / "mine.npz", 10)  # frames concern clips only
    assert loaded.sequence.tolist() == webcam_takes.sequence.tolist()
    assert loaded.meta == webcam_takes.meta
    stop = record.load_takes(tmp_path / "mine.npz", 10, gestures=["stop"])
    assert stop.gestures == ["stop"] and len(stop) == 5 * 36
    assert [r["gesture"] for r in stop.meta["recordings"]] == ["stop"] * 5
    np.testing.assert_array_equal(stop.landmarks, webcam_takes.landmarks[: 5 * 36])


def test_the_first_takes_of_each_gesture_fine_tune_and_the_others_are_held_out(webcam_takes):
    order = record.take_order(webcam_takes)
    tuning, held = record.split_takes(webcam_takes, keep=3)
    assert record.take_order(tuning) == {g: ids[:3] for g, ids in order.items()}
    assert record.take_order(held) == {g: ids[3:] for g, ids in order.items()}
    assert len(tuning) + len(held) == len(webcam_takes)
    assert [r["sequence"] for r in held.meta["recordings"]] == order["stop"][3:] + (
        order["thumbs_up"][3:]
    )
    assert record.takes_overview({"fine-tuning": tuning, "held-out": held}) == {
        "fine-tuning takes": {"stop": 3, "thumbs_up": 3},
        "fine-tuning frames": {"stop": 108, "thumbs_up": 108},
        "held-out takes": {"stop": 2, "thumbs_up": 2},
        "held-out frames": {"stop": 72, "thumbs_up": 72},
    }
    # first rotates the takes held out (positions wrap around): folds of a cross-validation.
    tuning, held = record.split_takes(webcam_takes, keep=3, first=3)
    assert record.take_order(tuning) == {g: [ids[0], ids[3], ids[4]] for g, ids in order.items()}
    assert record.take_order(held) == {g: ids[1:3] for g, ids in order.items()}

    with pytest.raises(InputError, match="needs at least 2 gestures with 6 takes or more; you "):
        record.split_takes(webcam_takes, keep=5)
    with pytest.raises(InputError, match="keep 1: fine-tuning needs at least 2 takes"):
        record.split_takes(webcam_takes, keep=1)
    stop = record.keep_sequences(webcam_takes, webcam_takes.gesture == "stop")
    with pytest.raises(InputError, match="you have stop: 5"):
        record.split_takes(stop)


def test_cut_takes_splits_extracted_recordings_at_the_given_frames(sample_landmarks):
    table = LandmarkTable.load(sample_landmarks)
    takes = record.cut_takes(table, (10, 50), ["01_palm", "05_thumb"], subject="ana")
    for gesture in ("01_palm", "05_thumb"):
        (recording,) = set(table.sequence[table.gesture == gesture].tolist())
        frames = table.frame[table.sequence == recording]
        assert sorted(set(takes.sequence[takes.gesture == gesture])) == [
            f"ana:{recording}#take0",
            f"ana:{recording}#take1",
        ]
        first = takes.frame[takes.sequence == f"ana:{recording}#take0"]
        second = takes.frame[takes.sequence == f"ana:{recording}#take1"]
        assert first.tolist() == [f for f in frames.tolist() if 10 <= f < 50]
        assert second.tolist() == [f for f in frames.tolist() if f >= 50]
    assert set(takes.subject) == {"ana"} and set(takes.gesture) == {"01_palm", "05_thumb"}
    # The landmarks travel with their frames.
    row = np.flatnonzero((table.gesture == "05_thumb") & (table.frame == 60))[0]
    moved = np.flatnonzero((takes.gesture == "05_thumb") & (takes.frame == 60))[0]
    np.testing.assert_array_equal(takes.landmarks[moved], table.landmarks[row])
