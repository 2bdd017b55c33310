"""Publishing to and downloading from the Hugging Face Hub, which this machine cannot reach.

Nothing here fakes a result: the files are real, the model is a real (tiny) Keras model, the
card is parsed back, downloads come from a real Hub cache laid out on disk as huggingface_hub
documents it, and network failures are real ones (a closed local port, or a local HTTP server
that answers with the Hub's error codes). Only ``HfApi.create_repo`` and ``HfApi.upload_folder``
are replaced where an upload has to succeed, to record what would be sent.
"""

import http.server
import importlib.util
import json
import shutil
import socket
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml

from hand_gesture_recognition import hub
from hand_gesture_recognition.calibration import (
    Calibration,
    expected_calibration_error,
    reliability,
)
from hand_gesture_recognition.cli import main
from hand_gesture_recognition.config import ModelConfig, RunConfig
from hand_gesture_recognition.errors import DownloadError, InputError
from hand_gesture_recognition.evaluate import compute_metrics, write_reports
from hand_gesture_recognition.model import build_model, load_model, save_model

REPO = Path(__file__).resolve().parents[1]
COMMIT = "89abcdef0123456789abcdef0123456789abcdef"
TOKEN = "hf_secretTOKENvalue0123456789"
MODEL_FILES = ("hand_gesture_lstm_model.h5", "gesture_mapping.json", "model_config.json")
EXPECTED = {
    "README.md",
    "hand_gesture_lstm_model.h5",
    "gesture_mapping.json",
    "model_config.json",
    "metrics.json",
    "calibration.json",
    "confusion_matrix.png",
    "reliability.png",
    "training_curves.png",
    "classification_report.txt",
    "model.tflite",
    "model.onnx",
}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A real model directory as training writes it, plus files that must never be published."""
    directory = tmp_path_factory.mktemp("hub") / "models"
    gestures = ["01_palm", "02_l", "03_fist"]
    model = build_model(3, 30, ModelConfig(lstm_units=(8, 8, 4), dense_units=(8,)))
    x = np.random.default_rng(1).normal(size=(12, 30, 63)).astype(np.float32)
    model.fit(x, np.arange(12) % 3, epochs=1, batch_size=6, verbose=0)
    small = ModelConfig(lstm_units=(8, 8, 4), dense_units=(8,), frame_units=())
    config = RunConfig(model=small)
    save_model(directory, model, gestures, RunConfig.from_dict(config.to_dict()))
    Calibration(temperature=1.5, fitted_on=2).save(directory)
    protocol = {
        "split": "subject",
        "subjects": ["00", "01", "02"],
        "test_subjects": ["02"],
        "description": "whole subjects held out: test 02, validation 01",
    }
    y_true = np.array([0, 1, 2, 2])
    metrics = compute_metrics(y_true, np.array([0, 1, 2, 1]), gestures, protocol)
    probabilities = np.array([[0.8, 0.1, 0.1], [0.1, 0.7, 0.2], [0.1, 0.2, 0.7], [0.1, 0.6, 0.3]])
    metrics["reliability"] = {
        "ece": expected_calibration_error(probabilities, y_true),
        "bins": reliability(probabilities, y_true),
    }
    metrics["training"] = {"epochs_run": 1, "windows": {"train": 8, "validation": 2, "test": 4}}
    history = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "accuracy": [0.4, 0.6]}
    write_reports(directory, metrics, {**history, "val_accuracy": [0.3, 0.5]})
    (directory / "notes.txt").write_text("not for the Hub")
    (directory / ".env").write_text(f"HF_TOKEN={TOKEN}")
    (directory / "landmarks.npz").write_bytes(b"not for the Hub either")
    return directory


@pytest.fixture()
def no_login(tmp_path, monkeypatch):
    """No token anywhere: no HF_TOKEN and an empty HF_HOME (no cached login)."""
    import huggingface_hub.constants as constants

    home = tmp_path / "hf-home"
    home.mkdir()
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(home))
    # huggingface_hub derives these from HF_HOME when it is imported.
    monkeypatch.setattr(constants, "HF_HOME", str(home))
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(home / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(home / "stored_tokens"))


def closed_port_url() -> str:
    """A local URL where nothing listens: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class _Answer(http.server.BaseHTTPRequestHandler):
    """Answers every request with the server's status and headers, like a Hub error reply."""

    def _reply(self):
        self.server.requests.append(f"{self.command} {self.path}")
        body = json.dumps({"error": self.server.headers.get("X-Error-Message", "")}).encode()
        self.send_response(self.server.status)
        for key, value in self.server.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_HEAD = do_GET = do_POST = _reply

    def log_message(self, *args):
        pass


@pytest.fixture()
def error_server():
    """A local HTTP server answering with a chosen Hub error; yields the server."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    server.status, server.headers, server.requests = 404, {}, []
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def load_script():
    spec = importlib.util.spec_from_file_location(
        "upload_script", REPO / "upload_to_huggingface.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def publish(*argv):
    return main(["publish", *argv])


# ---------------------------------------------------------------------------------------------
# Staging and the model card.


def test_dry_run_stages_exactly_the_model_and_loads_back(model_dir, tmp_path, no_login, capsys):
    staged = tmp_path / "staged"
    argv = ["--model-dir", str(model_dir), "--repo", "me/gestures", "--dry-run", str(staged)]
    assert publish(*argv) == 0
    listed = capsys.readouterr().out
    assert {p.name for p in staged.iterdir()} == EXPECTED
    assert all(f"  {name}\n" in listed for name in EXPECTED)
    assert not any(TOKEN.encode() in p.read_bytes() for p in staged.iterdir())
    original, reloaded = load_model(model_dir), load_model(staged)
    x = np.random.default_rng(0).normal(size=(2, 30, 63)).astype(np.float32)
    np.testing.assert_array_equal(
        reloaded.model(x, training=False).numpy(), original.model(x, training=False).numpy()
    )
    assert reloaded.gestures == original.gestures
    assert reloaded.config == original.config
    # Staging again into the same folder is allowed (it is a previous staging).
    assert publish(*argv) == 0
    assert {p.name for p in staged.iterdir()} == EXPECTED


def test_a_directory_without_exports_is_staged_with_them(model_dir, tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    older = tmp_path / "older"
    older.mkdir()
    # A directory written before the exports (and before file sets had a manifest).
    for path in model_dir.iterdir():
        if path.name not in ("model.tflite", "model.onnx", ".hgr-manifest.json") and path.is_file():
            (older / path.name).write_bytes(path.read_bytes())
    hub.stage(older, "me/gestures", tmp_path / "s")
    assert {p.name for p in (tmp_path / "s").iterdir()} == EXPECTED
    assert not (older / "model.tflite").exists()
    interpreter = Interpreter(model_path=str(tmp_path / "s" / "model.tflite"))
    interpreter.allocate_tensors()
    x = np.random.default_rng(5).normal(size=(1, 30, 63)).astype(np.float32)
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    expected = load_model(older).model(x, training=False).numpy()
    got = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_card_lists_the_exports_and_the_lineage(model_dir, tmp_path):
    lineage = tmp_path / "lineage"
    lineage.mkdir()
    for path in model_dir.iterdir():
        (lineage / path.name).write_bytes(path.read_bytes())
    config = json.loads((lineage / "model_config.json").read_text())
    config["info"]["data"] = {"landmarks_sha256": "ab" * 32, "hashed": "file", "frames": 1300}
    config["info"]["package_version"] = "0.1.0"
    config["augmentation"].update(spread_degrees=25.0, curl_degrees=15.0)
    (lineage / "model_config.json").write_text(json.dumps(config))
    flat = " ".join(str(hub.build_model_card(lineage, "me/gestures")).split())
    assert "| `model.tflite` |" in flat and "| `model.onnx` |" in flat
    assert f"landmark file SHA-256 `{'ab' * 32}`, 1300 frames" in flat
    assert "hand-gesture-recognition 0.1.0" in flat and "schema version 6" in flat
    assert "Beside it, a single-frame classifier" not in flat  # an LSTM alone
    assert "the four fingers spread (±25°) and curled (±15° per joint)" in flat
    assert "0.929 ± 0.000 of another person's webcam" in flat  # with its spread over seeds
    assert "own settings (stride 1, up to 100 epochs; mean ± sd over 15 seeds)" in flat
    assert "0.877 ± 0.019 of HaGRID's hands making no gesture and V signs rejected" in flat
    assert "0.882 ± 0.042 of close-up HaGRID photos of many people answered right and" in flat
    assert "point more than" not in flat  # calibration.json without the orientation rule
    Calibration(temperature=1.5, max_downward=0.25).save(lineage)
    flat = " ".join(str(hub.build_model_card(lineage, "me/gestures")).split())
    assert "A hand that points more than 14° below the horizontal (wrist to middle" in flat
    assert "fingers are not held" not in flat  # no finger rule
    Calibration(max_downward=1.2).save(lineage)  # a limit the rule can never reach
    flat = " ".join(str(hub.build_model_card(lineage, "me/gestures")).split())
    assert "below the horizontal" not in flat
    ranges = {"01_palm": [[0.9] * 5, [1.0] * 5]}
    Calibration(finger_ranges=ranges, finger_margin=0.25, finger_frames=0.9).save(lineage)
    flat = " ".join(str(hub.build_model_card(lineage, "me/gestures")).split())
    assert "So is a hand whose fingers are not held as in the training windows" in flat
    assert "more than 0.25 outside their range in 90% of the window's frames or more (" in flat
    Calibration(finger_ranges=ranges, reach_ranges=ranges).save(lineage)
    flat = " ".join(str(hub.build_model_card(lineage, "me/gestures")).split())
    assert (
        "frames or more, and its reach (base-to-tip distance over the palm's length) as far "
        "outside its range in the same frames (`calibration.json`, `finger_ranges` and "
        "`reach_ranges`;" in flat
    )
    assert "was kept" not in flat  # one model, no candidates
    metrics = json.loads((lineage / "metrics.json").read_text())
    metrics["training"]["candidates"] = {
        "chosen_seed": 1042,
        "models": [{"seed": 42, "epochs_run": 9, "score": 0.91}]
        + [{"seed": 1042, "epochs_run": 12, "score": 0.97}],
    }
    (lineage / "metrics.json").write_text(json.dumps(metrics))
    flat = " ".join(str(hub.build_model_card(lineage, "me/gestures")).split())
    assert "Of 2 models trained from different seeds, seed 1042 was kept" in flat
    # Candidates asked for but nothing to score them: one model, and no sentence about a choice.
    metrics["training"]["candidates"] = {
        "chosen_seed": 42,
        "models": [{"seed": 42, "epochs_run": 9, "score": None}],
        "note": "no synthetic non-gesture could be made",
    }
    (lineage / "metrics.json").write_text(json.dumps(metrics))
    assert "was kept" not in " ".join(str(hub.build_model_card(lineage, "me/gestures")).split())
    # An older config (no schema version, no lineage, no finger pose) still makes a card that
    # says so.
    del config["schema_version"], config["info"]["data"], config["info"]["package_version"]
    del config["augmentation"]["spread_degrees"], config["augmentation"]["curl_degrees"]
    del config["augmentation"]["finger_donors"], config["augmentation"]["open_gestures"]
    (lineage / "model_config.json").write_text(json.dumps(config))
    flat = " ".join(str(hub.build_model_card(lineage, "me/gestures")).split())
    assert "schema version 1" in flat and "not recorded" in flat
    assert "per joint" not in flat and "before that" not in flat
    config["augmentation"]["curl_degrees"] = 15.0
    (lineage / "model_config.json").write_text(json.dumps(config))
    flat = " ".join(str(hub.build_model_card(lineage, "me/gestures")).split())
    assert "(±0.05); the four fingers curled (±15° per joint)." in flat


def test_card_describes_the_single_frame_classifier(trained_model_dir):
    flat = " ".join(str(hub.build_model_card(trained_model_dir, "me/gestures")).split())
    assert "landmarks, with 5 single-frame classifiers beside it." in flat
    assert (
        "Beside it, 5 single-frame classifiers (dense 128 → 64, ReLU), each from its own "
        "initial weights, answer every frame with the softmax of their mean logits "
        "(TECHNICAL_REPORT section 14.17); the model's answer is the mean of the LSTM's "
        "probabilities and of the frames' probabilities averaged over the window. Before the "
        "mean, each part's softmax is scaled by its own temperature, fitted on shifted "
        "validation windows (LSTM " in flat
    )
    assert "To measure this model on photos of your own people: `hand-gesture evaluate" in flat
    metrics = json.loads((trained_model_dir / "metrics.json").read_text())
    lstm, frames = metrics["training"]["part_temperatures"].values()
    assert f"(LSTM {lstm:.2f}, single-frame classifiers {frames:.2f})." in flat
    assert (
        "; before that, the training windows of `06_index` take the middle finger of random "
        "`03_fist` windows and the index finger of random `02_l` windows (TECHNICAL_REPORT "
        "sections 14.13 and 14.14); before that, 50% of the training windows of `01_palm` "
        "are opened: the four fingers fanned apart (up to 18° more between neighbours) and the "
        "thumb turned out (up to 60°; TECHNICAL_REPORT sections 14.15 and 14.16)." in flat
    )


@pytest.mark.parametrize("content", [{"thesis.tex": "mine"}, {"README.md": "# my notes"}])
def test_dry_run_never_replaces_other_files(model_dir, tmp_path, capsys, content):
    other = tmp_path / "other"
    other.mkdir()
    for name, text in content.items():
        (other / name).write_text(text)
    code = publish("--model-dir", str(model_dir), "--repo", "me/g", "--dry-run", str(other))
    one_line(capsys, code, "not empty and not a previous staging")
    assert {p.name: p.read_text() for p in other.iterdir()} == content


def test_dry_run_into_the_model_directory_is_refused(model_dir, capsys):
    before = sorted(p.name for p in model_dir.iterdir())
    code = publish("--model-dir", str(model_dir), "--repo", "me/g", "--dry-run", str(model_dir))
    one_line(capsys, code, "is the model directory")
    assert sorted(p.name for p in model_dir.iterdir()) == before


def test_card_front_matter_carries_the_metrics_and_protocol(model_dir, tmp_path):
    from huggingface_hub import ModelCard

    hub.stage(model_dir, "me/gestures", tmp_path / "s")
    text = (tmp_path / "s" / "README.md").read_text()
    front = yaml.safe_load(text.split("---")[1])
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert front["library_name"] == "keras" and front["license"] == "mit"
    assert {"keras", "lstm", "mediapipe", "hand-gesture-recognition"} <= set(front["tags"])
    (result,) = front["model-index"][0]["results"]
    values = {m["type"]: m["value"] for m in result["metrics"]}
    assert values == {"accuracy": metrics["accuracy"], "f1": metrics["macro_f1"]}
    dataset = result["dataset"]
    assert "subject split" in dataset["split"] and "02" in dataset["split"]
    assert dataset["args"]["split"] == "subject"
    assert dataset["args"]["subjects"] == ["00", "01", "02"]
    assert dataset["args"]["test_subjects"] == ["02"]
    # huggingface_hub parses its own card back into the same results.
    card = ModelCard.load(tmp_path / "s" / "README.md")
    parsed = {r.metric_type: r.metric_value for r in card.data.eval_results}
    assert parsed == {"accuracy": metrics["accuracy"], "f1": metrics["macro_f1"]}
    # The body: architecture, settings, table, image, use, limitations, citation.
    flat = " ".join(text.split())
    for expected in (
        "LSTM 8 → 8 → 4",
        "input shape (30, 63)",
        "`canonical` features",
        "`window`, gaps of up to 5 frames bridged",
        "learning rate 0.001",
        "batch size 32",
        "seed 42",
        "| `03_fist` |",
        "![Confusion matrix](confusion_matrix.png)",
        "![Reliability of the calibrated confidence](reliability.png)",
        "python inference.py --repo me/gestures",
        "hand-gesture predict --repo me/gestures --source 0",
        "from below",
        "3 subject(s) (00, 01, 02)",
        "Mantecón",
        "CC BY-NC-SA 4.0",
    ):
        assert expected in flat, expected


# ---------------------------------------------------------------------------------------------
# Uploading.


@pytest.fixture()
def recorded_api(monkeypatch):
    """Replaces the two network calls of a real ``HfApi`` with recorders."""
    from huggingface_hub import HfApi

    calls = []

    def create_repo(self, repo_id, **kwargs):
        calls.append(("create_repo", repo_id, kwargs, self.token))
        return f"https://huggingface.co/{repo_id}"

    def upload_folder(self, *, folder_path, repo_id, **kwargs):
        files = {p.name: p.read_bytes() for p in Path(folder_path).iterdir()}
        calls.append(("upload_folder", repo_id, files, kwargs, self.token))

    monkeypatch.setattr(HfApi, "create_repo", create_repo)
    monkeypatch.setattr(HfApi, "upload_folder", upload_folder)
    return calls


@pytest.mark.parametrize("entry", ["cli", "script"])
def test_upload_sends_exactly_the_staged_files_in_one_commit(
    entry, model_dir, tmp_path, recorded_api, capsys
):
    argv = ["--model-dir", str(model_dir), "--repo", "me/gestures", "--token", TOKEN]
    argv += ["--private", "--commit-message", "v1"]
    code = publish(*argv) if entry == "cli" else load_script().main(argv)
    assert code == 0
    out = capsys.readouterr()
    assert out.out.strip() == "https://huggingface.co/me/gestures"
    assert TOKEN not in out.out + out.err
    (create, upload) = recorded_api
    assert create[1] == "me/gestures" and create[3] == TOKEN
    assert create[2] == {"private": True, "exist_ok": True, "repo_type": "model"}
    assert set(upload[2]) == EXPECTED
    assert upload[3]["commit_message"] == "v1" and upload[3]["repo_type"] == "model"
    assert upload[3]["delete_patterns"] is None
    assert not any(TOKEN.encode() in content for content in upload[2].values())
    # What is sent is what a dry run stages.
    publish("--model-dir", str(model_dir), "--repo", "me/gestures", "--dry-run", str(tmp_path))
    for name, content in upload[2].items():
        assert (tmp_path / name).read_bytes() == content, name


def test_upload_removes_plots_left_by_an_earlier_upload(model_dir, tmp_path, recorded_api):
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("hand_gesture_lstm_model.h5", "gesture_mapping.json", "model_config.json"):
        shutil.copy(model_dir / name, bare / name)
    shutil.copy(model_dir / "metrics.json", bare / "metrics.json")
    url = hub.publish_model(bare, "me/gestures", token=TOKEN)
    assert url == "https://huggingface.co/me/gestures"
    upload = recorded_api[1]
    # The exports are made for a directory without them.
    assert set(upload[2]) == {*hub.PUBLISH_REQUIRED, *hub.PUBLISH_EXPORTS, "README.md"}
    assert upload[3]["delete_patterns"] == list(hub.PUBLISH_OPTIONAL)
    assert "confusion_matrix.png" not in upload[2]["README.md"].decode()


def test_token_comes_from_the_environment(model_dir, monkeypatch, no_login, recorded_api):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert hub.publish_model(model_dir, "me/gestures").endswith("/me/gestures")
    assert recorded_api[0][3] == TOKEN
    assert hub.resolve_token(None) == TOKEN


def test_token_comes_from_the_cached_login(model_dir, no_login, recorded_api):
    import huggingface_hub.constants as constants

    Path(constants.HF_TOKEN_PATH).write_text(TOKEN)
    assert hub.publish_model(model_dir, "me/gestures").endswith("/me/gestures")
    assert recorded_api[0][3] == TOKEN


def one_line(capsys, code, match):
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert match in err and len(err.splitlines()) == 1, err
    assert "Traceback" not in err and TOKEN not in err
    return err


@pytest.mark.parametrize("entry", ["cli", "script"])
def test_bad_publish_inputs_exit_2(entry, model_dir, tmp_path, no_login, capsys):
    def run(*argv):
        return publish(*argv) if entry == "cli" else load_script().main(list(argv))

    one_line(
        capsys, run("--model-dir", str(model_dir), "--repo", "me/gestures"), "no Hugging Face token"
    )
    incomplete = tmp_path / "incomplete"
    shutil.copytree(model_dir, incomplete)
    (incomplete / "metrics.json").unlink()
    (incomplete / "model_config.json").unlink()
    one_line(
        capsys,
        run("--model-dir", str(incomplete), "--repo", "me/gestures", "--token", TOKEN),
        "missing model_config.json, metrics.json",
    )
    one_line(
        capsys,
        run("--model-dir", str(model_dir), "--repo", "not a repo!", "--token", TOKEN),
        "USER/NAME",
    )
    one_line(
        capsys,
        run("--model-dir", str(model_dir), "--repo", "justaname", "--dry-run", str(tmp_path / "s")),
        "USER/NAME",
    )
    one_line(
        capsys,
        run("--model-dir", str(tmp_path / "nothing"), "--repo", "me/gestures", "--token", TOKEN),
        "not a directory",
    )


def test_a_mapping_that_does_not_match_the_model_is_refused(model_dir, tmp_path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(model_dir, broken)
    (broken / "gesture_mapping.json").write_text(json.dumps({"01_palm": 0, "02_l": 1}))
    code = publish("--model-dir", str(broken), "--repo", "me/g", "--dry-run", str(tmp_path / "s"))
    one_line(capsys, code, "the mapping has 2 gestures but the model outputs 3")
    assert not (tmp_path / "s").exists()


def test_hub_unreachable_is_one_clear_line(model_dir, monkeypatch, capsys):
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "ENDPOINT", closed_port_url())
    code = publish("--model-dir", str(model_dir), "--repo", "me/gestures", "--token", TOKEN)
    one_line(capsys, code, "cannot reach the Hugging Face Hub (ConnectError")


def test_a_refused_token_is_one_clear_line(model_dir, monkeypatch, error_server, capsys):
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "ENDPOINT", error_server.url)
    error_server.status = 401
    error_server.headers = {"X-Error-Message": "Invalid credentials in Authorization header"}
    code = publish("--model-dir", str(model_dir), "--repo", "me/gestures", "--token", TOKEN)
    one_line(capsys, code, "the Hub refused the token")
    assert error_server.requests[0] == "POST /api/repos/create"


# ---------------------------------------------------------------------------------------------
# Downloading.


@pytest.fixture()
def hub_cache(tmp_path, monkeypatch):
    """An empty Hub cache in offline mode (read at import, hence patched in the constants)."""
    import huggingface_hub.constants as constants

    cache = tmp_path / "hub-cache"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return cache


def populate(cache: Path, repo_id: str, source: Path, names, absent=()) -> Path:
    """Lays files out as huggingface_hub's cache does (``absent``: known not to exist)."""
    root = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = root / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    for name in names:
        shutil.copy(source / name, snapshot / name)
    for name in absent:
        (root / ".no_exist" / COMMIT).mkdir(parents=True, exist_ok=True)
        (root / ".no_exist" / COMMIT / name).touch()
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(COMMIT)
    return snapshot


def test_download_uses_the_offline_cache(model_dir, hub_cache):
    snapshot = populate(hub_cache, "me/gestures", model_dir, MODEL_FILES)
    folder = hub.download_model("me/gestures")
    assert folder == snapshot
    assert hub.download_model("me/gestures", revision=COMMIT) == snapshot
    loaded, original = load_model(folder), load_model(model_dir)
    assert loaded.preprocessing.feature_mode == "canonical"
    x = np.random.default_rng(0).normal(size=(2, 30, 63)).astype(np.float32)
    np.testing.assert_array_equal(
        loaded.model(x, training=False).numpy(), original.model(x, training=False).numpy()
    )


def test_download_takes_an_explicit_cache_dir(model_dir, tmp_path, monkeypatch):
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    snapshot = populate(tmp_path / "elsewhere", "me/gestures", model_dir, MODEL_FILES)
    assert hub.download_model("me/gestures", cache_dir=tmp_path / "elsewhere") == snapshot


def test_an_original_model_without_config_downloads(model_dir, hub_cache):
    # The cache recorded that the repository has no config, as huggingface_hub does on a 404.
    populate(hub_cache, "orig/model", model_dir, MODEL_FILES[:2], absent=("model_config.json",))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load_model(hub.download_model("orig/model"))
    assert loaded.preprocessing.feature_mode == "raw" and loaded.config.info["legacy"]


def test_an_unknown_config_offline_loads_with_a_warning(model_dir, hub_cache):
    populate(hub_cache, "orig/model", model_dir, MODEL_FILES[:2])
    with pytest.warns(UserWarning, match="model_config.json is not in the local Hub cache"):
        folder = hub.download_model("orig/model")
    assert load_model(folder).preprocessing.feature_mode == "raw"


def test_offline_with_nothing_cached_is_clear(hub_cache):
    with pytest.raises(DownloadError, match="HF_HUB_OFFLINE is set and the model is not in"):
        hub.download_model("nobody/nothing")
    with pytest.raises(InputError, match="USER/NAME"):
        hub.download_model("no slash")
    with pytest.raises(InputError, match="USER/NAME"):
        hub.download_model("a/b/c")


@pytest.fixture()
def online(hub_cache, monkeypatch):
    """Online mode, with the Hub's download URLs pointed at ``set_url(url)``."""
    import time

    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    # huggingface_hub retries a failed connection five times with back-off (23 s in all).
    monkeypatch.setattr(time, "sleep", lambda seconds: None)

    def set_url(url):
        template = url + "/{repo_id}/resolve/{revision}/{filename}"
        monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", template)

    return set_url


def test_unreachable_hub_falls_back_to_the_cache(model_dir, hub_cache, online):
    online(closed_port_url())
    snapshot = populate(hub_cache, "me/gestures", model_dir, MODEL_FILES)
    assert hub.download_model("me/gestures") == snapshot
    with pytest.raises(DownloadError, match=r"cannot be reached \(ConnectError"):
        hub.download_model("me/other")


@pytest.mark.parametrize(
    ("status", "code", "error", "match"),
    [
        (404, "RepoNotFound", InputError, "no such model repository"),
        (404, "RevisionNotFound", InputError, "no revision 'v9'"),
        (404, "EntryNotFound", InputError, "the repository has no hand_gesture_lstm_model.h5"),
        (401, None, DownloadError, "the Hub refused the token"),
    ],
)
def test_hub_errors_are_clear(hub_cache, online, error_server, status, code, error, match):
    online(error_server.url)
    error_server.status = status
    error_server.headers = {"X-Error-Code": code} if code else {}
    if status == 401:
        error_server.headers["X-Error-Message"] = "Invalid credentials in Authorization header"
    with pytest.raises(error, match=match) as raised:
        hub.download_model("me/gestures", revision="v9", token=TOKEN)
    assert TOKEN not in str(raised.value)
    assert error_server.requests[0] == "HEAD /me/gestures/resolve/v9/hand_gesture_lstm_model.h5"


def test_a_model_without_test_figures_is_not_published(tmp_path):
    (tmp_path / "metrics.json").write_text(
        json.dumps({"accuracy": None, "macro_f1": None, "test": None, "test_reason": "none"})
    )
    with pytest.raises(InputError, match="no test figures .*--split none"):
        hub._read_metrics(tmp_path)
