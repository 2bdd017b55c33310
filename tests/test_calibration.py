import json
import re
from dataclasses import replace

import numpy as np
import pytest

from hand_gesture_recognition.augment import give_fingers
from hand_gesture_recognition.calibration import (
    CALIBRATION_FILE,
    GESTURE,
    NOT_GESTURE,
    REJECTION_LABEL,
    UNCERTAIN,
    Answers,
    Calibration,
    ShiftConfig,
    answered,
    apply_temperature,
    calibrate,
    downward_limit,
    expected_calibration_error,
    finger_ranges,
    fit_temperature,
    reliability,
    rules_from_windows,
    shift_windows,
    window_downward,
    window_fingers,
)
from hand_gesture_recognition.config import AugmentationConfig, PreprocessingConfig
from hand_gesture_recognition.errors import InputError
from hand_gesture_recognition.features import (
    FINGER_CHAINS,
    MIDDLE_MCP,
    WRIST,
    finger_extension,
    isotropic,
    pointing_down,
)
from hand_gesture_recognition.landmark_file import LandmarkTable
from hand_gesture_recognition.landmarks import make_extractor
from hand_gesture_recognition.preprocessing import table_windows
from hand_gesture_recognition.realtime import list_images, read_image


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_fit_recovers_the_temperature_of_an_overconfident_model():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2.0, size=(4000, 5))
    labels = np.array([rng.choice(5, p=p) for p in _softmax(logits)])
    overconfident = _softmax(3.0 * logits)
    temperature = fit_temperature(overconfident, labels)
    assert temperature == pytest.approx(3.0, rel=0.1)
    before = expected_calibration_error(overconfident, labels)
    after = expected_calibration_error(apply_temperature(overconfident, temperature), labels)
    assert before > 0.1 and after < 0.03


def test_a_per_frame_fit_scales_each_frame_then_averages():
    rng = np.random.default_rng(2)
    logits = rng.normal(0, 2.0, size=(500, 5))
    labels = np.array([rng.choice(5, p=p) for p in _softmax(logits)])
    window = _softmax(3.0 * logits)
    # Frames that all answer alike: the per-frame fit is the window's own fit.
    held = np.repeat(window[:, None], 4, axis=1)
    assert fit_temperature(held, labels) == pytest.approx(fit_temperature(window, labels), rel=1e-4)
    # Frames that differ: the fit is the temperature whose scaled frames' mean fits best.
    frames = _softmax((3.0 * logits[:, None] + rng.normal(0, 2, (500, 4, 5))).reshape(-1, 5))
    frames = frames.reshape(500, 4, 5)
    fitted = fit_temperature(frames, labels)

    def loss(t):
        p = apply_temperature(frames, t).mean(axis=1)[np.arange(500), labels]
        return -np.log(p).mean()

    assert loss(fitted) < min(loss(0.9 * fitted), loss(1.1 * fitted))
    assert fitted != pytest.approx(fit_temperature(frames.mean(axis=1), labels), rel=0.02)


def test_temperature_keeps_every_answer_and_reliability_bins_add_up():
    rng = np.random.default_rng(1)
    p = _softmax(rng.normal(0, 3, size=(300, 4)))
    labels = rng.integers(0, 4, 300)
    np.testing.assert_array_equal(apply_temperature(p, 2.5).argmax(1), p.argmax(1))
    assert apply_temperature(p, 2.5).max(1).mean() < p.max(1).mean()
    bins = reliability(p, labels)
    assert sum(b["count"] for b in bins) == 300
    assert all(b["low"] <= b["confidence"] <= b["high"] for b in bins)


def test_the_default_bound_never_sharpens_and_the_file_round_trips(tmp_path):
    p = np.eye(3)[[0, 1, 2, 0]] * 0.9 + 0.1 / 3
    calibration = calibrate(p, np.array([0, 1, 2, 0]))
    assert calibration.fitted_temperature < 1.0 and calibration.temperature == 1.0
    calibration.save(tmp_path)
    assert Calibration.load(tmp_path) == calibration
    assert Calibration.load(tmp_path / "elsewhere").temperature == 1.0
    # A file written before the orientation rule existed loads without it.
    (tmp_path / CALIBRATION_FILE).write_text(json.dumps({"temperature": 2, "threshold": 0.5}))
    assert Calibration.load(tmp_path) == Calibration(temperature=2, threshold=0.5)
    assert Calibration.load(tmp_path).max_downward is None
    (tmp_path / CALIBRATION_FILE).write_text(json.dumps({"temperature": 2, "colour": 1}))
    with pytest.raises(InputError, match="calibration"):
        Calibration.load(tmp_path)


def test_rejection_rule_uses_the_threshold():
    rule = Calibration(temperature=1.0, threshold=0.7)
    assert rule.accepts(np.array([[0.8, 0.2], [0.6, 0.4]])).tolist() == [True, False]
    with pytest.raises(InputError):
        Calibration(temperature=0.0)


def test_shift_makes_copies_of_each_window_that_differ():
    rng = np.random.default_rng(0)
    windows = rng.uniform(0.3, 0.7, size=(4, 6, 21, 3)).astype(np.float32)
    aspect = np.ones((4, 6), np.float32)
    shifted, shifted_aspect = shift_windows(windows, aspect, ShiftConfig(copies=2), rng)
    assert shifted.shape == (8, 6, 21, 3) and shifted_aspect.shape == (8, 6)
    assert np.abs(shifted[:4] - windows).mean() > 0.01


@pytest.mark.slow
def test_training_saves_a_calibration_that_lowers_ece_on_real_validation_windows(
    trained_model_dir, sample_landmarks
):
    from hand_gesture_recognition.landmark_file import LandmarkTable
    from hand_gesture_recognition.model import load_model, predict_probabilities
    from hand_gesture_recognition.preprocessing import window_features
    from hand_gesture_recognition.sequences import split_windows

    saved = Calibration.load(trained_model_dir)
    # The default's two parts are calibrated before their mean: its own fit is kept as it is.
    assert saved.fitted_on > 0 and saved.temperature == saved.fitted_temperature
    assert saved.max_downward == pytest.approx(0.25)  # the sample's hands all point up
    loaded = load_model(trained_model_dir)
    _, val, _, _ = split_windows(
        LandmarkTable.load(sample_landmarks),
        loaded.preprocessing,
        loaded.config.training,
        loaded.gestures,
    )
    p = predict_probabilities(loaded.model, window_features(val, loaded.preprocessing.feature_mode))
    fitted = calibrate(p, val.labels, min_temperature=None)
    assert fitted.ece_after < fitted.ece_before
    assert fitted.ece_after == pytest.approx(
        expected_calibration_error(apply_temperature(p, fitted.temperature), val.labels)
    )


def test_answered_needs_confidence_and_a_class_that_is_not_none():
    probabilities = np.array(
        [[0.7, 0.2, 0.1], [0.5, 0.3, 0.2], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4]], np.float32
    )
    gestures = ["01_palm", "05_thumb", "none"]
    assert answered(probabilities, gestures, 0.6).tolist() == [True, False, False, False]
    assert answered(probabilities, gestures, 0.0).tolist() == [True, True, False, False]
    # Without a none class the same top class is an answer when confident.
    assert answered(probabilities, ["a", "b", "c"], 0.6).tolist() == [True, False, True, False]


def test_the_orientation_rule_rejects_only_hands_pointing_further_down_than_training(
    sample_landmarks, tmp_path
):
    table = LandmarkTable.load(sample_landmarks)
    gestures = sorted(set(table.gestures))
    windows = table_windows(table, gestures, PreprocessingConfig())
    landmarks, aspect = windows.windows, windows.aspect
    downward = window_downward(landmarks, aspect)
    # Every gesture of the sample is held up, so the rule starts the margin below horizontal.
    assert downward.max() < 0
    assert downward_limit([windows], gestures) == pytest.approx(0.25)
    rule = Calibration(max_downward=downward_limit([windows], gestures))
    assert rule.downward_degrees == pytest.approx(14.48, abs=0.01)
    assert not rule.points_down(landmarks, aspect).any()
    upside_down = landmarks.copy()
    upside_down[..., 1] = 1.0 - upside_down[..., 1]
    np.testing.assert_array_equal(rule.points_down(upside_down, aspect), downward < -0.25)
    assert rule.points_down(upside_down, aspect).all()  # held up by more than 14 degrees
    # Trained on hands hanging down, the rule leaves the same margin below the lowest of them;
    # hanging hands of the "none" class (hands at rest) do not count.
    hanging = replace(windows, windows=upside_down)
    assert downward_limit([hanging], gestures) == pytest.approx(-downward.min() + 0.25)
    named_none = [REJECTION_LABEL if g == "03_fist" else g for g in gestures]
    fists = windows.labels == gestures.index("03_fist")
    mixed = replace(windows, windows=np.where(fists[:, None, None, None], upside_down, landmarks))
    assert downward_limit([mixed], gestures) == pytest.approx(-downward[fists].min() + 0.25)
    assert downward_limit([mixed], named_none) == pytest.approx(0.25)
    assert not Calibration().points_down(upside_down, aspect).any()
    # Frames without a hand are left out of a window's median (even and odd counts left).
    partly = landmarks[:2].copy()
    partly[0, ::2], partly[1, :7] = np.nan, np.nan
    for window, window_aspect, median in zip(
        partly, aspect[:2], window_downward(partly, aspect[:2]), strict=True
    ):
        frames = pointing_down(window, window_aspect)
        assert median == pytest.approx(np.median(frames[np.isfinite(frames)]), abs=1e-6)
    # A window without any hand has no direction, and is not rejected for one.
    empty = np.full((2, *landmarks.shape[1:]), np.nan, np.float32)
    assert np.isnan(window_downward(empty, aspect[:2])).all()
    assert rule.points_down(empty, aspect[:2]).tolist() == [False, False]
    assert Calibration().downward_degrees is None
    assert Calibration(max_downward=1.5).downward_degrees == 90.0  # never reached
    rule.save(tmp_path)
    assert Calibration.load(tmp_path).max_downward == pytest.approx(0.25)


@pytest.mark.parametrize("limit", ["0.25", float("nan"), float("inf"), True])
def test_a_calibration_with_a_bad_orientation_limit_is_refused(tmp_path, limit):
    with pytest.raises(InputError, match="max_downward must be a finite number or null"):
        Calibration(max_downward=limit)
    (tmp_path / CALIBRATION_FILE).write_text(json.dumps({"max_downward": limit}))
    with pytest.raises(InputError, match="max_downward"):
        Calibration.load(tmp_path)


def test_the_finger_rule_rejects_a_v_sign_answered_as_index_and_keeps_every_gesture(
    sample_landmarks, tmp_path
):
    table = LandmarkTable.load(sample_landmarks)
    gestures = sorted(set(table.gestures))
    windows = table_windows(table, gestures, PreprocessingConfig())
    donors = AugmentationConfig().finger_donors
    ranges = finger_ranges([windows], gestures, donors)
    assert sorted(ranges) == gestures
    fingers = window_fingers(windows.windows, windows.aspect)
    for gesture in ("01_palm", "05_thumb"):
        rows = fingers[windows.labels == gestures.index(gesture)]
        np.testing.assert_allclose(ranges[gesture], np.percentile(rows, [1, 99], axis=0), atol=1e-4)
    # 06_index takes the fists' middle finger and 02_l's index in training, so it has their
    # ranges there: the middle finger curled, the index straight.
    for finger, donor in ((2, "03_fist"), (1, "02_l")):
        assert [r[finger] for r in ranges["06_index"]] == [r[finger] for r in ranges[donor]]
    assert ranges["06_index"][1][2] < 0.6 and ranges["06_index"][0][1] > 0.9
    rule = Calibration(finger_ranges=ranges)
    assert rule.finger_margin == 0.4
    labels = windows.labels
    index = windows.labels == gestures.index("06_index")
    rng = np.random.default_rng(0)
    repaired = give_fingers(windows.windows, windows.aspect, windows.labels, gestures, donors, rng)
    # Every training window answered as its own gesture keeps its answer ...
    others = ~index
    assert not rule.off_shape(
        windows.windows[others], windows.aspect[others], labels[others], gestures
    ).any()
    assert not rule.off_shape(repaired[index], windows.aspect[index], labels[index], gestures).any()
    # ... and a V sign (06_index with an open hand's straight middle finger) answered as
    # 06_index is rejected, as is a palm answered as a fist.
    v_signs = give_fingers(
        repaired, windows.aspect, windows.labels, gestures, ("06_index:middle:01_palm",), rng
    )
    assert rule.off_shape(v_signs[index], windows.aspect[index], labels[index], gestures).all()
    # Its fingers are those of no gesture with straight or curled fingers (only the half-open
    # hands of 04_fist_moved and 09_c, and 02_l for many, come within the margin; 01_palm for
    # 3 %, whose ring finger one camera view straightens in over a quarter of the frames).
    fits = rule.finger_fit(v_signs[index], windows.aspect[index], gestures)
    assert not fits[:, gestures.index("06_index")].any()
    closed_or_open = [
        "01_palm",
        "03_fist",
        "05_thumb",
        "06_index",
        "07_ok",
        "08_palm_moved",
        "10_down",
    ]
    assert fits[:, [gestures.index(g) for g in closed_or_open]].mean(axis=0).max() < 0.05
    fits = rule.finger_fit(windows.windows[others], windows.aspect[others], gestures)
    assert fits[np.arange(others.sum()), labels[others]].all()
    palms = windows.labels == gestures.index("01_palm")
    assert rule.off_shape(
        windows.windows[palms],
        windows.aspect[palms],
        np.full(palms.sum(), gestures.index("03_fist")),
        gestures,
    ).all()
    # As extracted, one camera view's landmarks straighten 06_index's curled middle finger:
    # by the window's median many of its own windows would be off shape; a finger must be
    # out of range in three quarters of the frames, which few are.
    as_extracted = windows.windows[index], windows.aspect[index], labels[index]
    by_median = replace(rule, finger_frames=0.5).off_shape(*as_extracted, gestures).mean()
    assert rule.finger_frames == 0.75
    assert by_median > 0.3 and rule.off_shape(*as_extracted, gestures).mean() < 0.15
    # Windows of 30 frames with a hand, the V sign in the first k of them: off shape from
    # 23 frames on (three quarters of 30 is 22.5), and from 15 on for half of the frames.
    full = np.flatnonzero(index & ~np.isnan(windows.windows).any(axis=(1, 2, 3)))[:5]
    assert len(full) == 5
    aspect, answered_as = windows.aspect[full], labels[full]
    for k, expected in ((23, True), (22, False), (15, False)):
        window = repaired[full].copy()
        window[:, :k] = v_signs[full, :k]
        off = rule.off_shape(window, aspect, answered_as, gestures)
        assert off.tolist() == [expected] * 5, k
    half = replace(rule, finger_frames=0.5)
    window = repaired[full].copy()
    window[:, :15] = v_signs[full, :15]
    assert half.off_shape(window, aspect, answered_as, gestures).all()
    window[:, 14] = repaired[full, 14]
    assert not half.off_shape(window, aspect, answered_as, gestures).any()
    # A wider margin lets the same V signs through; no ranges, no rule.
    assert (
        not replace(rule, finger_margin=1.0)
        .off_shape(v_signs[index], windows.aspect[index], labels[index], gestures)
        .any()
    )
    assert (
        not Calibration()
        .off_shape(v_signs[index], windows.aspect[index], labels[index], gestures)
        .any()
    )
    # Each finger's window value is the median of its frames with a hand.
    partly = windows.windows[:1].copy()
    partly[0, ::3] = np.nan
    frames = finger_extension(isotropic(partly[0], windows.aspect[0]))
    expected = np.median(frames[np.isfinite(frames).all(axis=1)], axis=0)
    np.testing.assert_allclose(window_fingers(partly, windows.aspect[:1])[0], expected, atol=1e-6)
    rule.save(tmp_path)
    assert Calibration.load(tmp_path) == rule


def _sample_rules(sample_landmarks):
    """The sample's windows, gestures and the rules train would save from them."""
    table = LandmarkTable.load(sample_landmarks)
    gestures = sorted(set(table.gestures))
    windows = table_windows(table, gestures, PreprocessingConfig())
    donors = AugmentationConfig().finger_donors
    return windows, gestures, rules_from_windows([windows], gestures, donors)


def _straight_fingers(landmarks, aspect, length):
    """The windows with the four fingers drawn straight from their knuckles, as the palm points.

    ``length``: each finger's length in palm lengths (wrist to middle knuckle).
    """
    points = isotropic(landmarks, aspect).astype(np.float64)
    palm = points[..., MIDDLE_MCP, :] - points[..., WRIST, :]
    for chain in FINGER_CHAINS[1:]:
        for step, joint in enumerate(chain[1:], start=1):
            points[..., joint, :] = points[..., chain[0], :] + palm * length * step / 3
    points[..., 1] /= aspect[..., None]
    return points.astype(np.float32)


def test_a_finger_is_outside_only_when_its_reach_agrees_so_stubs_of_curled_fingers_fit(
    sample_landmarks, tmp_path
):
    windows, gestures, rule = _sample_rules(sample_landmarks)
    assert sorted(rule.reach_ranges) == sorted(rule.finger_ranges) == gestures
    # 06_index has the donors' reach where it has their extension.
    for finger, donor in ((2, "03_fist"), (1, "02_l")):
        assert [r[finger] for r in rule.reach_ranges["06_index"]] == [
            r[finger] for r in rule.reach_ranges[donor]
        ]
    by_extension = replace(rule, reach_ranges=None)
    thumbs = windows.labels == gestures.index("05_thumb")
    aspect, answers = windows.aspect[thumbs], windows.labels[thumbs]
    # Curled fingers drawn as straight stubs a quarter of the palm long (as MediaPipe draws
    # a fist seen from the side): straight by their extension, curled by their reach.
    stubs = _straight_fingers(windows.windows[thumbs], aspect, 0.25)
    np.testing.assert_allclose(
        np.nanmedian(finger_extension(isotropic(stubs, aspect))[..., 1:]), 1.0, atol=1e-4
    )
    assert by_extension.off_shape(stubs, aspect, answers, gestures).all()
    assert not rule.off_shape(stubs, aspect, answers, gestures).any()
    # Fingers as straight and as long as the palm are outside by both: not a thumbs-up.
    opened = _straight_fingers(windows.windows[thumbs], aspect, 1.0)
    assert rule.off_shape(opened, aspect, answers, gestures).all()
    # A V sign answered as 06_index stays outside: its middle finger is long and straight.
    index = windows.labels == gestures.index("06_index")
    rng = np.random.default_rng(0)
    donors = (*AugmentationConfig().finger_donors, "06_index:middle:01_palm")
    v_signs = give_fingers(windows.windows, windows.aspect, windows.labels, gestures, donors, rng)
    v_answers = windows.labels[index]
    assert rule.off_shape(v_signs[index], windows.aspect[index], v_answers, gestures).all()
    # Both must be outside in the same frames. Half of each window's frames stubs (outside
    # by the extension alone), the other half with the palm drawn a quarter as long (the
    # fingers then reach four times as far, outside by the reach alone): each is outside in
    # half of the frames, but never both in one frame, so even at half the frames it fits.
    full = np.flatnonzero(thumbs & ~np.isnan(windows.windows).any(axis=(1, 2, 3)))[:5]
    assert len(full) == 5
    mixed, aspect = windows.windows[full].copy(), windows.aspect[full]
    mixed[:, :15] = _straight_fingers(mixed[:, :15], aspect[:, :15], 0.25)
    knuckle = mixed[:, 15:, MIDDLE_MCP]
    mixed[:, 15:, WRIST] = knuckle + (mixed[:, 15:, WRIST] - knuckle) / 4
    half = replace(rule, finger_frames=0.5)
    answered_as = windows.labels[full]
    assert not half.off_shape(mixed, aspect, answered_as, gestures).any()
    # By the extension alone, or with every extension counted as outside (the reach alone),
    # the same windows are outside.
    assert replace(half, reach_ranges=None).off_shape(mixed, aspect, answered_as, gestures).all()
    by_reach = replace(half, finger_ranges={g: [[-10.0] * 5, [-10.0] * 5] for g in gestures})
    assert by_reach.off_shape(mixed, aspect, answered_as, gestures).all()
    rule.save(tmp_path)
    assert Calibration.load(tmp_path) == rule


def test_on_real_photos_the_reach_keeps_thumbs_up_and_still_rejects_every_v_sign(
    sample_landmarks, hagrid_sample
):
    _, gestures, rule = _sample_rules(sample_landmarks)
    by_extension = replace(rule, reach_ranges=None)
    off = {}
    with make_extractor("auto") as extractor:
        for folder, gesture in (("like", "05_thumb"), ("peace", "06_index")):
            photos = list_images(hagrid_sample / folder)
            results = [extractor.process_photo(read_image(path)) for path in photos]
            assert len(results) == 40 and all(r.detected for r in results)
            landmarks = np.stack([r.landmarks for r in results])[:, None]
            aspect = np.array([r.aspect for r in results], np.float32)[:, None]
            answers = np.full(len(results), gestures.index(gesture))
            off[folder] = [
                calibration.off_shape(landmarks, aspect, answers, gestures)
                for calibration in (by_extension, rule)
            ]
    # HaGRID's thumbs-up photos: the extension alone puts 13 of 40 outside 05_thumb's
    # fingers, most of them fists seen from the side whose curled fingers the landmarks draw
    # as short straight stubs; with the reach 4 (every one of them outside by the extension
    # too). Every V sign stays outside 06_index's fingers.
    extension, reach = off["like"]
    assert (extension.sum(), reach.sum()) == (13, 4) and not (reach & ~extension).any()
    assert off["peace"][0].all() and off["peace"][1].all()


def test_the_answer_is_the_gesture_nothing_or_not_a_gesture_as_each_rule_says(sample_landmarks):
    table = LandmarkTable.load(sample_landmarks)
    gestures = sorted(set(table.gestures))
    windows = table_windows(table, gestures, PreprocessingConfig())
    rules = rules_from_windows([windows], gestures, AugmentationConfig().finger_donors)
    assert rules.max_downward == pytest.approx(0.25) and rules.temperature == 1.0
    palm, fist, index = (gestures.index(g) for g in ("01_palm", "03_fist", "06_index"))
    palms = np.flatnonzero(windows.labels == palm)[:4]
    landmarks, aspect = windows.windows[palms], windows.aspect[palms]
    upside_down = landmarks.copy()
    upside_down[..., 1] = 1.0 - upside_down[..., 1]
    # Four real palm windows: one answered confidently as a palm, one unsure, one answered
    # as a fist (fingers not a fist's), one pointing down.
    probabilities = np.full((4, len(gestures)), 0.02, np.float32)
    probabilities[0, palm] = probabilities[3, palm] = 0.82
    probabilities[1, palm], probabilities[1, index] = 0.45, 0.39
    probabilities[2, fist] = 0.82
    landmarks = np.concatenate([landmarks[:3], upside_down[3:]])
    answers = rules.answer(probabilities, landmarks, aspect, gestures, threshold=0.6)
    assert answers.state.tolist() == [GESTURE, UNCERTAIN, NOT_GESTURE, NOT_GESTURE]
    assert answers.top.tolist() == [palm, palm, fist, palm]
    assert answers.off_shape.tolist() == [False, False, True, False]
    assert answers.points_down.tolist() == [False, False, False, True]
    assert answers.labels(gestures).tolist() == ["01_palm", UNCERTAIN, NOT_GESTURE, NOT_GESTURE]
    np.testing.assert_allclose(answers.confidence, [0.82, 0.45, 0.82, 0.82], atol=1e-6)
    # The threshold is the calibration's unless given; the temperature calibrates first.
    assert rules.answer(probabilities, landmarks, aspect, gestures).state[1] == UNCERTAIN
    assert rules.answer(probabilities, landmarks, aspect, gestures, 0.4).state[1] == GESTURE
    sharp = replace(rules, temperature=0.25).answer(probabilities, landmarks, aspect, gestures)
    np.testing.assert_allclose(sharp.probabilities, apply_temperature(probabilities, 0.25))
    # 0.45 against 0.39 and eight of 0.02 sharpens to 0.64, over the threshold.
    assert sharp.confidence[1] == pytest.approx(0.45**4 / (0.45**4 + 0.39**4 + 8 * 0.02**4))
    assert sharp.state[1] == GESTURE
    # The none class is "not a gesture" however confident; no rules, no rejection.
    named = [REJECTION_LABEL if g == "01_palm" else g for g in gestures]
    assert rules.answer(probabilities, landmarks, aspect, named).state[0] == NOT_GESTURE
    plain = Calibration().answer(probabilities, landmarks, aspect, gestures)
    assert plain.state.tolist() == [GESTURE, UNCERTAIN, GESTURE, GESTURE]
    # One window at a time (live use) gives the same as the batch.
    one = rules.answer(probabilities[2], landmarks[2], aspect[2], gestures)
    assert one.state.shape == () and str(one.state) == NOT_GESTURE and bool(one.off_shape)
    both = Answers.concatenate([answers, plain])
    assert both.state.tolist() == answers.state.tolist() + plain.state.tolist()


@pytest.mark.parametrize(
    "ranges",
    [
        [[0.1] * 5, [0.9] * 5],
        {"01_palm": [[0.1] * 4, [0.9] * 4]},
        {"a": [[0.1] * 5, [float("nan")] * 5]},
        {"a": [["low"] * 5, [0.9] * 5]},
        {"a": [[0.1] * 5, [0.9, 0.9]]},
    ],
)
@pytest.mark.parametrize("name", ["finger_ranges", "reach_ranges"])
def test_a_calibration_with_bad_finger_ranges_is_refused(tmp_path, ranges, name):
    with pytest.raises(InputError, match=f"{name} must map each gesture"):
        Calibration(**{name: ranges})
    (tmp_path / CALIBRATION_FILE).write_text(json.dumps({name: ranges}))
    with pytest.raises(InputError, match=name):
        Calibration.load(tmp_path)


@pytest.mark.parametrize("margin", [-0.1, "0.4", True])
def test_a_calibration_with_a_bad_finger_margin_is_refused(margin):
    with pytest.raises(InputError, match="finger_margin must be a number >= 0"):
        Calibration(finger_margin=margin)


@pytest.mark.parametrize("share", [0.4, 1.5, "0.75", True, float("nan")])
def test_a_calibration_with_a_bad_share_of_frames_is_refused(tmp_path, share):
    with pytest.raises(InputError, match=r"finger_frames must be a number in \[0.5, 1\]"):
        Calibration(finger_frames=share)
    (tmp_path / CALIBRATION_FILE).write_text(json.dumps({"finger_frames": share}))
    with pytest.raises(InputError, match="finger_frames"):
        Calibration.load(tmp_path)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("temperature", "x", "temperature must be a finite number > 0, got 'x'"),
        ("temperature", None, "temperature must be a finite number > 0, got None"),
        ("temperature", 0, "temperature must be a finite number > 0, got 0"),
        ("threshold", "0.5", r"threshold must be a number in \[0, 1\], got '0.5'"),
        ("threshold", 1.5, r"threshold must be a number in \[0, 1\], got 1.5"),
    ],
)
def test_a_calibration_file_with_a_bad_number_is_named_in_one_line(tmp_path, field, value, message):
    (tmp_path / CALIBRATION_FILE).write_text(json.dumps({field: value}))
    where = re.escape(str(tmp_path / CALIBRATION_FILE))
    with pytest.raises(InputError, match=f"^{where}: {message}$"):
        Calibration.load(tmp_path)


def test_an_infinite_temperature_is_refused(tmp_path):
    # JSON's Infinity would make every answer "uncertain" without a word.
    (tmp_path / CALIBRATION_FILE).write_text('{"temperature": Infinity}')
    with pytest.raises(InputError, match="temperature must be a finite number > 0, got inf"):
        Calibration.load(tmp_path)
