"""The one path from landmarks to model input: missing frames, the window stream, parity."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from helpers import make_table

from hand_gesture_recognition.config import PreprocessingConfig
from hand_gesture_recognition.extractor import HandResult
from hand_gesture_recognition.features import frame_features
from hand_gesture_recognition.landmark_file import LandmarkTable
from hand_gesture_recognition.preprocessing import (
    EMPTY,
    FILLING,
    READY,
    SPARSE,
    WindowStream,
    fill_missing,
    recording_segments,
    segment_windows,
    still_window,
    table_windows,
    window_features,
)
from hand_gesture_recognition.realtime import RealTimeGestureRecognizer

PREP = PreprocessingConfig(sequence_length=10)


def _moving(frames: int, missing: tuple[int, ...] = ()) -> np.ndarray:
    """A hand moving steadily: x grows by 1/frames per frame; NaN on the ``missing`` frames."""
    points = np.zeros((frames, 21, 3), np.float32)
    points[..., 0] = (np.arange(frames) / frames)[:, None]
    points[list(missing)] = np.nan
    return points


def test_interpolation_is_linear_between_detections_and_held_at_the_ends():
    series = np.full((6, 21, 3), np.nan, np.float32)
    series[1] = 1.0
    series[4] = 4.0
    for policy in ("window", "interpolate"):
        np.testing.assert_allclose(fill_missing(series, policy)[:, 0, 0], [1, 1, 2, 3, 4, 4])
    assert np.isnan(fill_missing(series, "zero")[0]).all()


def test_training_fills_the_end_of_a_window_as_live_use_can_without_the_future():
    # The case: a steady motion (x = t / 35), frames 27-29 of a window without a
    # hand. Filled over the recording, frame 29 gets 29 / 35 from frames after the window;
    # live use has seen frame 26 last and can only hold it: 26 / 35, in training too.
    frames = _moving(35, missing=(27, 28, 29))
    segment = recording_segments(_table(frames))[0]
    config = PreprocessingConfig()
    trained = segment_windows(segment, 0, config, stride=1)
    window = trained.windows[list(trained.end_frame - 100).index(29)]
    np.testing.assert_allclose(window[27:, 0, 0], 26 / 35, atol=1e-6)
    old = segment_windows(segment, 0, replace(config, missing="interpolate"), stride=1)
    old_window = old.windows[list(old.end_frame - 100).index(29)]
    np.testing.assert_allclose(old_window[29, 0, 0], 29 / 35, atol=1e-6)
    # And the stream, fed the same frames one by one, hands out the same window.
    stream = WindowStream(config)
    for t in range(30):
        state, live = stream.push(None if t in (27, 28, 29) else frames[t], 1.0)
    assert state == READY
    np.testing.assert_array_equal(live.landmarks, window)


def _table(points: np.ndarray, gesture: str = "01_palm") -> LandmarkTable:
    n = len(points)
    return LandmarkTable(
        landmarks=points,
        detected=~np.isnan(points).any(axis=(1, 2)),
        score=np.ones(n, np.float32),
        subject=np.array(["s"] * n),
        gesture=np.array([gesture] * n),
        sequence=np.array(["s/a"] * n),
        frame=np.arange(100, 100 + n),
        path=np.array([""] * n),
    )


def test_the_stream_fills_then_classifies_then_clears_after_a_long_gap():
    stream = WindowStream(PREP)
    hand = _moving(1)[0]
    assert stream.push(None, 1.0) == (EMPTY, None)  # nothing seen yet
    states = [stream.push(hand, 1.0)[0] for _ in range(10)]
    assert states == [FILLING] * 9 + [READY]
    # Gaps of up to max_gap (5) frames are bridged, one more clears the window.
    assert [stream.push(None, 1.0)[0] for _ in range(5)] == [READY] * 5
    assert stream.push(None, 1.0)[0] == EMPTY and len(stream) == 0


def test_a_window_with_too_many_frames_without_a_hand_is_sparse():
    config = replace(PREP, max_gap=4, max_missing_fraction=0.3)
    stream = WindowStream(config)
    hand = _moving(1)[0]
    for _ in range(10):
        stream.push(hand, 1.0)
    states = [stream.push(None if i % 2 else hand, 1.0)[0] for i in range(8)]
    assert states[:5] == [READY] * 5 and states[-1] == SPARSE


def test_training_windows_never_span_a_gap_that_live_use_clears():
    frames = _moving(40, missing=tuple(range(15, 21)))  # 6 frames: more than max_gap 5
    windows = segment_windows(recording_segments(_table(frames))[0], 0, PREP, stride=1)
    starts, ends = windows.start - 100, windows.end_frame - 100
    assert len(windows) > 0
    # Windows may end inside the gap while it is bridged (up to 5 frames held); the sixth
    # frame without a hand clears the window, so no window holds frame 20 or spans it.
    assert ((ends < 20) | (starts > 20)).all()
    # Frame values, not row numbers: the table's frames start at 100.
    np.testing.assert_array_equal(windows.end_frame - windows.start, 9)
    assert set(ends.tolist()) == set(range(9, 20)) | set(range(30, 40))


def test_a_photo_is_its_frame_held_for_a_window():
    hand = _moving(3)[2]
    x = still_window(hand, 0.75, PreprocessingConfig())
    assert x.shape == (30, 63)
    np.testing.assert_array_equal(x, np.repeat(x[:1], 30, axis=0))
    np.testing.assert_array_equal(x[0], frame_features(hand, 0.75, "canonical"))


def test_table_windows_label_by_the_given_gesture_order():
    table = make_table(subjects=("a",), gestures=("01_palm", "02_l"), frames=20)
    windows = table_windows(table, ["02_l", "01_palm"], PREP)
    assert len(windows) == 2 * 11
    np.testing.assert_array_equal(windows.labels, [1] * 11 + [0] * 11)  # 01_palm is class 1 here


# ---------------------------------------------------------------------------------------------
# Parity: the live path computes exactly the training path's model inputs.


class _Recorder:
    """Stands in for the classifier and keeps every window it is asked about."""

    def __init__(self, classes: int) -> None:
        self.inputs: list[np.ndarray] = []
        self.classes = classes

    def predict(self, window: np.ndarray) -> np.ndarray:
        self.inputs.append(np.array(window))
        return np.full(self.classes, 1.0 / self.classes, np.float32)


def _live_inputs(recognizer, table: LandmarkTable) -> np.ndarray:
    recorder = _Recorder(len(recognizer.gestures))
    recognizer.classifier = recorder
    for _, rows in table.sequences():
        recognizer.reset()
        for row in rows:
            landmarks = table.landmarks[row] if table.detected[row] else None
            recognizer.update(HandResult(landmarks, 1.0, float(table.aspect[row])))
    return np.stack(recorder.inputs)


def _with_holes(table: LandmarkTable) -> LandmarkTable:
    """The sample with frames lost as a live detector loses them: single frames and runs."""
    detected = table.detected.copy()
    rng = np.random.default_rng(0)
    detected[rng.random(len(detected)) < 0.08] = False
    for start in rng.choice(len(detected) - 8, size=12, replace=False):
        detected[start : start + int(rng.integers(2, 8))] = False
    landmarks = table.landmarks.copy()
    landmarks[~detected] = np.nan
    return replace(table, landmarks=landmarks, detected=detected)


@pytest.mark.parametrize("holes", [False, True], ids=["as-extracted", "with-lost-frames"])
def test_every_sample_window_pushed_frame_by_frame_gives_the_training_features(
    trained_model_dir, sample_landmarks, holes
):
    table = LandmarkTable.load(sample_landmarks)
    if holes:
        table = _with_holes(table)
    with RealTimeGestureRecognizer(trained_model_dir, extractor=_NoExtractor()) as recognizer:
        live = _live_inputs(recognizer, table)
        prep = recognizer.preprocessing
        trained = table_windows(table, recognizer.gestures, prep)
    assert prep.missing == "window"
    assert len(trained) > 900 and live.shape == (len(trained), 30, 63)
    if holes:
        assert (~table.detected).sum() > 150
    np.testing.assert_allclose(live, window_features(trained, prep.feature_mode), atol=1e-5)


class _NoExtractor:
    """The parity test feeds landmarks itself; the recognizer needs no camera model."""

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass
