"""Live recognition on real frames: the predict command, its outputs, overlay and bad input."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from helpers import far_from_camera

from hand_gesture_recognition.calibration import GESTURE, NOT_GESTURE
from hand_gesture_recognition.cli import main as cli_main
from hand_gesture_recognition.config import MAPPING_FILE, MODEL_FILE
from hand_gesture_recognition.extractor import HandResult
from hand_gesture_recognition.landmark_file import LandmarkTable


def sample_hands(landmark_file: Path, gesture: str, count: int) -> list[HandResult]:
    """The first ``count`` frames with a hand of one gesture of the sample, as results."""
    table = LandmarkTable.load(landmark_file)
    rows = np.flatnonzero((table.gesture == gesture) & table.detected)[:count]
    return [HandResult(table.landmarks[r], 1.0, float(table.aspect[r])) for r in rows]


def write_video(frames: list[Path], out: Path) -> Path:
    import cv2

    first = cv2.imread(str(frames[0]))
    writer = cv2.VideoWriter(
        str(out), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (first.shape[1], first.shape[0])
    )
    for path in frames:
        writer.write(cv2.imread(str(path)))
    writer.release()
    return out


def count_frames(path: Path) -> int:
    import cv2

    capture = cv2.VideoCapture(str(path))
    n = 0
    while capture.read()[0]:
        n += 1
    capture.release()
    return n


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def webcam_video(webcam_sample: Path, tmp_path_factory) -> Path:
    from hand_gesture_recognition.realtime import list_images

    frames = list_images(webcam_sample / "stop")[:60]
    return write_video(frames, tmp_path_factory.mktemp("videos") / "webcam.avi")


@pytest.fixture(scope="module")
def infrared_video(leap_gesture_dirs: dict[str, Path], tmp_path_factory) -> Path:
    from hand_gesture_recognition.realtime import list_images

    frames = list_images(leap_gesture_dirs["01_palm"])[:45]
    return write_video(frames, tmp_path_factory.mktemp("videos") / "infrared.avi")


@pytest.fixture(scope="module")
def legacy_model_dir(trained_model_dir: Path, tmp_path_factory) -> Path:
    """The original project's layout: the .h5 and the mapping, no model_config.json."""
    legacy = tmp_path_factory.mktemp("legacy") / "model"
    legacy.mkdir()
    for name in (MODEL_FILE, MAPPING_FILE):
        shutil.copy(trained_model_dir / name, legacy / name)
    return legacy


def check_stream_lines(lines: list[dict], gestures: set[str], length: int = 30) -> None:
    assert [line["frame"] for line in lines] == list(range(len(lines)))
    for line in lines:
        assert isinstance(line["label"], (str, type(None)))
        assert isinstance(line["confidence"], float) and 0.0 <= line["confidence"] <= 1.0
        assert isinstance(line["hand_detected"], bool)
        assert isinstance(line["latency_ms"], float) and line["latency_ms"] >= 0.0
        if line["label"] is not None:
            assert line["label"] in gestures
    detected = [line["hand_detected"] for line in lines]
    for i in range(length - 1, len(lines)):
        if all(detected[i - length + 1 : i + 1]):
            # A full window of frames with a hand: with threshold 0 there is always an answer.
            assert lines[i]["label"] in gestures, lines[i]


def test_predict_webcam_video(trained_model_dir, webcam_video, tmp_path, capsys):
    jsonl, output = tmp_path / "out.jsonl", tmp_path / "annotated.mp4"
    status = cli_main(
        [
            "predict",
            "--model",
            str(trained_model_dir),
            "--source",
            str(webcam_video),
            "--jsonl",
            str(jsonl),
            "--output",
            str(output),
            "--no-display",
            "--threshold",
            "0",
        ]
    )
    assert status == 0, capsys.readouterr().err
    lines = read_lines(jsonl)
    frames = count_frames(webcam_video)
    assert len(lines) == frames
    gestures = set(json.loads((trained_model_dir / MAPPING_FILE).read_text()))
    check_stream_lines(lines, gestures)
    assert np.mean([line["hand_detected"] for line in lines]) >= 0.8
    assert sum(line["label"] is not None for line in lines) >= frames - 35
    assert count_frames(output) == frames
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_predict_infrared_video(trained_model_dir, infrared_video, tmp_path, capsys):
    jsonl = tmp_path / "out.jsonl"
    status = cli_main(
        [
            "predict",
            "--model",
            str(trained_model_dir),
            "--source",
            str(infrared_video),
            "--jsonl",
            str(jsonl),
            "--no-display",
            "--threshold",
            "0",
        ]
    )
    assert status == 0, capsys.readouterr().err
    lines = read_lines(jsonl)
    assert len(lines) == count_frames(infrared_video)
    gestures = set(json.loads((trained_model_dir / MAPPING_FILE).read_text()))
    check_stream_lines(lines, gestures)
    assert np.mean([line["hand_detected"] for line in lines]) >= 0.8
    full = [line["label"] for line in lines[29:]]
    assert full and all(label in gestures for label in full)


def test_image_folder_is_one_sequence_and_headless_is_announced(
    trained_model_dir, webcam_sample, tmp_path, capsys, monkeypatch
):
    from hand_gesture_recognition.realtime import list_images

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    folder = tmp_path / "frames"
    folder.mkdir()
    for path in list_images(webcam_sample / "thumbs_up")[40:75]:
        shutil.copy(path, folder / path.name)
    jsonl = tmp_path / "out.jsonl"
    status = cli_main(
        ["predict", "--model", str(trained_model_dir), "--source", str(folder),
         "--jsonl", str(jsonl)]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert status == 0, err
    assert err.count("no display found") == 1
    lines = read_lines(jsonl)
    assert len(lines) == 35
    assert lines[0]["frame"] == 0 and lines[-1]["frame"] == 34


def test_static_images(trained_model_dir, webcam_sample, leap_gesture_dirs, tmp_path, capsys):
    from hand_gesture_recognition.realtime import list_images

    folder = tmp_path / "images"
    folder.mkdir()
    chosen = [
        list_images(webcam_sample / "stop")[100],
        list_images(webcam_sample / "thumbs_up")[100],
        list_images(leap_gesture_dirs["01_palm"])[10],
    ]
    for i, path in enumerate(chosen):
        shutil.copy(path, folder / f"{i}_{path.name}")
    jsonl = tmp_path / "static.jsonl"
    status = cli_main(
        ["predict", "--model", str(trained_model_dir), "--source", str(folder),
         "--static-images", "--jsonl", str(jsonl), "--no-display", "--threshold", "0"]
    )  # fmt: skip
    assert status == 0, capsys.readouterr().err
    lines = read_lines(jsonl)
    gestures = set(json.loads((trained_model_dir / MAPPING_FILE).read_text()))
    assert [Path(line["source"]).name for line in lines] == sorted(p.name for p in folder.iterdir())
    for line in lines:
        assert set(line) >= {"source", "label", "confidence", "hand_detected"}
        assert line["hand_detected"] is True
        assert 0.0 < line["confidence"] <= 1.0
    # Another person's stop sign and the infrared palm read as 01_palm; the thumbs-up is
    # 05_thumb or, where the model's closest gesture holds its fingers otherwise (02_l's
    # straight index), not a gesture: never another gesture.
    assert [line["label"] for line in lines[::2]] == ["01_palm", "01_palm"]
    assert lines[1]["label"] == "05_thumb" or lines[1]["state"] == "not_gesture"
    assert gestures >= {"01_palm", "05_thumb"}


def test_legacy_model_directory_runs(legacy_model_dir, webcam_video, tmp_path, capsys):
    from hand_gesture_recognition.realtime import RealTimeGestureRecognizer

    with RealTimeGestureRecognizer(legacy_model_dir) as recognizer:
        assert recognizer.preprocessing.feature_mode == "raw"
        assert recognizer.preprocessing.missing == "zero"
    jsonl = tmp_path / "legacy.jsonl"
    status = cli_main(
        ["predict", "--model", str(legacy_model_dir), "--source", str(webcam_video),
         "--jsonl", str(jsonl), "--no-display"]
    )  # fmt: skip
    assert status == 0, capsys.readouterr().err
    assert len(read_lines(jsonl)) == count_frames(webcam_video)


def test_window_slides_bridges_gaps_and_clears(trained_model_dir, sample_landmarks):
    from hand_gesture_recognition.realtime import (
        GESTURE,
        NO_HAND,
        WARMING_UP,
        RealTimeGestureRecognizer,
    )

    hands = sample_hands(sample_landmarks, "01_palm", 40)
    missing = HandResult(None, 0.0, hands[0].aspect)
    with RealTimeGestureRecognizer(trained_model_dir, threshold=0.0, max_gap=3) as recognizer:
        states = [recognizer.update(hand).state for hand in hands[:29]]
        assert states == [WARMING_UP] * 29
        answers = [recognizer.update(hand) for hand in hands[29:35]]
        assert all(a.state == GESTURE and a.label in recognizer.gestures for a in answers)
        # A short gap is bridged (interpolated, as in training): still an answer.
        bridged = [recognizer.update(missing) for _ in range(3)]
        assert all(p.state == GESTURE and not p.hand_detected for p in bridged)
        # One frame more and the window is cleared.
        assert recognizer.update(missing).state == NO_HAND
        assert recognizer.update(hands[0]).state == WARMING_UP


def test_a_none_class_answers_not_a_gesture(trained_model_dir, sample_landmarks):
    from hand_gesture_recognition.realtime import (
        GESTURE,
        NOT_GESTURE,
        RealTimeGestureRecognizer,
        draw_overlay,
    )

    def hands(gesture):
        return sample_hands(sample_landmarks, gesture, 36)

    mapping = json.loads((trained_model_dir / MAPPING_FILE).read_text())
    with RealTimeGestureRecognizer(trained_model_dir, threshold=0.0) as recognizer:
        palm = [recognizer.update(hand) for hand in hands("01_palm")][29:]
        recognizer.reset()
        fist = [recognizer.update(hand) for hand in hands("03_fist")][29:]
    # The same model with the class it gives the palm frames renamed "none": a hand doing
    # no gesture. It answers so whatever the confidence, and the other classes are unchanged.
    named = palm[-1].label
    assert named is not None and all(p.label == named for p in palm)
    renamed = {("none" if g == named else g): i for g, i in mapping.items()}
    with RealTimeGestureRecognizer(trained_model_dir, renamed, threshold=0.99) as recognizer:
        answers = [recognizer.update(hand) for hand in hands("01_palm")][29:]
        assert [(a.state, a.label, a.candidate, a.points_down) for a in answers] == [
            (NOT_GESTURE, None, "none", False)
        ] * len(palm)
        assert [a.confidence for a in answers] == pytest.approx([p.confidence for p in palm])
        frame = np.zeros((240, 320, 3), np.uint8)
        assert draw_overlay(frame, answers[-1]).any()
        recognizer.reset()
        threshold_free = [recognizer.update(hand) for hand in hands("03_fist")][29:]
        for before, after in zip(fist, threshold_free, strict=True):
            assert after.candidate == before.label != named
            assert after.state == (GESTURE if after.confidence >= 0.99 else "uncertain")


def test_overlay_changes_pixels_at_landmarks(webcam_sample):
    import cv2

    from hand_gesture_recognition.extractor import MediaPipeHandsExtractor
    from hand_gesture_recognition.realtime import (
        GESTURE,
        Prediction,
        draw_overlay,
        landmark_pixels,
        list_images,
    )

    frame = cv2.imread(str(list_images(webcam_sample / "stop")[120]))
    with MediaPipeHandsExtractor() as extractor:
        result = extractor.process(frame)
    assert result.detected
    prediction = Prediction("01_palm", 0.9, None, True, result.landmarks, GESTURE)
    drawn = draw_overlay(frame, prediction, fps=30.0)
    assert drawn.shape == frame.shape and drawn is not frame
    changed = np.abs(drawn.astype(int) - frame.astype(int)).sum(axis=2) > 30
    points = landmark_pixels(result.landmarks, frame.shape)
    inside = [(x, y) for x, y in points if 0 <= x < frame.shape[1] and 0 <= y < frame.shape[0]]
    assert len(inside) >= 15
    assert np.mean([changed[y, x] for x, y in inside]) >= 0.9
    # Far from the hand and the text (bottom-left corner) nothing is drawn.
    assert not changed[-20:, :20].any()
    assert np.array_equal(frame, cv2.imread(str(list_images(webcam_sample / "stop")[120])))


def test_fast_classifier_equals_keras(trained_model_dir, sample_landmarks):
    from hand_gesture_recognition.features import frame_features
    from hand_gesture_recognition.model import FastClassifier, load_model
    from hand_gesture_recognition.preprocessing import fill_missing

    loaded = load_model(trained_model_dir)
    table = LandmarkTable.load(sample_landmarks)
    windows = []
    for _, rows in list(table.sequences())[:10]:
        filled = fill_missing(table.landmarks[rows[:30]], "window")
        windows.append(frame_features(filled, table.aspect[rows[:30]], "canonical"))
    x = np.concatenate([np.stack(windows), np.random.default_rng(0).normal(0, 1, (4, 30, 63))])
    x = x.astype(np.float32)
    reference = loaded.model(x, training=False).numpy()
    classifier = FastClassifier(loaded.model)
    assert classifier.backend == "tflite"
    single = np.stack([classifier.predict(w) for w in x])
    np.testing.assert_allclose(single, reference, atol=1e-5)
    np.testing.assert_allclose(classifier.predict(x), reference, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# Bad input: one line, exit status 2.


def run_bad(args: list[str], capsys) -> str:
    status = cli_main(["predict", *args, "--no-display"])
    err = capsys.readouterr().err.strip()
    assert status == 2, err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("hand-gesture predict: error: ")
    assert "Traceback" not in err
    return err


def test_bad_sources(trained_model_dir, tmp_path, capsys):
    model = ["--model", str(trained_model_dir)]
    assert "not found" in run_bad([*model, "--source", str(tmp_path / "missing.mp4")], capsys)
    broken = tmp_path / "broken.mp4"
    broken.write_text("not a video")
    assert "not a readable video" in run_bad([*model, "--source", str(broken)], capsys)
    assert "camera 97" in run_bad([*model, "--source", "97"], capsys)
    # An index past any camera (and past what OpenCV can take) is one line too.
    assert run_bad([*model, "--source", "2147483648"], capsys) == (
        "hand-gesture predict: error: camera 2147483648: no such camera "
        "(expected an index from 0 to 9999)"
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no images" in run_bad([*model, "--source", str(empty)], capsys)
    assert "no images" in run_bad([*model, "--source", str(empty), "--static-images"], capsys)
    assert "--output" in run_bad(
        [*model, "--source", str(empty), "--output", str(tmp_path / "x.txt")], capsys
    )


def test_bad_models(trained_model_dir, webcam_video, tmp_path, capsys):
    source = ["--source", str(webcam_video)]
    no_mapping = tmp_path / "no_mapping"
    no_mapping.mkdir()
    shutil.copy(trained_model_dir / MODEL_FILE, no_mapping / MODEL_FILE)
    assert MAPPING_FILE in run_bad(["--model", str(no_mapping), *source], capsys)

    mismatch = tmp_path / "mismatch"
    mismatch.mkdir()
    shutil.copy(trained_model_dir / MODEL_FILE, mismatch / MODEL_FILE)
    (mismatch / MAPPING_FILE).write_text(json.dumps({"a": 0, "b": 1, "c": 2}))
    assert "3 gestures" in run_bad(["--model", str(mismatch), *source], capsys)

    assert "no such model" in run_bad(["--model", str(tmp_path / "nowhere"), *source], capsys)
    # Any other file is no model, even beside one.
    metrics = trained_model_dir / "metrics.json"
    assert run_bad(["--model", str(metrics), *source], capsys) == (
        f"hand-gesture predict: error: {metrics}: not a model "
        "(expected a model directory or its .h5, .onnx, .tflite file)"
    )
    assert run_bad(["--model", str(trained_model_dir), "--revision", "main", *source], capsys) == (
        "hand-gesture predict: error: --revision and --token: apply to --repo only (a Hub model)"
    )


# ---------------------------------------------------------------------------------------------
# The inference install: no TensorFlow, no Keras.


def run_blocked(args: list[str], tmp_path: Path, blocked: tuple[str, ...], **env: str):
    import subprocess
    import sys

    from helpers import blocking_env

    command = [sys.executable, "-m", "hand_gesture_recognition", "predict", *args, "--no-display"]
    return subprocess.run(
        command,
        env={**blocking_env(tmp_path, blocked), **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.parametrize(
    "blocked",
    [("tensorflow", "keras", "tf_keras"), ("tensorflow", "keras", "tf_keras", "onnxruntime")],
    ids=["onnx-runtime", "litert"],
)
def test_predict_without_tensorflow_or_keras(
    trained_model_dir, leap_gesture_dirs, tmp_path, blocked
):
    # Without ONNX Runtime, the classifier runs model.tflite on LiteRT.
    from hand_gesture_recognition.realtime import list_images

    photos = tmp_path / "photos"
    photos.mkdir()
    for gesture in ("01_palm", "07_ok"):
        shutil.copy(list_images(leap_gesture_dirs[gesture])[99], photos / f"{gesture}.png")
    jsonl = tmp_path / "out.jsonl"
    done = run_blocked(
        ["--model", str(trained_model_dir), "--source", str(photos), "--static-images",
         "--threshold", "0", "--jsonl", str(jsonl)],
        tmp_path,
        blocked,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    labels = {Path(line["source"]).stem: line["label"] for line in read_lines(jsonl)}
    assert labels == {"01_palm": "01_palm", "07_ok": "07_ok"}


def test_inference_install_bad_models_are_one_line(trained_model_dir, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    for name in (MODEL_FILE, MAPPING_FILE):
        shutil.copy(trained_model_dir / name, legacy / name)
    args = ["--source", str(photos), "--static-images"]
    shutil.copy(next(iter(sorted(trained_model_dir.glob("*.png")))), photos / "x.png")

    # An original .h5-only model needs Keras once to be converted...
    cache = tmp_path / "cache"
    blocked = ("tensorflow", "keras")
    done = run_blocked(["--model", str(legacy), *args], tmp_path, blocked, HGR_CACHE_DIR=str(cache))
    err = done.stderr.strip().splitlines()[-1]
    assert done.returncode == 2, done.stderr[-3000:]
    assert f"{legacy / MODEL_FILE}: has no model.tflite" in err and "[train]" in err
    assert "Traceback" not in done.stderr
    # ... and once converted (here, where Keras is), the cache serves it without TensorFlow.
    from hand_gesture_recognition.model import load_classifier

    load_classifier(legacy, cache_dir=cache)
    done = run_blocked(["--model", str(legacy), *args], tmp_path, blocked, HGR_CACHE_DIR=str(cache))
    assert done.returncode == 0, done.stderr[-3000:]

    # LiteRT missing: the classifier runs on ONNX Runtime, and the landmark model that needs
    # LiteRT (the photo fallback of the model's extractor) is named.
    done = run_blocked(["--model", str(trained_model_dir), *args], tmp_path, ("ai_edge_litert",))
    err = done.stderr.strip().splitlines()[-1]
    assert done.returncode == 2, done.stderr[-3000:]
    assert "hand_landmark_full.tflite: running it needs LiteRT" in err
    assert "Traceback" not in done.stderr


def test_close_up_photos_are_classified_with_the_photo_fallbacks(trained_model_dir, hagrid_sample):
    from hand_gesture_recognition.realtime import RealTimeGestureRecognizer, list_images, read_image

    photos = [read_image(p) for p in list_images(hagrid_sample / "fist")[:6]]
    with RealTimeGestureRecognizer(trained_model_dir) as recognizer:
        assert recognizer.calibration.temperature == recognizer.calibration.fitted_temperature
        found = [recognizer.classify_image(photo).hand_detected for photo in photos]
    # MediaPipe Hands alone finds about 1 in 20 of these fists (benchmarks/generalisation.py).
    assert sum(found) >= 5


def test_a_stop_sign_far_from_the_camera_is_answered_as_a_palm(trained_model_dir, webcam_sample):
    from hand_gesture_recognition.realtime import RealTimeGestureRecognizer, list_images, read_image

    photos = [read_image(p) for p in list_images(webcam_sample / "stop")[::20]]
    with RealTimeGestureRecognizer(trained_model_dir) as recognizer:
        near = [recognizer.classify_image(photo).label for photo in photos]
        far = [recognizer.classify_image(far_from_camera(photo)[0]).label for photo in photos]
    # The hand is 50 pixels tall in a 640x480 frame: without the tiles, 1 of 10 is found.
    assert near.count("01_palm") >= 8
    assert far.count("01_palm") >= 7


def test_a_hand_pointing_down_is_not_a_gesture(trained_model_dir, sample_landmarks, webcam_sample):
    from hand_gesture_recognition.realtime import (
        GESTURE,
        NOT_GESTURE,
        RealTimeGestureRecognizer,
        list_images,
        read_image,
    )

    upright = sample_hands(sample_landmarks, "01_palm", 36)
    hanging = []
    for hand in upright:
        points = hand.landmarks.copy()
        points[:, 1] = 1.0 - points[:, 1]  # the same hand upside down
        hanging.append(HandResult(points, 1.0, hand.aspect))
    photo = read_image(list_images(webcam_sample / "stop")[100])
    with RealTimeGestureRecognizer(trained_model_dir, threshold=0.0) as recognizer:
        assert recognizer.calibration.max_downward == pytest.approx(0.25)
        held_up = [recognizer.update(hand) for hand in upright][29:]
        recognizer.reset()
        held_down = [recognizer.update(hand) for hand in hanging][29:]
        # A real photo of a stop sign, and the same photo upside down: fingers to the floor.
        shown = recognizer.classify_image(photo)
        dropped = recognizer.classify_image(np.ascontiguousarray(photo[::-1]))
    assert all(p.state == GESTURE and not p.points_down for p in held_up)
    assert all(p.state == NOT_GESTURE and p.label is None and p.points_down for p in held_down)
    assert all(p.candidate in recognizer.gestures for p in held_down)
    assert shown.state == GESTURE and shown.hand_detected
    assert dropped.hand_detected and dropped.state == NOT_GESTURE and dropped.label is None
    assert dropped.points_down and not shown.points_down


def test_a_v_sign_is_not_a_gesture_because_its_fingers_are_not_any_gestures(
    trained_model_dir, webcam_sample
):
    from hand_gesture_recognition.realtime import (
        GESTURE,
        NOT_GESTURE,
        RealTimeGestureRecognizer,
        draw_overlay,
        list_images,
        read_image,
    )

    peace = [read_image(p) for p in list_images(webcam_sample / "peace")[::25]]
    stop = read_image(list_images(webcam_sample / "stop")[100])
    with RealTimeGestureRecognizer(trained_model_dir, threshold=0.0) as recognizer:
        assert sorted(recognizer.calibration.finger_ranges) == sorted(recognizer.gestures)
        answers = [recognizer.classify_image(photo) for photo in peace]
        shown = recognizer.classify_image(stop)
    # Index and middle finger up, the others curled: no gesture of LeapGestRecog holds its
    # fingers so, whatever the model's closest answer.
    v_signs = [p for p in answers if p.hand_detected]
    assert len(v_signs) >= 6
    assert all(p.state == NOT_GESTURE and p.off_shape and p.label is None for p in v_signs)
    assert all(p.candidate in recognizer.gestures and not p.points_down for p in v_signs)
    assert shown.state == GESTURE and shown.label == "01_palm" and not shown.off_shape
    # The overlay says why.
    before = draw_overlay(stop, replace(v_signs[0], off_shape=False))
    assert not np.array_equal(draw_overlay(stop, v_signs[0]), before)


def _seen_otherwise(image: np.ndarray) -> dict[str, np.ndarray]:
    """The photo as the other hand, tilted 15 degrees either way, and at half the size."""
    import cv2

    height, width = image.shape[:2]
    turned = {
        f"turned {angle}": cv2.warpAffine(
            image,
            cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0),
            (width, height),
            borderMode=cv2.BORDER_REPLICATE,
        )
        for angle in (15, -15)
    }
    return {
        "as it is": image,
        "mirrored": cv2.flip(image, 1),
        **turned,
        "half size": cv2.resize(image, (width // 2, height // 2), interpolation=cv2.INTER_AREA),
    }


def test_the_other_hand_a_tilt_and_a_smaller_picture_change_no_answer(
    trained_model_dir, webcam_sample, hagrid_sample
):
    from hand_gesture_recognition.realtime import RealTimeGestureRecognizer, list_images, read_image

    stops = (
        list_images(webcam_sample / "stop")[60:200:20] + list_images(hagrid_sample / "stop")[::5]
    )
    v_signs = list_images(hagrid_sample / "peace")[::5]
    answers = {}
    with RealTimeGestureRecognizer(trained_model_dir) as recognizer:
        for path in stops + v_signs:
            for how, image in _seen_otherwise(read_image(path)).items():
                prediction = recognizer.classify_image(image)
                answers[path.parent.name, path.name, how] = (prediction.label, prediction.state)
    assert len(answers) == 5 * (7 + 8 + 8)
    # Every stop sign is 01_palm and every V sign no gesture, however the photo shows it.
    expected = {"stop": ("01_palm", GESTURE), "peace": (None, NOT_GESTURE)}
    wrong = {key: said for key, said in answers.items() if said != expected[key[0]]}
    assert not wrong, wrong


def test_phone_photos_stored_turned_are_answered_as_taken(
    trained_model_dir, webcam_sample, hagrid_sample, tmp_path, capsys
):
    from helpers import save_turned

    from hand_gesture_recognition.realtime import list_images

    stops = list_images(webcam_sample / "stop")[60:200:40] + list_images(hagrid_sample / "stop")[:4]
    folder = tmp_path / "phone"
    folder.mkdir()
    for i, photo in enumerate(stops):
        # Upside down (EXIF 3) as stored, a hand that would point down if read as stored.
        save_turned(photo, 3 if i % 2 else 6, folder / f"{i}.jpg")
    jsonl = tmp_path / "phone.jsonl"
    argv = ["predict", "--model", str(trained_model_dir), "--source", str(folder)]
    assert cli_main([*argv, "--static-images", "--jsonl", str(jsonl), "--no-display"]) == 0
    capsys.readouterr()
    assert [line["label"] for line in read_lines(jsonl)] == ["01_palm"] * len(stops)
