import json

import numpy as np
import pytest

from hand_gesture_recognition.config import (
    AugmentationConfig,
    PreprocessingConfig,
    RunConfig,
    TrainingConfig,
)
from hand_gesture_recognition.errors import InputError
from hand_gesture_recognition.landmark_file import LandmarkTable
from hand_gesture_recognition.model import load_model
from hand_gesture_recognition.sequences import prepare_data
from hand_gesture_recognition.train import train_model


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
    for old, new in zip(base.model.layers[:-1], model.layers[:-1], strict=True):
        for a, b in zip(old.get_weights(), new.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
    kernel, bias = model.layers[-1].get_weights()
    old_kernel, old_bias = base.model.layers[-1].get_weights()
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
