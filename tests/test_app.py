"""The Gradio app (app.py) served on localhost and driven through gradio_client, on real frames."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from hand_gesture_recognition import model as model_module

REPO = Path(__file__).resolve().parents[1]
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

cv2 = pytest.importorskip("cv2")
gr = pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
from helpers import final_labels  # noqa: E402

import app  # noqa: E402


def write_clip(path: Path, frames: list[np.ndarray], fps: float = 15.0) -> Path:
    """Writes BGR frames as an MPEG-4 (mp4v) .mp4 file."""
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    assert writer.isOpened()
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def count_frames(path: str | Path) -> int:
    capture = cv2.VideoCapture(str(path))
    frames = 0
    while capture.read()[0]:
        frames += 1
    capture.release()
    return frames


@pytest.fixture(scope="module")
def clips(webcam_sample: Path, tmp_path_factory) -> dict[str, Path]:
    """Real clips: 60 webcam frames of "stop", upright and upside down; black frames; junk."""
    folder = tmp_path_factory.mktemp("clips")
    stop = [cv2.imread(str(webcam_sample / "stop" / f"{i}.jpg")) for i in range(60)]
    assert all(frame is not None for frame in stop)
    black = [np.zeros_like(stop[0]) for _ in range(20)]
    broken = folder / "broken.mp4"
    broken.write_bytes(b"this is not a video\n" * 50)
    return {
        "stop": write_clip(folder / "stop.mp4", stop),
        "upside_down": write_clip(folder / "upside_down.mp4", [f[::-1] for f in stop]),
        "black": write_clip(folder / "black.mp4", black),
        "broken": broken,
    }


@pytest.fixture(scope="module")
def server(app_server: str) -> str:
    """The app served on localhost (see ``conftest.app_server``)."""
    return app_server


@pytest.fixture(scope="module")
def client(server: str, tmp_path_factory):
    from gradio_client import Client

    downloads = tmp_path_factory.mktemp("downloads")
    return Client(server, verbose=False, download_files=str(downloads), analytics_enabled=False)


def test_video_endpoint_labels_a_real_clip(client, clips, trained_model_dir):
    from gradio_client import handle_file

    gestures = set(_gestures(trained_model_dir))
    video, label, timeline, status = client.predict(
        handle_file(str(clips["stop"])), api_name="/recognize_video"
    )
    # The annotated clip is a real, browser-playable WebM with every frame.
    path = video["video"] if isinstance(video, dict) else video
    assert Path(path).suffix == ".webm"
    assert Path(path).stat().st_size > 0
    assert count_frames(path) == 60
    # The clip's top gestures, aggregated over its frames, are the model's gestures.
    assert label["label"] in gestures
    assert 1 <= len(label["confidences"]) <= 3
    assert "Gesture:" in status and label["label"] in status
    # One timeline point per frame.
    assert len(timeline["data"]) == 60
    assert timeline["columns"] == ["time (s)", "confidence", "gesture"]


def _gestures(model_dir: Path) -> list[str]:
    import json

    return list(json.loads((model_dir / "gesture_mapping.json").read_text()))


def test_image_endpoint_labels_a_real_photo(client, webcam_sample, trained_model_dir):
    from gradio_client import handle_file

    image, label, status = client.predict(
        handle_file(str(webcam_sample / "stop" / "20.jpg")), api_name="/recognize_image"
    )
    assert Path(image).is_file()
    assert cv2.imread(str(image)) is not None
    assert label["label"] in _gestures(trained_model_dir)
    assert label["label"] in status
    assert status.startswith("**Gesture:")


def test_image_endpoint_says_a_hand_pointing_down_is_not_a_gesture(client, webcam_sample, tmp_path):
    from gradio_client import handle_file

    upside_down = tmp_path / "upside_down.jpg"
    cv2.imwrite(str(upside_down), cv2.imread(str(webcam_sample / "stop" / "20.jpg"))[::-1])
    _, label, status = client.predict(handle_file(str(upside_down)), api_name="/recognize_image")
    assert status.startswith("**Not a gesture**: the hand points down")
    assert f"best guess `{label['label']}`" in status


def test_video_endpoint_says_a_clip_of_a_hand_pointing_down_is_not_a_gesture(client, clips):
    from gradio_client import handle_file

    _, label, _, status = client.predict(
        handle_file(str(clips["upside_down"])), api_name="/recognize_video"
    )
    assert status.startswith("**Not a gesture**: the hand points down")
    assert f"best guess `{label['label']}`" in status


def test_clip_without_a_hand_says_so(client, clips):
    from gradio_client import handle_file

    video, label, timeline, status = client.predict(
        handle_file(str(clips["black"])), api_name="/recognize_video"
    )
    assert "No hand was found in any of the 20 frames" in status
    assert not label or not label.get("label")


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [("/recognize_video", "could not be read as a video"), ("/recognize_image", "as an image")],
)
def test_unreadable_file_gives_a_clear_error(client, clips, endpoint, message):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=message):
        client.predict(handle_file(str(clips["broken"])), api_name=endpoint)


def test_file_over_the_size_limit_is_refused(monkeypatch, clips):
    monkeypatch.setenv("HGR_MAX_UPLOAD_MB", "0.001")
    with pytest.raises(gr.Error, match=r"the limit is 0.001 MB"):
        app.recognize_video(str(clips["stop"]))
    # In bytes: Gradio cannot read "0.001mb" (only whole units), and the app would not start.
    assert app.launch_options()["max_file_size"] == round(0.001 * 2**20) == 1049


def test_missing_model_gives_a_clear_error(monkeypatch, webcam_sample):
    monkeypatch.setenv("HGR_MODEL_DIR", "/nonexistent/model")
    monkeypatch.delenv("HGR_REPO", raising=False)
    with pytest.raises(gr.Error, match="could not be loaded from the local directory"):
        app.recognize_image(str(webcam_sample / "stop" / "20.jpg"))


def test_hub_repository_is_downloaded_with_hub_download_model(monkeypatch, trained_model_dir):
    from hand_gesture_recognition import hub

    calls = []

    def download_model(repo_id, revision=None, token=None):
        calls.append((repo_id, revision, token))
        return trained_model_dir

    monkeypatch.setattr(hub, "download_model", download_model)
    monkeypatch.setenv("HGR_REPO", "someone/hand-gestures")
    monkeypatch.setenv("HGR_REVISION", "v1")
    monkeypatch.setenv("HF_TOKEN", "hf_test")
    source = app.model_source()
    assert source.key == "hub:someone/hand-gestures@v1"
    assert source.fetch() == trained_model_dir
    assert calls == [("someone/hand-gestures", "v1", "hf_test")]


def test_answers_name_the_gesture_or_say_it_is_none():
    assert app._answer("01_palm", 0.9, 0.6) == "**Gesture: 01_palm** (90%)"
    assert app._answer("01_palm", 0.5, 0.6) == (
        "**Gesture: 01_palm** (50%, uncertain: under the confidence threshold of 60%)"
    )
    assert app._answer("none", 0.95, 0.6) == (
        "**Not a gesture** (95% for the model's `none` class)"
    )
    assert app._answer("01_palm", 0.9, 0.6, points_down=True) == (
        "**Not a gesture**: the hand points down, as a resting hand does (best guess "
        "`01_palm`, 90%)"
    )
    assert app._answer("06_index", 0.8, 0.6, off_shape=True) == (
        "**Not a gesture**: the fingers are not held as in `06_index`, the closest gesture (80%)"
    )


def test_import_and_build_load_no_model():
    code = (
        "import sys, app; app.build_demo(); "
        "loaded = {'tensorflow', 'keras', 'mediapipe'} & set(sys.modules); "
        "assert not loaded, loaded"
    )
    env = {**os.environ, "HGR_MODEL_DIR": "/nonexistent", "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert not (REPO / "app.pyi").exists()


def test_space_front_matter_matches_the_locked_gradio():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("---\n"), "README.md must start with the Space's front matter"
    front = dict(
        line.split(":", 1) for line in readme.split("---\n")[1].splitlines() if ":" in line
    )
    front = {key.strip(): value.strip().strip("'\"") for key, value in front.items()}
    assert front["sdk"] == "gradio"
    assert front["app_file"] == "app.py"
    assert f"gradio=={front['sdk_version']}" in (REPO / "requirements.txt").read_text()
    assert front["python_version"] == (REPO / ".python-version").read_text().strip()


def test_space_requirements_match_the_lock_file():
    if shutil.which("uv") is None:
        if CI:
            pytest.fail("uv is needed to check requirements.txt against uv.lock")
        pytest.skip("uv is not installed")
    result = subprocess.run(
        [sys.executable, "scripts/space_requirements.py", "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    lines = (REPO / "requirements.txt").read_text().splitlines()
    assert lines[-1] == "."
    assert any(line.startswith("gradio==") for line in lines)
    assert sum(line.startswith("opencv") for line in lines) == 1
    # The Space installs the inference set only.
    assert any(line.startswith("ai-edge-litert==") for line in lines)
    assert any(line.startswith("onnxruntime==") for line in lines)
    names = {line.split("==")[0] for line in lines}
    assert not names & {"tensorflow", "keras", "jupyter", "tf2onnx", "scikit-learn"}


# ---------------------------------------------------------------------------------------------
# "Your gestures": takes, fine-tuning, the personal model and its zip (handlers called directly).

#: The webcam sample's folders and the names the user gives them.
YOUR_GESTURES = {"stop": "stop", "thumbs_up": "thumbs_up"}
#: Frame ranges of the three takes of each gesture; the held-back clip comes after them.
TAKE_RANGES = ((0, 40), (40, 80), (80, 120))
HELD_BACK_RANGE = (150, 195)


def webcam_clip(webcam_sample: Path, folder: str, frames: range, out: Path) -> Path:
    """Real webcam frames of one gesture as a 15 fps .mp4."""
    images = [cv2.imread(str(webcam_sample / folder / f"{i}.jpg")) for i in frames]
    assert all(image is not None for image in images)
    return write_clip(out, images)


@pytest.fixture
def your_gestures_env(monkeypatch, trained_model_dir):
    """The app's model is the session's trained model; fine-tuning runs a few epochs."""
    monkeypatch.setenv("HGR_MODEL_DIR", str(trained_model_dir))
    monkeypatch.delenv("HGR_REPO", raising=False)
    monkeypatch.setenv("HGR_FINETUNE_EPOCHS", "8")
    return trained_model_dir


def test_your_gestures_takes_finetune_try_and_download(
    your_gestures_env, webcam_sample, tmp_path, clips
):
    from hand_gesture_recognition.cli import main as cli_main
    from hand_gesture_recognition.model import load_classifier

    session = None
    for folder, gesture in YOUR_GESTURES.items():
        for number, (start, end) in enumerate(TAKE_RANGES, 1):
            clip = webcam_clip(webcam_sample, folder, range(start, end), tmp_path / "take.mp4")
            session, table, status, clip_input = app.add_take(session, gesture, str(clip))
            assert f"Added take {number} of **{gesture}**: 40 frames" in status
            assert clip_input is None  # cleared for the next take
    assert table.to_dict("list") == {
        "gesture": ["stop", "thumbs_up"],
        "takes": [3, 3],
        "frames": [120, 120],
        "hand found": list(table["hand found"]),
    }
    # The takes are the extractor's live mode over each clip: MediaPipe, tracking.
    recordings = session.takes.meta["recordings"]
    assert [r["extractor"]["tracking"] for r in recordings] == [True] * 6
    assert len({r["sequence"] for r in recordings}) == 6

    session, status, archive = app.finetune(session)
    assert "Fine-tuned model ready: stop, thumbs_up" in status
    model_dir = session.model_dir
    assert model_dir.parent == session.folder and model_dir != your_gestures_env

    held_back = {
        gesture: webcam_clip(
            webcam_sample, folder, range(*HELD_BACK_RANGE), tmp_path / f"held-{gesture}.mp4"
        )
        for folder, gesture in YOUR_GESTURES.items()
    }
    for gesture, clip in held_back.items():
        _, scores, _, status = app.recognize_personal(session, str(clip))
        assert max(scores, key=scores.get) == gesture, scores
        assert f"Gesture: {gesture}**" in status
    # The main tabs keep the base model (LeapGestRecog's ten gestures).
    _, scores, _, _ = app.recognize_video(str(clips["stop"]))
    assert set(scores) == set(_gestures(your_gestures_env))

    # The zip is the whole model directory, which predict runs as it is.
    with zipfile.ZipFile(archive) as zipped:
        names = set(zipped.namelist())
        zipped.extractall(tmp_path / "unzipped")
    expected = {
        "hand_gesture_lstm_model.h5",
        "gesture_mapping.json",
        "model_config.json",
        "model.tflite",
        "model.onnx",
        "calibration.json",
        ".hgr-manifest.json",
    }
    assert {f"personal-model/{name}" for name in expected} <= names
    unzipped = tmp_path / "unzipped" / "personal-model"
    assert load_classifier(unzipped).gestures == ["stop", "thumbs_up"]
    for gesture, clip in held_back.items():
        jsonl = tmp_path / f"{gesture}.jsonl"
        argv = ["predict", "--model-dir", str(unzipped), "--source", str(clip)]
        assert cli_main([*argv, "--jsonl", str(jsonl), "--no-display"]) == 0
        assert final_labels(jsonl) == [gesture] * 5

    app.end_session(session)
    assert not session.folder.exists()


def test_your_gestures_refuses_clips_without_a_hand_and_one_gesture(
    your_gestures_env, webcam_sample, tmp_path, clips, monkeypatch
):
    session, table, status, clip_input = app.add_take(None, "stop", str(clips["black"]))
    assert "The clip was not added: black.mp4: no hand in any of its 20 frames" in status
    assert session.takes is None and table.empty and clip_input == str(clips["black"])
    short = webcam_clip(webcam_sample, "stop", range(20), tmp_path / "short.mp4")
    session, table, status, _ = app.add_take(session, "stop", str(short))
    assert "short.mp4: only 20 frames, at least 30 needed (one model window)" in status
    assert session.takes is None
    with pytest.raises(gr.Error, match="The gesture name '  ': is empty"):
        app.add_take(session, "  ", str(clips["stop"]))
    with pytest.raises(gr.Error, match="looks like a path"):
        app.add_take(session, "a/b", str(clips["stop"]))

    for start, end in TAKE_RANGES[:2]:
        clip = webcam_clip(webcam_sample, "stop", range(start, end), tmp_path / "take.mp4")
        session, table, _, _ = app.add_take(session, "stop", str(clip))
    assert table["takes"].tolist() == [2]
    with pytest.raises(gr.Error, match="at least 2 gestures with at least 2 takes each.*stop: 2"):
        app.finetune(session)
    # The inference install (the Space's) has no Keras: fine-tuning says so before any work.
    with monkeypatch.context() as patch:
        patch.setattr(model_module, "installed", lambda name: name != "keras")
        with pytest.raises(gr.Error, match=r"Fine-tuning needs Keras and TensorFlow.*\[train\]"):
            app.finetune(session)
    with pytest.raises(gr.Error, match="Fine-tune your model first"):
        app.recognize_personal(session, str(clips["stop"]))
    session, table, status = app.clear_takes(session)
    assert session.takes is None and table.empty and "cleared" in status
    app.end_session(session)


def test_help_lists_the_settings_and_an_unknown_argument_is_refused(capsys, monkeypatch):
    # Neither may build the page or start the server.
    monkeypatch.setattr(app, "build_demo", lambda: pytest.fail("the app was built"))
    with pytest.raises(SystemExit) as exit_info:
        app.main(["--help"])
    assert exit_info.value.code == 0
    printed = capsys.readouterr().out
    for name in ("HGR_REPO", "HGR_MODEL_DIR", "HGR_MAX_UPLOAD_MB", "HGR_MAX_FRAMES"):
        assert f"  {name} " in printed
    with pytest.raises(SystemExit) as exit_info:
        app.main(["--port", "8000"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "app.py: error: unrecognized arguments: --port 8000"
    )
