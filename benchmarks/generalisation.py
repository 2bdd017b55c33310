"""Does a model trained on one person's infrared frames recognise other people on other cameras?

Trains on the landmarks of the infrared sample (``../shared/data/leapgestrecog-sample``, one
subject, time split, as ``hand-gesture train --split time`` does) once per design and seed,
fits a temperature on the validation windows (:mod:`hand_gesture_recognition.calibration`),
and reports, as mean ± sd over the seeds:

* ``ir test``: accuracy on the last frames of each infrared recording (same person).
* ``val ECE``: expected calibration error on the validation windows, before -> after scaling;
  ``shifted-val``: the same on shifted copies of them (3-D rotation, proportions, depth,
  noise), with their accuracy and negative log-likelihood; ``synthetic none``: the share of
  finger transplants made of the validation windows (:mod:`hand_gesture_recognition.negatives`)
  answered confidently, and the AUROC of the confidence for the validation windows against
  them, the score by which ``train --candidates`` keeps one of several seeds (``--select K``
  reports what that keeps of each K consecutive seeds; section 14.10).
* ``hagrid acc``: close-up photos of many people (``../shared/data/hagrid-sample``), fist ->
  03_fist, like -> 05_thumb, ok -> 07_ok, one -> 06_index, palm and stop -> 01_palm; each
  photo is one frame held for a window; class-balanced accuracy of the top answer (a photo
  without a hand counts as wrong), then the share answered right *and* confidently
  (calibrated confidence >= the threshold), then the share of these photos rejected.
* ``hagrid reject``: share of ``none`` and ``peace`` photos rejected (no hand, calibrated
  confidence under the threshold, or by the two rules that ``train`` saves in
  ``calibration.json``: a hand pointing further down than any training window's, ``max
  downward`` being its limit, or fingers held unlike the answer's training windows by more
  than the finger rule's margin), together and per class; ``no rule`` leaves both rules
  out, ``no finger rule`` the finger rule.
* ``webcam acc``: another person's webcam frames (``../shared/data/webcam-sample``), windows
  of 30 consecutive frames: stop -> 01_palm, thumbs_up -> 05_thumb (class-balanced), the
  same with the threshold and both rules, and ``webcam reject``: share of ``peace`` windows
  rejected (``no rule``, ``no finger rule`` as above).
* ``... reject M`` and ``... gate M``: the finger rule with the margin M, as the answer's
  rule (``reject``, what the package does) and as a gate (the gestures whose fingers do not
  fit get probability 0, the rest renormalised; report 14.14; since report 14.21 both with
  the rule as ``train`` saves it, extension and reach); ``... extension M``: the answer's
  rule judging each finger by its extension alone, without the reach that must agree with it
  (report 14.21).

``canonical`` is what ``hand-gesture train`` builds: the LSTM with the single-frame
classifier beside it (section 14.12; five classifiers joined, section 14.17), each scaled by
its own temperature before they are averaged (section 14.13), the average's own temperature
as fitted (section 14.14), half of its ``01_palm`` training windows opened (section 14.16),
and the finger rule judging each finger by its extension and its reach (section 14.21). Its two
parts are also reported alone (``canonical/lstm``, the
network the design ``canonical/lstm`` trains, with the same answers, and
``canonical/frames``), and averaged as trained, without their own temperatures
(``canonical/plain-average``, the default of section 14.12). Every other design is the LSTM
alone, as when it was measured; ``canonical+mlp`` averages the LSTM with the scikit-learn
MLP of the single-frame designs; ``canonical/closed-palm`` is ``canonical`` with the
``01_palm`` training windows as extracted (the default of section 14.14),
``canonical/as-extracted`` also without ``06_index``'s training windows taking the fists'
middle finger and ``02_l``'s index (the default of section 14.12 with each part calibrated,
section 14.13), ``canonical/middle-only`` without the index and the opening (the fingers of
section 14.13's default), and ``canonical+thumb-index`` ``canonical`` with ``05_thumb``'s
training windows also taking the fists' index (section 14.16).

For the LSTM designs, ``AUROC distance`` is the same separation of gestures from
non-gestures by an open-set score that does not go through the softmax: minus the
Mahalanobis distance of a window's last hidden layer output to the nearest class mean of the
training windows (one covariance shared by the classes).

Also printed once: the hand-found rate on the HaGRID photos with MediaPipe Hands alone and
with the photo fallbacks of the ``auto`` extractor, and how much each augmentation changes
the features of each mode (a transform that changes nothing is wasted work).

With ``--teachers N`` each seed's model is trained as ``hand-gesture train --teachers N``
trains it: N models from other seeds first, then one model on their averaged probabilities
on the training windows and shifted copies of them (knowledge distillation,
:func:`hand_gesture_recognition.model.distil`); it is reported under the design's name, and
the N teachers' ensemble (probabilities averaged, N models' cost at every window) as
``<design>/teachers``.

Landmarks of the three sets are extracted once and cached in ``benchmarks/out/`` (ignored by
git). The development sets are for measuring, not for tuning single frames.

    uv run python benchmarks/generalisation.py [--seeds 5] [--first-seed 0] [--epochs 30]
        [--stride 2] [--designs canonical hand3d ...] [--threshold 0.6]
        [--teachers 5] [--select 3 5] [--save-outputs DIR]

The figures in TECHNICAL_REPORT section 14 come from (52 min on 2 shared cores; one LSTM seed
2-9 min, one single-frame seed 3-20 s; the first run also extracts the landmarks, ~3 min):

    uv run python benchmarks/generalisation.py --seeds 5 --epochs 20 --stride 2 \
        --designs canonical+rot3d/frame-mlp hand3d+aug/frame-mlp canonical+rot3d canonical

and those of sections 14.7 to 14.9, on finger poses, the orientation rule, one camera view
per window and regularisers (10 seeds, 45 epochs; about 6-8 min per design, 16 for
``canonical+views``):

    uv run python benchmarks/generalisation.py --seeds 10 --epochs 45 --stride 3 \
        --designs canonical canonical+curl canonical+spread canonical+views
    uv run python benchmarks/generalisation.py --seeds 10 --epochs 45 --stride 3 \
        --designs canonical canonical+mixup canonical+smooth canonical+fuse canonical+noise

and those of section 14.12, the single-frame classifier beside the LSTM (10 and 15 min):

    uv run python benchmarks/generalisation.py --seeds 10 --epochs 100 --stride 1 \
        --designs canonical+mlp
    uv run python benchmarks/generalisation.py --seeds 10 --epochs 100 --stride 1 \
        --designs canonical

Sections 14.7 to 14.11 measured the default of their time, the LSTM alone, now the design
``canonical/lstm``. Those of section 14.10, the default over 40 seeds and the model
``train --candidates 5`` would keep of each three and of each five (20 min):

    uv run python benchmarks/generalisation.py --seeds 40 --epochs 45 --stride 3 \
        --designs canonical --select 3 5

and those of sections 14.13 and 14.14, the default at ``train``'s own settings (17-24 min;
``--save-outputs DIR`` keeps every model's calibrated probabilities on the photos and the
webcam windows, with the rules, so that other answer rules can be measured on the same
models without training them again):

    uv run python benchmarks/generalisation.py --seeds 10 --epochs 100 --stride 1 \
        --designs canonical

and those of section 14.16, the opened palms against the palms as extracted (40 min, then
26 min for seeds 10-14 with ``canonical+thumb-index``):

    uv run python benchmarks/generalisation.py --seeds 10 --epochs 100 --stride 1 \
        --designs canonical canonical/closed-palm
    uv run python benchmarks/generalisation.py --first-seed 10 --seeds 5 --epochs 100 \
        --stride 1 --designs canonical canonical+thumb-index

and those of section 14.17, five single-frame classifiers joined against one (20 min per
design for ten seeds, 11 for five):

    uv run python benchmarks/generalisation.py --seeds 10 --epochs 100 --stride 1 \
        --designs canonical canonical/one-frame-member
    uv run python benchmarks/generalisation.py --first-seed 10 --seeds 5 --epochs 100 \
        --stride 1 --designs canonical canonical/one-frame-member

and those of section 14.19, the default again on another machine (12 min), and of section
14.21, the finger rule with the reach against the extension alone on the same models (13.5
min, then 19.5 min for seeds 5-14):

    uv run python benchmarks/generalisation.py --seeds 5 --epochs 100 --stride 1 \
        --designs canonical
    uv run python benchmarks/generalisation.py --first-seed 5 --seeds 10 --epochs 100 \
        --stride 1 --designs canonical
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("GLOG_minloglevel", "2")

import numpy as np

from hand_gesture_recognition.augment import (
    mirror,
    open_fingers,
    rotate_3d,
    scale,
    scale_depth,
    translate,
    vary_pose,
    vary_proportions,
)
from hand_gesture_recognition.calibration import (
    FINGER_MARGIN,
    REJECTION_LABEL,
    Calibration,
    answered,
    apply_temperature,
    expected_calibration_error,
    fit_temperature,
    rules_from_windows,
)
from hand_gesture_recognition.config import (
    AugmentationConfig,
    ModelConfig,
    PreprocessingConfig,
    RunConfig,
    TrainingConfig,
)
from hand_gesture_recognition.dataset import gesture_order
from hand_gesture_recognition.extractor import MediaPipeHandsExtractor
from hand_gesture_recognition.features import frame_features
from hand_gesture_recognition.landmark_file import LandmarkTable
from hand_gesture_recognition.landmarks import extract_landmarks, make_extractor
from hand_gesture_recognition.model import (
    FRAMES_NAME,
    distil,
    frame_inputs,
    lstm_part,
    scale_output,
)
from hand_gesture_recognition.negatives import transplants
from hand_gesture_recognition.preprocessing import (
    Segment,
    WindowSet,
    segment_windows,
    still_window,
    window_features,
)
from hand_gesture_recognition.realtime import list_images, read_image
from hand_gesture_recognition.sequences import split_windows, training_inputs
from hand_gesture_recognition.train import probe_inputs, separation, transfer_inputs

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
OUT = REPO / "benchmarks" / "out"
HAGRID_TARGETS = {
    "fist": "03_fist",
    "like": "05_thumb",
    "ok": "07_ok",
    "one": "06_index",
    "palm": "01_palm",
    "stop": "01_palm",
}
HAGRID_REJECT = ("none", "peace")
WEBCAM_TARGETS = {"stop": "01_palm", "thumbs_up": "05_thumb"}
WEBCAM_REJECT = ("peace",)
LENGTH = 30
#: Margins of the finger rule (Calibration.off_shape) measured; train uses FINGER_MARGIN.
SHAPE_MARGINS = (0.3, FINGER_MARGIN, 0.5)
FINGER_VARIANTS = ("reject", "gate", "extension")

#: The default augmentation (noise, occlusion, scale and translation; the last two are
#: skipped where they cannot change the features) on the fingers as extracted: every design
#: but ``canonical`` was measured before ``06_index`` took the fists' middle finger.
OLD_AUG = AugmentationConfig(finger_donors=(), open_gestures=())
#: The default of report 14.13: ``06_index`` takes the fists' middle finger, not the straight
#: index of ``02_l`` (14.14).
MIDDLE_AUG = AugmentationConfig(finger_donors=("06_index:middle:03_fist",), open_gestures=())
#: The default of report 14.14: the palms as extracted, not opened (14.15).
CLOSED_AUG = AugmentationConfig(open_gestures=())
#: ``05_thumb`` also takes the fists' index: the infrared thumbs-up curls it tighter (median
#: extension 0.30) than a fist (0.43), HaGRID's thumbs-up (0.40) or the webcam person's (0.55).
THUMB_AUG = AugmentationConfig(
    finger_donors=(*AugmentationConfig().finger_donors, "05_thumb:index:03_fist")
)
#: 3-D rotation (before the 2-D projection of ``canonical``) and finger proportions.
ROTATE_AUG = replace(
    OLD_AUG,
    scale_range=(1.0, 1.0),
    translation_range=0.0,
    rotation_degrees=60.0,
    proportion_range=(0.8, 1.2),
)
#: For the viewpoint-invariant modes, where rotation does nothing: mirror, proportions, depth.
INVARIANT_AUG = replace(
    ROTATE_AUG, rotation_degrees=0.0, mirror_probability=0.5, depth_range=(0.5, 1.5)
)
#: The default augmentation plus still copies of a quarter of the training windows (a photo's
#: input, :func:`~hand_gesture_recognition.augment.still_copies`).
STILL_AUG = replace(OLD_AUG, still_fraction=0.25)
#: Other people's finger poses (report 14.7): the four fingers curled or straightened a
#: little at each joint, and spread or closed.
CURL_AUG = replace(OLD_AUG, curl_degrees=15.0)
SPREAD_AUG = replace(OLD_AUG, spread_degrees=25.0)
#: The LSTM without the single-frame classifier beside it: every design measured before
#: section 14.12 (only ``canonical``, what ``train`` builds, has both).
LSTM_ONLY = ModelConfig(frame_units=())
#: One single-frame classifier beside the LSTM, not five joined (report 14.17): the default
#: of report 14.16, and every design with a single-frame classifier measured before 14.17.
ONE_MEMBER = ModelConfig(frame_members=1)


@dataclass(frozen=True)
class Negatives:
    """Synthetic windows of hand poses that are no gesture, trained as a ``none`` class.

    Each is a training window whose hand gets one to three fingers (or the thumb) of a window
    of another gesture, frame by frame, in the hand's own 3-D frame (finger transplants). It
    is kept only if its fingers' extension (tip-to-knuckle distance over the finger's length,
    median over the window) differs by at least ``margin`` in some finger from every
    training window: a combination of fingers no gesture of the vocabulary has.

    Attributes:
        fraction: Synthetic windows per training window.
        margin: Smallest difference in one finger's extension from every training window.
        dims: 3 to compare extensions in 3-D, 2 in the image plane (what ``canonical`` sees).
    """

    fraction: float
    margin: float
    dims: int = 3


@dataclass(frozen=True)
class Design:
    """One way of building the model: features, missing frames, augmentation, LSTM or frames.

    ``mixup`` (Beta parameter; 0: off) trains on pairs of windows mixed with the same weight
    as their one-hot labels (Zhang et al., 2018), ``smoothing`` on labels smoothed by that
    much (Szegedy et al., 2016), ``fuse`` on each frame averaged with the one before (the
    other camera view of LeapGestRecog), in training and at every check.
    """

    name: str
    feature_mode: str
    augmentation: AugmentationConfig = field(default_factory=AugmentationConfig)
    kind: str = "lstm"
    missing: str = "window"
    negatives: Negatives | None = None
    held_views: bool = False
    mixup: float = 0.0
    smoothing: float = 0.0
    fuse: bool = False
    model: ModelConfig = LSTM_ONLY

    def preprocessing(self, stride: int = 1) -> PreprocessingConfig:
        """The design's preprocessing with training windows ``stride`` frames apart."""
        return PreprocessingConfig(
            feature_mode=self.feature_mode, missing=self.missing, window_stride=stride
        )


DESIGNS = {
    d.name: d
    for d in (
        Design("canonical", "canonical", AugmentationConfig(), model=ModelConfig()),
        Design("canonical/as-extracted", "canonical", OLD_AUG, model=ONE_MEMBER),
        Design("canonical/closed-palm", "canonical", CLOSED_AUG, model=ONE_MEMBER),
        Design("canonical+thumb-index", "canonical", THUMB_AUG, model=ONE_MEMBER),
        Design("canonical/one-frame-member", "canonical", AugmentationConfig(), model=ONE_MEMBER),
        Design("canonical/middle-only", "canonical", MIDDLE_AUG, model=ONE_MEMBER),
        Design("canonical/lstm", "canonical", OLD_AUG),
        Design("canonical/interpolate", "canonical", OLD_AUG, missing="interpolate"),
        Design("canonical+still", "canonical", STILL_AUG),
        Design("canonical+none", "canonical", OLD_AUG, negatives=Negatives(0.5, 0.3)),
        Design("canonical+none/sparse", "canonical", OLD_AUG, negatives=Negatives(0.25, 0.45)),
        Design("canonical+none/2d", "canonical", OLD_AUG, negatives=Negatives(0.25, 0.45, dims=2)),
        Design("canonical+rot3d", "canonical", ROTATE_AUG),
        Design("canonical+curl", "canonical", CURL_AUG),
        Design("canonical+spread", "canonical", SPREAD_AUG),
        Design("canonical+views", "canonical", OLD_AUG, held_views=True),
        Design("canonical+mixup", "canonical", OLD_AUG, mixup=0.4),
        Design("canonical+smooth", "canonical", OLD_AUG, smoothing=0.1),
        Design("canonical+fuse", "canonical", OLD_AUG, fuse=True),
        Design("canonical+noise", "canonical", replace(OLD_AUG, noise_std=0.02)),
        Design("canonical+rot3d/frame-mlp", "canonical", ROTATE_AUG, kind="frames"),
        Design("canonical+mlp", "canonical", OLD_AUG, kind="lstm+frames"),
        Design("hand3d", "hand3d", OLD_AUG),
        Design("hand3d+aug", "hand3d", INVARIANT_AUG),
        Design("hand3d+aug/frame-mlp", "hand3d", INVARIANT_AUG, kind="frames"),
        Design("bones", "bones", OLD_AUG),
        Design("bones+aug", "bones", INVARIANT_AUG),
        Design("bones+aug/frame-mlp", "bones", INVARIANT_AUG, kind="frames"),
    )
}


# ---------------------------------------------------------------------------------------------
# One camera view at a time.


def with_held_views(train: WindowSet) -> WindowSet:
    """The training windows plus, for each, a copy of each of its two camera views.

    LeapGestRecog's frames alternate between two views of the hand; a webcam window has one.
    Each copy keeps one view's frames, each held for two frames, so the window keeps its
    length and duration.
    """
    length = train.windows.shape[1]
    parts = [train]
    for first in (0, 1):
        frames = np.minimum(np.repeat(np.arange(first, length, 2), 2), length - 1)[:length]
        copy = WindowSet(
            train.windows[:, frames],
            train.aspect[:, frames],
            *(getattr(train, f) for f in WindowSet.FIELDS[2:]),
        )
        parts.append(copy)
    return WindowSet.concatenate(parts, length)


# ---------------------------------------------------------------------------------------------
# Synthetic non-gestures.


def with_negatives(
    train: WindowSet, negatives: Negatives, label: int, rng: np.random.Generator
) -> WindowSet:
    """The training windows plus synthetic non-gesture windows labelled ``label``."""
    made = transplants(
        train, round(negatives.fraction * len(train)), negatives.margin, label, rng, negatives.dims
    )
    return WindowSet.concatenate([train, made], train.windows.shape[1])


# ---------------------------------------------------------------------------------------------
# Landmarks, extracted once.


def photo_landmarks(folder: Path, cache: Path, extractor: str) -> dict[str, np.ndarray]:
    """Landmarks of every image of ``folder/<class>/``, static mode; cached in ``cache``."""
    if cache.exists():
        return dict(np.load(cache))
    rows: dict[str, list] = {"landmarks": [], "detected": [], "aspect": [], "label": []}
    with make_extractor(extractor, tracking=False) as hands:
        for class_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
            for path in list_images(class_dir):
                image = read_image(path)
                result = hands.process(image)
                points = result.landmarks if result.detected else np.full((21, 3), np.nan)
                rows["landmarks"].append(np.asarray(points, np.float32))
                rows["detected"].append(result.detected)
                rows["aspect"].append(result.aspect)
                rows["label"].append(class_dir.name)
    arrays = {k: np.array(v) for k, v in rows.items()}
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **arrays)
    return arrays


def found_rate(folder: Path, cache: Path) -> float:
    """Share of images where MediaPipe Hands alone (no fallback) finds a hand; cached."""
    if cache.exists():
        return float(np.load(cache)["rate"])
    found = []
    with MediaPipeHandsExtractor(tracking=False) as hands:
        for class_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
            found += [hands.process(read_image(p)).detected for p in list_images(class_dir)]
    rate = float(np.mean(found))
    np.savez(cache, rate=rate)
    return rate


# ---------------------------------------------------------------------------------------------
# Models.


class Classifier:
    """A trained design: ``probabilities(x)`` for ``(n, L, 63)`` windows, and its temperature."""

    def __init__(self, design: Design, data, x_shifted: np.ndarray, epochs: int, seed: int):
        self.design = design
        self.train(data, epochs, seed)
        self.calibrate(data, x_shifted)

    @classmethod
    def part(cls, design: Design, model, epochs: int, data, x_shifted: np.ndarray) -> Classifier:
        """A trained Keras model (a part of another one) measured as a design of its own."""
        part = cls.__new__(cls)
        part.design, part.model, part.epochs = design, model, epochs
        part.fit_distance(data)
        part.calibrate(data, x_shifted)
        return part

    def calibrate(self, data, x_shifted: np.ndarray) -> None:
        fitted = fit_temperature(self.raw(x_shifted), data.y_shifted)
        # As model.fit_calibration: a model whose two parts were calibrated before their
        # mean keeps its own fit (report 14.14); any other never sharpens (report 14.3).
        parts_calibrated = bool(self.design.model.frame_units) and hasattr(
            self, "part_temperatures"
        )
        self.temperatures = {
            "val": fit_temperature(self.raw(data.x_val), data.y_val),
            "shifted": fitted if parts_calibrated else max(fitted, 1.0),
            "fitted": fitted,
        }
        self.temperature = self.temperatures["shifted"]

    def config(self, epochs: int, seed: int, teachers: int = 0) -> RunConfig:
        """The design's settings for an LSTM trained on the time split."""
        return RunConfig(
            preprocessing=self.design.preprocessing(),
            augmentation=self.design.augmentation,
            model=self.design.model,
            training=TrainingConfig(epochs=epochs, split="time", seed=seed, teachers=teachers),
        )

    def train(self, data, epochs: int, seed: int) -> None:
        if self.design.fuse:
            data = replace(
                data,
                x_train=fuse_pairs(data.x_train),
                x_val=fuse_pairs(data.x_val),
                x_test=fuse_pairs(data.x_test),
            )
        if self.design.kind == "lstm" and (self.design.mixup or self.design.smoothing):
            self.model, history = fit_soft(data, self.config(epochs, seed), self.design)
            self.epochs = len(history["loss"])
        elif self.design.kind == "lstm":
            from hand_gesture_recognition.model import fit

            self.model, history = fit(data, self.config(epochs, seed), verbose=0)
            self.epochs = len(history["loss"])
            self.frame_epochs = len(history.get("frames_loss", []))
            self.part_temperatures = (
                history.get("temperature", [1.0])[0],
                history.get("frames_temperature", [1.0])[0],
            )
        else:
            from sklearn.neural_network import MLPClassifier

            # The frames the package's single-frame classifier learns from (every third).
            frames, labels = frame_inputs(data.x_train, data.y_train)
            self.model = MLPClassifier(
                (128, 64), max_iter=300, early_stopping=True, random_state=seed
            ).fit(frames[:, 0], labels)
            self.epochs = self.model.n_iter_
        self.fit_distance(data)

    def fit_distance(self, data) -> None:
        """Class means and shared covariance of the training windows' last hidden layer."""
        self.embedding = None
        if self.design.kind == "lstm":
            import keras

            # The last hidden layer's output: a Mahalanobis distance to the nearest class mean
            # there, with one covariance shared by the classes (Lee et al., 2018), is an
            # open-set score that does not go through the softmax.
            lstm = lstm_part(self.model)
            self.embedding = keras.Model(lstm.inputs, lstm.layers[-2].output)
            seen = self.embed(data.x_train)
            classes = np.unique(data.y_train)
            self.means = np.stack([seen[data.y_train == c].mean(0) for c in classes])
            centred = seen - self.means[np.searchsorted(classes, data.y_train)]
            self.precision = np.linalg.inv(np.cov(centred.T) + 1e-3 * np.eye(seen.shape[1]))

    def embed(self, x: np.ndarray) -> np.ndarray:
        return np.concatenate(
            [np.asarray(self.embedding(x[i : i + 512])) for i in range(0, len(x), 512)]
        )

    def closeness(self, x: np.ndarray) -> np.ndarray:
        """Minus the Mahalanobis distance to the nearest class mean (NaN for frame-MLPs)."""
        if self.embedding is None or len(x) == 0:
            return np.full(len(x), np.nan)
        offsets = self.embed(x)[:, None, :] - self.means[None]
        return -np.einsum("nci,ij,ncj->nc", offsets, self.precision, offsets).min(axis=1)

    def raw(self, x: np.ndarray) -> np.ndarray:
        if len(x) == 0:
            return np.zeros((0, 10), np.float32)
        if self.design.fuse:
            x = fuse_pairs(x)
        if self.design.kind == "lstm":
            return np.concatenate(
                [
                    np.asarray(self.model(x[i : i + 512], training=False))
                    for i in range(0, len(x), 512)
                ]
            )
        if self.design.kind == "keras-frames":
            return np.asarray(self.model(x, training=False))
        n, length, width = x.shape
        per_frame = self.model.predict_proba(x.reshape(-1, width)).reshape(n, length, -1)
        return per_frame.mean(axis=1)

    def calibrated(self, x: np.ndarray, which: str = "shifted") -> np.ndarray:
        return apply_temperature(self.raw(x), self.temperatures[which])


def fuse_pairs(x: np.ndarray) -> np.ndarray:
    """Each frame's features averaged with the previous frame's (the first kept as it is)."""
    fused = x.copy()
    fused[:, 1:] = 0.5 * (x[:, 1:] + x[:, :-1])
    return fused


def fit_soft(data, config: RunConfig, design: Design):
    """``model.fit`` with soft targets: mixup between windows and/or label smoothing."""
    import keras

    from hand_gesture_recognition.model import build_model, fit, schedule

    training = config.training
    keras.utils.set_random_seed(training.seed)
    classes = len(data.gestures)
    eye = np.eye(classes, dtype=np.float32)
    model = build_model(
        classes,
        config.preprocessing.sequence_length,
        config.model,
        training.learning_rate,
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=design.smoothing),
    )
    x, y = data.x_train, eye[data.y_train]
    if design.mixup:
        rng = np.random.default_rng(training.seed)

        class Mixed(keras.utils.PyDataset):
            def __init__(self):
                super().__init__()
                self.on_epoch_end()

            def __len__(self):
                return -(-len(x) // training.batch_size)

            def on_epoch_end(self):
                self.order = rng.permutation(len(x))

            def __getitem__(self, i):
                rows = self.order[i * training.batch_size : (i + 1) * training.batch_size]
                other = rng.integers(0, len(x), len(rows))
                lam = rng.beta(design.mixup, design.mixup, len(rows)).astype(np.float32)
                return (
                    lam[:, None, None] * x[rows] + (1 - lam[:, None, None]) * x[other],
                    lam[:, None] * y[rows] + (1 - lam[:, None]) * y[other],
                )

        history = model.fit(
            Mixed(),
            validation_data=(data.x_val, eye[data.y_val]),
            epochs=training.epochs,
            callbacks=schedule(training),
            verbose=0,
        )
        return model, {k: list(v) for k, v in history.history.items()}
    soft = replace(data, y_train=y, y_val=eye[data.y_val])
    return fit(soft, config, verbose=0, model=model)


class Ensemble(Classifier):
    """Trained models of one design, their probabilities averaged; its temperature fitted anew.

    Its open-set score is the members' mean closeness (each a Mahalanobis distance in its
    own embedding).
    """

    def __init__(self, design, data, x_shifted, parts: list[Classifier]):
        self.parts = parts
        super().__init__(design, data, x_shifted, 0, 0)

    def train(self, data, epochs: int, seed: int) -> None:
        self.epochs = sum(p.epochs for p in self.parts)
        self.embedding = self.parts[0].embedding

    def closeness(self, x: np.ndarray) -> np.ndarray:
        return np.mean([p.closeness(x) for p in self.parts if p.embedding is not None], axis=0)

    def raw(self, x: np.ndarray) -> np.ndarray:
        return np.mean([p.raw(x) for p in self.parts], axis=0)


def unscaled(part, temperature: float):
    """A copy of a trained part with the temperature folded into it taken out again."""
    import keras

    copy = keras.models.clone_model(part)
    copy.set_weights(part.get_weights())
    scale_output(copy, 1.0 / temperature)
    return copy


class Distilled(Classifier):
    """One model taught by ``teachers`` models of other seeds, as ``train --teachers`` does.

    :func:`~hand_gesture_recognition.model.distil` trains it; ``x_transfer`` are the shifted
    training windows of :func:`~hand_gesture_recognition.train.transfer_inputs`. The
    teachers stay available as ``parts`` (Classifiers), to measure their ensemble too.
    """

    def __init__(self, design, data, x_shifted, epochs, seed, x_transfer, teachers: int):
        self.x_transfer = x_transfer
        self.teachers = teachers
        super().__init__(design, data, x_shifted, epochs, seed)

    def train(self, data, epochs: int, seed: int) -> None:
        config = self.config(epochs, seed, self.teachers)
        self.model, history, teachers = distil(data, config, self.x_transfer, verbose=0)
        self.epochs = len(history["loss"])
        self.parts = []
        for teacher, teacher_history in teachers:
            part = Classifier.__new__(Classifier)
            part.design, part.model = self.design, teacher
            part.epochs = len(teacher_history["loss"])
            part.fit_distance(data)
            self.parts.append(part)
        self.fit_distance(data)


# ---------------------------------------------------------------------------------------------
# Checks.


def hagrid_check(
    model: Classifier,
    photos: dict,
    gestures: list[str],
    threshold: float,
    rule: Calibration,
    outputs: dict | None = None,
) -> dict:
    prep = model.design.preprocessing()
    detected = photos["detected"]
    down = rule.points_down(photos["landmarks"][:, None], photos["aspect"][:, None])
    probabilities = np.zeros((len(detected), len(gestures)), np.float32)
    windows = np.stack(
        [
            still_window(points, aspect, prep)
            for points, aspect in zip(
                photos["landmarks"][detected], photos["aspect"][detected], strict=True
            )
        ]
    )
    raw = model.raw(windows)
    probabilities[detected] = apply_temperature(raw, model.temperatures["shifted"])
    plain = np.zeros_like(probabilities)
    plain[detected] = apply_temperature(raw, model.temperatures["val"])
    if outputs is not None:
        outputs["hagrid"] = probabilities
    answer = np.where(detected, probabilities.argmax(1), -1)
    softmax_confident = detected & answered(probabilities, gestures, threshold)
    # Both rules of the model's calibration, as the live recognizer applies them.
    oriented = softmax_confident & ~down
    confident = oriented & ~rule.off_shape(
        photos["landmarks"][:, None], photos["aspect"][:, None], probabilities.argmax(1), gestures
    )
    finger = {
        margin: finger_rules(
            probabilities,
            margin_fits(
                rule, margin, photos["landmarks"][:, None], photos["aspect"][:, None], gestures
            ),
            gestures,
            threshold,
            detected & ~down,
        )
        for margin in SHAPE_MARGINS
    }
    labels = photos["label"]
    others = np.isin(labels, HAGRID_REJECT)
    gesture_rows = np.isin(labels, list(HAGRID_TARGETS))
    accuracy, accepted, rejected = [], [], []
    for name, target in HAGRID_TARGETS.items():
        rows = labels == name
        right = answer[rows] == gestures.index(target)
        accuracy.append(right.mean())
        accepted.append((right & confident[rows]).mean())
        rejected.append((~confident[rows]).mean())
    return {
        "hagrid acc": float(np.mean(accuracy)),
        "hagrid acc@t": float(np.mean(accepted)),
        "hagrid gesture rejected": float(np.mean(rejected)),
        "hagrid reject none+peace": float((~confident[others]).mean()),
        "hagrid reject none": float((~confident[labels == "none"]).mean()),
        "hagrid reject peace": float((~confident[labels == "peace"]).mean()),
        "hagrid reject no rule": float((~softmax_confident[others]).mean()),
        "hagrid reject no finger rule": float((~oriented[others]).mean()),
        "hagrid reject (T val)": float(
            (~(detected & answered(plain, gestures, threshold)))[others].mean()
        ),
        "hagrid AUROC": auroc(probabilities.max(1)[gesture_rows], probabilities.max(1)[others]),
        "hagrid AUROC distance": distance_auroc(model, windows, labels[detected]),
        **{
            f"hagrid {key} {variant} {margin}": float(value)
            for margin, variants in finger.items()
            for variant, (ruled, kept) in variants.items()
            for key, value in (
                (
                    "acc",
                    np.mean(
                        [
                            (ruled == gestures.index(t))[labels == n].mean()
                            for n, t in HAGRID_TARGETS.items()
                        ]
                    ),
                ),
                (
                    "acc@t",
                    np.mean(
                        [
                            ((ruled == gestures.index(t)) & kept)[labels == n].mean()
                            for n, t in HAGRID_TARGETS.items()
                        ]
                    ),
                ),
                ("reject none+peace", (~kept[others]).mean()),
                ("reject peace", (~kept[labels == "peace"]).mean()),
            )
            if not (key == "acc" and variant != "gate")
        },
    }


def margin_fits(
    rule: Calibration, margin: float, landmarks: np.ndarray, aspect: np.ndarray, gestures: list[str]
) -> dict[str, np.ndarray]:
    """Which gestures each window's fingers fit with the finger rule's margin ``margin``.

    Args:
        rule: The calibration with the finger rule as ``train`` saves it.
        margin: The margin to judge with instead of the rule's own.
        landmarks: ``(n, L, 21, 3)`` landmark windows.
        aspect: ``(n, L)`` their image height / width.
        gestures: The class names, in the model's order.

    Returns:
        ``rule``: ``(n, C)`` fits as the rule judges them (extension and reach);
        ``extension``: by the extension alone (``rule`` without its reach ranges).
    """
    margined = replace(rule, finger_margin=margin)
    return {
        "rule": margined.finger_fit(landmarks, aspect, gestures),
        "extension": replace(margined, reach_ranges=None).finger_fit(landmarks, aspect, gestures),
    }


def finger_rules(
    probabilities: np.ndarray,
    fits: dict[str, np.ndarray],
    gestures: list[str],
    threshold: float,
    allowed: np.ndarray,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Answers and whether each is confident, with the finger rule three ways.

    ``reject``: the top answer stands, and is no gesture when the window's fingers do not
    fit it (``fits["rule"]``). ``gate``: the probabilities of the gestures whose fingers do
    not fit are set to zero and the rest renormalised; no gesture (answer -1) when none fits.
    ``extension``: as ``reject``, with ``fits["extension"]`` (:func:`margin_fits`).
    ``allowed`` is false where an answer is rejected already (no hand, pointing down).
    """
    answer = probabilities.argmax(-1)
    rows = np.arange(len(answer))
    confident = allowed & answered(probabilities, gestures, threshold)
    kept = confident & fits["rule"][rows, answer]
    by_extension = confident & fits["extension"][rows, answer]
    gated = probabilities * fits["rule"]
    total = gated.sum(-1, keepdims=True)
    some = total[:, 0] > 0
    gated = np.divide(gated, total, out=np.zeros_like(gated), where=total > 0)
    gate_answer = np.where(some, gated.argmax(-1), -1)
    gate_kept = allowed & some & answered(gated, gestures, threshold)
    return {
        "reject": (answer, kept),
        "gate": (gate_answer, gate_kept),
        "extension": (answer, by_extension),
    }


def distance_auroc(model: Classifier, windows: np.ndarray, labels: np.ndarray) -> float:
    """AUROC of the embedding-distance score (gestures against ``none``/``peace``)."""
    closeness = model.closeness(windows)
    if np.isnan(closeness).all():
        return float("nan")
    gestures = np.isin(labels, list(HAGRID_TARGETS))
    return auroc(closeness[gestures], closeness[np.isin(labels, HAGRID_REJECT)])


def auroc(accepted: np.ndarray, rejected: np.ndarray) -> float:
    """How well confidence separates gestures (should be kept) from non-gestures (0.5: not)."""
    from sklearn.metrics import roc_auc_score

    y = np.r_[np.ones(len(accepted)), np.zeros(len(rejected))]
    return float(roc_auc_score(y, np.r_[accepted, rejected]))


def webcam_windows(
    frames: dict, name: str, prep: PreprocessingConfig, stride: int
) -> tuple[WindowSet, int]:
    """One class's consecutive frames, windowed as live use windows them.

    Returns:
        The usable windows every ``stride`` frames and how many windows start every
        ``stride`` frames, usable or not.
    """
    rows = frames["label"] == name
    count = int(rows.sum())
    segment = Segment(
        sequence=name,
        subject="webcam",
        gesture=name,
        landmarks=frames["landmarks"][rows],
        missing=~frames["detected"][rows],
        aspect=frames["aspect"][rows],
        frames=np.arange(count),
    )
    windows = segment_windows(segment, 0, prep, stride)
    return windows, len(range(0, count - LENGTH + 1, stride))


def webcam_check(
    model: Classifier,
    frames: dict,
    gestures: list[str],
    threshold: float,
    rule: Calibration,
    stride: int = 5,
    outputs: dict | None = None,
) -> dict:
    prep = model.design.preprocessing()
    accuracy, accepted, rejected_peace, plain_peace, softmax_peace = [], [], [], [], []
    oriented_peace: list[float] = []
    ruled: dict[tuple, list] = {}
    scores: dict[bool, list] = {True: [], False: []}
    distances: dict[bool, list] = {True: [], False: []}
    for name in (*WEBCAM_TARGETS, *WEBCAM_REJECT):
        windows, total = webcam_windows(frames, name, prep, stride)
        if len(windows) == 0:
            answer, confident = np.zeros(0, int), np.zeros(0, bool)
            plain_confident = softmax_confident = oriented = confident
            finger = {m: {v: (answer, confident) for v in FINGER_VARIANTS} for m in SHAPE_MARGINS}
        else:
            x = window_features(windows, prep.feature_mode)
            p, plain = model.calibrated(x), model.calibrated(x, "val")
            if outputs is not None:
                outputs[f"webcam-{name}"] = p
            answer = p.argmax(1)
            down = rule.points_down(windows.windows, windows.aspect)
            softmax_confident = answered(p, gestures, threshold)
            oriented = softmax_confident & ~down
            confident = oriented & ~rule.off_shape(
                windows.windows, windows.aspect, answer, gestures
            )
            plain_confident = answered(plain, gestures, threshold)
            finger = {
                margin: finger_rules(
                    p,
                    margin_fits(rule, margin, windows.windows, windows.aspect, gestures),
                    gestures,
                    threshold,
                    ~down,
                )
                for margin in SHAPE_MARGINS
            }
            scores[name in WEBCAM_TARGETS].append(p.max(1))
            distances[name in WEBCAM_TARGETS].append(model.closeness(x))
        unusable = total - len(answer)  # too many frames without a hand: no answer
        if name in WEBCAM_TARGETS:
            right = answer == gestures.index(WEBCAM_TARGETS[name])
            accuracy.append(right.sum() / total)
            accepted.append((right & confident).sum() / total)
            for margin, variants in finger.items():
                for variant, (answers, kept) in variants.items():
                    hit = answers == gestures.index(WEBCAM_TARGETS[name])
                    ruled.setdefault(("acc", variant, margin), []).append(hit.sum() / total)
                    ruled.setdefault(("acc@t", variant, margin), []).append(
                        (hit & kept).sum() / total
                    )
        else:
            for margin, variants in finger.items():
                for variant, (_, kept) in variants.items():
                    ruled.setdefault(("reject peace", variant, margin), []).append(
                        ((~kept).sum() + unusable) / total
                    )
            rejected_peace.append(((~confident).sum() + unusable) / total)
            softmax_peace.append(((~softmax_confident).sum() + unusable) / total)
            oriented_peace.append(((~oriented).sum() + unusable) / total)
            plain_peace.append(((~plain_confident).sum() + unusable) / total)
    return {
        "webcam acc": float(np.mean(accuracy)),
        "webcam acc@t": float(np.mean(accepted)),
        "webcam reject peace": float(np.mean(rejected_peace)),
        "webcam reject no rule": float(np.mean(softmax_peace)),
        "webcam reject no finger rule": float(np.mean(oriented_peace)),
        "webcam reject (T val)": float(np.mean(plain_peace)),
        "webcam AUROC": auroc(np.concatenate(scores[True]), np.concatenate(scores[False] or [[]]))
        if scores[False]
        else float("nan"),
        "webcam AUROC distance": auroc(
            np.concatenate(distances[True]), np.concatenate(distances[False])
        )
        if scores[False] and model.embedding is not None
        else float("nan"),
        **{
            f"webcam {key} {variant} {margin}": float(np.mean(values))
            for (key, variant, margin), values in ruled.items()
            if not (key == "acc" and variant != "gate")
        },
    }


def augmentation_effects(table: LandmarkTable, modes: list[str]) -> dict[str, dict[str, float]]:
    """Mean absolute feature change each transform makes, per feature mode."""
    rng = np.random.default_rng(0)
    opening = AugmentationConfig()  # the default opening's largest angles
    rows = np.flatnonzero(table.detected)[::7][:300]
    windows = table.landmarks[rows][:, None]  # (n, 1, 21, 3)
    aspect = table.aspect[rows][:, None]
    transforms = {
        "translate": lambda w: translate(w, 0.05, rng),
        "scale": lambda w: scale(w, 0.9, 1.1, rng),
        "rotate_3d": lambda w: rotate_3d(w, 60.0, rng, aspect),
        "mirror": lambda w: mirror(w, 1.0, rng),
        "proportions": lambda w: vary_proportions(w, 0.8, 1.2, rng, aspect),
        "depth": lambda w: scale_depth(w, 0.5, 1.5, rng),
        "curl": lambda w: vary_pose(w, 0.0, 15.0, rng, aspect),
        "spread": lambda w: vary_pose(w, 25.0, 0.0, rng, aspect),
        "open": lambda w: open_fingers(
            w,
            rng.uniform(0, opening.open_fan_degrees, len(w)),
            rng.uniform(0, opening.open_thumb_degrees, len(w)),
            aspect,
        ),
    }
    effects = {}
    for name, transform in transforms.items():
        changed = transform(windows)
        effects[name] = {
            mode: float(
                np.abs(
                    frame_features(changed, aspect, mode) - frame_features(windows, aspect, mode)
                ).mean()
            )
            for mode in modes
        }
    return effects


def spread(values: list[float]) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1) if len(values) > 1 else 0.0:.3f}"


def measure(
    name, model, data, x_shifted, y_shifted, x_synthetic, photos, frames, args, rule, results
) -> None:
    """Appends one trained model's figures to ``results[name]``.

    ``rule`` is the orientation and finger rules of the training windows (a
    :class:`Calibration` with only ``max_downward``, ``finger_ranges`` and ``reach_ranges``,
    as ``train`` sets them); ``... no rule`` figures leave both out.
    """
    outputs: dict = {}
    val, val_shifted = model.raw(data.x_val), model.raw(x_shifted)
    t_val, t_shift = model.temperatures["val"], model.temperatures["shifted"]
    row = {
        "ir test": float((model.raw(data.x_test).argmax(1) == data.y_test).mean()),
        "val ECE raw": expected_calibration_error(val, data.y_val),
        "val ECE T val": expected_calibration_error(apply_temperature(val, t_val), data.y_val),
        "shifted-val ECE raw": expected_calibration_error(val_shifted, y_shifted),
        "shifted-val ECE T shift": expected_calibration_error(
            apply_temperature(val_shifted, t_shift), y_shifted
        ),
        "T val": t_val,
        "T shifted": model.temperatures["fitted"],
        # The temperatures fit folded into the two parts of the default (NaN for others).
        "T lstm part": getattr(model, "part_temperatures", (np.nan, np.nan))[0],
        "T frames part": getattr(model, "part_temperatures", (np.nan, np.nan))[1],
        "shifted-val acc": float((val_shifted.argmax(1) == y_shifted).mean()),
        "shifted-val NLL": float(
            -np.log(np.maximum(val_shifted[np.arange(len(y_shifted)), y_shifted], 1e-12)).mean()
        ),
        "synthetic none confident": float(
            (model.calibrated(x_synthetic).max(1) >= args.threshold).mean()
        ),
        "synthetic none AUROC": separation(
            model.calibrated(data.x_val), model.calibrated(x_synthetic)
        ),
        "max downward": rule.max_downward,
        **hagrid_check(model, photos, data.gestures, args.threshold, rule, outputs=outputs),
        **webcam_check(model, frames, data.gestures, args.threshold, rule, outputs=outputs),
    }
    if args.save_outputs:
        # The calibrated probabilities, so that other answer rules can be measured on the
        # same models without training them again.
        args.save_outputs.mkdir(parents=True, exist_ok=True)
        seed = len(results.get(name, {}).get("ir test", [])) + args.first_seed
        np.savez(
            args.save_outputs / f"{name.replace('/', '_')}-seed{seed}.npz",
            gestures=np.array(data.gestures),
            rule=json.dumps(asdict(rule)),
            **outputs,
        )
    for key, value in row.items():
        results.setdefault(name, {}).setdefault(key, []).append(value)


def print_selection(name: str, metrics: dict[str, list[float]], k: int) -> None:
    """What keeping the best of each ``k`` consecutive seeds by their score would give.

    The score is how well the calibrated confidence tells the validation windows from
    synthetic non-gestures made of them (``synthetic none AUROC``), as ``train --candidates``
    computes it; each group's pick is compared with the group's mean (paired: mean
    difference ± its standard error over the groups, and in how many groups it is lower).
    """
    score = metrics["synthetic none AUROC"]
    groups = [range(g * k, (g + 1) * k) for g in range(len(score) // k)]
    if len(groups) < 2:
        print(f"\n{name}: --select {k} needs at least {2 * k} seeds")
        return
    picks = [max(group, key=lambda i: score[i]) for group in groups]
    print(f"\n{name}, best of {k} seeds by synthetic none AUROC ({len(groups)} groups):")
    for key, values in metrics.items():
        picked = [values[i] for i in picks]
        diff = np.array(
            [
                values[i] - np.mean([values[j] for j in g])
                for i, g in zip(picks, groups, strict=True)
            ]
        )
        error = diff.std(ddof=1) / np.sqrt(len(diff))
        print(
            f"  {key:26s} {spread(picked)}; against the group's mean {diff.mean():+.3f} ± "
            f"{error:.3f} (lower in {(diff < 0).sum()} of {len(diff)})"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", nargs="+", default=list(DESIGNS), choices=list(DESIGNS))
    parser.add_argument("--seeds", type=int, default=5, help="how many seeds")
    parser.add_argument("--first-seed", type=int, default=0, help="the first of them")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--stride", type=int, default=2, help="step between training windows")
    parser.add_argument(
        "--select",
        type=int,
        nargs="+",
        default=[],
        metavar="K",
        help="also report, per group of K consecutive seeds, the model that train "
        "--candidates K would keep (the highest 'synthetic none AUROC')",
    )
    parser.add_argument("--threshold", type=float, default=0.6, help="calibrated confidence")
    parser.add_argument(
        "--save-outputs",
        type=Path,
        metavar="DIR",
        help="save each model's calibrated probabilities on the photos and webcam windows",
    )
    parser.add_argument(
        "--teachers",
        type=int,
        default=0,
        help="train each seed's model as train --teachers N does, and measure the teachers' "
        "ensemble too (as <design>/teachers)",
    )
    args = parser.parse_args(argv)
    leap, hagrid, webcam = (
        DATA / "leapgestrecog-sample",
        DATA / "hagrid-sample",
        DATA / "webcam-sample",
    )
    for folder in (leap, hagrid, webcam):
        if not folder.is_dir():
            print(f"generalisation.py: error: {folder} not found", file=sys.stderr)
            return 2
    started = time.perf_counter()
    summary = extract_landmarks(
        leap,
        OUT / "leapgestrecog-sample-auto.npz",
        extractor="auto",
        workers=2,
        progress=False,
        force=True,  # its own cache: extracted again when the frames or settings changed
    )
    table = LandmarkTable.load(summary.path)
    photos = photo_landmarks(hagrid, OUT / "hagrid-sample-auto.npz", "auto")
    frames = photo_landmarks(webcam, OUT / "webcam-sample-auto.npz", "auto")
    standard = found_rate(hagrid, OUT / "hagrid-sample-mediapipe-rate.npz")
    print(
        f"landmarks ready in {time.perf_counter() - started:.0f} s: infrared hand in "
        f"{summary.coverage:.1%} of {summary.frames} frames; HaGRID photos: hand found in "
        f"{standard:.1%} by MediaPipe Hands alone, {photos['detected'].mean():.1%} with the "
        f"photo fallbacks (auto); webcam frames: {frames['detected'].mean():.1%}"
    )
    modes = sorted({DESIGNS[d].feature_mode for d in args.designs} | {"normalized"})
    print("\nmean |feature change| per augmentation (0 = the transform does nothing there):")
    for name, per_mode in augmentation_effects(table, modes).items():
        print(f"  {name:12s} " + "  ".join(f"{m} {v:.4f}" for m, v in per_mode.items()))

    results: dict[str, dict[str, list[float]]] = {}
    for name in args.designs:
        design = DESIGNS[name]
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            t0 = time.perf_counter()
            prep = design.preprocessing(args.stride)
            # As prepare_data does for the time split, with synthetic non-gestures if asked.
            gestures = gesture_order(table.gestures)
            train, val_windows, test, _ = split_windows(
                table, prep, TrainingConfig(split="time", seed=seed), gestures
            )
            rng = np.random.default_rng(seed)
            if design.held_views:
                train = with_held_views(train)
            if design.negatives is not None:
                train = with_negatives(train, design.negatives, len(gestures), rng)
                gestures = [*gestures, REJECTION_LABEL]
            data = training_inputs(
                train, val_windows, test, gestures, design.augmentation, prep, rng
            )
            # The shifted validation windows train calibrates on.
            x_shifted, y_shifted = data.x_shifted, data.y_shifted
            # The synthetic non-gestures that train --candidates scores its models on.
            x_synthetic = probe_inputs(
                data,
                RunConfig(preprocessing=prep, training=TrainingConfig(split="time", seed=seed)),
            )
            # The rules train saves (train.rejection_rules), from the same windows.
            rule = rules_from_windows(
                [train, val_windows], gestures, design.augmentation.finger_donors
            )
            if args.teachers:
                config = RunConfig(
                    preprocessing=prep, training=TrainingConfig(split="time", seed=seed)
                )
                x_transfer = transfer_inputs(data, config)
                model = Distilled(
                    design, data, x_shifted, args.epochs, seed, x_transfer, args.teachers
                )
                models = {
                    name: model,
                    f"{name}/teachers": Ensemble(design, data, x_shifted, model.parts),
                }
            elif design.kind == "lstm+frames":
                parts = [
                    Classifier(replace(design, kind=kind), data, x_shifted, args.epochs, seed)
                    for kind in ("lstm", "frames")
                ]
                models = {
                    name: Ensemble(design, data, x_shifted, parts),
                    f"{name}/lstm": parts[0],
                    f"{name}/frames": parts[1],
                }
            else:
                model = Classifier(design, data, x_shifted, args.epochs, seed)
                models = {name: model}
                if design.model.frame_units and design.kind == "lstm":
                    # Its two parts, each alone: the LSTM is the one the design without the
                    # single-frame classifier trains (the same seed and windows).
                    models[f"{name}/lstm"] = Classifier.part(
                        replace(design, model=LSTM_ONLY),
                        lstm_part(model.model),
                        model.epochs,
                        data,
                        x_shifted,
                    )
                    models[f"{name}/frames"] = Classifier.part(
                        replace(design, kind="keras-frames"),
                        model.model.get_layer(FRAMES_NAME),
                        model.frame_epochs,
                        data,
                        x_shifted,
                    )
                    # The same parts averaged as they were trained, without their own
                    # temperatures (train's default until report 14.13).
                    models[f"{name}/plain-average"] = Ensemble(
                        design,
                        data,
                        x_shifted,
                        [
                            Classifier.part(
                                replace(design, model=LSTM_ONLY, kind=kind),
                                unscaled(part.model, temperature),
                                part.epochs,
                                data,
                                x_shifted,
                            )
                            for part, kind, temperature in zip(
                                (models[f"{name}/lstm"], models[f"{name}/frames"]),
                                ("lstm", "keras-frames"),
                                model.part_temperatures,
                                strict=True,
                            )
                        ],
                    )
            for label, model in models.items():
                measure(
                    label,
                    model,
                    data,
                    x_shifted,
                    y_shifted,
                    x_synthetic,
                    photos,
                    frames,
                    args,
                    rule,
                    results,
                )
                print(
                    f"[{label} seed {seed}] {time.perf_counter() - t0:.0f} s, "
                    f"{model.epochs} epochs: "
                    + ", ".join(f"{k} {v[-1]:.3f}" for k, v in results[label].items()),
                    flush=True,
                )
    print(
        f"\nmean ± sd over {args.seeds} seeds from {args.first_seed} (epochs <= {args.epochs}, "
        f"stride {args.stride}, threshold {args.threshold} on calibrated confidence):"
    )
    keys = list(next(iter(results.values())))
    for name, metrics in results.items():
        print(f"\n{name}")
        for key in keys:
            print(f"  {key:26s} {spread(metrics[key])}")
    for k in args.select:
        for name, metrics in results.items():
            print_selection(name, metrics, k)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
