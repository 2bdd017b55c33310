import numpy as np
import pytest

from hand_gesture_recognition.augment import random_rotations
from hand_gesture_recognition.errors import InputError
from hand_gesture_recognition.features import (
    FINGER_CHAINS,
    finger_extension,
    finger_extension_and_reach,
    finger_reach,
    frame_features,
    hand_axes,
    hand_frame,
    isotropic,
    pointing_down,
)
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


def test_hand_axes_are_orthonormal_and_the_side_tells_a_mirror_image(real_hand):
    for landmarks, aspect in real_hand:
        points = isotropic(landmarks, aspect)
        basis, length, side = hand_axes(points)
        np.testing.assert_allclose(basis.T @ basis, np.eye(3), atol=1e-6)
        assert length == pytest.approx(np.linalg.norm(points[9] - points[0]), rel=1e-5)
        mirrored = points * np.array([-1.0, 1.0, 1.0], np.float32)
        assert hand_axes(mirrored)[2] == -side
        # Back in the image from the hand's frame: the landmarks themselves.
        local = hand_frame(points) * np.array([1.0, 1.0, side])
        np.testing.assert_allclose(local * length @ basis.T + points[0], points, atol=1e-5)


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


# ---------------------------------------------------------------------------------------------
# Every mode on a real window of the infrared sample: what it keeps and what it ignores.


@pytest.fixture(scope="module")
def real_window(sample_landmarks):
    """A real 30-frame window of the sample (the first of ``03_fist``) and its aspect."""
    from hand_gesture_recognition.config import PreprocessingConfig
    from hand_gesture_recognition.landmark_file import LandmarkTable
    from hand_gesture_recognition.preprocessing import table_windows

    table = LandmarkTable.load(sample_landmarks)
    windows = table_windows(table, ["03_fist"], PreprocessingConfig())
    return windows.windows[0], windows.aspect[0]


def _in_image_plane(window, aspect, angle=0.0, factor=1.0, shift=(0.0, 0.0), mirror=False):
    """The window turned in the image plane about its centre, scaled, moved and mirrored."""
    points = isotropic(window, aspect).astype(np.float64)
    centre = points[..., :2].reshape(-1, 2).mean(axis=0)
    cos, sin = np.cos(angle), np.sin(angle)
    xy = (points[..., :2] - centre) @ np.array([[cos, -sin], [sin, cos]]).T * factor
    points[..., :2] = xy + centre + shift
    points[..., 2] *= factor
    if mirror:
        points[..., 0] = 2 * centre[0] - points[..., 0]
    points[..., 1] /= aspect[:, None]
    return points.astype(np.float32)


def test_raw_features_are_the_landmarks_themselves(real_window):
    window, aspect = real_window
    np.testing.assert_array_equal(frame_features(window, aspect, "raw"), window.reshape(30, 63))


def test_normalized_features_put_the_wrist_at_zero_and_the_palm_at_unit_length(real_window):
    window, aspect = real_window
    points = frame_features(window, aspect, "normalized").reshape(30, 21, 3)
    np.testing.assert_allclose(points[:, 0], 0.0, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(points[:, 9, :2], axis=1), 1.0, atol=1e-5)


def test_canonical_features_point_the_palm_up_with_the_index_on_the_right(real_window):
    window, aspect = real_window
    points = frame_features(window, aspect, "canonical").reshape(30, 21, 3)
    np.testing.assert_allclose(points[:, 9, :2], np.tile([0.0, -1.0], (30, 1)), atol=1e-5)
    assert (points[:, 5, 0] > points[:, 17, 0]).all()
    assert not points[..., 2].any()


@pytest.mark.parametrize(
    ("mode", "change"),
    [
        ("normalized", {"factor": 1.4, "shift": (0.12, -0.08)}),
        ("canonical", {"factor": 0.7, "shift": (-0.1, 0.05)}),
        ("canonical", {"angle": np.radians(35.0)}),
        ("canonical", {"mirror": True}),
        ("canonical", {"angle": np.radians(-50.0), "factor": 1.2, "mirror": True}),
        ("hand3d", {"angle": np.radians(70.0), "factor": 0.8, "shift": (0.05, 0.1)}),
        ("bones", {"angle": np.radians(-120.0), "factor": 1.3, "mirror": True}),
    ],
)
def test_each_mode_ignores_what_it_promises_to_on_a_real_window(real_window, mode, change):
    window, aspect = real_window
    moved = _in_image_plane(window, aspect, **change)
    assert np.abs(moved - window).max() > 0.01  # the hand really moved
    np.testing.assert_allclose(
        frame_features(moved, aspect, mode),
        frame_features(window, aspect, mode),
        atol=2e-4,
    )


@pytest.mark.parametrize(
    ("mode", "change"),
    [
        ("raw", {"shift": (0.1, 0.0)}),
        ("normalized", {"angle": np.radians(35.0)}),
        ("normalized", {"mirror": True}),
    ],
)
def test_each_mode_still_sees_what_it_does_not_promise_to_ignore(real_window, mode, change):
    window, aspect = real_window
    moved = _in_image_plane(window, aspect, **change)
    difference = frame_features(moved, aspect, mode) - frame_features(window, aspect, mode)
    assert np.abs(difference).max() > 0.05


def test_pointing_down_is_the_sine_of_the_angle_below_the_horizontal():
    hands = np.full((6, 21, 3), 0.5, np.float32)
    hands[0, 9] = [0.5, 0.6, 0.5]  # straight down
    hands[1, 9] = [0.6, 0.5, 0.5]  # sideways
    hands[2, 9] = [0.5, 0.4, 0.5]  # straight up
    hands[3, 9] = [0.5, 0.55, 0.5 + 0.05 * np.sqrt(3.0)]  # 30 degrees down, towards the camera
    hands[4, 9] = [0.6, 0.6, 0.5]  # diagonally in a 4:3 image: (0.1, 0.075) isotropic
    hands[5] = np.nan  # no hand
    aspect = np.array([1.0, 1.0, 1.0, 1.0, 0.75, 1.0], np.float32)
    down = pointing_down(hands, aspect)
    np.testing.assert_allclose(down[:5], [1.0, 0.0, -1.0, 0.5, 0.6], atol=1e-6)
    assert np.isnan(down[5])


def test_pointing_down_turns_with_the_hand_and_ignores_position_size_and_side(real_window):
    window, aspect = real_window
    upright = pointing_down(window, aspect)
    assert (upright < 0).all()  # the infrared fist is held up, as every sample gesture
    upside_down = _in_image_plane(window, aspect, angle=np.pi)
    np.testing.assert_allclose(pointing_down(upside_down, aspect), -upright, atol=1e-5)
    moved = _in_image_plane(window, aspect, factor=0.6, shift=(0.1, -0.1), mirror=True)
    np.testing.assert_allclose(pointing_down(moved, aspect), upright, atol=1e-5)


def test_reach_is_the_base_to_tip_distance_in_palm_lengths_and_tells_a_stub_from_a_finger():
    hand = np.zeros((21, 3), np.float32)
    hand[9] = [0.0, -0.2, 0.0]  # the palm: wrist to middle knuckle, 0.2 long
    for finger, chain in enumerate(FINGER_CHAINS):
        base = np.array([0.03 * finger - 0.06, -0.2, 0.0], np.float32)
        hand[chain[0]] = base
        if finger == 2:  # straight, as long as the palm, pointing towards the camera
            steps = [[0.0, 0.0, -0.2 / 3]] * 3
        elif finger == 3:  # a stub: straight but a fifth of the palm long
            steps = [[0.0, -0.04 / 3, 0.0]] * 3
        else:  # folded: up, back down, back up (tip 0.05 above its base)
            steps = [[0.0, -0.05, 0.0], [0.0, 0.05, 0.0], [0.0, -0.05, 0.0]]
        hand[list(chain[1:])] = base + np.cumsum(steps, axis=0)
    hand[9] = [0.0, -0.2, 0.0]
    reach = finger_reach(hand)
    np.testing.assert_allclose(reach, [0.25, 0.25, 1.0, 0.2, 0.25], atol=1e-5)
    # The extension calls the stub as straight as the long finger; the reach does not.
    extension = finger_extension(hand)
    np.testing.assert_allclose(extension[[2, 3]], [1.0, 1.0], atol=1e-5)
    # Size and position do not matter, a mirror image reaches as far, no hand is NaN.
    moved = hand * 2.5 + [0.3, 0.1, -0.2]
    mirrored = hand * [-1.0, 1.0, 1.0]
    np.testing.assert_allclose(finger_reach(moved), reach, atol=1e-5)
    np.testing.assert_allclose(finger_reach(mirrored), reach, atol=1e-5)
    assert np.isnan(finger_reach(np.full((21, 3), np.nan, np.float32))).all()


def test_a_real_open_hand_reaches_about_a_palm_and_a_v_sign_only_with_two_fingers(real_hand):
    stop, _, peace = (finger_reach(isotropic(points, aspect)) for points, aspect in real_hand)
    # The open hand's four fingers reach 0.6-0.9 palm lengths; the V sign's index and middle
    # finger about a palm, its curled ring and little finger under half of one.
    np.testing.assert_allclose(stop, [0.93, 0.79, 0.86, 0.78, 0.62], atol=0.02)
    np.testing.assert_allclose(peace, [0.76, 0.95, 1.07, 0.37, 0.24], atol=0.02)


def test_extension_and_reach_together_are_each_alone(real_hand):
    # The finger rule's one pass gives exactly what the two measures give apart.
    points = np.stack([isotropic(landmarks, aspect) for landmarks, aspect in real_hand])
    extension, reach = finger_extension_and_reach(points)
    np.testing.assert_array_equal(extension, finger_extension(points))
    np.testing.assert_array_equal(reach, finger_reach(points))
    assert extension.shape == reach.shape == (3, 5)
