"""The LSTM classifier, its artifacts on disk, and a fast predictor for single windows.

A model directory holds ``hand_gesture_lstm_model.h5`` and ``gesture_mapping.json``
(``{"01_palm": 0, ...}``, the original project's form) and, for models trained here,
``model_config.json``. A directory without it (a model the original project published) is
read with the original's preprocessing: raw coordinates, missing frames as zeros.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .config import (
    CONFIG_FILE,
    MAPPING_FILE,
    METRICS_FILE,
    MODEL_FILE,
    ModelConfig,
    PreprocessingConfig,
    RunConfig,
    read_json,
    write_json_atomic,
)
from .errors import InputError
from .features import NUM_FEATURES
from .storage import MANIFEST_FILE, OutputLock, verify_file_set, write_file_set

#: Every file a model directory's set may hold; a new set replaces all of them.
MODEL_SET_FILES = (
    MODEL_FILE,
    MAPPING_FILE,
    CONFIG_FILE,
    METRICS_FILE,
    "classification_report.txt",
    "confusion_matrix.png",
    "training_curves.png",
)
#: The original project's model input: 30 frames of 63 raw coordinates.
LEGACY_INPUT_SHAPE = (30, NUM_FEATURES)


def build_model(
    num_classes: int,
    sequence_length: int = 30,
    config: ModelConfig | None = None,
    learning_rate: float = 1e-3,
    num_features: int = NUM_FEATURES,
):
    """Builds and compiles the stacked-LSTM classifier.

    Each LSTM layer is followed by batch normalisation and dropout, then come dense ReLU layers
    (each with batch normalisation and dropout) and a softmax over the gestures.

    Args:
        num_classes: Number of gestures.
        sequence_length: Frames per window.
        config: Layer sizes and dropout (the original project's by default).
        learning_rate: Adam's learning rate.
        num_features: Features per frame.

    Returns:
        A compiled ``keras.Sequential`` model.
    """
    import keras
    from keras import layers

    config = config or ModelConfig()
    model = keras.Sequential(name="hand_gesture_lstm")
    model.add(keras.Input(shape=(sequence_length, num_features)))
    for i, units in enumerate(config.lstm_units):
        model.add(layers.LSTM(units, return_sequences=i < len(config.lstm_units) - 1))
        model.add(layers.BatchNormalization())
        model.add(layers.Dropout(config.dropout))
    for units in config.dense_units:
        model.add(layers.Dense(units, activation="relu"))
        model.add(layers.BatchNormalization())
        model.add(layers.Dropout(config.dropout))
    model.add(layers.Dense(num_classes, activation="softmax"))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


@dataclass
class LoadedModel:
    """A classifier with its gesture names and the settings to preprocess its inputs."""

    model: Any
    gestures: list[str]
    config: RunConfig
    directory: Path | None = None

    @property
    def preprocessing(self) -> PreprocessingConfig:
        """How frames must be turned into this model's inputs."""
        return self.config.preprocessing

    @property
    def mapping(self) -> dict[str, int]:
        """The gesture mapping in the original project's form."""
        return {g: i for i, g in enumerate(self.gestures)}


def legacy_config() -> RunConfig:
    """Settings that reproduce the original project's preprocessing (no config file)."""
    return RunConfig(
        preprocessing=PreprocessingConfig(
            feature_mode="raw", missing="zero", extractor="mediapipe", max_missing_fraction=1.0
        ),
        info={"legacy": True},
    )


def read_mapping(source: str | os.PathLike | dict[str, int]) -> list[str]:
    """Reads a gesture mapping (``{"01_palm": 0, ...}``) into names ordered by class index.

    Args:
        source: A mapping dict or the path of ``gesture_mapping.json``.

    Returns:
        Gesture names, index ``i`` holding the name of class ``i``.

    Raises:
        InputError: If the mapping is missing or its indices are not 0..n-1.
    """
    mapping = read_json(source) if not isinstance(source, dict) else source
    where = source if not isinstance(source, dict) else "gesture mapping"
    if not isinstance(mapping, dict) or not mapping:
        raise InputError(f'{where}: expected a JSON object like {{"01_palm": 0, ...}}')
    bad = [k for k, v in mapping.items() if isinstance(v, bool) or not isinstance(v, int)]
    if bad:
        raise InputError(
            f"{where}: class indices must be whole numbers; {bad[0]!r} has {mapping[bad[0]]!r}"
        )
    indices = {str(k): v for k, v in mapping.items()}
    if sorted(indices.values()) != list(range(len(indices))):
        raise InputError(f"{where}: class indices must be 0..{len(indices) - 1}, each once")
    return sorted(indices, key=indices.get)


def load_model(
    model_path: str | os.PathLike,
    gesture_mapping: str | os.PathLike | dict[str, int] | None = None,
) -> LoadedModel:
    """Loads a classifier from a model directory or an ``.h5`` file.

    Args:
        model_path: A model directory, or the ``.h5`` file (its folder then supplies the
            mapping and config unless given).
        gesture_mapping: A mapping dict or ``gesture_mapping.json`` path; by default the one
            beside the model.

    Returns:
        The model, its gestures and its preprocessing settings.

    Raises:
        InputError: If a file is missing or the mapping does not match the model.
    """
    path = Path(model_path)
    if path.is_dir():
        directory, h5 = path, path / MODEL_FILE
    else:
        directory, h5 = path.parent, path
    if not h5.is_file():
        raise InputError(f"{h5}: model file not found (expected {MODEL_FILE})")
    if gesture_mapping is None:
        gesture_mapping = directory / MAPPING_FILE
        if not gesture_mapping.is_file():
            raise InputError(f"{directory}: no {MAPPING_FILE} beside the model")
    gestures = read_mapping(gesture_mapping)
    config_path = directory / CONFIG_FILE
    legacy = not config_path.is_file()
    if legacy and any((directory / name).is_file() for name in (METRICS_FILE, MANIFEST_FILE)):
        raise InputError(
            f"{config_path}: missing beside a model trained by this project (it has "
            f"{METRICS_FILE}); its preprocessing is unknown, so it cannot be used"
        )
    config = legacy_config() if legacy else RunConfig.load(config_path)

    import keras

    try:
        model = keras.models.load_model(h5, compile=False)
    except Exception as error:  # noqa: BLE001 - any failure means "not a usable model".
        raise InputError(f"{h5}: not a loadable Keras model ({error})") from None
    outputs = int(model.outputs[0].shape[-1])
    if outputs != len(gestures):
        raise InputError(
            f"{gesture_mapping}: the mapping has {len(gestures)} gestures but the model "
            f"outputs {outputs} classes"
        )
    expected = (config.preprocessing.sequence_length, NUM_FEATURES)
    if legacy and tuple(model.inputs[0].shape[1:]) != LEGACY_INPUT_SHAPE:
        raise InputError(
            f"{config_path}: missing, and the model's input shape "
            f"{tuple(model.inputs[0].shape[1:])} is not the original project's "
            f"{LEGACY_INPUT_SHAPE}; its preprocessing is unknown"
        )
    if tuple(model.inputs[0].shape[1:]) != expected:
        raise InputError(
            f"{h5}: model input shape {tuple(model.inputs[0].shape[1:])}, expected {expected}"
        )
    # Last, so that a specific complaint (a mapping that does not fit) comes first.
    verify_file_set(directory)
    return LoadedModel(model, gestures, config, directory)


def save_model(
    directory: str | os.PathLike,
    model: Any,
    gestures: list[str],
    config: RunConfig,
    lock: OutputLock | None = None,
) -> None:
    """Writes the model, its mapping and its settings into ``directory`` as one file set.

    The old model files (see :data:`MODEL_SET_FILES`) are replaced together or not at all
    (see :func:`~hand_gesture_recognition.storage.write_file_set`).

    Args:
        directory: The model directory.
        model: The Keras model.
        gestures: Gesture names in class-index order.
        config: The settings saved beside the model.
        lock: The directory's lock when the caller holds it already.
    """
    write_file_set(
        directory,
        lambda staging: write_model_files(staging, model, gestures, config),
        replaces=MODEL_SET_FILES,
        lock=lock,
    )


def write_model_files(directory: Path, model: Any, gestures: list[str], config: RunConfig) -> None:
    """Writes the model, mapping and settings files into a (staging) folder."""
    model.save(directory / MODEL_FILE)
    write_json_atomic(directory / MAPPING_FILE, {g: i for i, g in enumerate(gestures)})
    config.save(directory / CONFIG_FILE)


class FastClassifier:
    """Runs a Keras classifier on windows without ``model.predict``'s per-call overhead.

    ``model.predict`` builds a data pipeline on every call (tens of milliseconds), and even a
    compiled Keras call costs a few milliseconds per window. Single windows, the real-time
    case, go through a TensorFlow Lite conversion of the model (weights frozen into
    constants, fused LSTM kernels) run by the interpreter on one thread, which gives the
    Keras model's outputs to float rounding in well under a millisecond. Batches go through
    one traced TensorFlow function. Both are built on first use; if the conversion fails (an
    unusual model), single windows use the traced function too.

    Args:
        model: A Keras model with input ``(None, L, F)``.
        use_tflite: Convert the model for single windows (False: traced function only).
    """

    def __init__(self, model: Any, use_tflite: bool = True) -> None:
        self.model = model
        length, features = (int(d) for d in model.inputs[0].shape[1:])
        self.input_shape = (length, features)
        self._use_tflite = use_tflite
        self._function = None
        self._interpreter = None
        self._tflite_error: str | None = None

    @property
    def backend(self) -> str:
        """``tflite`` when single windows run on the converted model, else ``tf.function``."""
        if self._use_tflite and self._interpreter is None and self._tflite_error is None:
            self._build_interpreter()
        return "tflite" if self._interpreter is not None else "tf.function"

    def _traced(self):
        if self._function is None:
            import tensorflow as tf

            model = self.model
            self._function = tf.function(
                lambda x: model(x, training=False),
                input_signature=[tf.TensorSpec((None, *self.input_shape), tf.float32)],
                reduce_retracing=True,
            )
        return self._function

    def _build_interpreter(self) -> None:
        try:
            self._interpreter = _tflite_interpreter(self.model, self.input_shape)
        except Exception as error:  # noqa: BLE001 - any failure falls back to TensorFlow.
            self._tflite_error = f"{type(error).__name__}: {error}"
            self._interpreter = None

    def predict(self, windows: np.ndarray) -> np.ndarray:
        """Class probabilities of ``(n, L, F)`` windows (or one ``(L, F)`` window).

        Raises:
            InputError: If the windows do not have the model's input shape.
        """
        x = np.asarray(windows, dtype=np.float32)
        single = x.ndim == 2
        if single:
            x = x[None]
        if x.ndim != 3 or x.shape[1:] != self.input_shape:
            raise InputError(f"windows must have shape (n, {self.input_shape}), got {x.shape}")
        if len(x) == 1 and self._use_tflite:
            if self._interpreter is None and self._tflite_error is None:
                self._build_interpreter()
            if self._interpreter is not None:
                probabilities = self._interpreter(np.ascontiguousarray(x))
                return probabilities[0].copy() if single else probabilities.copy()
        probabilities = self._traced()(x).numpy()
        return probabilities[0] if single else probabilities


def _tflite_interpreter(model: Any, input_shape: tuple[int, int]):
    """Converts a Keras model for batches of one window; returns ``x -> probabilities``.

    The variables are frozen into constants first: the converter cannot otherwise resolve
    a Keras 3 model's resource variables, and ``from_keras_model`` cannot lower its LSTM loop.
    """
    import warnings

    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    function = tf.function(
        lambda x: model(x, training=False),
        input_signature=[tf.TensorSpec((1, *input_shape), tf.float32)],
    )
    frozen = convert_variables_to_constants_v2(function.get_concrete_function())
    payload = tf.lite.TFLiteConverter.from_concrete_functions([frozen]).convert()
    with warnings.catch_warnings():
        # tf.lite.Interpreter warns that it moves to the ai_edge_litert package in TF 2.20.
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_content=payload, num_threads=1)
    interpreter.allocate_tensors()
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]

    def run(x: np.ndarray) -> np.ndarray:
        interpreter.set_tensor(input_index, x)
        interpreter.invoke()
        return interpreter.get_tensor(output_index)

    return run
