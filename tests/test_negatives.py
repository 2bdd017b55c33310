import numpy as np
import pytest

from hand_gesture_recognition.augment import transplant_fingers
from hand_gesture_recognition.config import PreprocessingConfig, TrainingConfig
from hand_gesture_recognition.dataset import gesture_order
from hand_gesture_recognition.features import FINGER_CHAINS, finger_extension, isotropic
from hand_gesture_recognition.landmark_file import LandmarkTable
from hand_gesture_recognition.negatives import transplants
from hand_gesture_recognition.sequences import split_windows

#: Landmarks that no transplant moves: the wrist, the thumb's base and the four knuckles.
PALM = [0, 1, 5, 9, 13, 17]


@pytest.fixture(scope="module")
def windows(sample_landmarks):
    table = LandmarkTable.load(sample_landmarks)
    gestures = gesture_order(table.gestures)
    prep = PreprocessingConfig(window_stride=3)
    train, _, _, _ = split_windows(table, prep, TrainingConfig(split="time", seed=0), gestures)
    return train, gestures


def test_a_straight_finger_has_extension_one_and_a_bent_one_its_chord_over_its_length():
    hand = np.zeros((21, 3))
    for finger, chain in enumerate(FINGER_CHAINS):
        for step, landmark in enumerate(chain):
            hand[landmark] = (finger, step, 0.0)  # every finger straight, bones of length 1
    hand[FINGER_CHAINS[2][-1]] = (2 + 1.0, 2.0, 0.0)  # middle tip bent 90 degrees sideways
    extension = finger_extension(hand)
    np.testing.assert_allclose(extension[[0, 1, 3, 4]], 1.0, atol=1e-12)
    np.testing.assert_allclose(extension[2], np.sqrt(5.0) / 3.0, atol=1e-12)


def test_a_hand_given_its_own_fingers_is_unchanged(windows):
    train, _ = windows
    hand = isotropic(train.windows[0], train.aspect[0])
    np.testing.assert_allclose(transplant_fingers(hand, hand, range(5)), hand, atol=1e-5)


def test_a_transplanted_finger_keeps_the_donors_shape(windows):
    train, gestures = windows
    points = isotropic(train.windows, train.aspect)
    fist = points[np.flatnonzero(train.labels == gestures.index("03_fist"))[0]]
    palm = points[np.flatnonzero(train.labels == gestures.index("01_palm"))[0]]
    hand = transplant_fingers(fist, palm, [1, 2])  # index and middle finger up: a V sign
    np.testing.assert_allclose(
        finger_extension(hand)[:, 1:3], finger_extension(palm)[:, 1:3], atol=1e-5
    )
    np.testing.assert_array_equal(
        hand[:, [0, 3, 4] + list(range(13, 21))], fist[:, [0, 3, 4] + list(range(13, 21))]
    )


def test_transplants_differ_from_every_window_and_keep_a_real_palm(windows):
    train, _ = windows
    made = transplants(train, 40, 0.45, -1, np.random.default_rng(0))
    assert len(made) == 40 and set(made.labels) == {-1}
    known = np.nanmedian(finger_extension(isotropic(train.windows, train.aspect)), axis=1)
    extension = np.nanmedian(finger_extension(isotropic(made.windows, made.aspect)), axis=1)
    gaps = np.abs(extension[:, None, :] - known[None, :, :]).max(axis=2)
    assert gaps.min() >= 0.45
    for window in made.windows:
        gap = np.abs(train.windows[:, :, PALM] - window[None, :, PALM])
        assert np.nanmax(gap, axis=(1, 2, 3)).min() < 1e-6  # one window's palm, as it was
