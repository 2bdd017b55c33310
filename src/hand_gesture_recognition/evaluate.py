"""Metrics, plots and evaluation protocols (held-out test windows, leave-one-subject-out)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .config import METRICS_FILE, atomic_output, write_bytes_atomic, write_json_atomic


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

    The files are ``metrics.json``, ``classification_report.txt``, ``confusion_matrix.png`` and,
    given a training history, ``training_curves.png``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out_dir / METRICS_FILE, metrics)
    write_bytes_atomic(
        out_dir / "classification_report.txt", classification_report_text(metrics).encode()
    )
    save_figure(plot_confusion_matrix(metrics), out_dir / "confusion_matrix.png")
    if history:
        save_figure(plot_training_curves(history), out_dir / "training_curves.png")


def evaluate_model(loaded, table, out_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """Evaluates a trained model on every window of a landmark table.

    Windows slide at stride 1 over each recording and are preprocessed with the model's own
    settings.

    Args:
        loaded: A :class:`~hand_gesture_recognition.model.LoadedModel`.
        table: The landmarks; its gestures must all be known to the model.
        out_dir: Receives the metrics and plots (nothing is written when None).

    Returns:
        The metrics (see :func:`compute_metrics`).

    Raises:
        InputError: If the table has gestures the model does not know or no full window.
    """
    from .errors import InputError
    from .sequences import WindowSet, recording_segments, segment_windows, window_features
    from .train import predict_classes

    preprocessing = loaded.preprocessing
    index = {g: i for i, g in enumerate(loaded.gestures)}
    unknown = sorted(set(table.gestures) - set(index))
    if unknown:
        raise InputError(
            f"the landmark file has gestures the model does not know: {', '.join(unknown)}"
        )
    windows = WindowSet.concatenate(
        [
            segment_windows(s, index[s.gesture], preprocessing, stride=1)
            for s in recording_segments(table)
        ],
        preprocessing.sequence_length,
    )
    if len(windows) == 0:
        raise InputError(
            f"the landmark file has no window of {preprocessing.sequence_length} frames "
            "with enough detected hands"
        )
    x = window_features(windows, preprocessing.feature_mode)
    y_pred = predict_classes(loaded.model, x)
    protocol = {
        "split": "all",
        "description": "every window of the landmark file",
        "subjects": table.subjects,
    }
    metrics = compute_metrics(windows.labels, y_pred, loaded.gestures, protocol)
    if out_dir is not None:
        write_reports(out_dir, metrics)
    return metrics


def leave_one_subject_out(
    table,
    config,
    out_dir: str | os.PathLike | None = None,
    epochs: int | None = None,
    log=print,
    verbose: int | str = 0,
) -> dict[str, Any]:
    """Leave-one-subject-out cross-validation with fresh models.

    For each subject, a model with ``config``'s settings is trained on the other subjects and
    tested on that one. Validation (early stopping) uses one of the training subjects, or the
    last frames of each training recording when only one training subject remains. The classes
    are the gestures present in the table.

    Args:
        table: The landmarks (at least two subjects).
        config: The settings (a model's ``model_config.json``).
        out_dir: Receives ``metrics.json`` with ``folds`` and ``mean_accuracy`` and the plots of
            the pooled predictions.
        epochs: Maximum epochs per fold (``config``'s when None).
        log: Receives one line per fold.
        verbose: Keras verbosity.

    Returns:
        Pooled metrics over all folds, plus ``folds`` and ``mean_accuracy``.

    Raises:
        InputError: With fewer than two subjects.
    """
    from dataclasses import replace

    from .augment import augment_windows
    from .dataset import gesture_order
    from .errors import InputError
    from .features import frame_features
    from .sequences import (
        SplitData,
        WindowSet,
        recording_segments,
        segment_windows,
        slice_segment,
        window_features,
    )
    from .train import fit, predict_classes

    subjects = table.subjects
    if len(subjects) < 2:
        raise InputError(
            f"leave-one-subject-out needs at least 2 subjects, the file has {len(subjects)}"
        )
    if epochs is not None:
        config = replace(config, training=replace(config.training, epochs=epochs))
    prep, training = config.preprocessing, config.training
    gestures = gesture_order(table.gestures)
    index = {g: i for i, g in enumerate(gestures)}
    segments = recording_segments(table)
    length = prep.sequence_length
    folds, all_true, all_pred = [], [], []
    rng = np.random.default_rng(training.seed)
    for position, subject in enumerate(subjects):
        others = [s for s in subjects if s != subject]
        test = WindowSet.concatenate(
            [
                segment_windows(s, index[s.gesture], prep, 1)
                for s in segments
                if s.subject == subject
            ],
            length,
        )
        if len(others) >= 2:
            val_subject = others[position % len(others)]
            train_parts = [
                segment_windows(s, index[s.gesture], prep)
                for s in segments
                if s.subject in others and s.subject != val_subject
            ]
            val_parts = [
                segment_windows(s, index[s.gesture], prep, 1)
                for s in segments
                if s.subject == val_subject
            ]
        else:
            train_parts, val_parts = [], []
            for s in (s for s in segments if s.subject in others):
                n_val = max(length, round(training.split_fractions[1] * len(s.landmarks)))
                cut = len(s.landmarks) - n_val
                train_parts.append(
                    segment_windows(slice_segment(s, range(0, cut)), index[s.gesture], prep)
                )
                val_parts.append(
                    segment_windows(
                        slice_segment(s, range(cut, len(s.landmarks))), index[s.gesture], prep, 1
                    )
                )
        train = WindowSet.concatenate(train_parts, length)
        val = WindowSet.concatenate(val_parts, length)
        if len(test) == 0 or len(train) == 0 or len(val) == 0:
            log(f"subject {subject}: skipped (too few windows)")
            continue
        windows, labels = augment_windows(
            train.windows, train.labels, config.augmentation, prep.missing, rng
        )
        aspect = np.concatenate([train.aspect] * (1 + config.augmentation.copies))
        data = SplitData(
            frame_features(windows, aspect, prep.feature_mode),
            labels,
            window_features(val, prep.feature_mode),
            val.labels,
            window_features(test, prep.feature_mode),
            test.labels,
            gestures,
        )
        model, history = fit(data, config, verbose)
        y_pred = predict_classes(model, data.x_test)
        fold = compute_metrics(test.labels, y_pred, gestures)
        folds.append(
            {
                "subject": subject,
                "accuracy": fold["accuracy"],
                "macro_f1": fold["macro_f1"],
                "windows": int(len(test)),
                "epochs_run": len(history.get("loss", [])),
            }
        )
        all_true.append(test.labels)
        all_pred.append(y_pred)
        log(f"subject {subject}: accuracy {fold['accuracy']:.4f} ({len(test)} windows)")
    if not folds:
        raise InputError("leave-one-subject-out found no subject with enough windows")
    protocol = {
        "split": "loso",
        "subjects": subjects,
        "description": "leave-one-subject-out: one fresh model per held-out subject",
    }
    metrics = compute_metrics(
        np.concatenate(all_true), np.concatenate(all_pred), gestures, protocol
    )
    metrics["folds"] = folds
    metrics["mean_accuracy"] = float(np.mean([f["accuracy"] for f in folds]))
    metrics["mean_macro_f1"] = float(np.mean([f["macro_f1"] for f in folds]))
    if out_dir is not None:
        write_reports(out_dir, metrics)
    return metrics
