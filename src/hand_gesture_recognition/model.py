"""The classifier (an LSTM with a single-frame classifier beside it), its files, its runners.

A model directory holds ``hand_gesture_lstm_model.h5`` and ``gesture_mapping.json``
(``{"01_palm": 0, ...}``, the original project's form) and, for models trained here,
``model_config.json`` and the exports ``model.onnx`` (ONNX Runtime) and ``model.tflite``
(LiteRT), whose outputs equal the Keras model's. A directory without the config (a model the
original project published) is read with the original's preprocessing: raw coordinates,
missing frames as zeros.

Two loaders: :func:`load_model` gives the Keras model (training, evaluation; needs the
``train`` extra) and :func:`load_classifier` an export (inference; no TensorFlow):
``model.onnx`` on ONNX Runtime, else ``model.tflite`` on LiteRT. A directory with only the
original project's ``.h5`` is converted to LiteRT once, where Keras is installed, and the
conversion is cached under :func:`default_cache_dir` by the ``.h5``'s content hash.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .calibration import CALIBRATION_FILE, Calibration, calibrate, fit_temperature
from .config import (
    CONFIG_FILE,
    MAPPING_FILE,
    METRICS_FILE,
    MODEL_FILE,
    ONNX_FILE,
    RELIABILITY_FILE,
    TFLITE_FILE,
    FinetuneConfig,
    ModelConfig,
    PreprocessingConfig,
    RunConfig,
    TrainingConfig,
    read_json,
    write_bytes_atomic,
    write_json_atomic,
)
from .errors import InputError
from .features import NUM_FEATURES
from .litert import LiteRTRunner
from .onnx_runtime import OnnxRunner
from .sequences import SplitData
from .storage import MANIFEST_FILE, OutputLock, verify_file_set, write_file_set

#: How a user gets Keras and TensorFlow, in error messages.
TRAIN_INSTALL_HINT = (
    "the training install: 'uv sync' in the project, "
    "or pip install 'hand-gesture-recognition[train]'"
)
#: Every file a model directory's set may hold; a new set replaces all of them.
MODEL_SET_FILES = (
    MODEL_FILE,
    TFLITE_FILE,
    ONNX_FILE,
    MAPPING_FILE,
    CONFIG_FILE,
    CALIBRATION_FILE,
    METRICS_FILE,
    "classification_report.txt",
    "confusion_matrix.png",
    RELIABILITY_FILE,
    "training_curves.png",
)
#: The files that name a model (with its directory).
MODEL_SUFFIXES = (".h5", ".onnx", ".tflite")
#: The original project's model input: 30 frames of 63 raw coordinates.
LEGACY_INPUT_SHAPE = (30, NUM_FEATURES)
#: Layer names of the parts of a model with a single-frame classifier (:func:`fuse`).
LSTM_NAME, FRAMES_NAME, FUSED_NAME = "hand_gesture_lstm", "frame_classifier", "fused"
#: Every how many frames of a training window the single-frame classifier learns from, and
#: how many frames make one of its batches.
FRAME_STEP, FRAME_BATCH = 3, 256


def build_model(
    num_classes: int,
    sequence_length: int = 30,
    config: ModelConfig | None = None,
    learning_rate: float = 1e-3,
    num_features: int = NUM_FEATURES,
    loss: str = "sparse_categorical_crossentropy",
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
        loss: Keras loss: class indices as targets by default, ``categorical_crossentropy``
            for probabilities (:func:`distil`).

    Returns:
        A compiled ``keras.Sequential`` model.
    """
    import keras
    from keras import layers

    config = config or ModelConfig()
    model = keras.Sequential(name=LSTM_NAME)
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
        loss=loss,
        metrics=["accuracy"],
    )
    return model


def build_frame_model(
    num_classes: int,
    config: ModelConfig,
    learning_rate: float = 1e-3,
    num_features: int = NUM_FEATURES,
    loss: str = "sparse_categorical_crossentropy",
):
    """Builds and compiles the single-frame classifier of :attr:`ModelConfig.frame_units`.

    Dense ReLU layers and a softmax applied to every frame of its input, then the mean of the
    frames' probabilities: trained on windows of one frame, it answers a window of any
    length with its frames' average answer.

    Args:
        num_classes: Number of gestures.
        config: The architecture (``frame_units``: the hidden layers).
        learning_rate: Adam's learning rate.
        num_features: Features per frame.
        loss: Keras loss (``categorical_crossentropy`` for probabilities as targets).

    Returns:
        A compiled ``keras.Sequential`` model with input ``(None, None, num_features)``.
    """
    import keras
    from keras import layers

    model = keras.Sequential(name=FRAMES_NAME)
    model.add(keras.Input(shape=(None, num_features)))
    for units in config.frame_units:
        model.add(layers.Dense(units, activation="relu"))
    model.add(layers.Dense(num_classes, activation="softmax"))
    model.add(layers.GlobalAveragePooling1D())
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    return model


def fuse(lstm: Any, frames: Any):
    """One model answering the mean of the LSTM's and the single-frame classifier's answers.

    Averaging two classifiers that err differently (a deep ensemble of unlike members) keeps
    the cost of one LSTM: the frame classifier is a few small matrix products per frame.

    Args:
        lstm: The trained LSTM classifier, input ``(None, L, F)``.
        frames: The trained :func:`build_frame_model`.

    Returns:
        A Keras model with the LSTM's input and output shapes.
    """
    import keras
    from keras import layers

    windows = keras.Input(shape=tuple(int(d) for d in lstm.inputs[0].shape[1:]), name="windows")
    answer = layers.Average(name=FUSED_NAME)([lstm(windows), frames(windows)])
    return keras.Model(windows, answer, name="hand_gesture_fused")


def lstm_part(model: Any):
    """The LSTM of a model: the model itself, or its part in a fused one (:func:`fuse`)."""
    names = {layer.name for layer in model.layers}
    return model.get_layer(LSTM_NAME) if {LSTM_NAME, FRAMES_NAME} <= names else model


@dataclass
class LoadedModel:
    """A classifier with its gesture names and the settings to preprocess its inputs.

    ``model`` is the Keras model (:func:`load_model`) or an exported :class:`Classifier`
    (:func:`load_classifier`); both answer ``predict(windows)`` with class probabilities.
    """

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
        model=ModelConfig(frame_units=()),
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


def installed(module: str) -> bool:
    """Whether ``module`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # A blocked or broken package.
        return False


def model_gestures(
    model_path: str | os.PathLike,
    gesture_mapping: str | os.PathLike | dict[str, int] | None = None,
) -> list[str]:
    """A model's gesture names in class order, read without loading the model.

    Args:
        model_path: A model directory or one of its files.
        gesture_mapping: A mapping dict or ``gesture_mapping.json`` path; by default the one
            beside the model.

    Returns:
        The gestures, index ``i`` holding class ``i``'s name.

    Raises:
        InputError: If the model, its mapping or its settings are missing or unreadable.
    """
    return _model_files(model_path, gesture_mapping)[1]


def _model_files(
    model_path: str | os.PathLike,
    gesture_mapping: str | os.PathLike | dict[str, int] | None,
) -> tuple[Path, list[str], str | os.PathLike | dict[str, int], RunConfig]:
    """Finds a model's directory, reads its mapping and config (the legacy one if absent)."""
    path = Path(model_path)
    if path.is_dir():
        directory = path
    elif path.is_file():
        if path.suffix.lower() not in MODEL_SUFFIXES:
            raise InputError(
                f"{path}: not a model (expected a model directory or its "
                f"{', '.join(MODEL_SUFFIXES)} file)"
            )
        directory = path.parent
    else:
        raise InputError(f"{path}: model not found (expected a model directory or {MODEL_FILE})")
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
    return directory, gestures, gesture_mapping, config


def _check_shapes(
    where: Path,
    input_shape: tuple,
    classes: Any,
    gestures: list[str],
    config: RunConfig,
    mapping: Any,
) -> None:
    """Raises :class:`InputError` unless a model file's shapes match the config and mapping."""
    expected = (config.preprocessing.sequence_length, NUM_FEATURES)
    if config.info.get("legacy") and tuple(input_shape[1:]) != LEGACY_INPUT_SHAPE:
        raise InputError(
            f"{where.parent / CONFIG_FILE}: missing, and the model's input shape "
            f"{tuple(input_shape[1:])} is not the original project's {LEGACY_INPUT_SHAPE}; "
            "its preprocessing is unknown"
        )
    if tuple(input_shape[1:]) != expected or len(input_shape) != 3:
        raise InputError(
            f"{where}: model input shape {tuple(input_shape)}, expected (batch, {expected[0]}, "
            f"{expected[1]}) from the sequence length in {CONFIG_FILE} and {NUM_FEATURES} features"
        )
    if classes != len(gestures):
        raise InputError(
            f"{where}: the mapping has {len(gestures)} gestures but the model outputs {classes} "
            f"classes (mapping: {mapping})"
        )


def load_model(
    model_path: str | os.PathLike,
    gesture_mapping: str | os.PathLike | dict[str, int] | None = None,
) -> LoadedModel:
    """Loads the Keras classifier from a model directory or an ``.h5`` file.

    Needs Keras (the ``train`` extra). The exports beside it, when present, are checked to
    have the same input and output shapes.

    Args:
        model_path: A model directory, or the ``.h5`` file (its folder then supplies the
            mapping and config unless given).
        gesture_mapping: A mapping dict or ``gesture_mapping.json`` path; by default the one
            beside the model.

    Returns:
        The model, its gestures and its preprocessing settings.

    Raises:
        InputError: If a file is missing or the files do not agree with each other.
    """
    path = Path(model_path)
    h5 = path / MODEL_FILE if path.is_dir() else path
    if not h5.is_file():
        raise InputError(f"{h5}: model file not found (expected {MODEL_FILE})")
    directory, gestures, gesture_mapping, config = _model_files(path, gesture_mapping)
    model = _load_keras(h5)
    _check_shapes(
        h5,
        tuple(model.inputs[0].shape),
        int(model.outputs[0].shape[-1]),
        gestures,
        config,
        gesture_mapping,
    )
    check_exports(directory, gestures, config, gesture_mapping)
    # Last, so that a specific complaint (a mapping that does not fit) comes first.
    verify_file_set(directory)
    return LoadedModel(model, gestures, config, directory)


def _load_keras(h5: Path) -> Any:
    if not installed("keras"):
        raise InputError(
            f"{h5}: reading a Keras model needs Keras and TensorFlow ({TRAIN_INSTALL_HINT})"
        )
    import keras

    try:
        return keras.models.load_model(h5, compile=False)
    except Exception as error:  # noqa: BLE001 - any failure means "not a usable model".
        raise InputError(f"{h5}: not a loadable Keras model ({error})") from None


def check_exports(
    directory: str | os.PathLike,
    gestures: list[str],
    config: RunConfig,
    mapping: Any = MAPPING_FILE,
    checked: Path | None = None,
) -> None:
    """Checks that ``model.onnx`` and ``model.tflite``, where present, fit the config and mapping.

    Each is opened in its runtime (ONNX Runtime, LiteRT); a runtime that is not installed
    leaves its file unchecked, and so does ``checked`` (an export the caller opened and
    checked already).

    Raises:
        InputError: Naming the file whose input or output shape disagrees, or that is corrupt.
    """
    directory = Path(directory)
    for name, runner, runtime in (
        (ONNX_FILE, OnnxRunner, "onnxruntime"),
        (TFLITE_FILE, LiteRTRunner, "ai_edge_litert"),
    ):
        path = directory / name
        if path.is_file() and installed(runtime) and path != checked:
            opened = runner(path)
            _check_shapes(path, opened.input_shapes[0], _classes(opened), gestures, config, mapping)


def _classes(runner: LiteRTRunner | OnnxRunner) -> int:
    shapes = list(runner.output_shapes.values())
    return shapes[0][-1] if len(shapes) == 1 else -1


def load_classifier(
    model_path: str | os.PathLike,
    gesture_mapping: str | os.PathLike | dict[str, int] | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> LoadedModel:
    """Loads the classifier for inference, without TensorFlow.

    A model directory's ``model.onnx`` runs on ONNX Runtime (where it is installed; it is a
    dependency of this package), else its ``model.tflite`` on LiteRT. A directory with neither
    (a model of the original project, or trained before the exports existed) has its ``.h5``
    converted to LiteRT once, which needs Keras; the conversion is kept in ``cache_dir``
    under the ``.h5``'s content hash and reused on every later start.

    Args:
        model_path: A model directory, or its ``.h5``, ``.onnx`` or ``.tflite`` file.
        gesture_mapping: A mapping dict or ``gesture_mapping.json`` path; by default the one
            beside the model.
        cache_dir: Where conversions of ``.h5`` files are kept (:func:`default_cache_dir`
            when None).

    Returns:
        The model as a :class:`Classifier`, its gestures and its preprocessing settings.

    Raises:
        InputError: If a file is missing, corrupt or disagrees with the others, or a
            conversion is needed and Keras is not installed.
    """
    path = Path(model_path)
    directory, gestures, gesture_mapping, config = _model_files(path, gesture_mapping)
    if path.suffix in (".onnx", ".tflite"):
        export = path
    elif (directory / ONNX_FILE).is_file() and installed("onnxruntime"):
        export = directory / ONNX_FILE
    elif (directory / TFLITE_FILE).is_file():
        export = directory / TFLITE_FILE
    else:
        h5 = path if path.is_file() else directory / MODEL_FILE
        if not h5.is_file():
            raise InputError(
                f"{directory}: no {ONNX_FILE}, {TFLITE_FILE} or {MODEL_FILE} "
                "(expected a trained model directory)"
            )
        export = cached_conversion(h5, cache_dir)
    classifier = Classifier(export)
    _check_shapes(
        export,
        classifier.runner.input_shapes[0],
        _classes(classifier.runner),
        gestures,
        config,
        gesture_mapping,
    )
    check_exports(directory, gestures, config, gesture_mapping, checked=export)
    verify_file_set(directory)
    return LoadedModel(classifier, gestures, config, directory)


def default_cache_dir() -> Path:
    """Where conversions of ``.h5`` models are cached.

    ``$HGR_CACHE_DIR`` when set, else ``hand-gesture-recognition/litert`` in
    ``$XDG_CACHE_HOME`` (``~/.cache`` by default).
    """
    if os.environ.get("HGR_CACHE_DIR"):
        return Path(os.environ["HGR_CACHE_DIR"])
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "hand-gesture-recognition" / "litert"


def cached_conversion(h5: str | os.PathLike, cache_dir: str | os.PathLike | None = None) -> Path:
    """The LiteRT conversion of an ``.h5`` model, made once and cached by content hash.

    Args:
        h5: The Keras model file.
        cache_dir: The cache folder (:func:`default_cache_dir` when None).

    Returns:
        The cached ``model.tflite``.

    Raises:
        InputError: If it is not cached and Keras is not installed, or the ``.h5`` is not a
            Keras model.
    """
    h5 = Path(h5)
    digest = hashlib.sha256(h5.read_bytes()).hexdigest()
    target = Path(cache_dir or default_cache_dir()) / digest[:32] / TFLITE_FILE
    if target.is_file():
        return target
    if not installed("keras"):
        raise InputError(
            f"{h5}: has no {TFLITE_FILE} beside it; converting it once needs Keras and "
            f"TensorFlow ({TRAIN_INSTALL_HINT}), after which the conversion is cached"
        )
    write_bytes_atomic(target, to_litert(_load_keras(h5)))
    return target


def save_model(
    directory: str | os.PathLike,
    model: Any,
    gestures: list[str],
    config: RunConfig,
    lock: OutputLock | None = None,
) -> None:
    """Writes the model, its exports, mapping and settings into ``directory`` as one file set.

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
    """Writes the model, its exports, mapping and settings files into a (staging) folder."""
    model.save(directory / MODEL_FILE)
    export_model(model, directory)
    write_json_atomic(directory / MAPPING_FILE, {g: i for i, g in enumerate(gestures)})
    config.save(directory / CONFIG_FILE)


def export_model(model: Any, directory: str | os.PathLike) -> None:
    """Writes ``model.tflite`` (LiteRT, one window per call) and ``model.onnx`` (any batch).

    Both come from Keras' own exporters (``model.export``; ONNX through tf2onnx), each written
    through a temporary file and a rename.

    Args:
        model: A Keras model with input ``(None, L, F)``.
        directory: The model directory.
    """
    directory = Path(directory)
    write_bytes_atomic(directory / TFLITE_FILE, to_litert(model))
    write_bytes_atomic(directory / ONNX_FILE, _export_bytes(model, "onnx", None, ".onnx"))


def to_litert(model: Any) -> bytes:
    """The LiteRT flatbuffer of a Keras model, for batches of one window."""
    return _export_bytes(model, "litert", 1, ".tflite")


def _export_bytes(model: Any, fmt: str, batch: int | None, suffix: str) -> bytes:
    import tensorflow as tf

    shape = (batch, *(int(d) for d in model.inputs[0].shape[1:]))
    signature = [tf.TensorSpec(shape, tf.float32, name="windows")]
    with tempfile.TemporaryDirectory(prefix="hgr-export-") as tmp, warnings.catch_warnings():
        # Keras' tf2onnx shim probes the removed ``np.object`` alias.
        warnings.filterwarnings("ignore", message=".*np.object", category=FutureWarning)
        target = Path(tmp) / f"model{suffix}"
        model.export(str(target), format=fmt, input_signature=signature, verbose=False)
        return target.read_bytes()


def checked_windows(windows: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, bool]:
    """``(n, L, F)`` float32 windows from ``(n, L, F)`` or one ``(L, F)`` window.

    Args:
        windows: The windows' features.
        shape: The model's ``(L, F)``.

    Returns:
        The batch, and whether one window was given.

    Raises:
        InputError: If the windows do not have the model's input shape.
    """
    x = np.asarray(windows, dtype=np.float32)
    single = x.ndim == 2
    if single:
        x = x[None]
    if x.ndim != 3 or x.shape[1:] != tuple(shape):
        raise InputError(f"windows must have shape (n, {tuple(shape)}), got {x.shape}")
    return x, single


class Classifier:
    """An exported classifier, without TensorFlow: class probabilities of windows.

    ``model.onnx`` runs on ONNX Runtime, any number of windows per call; ``model.tflite`` runs
    on LiteRT, one window per call. Both give the Keras model's answers.

    Args:
        source: The ``.onnx`` or ``.tflite`` file, or a ``.tflite`` file's bytes.
        name: What error messages call it (the file's path by default).

    Raises:
        InputError: If the runtime is missing or the file is not a window classifier.
    """

    def __init__(self, source: str | os.PathLike | bytes, name: str | None = None) -> None:
        is_onnx = not isinstance(source, bytes | bytearray) and Path(source).suffix == ".onnx"
        self.runner = (OnnxRunner if is_onnx else LiteRTRunner)(source, name=name)
        #: The runtime: ``onnxruntime`` or ``litert``.
        self.backend = "onnxruntime" if is_onnx else "litert"
        shape = self.runner.input_shapes[0]
        if len(shape) != 3 or shape[0] not in (1, None):
            raise InputError(
                f"{self.runner.name}: input shape {shape}, expected (batch, frames, features)"
            )
        self.input_shape = (shape[1], shape[2])
        self._any_batch = shape[0] is None

    def predict(self, windows: np.ndarray) -> np.ndarray:
        """Class probabilities of ``(n, L, F)`` windows (or one ``(L, F)`` window).

        Raises:
            InputError: If the windows do not have the model's input shape.
        """
        x, single = checked_windows(windows, self.input_shape)
        if not len(x):
            probabilities = np.zeros((0, _classes(self.runner)), np.float32)
        elif self._any_batch:
            probabilities = self.runner(x)
        else:
            probabilities = np.concatenate([self.runner(window[None]) for window in x])
        return probabilities[0] if single else probabilities


class FastClassifier:
    """Runs a Keras classifier on windows without ``model.predict``'s per-call overhead.

    ``model.predict`` builds a data pipeline on every call (tens of milliseconds), and even a
    compiled Keras call costs a few milliseconds per window. Single windows go through the
    model's LiteRT export (:func:`to_litert`, the same as ``model.tflite``) on one thread;
    batches go through one traced TensorFlow function. Both are built on first use; if the
    export fails (an unusual model), single windows use the traced function too.

    Args:
        model: A Keras model with input ``(None, L, F)``.
        use_tflite: Export the model for single windows (False: traced function only).
    """

    def __init__(self, model: Any, use_tflite: bool = True) -> None:
        self.model = model
        length, features = (int(d) for d in model.inputs[0].shape[1:])
        self.input_shape = (length, features)
        self._use_tflite = use_tflite
        self._function = None
        self._litert: Classifier | None = None
        self._tflite_error: str | None = None

    @property
    def backend(self) -> str:
        """``tflite`` when single windows run on the LiteRT export, else ``tf.function``."""
        if self._use_tflite and self._litert is None and self._tflite_error is None:
            self._build_litert()
        return "tflite" if self._litert is not None else "tf.function"

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

    def _build_litert(self) -> None:
        try:
            self._litert = Classifier(to_litert(self.model), name="LiteRT export")
        except Exception as error:  # noqa: BLE001 - any failure falls back to TensorFlow.
            self._tflite_error = f"{type(error).__name__}: {error}"
            self._litert = None

    def predict(self, windows: np.ndarray) -> np.ndarray:
        """Class probabilities of ``(n, L, F)`` windows (or one ``(L, F)`` window).

        Raises:
            InputError: If the windows do not have the model's input shape.
        """
        x, single = checked_windows(windows, self.input_shape)
        if len(x) == 1 and self._use_tflite:
            if self._litert is None and self._tflite_error is None:
                self._build_litert()
            if self._litert is not None:
                probabilities = self._litert.predict(x)
                return probabilities[0] if single else probabilities
        probabilities = self._traced()(x).numpy()
        return probabilities[0] if single else probabilities


# ---------------------------------------------------------------------------------------------
# Fitting and prediction.


def finetune_model(
    base: LoadedModel, gestures: list[str], config: RunConfig, settings: FinetuneConfig
):
    """The starting point of fine-tuning: the base's LSTM with an output layer for ``gestures``.

    The LSTM is built from ``config`` (the base's architecture) and every layer but the
    output takes the weights of the base's LSTM. The output layer has one unit per gesture of
    ``gestures``; a gesture the base knows by the same name starts from the base's weights for
    it, the others from a fresh (seeded) initialisation. With ``settings.freeze == "lstm"``
    the layers before the first dense layer (the LSTMs with their batch normalisation and
    dropout) are frozen. A base with a single-frame classifier keeps it in ``config``:
    :func:`fit` then trains a new one for ``gestures`` (a few seconds) beside the LSTM.

    Args:
        base: The trained model (Keras).
        gestures: The new class order.
        config: The fine-tuned model's settings (the base's model and preprocessing sections;
            ``training.seed`` seeds the new weights).
        settings: What is frozen, and the learning rate.

    Returns:
        A compiled Keras model.

    Raises:
        InputError: If the base's layers do not fit the architecture in its config.
    """
    import keras

    keras.utils.set_random_seed(config.training.seed)
    model = build_model(
        len(gestures), config.preprocessing.sequence_length, config.model, settings.learning_rate
    )
    where = base.directory or "the base model"
    old_layers, new_layers = lstm_part(base.model).layers, model.layers
    if len(old_layers) != len(new_layers):
        raise InputError(
            f"{where}: the model has {len(old_layers)} layers, but the architecture in its "
            f"{CONFIG_FILE} has {len(new_layers)}; it cannot be fine-tuned"
        )
    for old, new in zip(old_layers[:-1], new_layers[:-1], strict=True):
        weights = old.get_weights()
        if [w.shape for w in weights] != [w.shape for w in new.get_weights()]:
            raise InputError(
                f"{where}: layer {old.name} does not match the architecture in its "
                f"{CONFIG_FILE}; it cannot be fine-tuned"
            )
        new.set_weights(weights)
    kernel, bias = new_layers[-1].get_weights()
    old_kernel, old_bias = old_layers[-1].get_weights()
    known = {g: i for i, g in enumerate(base.gestures)}
    for i, gesture in enumerate(gestures):
        if gesture in known and old_kernel.shape[0] == kernel.shape[0]:
            kernel[:, i] = old_kernel[:, known[gesture]]
            bias[i] = old_bias[known[gesture]]
    new_layers[-1].set_weights([kernel, bias])
    if settings.freeze == "lstm":
        first_dense = next(
            i for i, layer in enumerate(new_layers) if isinstance(layer, keras.layers.Dense)
        )
        for layer in new_layers[:first_dense]:
            layer.trainable = False
    # Compiled again: a change of ``trainable`` takes effect at compilation.
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=settings.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def fit(
    data: SplitData,
    config: RunConfig,
    verbose: int | str = "auto",
    callbacks: list | None = None,
    model: Any = None,
):
    """Builds and fits the classifier on the training windows of ``data``.

    Validation windows drive early stopping (best weights restored) and the learning-rate
    schedule. With ``config.model.frame_units``, the single-frame classifier is fitted next
    (:func:`fit_frames`), each part is calibrated (:func:`calibrate_parts`) and the returned
    model is both together (:func:`fuse`).

    Args:
        data: Features and labels (class indices, or probabilities for a model compiled
            with ``categorical_crossentropy``) of each part.
        config: Model and training settings.
        verbose: Keras verbosity (``"auto"``, 0, 1 or 2).
        callbacks: Extra Keras callbacks (timers, loggers) for the LSTM's fit.
        model: A compiled LSTM to start from (:func:`finetune_model`); a fresh one is built
            from ``config`` when None.

    Returns:
        The fitted model and its history: one list of values per metric of the LSTM's fit,
        and of the single-frame classifier's as ``frames_<metric>``; with both parts, also
        each part's temperature (:func:`calibrate_parts`) as ``temperature`` and
        ``frames_temperature`` (lists of one value).
    """
    import keras

    training = config.training
    keras.utils.set_random_seed(training.seed)
    if model is None:
        model = build_model(
            len(data.gestures),
            config.preprocessing.sequence_length,
            config.model,
            training.learning_rate,
        )
    history = model.fit(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=training.epochs,
        batch_size=training.batch_size,
        callbacks=[*schedule(training), *(callbacks or [])],
        verbose=verbose,
        shuffle=True,
    )
    history = {k: [float(v) for v in values] for k, values in history.history.items()}
    if not config.model.frame_units:
        return model, history
    frames, frame_history = fit_frames(data, config, verbose)
    history.update({f"frames_{k}": v for k, v in frame_history.items()})
    lstm_temperature, frames_temperature = calibrate_parts(model, frames, data)
    history["temperature"], history["frames_temperature"] = [lstm_temperature], [frames_temperature]
    return fuse(model, frames), history


def fit_calibration(
    model: Any, data: SplitData, config: RunConfig, rules: Calibration
) -> Calibration:
    """Fits the temperature on the shifted validation windows (``data.x_shifted``).

    See :mod:`hand_gesture_recognition.calibration` for why the windows are shifted. A model
    whose two parts were each calibrated before their mean (``config.model.frame_units``;
    :func:`calibrate_parts`) is underconfident there, as an
    average of calibrated members is, and its fit may sharpen it; a single LSTM's fit never
    sharpens (:func:`~hand_gesture_recognition.calibration.calibrate`).

    Args:
        model: The trained classifier.
        data: Its inputs (the shifted validation windows and their classes).
        config: Its settings.
        rules: The rules that answer "no known gesture"
            (:func:`~hand_gesture_recognition.calibration.rules_from_windows`).

    Returns:
        The calibration.
    """
    return calibrate(
        predict_probabilities(model, data.x_shifted),
        data.y_shifted,
        min_temperature=None if config.model.frame_units else 1.0,
        rules=rules,
    )


def calibrate_parts(lstm: Any, frames: Any, data: SplitData) -> tuple[float, float]:
    """Scales the LSTM and the single-frame classifier each by its own fitted temperature.

    Before they are averaged (:func:`fuse`), each part's temperature is fitted on the shifted
    validation windows (``data.x_shifted``) and folded into its softmax layer
    (:func:`scale_output`). The LSTM is overconfident there and the frame classifier
    underconfident; averaged as they are, the confident part decides, and the average's
    confidence separates gestures from non-gestures worse than chance (TECHNICAL_REPORT
    sections 14.12 and 14.13). Nothing changes without shifted windows.

    Args:
        lstm: The trained LSTM, scaled in place.
        frames: The trained :func:`build_frame_model`, scaled in place.
        data: Its ``x_shifted`` and ``y_shifted``.

    Returns:
        The two temperatures (each unbounded; 1.0 without shifted windows).
    """
    if not len(data.y_shifted):
        return 1.0, 1.0
    lstm_temperature = fit_temperature(predict_probabilities(lstm, data.x_shifted), data.y_shifted)
    n, length, width = data.x_shifted.shape
    single = data.x_shifted.reshape(-1, 1, width)
    per_frame = np.concatenate(
        [
            np.asarray(frames(single[i : i + 8192], training=False))
            for i in range(0, len(single), 8192)
        ]
    )
    frames_temperature = fit_temperature(per_frame.reshape(n, length, -1), data.y_shifted)
    scale_output(lstm, lstm_temperature)
    scale_output(frames, frames_temperature)
    return lstm_temperature, frames_temperature


def scale_output(model: Any, temperature: float) -> None:
    """Divides the logits of a classifier's softmax layer by ``temperature``, in place.

    ``softmax(z / T)`` is the softmax of a dense layer whose kernel and bias
    are divided by ``T``, so the temperature travels inside the model and its exports.

    Args:
        model: A Keras classifier whose last dense layer is its softmax.
        temperature: ``T`` (above 1 softens, below 1 sharpens).
    """
    import keras

    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)][-1]
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel / temperature, bias / temperature])


def frame_inputs(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every :data:`FRAME_STEP`-th frame of ``(n, L, F)`` windows as windows of one frame.

    Args:
        x: The windows' features.
        y: Their class indices ``(n,)`` or probabilities ``(n, C)``.

    Returns:
        ``(m, 1, F)`` frames and their targets, each frame with its window's.
    """
    picked = x[:, ::FRAME_STEP]
    per_window = picked.shape[1]
    return picked.reshape(-1, 1, x.shape[-1]), np.repeat(y, per_window, axis=0)


def member_seed(seed: int, k: int) -> int:
    """The seed of the ``k``-th single-frame classifier of a model trained with ``seed``.

    The first is ``seed`` itself, so a model with one member is what it was before members
    existed; the others are far from the consecutive seeds a benchmark runs.
    """
    return (seed + 7919 * k) % 2**32


def fit_frames(data: SplitData, config: RunConfig, verbose: int | str = "auto"):
    """Fits the single-frame part (:attr:`ModelConfig.frame_members` classifiers).

    Each member (:func:`build_frame_model`) learns from every :data:`FRAME_STEP`-th frame of
    the training windows with its window's target (class indices, or probabilities for
    distillation), in batches of :data:`FRAME_BATCH` frames. The members differ only by their
    initial weights (:func:`member_seed`); they are fitted side by side in one Keras fit, each
    on its own loss (so each member's gradients are its own), with the same batches, and stop
    early together on their summed loss on the validation windows' frames. A small network's
    fit is mostly per-step overhead, so five side by side cost about twice one, not five
    times (TECHNICAL_REPORT section 14.17). :func:`join_frames` then makes them one
    classifier.

    Args:
        data: Features and targets of each part.
        config: Model and training settings.
        verbose: Keras verbosity.

    Returns:
        The fitted single-frame part and its history: ``loss``, ``accuracy`` and their
        ``val_`` counterparts, each the mean over the members.
    """
    import keras

    training = config.training
    x, y = frame_inputs(data.x_train, data.y_train)
    x_val, y_val = frame_inputs(data.x_val, data.y_val)
    loss = "categorical_crossentropy" if np.ndim(y) == 2 else "sparse_categorical_crossentropy"
    members = []
    for k in range(config.model.frame_members):
        keras.utils.set_random_seed(member_seed(training.seed, k))
        members.append(
            build_frame_model(len(data.gestures), config.model, training.learning_rate, loss=loss)
        )
    count = len(members)
    fitter = members[0] if count == 1 else side_by_side(members, training.learning_rate, loss)
    fitted = fitter.fit(
        x,
        y if count == 1 else [y] * count,
        validation_data=(x_val, y_val if count == 1 else [y_val] * count),
        epochs=training.epochs,
        batch_size=FRAME_BATCH,
        callbacks=schedule(training),
        verbose=verbose,
        shuffle=True,
    )
    names = [""] if count == 1 else [f"member_{k}_" for k in range(count)]
    history = {
        f"{split}{metric}": [
            float(v) for v in np.mean([fitted.history[f"{split}{n}{metric}"] for n in names], 0)
        ]
        for split in ("", "val_")
        for metric in ("loss", "accuracy")
    }
    return join_frames(members), history


def side_by_side(members: list, learning_rate: float, loss: str) -> Any:
    """One compiled Keras model with every member's output, to fit the members at once.

    The members' layers are shared, so fitting it fits them. Its loss is the sum of the
    members' losses, each against the same targets, so each member's gradients are those of
    its own loss.

    Args:
        members: :func:`build_frame_model` classifiers.
        learning_rate: Adam's learning rate.
        loss: Each member's Keras loss.

    Returns:
        The compiled model, with one output per member.
    """
    import keras

    frames, answers = _members_beside(members, len(members[0].layers))
    outputs = [keras.layers.Identity(name=f"member_{k}")(a) for k, a in enumerate(answers)]
    model = keras.Model(frames, outputs, name="frame_members")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=[loss] * len(members),
        metrics=[["accuracy"]] * len(members),
    )
    return model


def _members_beside(members: list, depth: int) -> tuple[Any, list]:
    """One input for the members and each member's first ``depth`` layers applied to it.

    The layers are the members' own (shared), so a model built on them uses their weights.
    """
    import keras

    frames = keras.Input(shape=tuple(members[0].inputs[0].shape[1:]), name="frames")
    outputs = []
    for member in members:
        tensor = frames
        for layer in member.layers[:depth]:
            tensor = layer(tensor)
        outputs.append(tensor)
    return frames, outputs


def join_frames(members: list) -> Any:
    """One single-frame classifier answering the softmax of its members' mean logits.

    The members' hidden layers run side by side; one softmax layer holds their output layers
    stacked and divided by their number, so its logits are the members' mean (a deep
    ensemble averaged in logits) and a temperature folds into it as into one member
    (:func:`scale_output`). One member is returned as it is.

    Args:
        members: Fitted :func:`build_frame_model` classifiers of one architecture.

    Returns:
        A Keras model with the members' input and output shapes.
    """
    if len(members) == 1:
        return members[0]
    import keras
    from keras import layers

    # The ReLU layers of each member, before its softmax and its mean over the frames.
    frames, features = _members_beside(members, len(members[0].layers) - 2)
    kernels, biases = zip(*(member.layers[-2].get_weights() for member in members), strict=True)
    output = layers.Dense(len(biases[0]), activation="softmax", name="mean_logits")
    probabilities = output(layers.Concatenate(name="member_features")(features))
    output.set_weights([np.concatenate(kernels) / len(members), np.mean(biases, axis=0)])
    answer = layers.GlobalAveragePooling1D(name="window_mean")(probabilities)
    return keras.Model(frames, answer, name=FRAMES_NAME)


def schedule(training: TrainingConfig) -> list:
    """The validation-driven callbacks of every fit: early stopping and learning-rate halving.

    Early stopping restores the best weights; both watch the validation loss.
    """
    import keras

    return [
        keras.callbacks.EarlyStopping(
            monitor="val_loss",
            patience=training.early_stopping_patience,
            restore_best_weights=True,
        ),
        keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss",
            factor=0.5,
            patience=training.reduce_lr_patience,
            min_lr=1e-5,
        ),
    ]


def teacher_seed(seed: int, k: int) -> int:
    """The seed of the ``k``-th teacher of a model trained with ``seed`` (never ``seed``)."""
    return (seed + 1000 * (k + 1)) % 2**32


def distil(
    data: SplitData,
    config: RunConfig,
    x_transfer: np.ndarray,
    verbose: int | str = "auto",
    callbacks: list | None = None,
):
    """Trains ``config.training.teachers`` models, then one model on their averaged answers.

    The teachers differ only by their seed (:func:`teacher_seed`). Their ensemble answers
    other people and cameras more steadily than any one of them (TECHNICAL_REPORT section
    14.5), but costs one model per teacher at every window. The returned student has the
    configured architecture; it learns the teachers' averaged probabilities (knowledge
    distillation, Hinton et al., 2015) on the training windows and on ``x_transfer``, inputs
    the teachers were not trained on (shifted copies of the training windows), and is
    validated against their answers on the validation windows.

    Args:
        data: Features and labels of each part.
        config: Model and training settings (``training.teachers`` >= 2).
        x_transfer: ``(n, L, F)`` extra inputs to learn the teachers' answers on.
        verbose: Keras verbosity.
        callbacks: Extra Keras callbacks, for every fit.

    Returns:
        The student, its history, and each teacher with its history.
    """
    import keras

    training = config.training
    teachers = []
    for k in range(training.teachers):
        seeded = replace(config, training=replace(training, seed=teacher_seed(training.seed, k)))
        teachers.append(fit(data, seeded, verbose, callbacks))
    x = np.concatenate([data.x_train, x_transfer])

    def answers(windows: np.ndarray) -> np.ndarray:
        return np.mean([predict_probabilities(t, windows) for t, _ in teachers], axis=0)

    soft = replace(data, x_train=x, y_train=answers(x), y_val=answers(data.x_val))
    keras.utils.set_random_seed(training.seed)
    student = build_model(
        len(data.gestures),
        config.preprocessing.sequence_length,
        config.model,
        training.learning_rate,
        loss="categorical_crossentropy",  # the targets are probabilities, not class indices
    )
    student, history = fit(soft, config, verbose, callbacks, model=student)
    return student, history, teachers


def predict_probabilities(model: Any, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Class probabilities ``(n, C)`` for ``(n, L, F)`` windows.

    A Keras model runs through its own predict function (``predict_on_batch``), which it
    traces once and keeps: a new traced function per call cost about 0.6 s each, ten times
    the prediction itself for a few hundred windows.

    Args:
        model: A Keras classifier or an exported :class:`Classifier`.
        x: The windows' features.
        batch_size: Windows per Keras call.

    Returns:
        ``(n, C)`` float32 probabilities, in the windows' order.

    Raises:
        InputError: If the windows do not have the model's input shape.
    """
    if isinstance(model, Classifier):
        return model.predict(x)
    classes = int(model.outputs[0].shape[-1])
    x, _ = checked_windows(x, tuple(int(d) for d in model.inputs[0].shape[1:]))
    if len(x) == 0:
        return np.zeros((0, classes), dtype=np.float32)
    return np.concatenate(
        [
            np.asarray(model.predict_on_batch(x[i : i + batch_size]), dtype=np.float32)
            for i in range(0, len(x), batch_size)
        ]
    )


def predict_classes(model: Any, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Class indices predicted for ``(n, L, F)`` windows."""
    if len(x) == 0:
        return np.zeros(0, dtype=np.int64)
    return predict_probabilities(model, x, batch_size).argmax(axis=1)
