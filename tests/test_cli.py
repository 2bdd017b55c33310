import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import make_table

from hand_gesture_recognition.cli import main


def _one_line_error(capsys, argv, match):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    errors = [line for line in err.splitlines() if ": error: " in line]
    assert len(errors) == 1 and match in errors[0], err
    assert err.splitlines()[-1] == errors[0] and "Traceback" not in err, err
    return errors[0]


def test_extract_bad_inputs(capsys, tmp_path):
    _one_line_error(capsys, ["extract", str(tmp_path / "nope"), "--out", "x.npz"], "not found")
    empty = tmp_path / "empty"
    empty.mkdir()
    _one_line_error(capsys, ["extract", str(empty), "--out", "x.npz"], "empty")
    (empty / "readme.txt").write_text("no frames here")
    _one_line_error(capsys, ["extract", str(empty), "--out", "x.npz"], "<subject>/<gesture>")
    _one_line_error(capsys, ["extract", str(empty), "--out", "x.csv"], "must end in .npz")


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["extract", "somewhere", "--out", "x.npz", "--workers", "zero"])
    assert exit_info.value.code == 2
    assert "whole number" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--min-confidence", "1.5"])
    assert "[0, 1]" in capsys.readouterr().err


def test_train_bad_inputs(capsys, tmp_path):
    np.savez(tmp_path / "bad.npz", landmarks=np.zeros((3, 21, 3), np.float32))
    _one_line_error(
        capsys,
        ["train", "--landmarks", str(tmp_path / "bad.npz"), "--out", str(tmp_path / "m")],
        "missing arrays",
    )
    short = make_table(subjects=("s",), frames=40)
    short.save(tmp_path / "short.npz")
    _one_line_error(
        capsys,
        ["train", "--landmarks", str(tmp_path / "short.npz"), "--out", str(tmp_path / "m")],
        "too short",
    )
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "gesture_mapping.json").write_text("{}")
    _one_line_error(
        capsys,
        ["train", "--landmarks", str(tmp_path / "short.npz"), "--out", str(existing)],
        "--force",
    )
    assert (existing / "gesture_mapping.json").read_text() == "{}"


def test_too_few_frames_for_a_window(capsys, tmp_path, leap_gesture_dirs):
    for gesture in ("01_palm", "02_l"):
        folder = tmp_path / "data" / "00" / gesture
        folder.mkdir(parents=True)
        for frame in sorted(leap_gesture_dirs[gesture].iterdir())[:5]:
            (folder / frame.name).symlink_to(frame)
    _one_line_error(
        capsys,
        [
            "train",
            "--data",
            str(tmp_path / "data"),
            "--extractor",
            "mediapipe",
            "--workers",
            "1",
            "--out",
            str(tmp_path / "m"),
        ],
        "too short",
    )


def test_kaggle_unreachable_says_how_to_pass_data(capsys, tmp_path, monkeypatch):
    import kagglehub

    def offline(*args, **kwargs):
        raise OSError("Max retries exceeded with url: https://www.kaggle.com/api/v1/...")

    monkeypatch.setattr(kagglehub, "dataset_download", offline)
    monkeypatch.chdir(tmp_path)
    _one_line_error(capsys, ["download"], "pass --data DIR")
    _one_line_error(capsys, ["train"], "pass --data DIR")


def test_evaluate_bad_inputs(capsys, tmp_path, trained_model_dir):
    _one_line_error(
        capsys,
        ["evaluate", "--model", str(tmp_path), "--landmarks", "x.npz"],
        "model file not found",
    )
    _one_line_error(
        capsys,
        ["evaluate", "--model", str(trained_model_dir), "--landmarks", str(tmp_path / "x.npz")],
        "landmark file not found",
    )


def test_entry_point_prints_no_traceback(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "hand_gesture_recognition",
            "extract",
            str(tmp_path / "none"),
            "--out",
            str(tmp_path / "x.npz"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "data directory not found" in result.stderr


@pytest.mark.slow
def test_main_job_downloads_trains_and_cleans_up(tmp_path, monkeypatch, leap_gesture_dirs, capsys):
    import kagglehub

    # Kaggle is out of reach: the download places a folder shaped like Kaggle's (links to the
    # sample's frames) where kagglehub is asked to put it.
    def download(handle, output_dir=None, **kwargs):
        assert handle == "gti-upm/leapgestrecog"
        root = Path(output_dir) / "leapGestRecog"
        for gesture in ("01_palm", "07_ok", "10_down"):
            folder = root / "00" / gesture
            folder.mkdir(parents=True)
            for frame in sorted(leap_gesture_dirs[gesture].iterdir())[:100]:
                (folder / frame.name).symlink_to(frame)
        return output_dir

    monkeypatch.setattr(kagglehub, "dataset_download", download)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HGR_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["train", "--epochs", "2", "--workers", "2"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "test accuracy" in out
    # What this run downloaded is deleted (a dataset that was there before is kept:
    # tests/test_safety.py).
    assert "deleted the dataset this run downloaded" in captured.err
    assert not (tmp_path / "datasets" / "leapgestrecog").exists()
    for gesture in ("01_palm", "07_ok"):
        assert leap_gesture_dirs[gesture].exists()
    config = json.loads((tmp_path / "models" / "model_config.json").read_text())
    assert config["preprocessing"]["window_stride"] == 3
    # Lineage: the landmark file's content hash and frame count, the package version.
    import hashlib

    from hand_gesture_recognition import __version__

    (landmarks,) = (tmp_path / "cache" / "landmarks").glob("*.npz")
    assert config["schema_version"] == 2
    assert config["info"]["data"] == {
        "landmarks_sha256": hashlib.sha256(landmarks.read_bytes()).hexdigest(),
        "hashed": "file",
        "frames": 300,
    }
    assert config["info"]["package_version"] == __version__
    assert (tmp_path / "models" / "model.tflite").stat().st_size > 0
    assert (tmp_path / "models" / "model.onnx").stat().st_size > 0
    assert json.loads((tmp_path / "models" / "gesture_mapping.json").read_text()) == {
        "01_palm": 0,
        "07_ok": 1,
        "10_down": 2,
    }
    # A second run refuses to replace the model.
    assert main(["train", "--epochs", "1"]) == 2


@pytest.mark.slow
def test_train_and_evaluate_commands_on_the_sample(tmp_path, sample_landmarks, capsys):
    out = tmp_path / "m"
    assert (
        main(
            [
                "train",
                "--landmarks",
                str(sample_landmarks),
                "--split",
                "time",
                "--epochs",
                "2",
                "--stride",
                "4",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert (out / "hand_gesture_lstm_model.h5").exists()
    assert (
        main(
            [
                "evaluate",
                "--model",
                str(out),
                "--landmarks",
                str(sample_landmarks),
                "--out",
                str(tmp_path / "eval"),
            ]
        )
        == 0
    )
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    rows = (tmp_path / "eval" / "predictions.csv").read_text().splitlines()
    assert rows[0] == "sequence,end_frame,true,predicted,confidence"
    right = [r.split(",")[2] == r.split(",")[3] for r in rows[1:]]
    # The accuracy is the share of right rows (a model of a few epochs: its value is not
    # the point here; tests/test_answers.py checks answers of a trained model).
    assert metrics["support"] == len(right) > 900
    assert metrics["accuracy"] == pytest.approx(sum(right) / len(right))
    assert (
        main(
            [
                "evaluate",
                "--model",
                str(out),
                "--landmarks",
                str(sample_landmarks),
                "--out",
                str(tmp_path / "eval"),
            ]
        )
        == 2
    )
    capsys.readouterr()
