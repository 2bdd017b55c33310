"""From a landmark table to model-ready windows, split without leaks.

Each recording is a time series of landmarks. Frames without a hand are filled by the
configured policy, windows of ``sequence_length`` frames slide over the recording, and the
split into train, validation and test is made on whole subjects or on disjoint frame ranges of
each recording *before* windowing and augmentation, so no test frame, and no augmented copy of
one, is seen in training. The original project's random split of windows is kept as
``random`` for comparison only: overlapping windows put nearly the same frames on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .config import AugmentationConfig, PreprocessingConfig, TrainingConfig
from .errors import InputError
from .features import frame_features
from .landmark_file import LandmarkTable


@dataclass(frozen=True)
class Segment:
    """A run of consecutive frames of one recording."""

    sequence: str
    subject: str
    gesture: str
    landmarks: np.ndarray  # (T, 21, 3), NaN where no hand was found
    missing: np.ndarray  # (T,) bool
    aspect: np.ndarray  # (T,)
    first_frame: int = 0


@dataclass
class WindowSet:
    """Landmark windows with labels and where they came from."""

    windows: np.ndarray  # (n, L, 21, 3), missing frames filled by the policy
    aspect: np.ndarray  # (n, L)
    labels: np.ndarray  # (n,)
    sequence: np.ndarray  # (n,) str
    subject: np.ndarray  # (n,) str
    start: np.ndarray  # (n,) first frame index in the recording

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, index: np.ndarray) -> WindowSet:
        """Returns the windows at ``index``."""
        return WindowSet(
            self.windows[index],
            self.aspect[index],
            self.labels[index],
            self.sequence[index],
            self.subject[index],
            self.start[index],
        )

    @staticmethod
    def concatenate(sets: list[WindowSet], length: int) -> WindowSet:
        """Joins window sets (an empty list gives an empty set)."""
        if not sets:
            return WindowSet(
                np.zeros((0, length, 21, 3), np.float32),
                np.zeros((0, length), np.float32),
                np.zeros(0, np.int64),
                np.zeros(0, str),
                np.zeros(0, str),
                np.zeros(0, np.int64),
            )
        return WindowSet(
            *(
                np.concatenate([getattr(s, f) for s in sets])
                for f in ("windows", "aspect", "labels", "sequence", "subject", "start")
            )
        )


@dataclass
class SplitData:
    """Model inputs for each part of a split, and a description of the split."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    gestures: list[str]
    protocol: dict = field(default_factory=dict)


def fill_missing(landmarks: np.ndarray, policy: str) -> np.ndarray:
    """Fills frames without a hand (NaN rows) of one time series.

    Args:
        landmarks: ``(T, 21, 3)`` landmarks, NaN where no hand was found.
        policy: ``interpolate``: linear in time between the nearest frames with a hand, held
            constant before the first and after the last; ``zero``: left as NaN, which the
            features turn into zeros (the original project's behaviour).

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


def recording_segments(table: LandmarkTable) -> list[Segment]:
    """Returns each recording of a landmark table as one segment in frame order."""
    segments = []
    for sequence, rows in table.sequences():
        segments.append(
            Segment(
                sequence=sequence,
                subject=str(table.subject[rows[0]]),
                gesture=str(table.gesture[rows[0]]),
                landmarks=table.landmarks[rows],
                missing=~table.detected[rows],
                aspect=table.aspect[rows],
                first_frame=int(table.frame[rows[0]]),
            )
        )
    return segments


def segment_windows(
    segment: Segment, label: int, config: PreprocessingConfig, stride: int | None = None
) -> WindowSet:
    """Slides windows over one segment, dropping those with too many frames without a hand.

    Args:
        segment: The frames.
        label: The class index of the segment's gesture.
        config: Window length, missing-frame policy and drop threshold.
        stride: Step between windows (``config.window_stride`` when None).

    Returns:
        The windows (possibly none).
    """
    length = config.sequence_length
    stride = config.window_stride if stride is None else stride
    filled = fill_missing(segment.landmarks, config.missing)
    starts = [
        s
        for s in range(0, len(filled) - length + 1, stride)
        if segment.missing[s : s + length].mean() <= config.max_missing_fraction
        and not np.isnan(filled[s : s + length]).all()
    ]
    n = len(starts)
    windows = (
        np.stack([filled[s : s + length] for s in starts])
        if n
        else np.zeros((0, length, 21, 3), np.float32)
    )
    aspect = (
        np.stack([segment.aspect[s : s + length] for s in starts])
        if n
        else np.zeros((0, length), np.float32)
    )
    return WindowSet(
        windows.astype(np.float32),
        aspect.astype(np.float32),
        np.full(n, label, np.int64),
        np.array([segment.sequence] * n, dtype=str),
        np.array([segment.subject] * n, dtype=str),
        np.array(starts, dtype=np.int64) + segment.first_frame,
    )


def window_features(windows: WindowSet, mode: str) -> np.ndarray:
    """Computes the ``(n, L, 63)`` model inputs of landmark windows."""
    return frame_features(windows.windows, windows.aspect, mode)


def resolve_split(kind: str, subjects: list[str]) -> str:
    """Turns ``auto`` into ``subject`` (three or more subjects) or ``time``."""
    if kind == "auto":
        return "subject" if len(subjects) >= 3 else "time"
    if kind == "subject" and len(subjects) < 3:
        raise InputError(
            f"--split subject needs at least 3 subjects, the data has {len(subjects)}; "
            "use --split time"
        )
    return kind


def subject_split(
    subjects: list[str], fractions: tuple[float, float, float], seed: int
) -> tuple[list[str], list[str], list[str]]:
    """Assigns whole subjects to train, validation and test (at least one each).

    Raises:
        InputError: With fewer than three subjects.
    """
    if len(subjects) < 3:
        raise InputError(f"a subject split needs at least 3 subjects, got {len(subjects)}")
    order = list(np.random.default_rng(seed).permutation(sorted(subjects)))
    n = len(order)
    n_test = max(1, round(fractions[2] * n))
    n_val = max(1, round(fractions[1] * n))
    n_test = min(n_test, n - 2)
    n_val = min(n_val, n - n_test - 1)
    test, val, train = order[:n_test], order[n_test : n_test + n_val], order[n_test + n_val :]
    return sorted(train), sorted(val), sorted(test)


def time_parts(
    n_frames: int, length: int, fractions: tuple[float, float, float], min_windows: int = 5
) -> tuple[range, range, range]:
    """Cuts one recording into disjoint train, validation and test frame ranges, in that order.

    The test part is the end of the recording. Validation and test each get their share of
    the frames but at least ``length + min_windows - 1`` frames (``min_windows`` windows at
    stride 1); training keeps the rest.

    Raises:
        InputError: If the recording is too short for a window in every part.
    """
    floor = length + min_windows - 1
    n_test = max(round(fractions[2] * n_frames), floor)
    n_val = max(round(fractions[1] * n_frames), floor)
    if n_frames - n_test - n_val < length:
        # Too short for the preferred sizes: fall back to one window per evaluation part.
        n_test = n_val = length
    if n_frames - n_test - n_val < length:
        raise InputError(
            f"a recording of {n_frames} frames is too short for a time split with "
            f"{length}-frame windows (needs at least {3 * length})"
        )
    n_train = n_frames - n_test - n_val
    return range(0, n_train), range(n_train, n_train + n_val), range(n_train + n_val, n_frames)


def slice_segment(segment: Segment, frames: range) -> Segment:
    """Returns the frames ``frames`` (a contiguous range) of a segment."""
    return Segment(
        segment.sequence,
        segment.subject,
        segment.gesture,
        segment.landmarks[frames.start : frames.stop],
        segment.missing[frames.start : frames.stop],
        segment.aspect[frames.start : frames.stop],
        segment.first_frame + frames.start,
    )


def split_windows(
    table: LandmarkTable,
    preprocessing: PreprocessingConfig,
    training: TrainingConfig,
    gestures: list[str] | None = None,
) -> tuple[WindowSet, WindowSet, WindowSet, dict]:
    """Splits a landmark table into train, validation and test windows.

    Args:
        table: The landmarks.
        preprocessing: Window settings.
        training: Split kind, fractions and seed.
        gestures: Class order (the table's gestures by default).

    Returns:
        Train, validation and test windows, and a description of the protocol.

    Raises:
        InputError: If the data is too small for the split.
    """
    from .dataset import gesture_order

    gestures = gesture_order(table.gestures) if gestures is None else gestures
    index = {g: i for i, g in enumerate(gestures)}
    segments = [s for s in recording_segments(table) if s.gesture in index]
    subjects = sorted({s.subject for s in segments})
    kind = resolve_split(training.split, subjects)
    length = preprocessing.sequence_length
    stride = preprocessing.window_stride
    parts: tuple[list[WindowSet], list[WindowSet], list[WindowSet]] = ([], [], [])
    protocol: dict = {
        "split": kind,
        "fractions": list(training.split_fractions),
        "seed": training.seed,
        "subjects": subjects,
    }

    if kind == "subject":
        train_s, val_s, test_s = subject_split(subjects, training.split_fractions, training.seed)
        protocol.update(train_subjects=train_s, val_subjects=val_s, test_subjects=test_s)
        for segment in segments:
            part = 0 if segment.subject in train_s else 1 if segment.subject in val_s else 2
            # Evaluation windows slide at stride 1: more windows, no effect on training cost.
            parts[part].append(
                segment_windows(
                    segment, index[segment.gesture], preprocessing, stride if part == 0 else 1
                )
            )
    elif kind == "time":
        for segment in segments:
            ranges = time_parts(len(segment.landmarks), length, training.split_fractions)
            for part, frames in enumerate(ranges):
                parts[part].append(
                    segment_windows(
                        slice_segment(segment, frames),
                        index[segment.gesture],
                        preprocessing,
                        stride if part == 0 else 1,
                    )
                )
        protocol["description"] = (
            "each recording cut in time: first frames train, then validation, last frames test"
        )
    else:
        every = WindowSet.concatenate(
            [segment_windows(s, index[s.gesture], preprocessing) for s in segments], length
        )
        if len(every) < 3:
            raise InputError(
                f"the random split needs at least 3 windows of {length} frames, found "
                f"{len(every)} (recordings too short, or too few frames with a detected hand?)"
            )
        order = np.random.default_rng(training.seed).permutation(len(every))
        n_test = round(training.split_fractions[2] * len(every))
        n_val = round(training.split_fractions[1] * len(every))
        protocol["description"] = (
            "random split of overlapping windows (the original project's); LEAKY: neighbouring "
            "windows share frames across train and test, so test accuracy is optimistic"
        )
        return (
            every.take(order[n_test + n_val :]),
            every.take(order[n_test : n_test + n_val]),
            every.take(order[:n_test]),
            protocol,
        )

    train, val, test = (WindowSet.concatenate(p, length) for p in parts)
    for name, part in (("training", train), ("validation", val), ("test", test)):
        if len(part) == 0:
            raise InputError(
                f"the {kind} split leaves no {name} windows of {length} frames "
                f"(too few frames with a detected hand?)"
            )
    if kind == "subject":
        protocol["description"] = (
            f"whole subjects held out: test {', '.join(protocol['test_subjects'])}, "
            f"validation {', '.join(protocol['val_subjects'])}"
        )
    return train, val, test, protocol


def prepare_data(
    table: LandmarkTable,
    preprocessing: PreprocessingConfig,
    augmentation: AugmentationConfig,
    training: TrainingConfig,
    gestures: list[str] | None = None,
) -> SplitData:
    """Windows, splits, augments (training windows only) and computes features.

    For the ``random`` split the original project's order is kept: every window is augmented
    first and the copies are then split at random, which is what made its figure optimistic.

    Args:
        table: The landmarks.
        preprocessing: Window and feature settings.
        augmentation: Augmentation settings.
        training: Split settings and seed.
        gestures: Class order (the table's gestures by default).

    Returns:
        Features and labels of each part.
    """
    from .augment import augment_windows
    from .dataset import gesture_order

    gestures = gesture_order(table.gestures) if gestures is None else gestures
    rng = np.random.default_rng(training.seed)
    mode = preprocessing.feature_mode
    train, val, test, protocol = split_windows(table, preprocessing, training, gestures)
    if protocol["split"] == "random":
        every = WindowSet.concatenate([train, val, test], preprocessing.sequence_length)
        windows, labels = augment_windows(
            every.windows,
            every.labels,
            augmentation,
            preprocessing.missing,
            rng,
            every.aspect,
            mode,
        )
        aspect = np.concatenate([every.aspect] * (1 + augmentation.copies))
        x = frame_features(windows, aspect, mode)
        order = rng.permutation(len(x))
        n_test = round(training.split_fractions[2] * len(x))
        n_val = round(training.split_fractions[1] * len(x))
        te, va, tr = order[:n_test], order[n_test : n_test + n_val], order[n_test + n_val :]
        return SplitData(
            x[tr], labels[tr], x[va], labels[va], x[te], labels[te], gestures, protocol
        )
    windows, labels = augment_windows(
        train.windows, train.labels, augmentation, preprocessing.missing, rng, train.aspect, mode
    )
    aspect = np.concatenate([train.aspect] * (1 + augmentation.copies))
    x_train = frame_features(windows, aspect, mode)
    shuffle = rng.permutation(len(x_train))
    protocol["windows"] = {
        "train": int(len(train)),
        "train_augmented": int(len(x_train)),
        "validation": int(len(val)),
        "test": int(len(test)),
    }
    return SplitData(
        x_train[shuffle],
        labels[shuffle],
        window_features(val, mode),
        val.labels,
        window_features(test, mode),
        test.labels,
        gestures,
        protocol,
    )
