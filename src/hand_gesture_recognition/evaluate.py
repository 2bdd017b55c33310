"""Metrics, plots and evaluation protocols (windows of a file, leave-one-subject-out, photos).

Evaluation windows come from :mod:`~hand_gesture_recognition.preprocessing`, the path
training and live use share; ``hand-gesture evaluate`` also writes one row per window to
``predictions.csv`` (``sequence,end_frame,true,predicted,confidence,answer``) for error
analysis, and ``metrics.json`` holds per-subject and per-gesture slices. Photos of other
people, one sub-folder per gesture, are answered one by one as the app answers a photo
(:func:`evaluate_photos`, ``hand-gesture evaluate --photos``; one row per photo in
``photos.csv``).

Accuracy is the closed-set figure: the most likely gesture against the true one. What a
person using the model would be told is the *answer* (:meth:`Calibration.answer`, the
decision live use makes): the gesture, nothing when the model is unsure, or "not a gesture"
when a rule rejects the window. ``metrics.json`` reports both (``answers``).
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .calibration import (
    GESTURE,
    NOT_GESTURE,
    REJECTION_LABEL,
    UNCERTAIN,
    Answers,
    Calibration,
    calibration_error_of,
    reliability,
    rules_from_windows,
)
from .config import (
    METRICS_FILE,
    RELIABILITY_FILE,
    RunConfig,
    atomic_output,
    write_bytes_atomic,
    write_json_atomic,
)
from .dataset import gesture_order
from .errors import InputError
from .landmark_file import LandmarkTable
from .model import LoadedModel, fit, fit_calibration, predict_probabilities
from .preprocessing import (
    WindowSet,
    recording_segments,
    segment_windows,
    table_windows,
    window_features,
)
from .realtime import ImageFolderSource, RealTimeGestureRecognizer, list_images
from .sequences import training_inputs

#: One row per evaluated window.
PREDICTIONS_FILE = "predictions.csv"
PREDICTION_COLUMNS = ("sequence", "end_frame", "true", "predicted", "confidence", "answer")


def compute_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, gestures: list[str], protocol: dict | None = None
) -> dict[str, Any]:
    """Accuracy, macro-F1, a per-class table and the confusion matrix.

    Args:
        y_true: True class indices.
        y_pred: Predicted class indices.
        gestures: Class names by index.
        protocol: Description of how the test data was chosen.

    Returns:
        A JSON-compatible dict with ``accuracy``, ``macro_f1``, ``per_class``,
        ``confusion_matrix``, ``labels``, ``support`` and ``protocol``.
    """
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    labels = list(range(len(gestures)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    present = support > 0
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)) if len(y_true) else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "support": int(len(y_true)),
        "per_class": {
            g: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, g in enumerate(gestures)
        },
        "labels": list(gestures),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "protocol": protocol or {},
    }


def classification_report_text(metrics: dict[str, Any]) -> str:
    """Formats the per-class table of :func:`compute_metrics` like scikit-learn's report."""
    width = max(12, *(len(g) for g in metrics["per_class"]))
    lines = [f"{'':>{width}}  precision    recall  f1-score   support", ""]
    for name, row in metrics["per_class"].items():
        lines.append(
            f"{name:>{width}}  {row['precision']:9.3f} {row['recall']:9.3f} "
            f"{row['f1']:9.3f} {row['support']:9d}"
        )
    lines += [
        "",
        f"{'accuracy':>{width}}  {'':9} {'':9} {metrics['accuracy']:9.3f} {metrics['support']:9d}",
        f"{'macro f1':>{width}}  {'':9} {'':9} {metrics['macro_f1']:9.3f} {metrics['support']:9d}",
    ]
    protocol = metrics.get("protocol", {})
    if protocol.get("description"):
        lines += ["", f"protocol: {protocol.get('split', '')}: {protocol['description']}"]
    return "\n".join(lines) + "\n"


def plot_confusion_matrix(metrics: dict[str, Any], normalize: bool = True):
    """Returns a matplotlib figure of the confusion matrix as a heatmap."""
    import seaborn as sns
    from matplotlib.figure import Figure

    matrix = np.asarray(metrics["confusion_matrix"], dtype=float)
    shown = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1) if normalize else matrix
    n = len(metrics["labels"])
    # A pyplot-free Figure: it neither changes a notebook's backend nor lingers in pyplot.
    figure = Figure(figsize=(1.0 + 0.75 * n, 0.8 + 0.65 * n))
    axis = figure.subplots()
    sns.heatmap(
        shown,
        annot=matrix.astype(int),
        fmt="d",
        cmap="Blues",
        vmin=0,
        vmax=1 if normalize else None,
        xticklabels=metrics["labels"],
        yticklabels=metrics["labels"],
        cbar_kws={"label": "share of true class"},
        ax=axis,
    )
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title(f"Confusion matrix (accuracy {metrics['accuracy']:.3f})")
    figure.tight_layout()
    return figure


def plot_reliability(metrics: dict[str, Any]):
    """Returns a figure of the reliability diagram in ``metrics["reliability"]``.

    Each confidence bin's accuracy is drawn against its mean calibrated confidence; a
    calibrated model's bars reach the diagonal. Bar labels are the bins' window counts.

    Args:
        metrics: Metrics with ``reliability`` (its ``ece`` and ``bins``).

    Returns:
        A matplotlib ``Figure``.
    """
    from matplotlib.figure import Figure

    reliability = metrics["reliability"]
    figure = Figure(figsize=(5.5, 5.4))
    axis = figure.subplots()
    axis.plot([0, 1], [0, 1], "--", color="grey", label="calibrated")
    rows = reliability["bins"]
    lows = [r["low"] for r in rows]
    widths = [r["high"] - r["low"] for r in rows]
    accuracy = [r["accuracy"] for r in rows]
    bars = axis.bar(lows, accuracy, widths, align="edge", color="tab:blue", alpha=0.7)
    axis.bar_label(bars, labels=[str(r["count"]) for r in rows], fontsize=8)
    confidence = [r["confidence"] for r in rows]
    axis.plot(confidence, accuracy, "o", color="tab:orange", label="mean confidence of a bin")
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1.08)
    axis.set_xlabel("calibrated confidence")
    axis.set_ylabel("accuracy")
    axis.set_title(f"Reliability (expected calibration error {reliability['ece']:.3f})")
    figure.legend(loc="lower center", ncol=2, frameon=False)  # Below: bars fill the axes.
    figure.tight_layout(rect=(0, 0.06, 1, 1))
    return figure


def plot_training_curves(history: dict[str, list[float]]):
    """Returns a figure of loss and accuracy per epoch for training and validation."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4))
    axes = figure.subplots(1, 2)
    for axis, key in zip(axes, ("loss", "accuracy"), strict=True):
        for prefix, style in (("", "-"), ("val_", "--")):
            values = history.get(prefix + key)
            if values:
                label = "validation" if prefix else "training"
                axis.plot(range(1, len(values) + 1), values, style, label=label)
        axis.set_xlabel("epoch")
        axis.set_ylabel(key)
        axis.grid(alpha=0.3)
        axis.legend()
    axes[0].set_title("Loss")
    axes[1].set_title("Accuracy")
    figure.tight_layout()
    return figure


def save_figure(figure, path: str | os.PathLike) -> None:
    """Saves a figure as PNG atomically."""
    tmp = atomic_output(path)
    try:
        figure.savefig(tmp, dpi=110)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_reports(
    out_dir: str | os.PathLike, metrics: dict[str, Any], history: dict | None = None
) -> None:
    """Writes the metrics, the report and the plots into ``out_dir``.

    The files are ``metrics.json``, ``classification_report.txt``, ``confusion_matrix.png``,
    ``reliability.png`` (given :func:`reliability_metrics` in ``metrics``) and, given a
    training history, ``training_curves.png``. Metrics without test figures (``"test":
    null``, the ``none`` split) get no report and no plots of them.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out_dir / METRICS_FILE, metrics)
    if metrics.get("accuracy") is not None:
        write_bytes_atomic(
            out_dir / "classification_report.txt", classification_report_text(metrics).encode()
        )
        save_figure(plot_confusion_matrix(metrics), out_dir / "confusion_matrix.png")
        if metrics.get("reliability", {}).get("bins"):
            save_figure(plot_reliability(metrics), out_dir / RELIABILITY_FILE)
    if history:
        save_figure(plot_training_curves(history), out_dir / "training_curves.png")


def answered_right(answers: Answers, y_true: np.ndarray, gestures: list[str]) -> np.ndarray:
    """Whether each window's answer is right.

    A gesture's window is answered right when its answer is that gesture; a window of the
    :data:`REJECTION_LABEL` class when it is answered as no gesture ("not a gesture" or
    "uncertain", as the benchmarks count a non-gesture rejected).
    """
    is_none = np.asarray(gestures)[y_true] == REJECTION_LABEL
    gesture = answers.state == GESTURE
    return np.where(is_none, ~gesture, gesture & (answers.top == y_true))


def answer_metrics(
    answers: Answers, y_true: np.ndarray, gestures: list[str], threshold: float
) -> dict[str, Any]:
    """The shares of windows answered right, wrong, with nothing and as "not a gesture".

    ``right`` (:func:`answered_right`), ``wrong`` (answered as another gesture),
    ``uncertain`` (a gesture's window answered with nothing) and ``rejected`` (a gesture's
    window answered "not a gesture") add up to 1; ``points_down`` and ``off_shape`` are the
    shares of all windows that each rule rejects (a window can break both).

    Args:
        answers: :meth:`Calibration.answer` of the windows.
        y_true: True class indices.
        gestures: Class names by index.
        threshold: The threshold the answers were given at.
    """
    right = answered_right(answers, y_true, gestures)
    is_none = np.asarray(gestures)[y_true] == REJECTION_LABEL
    state = answers.state

    def share(mask: np.ndarray) -> float:
        return float(mask.mean()) if len(mask) else 0.0

    return {
        "threshold": float(threshold),
        "right": share(right),
        "wrong": share((state == GESTURE) & ~right),
        "uncertain": share((state == UNCERTAIN) & ~is_none),
        "rejected": share((state == NOT_GESTURE) & ~is_none),
        "points_down": share(answers.points_down),
        "off_shape": share(answers.off_shape),
    }


def reliability_metrics(answers: Answers, y_true: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """How far the calibrated confidence is from accuracy on these windows.

    Args:
        answers: :meth:`Calibration.answer` of the windows (calibrated probabilities).
        y_true: True class indices.
        bins: Equal-width confidence bins.

    Returns:
        ``bins`` (:func:`~hand_gesture_recognition.calibration.reliability`: the top class's
        calibrated probability against whether it is the true class) and ``ece``, their
        expected calibration error.
    """
    rows = reliability(answers.probabilities, y_true, bins)
    return {"ece": calibration_error_of(rows), "bins": rows}


def slice_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    groups: np.ndarray,
    gestures: list[str],
    right: np.ndarray | None = None,
) -> dict[str, dict[str, Any]]:
    """Accuracy and window count of each group (a subject, a gesture).

    Args:
        y_true: True class indices.
        y_pred: Predicted class indices.
        groups: The group of each window.
        gestures: Class names by index (for the most frequent confusion).
        right: Whether each window's answer is right (:func:`answered_right`), or None.

    Returns:
        ``{group: {"accuracy", "windows", "most_confused_with"}}`` in group order, plus
        ``answered_right`` given ``right``; ``most_confused_with`` is the most frequent
        wrong prediction, or None.
    """
    out = {}
    for group in sorted(set(groups.tolist())):
        rows = groups == group
        wrong = y_pred[rows][y_pred[rows] != y_true[rows]]
        confused = None
        if len(wrong):
            values, counts = np.unique(wrong, return_counts=True)
            confused = gestures[int(values[np.argmax(counts)])]
        out[str(group)] = {
            "accuracy": float((y_true[rows] == y_pred[rows]).mean()),
            "windows": int(rows.sum()),
            "most_confused_with": confused,
        }
        if right is not None:
            out[str(group)]["answered_right"] = float(right[rows].mean())
    return out


def add_slices(
    metrics: dict[str, Any],
    windows: WindowSet,
    y_pred: np.ndarray,
    gestures: list[str],
    right: np.ndarray | None = None,
) -> dict[str, Any]:
    """Adds ``slices`` (``subject`` and ``gesture``) of :func:`slice_metrics` to ``metrics``."""
    names = np.asarray(gestures)[windows.labels] if len(windows) else np.zeros(0, str)
    metrics["slices"] = {
        "subject": slice_metrics(windows.labels, y_pred, windows.subject, gestures, right),
        "gesture": slice_metrics(windows.labels, y_pred, names, gestures, right),
    }
    return metrics


def predictions_csv(windows: WindowSet, answers: Answers, gestures: list[str]) -> bytes:
    """The ``predictions.csv`` bytes: one row per window, in window order.

    Args:
        windows: The windows evaluated.
        answers: Their answers (:meth:`Calibration.answer`).
        gestures: Class names by index.

    Returns:
        CSV with the columns of :data:`PREDICTION_COLUMNS`: ``predicted`` is the most likely
        gesture, ``confidence`` its calibrated probability, ``answer`` what the model
        answers (:meth:`Answers.labels`: the gesture, ``uncertain`` or ``not_gesture``).
    """
    said = answers.labels(gestures)
    return _csv_bytes(
        PREDICTION_COLUMNS,
        (
            (
                windows.sequence[i],
                int(windows.end_frame[i]),
                gestures[int(windows.labels[i])],
                gestures[int(answers.top[i])],
                f"{float(answers.confidence[i]):.6f}",
                said[i],
            )
            for i in range(len(windows))
        ),
    )


def _csv_bytes(columns: tuple[str, ...], rows) -> bytes:
    """A CSV file's bytes: the header ``columns``, then one line per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def report_answers(
    metrics: dict[str, Any],
    windows: WindowSet,
    answers: Answers,
    gestures: list[str],
    threshold: float,
) -> dict[str, Any]:
    """Adds the closed-set slices, :func:`answer_metrics` and :func:`reliability_metrics`."""
    right = answered_right(answers, windows.labels, gestures)
    add_slices(metrics, windows, answers.top, gestures, right)
    metrics["answers"] = answer_metrics(answers, windows.labels, gestures, threshold)
    metrics["reliability"] = reliability_metrics(answers, windows.labels)
    return metrics


def evaluate_model(
    loaded: LoadedModel,
    table: LandmarkTable,
    out_dir: str | os.PathLike | None = None,
    threshold: float | None = None,
    source: str = "the landmark table",
) -> dict[str, Any]:
    """Evaluates a trained model on every window of a landmark table.

    Windows slide at stride 1 over each recording and are preprocessed with the model's own
    settings, exactly as live use would see the same frames; confidences are calibrated
    with the model's ``calibration.json`` (if any), and each window is answered as live use
    answers one (:meth:`Calibration.answer`, without live use's smoothing over the last few
    windows).

    Args:
        loaded: A loaded model.
        table: The landmarks; its gestures must all be known to the model.
        out_dir: Receives the metrics, the plots and ``predictions.csv`` (nothing is written
            when None).
        threshold: The smallest confident top probability (None: the calibration's).
        source: What error messages call the table (``--landmarks FILE``).

    Returns:
        The metrics (see :func:`compute_metrics`) with ``slices`` and ``answers``
        (:func:`answer_metrics`).

    Raises:
        InputError: If the table has gestures the model does not know or no full window.
    """
    preprocessing = loaded.preprocessing
    unknown = sorted(set(table.gestures) - set(loaded.gestures))
    if unknown:
        raise InputError(
            f"{source}: has gestures the model does not know: "
            f"{', '.join(map(repr, unknown))} (it knows {', '.join(loaded.gestures)})"
        )
    windows = table_windows(table, list(loaded.gestures), preprocessing)
    if len(windows) == 0:
        raise InputError(
            f"{source}: has no window of {preprocessing.sequence_length} frames with enough "
            "detected hands"
        )
    x = window_features(windows, preprocessing.feature_mode)
    gestures = list(loaded.gestures)
    calibration = Calibration.load(loaded.directory)
    threshold = calibration.threshold if threshold is None else threshold
    answers = calibration.answer(
        predict_probabilities(loaded.model, x), windows.windows, windows.aspect, gestures, threshold
    )
    protocol = {
        "split": "all",
        "description": "every window of the landmark file",
        "subjects": table.subjects,
    }
    metrics = compute_metrics(windows.labels, answers.top, gestures, protocol)
    report_answers(metrics, windows, answers, gestures, threshold)
    if out_dir is not None:
        write_reports(out_dir, metrics)
        write_bytes_atomic(
            Path(out_dir) / PREDICTIONS_FILE, predictions_csv(windows, answers, gestures)
        )
    return metrics


def loso_windows(
    segments, subject: str, others: list[str], position: int, config: RunConfig, index: dict
) -> tuple[WindowSet, WindowSet, WindowSet]:
    """Train, validation and test windows of one leave-one-subject-out fold.

    Validation is one of the training subjects, or the last frames of each training
    recording when only one training subject remains.
    """
    prep, training = config.preprocessing, config.training
    length = prep.sequence_length

    def windows(parts, stride=None):
        return WindowSet.concatenate(
            [segment_windows(s, index[s.gesture], prep, stride) for s in parts], length
        )

    test = windows([s for s in segments if s.subject == subject], 1)
    if len(others) >= 2:
        val_subject = others[position % len(others)]
        train = windows([s for s in segments if s.subject in others and s.subject != val_subject])
        val = windows([s for s in segments if s.subject == val_subject], 1)
        return train, val, test
    train_parts, val_parts = [], []
    for s in (s for s in segments if s.subject in others):
        n_val = max(length, round(training.split_fractions[1] * len(s)))
        train_parts.append(s.slice(range(0, len(s) - n_val)))
        val_parts.append(s.slice(range(len(s) - n_val, len(s))))
    return windows(train_parts), windows(val_parts, 1), test


def leave_one_subject_out(
    table: LandmarkTable,
    config: RunConfig,
    out_dir: str | os.PathLike | None = None,
    epochs: int | None = None,
    log=print,
    verbose: int | str = 0,
) -> dict[str, Any]:
    """Leave-one-subject-out cross-validation with fresh models.

    For each subject, a model with ``config``'s settings is trained on the other subjects and
    tested on that one (see :func:`loso_windows` for validation). The classes are the
    gestures present in the table; windows, augmentation and features are training's own
    (:func:`~hand_gesture_recognition.sequences.training_inputs`).

    Args:
        table: The landmarks (at least two subjects).
        config: The settings (a model's ``model_config.json``).
        out_dir: Receives ``metrics.json`` with ``folds`` and ``mean_accuracy``, the plots
            of the pooled predictions and ``predictions.csv``. Each fold's model is answered
            as ``train`` would answer it: with the rules of its own training and validation
            windows (:func:`~hand_gesture_recognition.calibration.rules_from_windows`) and the
            temperature fitted on its own shifted validation windows
            (:func:`~hand_gesture_recognition.model.fit_calibration`; each fold's
            ``temperature``), at the default threshold. So ``answers`` and ``reliability`` say
            how often, and how confidently, a model learnt from the other subjects answers the
            held-out subject.
        epochs: Maximum epochs per fold (``config``'s when None).
        log: Receives one line per fold.
        verbose: Keras verbosity.

    Returns:
        Pooled metrics over all folds, plus ``folds``, ``mean_accuracy``, ``slices`` and
        ``answers``.

    Raises:
        InputError: With fewer than two subjects.
    """
    subjects = table.subjects
    if len(subjects) < 2:
        raise InputError(
            f"leave-one-subject-out needs at least 2 subjects, the file has {len(subjects)}"
        )
    if epochs is not None:
        config = replace(config, training=replace(config.training, epochs=epochs))
    gestures = gesture_order(table.gestures)
    index = {g: i for i, g in enumerate(gestures)}
    segments = recording_segments(table)
    length = config.preprocessing.sequence_length
    folds, tested, answered = [], [], []
    rng = np.random.default_rng(config.training.seed)
    for position, subject in enumerate(subjects):
        others = [s for s in subjects if s != subject]
        train, val, test = loso_windows(segments, subject, others, position, config, index)
        if len(test) == 0 or len(train) == 0 or len(val) == 0:
            log(f"subject {subject}: skipped (too few windows)")
            continue
        data = training_inputs(
            train, val, test, gestures, config.augmentation, config.preprocessing, rng
        )
        model, history = fit(data, config, verbose)
        rules = rules_from_windows([train, val], gestures, config.augmentation.finger_donors)
        calibration = fit_calibration(model, data, config, rules)
        fold_answers = calibration.answer(
            predict_probabilities(model, data.x_test), test.windows, test.aspect, gestures
        )
        fold = compute_metrics(test.labels, fold_answers.top, gestures)
        folds.append(
            {
                "subject": subject,
                "accuracy": fold["accuracy"],
                "macro_f1": fold["macro_f1"],
                "answered_right": float(answered_right(fold_answers, test.labels, gestures).mean()),
                "windows": int(len(test)),
                "validation_windows": int(len(val)),
                "epochs_run": len(history.get("loss", [])),
                "temperature": calibration.temperature,
                "calibrated_on": calibration.fitted_on,
            }
        )
        tested.append(test)
        answered.append(fold_answers)
        log(f"subject {subject}: accuracy {fold['accuracy']:.4f} ({len(test)} windows)")
    if not folds:
        raise InputError("leave-one-subject-out found no subject with enough windows")
    protocol = {
        "split": "loso",
        "subjects": subjects,
        "description": "leave-one-subject-out: one fresh model per held-out subject",
    }
    windows = WindowSet.concatenate(tested, length)
    pooled = Answers.concatenate(answered)
    metrics = compute_metrics(windows.labels, pooled.top, gestures, protocol)
    report_answers(metrics, windows, pooled, gestures, Calibration().threshold)
    metrics["folds"] = folds
    metrics["mean_accuracy"] = float(np.mean([f["accuracy"] for f in folds]))
    metrics["mean_macro_f1"] = float(np.mean([f["macro_f1"] for f in folds]))
    if out_dir is not None:
        write_reports(out_dir, metrics)
        write_bytes_atomic(
            Path(out_dir) / PREDICTIONS_FILE, predictions_csv(windows, pooled, gestures)
        )
    return metrics


# ---------------------------------------------------------------------------------------------
# Photos of other people: one folder per gesture.

#: One row per evaluated photo.
PHOTOS_FILE = "photos.csv"
#: Every file an evaluation may write into its folder.
RESULT_FILES = (
    METRICS_FILE,
    "classification_report.txt",
    "confusion_matrix.png",
    RELIABILITY_FILE,
    PREDICTIONS_FILE,
    PHOTOS_FILE,
)
PHOTO_COLUMNS = ("path", "folder", "expected", "answer", "candidate", "confidence")
#: What a photo that must be rejected is expected to be answered, in ``photos.csv``.
NO_GESTURE = "no_gesture"


@dataclass(frozen=True)
class PhotoLabels:
    """Which gesture each folder of a photo set shows, and which folders show none.

    Attributes:
        gestures: Folder name to the model's gesture its photos show, for folders not named
            after the gesture (``fist`` → ``03_fist``); a folder named like one of the model's
            gestures needs no entry.
        reject: Folders whose photos show no gesture of the model (a hand doing nothing, a
            gesture the model does not know): a photo there is right when no gesture is
            answered (no hand, ``uncertain`` or ``not_gesture``).
    """

    gestures: tuple[tuple[str, str], ...] = ()
    reject: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        both = sorted({name for name, _ in self.gestures} & set(self.reject))
        if both:
            raise InputError(f"--as and --reject both name the folder {both[0]!r}; choose one")
        named: dict[str, str] = {}
        for folder, gesture in self.gestures:
            if named.setdefault(folder, gesture) != gesture:
                raise InputError(
                    f"--as {folder}={named[folder]} and {folder}={gesture}: one gesture per folder"
                )

    def expected(self, folder: Path, model_gestures: list[str]) -> str | None:
        """The gesture a folder's photos show, or None for a folder of non-gestures.

        Args:
            folder: A sub-folder of the photo set.
            model_gestures: The model's gestures.

        Returns:
            The gesture (its ``--as`` gesture, else its own name), or None when rejected.

        Raises:
            InputError: If the folder is neither a gesture of the model nor rejected, or is
                mapped to a gesture the model does not know.
        """
        mapped = dict(self.gestures)
        if folder.name in self.reject:
            return None
        gesture = mapped.get(folder.name, folder.name)
        if gesture not in model_gestures:
            if folder.name in mapped:
                raise InputError(
                    f"--as {folder.name}={gesture}: the model has no gesture {gesture!r} "
                    f"(it knows {', '.join(model_gestures)})"
                )
            raise InputError(
                f"{folder}: not a gesture of the model; name the gesture its photos show with "
                f"--as {folder.name}=GESTURE, or --reject {folder.name} if they show none"
            )
        return gesture


def photo_folders(folder: str | os.PathLike, labels: PhotoLabels) -> list[Path]:
    """The sub-folders of a photo set, checked against ``labels`` before any work.

    Args:
        folder: One sub-folder of photos per gesture.
        labels: What each sub-folder shows.

    Returns:
        The sub-folders in name order (hidden ones left out).

    Raises:
        InputError: If ``folder`` is not a folder or has no sub-folder, or ``labels`` names
            one it lacks.
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"--photos {root}: not a folder (expected one sub-folder per gesture)")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise InputError(f"--photos {root}: no sub-folders (expected one per gesture)")
    names = {p.name for p in folders}
    for name in [name for name, _ in labels.gestures] + list(labels.reject):
        if name not in names:
            has = ", ".join(sorted(names))
            raise InputError(f"--photos {root}: has no sub-folder {name!r} (it has {has})")
    return folders


def photo_plan(
    folder: str | os.PathLike, labels: PhotoLabels, gestures: list[str]
) -> dict[Path, str | None]:
    """Each sub-folder of a photo set and the gesture its photos show, checked before any work.

    Args:
        folder: One sub-folder of photos per gesture.
        labels: What each sub-folder shows.
        gestures: The model's gestures.

    Returns:
        Each sub-folder and its gesture (None for a folder of non-gestures).

    Raises:
        InputError: If ``folder`` has no sub-folder, ``labels`` names one it lacks, or a
            sub-folder is neither a gesture of the model nor rejected, or holds no images.
    """
    plan = {sub: labels.expected(sub, gestures) for sub in photo_folders(folder, labels)}
    for sub in plan:
        list_images(sub)
    return plan


def evaluate_photos(
    recognizer: RealTimeGestureRecognizer,
    folder: str | os.PathLike,
    labels: PhotoLabels,
    out_dir: str | os.PathLike | None = None,
    log=print,
) -> dict[str, Any]:
    """Answers every photo of a labelled photo set as the app's photo tab answers it.

    Each photo is answered on its own (:meth:`RealTimeGestureRecognizer.classify_image`:
    the extractor's photo fallbacks, the photo held for a whole window, the model's
    calibration and rules). A gesture folder's photo is right when it is answered with its
    gesture; a rejected folder's photo is right when it is answered with no gesture.

    Args:
        recognizer: The model, with the threshold to answer at.
        folder: One sub-folder of photos per gesture (see :class:`PhotoLabels`).
        labels: What each sub-folder shows.
        out_dir: Receives ``metrics.json`` and ``photos.csv`` (one row per photo).
        log: Receives one line per sub-folder.

    Returns:
        ``gesture_photos`` (photos of the model's gestures: how many, hands found, the share
        answered right and the share whose most likely gesture is right),
        ``non_gesture_photos`` (how many, and the share answered with no gesture) and
        ``folders`` (per sub-folder: the gesture expected, photos, hands found, what they
        were answered, and how many were right).

    Raises:
        InputError: For a sub-folder that is neither a gesture of the model nor rejected, or
            holds no images.
    """
    plan = photo_plan(folder, labels, recognizer.gestures)
    folders = list(plan)
    expected = {f.name: gesture for f, gesture in plan.items()}
    sources = {f.name: ImageFolderSource(f, log) for f in folders}
    rows: list[tuple[str, str, str, str, str, float]] = []
    per_folder: dict[str, dict[str, Any]] = {}
    for sub in folders:
        wanted = expected[sub.name]
        answers: Counter[str] = Counter()
        right = top_right = found = 0
        for image, path in sources[sub.name]:
            prediction = recognizer.classify_image(image)
            said = prediction.label if prediction.state == GESTURE else prediction.state
            answers[str(said)] += 1
            found += bool(prediction.hand_detected)
            right += said == wanted if wanted else prediction.state != GESTURE
            top_right += wanted is not None and prediction.candidate == wanted
            rows.append(
                (
                    path,
                    sub.name,
                    wanted or NO_GESTURE,
                    str(said),
                    prediction.candidate or "",
                    round(float(prediction.confidence), 6),
                )
            )
        photos = sum(answers.values())
        per_folder[sub.name] = {
            "expected": wanted or NO_GESTURE,
            "photos": photos,
            "unreadable": len(sources[sub.name].paths) - photos,
            "hands_found": found,
            "answers": dict(answers.most_common()),
            "right": right,
            "most_likely_right": top_right if wanted else None,
        }
        log(f"{sub.name} ({wanted or 'no gesture'}): {right} of {photos} photos right")
    metrics = {
        "photos": str(folder),
        "threshold": recognizer.threshold,
        "gesture_photos": _photo_totals(per_folder, gestures=True),
        "non_gesture_photos": _photo_totals(per_folder, gestures=False),
        "folders": per_folder,
        "labels": {"gestures": dict(labels.gestures), "reject": list(labels.reject)},
    }
    if out_dir is not None:
        write_bytes_atomic(Path(out_dir) / PHOTOS_FILE, _csv_bytes(PHOTO_COLUMNS, rows))
        write_json_atomic(Path(out_dir) / METRICS_FILE, metrics)
    return metrics


def _photo_totals(per_folder: dict[str, dict[str, Any]], gestures: bool) -> dict[str, Any]:
    """Totals over the gesture folders (``gestures``) or over the rejected ones."""
    chosen = [f for f in per_folder.values() if (f["expected"] != NO_GESTURE) == gestures]
    photos = sum(f["photos"] for f in chosen)

    def share(key: str) -> float | None:
        return sum(f[key] for f in chosen) / photos if photos else None

    totals: dict[str, Any] = {
        "photos": photos,
        "hands_found": sum(f["hands_found"] for f in chosen),
    }
    if gestures:
        totals.update(right=share("right"), most_likely_right=share("most_likely_right"))
    else:
        totals["rejected"] = share("right")
    return totals
