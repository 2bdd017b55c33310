"""``inference.py``: the original project's entry point, on local and Hub-cached models."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest

from hand_gesture_recognition.config import CONFIG_FILE, MAPPING_FILE, MODEL_FILE

REPO = Path(__file__).resolve().parents[1]
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def load_inference():
    spec = importlib.util.spec_from_file_location("inference_script", REPO / "inference.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("inference_script", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def image_folder(webcam_sample: Path, tmp_path: Path) -> Path:
    from hand_gesture_recognition.realtime import list_images

    folder = tmp_path / "images"
    folder.mkdir()
    for gesture in ("stop", "thumbs_up"):
        path = list_images(webcam_sample / gesture)[150]
        shutil.copy(path, folder / f"{gesture}_{path.name}")
    return folder


@pytest.fixture()
def offline_hub(tmp_path: Path, monkeypatch) -> Path:
    """An empty huggingface_hub cache, with the Hub switched off."""
    import huggingface_hub.constants as constants

    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    # huggingface_hub reads these once, at import.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache


def populate_cache(cache: Path, repo_id: str, model_dir: Path, files: tuple[str, ...]) -> None:
    """Lays out a model as huggingface_hub's cache does after a download."""
    root = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = root / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    for name in files:
        shutil.copy(model_dir / name, snapshot / name)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(COMMIT)


def test_model_from_hub_cache_offline(
    trained_model_dir, image_folder, offline_hub, tmp_path, capsys
):
    populate_cache(
        offline_hub, "someone/gestures", trained_model_dir, (MODEL_FILE, MAPPING_FILE, CONFIG_FILE)
    )
    jsonl = tmp_path / "out.jsonl"
    status = load_inference().main(
        ["--repo", "someone/gestures", "--source", str(image_folder), "--static-images",
         "--no-display", "--jsonl", str(jsonl), "--threshold", "0"]
    )  # fmt: skip
    assert status == 0, capsys.readouterr().err
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    gestures = set(json.loads((trained_model_dir / MAPPING_FILE).read_text()))
    assert len(lines) == 2
    assert all(line["label"] in gestures for line in lines)


def test_original_published_model_from_hub_cache(
    trained_model_dir, image_folder, offline_hub, tmp_path, capsys
):
    # The original project published only the .h5 and the mapping.
    populate_cache(offline_hub, "someone/original", trained_model_dir, (MODEL_FILE, MAPPING_FILE))
    jsonl = tmp_path / "out.jsonl"
    status = load_inference().main(
        ["--repo", "someone/original", "--source", str(image_folder), "--no-display",
         "--jsonl", str(jsonl)]
    )  # fmt: skip
    assert status == 0, capsys.readouterr().err
    assert len(jsonl.read_text().splitlines()) == 2


def test_missing_repository_offline_is_one_line(image_folder, offline_hub, capsys):
    status = load_inference().main(
        ["--repo", "nobody/no-such-model", "--source", str(image_folder), "--no-display"]
    )
    err = capsys.readouterr().err.strip()
    assert status == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "error" in err


def test_local_model_dir_and_bad_source(trained_model_dir, image_folder, tmp_path, capsys):
    inference = load_inference()
    jsonl = tmp_path / "out.jsonl"
    status = inference.main(
        ["--model-dir", str(trained_model_dir), "--source", str(image_folder), "--no-display",
         "--jsonl", str(jsonl)]
    )  # fmt: skip
    first = capsys.readouterr().err
    assert status == 0, first
    assert len(jsonl.read_text().splitlines()) == 2

    status = inference.main(
        ["--model-dir", str(trained_model_dir), "--source", str(tmp_path / "none.mp4")]
    )
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1 and "none.mp4" in err
