"""Training: from landmarks to a saved model with its metrics and plots."""

from __future__ import annotations

import hashlib
import os
import platform
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .calibration import Calibration, ShiftConfig, calibrate, shift_windows
from .config import (
    CONFIG_FILE,
    MAPPING_FILE,
    MODEL_FILE,
    AugmentationConfig,
    ModelConfig,
    PreprocessingConfig,
    RunConfig,
    TrainingConfig,
)
from .dataset import download, find_recordings, remove_download
from .errors import InputError
from .evaluate import compute_metrics, write_reports
from .features import frame_features
from .landmark_file import LandmarkTable
from .landmarks import extract_landmarks
from .model import MODEL_SET_FILES, fit, predict_classes, predict_probabilities, write_model_files
from .sequences import SplitData, prepare_data, split_windows
from .storage import OutputLock, user_cache_dir, write_file_set
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


def data_fingerprint(table: LandmarkTable, path: str | os.PathLike | None = None) -> dict:
    """The training data's fingerprint, recorded in ``model_config.json``.

    Args:
        table: The landmarks trained on.
        path: The landmark file they were read from; without one (a table built in memory)
            the hash covers the table's arrays instead of a file's bytes.

    Returns:
        ``landmarks_sha256``, what it hashes (``file`` or ``arrays``) and ``frames``.
    """
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


def check_output_dir(out_dir: str | os.PathLike, force: bool) -> Path:
    """Refuses to overwrite a directory that already holds a model unless ``force``.

    Raises:
        InputError: If ``out_dir`` holds a model and ``force`` is false, is a file, or cannot
            be written.
    """
    out_dir = check_writable_dir(out_dir, "--out")
    existing = [f for f in (MODEL_FILE, MAPPING_FILE, CONFIG_FILE) if (out_dir / f).exists()]
    if existing and not force:
        raise InputError(
            f"--out {out_dir}: already holds a model ({', '.join(existing)}); "
            "pass --force to replace it or choose another --out"
        )
    return out_dir


def fit_calibration(
    model: Any, table: LandmarkTable, config: RunConfig, gestures: list[str]
) -> Calibration:
    """Fits the temperature on shifted copies of the validation windows.

    See :mod:`hand_gesture_recognition.calibration` for why the windows are shifted.

    Args:
        model: The trained classifier.
        table: The landmarks it was trained on.
        config: Its settings (the split gives the validation windows).
        gestures: Class order.

    Returns:
        The calibration.
    """
    _, val, _, _ = split_windows(table, config.preprocessing, config.training, gestures)
    rng = np.random.default_rng(config.training.seed)
    windows, aspect = shift_windows(val.windows, val.aspect, ShiftConfig(), rng)
    x = frame_features(windows, aspect, config.preprocessing.feature_mode)
    labels = np.tile(val.labels, len(windows) // max(len(val), 1))
    return calibrate(predict_probabilities(model, x), labels)


def train_model(
    table: LandmarkTable,
    config: RunConfig,
    out_dir: str | os.PathLike | None = None,
    force: bool = False,
    verbose: int | str = "auto",
    data: SplitData | None = None,
    lock: OutputLock | None = None,
) -> TrainResult:
    """Splits, augments, trains, calibrates, evaluates on the test part and saves everything.

    The temperature of :mod:`~hand_gesture_recognition.calibration` is fitted on the
    validation windows and saved beside the model as ``calibration.json``.

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

    Returns:
        The model and its metrics.

    Raises:
        InputError: If ``out_dir`` holds a model and ``force`` is false, another run writes
            there, the data holds fewer than two gestures, or it is too small for the split.
    """
    if out_dir is None or (lock is not None and lock.held):
        return _train_model(table, config, out_dir, force, verbose, data, lock)
    check_output_dir(out_dir, force)
    with OutputLock(out_dir) as own:
        return _train_model(table, config, out_dir, force, verbose, data, own)


def check_gestures(gestures: list[str], where: object) -> None:
    """Refuses data with fewer than two gestures (a one-class model is always "right").

    Raises:
        InputError: Naming ``where`` and the gesture found.
    """
    if len(gestures) < 2:
        found = f"only {gestures[0]!r}" if gestures else "none"
        raise InputError(f"{where}: a classifier needs at least two gestures, found {found}")


def _train_model(table, config, out_dir, force, verbose, data, lock) -> TrainResult:
    if out_dir is not None:
        check_output_dir(out_dir, force)  # Again, now that this run holds the lock.
    check_gestures(table.gestures, "the landmarks")
    started = time.perf_counter()
    if data is None:
        data = prepare_data(table, config.preprocessing, config.augmentation, config.training)
    prepared = time.perf_counter()
    model, history = fit(data, config, verbose)
    trained = time.perf_counter()
    calibration = fit_calibration(model, table, config, data.gestures)
    y_pred = predict_classes(model, data.x_test)
    metrics = compute_metrics(data.y_test, y_pred, data.gestures, data.protocol)
    metrics["calibration"] = asdict(calibration)
    epochs = len(history.get("loss", []))
    metrics["training"] = {
        "epochs_run": epochs,
        "windows": {
            "train": len(data.y_train),
            "validation": len(data.y_val),
            "test": len(data.y_test),
        },
        "seconds_preparing": round(prepared - started, 2),
        "seconds_training": round(trained - prepared, 2),
        "seconds_per_epoch": round((trained - prepared) / max(epochs, 1), 3),
        "best_val_loss": min(history.get("val_loss", [float("nan")])),
    }
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
    landmarks: str | os.PathLike | None = None,
    out_dir: str | os.PathLike = "models",
    epochs: int = 100,
    batch_size: int = 32,
    split: str = "auto",
    seed: int = 42,
    feature_mode: str = "canonical",
    missing: str = "window",
    stride: int | None = None,
    keep_dataset: bool = False,
    dest: str | os.PathLike = "datasets",
    force: bool = False,
    workers: int = 1,
    extractor: str = "auto",
    min_confidence: float = 0.5,
    tracking: bool = False,
    log=print,
    verbose: int | str = "auto",
) -> TrainResult:
    """The main job: (download,) extract, augment, train, evaluate, save (and clean up).

    With neither ``data_dir`` nor ``landmarks`` the dataset is downloaded from Kaggle into
    ``dest`` and deleted at the end unless ``keep_dataset``; a directory the user passed is
    never deleted.

    Args:
        data_dir: A LeapGestRecog-shaped tree of frames.
        landmarks: A landmark ``.npz`` (skips extraction).
        out_dir: Receives the model and its reports.
        epochs: Maximum epochs.
        batch_size: Mini-batch size.
        split: ``auto``, ``subject``, ``time`` or ``random``.
        seed: Seed for split, augmentation and initialisation.
        feature_mode: ``raw``, ``normalized`` or ``canonical``.
        missing: ``window``, ``zero`` or ``interpolate`` (see
            :mod:`~hand_gesture_recognition.preprocessing`).
        stride: Step between training windows (1 by default; 3 for the downloaded dataset).
        keep_dataset: Keep a downloaded dataset.
        dest: Download folder.
        force: Replace a model in ``out_dir``.
        workers: Extraction worker processes.
        extractor: Landmark extractor name.
        min_confidence: Extractor confidence threshold.
        tracking: Extract in tracking mode.
        log: Receives progress messages.
        verbose: Keras verbosity.

    Returns:
        The trained model and its metrics.
    """
    # Check everything the user chose before any long work starts, and keep other runs out
    # of --out until this one is done.
    check_output_dir(out_dir, force)
    config = RunConfig(
        preprocessing=PreprocessingConfig(
            window_stride=stride or 1,
            feature_mode=feature_mode,
            missing=missing,
            extractor=extractor,
            min_detection_confidence=min_confidence,
        ),
        augmentation=AugmentationConfig(),
        model=ModelConfig(),
        training=TrainingConfig(epochs=epochs, batch_size=batch_size, split=split, seed=seed),
    )
    with OutputLock(out_dir) as lock:
        downloaded: Path | None = None
        if landmarks is None and data_dir is None:
            data_dir, downloaded = _download(Path(dest), log)
            if stride is None:
                preprocessing = replace(config.preprocessing, window_stride=3)
                config = replace(config, preprocessing=preprocessing)
        if landmarks is None:
            recordings = find_recordings(data_dir)
            check_gestures(sorted({r.gesture for r in recordings}), f"--data {data_dir}")
            cache = landmark_cache_path(data_dir, extractor)
            log(f"extracting landmarks from {data_dir} ({extractor}, {workers} worker(s)) ...")
            summary = extract_landmarks(
                data_dir,
                cache,
                extractor=extractor,
                workers=workers,
                tracking=tracking,
                min_confidence=min_confidence,
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
            landmarks = cache
        else:
            landmarks = Path(landmarks)
        table = LandmarkTable.load(landmarks)
        check_gestures(table.gestures, landmarks)
        log(
            f"training on {len(table)} frames of {len(table.gestures)} gestures, "
            f"{len(table.subjects)} subject(s) ..."
        )
        config = replace(config, info={**config.info, "data": data_fingerprint(table, landmarks)})
        result = train_model(table, config, out_dir, force=force, verbose=verbose, lock=lock)
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
