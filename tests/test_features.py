import numpy as np
import pytest

from hand_gesture_recognition.augment import random_rotations
from hand_gesture_recognition.errors import InputError
from hand_gesture_recognition.features import frame_features, hand_frame, isotropic
from hand_gesture_recognition.landmarks import make_extractor
from hand_gesture_recognition.realtime import read_image


@pytest.fixture(scope="module")
def real_hand(webcam_sample):
    """Landmarks found on real webcam frames (stop, thumbs up, peace)."""
    hands = []
    with make_extractor("auto") as extractor:
        for gesture in ("stop", "thumbs_up", "peace"):
            result = extractor.process(read_image(webcam_sample / gesture / "40.jpg"))
            assert result.detected
            hands.append((result.landmarks, result.aspect))
    return hands


def _turned(landmarks, aspect, rotation, shift=(0.1, -0.05, 0.2), factor=1.3):
    """The same hand turned rigidly in 3-D, moved and brought closer (image coordinates)."""
    points = isotropic(landmarks, aspect).astype(np.float64)
    centre = points.mean(axis=0)
    points = (points - centre) @ rotation.T * factor + centre + shift
    points[:, 1] /= aspect
    return points.astype(np.float32)


@pytest.mark.parametrize("mode", ["hand3d", "bones"])
def test_viewpoint_invariant_modes_ignore_3d_rotation_position_and_size(real_hand, mode):
    rotations = random_rotations(20, 180.0, np.random.default_rng(0))
    for landmarks, aspect in real_hand:
        features = frame_features(landmarks, aspect, mode)
        for rotation in rotations:
            turned = frame_features(_turned(landmarks, aspect, rotation), aspect, mode)
            np.testing.assert_allclose(turned, features, atol=2e-4)


@pytest.mark.parametrize("mode", ["hand3d", "bones"])
def test_viewpoint_invariant_modes_read_the_other_hand_alike(real_hand, mode):
    for landmarks, aspect in real_hand:
        mirrored = landmarks.copy()
        mirrored[:, 0] = 1.0 - mirrored[:, 0]
        np.testing.assert_allclose(
            frame_features(mirrored, aspect, mode),
            frame_features(landmarks, aspect, mode),
            atol=1e-5,
        )


def test_canonical_features_do_change_when_the_hand_turns_out_of_the_image_plane(real_hand):
    landmarks, aspect = real_hand[0]
    tilt = np.radians(60.0)
    about_y = np.array(
        [[np.cos(tilt), 0, np.sin(tilt)], [0, 1, 0], [-np.sin(tilt), 0, np.cos(tilt)]]
    )
    before = frame_features(landmarks, aspect, "canonical")
    after = frame_features(_turned(landmarks, aspect, about_y), aspect, "canonical")
    assert np.abs(after - before).max() > 0.2


def test_hand_frame_places_the_knuckles_on_its_axes(real_hand):
    landmarks, aspect = real_hand[0]
    local = hand_frame(isotropic(landmarks, aspect))
    np.testing.assert_allclose(local[0], 0.0, atol=1e-6)
    np.testing.assert_allclose(local[9], [0.0, 1.0, 0.0], atol=1e-5)
    assert local[5, 0] > 0 > local[17, 0]
    assert local[:, 2].sum() >= 0


def test_gestures_stay_apart_in_the_new_modes(real_hand):
    (stop, a), (thumb, b), _ = real_hand
    for mode in ("hand3d", "bones"):
        assert np.abs(frame_features(stop, a, mode) - frame_features(thumb, b, mode)).mean() > 0.1


def test_bones_are_unit_vectors_and_missing_frames_are_zeros(real_hand):
    landmarks, aspect = real_hand[1]
    both = np.stack([landmarks, np.full((21, 3), np.nan, np.float32)])
    features = frame_features(both, aspect, "bones")
    assert features.shape == (2, 63)
    np.testing.assert_allclose(
        np.linalg.norm(features[0, :60].reshape(20, 3), axis=1), 1.0, atol=1e-5
    )
    assert not features[1].any()


def test_unknown_mode_is_one_clear_error():
    with pytest.raises(InputError, match="feature mode must be one of"):
        frame_features(np.zeros((21, 3)), 1.0, "polar")
