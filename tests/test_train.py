import json
from dataclasses import replace

import numpy as np
import pytest

from hand_gesture_recognition.calibration import (
    REJECTION_LABEL,
    Calibration,
    finger_ranges,
    fit_temperature,
    window_downward,
)
from hand_gesture_recognition.cli import main
from hand_gesture_recognition.config import (
    FINGER_NAMES,
    AugmentationConfig,
    ModelConfig,
    PreprocessingConfig,
    RunConfig,
    TrainingConfig,
)
from hand_gesture_recognition.dataset import gesture_order
from hand_gesture_recognition.errors import InputError
from hand_gesture_recognition.evaluate import answer_metrics
from hand_gesture_recognition.landmark_file import LandmarkTable
from hand_gesture_recognition.model import (
    FRAMES_NAME,
    load_model,
    lstm_part,
    predict_probabilities,
    teacher_seed,
)
from hand_gesture_recognition.sequences import prepare_data, split_windows
from hand_gesture_recognition.train import (
    NO_PROBES_REASON,
    probe_inputs,
    rejection_rules,
    separation,
    train_model,
)


@pytest.mark.slow
def test_training_on_the_sample_learns_and_saves_a_reloadable_model(sample_landmarks, tmp_path):
    table = LandmarkTable.load(sample_landmarks)
    config = RunConfig(
        preprocessing=PreprocessingConfig(window_stride=2),
        augmentation=AugmentationConfig(copies=1),
        training=TrainingConfig(epochs=10, split="time", seed=1, early_stopping_patience=20),
    )
    out = tmp_path / "model"
    result = train_model(table, config, out, verbose=0)

    losses = result.history["loss"]
    assert len(losses) == 10 and losses[-1] < 0.7 * losses[0]
    assert result.metrics["accuracy"] >= 0.3  # 10 classes: chance is 0.1.
    for name in (
        "hand_gesture_lstm_model.h5",
        "gesture_mapping.json",
        "model_config.json",
        "metrics.json",
        "confusion_matrix.png",
        "reliability.png",
        "training_curves.png",
        "classification_report.txt",
    ):
        assert (out / name).stat().st_size > 0, name
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"accuracy", "macro_f1", "per_class", "protocol"} <= set(metrics)
    assert metrics["protocol"]["split"] == "time"
    saved = json.loads((out / "model_config.json").read_text())
    assert saved["preprocessing"]["sequence_length"] == 30
    assert saved["info"]["gestures"][0] == "01_palm"
    assert saved["info"]["versions"]["mediapipe"] == "0.10.21"
    assert saved["info"]["extraction"]["extractor"] == "auto"

    loaded = load_model(out)
    data = prepare_data(
        table, loaded.preprocessing, loaded.config.augmentation, loaded.config.training
    )
    np.testing.assert_array_equal(
        loaded.model(data.x_test, training=False).numpy(),
        result.model(data.x_test, training=False).numpy(),
    )
    # The saved model answers the mean of its LSTM's and its single-frame classifier's answers.
    assert saved["model"]["frame_units"] == [128, 64]
    lstm, frames = lstm_part(loaded.model), loaded.model.get_layer(FRAMES_NAME)
    assert lstm.name == "hand_gesture_lstm" and len(lstm.layers) == 16
    both = [part(data.x_test, training=False).numpy() for part in (lstm, frames)]
    np.testing.assert_allclose(
        loaded.model(data.x_test, training=False).numpy(), np.mean(both, axis=0), atol=1e-6
    )
    epochs = metrics["training"]["frame_classifier"]["epochs_run"]
    assert epochs == len(result.history["frames_loss"]) and epochs >= 1
    # The single-frame part is five classifiers joined into one softmax of their mean logits.
    assert saved["model"]["frame_members"] == 5
    dense = [layer.units for layer in frames.layers if hasattr(layer, "units")]
    assert sorted(dense) == [10] + [64] * 5 + [128] * 5
    assert frames.layers[-2].name == "mean_logits"
    # Each part carries its own temperature fitted on the shifted validation windows: fitted
    # again, it is 1.
    assert metrics["training"]["part_temperatures"] == {
        "lstm": result.history["temperature"][0],
        "frame_classifier": result.history["frames_temperature"][0],
    }
    n, length, width = data.x_shifted.shape
    per_frame = frames(data.x_shifted.reshape(-1, 1, width), training=False).numpy()
    refitted = (
        fit_temperature(lstm(data.x_shifted, training=False).numpy(), data.y_shifted),
        fit_temperature(per_frame.reshape(n, length, -1), data.y_shifted),
    )
    # A part whose fit reached the lower bound (0.05) wanted a temperature under 0.05: scaled
    # by 0.05, its fit is that over 0.05, under 1; every other part is calibrated (fitted
    # again, 1).
    first = (result.history["temperature"][0], result.history["frames_temperature"][0])
    for fitted, again in zip(first, refitted, strict=True):
        if fitted <= 0.05 + 1e-6:
            assert again < 1.0 - 1e-3
        else:
            assert again == pytest.approx(1.0, abs=1e-3)
    # Their mean is underconfident, as an average of calibrated parts is: the model's own
    # temperature is its fit, sharpening or not.
    final = Calibration.load(out)
    assert final.temperature == final.fitted_temperature
    # The test windows are also answered as live use answers them, with the saved rules.
    _, _, test, _ = split_windows(table, loaded.preprocessing, loaded.config.training)
    answers = final.answer(
        predict_probabilities(loaded.model, data.x_test), test.windows, test.aspect, data.gestures
    )
    assert metrics["answers"] == pytest.approx(
        answer_metrics(answers, test.labels, data.gestures, final.threshold)
    )
    assert metrics["answers"]["right"] <= metrics["accuracy"]
    assert set(metrics["slices"]["gesture"]) == set(data.gestures)
    assert final.temperature == pytest.approx(
        fit_temperature(loaded.model(data.x_shifted, training=False).numpy(), data.y_shifted),
        abs=1e-3,
    )
    # The single-frame classifier alone already reads the later frames of each recording.
    assert (both[1].argmax(axis=1) == data.y_test).mean() >= 0.8


def test_the_single_frame_classifier_ignores_the_order_of_the_frames(
    trained_model_dir, sample_landmarks
):
    loaded = load_model(trained_model_dir)
    frames = loaded.model.get_layer(FRAMES_NAME)
    data = prepare_data(
        LandmarkTable.load(sample_landmarks),
        loaded.preprocessing,
        loaded.config.augmentation,
        loaded.config.training,
    )
    x = data.x_test[:8]
    shuffled = x[:, np.random.default_rng(1).permutation(x.shape[1])]
    np.testing.assert_allclose(
        frames(x, training=False).numpy(), frames(shuffled, training=False).numpy(), atol=1e-6
    )
    # A window of one frame held for 30 frames (a photo) gets that frame's own answer.
    held = np.repeat(x[:, :1], x.shape[1], axis=1)
    np.testing.assert_allclose(
        frames(held, training=False).numpy(), frames(x[:, :1], training=False).numpy(), atol=1e-6
    )


def test_a_model_without_frame_units_is_the_original_lstm(sample_landmarks, tmp_path):
    table = LandmarkTable.load(sample_landmarks)
    config = RunConfig(
        preprocessing=PreprocessingConfig(window_stride=6),
        augmentation=AugmentationConfig(copies=0),
        model=ModelConfig(frame_units=()),
        training=TrainingConfig(epochs=1, split="time", seed=2),
    )
    result = train_model(table, config, tmp_path / "model", verbose=0)
    assert result.model.name == "hand_gesture_lstm" and lstm_part(result.model) is result.model
    assert "frames_loss" not in result.history
    assert "frame_classifier" not in result.metrics["training"]
    # A single LSTM's temperature never sharpens (its fit is kept beside it).
    calibration = Calibration(**result.metrics["calibration"])
    assert calibration.temperature == max(1.0, calibration.fitted_temperature)


def test_an_existing_model_is_not_overwritten(tmp_path, sample_landmarks):
    out = tmp_path / "model"
    out.mkdir()
    (out / "hand_gesture_lstm_model.h5").write_bytes(b"precious")
    table = LandmarkTable.load(sample_landmarks)
    with pytest.raises(InputError, match="--force"):
        train_model(table, RunConfig(training=TrainingConfig(epochs=1)), out)
    assert (out / "hand_gesture_lstm_model.h5").read_bytes() == b"precious"


def test_finetuning_starts_from_the_base_weights(trained_model_dir):
    from dataclasses import replace

    from hand_gesture_recognition.config import FinetuneConfig
    from hand_gesture_recognition.model import finetune_model

    base = load_model(trained_model_dir)
    gestures = ["01_palm", "my_wave", "10_down"]
    config = replace(base.config, training=TrainingConfig(seed=3))
    model = finetune_model(base, gestures, config, FinetuneConfig(freeze="lstm"))
    for old, new in zip(lstm_part(base.model).layers[:-1], model.layers[:-1], strict=True):
        for a, b in zip(old.get_weights(), new.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
    kernel, bias = model.layers[-1].get_weights()
    old_kernel, old_bias = lstm_part(base.model).layers[-1].get_weights()
    assert kernel.shape == (old_kernel.shape[0], 3)
    for new_index, old_index in ((0, 0), (2, 9)):  # 01_palm and 10_down keep theirs.
        np.testing.assert_array_equal(kernel[:, new_index], old_kernel[:, old_index])
        assert bias[new_index] == old_bias[old_index]
    assert not any(np.allclose(kernel[:, 1], old_kernel[:, i]) for i in range(10))
    # The LSTM block (three LSTMs with their normalisation and dropout) is frozen.
    assert [layer.trainable for layer in model.layers] == [False] * 9 + [True] * 7
    unfrozen = finetune_model(base, gestures, config, FinetuneConfig(freeze="none"))
    assert all(layer.trainable for layer in unfrozen.layers)


def test_finetuning_keeps_the_base_preprocessing():
    from dataclasses import replace

    from helpers import make_table

    from hand_gesture_recognition.train import base_preprocessing, check_data_fits

    base = RunConfig(
        preprocessing=PreprocessingConfig(feature_mode="normalized", extractor="infrared")
    )
    kept = base_preprocessing(base, "base", {"feature_mode": None, "missing": "window"}, 3)
    assert kept == replace(base.preprocessing, window_stride=3)
    with pytest.raises(InputError, match="--features canonical: the base model --init base"):
        base_preprocessing(base, "base", {"feature_mode": "canonical"}, None)

    table = make_table()
    check_data_fits(table, "mine.npz", kept)  # No extraction settings: your own recordings.
    table.meta = {"extractor": {"extractor": "auto"}}
    check_data_fits(table, "mine.npz", kept)
    table.meta = {"extractor": {"extractor": "mediapipe"}}
    with pytest.raises(InputError, match="mine.npz: landmarks extracted with the 'mediapipe'"):
        check_data_fits(table, "mine.npz", kept)
    table.meta = {"preprocessing": {"feature_mode": "canonical", "window_stride": 5}}
    with pytest.raises(InputError, match="mine.npz: recorded for preprocessing feature_mode"):
        check_data_fits(table, "mine.npz", kept)


def test_takes_config_keeps_the_base_design_for_both_models():
    from dataclasses import replace

    from hand_gesture_recognition.config import FinetuneConfig, ModelConfig
    from hand_gesture_recognition.train import takes_config

    base = RunConfig(
        preprocessing=PreprocessingConfig(window_stride=3, feature_mode="normalized"),
        augmentation=AugmentationConfig(copies=1),
        model=ModelConfig(lstm_units=(32, 16), dense_units=(16,)),
        training=TrainingConfig(epochs=80, split="time", learning_rate=5e-3, batch_size=64),
        info={"gestures": ["01_palm", "02_l"]},
    )
    finetuned = takes_config(base, FinetuneConfig(learning_rate=1e-4, epochs=12), seed=5)
    fresh = takes_config(base, None, seed=5)
    for config in (finetuned, fresh):
        assert config.preprocessing == replace(base.preprocessing, window_stride=1)
        assert config.augmentation == base.augmentation and config.model == base.model
        assert config.training.split == "none" and config.training.seed == 5
        assert config.training.batch_size == 32 and config.info == {}
    assert (finetuned.training.epochs, finetuned.training.learning_rate) == (12, 1e-4)
    assert (fresh.training.epochs, fresh.training.learning_rate) == (100, 1e-3)
    given = takes_config(base, None, epochs=7, split="recording", preprocessing=base.preprocessing)
    assert given.training.epochs == 7 and given.training.split == "recording"
    assert given.preprocessing.window_stride == 3


def test_held_out_takes_of_a_gesture_not_trained_on_are_refused_first(webcam_takes, tmp_path):
    from hand_gesture_recognition.record import keep_sequences
    from hand_gesture_recognition.train import compare_with_scratch

    stop = keep_sequences(webcam_takes, webcam_takes.gesture == "stop")
    with pytest.raises(InputError, match="takes to train on lack: thumbs_up"):
        compare_with_scratch(stop, webcam_takes, tmp_path / "no-base", tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_finetuning_and_a_fresh_model_on_the_same_takes(trained_model_dir, webcam_takes, tmp_path):
    from hand_gesture_recognition.config import FinetuneConfig
    from hand_gesture_recognition.evaluate import evaluate_model
    from hand_gesture_recognition.record import split_takes
    from hand_gesture_recognition.storage import file_digest
    from hand_gesture_recognition.train import FINETUNED, SCRATCH, compare_with_scratch

    tuning, held = split_takes(webcam_takes, keep=3)
    out = tmp_path / "mine"
    comparison = compare_with_scratch(tuning, held, trained_model_dir, out, epochs=3, seed=42)

    finetuned, scratch = comparison.results[FINETUNED], comparison.results[SCRATCH]
    for name in (
        "hand_gesture_lstm_model.h5",
        "gesture_mapping.json",
        "model_config.json",
        "metrics.json",
        "calibration.json",
    ):
        assert (out / name).stat().st_size > 0, name
    saved = json.loads((out / "model_config.json").read_text())
    lineage = saved["info"]["finetuned_from"]
    assert lineage["path"] == str(trained_model_dir.resolve())
    assert lineage["model_sha256"] == file_digest(trained_model_dir / "hand_gesture_lstm_model.h5")
    assert len(lineage["gestures"]) == 10 and lineage["gestures"][0] == "01_palm"
    assert lineage["freeze"] == FinetuneConfig().freeze
    assert saved["training"]["epochs"] == 3 and saved["training"]["split"] == "none"
    assert json.loads((out / "gesture_mapping.json").read_text()) == {"stop": 0, "thumbs_up": 1}
    assert json.loads((out / "metrics.json").read_text())["test"] is None
    # The fresh model: the same settings, no base and no directory.
    assert scratch.out_dir is None and "finetuned_from" not in scratch.config.info
    assert scratch.config.training == finetuned.config.training
    assert scratch.config.preprocessing == finetuned.config.preprocessing
    assert scratch.gestures == finetuned.gestures == ["stop", "thumbs_up"]

    # Both are tested on every window of the two held-out takes of each gesture: 36 - 29 = 7
    # windows per take. The stop and thumbs_up takes are easy: both models get them all.
    for name in (FINETUNED, SCRATCH):
        metrics = comparison.held_out[name]
        assert metrics["support"] == 2 * 2 * 7
        assert metrics["confusion_matrix"] == [[14, 0], [0, 14]], name
    rows = {row["model"]: row for row in comparison.summary()}
    assert list(rows) == [FINETUNED, SCRATCH]
    assert rows[FINETUNED]["held-out accuracy"] == 1.0 and rows[SCRATCH]["held-out windows"] == 28
    assert rows[FINETUNED]["epochs"] == 3 and rows[SCRATCH]["seconds"] > 0
    # The directory holds the model that was tested.
    reloaded = evaluate_model(load_model(out), held)
    assert reloaded["confusion_matrix"] == comparison.held_out[FINETUNED]["confusion_matrix"]


def test_a_model_trained_with_teachers_records_them(sample_landmarks, tmp_path):
    table = LandmarkTable.load(sample_landmarks)
    config = RunConfig(
        preprocessing=PreprocessingConfig(window_stride=4),
        augmentation=AugmentationConfig(copies=1),
        training=TrainingConfig(epochs=2, split="time", seed=5, teachers=2),
    )
    out = tmp_path / "model"
    result = train_model(table, config, out, verbose=0)

    teachers = json.loads((out / "metrics.json").read_text())["training"]["teachers"]
    assert teachers["count"] == 2 and teachers["epochs_run"] == [2, 2]
    saved = json.loads((out / "model_config.json").read_text())
    assert saved["training"]["teachers"] == 2
    data = prepare_data(table, config.preprocessing, config.augmentation, config.training)
    np.testing.assert_array_equal(
        load_model(out).model(data.x_test, training=False).numpy(),
        result.model(data.x_test, training=False).numpy(),
    )


def test_candidates_keep_the_model_that_best_tells_gestures_from_non_gestures(
    sample_landmarks, tmp_path, capsys
):
    out = tmp_path / "model"
    argv = ["train", "--landmarks", str(sample_landmarks), "--split", "time", "--epochs", "3"]
    argv += ["--stride", "4", "--seed", "5", "--candidates", "2", "--out", str(out)]
    assert main(argv) == 0

    chosen = json.loads((out / "metrics.json").read_text())["training"]["candidates"]
    models = chosen["models"]
    assert [m["seed"] for m in models] == [5, teacher_seed(5, 0)]
    assert [m["epochs_run"] for m in models] == [3, 3]
    scores = [m["score"] for m in models]
    assert scores[0] != scores[1]
    assert chosen["chosen_seed"] == models[int(np.argmax(scores))]["seed"]
    assert f"kept seed {chosen['chosen_seed']} of 2 candidates" in capsys.readouterr().out
    # What was saved is the chosen candidate with its own calibration: its score again.
    table = LandmarkTable.load(sample_landmarks)
    config = RunConfig.load(out / "model_config.json")
    assert config.training.candidates == 2
    loaded = load_model(out)
    calibration = Calibration.load(out)
    data = prepare_data(table, config.preprocessing, config.augmentation, config.training)
    again = separation(
        calibration.apply(predict_probabilities(loaded.model, data.x_val)),
        calibration.apply(predict_probabilities(loaded.model, probe_inputs(data, config))),
    )
    assert again == pytest.approx(max(scores), abs=1e-3)


def test_candidates_of_gestures_with_the_same_fingers_train_one_model(
    sample_landmarks, tmp_path, capsys
):
    # A palm held still and a palm moving have the same extended fingers: no transplant of one
    # is unlike both, so nothing can score candidates, and one model is trained, not three.
    table = LandmarkTable.load(sample_landmarks)
    table.subset(np.isin(table.gesture, ["01_palm", "08_palm_moved"])).save(tmp_path / "p.npz")
    argv = ["train", "--landmarks", str(tmp_path / "p.npz"), "--split", "time", "--epochs", "2"]
    argv += ["--stride", "4", "--seed", "3", "--candidates", "3", "--out", str(tmp_path / "m")]
    assert main(argv) == 0
    assert f"candidates: {NO_PROBES_REASON}\n" in capsys.readouterr().out
    assert json.loads((tmp_path / "m" / "metrics.json").read_text())["training"]["candidates"] == {
        "chosen_seed": 3,
        "models": [{"seed": 3, "epochs_run": 2, "score": None}],
        "note": NO_PROBES_REASON,
    }


def prepared(table: LandmarkTable, config: RunConfig):
    """The split of ``table`` (no augmented copies: the rules read only the windows)."""
    augmentation = replace(config.augmentation, copies=0)
    return prepare_data(table, config.preprocessing, augmentation, config.training)


def test_the_rejection_rules_are_set_from_the_gestures_not_from_the_none_poses(
    sample_landmarks,
):
    table = LandmarkTable.load(sample_landmarks)
    fists = table.gesture == "03_fist"
    hanging = table.landmarks.copy()
    hanging[fists, :, 1] = 1.0 - hanging[fists, :, 1]  # the fists held upside down
    as_gesture = replace(table, landmarks=hanging)
    as_none = replace(as_gesture, gesture=np.where(fists, REJECTION_LABEL, table.gesture))
    config = RunConfig(
        preprocessing=PreprocessingConfig(window_stride=3),
        training=TrainingConfig(split="time", seed=0),
    )
    gestures = gesture_order(as_none.gestures)
    # Hands hanging down recorded as "none" teach the rule nothing: the sample's gestures all
    # point up, so it starts the margin below the horizontal.
    rules = rejection_rules(prepared(as_none, config), config)
    assert rules.max_downward == pytest.approx(0.25)
    # The "none" poses get no finger range; 06_index has the fists' middle finger, which its
    # training windows take (the default finger_donors).
    assert REJECTION_LABEL not in rules.finger_ranges
    assert sorted(rules.finger_ranges) == [g for g in gestures if g != REJECTION_LABEL]
    # Recorded as a gesture, they move the limit to the margin below the lowest of them.
    gestures = gesture_order(as_gesture.gestures)
    train, val, _, _ = split_windows(as_gesture, config.preprocessing, config.training, gestures)
    lowest = max(
        window_downward(part.windows, part.aspect)[part.labels == gestures.index("03_fist")].max()
        for part in (train, val)
    )
    assert lowest > 0.5
    rules = rejection_rules(prepared(as_gesture, config), config)
    assert rules.max_downward == pytest.approx(lowest + 0.25)
    middle = FINGER_NAMES.index("middle")
    index_range = np.array(rules.finger_ranges["06_index"])
    fist_range = np.array(rules.finger_ranges["03_fist"])
    np.testing.assert_array_equal(index_range[:, middle], fist_range[:, middle])
    as_extracted = finger_ranges([train, val], gestures)["06_index"]
    assert np.array(as_extracted)[1, middle] > 0.8 > index_range[1, middle]
