"""Settings of each pipeline stage as small frozen dataclasses that round-trip to JSON.

The settings used to train a model are saved beside it as ``model_config.json`` so that the
model can be reproduced and so that inference preprocesses frames exactly as training did.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any

from .errors import InputError

# The atomic helpers live in .storage; importing them from here keeps working.
from .storage import atomic_output, read_json, write_bytes_atomic, write_json_atomic

__all__ = [
    "AugmentationConfig",
    "FinetuneConfig",
    "ModelConfig",
    "PreprocessingConfig",
    "RunConfig",
    "TrainingConfig",
    "atomic_output",
    "read_json",
    "write_bytes_atomic",
    "write_json_atomic",
]

#: The artifact file names; the first two are the original project's.
MODEL_FILE = "hand_gesture_lstm_model.h5"
MAPPING_FILE = "gesture_mapping.json"
CONFIG_FILE = "model_config.json"
METRICS_FILE = "metrics.json"
#: The reliability diagram of the windows in ``metrics.json`` (test windows, evaluated windows).
RELIABILITY_FILE = "reliability.png"
#: The exports written beside the ``.h5`` at training time: LiteRT, and ONNX (what live use
#: runs where ONNX Runtime is installed).
TFLITE_FILE = "model.tflite"
ONNX_FILE = "model.onnx"
#: Version of the ``model_config.json`` layout; files without one are version 1. Version 3
#: added ``model.frame_units``: files of versions 1 and 2 describe models without it; version
#: 4 added ``augmentation.finger_donors``, 5 ``augmentation.open_gestures`` and 6
#: ``model.frame_members``: older files describe models trained without them (one member).
SCHEMA_VERSION = 6

FEATURE_MODES = ("raw", "normalized", "canonical", "hand3d", "bones")
MISSING_POLICIES = ("window", "zero", "interpolate")
SPLIT_KINDS = ("subject", "time", "recording", "none", "random")
FREEZE_CHOICES = ("lstm", "none")
EXTRACTORS = ("auto", "mediapipe", "infrared")


@dataclass(frozen=True)
class PreprocessingConfig:
    """How frames become model inputs.

    Attributes:
        sequence_length: Frames per window (the model's time axis).
        window_stride: Step between consecutive training windows of one recording.
        feature_mode: ``raw`` (the original project's image coordinates), ``normalized``
            (wrist-relative and scale-free) or ``canonical`` (also rotation- and
            handedness-free); see :mod:`hand_gesture_recognition.features`.
        missing: What fills frames where no hand was found: ``window`` (linear between the
            nearest frames with a hand inside the window, the last one held at its end: what
            live use can see), ``zero`` (the original's zeros) or ``interpolate`` (earlier
            versions' default: over the whole recording, frames after the window included);
            see :mod:`hand_gesture_recognition.preprocessing`.
        max_missing_fraction: Windows with a larger share of frames without a detected hand
            are not classified (dropped from training and evaluation, ``uncertain`` live).
        max_gap: Consecutive frames without a hand that a window bridges; a longer gap
            clears it (the hand is gone), in training as live.
        extractor: Landmark extractor name (``auto``, ``mediapipe`` or ``infrared``).
        min_detection_confidence: Extractor threshold under which a frame has no hand.
    """

    sequence_length: int = 30
    window_stride: int = 1
    feature_mode: str = "canonical"
    missing: str = "window"
    max_missing_fraction: float = 0.5
    max_gap: int = 5
    extractor: str = "auto"
    min_detection_confidence: float = 0.5

    def __post_init__(self) -> None:
        _check_choice("feature_mode", self.feature_mode, FEATURE_MODES)
        _check_choice("missing", self.missing, MISSING_POLICIES)
        _check_choice("extractor", self.extractor, EXTRACTORS)
        if self.sequence_length < 2:
            raise InputError(f"sequence_length must be at least 2, got {self.sequence_length}")
        if self.window_stride < 1:
            raise InputError(f"window_stride must be at least 1, got {self.window_stride}")
        if self.max_gap < 0:
            raise InputError(f"max_gap must be at least 0, got {self.max_gap}")
        if not 0.0 <= self.max_missing_fraction <= 1.0:
            raise InputError(
                f"max_missing_fraction must be in [0, 1], got {self.max_missing_fraction}"
            )


#: The fingers in MediaPipe's order, as :attr:`AugmentationConfig.finger_donors` names them.
FINGER_NAMES = ("thumb", "index", "middle", "ring", "little")


def finger_donor(spec: object) -> tuple[str, str, str]:
    """Splits a ``"gesture:finger:donor"`` of :attr:`AugmentationConfig.finger_donors`.

    Raises:
        InputError: If it is not two different gestures around one of :data:`FINGER_NAMES`.
    """
    parts = str(spec).split(":")
    if len(parts) != 3 or parts[1] not in FINGER_NAMES or parts[0] == parts[2]:
        raise InputError(
            f"finger_donors: expected 'gesture:finger:donor' with a finger of "
            f"{', '.join(FINGER_NAMES)} and two different gestures, got {spec!r}"
        )
    return parts[0], parts[1], parts[2]


@dataclass(frozen=True)
class AugmentationConfig:
    """Training-window augmentation (original + ``copies`` augmented copies).

    Attributes:
        copies: Augmented copies added per training window (the original used 2).
        noise_std: Standard deviation of Gaussian noise added to every coordinate.
        occlusion_probability: Chance that a copy has a run of frames blanked out.
        occlusion_max_frames: Longest run of occluded frames.
        scale_range: Range of the random uniform scale factor about the hand's centre.
        translation_range: Largest random shift of x and y (in feature units).
        rotation_degrees: Largest 3-D rotation of the hand about its wrist (0: none).
        mirror_probability: Chance that a copy is mirrored left-right (the other hand).
        proportion_range: Range of the per-finger length factor.
        depth_range: Range of the factor that stretches depth (``z``) about the wrist.
        spread_degrees: Largest turn of each of the four fingers in the palm's plane
            (fingers more or less apart; :func:`~hand_gesture_recognition.augment.vary_pose`).
        curl_degrees: Largest extra bend at each joint of each of the four fingers.
        still_fraction: Share of training windows that also get a still copy: one of their
            frames held for the whole window, which is how a photo is classified
            (:func:`~hand_gesture_recognition.preprocessing.still_window`).
        finger_donors: Fingers that the training windows of a gesture take, frame by frame,
            from a random training window of another gesture, as ``"gesture:finger:donor"``
            (finger one of :data:`FINGER_NAMES`; see
            :func:`~hand_gesture_recognition.augment.give_fingers`). By default ``06_index``
            gets the curled middle finger of ``03_fist`` and the straight index of ``02_l``:
            LeapGestRecog's infrared landmarks of one camera view straighten the middle
            finger of ``06_index``, which makes it a V sign, and those of the other half
            curl its index (TECHNICAL_REPORT sections 14.8, 14.13 and 14.14). A gesture
            missing from the data is left alone.
        open_gestures: Gestures some of whose training windows are opened: the four fingers
            fanned apart and the thumb turned out
            (:func:`~hand_gesture_recognition.augment.open_hands`). LeapGestRecog's palms keep
            their fingers together; other people's open palms and stop signs spread them
            (TECHNICAL_REPORT sections 14.15 and 14.16).
        open_fraction: Share of those windows opened.
        open_fan_degrees: Largest turn between neighbouring fingers of an opened window.
        open_thumb_degrees: Largest turn of an opened window's thumb away from the index.

    Of the transforms added for other people and cameras, the finger donors and the opened
    palms are on by default (TECHNICAL_REPORT sections 14.13 to 14.16); the others are off:
    with the default ``canonical`` features and the LSTM, 3-D rotation (60 degrees) and
    finger proportions (0.8-1.2) measured worse across people and cameras than without, and
    finger curl and spread no better while rejecting fewer non-gestures
    (``benchmarks/generalisation.py``; TECHNICAL_REPORT sections 14 and 14.7). Scale and
    translation change nothing in the wrist-relative, scale-free feature modes (all but
    ``raw``), mirroring and depth stretching nothing in ``canonical`` (it mirrors to one hand
    itself and drops depth), 3-D rotation and mirroring nothing in ``hand3d`` and ``bones``:
    :func:`~hand_gesture_recognition.augment.augment_windows` skips a transform where it cannot
    change the features.
    """

    copies: int = 2
    noise_std: float = 0.01
    occlusion_probability: float = 0.5
    occlusion_max_frames: int = 5
    scale_range: tuple[float, float] = (0.9, 1.1)
    translation_range: float = 0.05
    rotation_degrees: float = 0.0
    mirror_probability: float = 0.0
    proportion_range: tuple[float, float] = (1.0, 1.0)
    depth_range: tuple[float, float] = (1.0, 1.0)
    spread_degrees: float = 0.0
    curl_degrees: float = 0.0
    still_fraction: float = 0.0
    finger_donors: tuple[str, ...] = ("06_index:middle:03_fist", "06_index:index:02_l")
    open_gestures: tuple[str, ...] = ("01_palm",)
    open_fraction: float = 0.5
    open_fan_degrees: float = 18.0
    open_thumb_degrees: float = 60.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "finger_donors", tuple(self.finger_donors))
        object.__setattr__(self, "open_gestures", tuple(self.open_gestures))
        if not all(isinstance(g, str) and g for g in self.open_gestures):
            raise InputError(f"open_gestures must be gesture names, got {self.open_gestures!r}")
        if not 0.0 <= self.open_fraction <= 1.0:
            raise InputError(f"open_fraction must be in [0, 1], got {self.open_fraction}")
        for spec in self.finger_donors:
            finger_donor(spec)
        if not 0.0 <= self.still_fraction <= 1.0:
            raise InputError(f"still_fraction must be in [0, 1], got {self.still_fraction}")
        if self.copies < 0:
            raise InputError(f"augmentation copies must be >= 0, got {self.copies}")
        if not 0.0 <= self.mirror_probability <= 1.0:
            raise InputError(f"mirror_probability must be in [0, 1], got {self.mirror_probability}")
        for name in ("spread_degrees", "curl_degrees", "open_fan_degrees", "open_thumb_degrees"):
            if not 0.0 <= getattr(self, name) <= 90.0:
                raise InputError(f"{name} must be in [0, 90], got {getattr(self, name)}")
        for name in ("scale_range", "proportion_range", "depth_range"):
            values = tuple(float(v) for v in getattr(self, name))
            if len(values) != 2 or values[0] > values[1] or values[0] <= 0:
                raise InputError(f"{name} must be (low, high) with 0 < low <= high, got {values}")
            object.__setattr__(self, name, values)


@dataclass(frozen=True)
class ModelConfig:
    """The classifier's architecture.

    Attributes:
        lstm_units: The stacked LSTM's layers (the original project's by default).
        dense_units: The dense layers after it.
        dropout: Dropout after every LSTM and dense layer.
        frame_units: Hidden layers of a single-frame classifier trained beside the LSTM on
            the windows' frames one by one; the saved model answers the mean of the LSTM's
            probabilities and of the frames' probabilities averaged over the window (section
            14.12 of the TECHNICAL_REPORT: steadier on another person's webcam). Empty: the
            LSTM alone, the original project's model.
        frame_members: How many single-frame classifiers, each from its own initial
            weights and fitted side by side, make the single-frame part: it answers the
            softmax of their mean logits. One classifier's answer to another person's hand
            can hang on its initialisation (TECHNICAL_REPORT section 14.17).
    """

    lstm_units: tuple[int, ...] = (128, 128, 64)
    dense_units: tuple[int, ...] = (256, 128)
    dropout: float = 0.3
    frame_units: tuple[int, ...] = (128, 64)
    frame_members: int = 5

    def __post_init__(self) -> None:
        for name in ("lstm_units", "dense_units", "frame_units"):
            units = tuple(int(u) for u in getattr(self, name))
            if any(u < 1 for u in units):
                raise InputError(f"{name} must be positive layer sizes, got {units}")
            object.__setattr__(self, name, units)
        if not self.lstm_units:
            raise InputError("lstm_units needs at least one layer")
        if not 0.0 <= self.dropout < 1.0:
            raise InputError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.frame_members < 1:
            raise InputError(f"frame_members must be at least 1, got {self.frame_members}")


@dataclass(frozen=True)
class TrainingConfig:
    """How the classifier is fitted and evaluated.

    Attributes:
        epochs: Upper bound on epochs; early stopping usually ends sooner.
        batch_size: Mini-batch size.
        learning_rate: Adam's initial learning rate.
        early_stopping_patience: Epochs without validation improvement before stopping.
        reduce_lr_patience: Epochs without improvement before the learning rate is halved.
        split: ``subject``, ``time``, ``recording`` (whole recordings of each gesture held
            out), ``none`` (no test set; see
            :func:`~hand_gesture_recognition.sequences.split_windows`) or ``random`` (the
            original's leaky split), or ``auto``: ``subject`` with three or more subjects,
            else ``time`` when every recording is long enough for it, else ``recording``.
        split_fractions: Train, validation and test shares (64/16/20 as in the original).
        seed: Seed for the split, augmentation and weight initialisation.
        teachers: 0 trains the model directly. With 2 or more, that many models are trained
            first from other seeds, and the saved model learns their averaged probabilities
            on the training windows and on shifted copies of them (distillation,
            :func:`~hand_gesture_recognition.model.distil`): measured more often right and
            steadier across seeds on other people's photos (not on the webcam check), at
            one model's cost; it trains ``teachers + 1`` times longer.
        candidates: 0 trains one model. With 2 or more, that many models are trained from
            different seeds (this one first) and the saved one is the candidate whose
            calibrated confidence best separates the validation windows from synthetic
            non-gestures made of them (``train.best_candidate``): measured more often right
            in the benchmark's settings on another person's webcam, not at the command's own
            (TECHNICAL_REPORT section 14.11); it trains ``candidates`` times longer. When no
            synthetic non-gesture can be made of the validation windows, one model is
            trained and ``metrics.json`` says why.
    """

    epochs: int = 100
    batch_size: int = 32
    learning_rate: float = 1e-3
    early_stopping_patience: int = 15
    reduce_lr_patience: int = 5
    split: str = "auto"
    split_fractions: tuple[float, float, float] = (0.64, 0.16, 0.20)
    seed: int = 42
    teachers: int = 0
    candidates: int = 0

    def __post_init__(self) -> None:
        _check_choice("split", self.split, ("auto", *SPLIT_KINDS))
        fractions = tuple(float(f) for f in self.split_fractions)
        object.__setattr__(self, "split_fractions", fractions)
        if len(fractions) != 3 or min(fractions) <= 0 or abs(sum(fractions) - 1.0) > 1e-6:
            raise InputError(
                f"split fractions must be three positive numbers summing to 1, got {fractions}"
            )
        if self.epochs < 1:
            raise InputError(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise InputError(f"batch size must be at least 1, got {self.batch_size}")
        if not 0 <= self.seed < 2**32:
            raise InputError(f"seed must be in [0, 2**32), got {self.seed}")
        if self.teachers < 0 or self.teachers == 1:
            raise InputError(f"teachers must be 0 or at least 2, got {self.teachers}")
        if self.candidates < 0 or self.candidates == 1:
            raise InputError(f"candidates must be 0 or at least 2, got {self.candidates}")
        if self.candidates and self.teachers:
            raise InputError("--candidates and --teachers cannot be combined; choose one")


@dataclass(frozen=True)
class FinetuneConfig:
    """How a trained model is fine-tuned on new data (``train --init``).

    The base model's preprocessing, augmentation and architecture are kept; its output layer
    is replaced by one sized to the new gestures, which starts from the base's weights for
    gestures of the same name.

    Every layer is trained by default: on a few takes of the sample
    (``benchmarks/finetune.py``, 2 gesture sets x 2 folds x 3 seeds) it was the only variant
    that answered every held-out take right in all 12 runs (1.000 +- 0.000), against
    0.972 +- 0.096 for a frozen LSTM and for every layer at a learning rate of 1e-4 (one run
    of 12 lost a gesture) and 0.917 +- 0.207 for a fresh model on the same takes, at the
    frozen variant's time. The difference is one run: the sample is easy.

    Attributes:
        freeze: ``lstm``: the LSTM layers (with their batch normalisation) keep the base's
            weights and only the dense head is trained; ``none``: every layer is trained.
        learning_rate: Adam's initial learning rate while fine-tuning.
        epochs: Upper bound on epochs when none is given (early stopping may end sooner):
            a few takes' windows are learnt within it, and it keeps fine-tuning short.
    """

    freeze: str = "none"
    learning_rate: float = 1e-3
    epochs: int = 30

    def __post_init__(self) -> None:
        _check_choice("freeze", self.freeze, FREEZE_CHOICES)
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise InputError(f"learning_rate must be a positive number, got {self.learning_rate}")
        if self.epochs < 1:
            raise InputError(f"epochs must be at least 1, got {self.epochs}")


@dataclass(frozen=True)
class RunConfig:
    """Everything saved beside a model as ``model_config.json``."""

    preprocessing: PreprocessingConfig = field(default_factory=PreprocessingConfig)
    augmentation: AugmentationConfig = field(default_factory=AugmentationConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    #: Facts about the run that are not settings: gestures, split used, library versions.
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Returns the settings as plain JSON-compatible data."""
        return {
            "schema_version": SCHEMA_VERSION,
            "preprocessing": dataclasses.asdict(self.preprocessing),
            "augmentation": dataclasses.asdict(self.augmentation),
            "model": dataclasses.asdict(self.model),
            "training": dataclasses.asdict(self.training),
            "info": dict(self.info),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """Builds settings from :meth:`to_dict` output; unknown keys are an error.

        Files of every schema version up to :data:`SCHEMA_VERSION` are read (version 1, the
        first, had no ``schema_version`` key).

        Args:
            data: The parsed JSON.

        Returns:
            The settings.

        Raises:
            InputError: If the data is not an object of sections, a section holds a key that no
                setting has, a value has the wrong type (the field is named), or the file
                comes from a newer schema than this version of the package reads.
        """
        if not isinstance(data, dict):
            raise InputError(f"expected a JSON object of settings, got {type(data).__name__}")
        version = data.get("schema_version", 1)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise InputError(
                f"model config: schema_version must be a positive integer, got {version!r}"
            )
        if version > SCHEMA_VERSION:
            raise InputError(
                f"model config: schema_version {version} is newer than this package reads "
                f"({SCHEMA_VERSION}); upgrade hand-gesture-recognition"
            )
        sections = {
            "preprocessing": PreprocessingConfig,
            "augmentation": AugmentationConfig,
            "model": ModelConfig,
            "training": TrainingConfig,
        }
        unknown_sections = sorted(set(data) - {*sections, "info", "schema_version"})
        if unknown_sections:
            raise InputError(f"unknown sections in model config: {', '.join(unknown_sections)}")
        kwargs: dict[str, Any] = {}
        for name, klass in sections.items():
            values = data.get(name, {})
            if not isinstance(values, dict):
                raise InputError(f"{name}: expected a JSON object, got {type(values).__name__}")
            known = {f.name: f for f in dataclasses.fields(klass)}
            unknown = sorted(set(values) - set(known))
            if unknown:
                raise InputError(f"unknown {name} settings in model config: {', '.join(unknown)}")
            typed = {
                key: _typed_value(f"{name}.{key}", value, _field_default(known[key]))
                for key, value in values.items()
            }
            if name == "model" and version < 3:
                # Models written before schema 3 had no single-frame classifier.
                typed.setdefault("frame_units", ())
            if name == "augmentation" and version < 4:
                # Models written before schema 4 were trained on the fingers as extracted.
                typed.setdefault("finger_donors", ())
            if name == "augmentation" and version < 5:
                # Models written before schema 5 were trained on the palms as extracted.
                typed.setdefault("open_gestures", ())
            if name == "model" and version < 6:
                # Models written before schema 6 had one single-frame classifier.
                typed.setdefault("frame_members", 1)
            kwargs[name] = klass(**typed)
        info = data.get("info", {})
        if not isinstance(info, dict):
            raise InputError(f"info: expected a JSON object, got {type(info).__name__}")
        return cls(**kwargs, info=dict(info))

    def save(self, path: str | os.PathLike) -> None:
        """Writes the settings as JSON, atomically."""
        write_json_atomic(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> RunConfig:
        """Reads settings written by :meth:`save`.

        Raises:
            InputError: If the file is not valid JSON settings (the file and field are named).
        """
        data = read_json(path)
        try:
            return cls.from_dict(data)
        except InputError as error:
            raise InputError(f"{path}: {error}") from None


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InputError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def _field_default(spec: dataclasses.Field) -> Any:
    if spec.default is not dataclasses.MISSING:
        return spec.default
    return spec.default_factory()  # type: ignore[misc]


def _typed_value(name: str, value: Any, default: Any) -> Any:
    """Checks a value read from a file against the type of the setting's default."""

    def number(item: Any, whole: bool) -> Any:
        if isinstance(item, bool) or not isinstance(item, int if whole else (int, float)):
            kind = "a whole number" if whole else "a number"
            raise InputError(f"{name}: expected {kind}, got {item!r}")
        if not whole and not math.isfinite(item):
            raise InputError(f"{name}: expected a finite number, got {item!r}")
        return item if whole else float(item)

    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise InputError(f"{name}: expected true or false, got {value!r}")
        return value
    if isinstance(default, int):
        return number(value, whole=True)
    if isinstance(default, float):
        return number(value, whole=False)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise InputError(f"{name}: expected a string, got {value!r}")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, (list, tuple)):
            raise InputError(f"{name}: expected a list, got {value!r}")
        if default and all(isinstance(item, str) for item in default):
            if not all(isinstance(item, str) for item in value):
                raise InputError(f"{name}: expected a list of strings, got {value!r}")
            return tuple(value)
        whole = all(isinstance(item, int) for item in default) and bool(default)
        return tuple(number(item, whole) for item in value)
    return value
