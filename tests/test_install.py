"""The README's two installs: the full one (``uv sync``) and the inference-only one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TRAINING_ONLY = {"tensorflow", "keras", "h5py", "tf2onnx", "onnx", "scikit-learn", "kagglehub"}


def name_of(requirement: str) -> str:
    for mark in "<>=!~[ ;":
        requirement = requirement.split(mark)[0]
    return requirement.strip().lower()


def test_runtime_has_no_training_or_notebook_packages():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    runtime = {name_of(r) for r in project["project"]["dependencies"]}
    # MediaPipe's landmark models run on LiteRT, the classifier on ONNX Runtime.
    needed = {"mediapipe", "ai-edge-litert", "onnxruntime", "numpy", "huggingface-hub", "gradio"}
    assert needed <= runtime
    assert not runtime & (TRAINING_ONLY | {"jupyter"})
    extras = project["project"]["optional-dependencies"]
    assert {name_of(r) for r in extras["train"]} >= TRAINING_ONLY
    assert "jupyter" in {name_of(r) for r in extras["notebook"]}
    # `uv sync` (the README's set-up) brings training, the notebook and the test tools.
    dev = project["dependency-groups"]["dev"]
    assert "hand-gesture-recognition[train,notebook,cluster]" in dev
    assert project["tool"]["uv"]["default-groups"] == ["dev"]
    assert "gradio>=6,<7" in project["project"]["dependencies"]


@pytest.fixture(scope="module")
def inference_venv(tmp_path_factory) -> Path:
    """A virtual environment with the inference install only, pinned as in ``uv.lock``."""
    uv = shutil.which("uv")
    if uv is None:
        if CI:
            pytest.fail("uv is needed to build the inference-only environment")
        pytest.skip("uv is not installed")
    venv = tmp_path_factory.mktemp("inference") / "venv"
    exported = subprocess.run(
        [uv, "export", "--frozen", "--no-default-groups", "--no-hashes", "--no-emit-project",
         "--format", "requirements.txt"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    requirements = venv.parent / "requirements.txt"
    requirements.write_text(exported)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    env = {**os.environ, "VIRTUAL_ENV": str(venv)}
    env.pop("UV_PROJECT_ENVIRONMENT", None)
    for command in (
        [uv, "venv", "-q", "--python", version, str(venv)],
        [uv, "pip", "install", "-q", "--no-deps", "-r", str(requirements)],
        [uv, "pip", "install", "-q", "--no-deps", str(REPO)],
    ):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
    return venv


def test_inference_install_predicts_without_tensorflow(
    inference_venv, trained_model_dir, leap_gesture_dirs, tmp_path
):
    python = inference_venv / "bin" / "python"
    probe = subprocess.run(
        [str(python), "-c", "import importlib.util as u; "
         "print([u.find_spec(m) is None for m in ('tensorflow', 'keras', 'jupyter')])"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert probe.stdout.strip() == "[True, True, True]"
    photos = tmp_path / "photos"
    photos.mkdir()
    frame = sorted(leap_gesture_dirs["07_ok"].iterdir())[99]
    shutil.copy(frame, photos / "07_ok.png")
    jsonl = tmp_path / "out.jsonl"
    done = subprocess.run(
        [str(inference_venv / "bin" / "hand-gesture"), "predict", "--model", str(trained_model_dir),
         "--source", str(photos), "--static-images", "--no-display", "--threshold", "0",
         "--jsonl", str(jsonl)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    (line,) = [json.loads(text) for text in jsonl.read_text().splitlines()]
    assert line["label"] == "07_ok"


APP_SCRIPT = """
import sys
sys.path.insert(0, sys.argv[2])
import app

app.build_demo()
_, scores, status = app.recognize_image(sys.argv[1])
heavy = sorted(m for m in ("tensorflow", "keras", "jupyter") if m in sys.modules)
print("SCORES", sorted(scores) if scores else None, "HEAVY", heavy)
"""


def test_inference_install_runs_the_app_without_tensorflow(inference_venv, webcam_sample, tmp_path):
    from hand_gesture_recognition.config import ModelConfig, RunConfig
    from hand_gesture_recognition.model import build_model, save_model
    from hand_gesture_recognition.realtime import list_images

    gestures = ["peace", "stop", "thumbs_up"]
    model = build_model(3, 30, ModelConfig(lstm_units=(8,), dense_units=()))
    save_model(tmp_path / "model", model, gestures, RunConfig())
    photo = list_images(webcam_sample / "stop")[120]
    env = {**os.environ, "HGR_MODEL_DIR": str(tmp_path / "model"), "GRADIO_ANALYTICS_ENABLED": "0"}
    done = subprocess.run(
        [str(inference_venv / "bin" / "python"), "-c", APP_SCRIPT, str(photo), str(REPO)],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    (line,) = [text for text in done.stdout.splitlines() if text.startswith("SCORES")]
    assert line == f"SCORES {gestures} HEAVY []"
