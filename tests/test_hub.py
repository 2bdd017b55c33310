import importlib.util
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from hand_gesture_recognition import hub
from hand_gesture_recognition.cli import main
from hand_gesture_recognition.config import ModelConfig, RunConfig
from hand_gesture_recognition.errors import DownloadError, InputError
from hand_gesture_recognition.evaluate import compute_metrics, write_reports
from hand_gesture_recognition.model import build_model, load_model, save_model

REPO = Path(__file__).resolve().parents[1]
COMMIT = "89abcdef0123456789abcdef0123456789abcdef"
TOKEN = "hf_secretTOKENvalue0123456789"
EXPECTED = {
    "README.md",
    "hand_gesture_lstm_model.h5",
    "gesture_mapping.json",
    "model_config.json",
    "metrics.json",
    "confusion_matrix.png",
    "training_curves.png",
    "classification_report.txt",
}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("hub") / "models"
    gestures = ["01_palm", "02_l", "03_fist"]
    model = build_model(3, 30, ModelConfig(lstm_units=(8, 8, 4), dense_units=(8,)))
    save_model(directory, model, gestures, RunConfig(info={"gestures": gestures}))
    protocol = {
        "split": "subject",
        "subjects": ["00", "01", "02"],
        "test_subjects": ["02"],
        "description": "whole subjects held out",
    }
    metrics = compute_metrics(np.array([0, 1, 2, 2]), np.array([0, 1, 2, 1]), gestures, protocol)
    write_reports(directory, metrics, {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]})
    (directory / "notes.txt").write_text("not for the Hub")
    (directory / ".env").write_text(f"HF_TOKEN={TOKEN}")
    return directory


@pytest.fixture()
def no_login(tmp_path, monkeypatch):
    import huggingface_hub.constants as constants

    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "no-tokens"))


def load_script():
    spec = importlib.util.spec_from_file_location(
        "upload_script", REPO / "upload_to_huggingface.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("upload_script", module)
    spec.loader.exec_module(module)
    return module


def test_dry_run_stages_exactly_the_model_and_loads_back(model_dir, tmp_path, capsys):
    staged = tmp_path / "staged"
    assert (
        main(
            [
                "publish",
                "--model-dir",
                str(model_dir),
                "--repo",
                "me/gestures",
                "--dry-run",
                str(staged),
            ]
        )
        == 0
    )
    listed = capsys.readouterr().out
    assert {p.name for p in staged.iterdir()} == EXPECTED
    assert all(name in listed for name in EXPECTED)
    original, reloaded = load_model(model_dir), load_model(staged)
    x = np.random.default_rng(0).normal(size=(2, 30, 63)).astype(np.float32)
    np.testing.assert_array_equal(
        reloaded.model(x, training=False).numpy(), original.model(x, training=False).numpy()
    )
    assert reloaded.gestures == original.gestures
    # Staging again into the same folder is allowed; a folder with other files is not.
    assert (
        main(
            [
                "publish",
                "--model-dir",
                str(model_dir),
                "--repo",
                "me/gestures",
                "--dry-run",
                str(staged),
            ]
        )
        == 0
    )
    other = tmp_path / "other"
    other.mkdir()
    (other / "thesis.tex").write_text("mine")
    assert (
        main(
            [
                "publish",
                "--model-dir",
                str(model_dir),
                "--repo",
                "me/gestures",
                "--dry-run",
                str(other),
            ]
        )
        == 2
    )
    assert (other / "thesis.tex").read_text() == "mine"


def test_card_front_matter_carries_the_metrics(model_dir, tmp_path):
    hub.stage(model_dir, "me/gestures", tmp_path)
    text = (tmp_path / "README.md").read_text()
    front = yaml.safe_load(text.split("---")[1])
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert front["library_name"] == "keras" and front["license"] == "mit"
    (result,) = front["model-index"][0]["results"]
    values = {m["type"]: m["value"] for m in result["metrics"]}
    assert values == {"accuracy": metrics["accuracy"], "f1": metrics["macro_f1"]}
    assert "subject split" in result["dataset"]["split"] and "02" in result["dataset"]["split"]
    assert "confusion_matrix.png" in text and "inference.py --repo me/gestures" in text
    assert "from below" in text  # The limitation of infrared training data.


def test_upload_sends_exactly_the_staged_files_in_one_commit(model_dir, monkeypatch, capsys):
    from huggingface_hub import HfApi

    calls = []

    def create_repo(self, repo_id, **kwargs):
        calls.append(("create_repo", repo_id, kwargs))
        return f"https://huggingface.co/{repo_id}"

    def upload_folder(self, *, folder_path, repo_id, **kwargs):
        files = sorted(p.name for p in Path(folder_path).iterdir())
        contents = b"".join(p.read_bytes() for p in Path(folder_path).iterdir())
        calls.append(("upload_folder", repo_id, files, kwargs, contents))

    monkeypatch.setattr(HfApi, "create_repo", create_repo)
    monkeypatch.setattr(HfApi, "upload_folder", upload_folder)
    assert (
        main(
            [
                "publish",
                "--model-dir",
                str(model_dir),
                "--repo",
                "me/gestures",
                "--token",
                TOKEN,
                "--private",
                "--commit-message",
                "v1",
            ]
        )
        == 0
    )
    out = capsys.readouterr()
    assert out.out.strip() == "https://huggingface.co/me/gestures"
    assert TOKEN not in out.out + out.err
    (create, upload) = calls
    assert create[1] == "me/gestures" and create[2]["private"] is True
    assert create[2]["exist_ok"] is True
    assert upload[2] == sorted(EXPECTED) and upload[3]["commit_message"] == "v1"
    assert TOKEN.encode() not in upload[4]


def test_token_comes_from_the_environment(model_dir, monkeypatch, no_login):
    seen = {}

    class FakeApi:
        def create_repo(self, repo_id, **kwargs):
            return f"https://huggingface.co/{repo_id}"

        def upload_folder(self, **kwargs):
            seen.update(kwargs)

    monkeypatch.setenv("HF_TOKEN", TOKEN)
    url, names = hub.publish_model(model_dir, "me/gestures", api=FakeApi())
    assert url.endswith("me/gestures") and set(names) == EXPECTED
    assert hub.resolve_token(None) == TOKEN


@pytest.mark.parametrize("entry", ["cli", "script"])
def test_bad_publish_inputs_exit_2(entry, model_dir, tmp_path, no_login, capsys):
    def run(*argv):
        if entry == "cli":
            return main(["publish", *argv])
        return load_script().main(list(argv))

    def one_line(code, match):
        err = capsys.readouterr().err.strip()
        assert code == 2 and match in err and len(err.splitlines()) == 1, err
        assert "Traceback" not in err

    one_line(run("--model-dir", str(model_dir), "--repo", "me/gestures"), "no Hugging Face token")
    incomplete = tmp_path / "incomplete"
    shutil.copytree(model_dir, incomplete)
    (incomplete / "metrics.json").unlink()
    (incomplete / "model_config.json").unlink()
    one_line(
        run("--model-dir", str(incomplete), "--repo", "me/gestures", "--token", "x"),
        "missing model_config.json, metrics.json",
    )
    one_line(
        run("--model-dir", str(model_dir), "--repo", "not a repo!", "--token", "x"), "USER/NAME"
    )
    one_line(
        run("--model-dir", str(model_dir), "--repo", "justaname", "--dry-run", str(tmp_path / "s")),
        "USER/NAME",
    )


# ---------------------------------------------------------------------------------------------
# Download.


@pytest.fixture()
def hub_cache(tmp_path, monkeypatch):
    import huggingface_hub.constants as constants

    cache = tmp_path / "hub-cache"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return cache


def populate(cache: Path, repo_id: str, source: Path, names: tuple[str, ...]) -> Path:
    root = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = root / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    for name in names:
        shutil.copy(source / name, snapshot / name)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(COMMIT)
    return snapshot


def test_download_uses_the_offline_cache(model_dir, hub_cache):
    snapshot = populate(
        hub_cache,
        "me/gestures",
        model_dir,
        ("hand_gesture_lstm_model.h5", "gesture_mapping.json", "model_config.json"),
    )
    folder = hub.download_model("me/gestures")
    assert folder == snapshot
    assert load_model(folder).preprocessing.feature_mode == "canonical"


def test_an_original_model_without_config_downloads(model_dir, hub_cache):
    populate(
        hub_cache, "orig/model", model_dir, ("hand_gesture_lstm_model.h5", "gesture_mapping.json")
    )
    loaded = load_model(hub.download_model("orig/model"))
    assert loaded.preprocessing.feature_mode == "raw"


def test_download_errors_are_clear(hub_cache):
    with pytest.raises(DownloadError, match="not in the local Hub cache"):
        hub.download_model("nobody/nothing")
    with pytest.raises(InputError, match="USER/NAME"):
        hub.download_model("no slash")
