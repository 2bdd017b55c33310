from pathlib import Path

import numpy as np
import pytest
from helpers import make_table

from hand_gesture_recognition.config import (
    AugmentationConfig,
    PreprocessingConfig,
    TrainingConfig,
)
from hand_gesture_recognition.errors import InputError
from hand_gesture_recognition.landmark_file import LandmarkTable, merge_tables
from hand_gesture_recognition.record import cut_takes
from hand_gesture_recognition.sequences import (
    prepare_data,
    split_windows,
    subject_split,
    time_parts,
)

PREP = PreprocessingConfig(sequence_length=10, window_stride=1)


def test_time_parts_are_disjoint_ordered_and_hold_whole_windows():
    for n in (130, 200, 90):
        train, val, test = time_parts(n, 30, (0.64, 0.16, 0.20))
        assert train.start == 0 and train.stop == val.start and val.stop == test.start
        assert test.stop == n
        assert min(len(train), len(val), len(test)) >= 30
    assert len(time_parts(130, 30, (0.64, 0.16, 0.20))[2]) >= 34
    with pytest.raises(InputError, match="too short"):
        time_parts(80, 30, (0.64, 0.16, 0.20))


def test_subject_split_assigns_each_subject_once_and_is_seeded():
    subjects = [f"{i:02d}" for i in range(10)]
    train, val, test = subject_split(subjects, (0.64, 0.16, 0.20), seed=1)
    assert sorted(train + val + test) == subjects
    assert (len(train), len(val), len(test)) == (6, 2, 2)
    assert subject_split(subjects, (0.64, 0.16, 0.20), seed=1) == (train, val, test)
    assert subject_split(subjects, (0.64, 0.16, 0.20), seed=2) != (train, val, test)
    with pytest.raises(InputError):
        subject_split(["a", "b"], (0.64, 0.16, 0.20), 0)


def test_subject_split_never_shares_a_subject():
    table = make_table()
    train, val, test, protocol = split_windows(table, PREP, TrainingConfig(split="subject"))
    sides = [set(part.subject) for part in (train, val, test)]
    assert sides[0].isdisjoint(sides[1]) and sides[0].isdisjoint(sides[2])
    assert sides[1].isdisjoint(sides[2])
    assert protocol["split"] == "subject" and set(protocol["test_subjects"]) == sides[2]


def test_time_split_never_shares_a_frame():
    table = make_table(subjects=("s1",), frames=60)
    train, val, test, protocol = split_windows(table, PREP, TrainingConfig(split="auto"))
    assert protocol["split"] == "time"
    for sequence in set(table.sequence):

        def frames(part, sequence=sequence):
            starts = part.start[part.sequence == sequence]
            return {f for s in starts for f in range(s, s + 10)}

        train_f, val_f, test_f = frames(train), frames(val), frames(test)
        assert train_f and val_f and test_f
        assert train_f.isdisjoint(test_f) and train_f.isdisjoint(val_f)
        assert val_f.isdisjoint(test_f)
        assert max(train_f) < min(val_f) <= max(val_f) < min(test_f)


def test_windows_with_too_many_missing_frames_are_dropped():
    table = make_table(subjects=("s1",), frames=60, missing_every=2)  # Half the frames missing.
    strict = PreprocessingConfig(sequence_length=10, max_missing_fraction=0.4)
    with pytest.raises(InputError, match="no training windows"):
        split_windows(table, strict, TrainingConfig(split="time"))
    lenient = PreprocessingConfig(sequence_length=10, max_missing_fraction=0.5)
    train, *_ = split_windows(table, lenient, TrainingConfig(split="time"))
    assert len(train) > 0 and not np.isnan(train.windows).any()


def test_augmentation_touches_training_windows_only():
    table = make_table()
    training = TrainingConfig(split="subject", seed=3)
    plain = prepare_data(table, PREP, AugmentationConfig(copies=0), training)
    augmented = prepare_data(table, PREP, AugmentationConfig(copies=2), training)
    assert len(augmented.x_train) == 3 * len(plain.x_train)
    np.testing.assert_array_equal(augmented.x_test, plain.x_test)
    np.testing.assert_array_equal(augmented.y_val, plain.y_val)
    assert augmented.x_train.shape[1:] == (10, 63)
    assert augmented.gestures == ["01_palm", "02_l"]
    again = prepare_data(table, PREP, AugmentationConfig(copies=2), training)
    np.testing.assert_array_equal(again.x_train, augmented.x_train)


def test_shifted_validation_windows_are_copies_of_each_with_its_class():
    table = make_table()
    training = TrainingConfig(split="subject", seed=3)
    data = prepare_data(table, PREP, AugmentationConfig(copies=2), training)
    n = len(data.y_val)
    assert data.x_shifted.shape == (3 * n, 10, 63)
    np.testing.assert_array_equal(data.y_shifted, np.tile(data.y_val, 3))
    # Each copy is its window turned and stretched: close to it, never equal.
    for copy in range(3):
        shifted = data.x_shifted[copy * n : (copy + 1) * n]
        assert not np.allclose(shifted, data.x_val, atol=1e-3)
    again = prepare_data(table, PREP, AugmentationConfig(copies=2), training)
    np.testing.assert_array_equal(again.x_shifted, data.x_shifted)
    # Drawn after the augmentation: the training inputs do not depend on them.
    np.testing.assert_array_equal(again.x_train, data.x_train)
    leaky = prepare_data(table, PREP, AugmentationConfig(), TrainingConfig(split="random"))
    np.testing.assert_array_equal(leaky.y_shifted, np.tile(leaky.y_val, 3))


def test_opening_palms_changes_only_training_palms_and_draws_nothing_else():
    table = make_table()
    training = TrainingConfig(split="subject", seed=3)
    opened = prepare_data(table, PREP, AugmentationConfig(), training)
    closed = prepare_data(table, PREP, AugmentationConfig(open_gestures=()), training)
    for name in ("x_val", "x_test", "x_shifted", "y_train"):
        np.testing.assert_array_equal(getattr(opened, name), getattr(closed, name))
    # The opening draws from its own stream: every other window and copy is the same.
    palm = opened.y_train == opened.gestures.index("01_palm")
    np.testing.assert_array_equal(opened.x_train[~palm], closed.x_train[~palm])
    changed = np.abs(opened.x_train[palm] - closed.x_train[palm]).max(axis=(1, 2)) > 1e-4
    # The palms opened are those whose draw from the child stream falls under the share,
    # each with its two augmented copies.
    train, _, _, _ = split_windows(table, PREP, training, opened.gestures)
    palms = int((train.labels == opened.gestures.index("01_palm")).sum())
    chosen = np.random.default_rng(3).spawn(1)[0].random(palms) < 0.5
    assert 0 < chosen.sum() < palms
    assert changed.sum() == 3 * chosen.sum()


def test_only_training_windows_take_the_donors_fingers():
    table = make_table()
    training = TrainingConfig(split="subject", seed=3)
    plain = prepare_data(table, PREP, AugmentationConfig(copies=0, finger_donors=()), training)
    given = prepare_data(
        table,
        PREP,
        AugmentationConfig(copies=0, finger_donors=("02_l:middle:01_palm",)),
        training,
    )
    np.testing.assert_array_equal(given.x_val, plain.x_val)
    np.testing.assert_array_equal(given.x_test, plain.x_test)

    def rows(data, label):
        return {x.tobytes() for x in data.x_train[data.y_train == label]}

    assert rows(given, 0) == rows(plain, 0)  # the palms are as extracted
    assert not rows(given, 1) & rows(plain, 1)  # every L has another middle finger


def test_random_split_is_marked_leaky():
    data = prepare_data(make_table(), PREP, AugmentationConfig(), TrainingConfig(split="random"))
    assert "LEAKY" in data.protocol["description"]
    total = len(data.x_train) + len(data.x_val) + len(data.x_test)
    assert len(data.x_test) == round(0.2 * total)


def test_subject_split_needs_three_subjects():
    table = make_table(subjects=("s1", "s2"))
    with pytest.raises(InputError, match="--split time"):
        split_windows(table, PREP, TrainingConfig(split="subject"))


def _two_people_takes(sample_landmarks):
    """Two "people": three 32-frame takes and one 34-frame take of three gestures (real)."""
    table = LandmarkTable.load(sample_landmarks)
    gestures = ("01_palm", "05_thumb", "10_down")
    first = cut_takes(table.subset(table.frame < 96), (0, 32, 64), gestures, subject="ana")
    second = cut_takes(table.subset(table.frame >= 96), (96,), gestures, subject="ben")
    return merge_tables([(Path("ana.npz"), first), (Path("ben.npz"), second)])


def test_auto_holds_out_whole_recordings_when_they_are_too_short_for_time(sample_landmarks):
    table = _two_people_takes(sample_landmarks)
    train, val, test, protocol = split_windows(
        table, PreprocessingConfig(), TrainingConfig(split="auto", seed=3)
    )
    assert protocol["split"] == "recording"
    sides = [set(part.sequence) for part in (train, val, test)]
    assert sides[0].isdisjoint(sides[1]) and sides[0].isdisjoint(sides[2])
    assert sides[1].isdisjoint(sides[2])
    assert sides[1] == set(protocol["val_recordings"])
    assert sides[2] == set(protocol["test_recordings"])
    # One of the four recordings of each gesture validates, one tests, two train.
    for name, count in (("train", 2), ("val", 1), ("test", 1)):
        held = protocol[f"{name}_recordings"]
        for gesture in ("01_palm", "05_thumb", "10_down"):
            assert len([s for s in held if gesture in s]) == count, (name, gesture, held)
    assert min(len(train), len(val), len(test)) > 0
    again = split_windows(table, PreprocessingConfig(), TrainingConfig(split="auto", seed=3))
    assert again[3]["test_recordings"] == protocol["test_recordings"]


def test_the_none_split_keeps_no_test_set(sample_landmarks):
    table = _two_people_takes(sample_landmarks)
    data = prepare_data(
        table,
        PreprocessingConfig(),
        AugmentationConfig(copies=0),
        TrainingConfig(split="none", seed=3),
    )
    assert data.protocol["split"] == "none" and len(data.x_test) == 0
    assert data.protocol["test_recordings"] == []
    assert len(data.protocol["val_recordings"]) == 3  # One recording of each gesture.
    assert len(data.protocol["train_recordings"]) == 9
    assert sorted(set(data.y_val)) == [0, 1, 2] and sorted(set(data.y_train)) == [0, 1, 2]


def test_too_few_short_recordings_are_refused_naming_the_gesture():
    table = make_table(subjects=("s1", "s2"), frames=20)
    with pytest.raises(InputError, match="'01_palm' has 2 recording.*too short for a time split"):
        split_windows(table, PREP, TrainingConfig(split="auto"))
    train, val, test, protocol = split_windows(table, PREP, TrainingConfig(split="none"))
    assert protocol["split"] == "none" and len(test) == 0 and len(val) > 0
    with pytest.raises(InputError, match="needs at least 2"):
        split_windows(make_table(subjects=("s1",), frames=20), PREP, TrainingConfig(split="none"))
