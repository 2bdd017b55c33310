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
