"""Answers, not types: the session's model recognises held-back frames of every gesture.

Each gesture's last 34 frames (never trained on) go through ``hand-gesture predict``,
``inference.py`` and the app at the default threshold, and the answer must be that gesture.
The same check fails when the mapping is permuted or live features differ from training's.
"""

from __future__ import annotations

import sys
from dataclasses import replace

import pytest
from conftest import REPO
from helpers import assert_recognised, final_labels, held_back_folders

from hand_gesture_recognition.cli import main as cli_main
from hand_gesture_recognition.model import read_mapping
from hand_gesture_recognition.realtime import RealTimeGestureRecognizer


@pytest.fixture(scope="module")
def held_back(leap_gesture_dirs, tmp_path_factory):
    return held_back_folders(leap_gesture_dirs, tmp_path_factory.mktemp("held-back"))


def test_predict_recognises_held_back_frames_of_every_gesture(
    trained_model_dir, held_back, tmp_path
):
    answers = {}
    for gesture, folder in held_back.items():
        out = tmp_path / f"{gesture}.jsonl"
        status = cli_main(
            ["predict", "--model", str(trained_model_dir), "--source", str(folder)]
            + ["--jsonl", str(out), "--no-display"]
        )
        assert status == 0
        answers[gesture] = final_labels(out)
    assert len(answers) == 10
    assert_recognised(answers)


def test_inference_script_recognises_held_back_frames(trained_model_dir, held_back, tmp_path):
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    import inference

    answers = {}
    for gesture in ("02_l", "05_thumb", "09_c"):
        out = tmp_path / f"{gesture}.jsonl"
        args = ["--model-dir", str(trained_model_dir), "--source", str(held_back[gesture])]
        assert inference.main([*args, "--jsonl", str(out), "--no-display"]) == 0
        answers[gesture] = final_labels(out)
    assert_recognised(answers)


#: Enough gestures to show a fault; fewer than all ten keeps the suite quick.
FAULT_GESTURES = ("01_palm", "03_fist", "06_index", "09_c")


def _answers(recognizer, folders, tmp_path) -> dict:
    answers = {}
    for gesture in FAULT_GESTURES:
        folder = folders[gesture]
        out = tmp_path / f"{gesture}.jsonl"
        recognizer.run(folder, display=False, jsonl=out, log=lambda _: None)
        answers[gesture] = final_labels(out)
    return answers


def test_a_permuted_mapping_fails_the_check(trained_model_dir, held_back, tmp_path):
    gestures = read_mapping(trained_model_dir / "gesture_mapping.json")
    permuted = {g: (i + 1) % len(gestures) for i, g in enumerate(gestures)}
    with RealTimeGestureRecognizer(trained_model_dir, permuted) as recognizer:
        answers = _answers(recognizer, held_back, tmp_path)
    with pytest.raises(AssertionError, match="answered wrongly"):
        assert_recognised(answers)


def test_live_features_that_differ_from_training_fail_the_check(
    trained_model_dir, held_back, tmp_path
):
    with RealTimeGestureRecognizer(trained_model_dir) as recognizer:
        assert recognizer.preprocessing.feature_mode == "canonical"
        recognizer.preprocessing = replace(recognizer.preprocessing, feature_mode="normalized")
        answers = _answers(recognizer, held_back, tmp_path)
    with pytest.raises(AssertionError, match="answered wrongly"):
        assert_recognised(answers)


def test_the_app_recognises_a_clip_of_held_back_frames(trained_model_dir, held_back, tmp_path):
    import cv2

    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    import app
    from hand_gesture_recognition.realtime import list_images, read_image

    clip = tmp_path / "07_ok.avi"
    frames = [read_image(p) for p in list_images(held_back["07_ok"])]
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 15.0, (640, 240))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR) if frame.ndim == 2 else frame)
    writer.release()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HGR_MODEL_DIR", str(trained_model_dir))
        patch.delenv("HGR_REPO", raising=False)
        _, scores, _, status = app.recognize_video(str(clip))
    assert max(scores, key=scores.get) == "07_ok"
    assert "**Gesture: 07_ok**" in status and "uncertain" not in status
