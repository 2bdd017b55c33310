import csv
import json
import shutil

import numpy as np
import pytest
from helpers import make_table

from hand_gesture_recognition.calibration import (
    GESTURE,
    NOT_GESTURE,
    REJECTION_LABEL,
    UNCERTAIN,
    Answers,
    Calibration,
    ShiftConfig,
)
from hand_gesture_recognition.config import PreprocessingConfig, RunConfig, TrainingConfig
from hand_gesture_recognition.errors import InputError
from hand_gesture_recognition.evaluate import (
    PhotoLabels,
    answer_metrics,
    answered_right,
    classification_report_text,
    compute_metrics,
    evaluate_model,
    evaluate_photos,
    leave_one_subject_out,
    reliability_metrics,
    write_reports,
)
from hand_gesture_recognition.landmark_file import LandmarkTable
from hand_gesture_recognition.model import load_model
from hand_gesture_recognition.realtime import RealTimeGestureRecognizer, list_images, read_image


def test_metrics_by_hand():
    y_true = np.array([0, 0, 1, 1, 2])
    y_pred = np.array([0, 1, 1, 1, 0])
    metrics = compute_metrics(y_true, y_pred, ["a", "b", "c"], {"split": "time"})
    assert metrics["accuracy"] == pytest.approx(0.6)
    assert metrics["per_class"]["a"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert metrics["per_class"]["b"]["precision"] == pytest.approx(2 / 3)
    assert metrics["per_class"]["c"]["f1"] == 0.0
    assert metrics["macro_f1"] == pytest.approx((0.5 + 0.8 + 0.0) / 3)
    assert metrics["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert "macro f1" in classification_report_text(metrics)


def test_answers_are_scored_as_a_person_would_score_them():
    gestures = ["01_palm", "03_fist", REJECTION_LABEL]
    # Six windows: three palms (answered a palm, nothing, "not a gesture"), three non-gestures
    # (answered a fist, "not a gesture", nothing).
    y_true = np.array([0, 0, 0, 2, 2, 2])
    state = np.array([GESTURE, UNCERTAIN, NOT_GESTURE, GESTURE, NOT_GESTURE, UNCERTAIN])
    top = np.array([0, 0, 1, 1, 2, 0])
    answers = Answers(
        np.eye(3)[top],
        top,
        np.ones(6),
        np.array([False, False, False, False, True, False]),
        np.array([False, False, True, False, False, False]),
        state,
    )
    right = answered_right(answers, y_true, gestures)
    assert right.tolist() == [True, False, False, False, True, True]
    assert answer_metrics(answers, y_true, gestures, 0.6) == pytest.approx(
        {
            "threshold": 0.6,
            "right": 3 / 6,
            "wrong": 1 / 6,
            "uncertain": 1 / 6,
            "rejected": 1 / 6,
            "points_down": 1 / 6,
            "off_shape": 1 / 6,
        }
    )
    assert answers.labels(gestures).tolist() == [
        "01_palm",
        UNCERTAIN,
        NOT_GESTURE,
        "03_fist",
        NOT_GESTURE,
        UNCERTAIN,
    ]


def test_reliability_metrics_by_hand():
    # Two windows at confidence 0.95 (one right) and two at 0.65 (both right).
    probabilities = np.array([[0.95, 0.05], [0.95, 0.05], [0.35, 0.65], [0.65, 0.35]])
    top = probabilities.argmax(1)
    no = np.zeros(4, bool)
    answers = Answers(probabilities, top, probabilities.max(1), no, no, np.full(4, GESTURE))
    result = reliability_metrics(answers, np.array([0, 1, 1, 0]))
    assert result["bins"] == [
        pytest.approx({"low": 0.6, "high": 0.7, "confidence": 0.65, "accuracy": 1.0, "count": 2}),
        pytest.approx({"low": 0.9, "high": 1.0, "confidence": 0.95, "accuracy": 0.5, "count": 2}),
    ]
    assert result["ece"] == pytest.approx((2 * 0.35 + 2 * 0.45) / 4)


def test_reports_are_written(tmp_path):
    metrics = compute_metrics(np.array([0, 1]), np.array([0, 1]), ["a", "b"])
    write_reports(
        tmp_path,
        metrics,
        {
            "loss": [2.0, 1.0],
            "val_loss": [2.1, 1.5],
            "accuracy": [0.5, 1.0],
            "val_accuracy": [0.5, 0.5],
        },
    )
    assert json.loads((tmp_path / "metrics.json").read_text())["accuracy"] == 1.0
    for name in ("confusion_matrix.png", "training_curves.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    assert not (tmp_path / "reliability.png").exists()  # No reliability in these metrics.
    metrics["reliability"] = {
        "ece": 0.1,
        "bins": [{"low": 0.9, "high": 1.0, "confidence": 0.95, "accuracy": 0.85, "count": 2}],
    }
    write_reports(tmp_path / "again", metrics)
    assert (tmp_path / "again" / "reliability.png").read_bytes()[:4] == b"\x89PNG"


def test_evaluating_a_model_on_a_landmark_file(trained_model_dir, sample_landmarks, tmp_path):
    metrics = evaluate_model(
        load_model(trained_model_dir), LandmarkTable.load(sample_landmarks), tmp_path
    )
    assert metrics["support"] > 500 and metrics["protocol"]["split"] == "all"
    assert set(metrics["per_class"]) == set(load_model(trained_model_dir).gestures)
    assert (tmp_path / "confusion_matrix.png").exists()
    assert metrics["accuracy"] > 0.9  # the session's model on the frames it mostly trained on
    # Slices: one subject, ten gestures, counts that add up to every window.
    assert set(metrics["slices"]["subject"]) == {"00"}
    gestures = metrics["slices"]["gesture"]
    assert len(gestures) == 10
    assert sum(g["windows"] for g in gestures.values()) == metrics["support"]
    for name, row in gestures.items():
        assert row["accuracy"] == pytest.approx(metrics["per_class"][name]["recall"])
        assert row["answered_right"] <= row["accuracy"]
    # What a person is told: right, wrong, nothing, or "not a gesture" for a gesture's window;
    # the rules were set from this person's own windows, so they reject almost none of them.
    answers = metrics["answers"]
    assert answers["threshold"] == 0.6
    parts = ("right", "wrong", "uncertain", "rejected")
    assert sum(answers[k] for k in parts) == pytest.approx(1.0)
    assert answers["right"] > 0.85 and answers["right"] <= metrics["accuracy"]
    assert answers["off_shape"] < 0.01 and answers["points_down"] == 0.0
    # Calibration, checked against predictions.csv with bins of the test's own.
    with (tmp_path / "predictions.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    confidence = np.array([float(r["confidence"]) for r in rows])
    right = np.array([r["predicted"] == r["true"] for r in rows])
    bin_of = np.minimum((np.ceil(confidence * 10) - 1).astype(int), 9)
    gaps = [
        (bin_of == b).sum() * abs(confidence[bin_of == b].mean() - right[bin_of == b].mean())
        for b in np.unique(bin_of)
    ]
    reliability = metrics["reliability"]
    assert reliability["ece"] == pytest.approx(sum(gaps) / len(rows), abs=1e-5)
    assert sum(b["count"] for b in reliability["bins"]) == metrics["support"]
    bins_right = sum(b["count"] * b["accuracy"] for b in reliability["bins"])
    assert bins_right / metrics["support"] == pytest.approx(metrics["accuracy"])
    assert (tmp_path / "reliability.png").read_bytes()[:4] == b"\x89PNG"


def test_predictions_csv_has_a_row_per_window_ending_at_the_files_frames(
    trained_model_dir, sample_landmarks, tmp_path
):
    table = LandmarkTable.load(sample_landmarks)
    metrics = evaluate_model(load_model(trained_model_dir), table, tmp_path)
    with (tmp_path / "predictions.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["sequence", "end_frame", "true", "predicted", "confidence", "answer"]
    assert len(rows) == metrics["support"]
    first = rows[0]
    frames = table.frame[table.sequence == first["sequence"]]
    # The first window of a recording ends at its 30th frame (the sample has no gap there).
    assert int(first["end_frame"]) == int(np.sort(frames)[29])
    assert first["true"] == str(table.gesture[table.sequence == first["sequence"]][0])
    right = np.mean([r["true"] == r["predicted"] for r in rows])
    assert right == pytest.approx(metrics["accuracy"])
    assert all(0.0 < float(r["confidence"]) <= 1.0 for r in rows)
    # The answer is the predicted gesture when confident and no rule objects, else a state.
    answers = metrics["answers"]
    assert np.mean([r["answer"] == r["true"] for r in rows]) == pytest.approx(answers["right"])
    assert np.mean([r["answer"] == "uncertain" for r in rows]) == pytest.approx(
        answers["uncertain"]
    )
    for r in rows:
        if float(r["confidence"]) < 0.6:
            assert r["answer"] in ("uncertain", "not_gesture")
        elif r["answer"] != "not_gesture":
            assert r["answer"] == r["predicted"]


def test_live_predict_and_evaluate_agree_on_the_same_frames(
    trained_model_dir, sample_landmarks, leap_gesture_dirs, tmp_path
):
    from hand_gesture_recognition.cli import main as cli_main

    table = LandmarkTable.load(sample_landmarks)
    evaluate_model(load_model(trained_model_dir), table, tmp_path / "eval", threshold=0.0)
    with (tmp_path / "eval" / "predictions.csv").open() as handle:
        offline = {
            (r["sequence"], int(r["end_frame"])): r["answer"] for r in csv.DictReader(handle)
        }
    agree = total = 0
    for gesture in ("02_l", "06_index", "10_down"):
        sequence = f"00/{gesture}"
        frames = np.sort(table.frame[table.sequence == sequence])
        out = tmp_path / f"{gesture}.jsonl"
        args = ["predict", "--model", str(trained_model_dir), "--no-display"]
        args += ["--source", str(leap_gesture_dirs[gesture]), "--jsonl", str(out)]
        assert cli_main([*args, "--threshold", "0", "--smoothing", "1"]) == 0
        for line in out.read_text().splitlines():
            record = json.loads(line)
            key = (sequence, int(frames[record["frame"]]))
            if record["state"] in ("gesture", "not_gesture") and key in offline:
                total += 1
                agree += (record["label"] or record["state"]) == offline[key]
    # Each window answered the same way, rules included (smoothing off, no threshold).
    assert total > 250
    assert agree / total >= 0.95


def test_unknown_gestures_are_refused(trained_model_dir):
    table = make_table(gestures=("01_palm", "99_wave"))
    with pytest.raises(InputError, match="99_wave"):
        evaluate_model(load_model(trained_model_dir), table)


@pytest.mark.slow
def test_leave_one_subject_out_trains_a_model_per_subject(tmp_path):
    table = make_table(subjects=("a", "b", "c"), gestures=("x", "y", "z"), frames=45)
    config = RunConfig(
        preprocessing=PreprocessingConfig(sequence_length=10, window_stride=4),
        training=TrainingConfig(epochs=2, batch_size=64),
    )
    metrics = leave_one_subject_out(table, config, tmp_path, log=lambda _: None)
    assert [f["subject"] for f in metrics["folds"]] == ["a", "b", "c"]
    assert metrics["labels"] == ["x", "y", "z"]
    assert metrics["mean_accuracy"] == pytest.approx(
        np.mean([f["accuracy"] for f in metrics["folds"]])
    )
    assert metrics["protocol"]["split"] == "loso"
    assert json.loads((tmp_path / "metrics.json").read_text())["folds"]
    # Each fold's model is answered with the rules of its own training windows.
    answers = metrics["answers"]
    parts = ("right", "wrong", "uncertain", "rejected")
    assert sum(answers[k] for k in parts) == pytest.approx(1.0)
    with (tmp_path / "predictions.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == metrics["support"]
    assert np.mean([r["answer"] == r["true"] for r in rows]) == pytest.approx(answers["right"])
    # A right answer is a right prediction answered confidently, with no rule objecting.
    assert all(f["answered_right"] <= f["accuracy"] for f in metrics["folds"])
    for r in rows:
        assert r["answer"] in (r["predicted"], "uncertain", "not_gesture")
        if float(r["confidence"]) < Calibration().threshold:
            assert r["answer"] in ("uncertain", "not_gesture")
    # As train does, each fold's temperature is fitted on shifted copies of its own
    # validation windows.
    for fold in metrics["folds"]:
        assert fold["validation_windows"] > 0
        assert fold["calibrated_on"] == ShiftConfig().copies * fold["validation_windows"]
    with pytest.raises(InputError, match="at least 2 subjects"):
        leave_one_subject_out(make_table(subjects=("a",)), config)


# ---------------------------------------------------------------------------------------------
# Labelled photos.


@pytest.fixture
def photo_set(hagrid_sample, webcam_sample, tmp_path):
    """Real photos of other people: HaGRID fists and V signs, webcam stop signs (named as the
    gesture they show), and one unreadable file."""
    folder = tmp_path / "photos"
    chosen = {
        "fist": list_images(hagrid_sample / "fist")[:4],
        "01_palm": list_images(webcam_sample / "stop")[100:104],
        "peace": list_images(hagrid_sample / "peace")[:4],
    }
    for name, paths in chosen.items():
        (folder / name).mkdir(parents=True)
        for path in paths:
            shutil.copy(path, folder / name / path.name)
    (folder / "fist" / "broken.jpg").write_bytes(b"not a picture")
    return folder


def test_photos_are_answered_one_by_one_as_the_app_answers_them(
    trained_model_dir, photo_set, tmp_path
):
    labels = PhotoLabels(gestures=(("fist", "03_fist"),), reject=("peace",))
    with RealTimeGestureRecognizer(trained_model_dir) as recognizer:
        metrics = evaluate_photos(recognizer, photo_set, labels, tmp_path / "out", log=print)
    # The same photos answered one by one by a fresh recognizer, as the app's photo tab does.
    expected = {"fist": "03_fist", "01_palm": "01_palm", "peace": None}
    answers = {}
    with RealTimeGestureRecognizer(trained_model_dir) as recognizer:
        for name in sorted(expected):  # Sub-folders are answered in name order.
            for path in list_images(photo_set / name):
                image = read_image(path)
                if image is not None:
                    answers[path.name] = recognizer.classify_image(image)
    with (tmp_path / "out" / "photos.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["path"].rsplit("/", 1)[-1] for r in rows] == list(answers)
    for row in rows:
        said = answers[row["path"].rsplit("/", 1)[-1]]
        assert row["answer"] == (said.label if said.state == GESTURE else said.state)
        assert row["candidate"] == said.candidate
        assert float(row["confidence"]) == pytest.approx(said.confidence, abs=1e-6)
        assert row["expected"] == (expected[row["folder"]] or "no_gesture")
    for name, gesture in expected.items():
        folder = metrics["folders"][name]
        mine = [r for r in rows if r["folder"] == name]
        assert folder["photos"] == len(mine) == 4
        if gesture is None:
            assert folder["right"] == sum(
                r["answer"] in ("uncertain", "not_gesture", "no_hand") for r in mine
            )
        else:
            assert folder["right"] == sum(r["answer"] == gesture for r in mine)
            assert folder["most_likely_right"] == sum(r["candidate"] == gesture for r in mine)
    assert metrics["folders"]["fist"]["unreadable"] == 1
    # Another person's stop sign is the model's 01_palm (as in test_static_images).
    assert metrics["folders"]["01_palm"]["most_likely_right"] == 4
    totals = metrics["gesture_photos"]
    assert totals["photos"] == 8
    right = metrics["folders"]["fist"]["right"] + metrics["folders"]["01_palm"]["right"]
    assert totals["right"] == pytest.approx(right / 8)
    assert metrics["non_gesture_photos"]["rejected"] == pytest.approx(
        metrics["folders"]["peace"]["right"] / 4
    )
    assert json.loads((tmp_path / "out" / "metrics.json").read_text()) == json.loads(
        json.dumps(metrics)
    )


def test_photo_folders_must_say_what_they_show(trained_model_dir, photo_set):
    with RealTimeGestureRecognizer(trained_model_dir) as recognizer:
        with pytest.raises(InputError, match=r"fist: not a gesture of the model; .*--as fist="):
            evaluate_photos(recognizer, photo_set, PhotoLabels(reject=("peace",)))
        with pytest.raises(InputError, match="--as fist=99_wave: the model has no gesture"):
            evaluate_photos(recognizer, photo_set, PhotoLabels((("fist", "99_wave"),), ("peace",)))
        with pytest.raises(InputError, match="has no sub-folder 'none'"):
            evaluate_photos(recognizer, photo_set, PhotoLabels((("fist", "03_fist"),), ("none",)))
    with pytest.raises(InputError, match="both name the folder 'fist'"):
        PhotoLabels((("fist", "03_fist"),), ("fist",))
    with pytest.raises(InputError, match="--as fist=03_fist and fist=05_thumb: one gesture per"):
        PhotoLabels((("fist", "03_fist"), ("fist", "05_thumb")))
    assert (
        PhotoLabels((("fist", "03_fist"), ("fist", "03_fist"))).expected(
            photo_set / "fist", ["03_fist"]
        )
        == "03_fist"
    )
