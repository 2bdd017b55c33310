"""Splitting a landmark table into training, validation and test inputs, without leaks.

The split into train, validation and test is made on whole subjects, on whole recordings of
each gesture, or on disjoint frame ranges of each recording *before* windowing and
augmentation, so no test frame, and no augmented copy of one, is seen in training. The
``none`` split keeps no test set: whole recordings of each gesture are held out for
validation only (what early stopping and calibration need), the rest trains. Windows,
missing frames and features come from :mod:`~hand_gesture_recognition.preprocessing`, the
path live use shares. The original project's random split of windows is kept as ``random``
for comparison only: overlapping windows put nearly the same frames on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .augment import augment_windows, give_fingers, open_hands
from .calibration import ShiftConfig, shift_windows
from .config import AugmentationConfig, PreprocessingConfig, TrainingConfig
from .dataset import gesture_order
from .errors import InputError
from .features import frame_features
from .landmark_file import LandmarkTable
from .preprocessing import (
    Segment,
    WindowSet,
    recording_segments,
    segment_windows,
    window_features,
)


@dataclass
class SplitData:
    """Model inputs for each part of a split, and a description of the split.

    ``x_shifted`` and ``y_shifted`` are shifted copies of the validation windows
    (:func:`shifted_inputs`) and their classes, on which temperatures are fitted; empty
    when the split has no validation windows. ``parts`` are the landmark windows of the
    split (training, validation, test) as extracted, before any augmentation: what the
    rejection rules, synthetic non-gestures and shifted copies of a training run are made
    of, so that the table is split once per run. For the ``random`` split ``x_test`` is not
    made of ``parts[2]`` (see :func:`prepare_data`).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    gestures: list[str]
    protocol: dict = field(default_factory=dict)
    x_shifted: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0), np.float32))
    y_shifted: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    parts: tuple[WindowSet, WindowSet, WindowSet] | None = None


def resolve_split(
    kind: str, subjects: list[str], shortest: int | None = None, length: int = 30
) -> str:
    """Turns ``auto`` into a split kind and checks that the data allows the chosen one.

    ``auto`` is ``subject`` with three or more subjects; with fewer, ``time`` when every
    recording is long enough to be cut into train, validation and test windows
    (``3 * length`` frames), else ``recording`` (whole recordings held out).

    Args:
        kind: The split asked for (``auto`` or one of the kinds).
        subjects: The data's subjects.
        shortest: Frames of the shortest recording (None: unknown, taken as long enough).
        length: Frames per window.

    Returns:
        The split kind.

    Raises:
        InputError: If ``subject`` is asked for with fewer than three subjects.
    """
    if kind == "auto":
        if len(subjects) >= 3:
            return "subject"
        return "time" if shortest is None or shortest >= 3 * length else "recording"
    if kind == "subject" and len(subjects) < 3:
        raise InputError(
            f"--split subject needs at least 3 subjects, the data has {len(subjects)}; "
            "use --split time (long recordings) or --split recording (several per gesture)"
        )
    return kind


def hold_out(
    items: list[str], fractions: tuple[float, float, float], seed: int, test: bool = True
) -> tuple[list[str], list[str], list[str]]:
    """Assigns whole items (subjects or recordings) to train, validation and test.

    Validation and test get their share of the items, rounded, but at least one each, and
    training keeps at least one. Without ``test`` the test share goes to training.

    Args:
        items: The ids; their order does not matter (they are sorted, then shuffled).
        fractions: Train, validation and test shares.
        seed: Seed of the shuffle.
        test: Whether a test part is held out.

    Returns:
        Train, validation and test ids, each sorted.
    """
    order = [str(item) for item in np.random.default_rng(seed).permutation(sorted(items))]
    n = len(order)
    n_test = min(max(1, round(fractions[2] * n)), n - 2) if test else 0
    n_val = min(max(1, round(fractions[1] * n)), n - n_test - 1)
    test_part, val = order[:n_test], order[n_test : n_test + n_val]
    return sorted(order[n_test + n_val :]), sorted(val), sorted(test_part)


def subject_split(
    subjects: list[str], fractions: tuple[float, float, float], seed: int
) -> tuple[list[str], list[str], list[str]]:
    """Assigns whole subjects to train, validation and test (at least one each).

    Raises:
        InputError: With fewer than three subjects.
    """
    if len(subjects) < 3:
        raise InputError(f"a subject split needs at least 3 subjects, got {len(subjects)}")
    return hold_out(subjects, fractions, seed)


def recording_split(
    segments: list[Segment],
    fractions: tuple[float, float, float],
    seed: int,
    test: bool = True,
    length: int = 30,
) -> tuple[set[str], set[str], set[str]]:
    """Holds out whole recordings of each gesture for validation (and test).

    Each gesture's recordings are shuffled (seeded) and cut by :func:`hold_out`, so every
    gesture is in every part. It needs three recordings of each gesture (two without a test
    part).

    Args:
        segments: The recordings.
        fractions: Train, validation and test shares of each gesture's recordings.
        seed: Seed of the shuffle.
        test: Whether a test part is held out.
        length: Frames per window (for the error message).

    Returns:
        The sequence ids of the train, validation and test recordings.

    Raises:
        InputError: If a gesture has too few recordings.
    """
    needed = 3 if test else 2
    by_gesture: dict[str, list[str]] = {}
    for segment in segments:
        by_gesture.setdefault(segment.gesture, []).append(segment.sequence)
    parts: tuple[set[str], set[str], set[str]] = (set(), set(), set())
    for offset, (gesture, ids) in enumerate(sorted(by_gesture.items())):
        if len(ids) < needed:
            shortest = min(len(s) for s in segments)
            raise InputError(
                f"--split {'recording' if test else 'none'}: gesture {gesture!r} has "
                f"{len(ids)} recording(s); the split needs at least {needed} of each "
                f"gesture (and recordings of {shortest} frames are too short for a time split "
                f"with {length}-frame windows, which needs {3 * length})"
            )
        for part, chosen in zip(parts, hold_out(ids, fractions, seed + offset, test), strict=True):
            part.update(chosen)
    return parts


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
        Train, validation and test windows (no test windows with the ``none`` split), and a
        description of the protocol.

    Raises:
        InputError: If the data is too small for the split.
    """
    gestures = gesture_order(table.gestures) if gestures is None else gestures
    index = {g: i for i, g in enumerate(gestures)}
    segments = [s for s in recording_segments(table) if s.gesture in index]
    subjects = sorted({s.subject for s in segments})
    length = preprocessing.sequence_length
    shortest = min((len(s) for s in segments), default=None)
    kind = resolve_split(training.split, subjects, shortest, length)
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
    elif kind in ("recording", "none"):
        held = recording_split(
            segments, training.split_fractions, training.seed, kind == "recording", length
        )
        protocol.update(
            train_recordings=sorted(held[0]),
            val_recordings=sorted(held[1]),
            test_recordings=sorted(held[2]),
        )
        for segment in segments:
            part = next(i for i, ids in enumerate(held) if segment.sequence in ids)
            parts[part].append(
                segment_windows(
                    segment, index[segment.gesture], preprocessing, stride if part == 0 else 1
                )
            )
        protocol["description"] = (
            "whole recordings of each gesture held out for validation and test"
            if kind == "recording"
            else "no test set: whole recordings of each gesture held out for validation "
            "(early stopping, calibration), the rest trains"
        )
    elif kind == "time":
        for segment in segments:
            ranges = time_parts(len(segment), length, training.split_fractions)
            for part, frames in enumerate(ranges):
                parts[part].append(
                    segment_windows(
                        segment.slice(frames),
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
        if len(part) == 0 and not (name == "test" and kind == "none"):
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
    gestures = gesture_order(table.gestures) if gestures is None else gestures
    rng = np.random.default_rng(training.seed)
    mode = preprocessing.feature_mode
    train, val, test, protocol = split_windows(table, preprocessing, training, gestures)
    if protocol["split"] == "random":
        every = WindowSet.concatenate([train, val, test], preprocessing.sequence_length)
        # The original project's leaky protocol: every window is training material here.
        given = given_windows(every, gestures, augmentation, rng)
        windows, labels, aspect = augment_windows(
            given,
            every.labels,
            augmentation,
            preprocessing.missing,
            rng,
            every.aspect,
            mode,
        )
        x = frame_features(windows, aspect, mode)
        order = rng.permutation(len(x))
        n_test = round(training.split_fractions[2] * len(x))
        n_val = round(training.split_fractions[1] * len(x))
        te, va, tr = order[:n_test], order[n_test : n_test + n_val], order[n_test + n_val :]
        return SplitData(
            x[tr],
            labels[tr],
            x[va],
            labels[va],
            x[te],
            labels[te],
            gestures,
            protocol,
            *shifted_inputs(windows[va], aspect[va], labels[va], mode, rng),
            (train, val, test),
        )
    data = training_inputs(train, val, test, gestures, augmentation, preprocessing, rng)
    data.protocol = {**protocol, **data.protocol}
    return data


def training_inputs(
    train: WindowSet,
    val: WindowSet,
    test: WindowSet,
    gestures: list[str],
    augmentation: AugmentationConfig,
    preprocessing: PreprocessingConfig,
    rng: np.random.Generator,
) -> SplitData:
    """Augments the training windows (shuffled) and computes every part's features.

    The training windows are first opened and given fingers (:func:`given_windows`);
    validation and test windows stay as extracted.

    Args:
        train: Training windows.
        val: Validation windows.
        test: Test windows.
        gestures: Class order.
        augmentation: Augmentation settings.
        preprocessing: Feature settings.
        rng: Random generator for augmentation and the shuffle.

    Returns:
        Features and labels of each part, and shifted validation windows (drawn after the
        augmentation and the shuffle); ``protocol`` holds the window counts.
    """
    mode = preprocessing.feature_mode
    given = given_windows(train, gestures, augmentation, rng)
    windows, labels, aspect = augment_windows(
        given, train.labels, augmentation, preprocessing.missing, rng, train.aspect, mode
    )
    x_train = frame_features(windows, aspect, mode)
    shuffle = rng.permutation(len(x_train))
    windows_count = {
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
        {"windows": windows_count},
        *shifted_inputs(val.windows, val.aspect, val.labels, mode, rng),
        (train, val, test),
    )


def given_windows(
    windows: WindowSet,
    gestures: list[str],
    augmentation: AugmentationConfig,
    rng: np.random.Generator,
) -> np.ndarray:
    """Training landmark windows opened and given fingers, before they are augmented.

    Some windows of ``augmentation.open_gestures`` are opened
    (:func:`~hand_gesture_recognition.augment.open_hands`), then the windows of
    ``augmentation.finger_donors`` take their donors' fingers
    (:func:`~hand_gesture_recognition.augment.give_fingers`). The opening draws from a
    child of ``rng`` (``rng.spawn``), which leaves ``rng``'s own draws as they would be
    without it: turning it off changes nothing else.

    Returns:
        ``(n, L, 21, 3)`` landmark windows.
    """
    opened = open_hands(
        windows.windows, windows.aspect, windows.labels, gestures, augmentation, rng.spawn(1)[0]
    )
    return give_fingers(
        opened, windows.aspect, windows.labels, gestures, augmentation.finger_donors, rng
    )


def shifted_inputs(
    windows: np.ndarray,
    aspect: np.ndarray,
    labels: np.ndarray,
    mode: str,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Model inputs of shifted copies of windows (:class:`ShiftConfig`), and their labels.

    The shift turns the hand in 3-D and changes finger proportions, depth and noise, as
    another person or camera would show it.

    Args:
        windows: ``(n, L, 21, 3)`` landmark windows.
        aspect: ``(n, L)`` their image height / width.
        labels: ``(n,)`` their classes.
        mode: Feature mode.
        rng: Random generator for the shift.

    Returns:
        The copies' ``(n * copies, L, F)`` features and their classes.
    """
    shifted, shifted_aspect = shift_windows(windows, aspect, ShiftConfig(), rng)
    copies = len(shifted) // max(len(windows), 1)
    return frame_features(shifted, shifted_aspect, mode), np.tile(labels, copies)
