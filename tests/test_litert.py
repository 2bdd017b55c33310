"""The LiteRT runner: MediaPipe's bundled models and the exported classifier, bad files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import blocking_env

from hand_gesture_recognition.errors import InputError
from hand_gesture_recognition.litert import LiteRTRunner


def hand_landmark_model() -> Path:
    import mediapipe

    return (
        Path(mediapipe.__file__).parent / "modules" / "hand_landmark" / "hand_landmark_full.tflite"
    )


def test_runs_mediapipes_hand_landmark_model():
    runner = LiteRTRunner(hand_landmark_model())
    assert runner.input_shapes == [(1, 224, 224, 3)]
    assert runner.output_shapes["Identity"] == (1, 63)
    blank = runner.run(np.zeros((1, 224, 224, 3), np.float32))
    # A black crop holds no hand: presence (a sigmoid) is low.
    assert float(blank["Identity_1"].reshape(-1)[0]) < 0.1


def test_a_corrupt_or_missing_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "model.tflite"
    bad.write_bytes(b"not a flatbuffer at all" * 10)
    with pytest.raises(InputError, match=r"model\.tflite: not a valid LiteRT"):
        LiteRTRunner(bad)
    with pytest.raises(InputError, match="file not found"):
        LiteRTRunner(tmp_path / "none.tflite")
    truncated = tmp_path / "truncated.tflite"
    truncated.write_bytes(hand_landmark_model().read_bytes()[:5000])
    with pytest.raises(InputError, match=r"truncated\.tflite: not a valid LiteRT"):
        LiteRTRunner(truncated)


def test_litert_missing_is_one_line_exit_2(tmp_path):
    # The infrared extractor needs LiteRT for MediaPipe's landmark models.
    script = (
        "import sys\n"
        "from hand_gesture_recognition.litert import LiteRTRunner\n"
        "from hand_gesture_recognition.errors import InputError\n"
        f"try:\n    LiteRTRunner({str(hand_landmark_model())!r})\n"
        "except InputError as e:\n    print(e); sys.exit(2)\n"
    )
    env = blocking_env(tmp_path, ("ai_edge_litert",))
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    line = done.stdout.strip()
    assert len(line.splitlines()) == 1
    assert "hand_landmark_full.tflite" in line and "needs LiteRT" in line
