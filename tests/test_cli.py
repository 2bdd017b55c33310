import csv
import json
import shutil
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
    # Frames that are not images: refused, and nothing is left beside --out.
    frames = tmp_path / "data" / "00" / "01_palm"
    frames.mkdir(parents=True)
    (frames / "frame_00_01_0001.png").write_bytes(b"not a png")
    out = tmp_path / "out" / "x.npz"
    out.parent.mkdir()
    argv = ["extract", str(tmp_path / "data"), "--out", str(out), "--workers", "1"]
    _one_line_error(capsys, argv, "no readable frames found")
    assert list(out.parent.iterdir()) == []


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
    waves = tmp_path / "waves.npz"
    make_table(subjects=("s1",), gestures=("01_palm", "99_wave")).save(waves)
    line = _one_line_error(
        capsys,
        ["evaluate", "--model", str(trained_model_dir), "--landmarks", str(waves)]
        + ["--out", str(tmp_path / "ev")],
        f"--landmarks {waves}: has gestures the model does not know: '99_wave' (it knows 01_palm,",
    )
    assert not (tmp_path / "ev").exists(), line


def test_evaluate_photos_prints_and_keeps_results(
    capsys, tmp_path, trained_model_dir, hagrid_sample
):
    photos = tmp_path / "people"
    for name in ("like", "none"):
        (photos / name).mkdir(parents=True)
        for path in sorted((hagrid_sample / name).glob("*.jpg"))[:2]:
            (photos / name / path.name).write_bytes(path.read_bytes())
    model = ["evaluate", "--model", str(trained_model_dir)]
    argv = [*model, "--photos", str(photos), "--out", str(tmp_path / "out")]
    assert main([*argv, "--as", "like=05_thumb", "--reject", "none"]) == 0
    printed = capsys.readouterr().out
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    right, rejected = metrics["gesture_photos"]["right"], metrics["non_gesture_photos"]["rejected"]
    assert f"gesture photos answered right {right:.4f} of 2 " in printed
    assert f"non-gesture photos answered with no gesture {rejected:.4f} of 2 " in printed
    assert metrics["threshold"] == 0.6  # The model's calibration.json.
    with (tmp_path / "out" / "photos.csv").open() as handle:
        assert [r["folder"] for r in csv.DictReader(handle)] == ["like", "like", "none", "none"]
    _one_line_error(capsys, [*argv, "--as", "like=05_thumb", "--reject", "none"], "pass --force")
    # With --force too, a bad label is refused before anything is replaced.
    argv.append("--force")
    _one_line_error(capsys, [*argv, "--reject", "none"], "like: not a gesture of the model")
    # Each --as and --reject adds to the ones before; a folder given two gestures is refused.
    _one_line_error(
        capsys,
        [*argv, "--as", "like=05_thumb", "--as", "like=03_fist", "--reject", "none"],
        "--as like=05_thumb and like=03_fist: one gesture per folder",
    )
    _one_line_error(capsys, [*argv, "--as", "like=thumb", "--reject", "none"], "no gesture 'thumb'")
    _one_line_error(
        capsys,
        [*argv, "--as", "like=05_thumb", "--reject", "none", "--protocol", "loso"],
        "--protocol loso: needs --landmarks",
    )
    _one_line_error(
        capsys,
        [*model, "--landmarks", "x.npz", "--reject", "none"],
        "--as and --reject: apply to --photos only",
    )
    _one_line_error(capsys, [*model, "--photos", str(tmp_path / "nope")], "not a folder")
    _one_line_error(
        capsys,
        [*model, "--photos", str(photos), "--out", str(photos / "results")],
        "is inside --photos",
    )
    assert json.loads((tmp_path / "out" / "metrics.json").read_text()) == metrics
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--as", "like"])
    assert exit_info.value.code == 2
    assert "--as: expected FOLDER=GESTURE, got 'like'" in capsys.readouterr().err


def test_evaluate_photos_checks_the_folders_before_the_model_loads(
    capsys, tmp_path, trained_model_dir, hagrid_sample
):
    broken = tmp_path / "model"
    shutil.copytree(trained_model_dir, broken)
    (broken / "model.onnx").write_bytes(b"not a model")
    photos = tmp_path / "people"
    (photos / "like").mkdir(parents=True)
    (photos / "empty").mkdir()
    for path in sorted((hagrid_sample / "like").glob("*.jpg"))[:2]:
        (photos / "like" / path.name).write_bytes(path.read_bytes())
    argv = ["evaluate", "--model", str(broken), "--photos", str(photos)]
    argv += ["--out", str(tmp_path / "out")]
    _one_line_error(capsys, [*argv, "--reject", "empty"], "like: not a gesture of the model")
    _one_line_error(capsys, [*argv, "--as", "like=05_thumb"], "empty: not a gesture of the model")
    _one_line_error(
        capsys, [*argv, "--as", "like=05_thumb", "--reject", "empty"], "empty: no images found"
    )
    (photos / "empty" / "a.jpg").write_bytes((photos / "like" / path.name).read_bytes())
    # Only a photo set that passes reaches the model, whose broken export is named.
    _one_line_error(
        capsys, [*argv, "--as", "like=05_thumb", "--reject", "empty"], "not a valid ONNX model"
    )
    assert not (tmp_path / "out").exists()
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--landmarks", "x.npz"])
    assert exit_info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_evaluate_answers_at_the_threshold_it_is_given(
    capsys, tmp_path, trained_model_dir, sample_landmarks
):
    argv = ["evaluate", "--model", str(trained_model_dir), "--landmarks", str(sample_landmarks)]
    assert main([*argv, "--out", str(tmp_path / "model's")]) == 0
    assert main([*argv, "--out", str(tmp_path / "0.99"), "--threshold", "0.99"]) == 0
    assert "answered at threshold 0.99:" in capsys.readouterr().out
    assert (
        json.loads((tmp_path / "0.99" / "metrics.json").read_text())["answers"]["threshold"] == 0.99
    )

    def rows(name):
        with (tmp_path / name / "predictions.csv").open() as handle:
            return list(csv.DictReader(handle))

    usual, strict = rows("model's"), rows("0.99")  # The model's threshold is 0.6.
    assert [r["confidence"] for r in strict] == [r["confidence"] for r in usual]
    unsure = [i for i, r in enumerate(strict) if float(r["confidence"]) < 0.989]
    sure = [i for i, r in enumerate(strict) if float(r["confidence"]) > 0.991]
    assert unsure and sure
    # Over 0.99 a window is answered as at 0.6; under it, a gesture answer becomes
    # "uncertain" and a window the rules reject stays "not a gesture".
    assert [strict[i]["answer"] for i in sure] == [usual[i]["answer"] for i in sure]
    expected = [
        "not_gesture" if usual[i]["answer"] == "not_gesture" else "uncertain" for i in unsure
    ]
    assert [strict[i]["answer"] for i in unsure] == expected
    _one_line_error(
        capsys,
        [*argv, "--out", str(tmp_path / "loso"), "--protocol", "loso", "--threshold", "0.7"],
        "--threshold: applies to --protocol all only",
    )
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--threshold", "1.5"])
    assert exit_info.value.code == 2
    assert "--threshold: expected a number in [0, 1], got 1.5" in capsys.readouterr().err


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
    # The infrared hands all point up: the orientation rule starts 14° below the horizontal.
    assert "'not a gesture' for a hand pointing more than 14° below the horizontal" in out
    assert "'not a gesture' for fingers held unlike the closest gesture's training" in out
    assert "(an extension and a reach more than 0.40 outside their range in 75% of" in out
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
    assert config["schema_version"] == 6
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
    assert rows[0] == "sequence,end_frame,true,predicted,confidence,answer"
    right = [r.split(",")[2] == r.split(",")[3] for r in rows[1:]]
    answered = [r.split(",")[2] == r.split(",")[5] for r in rows[1:]]
    # The accuracy is the share of right rows (a model of a few epochs: its value is not
    # the point here; tests/test_answers.py checks answers of a trained model).
    assert metrics["support"] == len(right) > 900
    assert metrics["accuracy"] == pytest.approx(sum(right) / len(right))
    answers = metrics["answers"]
    assert answers["right"] == pytest.approx(sum(answered) / len(answered))
    printed = capsys.readouterr().out
    assert f"answered at threshold 0.60: {answers['right']:.4f} right" in printed
    assert f"{answers['rejected']:.4f} gestures answered not a gesture (finger rule" in printed
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


def test_init_that_is_not_a_model_directory(capsys, tmp_path, trained_model_dir):
    table = make_table(subjects=("s",), frames=40)
    table.save(tmp_path / "takes.npz")
    out = tmp_path / "tuned"
    train = ["train", "--landmarks", str(tmp_path / "takes.npz"), "--out", str(out)]
    line = _one_line_error(capsys, [*train, "--init", str(tmp_path / "nowhere")], "not found")
    assert "expected a model directory" in line and "hand_gesture_lstm_model.h5" in line
    (tmp_path / "empty").mkdir()
    line = _one_line_error(capsys, [*train, "--init", str(tmp_path / "empty")], "has no")
    assert str(tmp_path / "empty") in line
    _one_line_error(capsys, [*train, "--init", str(tmp_path / "takes.npz")], "is not a directory")
    # The base model's preprocessing is kept: a flag that differs is refused, not ignored.
    line = _one_line_error(
        capsys, [*train, "--init", str(trained_model_dir), "--features", "raw"], "--features raw"
    )
    assert "'canonical'" in line
    _one_line_error(capsys, [*train, "--freeze", "none"], "--freeze needs --init")
    same = ["train", "--landmarks", str(tmp_path / "takes.npz"), "--init", str(trained_model_dir)]
    _one_line_error(capsys, [*same, "--out", str(trained_model_dir)], "is the --init model")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "takes.npz"]


@pytest.mark.slow
def test_finetuning_merged_takes_makes_a_normal_model_directory(
    tmp_path, sample_landmarks, trained_model_dir, capsys
):
    from hand_gesture_recognition.landmark_file import LandmarkTable
    from hand_gesture_recognition.model import load_classifier, load_model, lstm_part
    from hand_gesture_recognition.preprocessing import table_windows, window_features
    from hand_gesture_recognition.record import cut_takes

    # Three takes of three gestures; two keep names the base model does not know. The base
    # trained on frames before 96 of each recording (its time split's test part is after).
    table = LandmarkTable.load(sample_landmarks)
    rename = {"01_palm": "01_palm", "05_thumb": "my_thumb", "10_down": "my_down"}
    table = table.subset(np.isin(table.gesture, list(rename)))
    table.gesture = np.array([rename[g] for g in table.gesture])
    takes = cut_takes(table.subset(table.frame < 96), (0, 32, 64))
    first = takes.subset(~np.char.endswith(takes.sequence, "#take2"))
    second = takes.subset(np.char.endswith(takes.sequence, "#take2"))
    # The second file's ids clash with the first file's: they are prefixed, not joined.
    second.sequence = np.char.replace(second.sequence, "#take2", "#take0")
    first.save(tmp_path / "monday.npz")
    second.save(tmp_path / "tuesday.npz")
    out = tmp_path / "tuned"
    argv = ["train", "--landmarks", str(tmp_path / "monday.npz")]
    argv += ["--landmarks", str(tmp_path / "tuesday.npz"), "--init", str(trained_model_dir)]
    assert main([*argv, "--freeze", "lstm", "--epochs", "15", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "no test set (split: none)" in captured.out
    assert "no test set" in captured.err and "were prefixed" in captured.err

    expected = {
        "hand_gesture_lstm_model.h5",
        "model.tflite",
        "model.onnx",
        "gesture_mapping.json",
        "model_config.json",
        "calibration.json",
        "metrics.json",
        "training_curves.png",
        ".hgr-manifest.json",
    }
    assert expected <= {p.name for p in out.iterdir()}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"] is None and "split 'none'" in metrics["test_reason"]
    assert metrics["protocol"]["split"] == "none"
    protocol = metrics["protocol"]
    recordings = sorted(protocol["train_recordings"] + protocol["val_recordings"])
    assert recordings == sorted(
        f"{prefix}00/{g}#take{k}"
        for g in ("01_palm", "05_thumb", "10_down")
        for prefix, k in (("monday:", 0), ("", 1), ("tuesday:", 0))
    )
    assert len(protocol["val_recordings"]) == 3 and protocol["test_recordings"] == []
    config = json.loads((out / "model_config.json").read_text())
    base_config = json.loads((trained_model_dir / "model_config.json").read_text())
    lineage = config["info"]["finetuned_from"]
    assert lineage["path"] == str(trained_model_dir.resolve())
    assert lineage["data"] == base_config["info"]["data"] and lineage["freeze"] == "lstm"
    assert config["preprocessing"] == base_config["preprocessing"] | {"window_stride": 1}
    assert config["info"]["data"]["hashed"] == "files"

    # predict's loader runs it, and it answers the held-out frames (after frame 96) right.
    tuned = load_classifier(out)
    assert tuned.gestures == ["01_palm", "my_down", "my_thumb"]
    held = table_windows(table.subset(table.frame >= 96), tuned.gestures, tuned.preprocessing)
    predicted = tuned.model.predict(window_features(held, "canonical")).argmax(axis=1)
    assert len(held) >= 12 and (predicted == held.labels).mean() >= 0.9
    # The LSTM layers were frozen: they are the base model's, weight for weight.
    base = lstm_part(load_model(trained_model_dir).model)
    keras_tuned = lstm_part(load_model(out).model)
    for old, new in zip(base.layers[:9], keras_tuned.layers[:9], strict=True):
        for a, b in zip(old.get_weights(), new.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
    assert not np.array_equal(
        base.layers[9].get_weights()[0], keras_tuned.layers[9].get_weights()[0]
    )


def test_evaluate_and_train_replace_no_earlier_file_without_force(
    capsys, tmp_path, trained_model_dir, sample_landmarks
):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "predictions.csv").write_text("my own notes\n")
    evaluate = ["evaluate", "--model", str(trained_model_dir)]
    _one_line_error(
        capsys,
        [*evaluate, "--landmarks", str(sample_landmarks), "--out", str(mine)],
        "already holds results (predictions.csv); pass --force",
    )
    (mine / "photos.csv").write_text("my own photos\n")
    _one_line_error(
        capsys,
        [*evaluate, "--photos", str(tmp_path / "people"), "--out", str(mine)],
        "already holds results (predictions.csv, photos.csv)",
    )
    # An evaluation's folder is no model, but training would replace its metrics and plots.
    (mine / "metrics.json").write_text("{}\n")
    train = ["train", "--landmarks", str(sample_landmarks), "--epochs", "1", "--out", str(mine)]
    _one_line_error(
        capsys, train, "already holds files that training writes (metrics.json); pass --force"
    )
    # A model directory is named by its model files, not by every plot beside them.
    train[-1] = str(trained_model_dir)
    _one_line_error(
        capsys,
        train,
        "already holds a model (hand_gesture_lstm_model.h5, gesture_mapping.json, "
        "model_config.json); pass --force",
    )
    assert (mine / "predictions.csv").read_text() == "my own notes\n"
    assert (mine / "photos.csv").read_text() == "my own photos\n"
    assert sorted(p.name for p in mine.iterdir()) == [
        "metrics.json",
        "photos.csv",
        "predictions.csv",
    ]
