"""Training: from landmarks to a saved model with its metrics and plots."""

from __future__ import annotations

import hashlib
import os
import platform
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .calibration import (
    REJECTION_LABEL,
    Calibration,
    rules_from_windows,
)
from .config import (
    CONFIG_FILE,
    MAPPING_FILE,
    MODEL_FILE,
    AugmentationConfig,
    FinetuneConfig,
    ModelConfig,
    PreprocessingConfig,
    RunConfig,
    TrainingConfig,
)
from .dataset import download, find_recordings, remove_download
from .errors import InputError
from .evaluate import compute_metrics, evaluate_model, report_answers, write_reports
from .features import frame_features
from .landmark_file import LandmarkTable, merge_tables
from .landmarks import extract_landmarks
from .model import (
    MODEL_SET_FILES,
    LoadedModel,
    distil,
    finetune_model,
    fit,
    fit_calibration,
    load_model,
    predict_classes,
    predict_probabilities,
    read_mapping,
    teacher_seed,
    write_model_files,
)
from .negatives import transplants
from .preprocessing import WindowSet
from .sequences import SplitData, prepare_data, shifted_inputs
from .storage import OutputLock, file_digest, same_file, user_cache_dir, write_file_set
from .storage import check_output_dir as check_writable_dir


@dataclass
class TrainResult:
    """What :func:`train_model` produced."""

    model: Any
    gestures: list[str]
    config: RunConfig
    metrics: dict[str, Any]
    history: dict[str, list[float]]
    out_dir: Path | None


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape a model's results."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version()}
    for name in ("tensorflow", "keras", "mediapipe", "numpy", "hand-gesture-recognition"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def data_fingerprint(
    table: LandmarkTable,
    path: str | os.PathLike | list[str | os.PathLike] | None = None,
) -> dict:
    """The training data's fingerprint, recorded in ``model_config.json``.

    Args:
        table: The landmarks trained on.
        path: The landmark file they were read from, or the files that were merged into
            them; without one (a table built in memory) the hash covers the table's arrays
            instead of a file's bytes.

    Returns:
        ``landmarks_sha256``, what it hashes (``file``, ``files`` or ``arrays``) and
        ``frames``; for several files also ``files``, each file's path, SHA-256 and frames,
        and ``landmarks_sha256`` is the SHA-256 of their hashes in order.
    """
    if isinstance(path, (list, tuple)) and len(path) == 1:
        path = path[0]
    if isinstance(path, (list, tuple)):
        files = [
            {"path": str(p), "sha256": file_digest(p), "frames": source["frames"]}
            for p, source in zip(path, table.meta.get("sources", []), strict=True)
        ]
        combined = hashlib.sha256("".join(f["sha256"] for f in files).encode()).hexdigest()
        return {
            "landmarks_sha256": combined,
            "hashed": "files",
            "frames": len(table),
            "files": files,
        }
    digest = hashlib.sha256()
    if path is not None:
        with Path(path).open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    else:
        for name in ("landmarks", "detected", "subject", "gesture", "sequence", "frame"):
            digest.update(np.ascontiguousarray(getattr(table, name)).tobytes())
    return {
        "landmarks_sha256": digest.hexdigest(),
        "hashed": "file" if path is not None else "arrays",
        "frames": len(table),
    }


@dataclass(frozen=True)
class BaseModel:
    """A trained model that fine-tuning starts from (``train --init``), and how.

    Attributes:
        loaded: The base model (Keras), its gestures, settings and directory.
        settings: What is frozen and the learning rate.
    """

    loaded: LoadedModel
    settings: FinetuneConfig = field(default_factory=FinetuneConfig)

    def lineage(self) -> dict[str, Any]:
        """What ``model_config.json`` records of the base (``info.finetuned_from``)."""
        directory = self.loaded.directory
        info = self.loaded.config.info
        return {
            "path": str(Path(directory).resolve()) if directory is not None else None,
            "model_sha256": file_digest(Path(directory) / MODEL_FILE)
            if directory is not None
            else None,
            "data": info.get("data"),
            "gestures": list(self.loaded.gestures),
            "package_version": info.get("package_version"),
            "freeze": self.settings.freeze,
            "learning_rate": self.settings.learning_rate,
        }


#: The model directory's files that ``--init`` needs.
BASE_FILES = (MODEL_FILE, MAPPING_FILE, CONFIG_FILE)


def read_base(path: str | os.PathLike) -> tuple[RunConfig, list[str]]:
    """Checks that ``path`` is a model directory and reads its settings and gestures.

    Reads JSON only (no Keras), so that a wrong ``--init`` is reported before any slow work.

    Args:
        path: The ``--init`` directory.

    Returns:
        The base model's settings and its gestures in class order.

    Raises:
        InputError: If ``path`` is not a model directory written by ``train`` or one of its
            files is not valid (the path and what was expected are named).
    """
    path = Path(path)
    expected = (
        f"expected a model directory written by 'hand-gesture train' (with {', '.join(BASE_FILES)})"
    )
    if not path.is_dir():
        what = "is not a directory" if path.exists() else "not found"
        raise InputError(f"--init {path}: {what}; {expected}")
    missing = [name for name in BASE_FILES if not (path / name).is_file()]
    if missing:
        raise InputError(f"--init {path}: has no {', '.join(missing)}; {expected}")
    try:
        return RunConfig.load(path / CONFIG_FILE), read_mapping(path / MAPPING_FILE)
    except InputError as error:
        raise InputError(f"--init {error}") from None


#: The command-line flags of the preprocessing settings that ``--init`` takes from the base.
PREPROCESSING_FLAGS = {
    "feature_mode": "--features",
    "missing": "--missing",
    "extractor": "--extractor",
    "min_detection_confidence": "--min-confidence",
}


def base_preprocessing(
    base: RunConfig, where: str | os.PathLike, given: dict[str, Any], stride: int | None
) -> PreprocessingConfig:
    """The base model's preprocessing, refusing flags the user gave that differ from it.

    Args:
        base: The base model's settings.
        where: The ``--init`` path (for messages).
        given: The preprocessing settings the user gave (None: not given), by field name.
        stride: The training-window stride (a training setting only; the user's is kept).

    Returns:
        The preprocessing of the fine-tuned model.

    Raises:
        InputError: If a given setting differs from the base model's.
    """
    for name, value in given.items():
        kept = getattr(base.preprocessing, name)
        if value is not None and value != kept:
            flag = PREPROCESSING_FLAGS.get(name, name)
            raise InputError(
                f"{flag} {value}: the base model --init {where} was trained with {name} "
                f"{kept!r}; fine-tuning keeps the base's preprocessing (leave {flag} out)"
            )
    return replace(base.preprocessing, window_stride=stride or 1)


def check_data_fits(
    table: LandmarkTable, path: str | os.PathLike, preprocessing: PreprocessingConfig
) -> None:
    """Refuses landmarks whose extraction or recorded preprocessing differs from a model's.

    The extractor matches when the names are equal or either is ``auto`` (which runs the
    infrared or the MediaPipe path by the frames' colour); a file without extraction
    settings (your own recordings) matches any. A ``preprocessing`` object in the file's
    ``meta`` must agree with the model's on every setting it gives but the stride.

    Raises:
        InputError: Naming the file, the setting and both values.
    """
    name = table.meta.get("extractor", {}).get("extractor")
    if name not in (None, "auto", preprocessing.extractor) and preprocessing.extractor != "auto":
        raise InputError(
            f"{path}: landmarks extracted with the {name!r} extractor, but the base model "
            f"uses {preprocessing.extractor!r}; extract them again with --extractor "
            f"{preprocessing.extractor}"
        )
    recorded = table.meta.get("preprocessing", {})
    known = {f for f in PreprocessingConfig.__dataclass_fields__ if f != "window_stride"}
    for key, value in recorded.items() if isinstance(recorded, dict) else ():
        if key in known and value != getattr(preprocessing, key):
            raise InputError(
                f"{path}: recorded for preprocessing {key}={value!r}, but the base model uses "
                f"{key}={getattr(preprocessing, key)!r}"
            )


def check_output_dir(out_dir: str | os.PathLike, force: bool) -> Path:
    """Refuses to overwrite files of a model directory that ``out_dir`` holds unless ``force``.

    Any file of a model directory's set (:data:`~hand_gesture_recognition.model.MODEL_SET_FILES`:
    a model's, or the metrics and plots an evaluation wrote there) would be replaced.

    Args:
        out_dir: The output directory.
        force: Replace such files.

    Returns:
        ``out_dir`` as a path.

    Raises:
        InputError: If ``out_dir`` holds such a file and ``force`` is false, is a file, or
            cannot be written.
    """
    out_dir = check_writable_dir(out_dir, "--out")
    existing = [f for f in MODEL_SET_FILES if (out_dir / f).exists()]
    if existing and not force:
        model = [f for f in existing if f in BASE_FILES]
        held = "a model" if model else "files that training writes"
        raise InputError(
            f"--out {out_dir}: already holds {held} ({', '.join(model or existing)}); "
            "pass --force to replace them or choose another --out"
        )
    return out_dir


def split_parts(data: SplitData) -> tuple[WindowSet, WindowSet, WindowSet]:
    """The landmark windows ``data`` was made of (training, validation, test).

    Args:
        data: The prepared split.

    Returns:
        The three parts' landmark windows.

    Raises:
        RuntimeError: If ``data`` was not made by
            :func:`~hand_gesture_recognition.sequences.prepare_data` or
            :func:`~hand_gesture_recognition.sequences.training_inputs`.
    """
    if data.parts is None:
        raise RuntimeError("the prepared data does not carry the windows it was made of")
    return data.parts


def held_out_windows(data: SplitData) -> WindowSet | None:
    """The landmark windows behind ``data.x_test``, to answer them as live use would.

    Args:
        data: The prepared split.

    Returns:
        The test part's windows; None for the ``random`` split, whose test windows are
        augmented copies drawn from every part.
    """
    if data.protocol.get("split") == "random":
        return None
    return split_parts(data)[2]


def rejection_rules(data: SplitData, config: RunConfig) -> Calibration:
    """The orientation and finger rules of a model trained on the split's windows.

    :func:`~hand_gesture_recognition.calibration.rules_from_windows` of the training and
    validation windows, with the fingers that ``config.augmentation.finger_donors`` gives
    the training windows.

    Args:
        data: The prepared split.
        config: The run's settings.

    Returns:
        A calibration holding only the rules (temperature 1).
    """
    train, val, _ = split_parts(data)
    return rules_from_windows([train, val], data.gestures, config.augmentation.finger_donors)


def transfer_inputs(data: SplitData, config: RunConfig) -> np.ndarray:
    """Shifted copies of the training windows, on which a student learns its teachers' answers.

    The shift is the one temperatures are fitted on (:func:`shifted_inputs`); the teachers
    never saw these inputs.

    Args:
        data: The prepared split.
        config: The run's settings (its seed and feature mode).

    Returns:
        ``(n, L, F)`` model inputs.
    """
    train = split_parts(data)[0]
    rng = np.random.default_rng(config.training.seed + 1)
    mode = config.preprocessing.feature_mode
    return shifted_inputs(train.windows, train.aspect, train.labels, mode, rng)[0]


#: Synthetic non-gestures per validation window, and how far (in one finger's extension) each
#: must be from every validation window, for choosing among candidates (report 14.10).
PROBE_PER_WINDOW = 2.0
PROBE_MARGIN = 0.45

#: Why ``metrics.json`` lists one candidate when several were asked for.
NO_PROBES_REASON = (
    "no synthetic non-gesture could be made from the validation windows (their gestures' "
    "fingers are too alike), so one model was trained"
)


@dataclass(frozen=True)
class Candidate:
    """One model of ``train --candidates``: its seed, epochs and separation score.

    ``score`` is None when nothing could score it (:data:`NO_PROBES_REASON`).
    """

    seed: int
    epochs_run: int
    score: float | None


def probe_inputs(data: SplitData, config: RunConfig) -> np.ndarray:
    """Model inputs of synthetic non-gestures made of the validation windows' gestures.

    Finger transplants (:func:`~hand_gesture_recognition.negatives.transplants`) between
    validation windows of different gestures, each unlike every validation window in some
    finger; a user's own ``none`` windows are neither used nor compared with.

    Args:
        data: The prepared split.
        config: The run's settings (its seed and feature mode).

    Returns:
        The inputs, none when no transplant can be made (too few gestures, or gestures too
        alike).
    """
    val = split_parts(data)[1]
    if REJECTION_LABEL in data.gestures:
        val = val.take(np.flatnonzero(val.labels != data.gestures.index(REJECTION_LABEL)))
    rng = np.random.default_rng(config.training.seed)
    made = transplants(val, round(PROBE_PER_WINDOW * len(val)), PROBE_MARGIN, -1, rng)
    return frame_features(made.windows, made.aspect, config.preprocessing.feature_mode)


def separation(gesture_probabilities: np.ndarray, probe_probabilities: np.ndarray) -> float:
    """AUROC of the top probability for real windows against synthetic non-gestures.

    1 when every real window gets a higher confidence than every non-gesture, 0.5 when
    confidence says nothing about it.
    """
    from sklearn.metrics import roc_auc_score

    scores = np.r_[gesture_probabilities.max(1), probe_probabilities.max(1)]
    truth = np.r_[np.ones(len(gesture_probabilities)), np.zeros(len(probe_probabilities))]
    return float(roc_auc_score(truth, scores))


def best_candidate(
    data: SplitData, config: RunConfig, verbose: int | str = "auto"
) -> tuple[Any, dict, Calibration, dict[str, Any]]:
    """Trains several models and keeps the one that best tells gestures from non-gestures.

    ``config.training.candidates`` models are trained; they differ only by their seed (the
    configured one first, then :func:`~hand_gesture_recognition.model.teacher_seed`'s).
    Each is calibrated as a single model is (:func:`fit_calibration`); its score is the
    :func:`separation` of its calibrated confidence on the validation windows from that on
    :func:`probe_inputs`. The same design answers other people very differently from one
    seed to the next, and this score, which needs nothing but the training data, picked the
    better seeds on another person's webcam at the benchmark's training settings
    (TECHNICAL_REPORT section 14.10), not at ``train``'s own (section 14.11).

    When no synthetic non-gesture can be made of the validation windows, nothing can score
    the candidates and only the first is trained.

    Returns:
        The chosen model, its history and calibration, and what ``metrics.json`` records
        under ``training.candidates``: the chosen seed, every candidate's seed, epochs and
        score, and a ``note`` when nothing could score them.
    """
    training = config.training
    x_probe = probe_inputs(data, config)
    count = training.candidates if len(x_probe) else 1
    rules = rejection_rules(data, config)
    real = np.flatnonzero(np.asarray(data.gestures)[data.y_val] != REJECTION_LABEL)
    columns = [i for i, g in enumerate(data.gestures) if g != REJECTION_LABEL]
    best, candidates = None, []
    for k in range(count):
        seed = training.seed if k == 0 else teacher_seed(training.seed, k - 1)
        model, history = fit(data, replace(config, training=replace(training, seed=seed)), verbose)
        calibration = fit_calibration(model, data, config, rules)
        score = None
        if len(x_probe):
            score = separation(
                calibration.apply(predict_probabilities(model, data.x_val[real]))[:, columns],
                calibration.apply(predict_probabilities(model, x_probe))[:, columns],
            )
        candidates.append(Candidate(seed, len(history.get("loss", [])), score))
        if best is None or (score is not None and score > best[0]):
            best = (score, model, history, calibration, seed)
    _, model, history, calibration, chosen = best
    summary = {"chosen_seed": chosen, "models": [asdict(c) for c in candidates]}
    if not len(x_probe):
        summary["note"] = NO_PROBES_REASON
    return model, history, calibration, summary


def train_model(
    table: LandmarkTable,
    config: RunConfig,
    out_dir: str | os.PathLike | None = None,
    force: bool = False,
    verbose: int | str = "auto",
    data: SplitData | None = None,
    lock: OutputLock | None = None,
    base: BaseModel | None = None,
) -> TrainResult:
    """Splits, augments, trains, calibrates, evaluates on the test part and saves everything.

    The temperature of :mod:`~hand_gesture_recognition.calibration` is fitted on the
    validation windows and saved beside the model as ``calibration.json``. With the ``none``
    split there is no test part: ``metrics.json`` has ``"test": null`` with the reason in
    ``test_reason``, null ``accuracy`` and ``macro_f1``, and the validation windows' figures
    under ``validation``.

    Args:
        table: The landmarks.
        config: All settings.
        out_dir: Receives the model, mapping, config, metrics and plots (nothing is written
            when None).
        force: Replace a model already in ``out_dir``.
        verbose: Keras verbosity.
        data: The output of :func:`~hand_gesture_recognition.sequences.prepare_data` for this
            table and config, when the caller has it already (it is prepared otherwise).
        lock: The lock on ``out_dir`` when the caller holds it; taken here otherwise, so
            that no other run writes there meanwhile.
        base: Fine-tune this model (:func:`~hand_gesture_recognition.model.finetune_model`)
            instead of training a fresh one; ``config`` must hold its model and preprocessing
            sections. ``model_config.json`` records it under ``info.finetuned_from``.

    Returns:
        The model and its metrics.

    Raises:
        InputError: If ``out_dir`` holds a model and ``force`` is false, another run writes
            there, the data holds fewer than two gestures, or it is too small for the split.
    """
    if out_dir is None or (lock is not None and lock.held):
        return _train_model(table, config, out_dir, force, verbose, data, lock, base)
    check_output_dir(out_dir, force)
    with OutputLock(out_dir) as own:
        return _train_model(table, config, out_dir, force, verbose, data, own, base)


def takes_config(
    base: RunConfig,
    finetune: FinetuneConfig | None = None,
    *,
    epochs: int | None = None,
    split: str = "none",
    seed: int = 42,
    batch_size: int = 32,
    preprocessing: PreprocessingConfig | None = None,
) -> RunConfig:
    """The settings of a model trained on a few takes with a base model's design.

    The base's preprocessing (at window stride 1), augmentation and architecture are kept:
    fine-tuning needs them, and a fresh model with the same design compares with it on
    equal terms. ``train --init`` fine-tunes with these settings.

    Args:
        base: The base model's settings.
        finetune: How the base is fine-tuned; None for a fresh model of the same design.
        epochs: Maximum epochs (None: ``finetune.epochs``, or a fresh training's 100).
        split: The split (``none`` keeps no test set; see
            :mod:`~hand_gesture_recognition.sequences`).
        seed: Seed of the split, the augmentation and the new weights.
        batch_size: Mini-batch size.
        preprocessing: The preprocessing, when the caller has checked and set it (None: the
            base's at window stride 1).

    Returns:
        The settings (their ``info`` is empty; training fills it).
    """
    default = TrainingConfig()
    return RunConfig(
        preprocessing=preprocessing or replace(base.preprocessing, window_stride=1),
        augmentation=base.augmentation,
        model=base.model,
        training=TrainingConfig(
            epochs=epochs or (finetune.epochs if finetune is not None else default.epochs),
            batch_size=batch_size,
            split=split,
            seed=seed,
            learning_rate=finetune.learning_rate if finetune is not None else default.learning_rate,
        ),
    )


def train_on_takes(
    takes: LandmarkTable,
    base: LoadedModel,
    finetune: FinetuneConfig | None = None,
    out_dir: str | os.PathLike | None = None,
    *,
    epochs: int | None = None,
    seed: int = 42,
    force: bool = False,
    verbose: int | str = 0,
) -> TrainResult:
    """Fine-tunes a base model on a few takes, or trains a fresh model of its design on them.

    The split is ``none`` (one take of each gesture or more validates, the rest trains; no
    test set) and the settings are :func:`takes_config`'s, as ``train --init`` uses them.

    Args:
        takes: The takes (at least two gestures with two takes each).
        base: The base model (Keras; :func:`~hand_gesture_recognition.model.load_model`).
        finetune: How it is fine-tuned; None trains a fresh model of the same design instead
            (whose ``model_config.json`` then has no ``info.finetuned_from``).
        out_dir: Receives the model directory (nothing is written when None).
        epochs: Maximum epochs (None: ``finetune.epochs``, or 100 for a fresh model).
        seed: Seed of the split, the augmentation and the new weights.
        force: Replace a model already in ``out_dir``.
        verbose: Keras verbosity.

    Returns:
        The trained model and its metrics (validation figures only).

    Raises:
        InputError: If the takes were extracted for another preprocessing than the base's,
            ``out_dir`` holds a model and ``force`` is false, or there are too few takes.
    """
    check_data_fits(takes, "the takes", base.preprocessing)
    config = takes_config(base.config, finetune, epochs=epochs, seed=seed)
    start = BaseModel(base, finetune) if finetune is not None else None
    return train_model(takes, config, out_dir, force=force, verbose=verbose, base=start)


#: The models :func:`compare_with_scratch` trains, by name.
FINETUNED, SCRATCH = "fine-tuned", "from scratch"


@dataclass
class TakesComparison:
    """A fine-tuned model against a fresh one trained on the same takes, on held-out takes.

    Attributes:
        results: :data:`FINETUNED` and :data:`SCRATCH`, the two trained models.
        held_out: The metrics of each on every window of the held-out takes
            (:func:`~hand_gesture_recognition.evaluate.evaluate_model`).
        seconds: Each model's training time (preparing, fitting, calibrating, saving).
    """

    results: dict[str, TrainResult]
    held_out: dict[str, dict[str, Any]]
    seconds: dict[str, float]

    def summary(self) -> list[dict[str, Any]]:
        """One row per model: held-out accuracy and macro-F1, windows, epochs and seconds."""
        return [
            {
                "model": name,
                "held-out accuracy": metrics["accuracy"],
                "held-out macro-F1": metrics["macro_f1"],
                "held-out windows": metrics["support"],
                "epochs": self.results[name].metrics["training"]["epochs_run"],
                "seconds": round(self.seconds[name], 1),
            }
            for name, metrics in self.held_out.items()
        ]


def compare_with_scratch(
    takes: LandmarkTable,
    held_out: LandmarkTable,
    base: str | os.PathLike | LoadedModel,
    out_dir: str | os.PathLike | None = None,
    *,
    finetune: FinetuneConfig | None = None,
    epochs: int | None = None,
    seed: int = 42,
    force: bool = False,
    verbose: int | str = 0,
) -> TakesComparison:
    """Fine-tunes a base model on a few takes, trains a fresh one on them, tests both.

    Both models are trained by :func:`train_on_takes` with the same settings, seed and
    epoch budget; only the starting weights differ. Each is then evaluated on every window
    (stride 1) of the held-out takes, which neither has seen.

    Args:
        takes: The takes to train on (e.g. the first part of :func:`~hand_gesture_recognition.
            record.split_takes`).
        held_out: The takes to test on; their gestures must be among ``takes``'.
        base: The base model or its directory.
        out_dir: Receives the fine-tuned model directory (None: it is not saved); the fresh
            model is not saved.
        finetune: How the base is fine-tuned (the defaults of :class:`FinetuneConfig`).
        epochs: Maximum epochs of each model (None: ``finetune.epochs``).
        seed: Seed of the split, the augmentation and the new weights.
        force: Replace a model already in ``out_dir``.
        verbose: Keras verbosity.

    Returns:
        Both models, their held-out metrics and their training times.

    Raises:
        InputError: If the held-out takes have a gesture the takes lack, ``base`` is not a
            model directory, ``out_dir`` holds a model and ``force`` is false, or training
            refuses the takes.
    """
    unknown = sorted(set(held_out.gestures) - set(takes.gestures))
    if unknown:
        raise InputError(
            f"the held-out takes have gestures the takes to train on lack: {', '.join(unknown)}"
        )
    if out_dir is not None:
        check_output_dir(out_dir, force)
    loaded = base if isinstance(base, LoadedModel) else load_model(base)
    finetune = finetune or FinetuneConfig()
    epochs = epochs or finetune.epochs
    results, metrics, seconds = {}, {}, {}
    for name, settings, directory in ((FINETUNED, finetune, out_dir), (SCRATCH, None, None)):
        started = time.perf_counter()
        result = train_on_takes(
            takes,
            loaded,
            settings,
            directory,
            epochs=epochs,
            seed=seed,
            force=force,
            verbose=verbose,
        )
        seconds[name] = time.perf_counter() - started
        trained = LoadedModel(result.model, result.gestures, result.config, result.out_dir)
        results[name] = result
        metrics[name] = evaluate_model(trained, held_out)
    return TakesComparison(results, metrics, seconds)


def check_gestures(gestures: list[str], where: object) -> None:
    """Refuses data with fewer than two gestures (a one-class model is always "right").

    Raises:
        InputError: Naming ``where`` and the gesture found.
    """
    if len(gestures) < 2:
        found = f"only {gestures[0]!r}" if gestures else "none"
        raise InputError(f"{where}: a classifier needs at least two gestures, found {found}")


#: Why a model trained with the ``none`` split has no test figures.
NO_TEST_REASON = (
    "split 'none': every recording was used for training or validation, so no test set was "
    "kept; measure the model with 'hand-gesture evaluate' on recordings it has not seen"
)


def _train_model(table, config, out_dir, force, verbose, data, lock, base) -> TrainResult:
    if out_dir is not None:
        check_output_dir(out_dir, force)  # Again, now that this run holds the lock.
    check_gestures(table.gestures, "the landmarks")
    started = time.perf_counter()
    if data is None:
        data = prepare_data(table, config.preprocessing, config.augmentation, config.training)
    prepared = time.perf_counter()
    start = None
    if base is not None:
        start = finetune_model(base.loaded, data.gestures, config, base.settings)
    teacher_histories: list[dict] = []
    candidates: dict[str, Any] = {}
    calibration = None
    if config.training.teachers and start is None:
        x_transfer = transfer_inputs(data, config)
        model, history, teachers = distil(data, config, x_transfer, verbose)
        teacher_histories = [h for _, h in teachers]
    elif config.training.candidates and start is None:
        model, history, calibration, candidates = best_candidate(data, config, verbose)
    else:
        model, history = fit(data, config, verbose, model=start)
    trained = time.perf_counter()
    if calibration is None:
        calibration = fit_calibration(model, data, config, rejection_rules(data, config))
    if len(data.y_test):
        probabilities = predict_probabilities(model, data.x_test)
        metrics = compute_metrics(
            data.y_test, probabilities.argmax(axis=1), data.gestures, data.protocol
        )
        test = held_out_windows(data)
        if test is not None:
            answers = calibration.answer(probabilities, test.windows, test.aspect, data.gestures)
            report_answers(metrics, test, answers, data.gestures, calibration.threshold)
    else:
        validation = compute_metrics(data.y_val, predict_classes(model, data.x_val), data.gestures)
        metrics = {
            "accuracy": None,
            "macro_f1": None,
            "support": 0,
            "test": None,
            "test_reason": NO_TEST_REASON,
            "labels": list(data.gestures),
            "protocol": data.protocol,
            "validation": {
                key: validation[key] for key in ("accuracy", "macro_f1", "support", "per_class")
            },
        }
    metrics["calibration"] = asdict(calibration)
    epochs = len(history.get("loss", []))
    # Every model this run fitted: the candidates, or the teachers and the student.
    fitted = [c["epochs_run"] for c in candidates.get("models", [])] or [
        epochs,
        *(len(h.get("loss", [])) for h in teacher_histories),
    ]
    metrics["training"] = {
        "epochs_run": epochs,
        "windows": {
            "train": len(data.y_train),
            "validation": len(data.y_val),
            "test": len(data.y_test),
        },
        "seconds_preparing": round(prepared - started, 2),
        "seconds_training": round(trained - prepared, 2),
        "seconds_per_epoch": round((trained - prepared) / max(sum(fitted), 1), 3),
        "best_val_loss": min(history.get("val_loss", [float("nan")])),
    }
    if "frames_loss" in history:
        metrics["training"]["frame_classifier"] = {
            "epochs_run": len(history["frames_loss"]),
            "best_val_loss": min(history.get("frames_val_loss", [float("nan")])),
        }
        # Each part's own temperature, folded into it before the two are averaged.
        metrics["training"]["part_temperatures"] = {
            "lstm": history["temperature"][0],
            "frame_classifier": history["frames_temperature"][0],
        }
    if teacher_histories:
        metrics["training"]["teachers"] = {
            "count": len(teacher_histories),
            "epochs_run": [len(h.get("loss", [])) for h in teacher_histories],
            "best_val_loss": [min(h.get("val_loss", [float("nan")])) for h in teacher_histories],
        }
    if candidates:
        metrics["training"]["candidates"] = candidates
    metrics["landmarks"] = {"extractor": table.extractor, "coverage": table.coverage()}
    info = {
        **config.info,
        "gestures": data.gestures,
        "protocol": data.protocol,
        "extraction": table.meta.get("extractor", {}),
        "versions": library_versions(),
        "package_version": __version__,
        "data": config.info.get("data") or data_fingerprint(table),
    }
    if base is not None:
        info["finetuned_from"] = base.lineage()
    config = replace(config, info=info)
    if out_dir is not None:

        def write(staging: Path) -> None:
            write_model_files(staging, model, data.gestures, config)
            calibration.save(staging)
            write_reports(staging, metrics, history)

        # The model, its settings and its metrics replace the old ones together or not at all.
        write_file_set(out_dir, write, replaces=MODEL_SET_FILES, lock=lock)
    return TrainResult(
        model,
        data.gestures,
        config,
        metrics,
        history,
        Path(out_dir) if out_dir is not None else None,
    )


def landmark_cache_path(data_dir: str | os.PathLike, extractor: str) -> Path:
    """Where the landmarks of a dataset tree are cached (the user's cache folder).

    The folder is ``$HGR_CACHE_DIR`` or ``$XDG_CACHE_HOME/hand-gesture-recognition`` (by
    default ``~/.cache/hand-gesture-recognition``), then ``landmarks/``.
    """
    resolved = str(Path(data_dir).resolve())
    digest = hashlib.sha256(resolved.encode()).hexdigest()[:10]
    return user_cache_dir() / "landmarks" / f"{Path(data_dir).name}-{extractor}-{digest}.npz"


def run_training(
    *,
    data_dir: str | os.PathLike | None = None,
    landmarks: str | os.PathLike | list[str | os.PathLike] | None = None,
    out_dir: str | os.PathLike = "models",
    epochs: int | None = None,
    batch_size: int = 32,
    split: str | None = None,
    seed: int = 42,
    teachers: int = 0,
    candidates: int = 0,
    feature_mode: str | None = None,
    missing: str | None = None,
    stride: int | None = None,
    keep_dataset: bool = False,
    dest: str | os.PathLike = "datasets",
    force: bool = False,
    workers: int = 1,
    extractor: str | None = None,
    min_confidence: float | None = None,
    tracking: bool = False,
    init: str | os.PathLike | None = None,
    finetune: FinetuneConfig | None = None,
    log=print,
    verbose: int | str = "auto",
) -> TrainResult:
    """The main job: (download,) extract, augment, train, evaluate, save (and clean up).

    With neither ``data_dir`` nor ``landmarks`` the dataset is downloaded from Kaggle into
    ``dest`` and deleted at the end unless ``keep_dataset``; a directory the user passed is
    never deleted.

    With ``init`` the model in that directory is fine-tuned instead of a fresh one trained:
    its preprocessing, augmentation and architecture are kept (a preprocessing setting given
    here that differs is refused), its output layer is replaced by one for the data's
    gestures, and the split is ``none`` unless one is given.

    Args:
        data_dir: A LeapGestRecog-shaped tree of frames.
        landmarks: A landmark ``.npz`` (skips extraction), or several, which are merged
            (:func:`~hand_gesture_recognition.landmark_file.merge_tables`).
        out_dir: Receives the model and its reports.
        epochs: Maximum epochs (None: 100, or ``finetune.epochs`` with ``init``).
        batch_size: Mini-batch size.
        split: ``auto``, ``subject``, ``time``, ``recording``, ``none`` or ``random``
            (None: ``auto``, or ``none`` with ``init``).
        seed: Seed for split, augmentation and initialisation.
        teachers: Models trained first whose averaged answers the saved model learns
            (``TrainingConfig.teachers``; 0 trains it directly; not with ``init``).
        candidates: Models trained from different seeds, of which the one that best tells
            gestures from synthetic non-gestures is saved (``TrainingConfig.candidates``;
            0 trains one; not with ``init`` or ``teachers``).
        feature_mode: ``raw``, ``normalized`` or ``canonical`` (None: ``canonical``, or the
            base's with ``init``).
        missing: ``window``, ``zero`` or ``interpolate`` (see
            :mod:`~hand_gesture_recognition.preprocessing`; None: ``window``, or the base's).
        stride: Step between training windows (1 by default; 3 for the downloaded dataset).
        keep_dataset: Keep a downloaded dataset.
        dest: Download folder.
        force: Replace a model in ``out_dir``.
        workers: Extraction worker processes.
        extractor: Landmark extractor name (None: ``auto``, or the base's).
        min_confidence: Extractor confidence threshold (None: 0.5, or the base's).
        tracking: Extract in tracking mode.
        init: A model directory to fine-tune.
        finetune: How it is fine-tuned (the defaults of :class:`FinetuneConfig` when None).
        log: Receives progress messages.
        verbose: Keras verbosity.

    Returns:
        The trained model and its metrics.

    Raises:
        InputError: If an argument or input file is not usable (before any long work where
            it can be known then).
    """
    # Check everything the user chose before any long work starts, and keep other runs out
    # of --out until this one is done.
    given = {
        "feature_mode": feature_mode,
        "missing": missing,
        "extractor": extractor,
        "min_detection_confidence": min_confidence,
    }
    paths = [
        Path(p)
        for p in ([landmarks] if isinstance(landmarks, (str, os.PathLike)) else landmarks or [])
    ]
    if init is not None and teachers:
        raise InputError("teachers train a fresh model; they cannot be combined with --init")
    if init is not None and candidates:
        raise InputError("candidates are fresh models; they cannot be combined with --init")
    base_config = base_gestures = None
    finetune = finetune or FinetuneConfig()
    if init is not None:
        base_config, base_gestures = read_base(init)
        preprocessing = base_preprocessing(base_config, init, given, stride)
        if Path(out_dir).exists() and same_file(out_dir, init) and not force:
            raise InputError(
                f"--out {out_dir}: is the --init model; choose another --out (or pass --force "
                "to replace the base with the fine-tuned model)"
            )
    else:
        preprocessing = PreprocessingConfig(
            window_stride=stride or 1,
            feature_mode=feature_mode or "canonical",
            missing=missing or "window",
            extractor=extractor or "auto",
            min_detection_confidence=0.5 if min_confidence is None else min_confidence,
        )
    check_output_dir(out_dir, force)
    if base_config is not None:
        config = takes_config(
            base_config,
            finetune,
            epochs=epochs,
            split=split or "none",
            seed=seed,
            batch_size=batch_size,
            preprocessing=preprocessing,
        )
    else:
        config = RunConfig(
            preprocessing=preprocessing,
            augmentation=AugmentationConfig(),
            model=ModelConfig(),
            training=TrainingConfig(
                epochs=epochs or TrainingConfig.epochs,
                batch_size=batch_size,
                split=split or "auto",
                seed=seed,
                teachers=teachers,
                candidates=candidates,
            ),
        )
    with OutputLock(out_dir) as lock:
        downloaded: Path | None = None
        if not paths and data_dir is None:
            data_dir, downloaded = _download(Path(dest), log)
            if stride is None:
                preprocessing = replace(config.preprocessing, window_stride=3)
                config = replace(config, preprocessing=preprocessing)
        if not paths:
            name = config.preprocessing.extractor
            confidence = config.preprocessing.min_detection_confidence
            recordings = find_recordings(data_dir)
            check_gestures(sorted({r.gesture for r in recordings}), f"--data {data_dir}")
            cache = landmark_cache_path(data_dir, name)
            log(f"extracting landmarks from {data_dir} ({name}, {workers} worker(s)) ...")
            summary = extract_landmarks(
                data_dir,
                cache,
                extractor=name,
                workers=workers,
                tracking=tracking,
                min_confidence=confidence,
                force=True,
                log=log,
            )
            log(
                f"hand found in {summary.detected} of {summary.frames} frames "
                f"({summary.coverage:.1%}); landmarks cached in {cache}"
            )
            if summary.unreadable:
                log(
                    f"skipped {len(summary.unreadable)} unreadable image(s), e.g. "
                    f"{summary.unreadable[0]}"
                )
            paths = [cache]
        sources = [(path, LandmarkTable.load(path)) for path in paths]
        if init is not None:
            for path, part in sources:
                check_data_fits(part, path, config.preprocessing)
        table = sources[0][1] if len(sources) == 1 else merge_tables(sources)
        where = paths[0] if len(paths) == 1 else "the merged landmark files"
        check_gestures(table.gestures, where)
        if len(sources) > 1:
            renamed = [str(s["path"]) for s in table.meta["sources"] if s["prefixed"]]
            log(
                f"merged {len(sources)} landmark files"
                + (
                    f"; recording ids found in several files were prefixed with their file's "
                    f"name in {', '.join(renamed)}"
                    if renamed
                    else ""
                )
            )
        base = None
        if init is not None:
            loaded = load_model(init)
            base = BaseModel(loaded, finetune)
            kept = [g for g in table.gestures if g in base_gestures]
            log(
                f"fine-tuning {init} ({len(base_gestures)} gestures; {len(kept)} of the "
                f"{len(table.gestures)} here keep their output weights; frozen: "
                f"{finetune.freeze}, learning rate {finetune.learning_rate:g})"
            )
        log(
            f"training on {len(table)} frames of {len(table.gestures)} gestures, "
            f"{len(table.subjects)} subject(s) ..."
            + (
                f" ({teachers} teacher models from other seeds first, then the saved model "
                "on their averaged answers)"
                if config.training.teachers
                else f" ({candidates} models from different seeds; the one that best tells "
                "gestures from synthetic non-gestures is kept)"
                if config.training.candidates
                else ""
            )
        )
        fingerprint = data_fingerprint(table, paths if len(paths) > 1 else paths[0])
        config = replace(config, info={**config.info, "data": fingerprint})
        result = train_model(
            table, config, out_dir, force=force, verbose=verbose, lock=lock, base=base
        )
    if result.metrics.get("test", True) is None:
        log(
            "no test set (split none): one recording of each gesture or more was held out "
            "for validation, the rest trained; metrics.json has no test figures"
        )
    # Only what this run downloaded is deleted, and only after success, so that a failed run
    # can be repeated without downloading again.
    if downloaded is not None and not keep_dataset:
        remove_download(downloaded, dest)
        log(f"deleted the dataset this run downloaded, {downloaded} (keep it with --keep-dataset)")
    return result


def _download(dest: Path, log) -> tuple[Path, Path | None]:
    """Downloads LeapGestRecog into ``dest``; returns its root and the folder this run created.

    A copy that was there before (``hand-gesture download``'s, or the user's) is reused and
    never deleted, so the second value is None for it.
    """
    target = dest / "leapgestrecog"
    existed = target.exists() or target.is_symlink()
    if existed:
        log(f"reusing the dataset in {target} (it was there before; it will be kept)")
    else:
        log(f"downloading LeapGestRecog into {dest}/ ...")
    root = download(dest)
    inside = target.resolve() in (root.resolve(), *root.resolve().parents)
    created = target if not existed and target.is_dir() and inside else None
    log(f"dataset at {root}")
    return root, created
