import numpy as np
import pytest

from hand_gesture_recognition import augment
from hand_gesture_recognition.calibration import window_downward, window_fingers
from hand_gesture_recognition.config import AugmentationConfig, PreprocessingConfig, TrainingConfig
from hand_gesture_recognition.dataset import gesture_order
from hand_gesture_recognition.features import (
    finger_extension,
    frame_features,
    hand_axes,
    hand_frame,
    isotropic,
)
from hand_gesture_recognition.landmark_file import LandmarkTable
from hand_gesture_recognition.sequences import split_windows


def _windows(n=4, length=12, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.2, 0.8, size=(n, length, 21, 3)).astype(np.float32)


def test_noise_has_the_configured_spread():
    rng = np.random.default_rng(0)
    windows = _windows(n=50)
    noisy = augment.add_noise(windows, 0.01, rng)
    assert abs(float((noisy - windows).std()) - 0.01) < 1e-3


def test_scale_keeps_the_centre_and_scales_spread():
    rng = np.random.default_rng(0)
    windows = _windows()
    scaled = augment.scale(windows, 1.5, 1.5, rng)
    np.testing.assert_allclose(
        scaled[..., :2].mean(axis=(1, 2)), windows[..., :2].mean(axis=(1, 2)), atol=1e-5
    )
    np.testing.assert_allclose(
        scaled[..., :2].std(axis=(1, 2)), 1.5 * windows[..., :2].std(axis=(1, 2)), rtol=1e-4
    )
    np.testing.assert_array_equal(scaled[..., 2], windows[..., 2])


def test_translation_shifts_x_and_y_by_one_offset_per_window():
    rng = np.random.default_rng(0)
    windows = _windows()
    moved = augment.translate(windows, 0.05, rng)
    shift = moved - windows
    assert np.abs(shift[..., :2]).max() <= 0.05 + 1e-6
    np.testing.assert_allclose(
        shift[..., :2], shift[:, :1, :1, :2].repeat(12, 1).repeat(21, 2), atol=1e-6
    )
    assert not shift[..., 2].any()


def test_occlusion_refills_a_run_by_interpolation():
    rng = np.random.default_rng(1)
    windows = _windows(n=20)
    occluded = augment.occlude(windows, 1.0, 4, "interpolate", rng)
    changed = np.abs(occluded - windows).max(axis=(2, 3)) > 0
    assert changed.any(axis=1).all() and changed.sum(axis=1).max() <= 4
    assert not np.isnan(occluded).any()
    zeroed = augment.occlude(windows, 1.0, 4, "zero", np.random.default_rng(1))
    assert np.isnan(zeroed).any()


def test_augment_windows_keeps_originals_first_and_labels_aligned():
    windows = _windows()
    labels = np.array([0, 1, 2, 3])
    out, out_labels, out_aspect = augment.augment_windows(
        windows, labels, AugmentationConfig(copies=2), "window", np.random.default_rng(0)
    )
    assert out_aspect is None
    assert out.shape == (12, 12, 21, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out[:4], windows)
    np.testing.assert_array_equal(out_labels, np.tile(labels, 3))
    assert not np.allclose(out[4:8], windows)


def _isotropic_distances(windows, aspect):
    points = windows.astype(np.float64).copy()
    points[..., 1] *= aspect[..., None]
    return np.linalg.norm(points[..., :, None, :] - points[..., None, :, :], axis=-1)


def _assert_bones_kept(windows, changed, aspect):
    before, after = _isotropic_distances(windows, aspect), _isotropic_distances(changed, aspect)
    for chain in augment.FINGERS:
        for parent, child in zip(chain[:-1], chain[1:], strict=True):
            np.testing.assert_allclose(
                after[..., parent, child], before[..., parent, child], atol=1e-5
            )


def test_3d_rotation_is_rigid_in_isotropic_coordinates_and_turns_the_hand():
    windows = _windows()
    aspect = np.full(windows.shape[:2], 0.75, np.float32)
    turned = augment.rotate_3d(windows, 60.0, np.random.default_rng(0), aspect)
    np.testing.assert_allclose(
        _isotropic_distances(turned, aspect), _isotropic_distances(windows, aspect), atol=1e-4
    )
    assert np.abs(turned - windows).mean() > 0.01


def test_mirror_flips_x_of_the_chosen_windows_only():
    windows = _windows(n=200)
    mirrored = augment.mirror(windows, 0.5, np.random.default_rng(0))
    flipped = np.isclose(mirrored[..., 0], 1.0 - windows[..., 0]).all(axis=(1, 2))
    kept = (mirrored == windows).all(axis=(1, 2, 3))
    assert (flipped | kept).all() and 60 < flipped.sum() < 140
    np.testing.assert_array_equal(mirrored[..., 1:], windows[..., 1:])


def test_proportions_keep_bone_directions_and_scale_each_finger():
    windows = _windows(n=3)
    varied = augment.vary_proportions(windows, 1.2, 1.2, np.random.default_rng(0))
    np.testing.assert_array_equal(
        varied[:, :, [0, 1, 5, 9, 13, 17]], windows[:, :, [0, 1, 5, 9, 13, 17]]
    )
    for parent, child in ((5, 6), (6, 7), (7, 8), (2, 3)):
        bone, new = (
            windows[:, :, child] - windows[:, :, parent],
            varied[:, :, child] - varied[:, :, parent],
        )
        np.testing.assert_allclose(new, 1.2 * bone, atol=1e-5)


def test_depth_scaling_stretches_z_about_the_wrist():
    windows = _windows()
    deeper = augment.scale_depth(windows, 2.0, 2.0, np.random.default_rng(0))
    np.testing.assert_allclose(
        deeper[..., 2] - deeper[..., :1, 2], 2 * (windows[..., 2] - windows[..., :1, 2]), atol=1e-5
    )
    np.testing.assert_array_equal(deeper[..., :2], windows[..., :2])


def _finger_chains():
    return [chain for chain in augment.FINGERS[1:]]


def _signed_turn(old, new, axis):
    """Degrees by which ``old`` turned into ``new`` about ``axis``, seen across the axis."""
    flat_old = old - np.sum(old * axis, -1, keepdims=True) * axis
    flat_new = new - np.sum(new * axis, -1, keepdims=True) * axis
    return np.degrees(
        np.arctan2(np.sum(np.cross(flat_old, flat_new) * axis, -1), np.sum(flat_old * flat_new, -1))
    )


def test_pose_keeps_bone_lengths_the_palm_and_the_thumb():
    windows = _windows()
    aspect = np.full(windows.shape[:2], 0.75, np.float32)
    posed = augment.vary_pose(windows, 25.0, 15.0, np.random.default_rng(0), aspect)
    kept = [0, 1, 2, 3, 4, 5, 9, 13, 17]
    np.testing.assert_allclose(posed[:, :, kept], windows[:, :, kept], atol=1e-6)
    _assert_bones_kept(windows, posed, aspect)
    assert np.abs(posed - windows).max() > 0.01
    np.testing.assert_allclose(
        augment.vary_pose(windows, 0.0, 0.0, np.random.default_rng(0), aspect), windows, atol=1e-6
    )


def test_pose_spreads_each_finger_by_its_drawn_angle_in_the_palm_plane():
    windows = _windows(n=6)
    posed = augment.vary_pose(windows, 25.0, 0.0, np.random.default_rng(4))
    drawn = np.random.default_rng(4).uniform(-25.0, 25.0, (6, 4))
    normal = hand_axes(windows)[0][..., 2]
    for f, chain in enumerate(_finger_chains()):
        knuckle = windows[:, :, chain[1]]
        old, new = windows[:, :, chain[-1]] - knuckle, posed[:, :, chain[-1]] - knuckle
        # The tip turns about the palm's normal: its part along the normal stays.
        np.testing.assert_allclose(np.sum(old * normal, -1), np.sum(new * normal, -1), atol=1e-5)
        # One angle per window and finger, the one drawn, in every frame.
        np.testing.assert_allclose(
            _signed_turn(old, new, normal), drawn[:, f : f + 1].repeat(12, 1), atol=1e-3
        )


def test_pose_bends_every_joint_of_a_finger_by_its_drawn_curl_about_one_hinge():
    windows = _windows(n=6)
    posed = augment.vary_pose(windows, 0.0, 15.0, np.random.default_rng(5))
    rng = np.random.default_rng(5)
    rng.uniform(-0.0, 0.0, (6, 4))  # the spread angles, drawn first
    drawn = rng.uniform(-15.0, 15.0, (6, 4))
    normal = hand_axes(windows)[0][..., 2]
    for f, chain in enumerate(_finger_chains()):
        hinge = np.cross(windows[:, :, chain[1]] - windows[:, :, 0], normal)
        hinge /= np.linalg.norm(hinge, axis=-1, keepdims=True)
        for k, (joint, child) in enumerate(zip(chain[1:-1], chain[2:], strict=True), start=1):
            old = windows[:, :, child] - windows[:, :, joint]
            new = posed[:, :, child] - posed[:, :, joint]
            # The k-th bone turned with every joint before it: k times the drawn angle, in the
            # same sense, about the same hinge, and not at all along the hinge.
            np.testing.assert_allclose(
                _signed_turn(old, new, hinge), k * drawn[:, f : f + 1].repeat(12, 1), atol=1e-2
            )
            np.testing.assert_allclose(np.sum(old * hinge, -1), np.sum(new * hinge, -1), atol=1e-5)


def test_augmentation_with_curl_bends_the_four_fingers_and_nothing_else():
    windows = _windows()
    assert AugmentationConfig().curl_degrees == 0.0  # measured, not adopted (report 14.7)
    config = AugmentationConfig(
        copies=1, noise_std=0.0, occlusion_probability=0.0, curl_degrees=15.0
    )
    out, _, _ = augment.augment_windows(
        windows, np.arange(4), config, "window", np.random.default_rng(0), feature_mode="canonical"
    )
    moved = np.abs(out[4:] - windows).max(axis=(0, 1, 3)) > 1e-4
    fingers = [i for chain in augment.FINGERS[1:] for i in chain[2:]]
    assert np.flatnonzero(moved).tolist() == fingers


@pytest.mark.parametrize("mode", ["normalized", "canonical", "hand3d", "bones"])
def test_translation_changes_nothing_after_the_scale_free_features(mode):
    windows = _windows()
    moved = augment.translate(windows, 0.2, np.random.default_rng(0))
    np.testing.assert_allclose(
        frame_features(moved, 1.0, mode), frame_features(windows, 1.0, mode), atol=1e-4
    )


def test_identity_settings_are_skipped_and_cost_no_randomness():
    windows = _windows()
    off = AugmentationConfig(
        copies=1,
        noise_std=0.0,
        occlusion_probability=0.0,
        scale_range=(1.0, 1.0),
        translation_range=0.0,
        rotation_degrees=0.0,
        proportion_range=(1.0, 1.0),
        curl_degrees=0.0,
    )
    out, _, _ = augment.augment_windows(
        windows, np.arange(4), off, "window", np.random.default_rng(0)
    )
    np.testing.assert_allclose(out[4:], windows, atol=0)


@pytest.mark.parametrize("mode", sorted(augment.NO_EFFECT))
def test_transforms_listed_as_idle_really_change_nothing_in_that_mode(mode):
    windows = _windows(n=6)
    aspect = np.full(windows.shape[:2], 0.75, np.float32)
    rng = np.random.default_rng(0)
    transforms = {
        "translate": lambda w: augment.translate(w, 0.1, rng),
        "scale": lambda w: augment.scale(w, 0.8, 1.2, rng),
        "rotate_3d": lambda w: augment.rotate_3d(w, 60.0, rng, aspect),
        "mirror": lambda w: augment.mirror(w, 1.0, rng),
        "depth": lambda w: augment.scale_depth(w, 0.5, 1.5, rng),
        "pose": lambda w: augment.vary_pose(w, 25.0, 15.0, rng, aspect),
    }
    before = frame_features(windows, aspect, mode)
    for name, transform in transforms.items():
        change = np.abs(frame_features(transform(windows), aspect, mode) - before).max()
        if name in augment.NO_EFFECT[mode]:
            assert change < 1e-3, name
        else:
            assert change > 1e-3, name


def test_still_copies_hold_one_frame_of_their_window_with_its_label_and_aspect():
    windows = _windows(n=8)
    labels = np.arange(8)
    aspect = np.linspace(0.5, 1.2, 8 * 12, dtype=np.float32).reshape(8, 12)
    config = AugmentationConfig(copies=1, still_fraction=0.5)
    out, out_labels, out_aspect = augment.augment_windows(
        windows, labels, config, "window", np.random.default_rng(3), aspect
    )
    stills, still_labels, still_aspect = out[16:], out_labels[16:], out_aspect[16:]
    assert 0 < len(stills) < 8 and len(out_aspect) == len(out)
    for held, label, held_aspect in zip(stills, still_labels, still_aspect, strict=True):
        # Every frame is the same frame of the window the label names.
        np.testing.assert_array_equal(held, np.repeat(held[:1], 12, axis=0))
        frame = np.flatnonzero((windows[label] == held[0]).all(axis=(1, 2)))
        assert len(frame) == 1
        np.testing.assert_array_equal(held_aspect, aspect[label, frame[0]])


def _training_windows(sample_landmarks, stride):
    """The sample's training windows of the time split, and the gestures in label order."""
    table = LandmarkTable.load(sample_landmarks)
    gestures = gesture_order(table.gestures)
    config = TrainingConfig(split="time", seed=0)
    prep = PreprocessingConfig(window_stride=stride)
    return split_windows(table, prep, config, gestures)[0], gestures


def test_a_gesture_takes_the_donors_finger_and_nothing_else_changes(sample_landmarks):
    train, gestures = _training_windows(sample_landmarks, 5)
    before = train.windows.copy()
    given = augment.give_fingers(
        train.windows,
        train.aspect,
        train.labels,
        gestures,
        ("06_index:middle:03_fist",),
        np.random.default_rng(0),
    )
    np.testing.assert_array_equal(train.windows, before)  # the input is left as it is

    def extension(windows, gesture):
        rows = train.labels == gestures.index(gesture)
        points = isotropic(windows[rows], train.aspect[rows])
        return np.nanmedian(finger_extension(points), axis=(0, 1))

    # The infrared 06_index's middle finger is nearly straight as extracted; it now bends
    # as the fists' do, and its other fingers keep their shape.
    index, fist = extension(before, "06_index"), extension(before, "03_fist")
    after = extension(given, "06_index")
    assert index[2] > 0.85 and fist[2] < 0.5
    assert after[2] == pytest.approx(fist[2], abs=0.05)
    np.testing.assert_allclose(after[[0, 1, 3, 4]], index[[0, 1, 3, 4]], atol=1e-4)
    others = train.labels != gestures.index("06_index")
    np.testing.assert_array_equal(given[others], before[others])
    # A spec whose gestures are not in the data changes nothing.
    unchanged = augment.give_fingers(
        before,
        train.aspect,
        train.labels,
        gestures,
        ("11_v:middle:03_fist",),
        np.random.default_rng(0),
    )
    np.testing.assert_array_equal(unchanged, before)


def _palms(sample_landmarks, mirrored=False):
    train, gestures = _training_windows(sample_landmarks, 10)
    palms = train.take(np.flatnonzero(train.labels == gestures.index("01_palm")))
    if mirrored:
        return augment.mirror(palms.windows, 1.0, np.random.default_rng(0)), palms.aspect
    return palms.windows, palms.aspect


def _directions_in_the_hand(windows, aspect):
    """Each finger's knuckle-to-tip direction in the hand's frame, as degrees from +y to +x."""
    local = hand_frame(isotropic(windows, aspect))
    bases = [chain[1] for chain in augment.FINGERS]
    tips = [chain[-1] for chain in augment.FINGERS]
    reach = local[..., tips, :] - local[..., bases, :]
    return np.degrees(np.arctan2(reach[..., 0], reach[..., 1]))


@pytest.mark.parametrize("mirrored", [False, True])
def test_opening_turns_each_finger_away_from_the_middle_of_the_hand(sample_landmarks, mirrored):
    windows, aspect = _palms(sample_landmarks, mirrored)
    fan = np.linspace(5.0, 18.0, len(windows))
    thumb = np.linspace(10.0, 60.0, len(windows))
    opened = augment.open_fingers(windows, fan, thumb, aspect)
    found = np.isfinite(windows).all(axis=(-2, -1))
    assert found.mean() > 0.9
    np.testing.assert_array_equal(np.isfinite(opened).all(axis=(-2, -1)), found)
    turned = (_directions_in_the_hand(opened, aspect) - _directions_in_the_hand(windows, aspect))[
        found
    ]
    # In the hand's own frame (+x the index's side, for a right hand and its mirror image
    # alike) the thumb and the index turn out towards +x, the ring and little fingers
    # towards -x: neighbouring fingers end `fan` further apart, the thumb `thumb` further out.
    frames = np.broadcast_to(np.arange(len(windows))[:, None], found.shape)[found]
    wanted = np.stack([thumb[frames], *((2.5 - f) * fan[frames] for f in range(1, 5))], -1)
    np.testing.assert_allclose((turned + 180) % 360 - 180, wanted, atol=0.5)


def test_opening_keeps_what_the_rejection_rules_measure(sample_landmarks):
    windows, aspect = _palms(sample_landmarks)
    fan, thumb = np.full(len(windows), 18.0), np.full(len(windows), 60.0)
    opened = augment.open_fingers(windows, fan, thumb, aspect)
    kept = [0, 1, 5, 9, 13, 17]  # the wrist, the thumb's base and the knuckles
    np.testing.assert_allclose(opened[:, :, kept], windows[:, :, kept], atol=1e-6)
    _assert_bones_kept(windows, opened, aspect)
    np.testing.assert_allclose(
        window_fingers(opened, aspect), window_fingers(windows, aspect), atol=1e-5
    )
    np.testing.assert_allclose(
        window_downward(opened, aspect), window_downward(windows, aspect), atol=1e-6
    )

    # ... while the hand is plainly another shape: the index and little tips further apart.
    def tips_apart(points):
        points = isotropic(points, aspect)
        return np.linalg.norm(points[..., 8, :] - points[..., 20, :], axis=-1)

    assert np.nanmedian(tips_apart(opened) / tips_apart(windows)) > 1.3


def test_open_hands_opens_a_share_of_the_chosen_gestures_windows_only(sample_landmarks):
    train, gestures = _training_windows(sample_landmarks, 2)
    before = train.windows.copy()
    settings = AugmentationConfig()
    assert settings.open_gestures == ("01_palm",) and settings.open_fraction == 0.5
    opened = augment.open_hands(
        train.windows, train.aspect, train.labels, gestures, settings, np.random.default_rng(0)
    )
    np.testing.assert_array_equal(train.windows, before)  # the input is left as it is
    palm = train.labels == gestures.index("01_palm")
    changed = ~np.isclose(opened, before, atol=1e-6, equal_nan=True).all(axis=(1, 2, 3))
    assert not changed[~palm].any()
    # Each palm window is opened when its draw falls under the share: the first draws.
    chosen = np.random.default_rng(0).random(palm.sum()) < 0.5
    np.testing.assert_array_equal(changed[palm], chosen)
    assert 0 < chosen.sum() < palm.sum()
    for off in (AugmentationConfig(open_gestures=()), AugmentationConfig(open_fraction=0.0)):
        same = augment.open_hands(
            train.windows, train.aspect, train.labels, gestures, off, np.random.default_rng(0)
        )
        np.testing.assert_array_equal(same, before)
