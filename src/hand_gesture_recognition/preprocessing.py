"""The one path from landmarks to model input, shared by training, evaluation and live use.

A recording's landmarks become model input in three steps, all owned here:

1. **Windows.** :class:`WindowStream` keeps the last ``sequence_length`` frames of a stream,
   as live recognition sees them: a frame without a hand is kept as a gap, a gap longer than
   ``max_gap`` frames clears the window (the hand is gone), and a full window is handed out
   only when at most ``max_missing_fraction`` of its frames lack a hand. Training and
   evaluation windows are made by pushing each recording through the same stream
   (:func:`segment_windows`), so they are exactly the windows live use classifies.
2. **Missing frames.** The ``window`` policy (the default) fills gaps linearly between the
   nearest frames with a hand *inside the window*, holding the last known frame at the
   window's end: only what live use has seen by the window's last frame. ``zero`` leaves
   them empty (zero features; the original project's). ``interpolate`` (the default of
   earlier versions) filled over the whole recording, using frames after the window; it is
   kept so that models trained with it can be retrained, but live use cannot repeat it.
3. **Features.** :func:`~hand_gesture_recognition.features.frame_features` of each frame in
   the model's ``feature_mode``.

A photo is one frame: :func:`still_window` holds it for a whole window, an input the model
sees in training as the still copies of :func:`~hand_gesture_recognition.augment.still_copies`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from .config import PreprocessingConfig
from .extractor import NUM_LANDMARKS
from .features import NUM_FEATURES, frame_features
from .landmark_file import LandmarkTable

#: What :meth:`WindowStream.push` reports.
EMPTY, FILLING, SPARSE, READY = "empty", "filling", "sparse", "ready"


def fill_missing(landmarks: np.ndarray, policy: str) -> np.ndarray:
    """Fills frames without a hand (NaN rows) of one time series.

    Args:
        landmarks: ``(T, 21, 3)`` landmarks, NaN where no hand was found.
        policy: ``window`` or ``interpolate``: linear in time between the nearest frames with
            a hand, held constant before the first and after the last (the two differ in
            what series they are given: one window, or a whole recording); ``zero``: left as
            NaN, which the features turn into zeros.

    Returns:
        The filled copy (all NaN if no frame has a hand).
    """
    out = np.array(landmarks, dtype=np.float32, copy=True)
    if policy == "zero":
        return out
    present = ~np.isnan(out).any(axis=(1, 2))
    if present.all() or not present.any():
        return out
    times = np.arange(len(out))
    known = np.flatnonzero(present)
    flat = out.reshape(len(out), -1)
    for column in range(flat.shape[1]):
        flat[:, column] = np.interp(times, known, flat[known, column])
    return flat.reshape(out.shape)


@dataclass(frozen=True)
class Window:
    """One full window of a stream.

    Attributes:
        landmarks: ``(L, 21, 3)`` landmarks, missing frames filled by the policy.
        aspect: ``(L,)`` image height / width of each frame.
        missing: ``(L,)`` whether each frame lacked a hand.
    """

    landmarks: np.ndarray
    aspect: np.ndarray
    missing: np.ndarray


class WindowStream:
    """The last ``sequence_length`` frames of a stream, handed out as windows.

    Args:
        config: Window length, missing-frame policy, ``max_gap`` and ``max_missing_fraction``.
    """

    def __init__(self, config: PreprocessingConfig) -> None:
        self.config = config
        length = config.sequence_length
        self._landmarks: deque[np.ndarray] = deque(maxlen=length)
        self._aspects: deque[float] = deque(maxlen=length)
        self._present: deque[bool] = deque(maxlen=length)
        self._gap = 0

    def __len__(self) -> int:
        return len(self._present)

    def clear(self) -> None:
        """Forgets every frame."""
        self._landmarks.clear()
        self._aspects.clear()
        self._present.clear()
        self._gap = 0

    def push(self, landmarks: np.ndarray | None, aspect: float) -> tuple[str, Window | None]:
        """Adds the next frame.

        Args:
            landmarks: The frame's ``(21, 3)`` landmarks, or None (or NaN) without a hand.
            aspect: The frame's image height / width.

        Returns:
            The state and, when it is ``ready``, the window ending with this frame: ``empty``
            (no hand now, and none within ``max_gap`` frames), ``filling`` (fewer than
            ``sequence_length`` frames since the hand appeared), ``sparse`` (a full window
            with too many frames without a hand) or ``ready``.
        """
        points = None
        if landmarks is not None:
            points = np.asarray(landmarks, dtype=np.float32).reshape(NUM_LANDMARKS, 3)
            if np.isnan(points).any():
                points = None
        if points is not None:
            self._gap = 0
            self._landmarks.append(points)
            self._aspects.append(float(aspect))
            self._present.append(True)
        else:
            self._gap += 1
            if self._gap > self.config.max_gap or not self._present:
                self.clear()
                return EMPTY, None
            self._landmarks.append(np.full((NUM_LANDMARKS, 3), np.nan, np.float32))
            # The frame's own aspect is unknown without a hand in some sources; the stream's
            # images keep their shape, so the previous frame's is used.
            self._aspects.append(self._aspects[-1])
            self._present.append(False)
        if len(self._present) < self.config.sequence_length:
            return FILLING, None
        missing = np.logical_not(np.fromiter(self._present, bool, len(self._present)))
        if missing.mean() > self.config.max_missing_fraction:
            return SPARSE, None
        window = np.stack(self._landmarks)
        if missing.any():
            window = fill_missing(window, self.config.missing)
        return READY, Window(window, np.asarray(self._aspects, dtype=np.float32), missing)


def window_input(window: Window, config: PreprocessingConfig) -> np.ndarray:
    """The ``(L, 63)`` model input of one window."""
    return frame_features(window.landmarks, window.aspect, config.feature_mode)


def still_window(landmarks: np.ndarray, aspect: float, config: PreprocessingConfig) -> np.ndarray:
    """The ``(L, 63)`` model input of one photo: its landmarks held for a whole window."""
    features = frame_features(landmarks, aspect, config.feature_mode)
    return np.repeat(features.reshape(1, NUM_FEATURES), config.sequence_length, axis=0)


@dataclass(frozen=True)
class Segment:
    """A run of consecutive frames of one recording."""

    sequence: str
    subject: str
    gesture: str
    landmarks: np.ndarray  # (T, 21, 3), NaN where no hand was found
    missing: np.ndarray  # (T,) bool
    aspect: np.ndarray  # (T,)
    frames: np.ndarray  # (T,) the landmark file's ``frame`` value of each row

    def __len__(self) -> int:
        return len(self.landmarks)

    def slice(self, frames: range) -> Segment:
        """Returns the rows ``frames`` (a contiguous range) of the segment."""
        part = slice(frames.start, frames.stop)
        return Segment(
            self.sequence,
            self.subject,
            self.gesture,
            self.landmarks[part],
            self.missing[part],
            self.aspect[part],
            self.frames[part],
        )


@dataclass
class WindowSet:
    """Landmark windows with labels and where they came from."""

    windows: np.ndarray  # (n, L, 21, 3), missing frames filled by the policy
    aspect: np.ndarray  # (n, L)
    labels: np.ndarray  # (n,)
    sequence: np.ndarray  # (n,) str
    subject: np.ndarray  # (n,) str
    start: np.ndarray  # (n,) the ``frame`` value of the window's first frame
    end_frame: np.ndarray  # (n,) the ``frame`` value of the window's last frame

    FIELDS = ("windows", "aspect", "labels", "sequence", "subject", "start", "end_frame")

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, index: np.ndarray) -> WindowSet:
        """Returns the windows at ``index``."""
        return WindowSet(*(getattr(self, f)[index] for f in self.FIELDS))

    @staticmethod
    def empty(length: int) -> WindowSet:
        """A set without windows of ``length`` frames."""
        return WindowSet(
            np.zeros((0, length, NUM_LANDMARKS, 3), np.float32),
            np.zeros((0, length), np.float32),
            np.zeros(0, np.int64),
            np.zeros(0, str),
            np.zeros(0, str),
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
        )

    @staticmethod
    def concatenate(sets: list[WindowSet], length: int) -> WindowSet:
        """Joins window sets (an empty list gives an empty set)."""
        if not sets:
            return WindowSet.empty(length)
        return WindowSet(*(np.concatenate([getattr(s, f) for s in sets]) for f in WindowSet.FIELDS))


def recording_segments(table: LandmarkTable) -> list[Segment]:
    """Returns each recording of a landmark table as one segment in frame order."""
    return [
        Segment(
            sequence=sequence,
            subject=str(table.subject[rows[0]]),
            gesture=str(table.gesture[rows[0]]),
            landmarks=table.landmarks[rows],
            missing=~table.detected[rows],
            aspect=table.aspect[rows],
            frames=table.frame[rows].astype(np.int64),
        )
        for sequence, rows in table.sequences()
    ]


def segment_windows(
    segment: Segment, label: int, config: PreprocessingConfig, stride: int | None = None
) -> WindowSet:
    """The windows live use would classify over one segment, every ``stride``-th of them.

    The segment's frames are pushed through a :class:`WindowStream` (for the ``interpolate``
    policy of earlier versions: filled over the whole segment first, then cut, as they
    were trained).

    Args:
        segment: The frames.
        label: The class index of the segment's gesture.
        config: Window length, missing-frame policy, gap and drop thresholds.
        stride: Step between windows, counted from the segment's first frame
            (``config.window_stride`` when None).

    Returns:
        The windows (possibly none).
    """
    length = config.sequence_length
    stride = config.window_stride if stride is None else stride
    windows, aspects, ends = [], [], []
    if config.missing == "interpolate":
        filled = fill_missing(segment.landmarks, config.missing)
        for start in range(0, len(segment) - length + 1, stride):
            if segment.missing[start : start + length].mean() > config.max_missing_fraction:
                continue
            if np.isnan(filled[start : start + length]).all():
                continue
            windows.append(filled[start : start + length])
            aspects.append(segment.aspect[start : start + length])
            ends.append(start + length - 1)
    else:
        stream = WindowStream(config)
        for end in range(len(segment)):
            points = None if segment.missing[end] else segment.landmarks[end]
            state, window = stream.push(points, segment.aspect[end])
            if state == READY and (end - length + 1) % stride == 0:
                windows.append(window.landmarks)
                aspects.append(window.aspect)
                ends.append(end)
    n = len(windows)
    if n == 0:
        return WindowSet.empty(length)
    ends_array = np.asarray(ends, dtype=np.int64)
    return WindowSet(
        np.stack(windows).astype(np.float32),
        np.stack(aspects).astype(np.float32),
        np.full(n, label, np.int64),
        np.array([segment.sequence] * n, dtype=str),
        np.array([segment.subject] * n, dtype=str),
        segment.frames[ends_array - length + 1],
        segment.frames[ends_array],
    )


def window_features(windows: WindowSet, mode: str) -> np.ndarray:
    """Computes the ``(n, L, 63)`` model inputs of landmark windows."""
    return frame_features(windows.windows, windows.aspect, mode)


def table_windows(
    table: LandmarkTable,
    gestures: list[str],
    config: PreprocessingConfig,
    stride: int = 1,
    subjects: set[str] | None = None,
) -> WindowSet:
    """Every window of a table's recordings (of ``subjects``, if given) with class labels.

    Args:
        table: The landmarks.
        gestures: Class order; recordings of other gestures are left out.
        config: The preprocessing.
        stride: Step between windows.
        subjects: Keep only these subjects' recordings.

    Returns:
        The windows.
    """
    index = {g: i for i, g in enumerate(gestures)}
    return WindowSet.concatenate(
        [
            segment_windows(s, index[s.gesture], config, stride)
            for s in recording_segments(table)
            if s.gesture in index and (subjects is None or s.subject in subjects)
        ],
        config.sequence_length,
    )
