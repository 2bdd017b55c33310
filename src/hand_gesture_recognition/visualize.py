"""Plots for the notebook: frames, landmarks, coverage, augmentation and results.

Every function returns a :class:`matplotlib.figure.Figure` built with the object-oriented API
(not ``pyplot``), so a figure is shown once when it is the last expression of a notebook cell,
is never kept alive by ``pyplot``'s figure manager, and can be saved with ``savefig``. The
plots of the confusion matrix and of the training curves live in
:mod:`hand_gesture_recognition.evaluate`.

Matplotlib and OpenCV are imported when a function is called, not when this module is.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .augment import add_noise, occlude, open_fingers, scale, translate, vary_pose
from .config import FINGER_NAMES, AugmentationConfig, PreprocessingConfig
from .dataset import Recording, gesture_order
from .errors import InputError
from .extractor import pixel_aspect_for, read_image
from .features import frame_features, pointing_down
from .landmark_file import LandmarkTable
from .preprocessing import WindowSet, fill_missing, recording_segments, segment_windows

#: The 21-point hand skeleton (MediaPipe's ``HAND_CONNECTIONS``): palm, then each finger.
HAND_CONNECTIONS: tuple[tuple[int, int], ...] = (
    (0, 1), (0, 5), (0, 17), (5, 9), (9, 13), (13, 17),
    (1, 2), (2, 3), (3, 4),
    (5, 6), (6, 7), (7, 8),
    (9, 10), (10, 11), (11, 12),
    (13, 14), (14, 15), (15, 16),
    (17, 18), (18, 19), (19, 20),
)  # fmt: skip
#: Index fingertip, the landmark whose path the augmentation plot follows by default.
INDEX_TIP = 8


def _figure(nrows: int, ncols: int, width: float, height: float, **kwargs: Any):
    """A figure of ``nrows`` x ``ncols`` axes (always a 2-D array), outside ``pyplot``."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    axes = figure.subplots(nrows, ncols, squeeze=False, **kwargs)
    return figure, axes


def read_frame(path: str | os.PathLike) -> np.ndarray:
    """Reads a frame for display: grayscale stays 2-D, colour becomes RGB.

    Args:
        path: An image file.

    Returns:
        ``(H, W)`` or ``(H, W, 3)`` uint8 array.

    Raises:
        InputError: If the file cannot be read as an image.
    """
    import cv2

    image = read_image(path)
    if image is None:
        raise InputError(f"{path}: not a readable image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if image.ndim == 3 else image


def _show_image(axis, image: np.ndarray, pixel_aspect: float | None = None) -> None:
    """Draws a frame with its true proportions (tall pixels drawn tall)."""
    aspect = pixel_aspect_for(image.shape) if pixel_aspect is None else pixel_aspect
    axis.imshow(image, cmap="gray" if image.ndim == 2 else None, aspect=aspect, vmin=0, vmax=255)
    axis.set_xticks([])
    axis.set_yticks([])


def _draw_skeleton(axis, points: np.ndarray, color: str = "tab:red", **kwargs: Any) -> None:
    """Draws the 21 points ``(21, 2)`` and their connections on an axis."""
    alpha = kwargs.pop("alpha", 1.0)
    for a, b in HAND_CONNECTIONS:
        axis.plot(
            points[[a, b], 0], points[[a, b], 1], "-", color=color, lw=1.5, alpha=alpha, **kwargs
        )
    axis.plot(points[:, 0], points[:, 1], "o", color=color, ms=3, alpha=alpha, **kwargs)


def plot_sample_frames(
    recordings: Sequence[Recording],
    frames_per_gesture: int = 3,
    subject: str | None = None,
    pixel_aspect: float | None = None,
):
    """Shows evenly spaced frames of each gesture of one subject, one row per gesture.

    Args:
        recordings: Recordings from :func:`hand_gesture_recognition.dataset.find_recordings`.
        frames_per_gesture: Frames shown per gesture (first, last and evenly between).
        subject: The subject whose recordings are shown (the first subject when None).
        pixel_aspect: Pixel height / width; None assumes Leap Motion frames (640x240) have
            pixels twice as tall as wide.

    Returns:
        A figure with ``gestures x frames_per_gesture`` image axes.

    Raises:
        InputError: If there are no recordings of the subject or ``frames_per_gesture < 1``.
    """
    if frames_per_gesture < 1:
        raise InputError(f"frames_per_gesture must be at least 1, got {frames_per_gesture}")
    subjects = sorted({r.subject for r in recordings})
    subject = subjects[0] if subject is None and subjects else subject
    chosen = {r.gesture: r for r in recordings if r.subject == subject}
    if not chosen:
        raise InputError(f"no recordings of subject {subject!r}")
    gestures = gesture_order(set(chosen))
    figure, axes = _figure(
        len(gestures), frames_per_gesture, 2.6 * frames_per_gesture, 2.1 * len(gestures)
    )
    for row, gesture in enumerate(gestures):
        frames = chosen[gesture].frames
        picks = np.linspace(0, len(frames) - 1, frames_per_gesture).round().astype(int)
        for col, index in enumerate(picks):
            axis = axes[row, col]
            _show_image(axis, read_frame(frames[index]), pixel_aspect)
            axis.set_title(f"frame {index + 1}", fontsize=8)
            if col == 0:
                axis.set_ylabel(gesture, fontsize=9)
    figure.suptitle(f"Subject {subject}: {frames_per_gesture} frames of each gesture")
    return figure


def plot_frame_landmarks(
    image: np.ndarray,
    landmarks: np.ndarray | None,
    pixel_aspect: float | None = None,
    title: str | None = None,
    axis=None,
):
    """Draws a hand's landmarks and skeleton on its frame.

    Landmarks follow MediaPipe's convention (``x`` and ``y`` divided by the width and height
    of the aspect-corrected frame). Stretching a frame vertically does not change normalised
    coordinates, so they are drawn on the original frame, shown with its true proportions.

    Args:
        image: The frame (as :func:`read_frame` returns it).
        landmarks: ``(21, 3)`` landmarks, or None (or NaN) when no hand was found.
        pixel_aspect: Pixel height / width (see :func:`plot_sample_frames`).
        title: Axis title.
        axis: Draw into this axis instead of a new figure.

    Returns:
        The figure that holds the drawing.
    """
    if axis is None:
        figure, axes = _figure(1, 1, 6, 4.5)
        axis = axes[0, 0]
    else:
        figure = axis.figure
    _show_image(axis, image, pixel_aspect)
    height, width = image.shape[:2]
    if landmarks is not None and not np.isnan(landmarks).any():
        pixels = np.asarray(landmarks)[:, :2] * np.array([width, height], dtype=np.float32)
        _draw_skeleton(axis, pixels)
        axis.set_xlim(0, width)
        axis.set_ylim(height, 0)
    else:
        axis.text(
            0.5, 0.5, "no hand found", color="yellow", ha="center", va="center",
            transform=axis.transAxes,
        )  # fmt: skip
    if title:
        axis.set_title(title, fontsize=9)
    return figure


def plot_landmark_grid(
    table: LandmarkTable,
    recordings: Sequence[Recording] | None = None,
    gestures: Sequence[str] | None = None,
    subject: str | None = None,
    ncols: int = 5,
    pixel_aspect: float | None = None,
):
    """Shows one frame per gesture with the landmarks the extractor found on it.

    For each gesture the frame with the highest extractor score is drawn; a gesture without
    any detected hand shows its middle frame marked "no hand found".

    Args:
        table: The landmarks.
        recordings: Where the frames are now (:func:`~hand_gesture_recognition.dataset.
            find_recordings` of the data folder); frame ``i`` of a recording is row ``frame ==
            i`` of the table. When None, the table's ``path`` column is used, which holds the
            paths as given at extraction (relative ones only work from the same folder).
        gestures: Gestures to show (all of the table's, in class order, when None).
        subject: Subject whose frames are shown (the first when None).
        ncols: Axes per row.
        pixel_aspect: Pixel height / width (see :func:`plot_sample_frames`).

    Returns:
        A figure with one image axis per gesture.

    Raises:
        InputError: If the subject has no frames of a requested gesture.
    """
    subject = table.subjects[0] if subject is None else subject
    gestures = gesture_order(table.gestures) if gestures is None else list(gestures)
    by_id = {r.sequence_id: r.frames for r in recordings or ()}
    nrows = -(-len(gestures) // ncols)
    figure, axes = _figure(nrows, ncols, 3.2 * ncols, 2.9 * nrows)
    for axis in axes.flat[len(gestures) :]:
        axis.set_axis_off()
    for axis, gesture in zip(axes.flat, gestures, strict=False):
        rows = np.flatnonzero((table.gesture == gesture) & (table.subject == subject))
        if len(rows) == 0:
            raise InputError(f"no frames of {gesture!r} for subject {subject!r}")
        found = rows[table.detected[rows]]
        row = found[np.argmax(table.score[found])] if len(found) else rows[len(rows) // 2]
        share = table.detected[rows].mean()
        frames = by_id.get(str(table.sequence[row]))
        plot_frame_landmarks(
            read_frame(frames[table.frame[row]] if frames else table.path[row]),
            table.landmarks[row] if table.detected[row] else None,
            pixel_aspect,
            title=f"{gesture} (hand in {share:.0%})",
            axis=axis,
        )
    figure.suptitle(f"Landmarks found by the {table.extractor!r} extractor, subject {subject}")
    return figure


def plot_coverage(
    coverage: Mapping[str, float] | Mapping[str, Mapping[str, float]], title: str | None = None
):
    """Bar chart of the share of frames with a detected hand, per gesture.

    Args:
        coverage: :meth:`LandmarkTable.coverage` output (gesture -> share, with ``overall``),
            or several of them by label (label -> coverage) to compare extractors side by side.
        title: Figure title.

    Returns:
        A figure with one axis: one bar (or one group of bars) per gesture, and the overall
        share of each coverage as a dashed line.
    """
    groups = (
        {str(k): dict(v) for k, v in coverage.items()}
        if coverage and isinstance(next(iter(coverage.values())), Mapping)
        else {"": dict(coverage)}
    )
    gestures = gesture_order({g for c in groups.values() for g in c if g != "overall"})
    figure, axes = _figure(1, 1, max(6.0, 0.8 * len(gestures) + 2), 4)
    axis = axes[0, 0]
    positions = np.arange(len(gestures))
    width = 0.8 / len(groups)
    colors = [f"C{i}" for i in range(len(groups))]
    for i, (label, shares) in enumerate(groups.items()):
        values = [shares.get(g, 0.0) for g in gestures]
        offset = (i - (len(groups) - 1) / 2) * width
        overall = shares.get("overall")
        if overall is not None:
            label = f"{label}: overall {overall:.0%}" if label else f"overall {overall:.0%}"
            axis.axhline(overall, ls="--", lw=1, color=colors[i])
        bars = axis.bar(positions + offset, values, width, label=label or None, color=colors[i])
        axis.bar_label(bars, labels=[f"{v:.0%}" for v in values], fontsize=7, padding=1)
    axis.set_xticks(positions, gestures, rotation=35, ha="right")
    axis.set_ylim(0, 1.2)
    axis.set_ylabel("frames with a detected hand")
    axis.set_title(title or "Landmark coverage per gesture")
    if any(axis.get_legend_handles_labels()[1]):
        axis.legend(loc="upper left", fontsize=8, ncols=len(groups))
    return figure


def example_window(
    table: LandmarkTable,
    preprocessing: PreprocessingConfig | None = None,
    prefer: Sequence[str] = ("08_palm_moved", "04_fist_moved", "10_down", "01_palm"),
) -> tuple[np.ndarray, float, str, int]:
    """Picks a real landmark window worth looking at: the one where the hand travels furthest.

    Windows are made exactly as for training (missing frames filled, sparse windows dropped).
    The first gesture of ``prefer`` that has a window is used; failing all, any gesture.

    Args:
        table: The landmarks.
        preprocessing: Window length and missing-frame policy (defaults when None).
        prefer: Gestures to look in, in order of preference.

    Returns:
        The ``(L, 21, 3)`` window, its aspect (height / width), its recording id and its
        first frame index.

    Raises:
        InputError: If no recording has a full window.
    """
    preprocessing = preprocessing or PreprocessingConfig()
    segments = recording_segments(table)
    windows = WindowSet.concatenate(
        [segment_windows(s, 0, preprocessing, stride=1) for s in segments],
        preprocessing.sequence_length,
    )
    if len(windows) == 0:
        raise InputError("no recording has a full window of frames with a detected hand")
    gesture_of = {s.sequence: s.gesture for s in segments}
    gestures = np.array([gesture_of[s] for s in windows.sequence])
    candidates = np.arange(len(windows))
    for gesture in prefer:
        if (gestures == gesture).any():
            candidates = np.flatnonzero(gestures == gesture)
            break
    # Net displacement of the hand's mean position between the window's first and last
    # frames: a hand that moves, not one whose landmarks jitter.
    centre = windows.windows[candidates, :, :, :2].mean(axis=2)
    ends = max(1, preprocessing.sequence_length // 6)
    travel = np.linalg.norm(centre[:, -ends:].mean(axis=1) - centre[:, :ends].mean(axis=1), axis=1)
    best = candidates[int(np.nanargmax(travel))] if np.isfinite(travel).any() else candidates[0]
    return (
        windows.windows[best],
        float(windows.aspect[best].mean()),
        str(windows.sequence[best]),
        int(windows.start[best]),
    )


def plot_augmentation(
    window: np.ndarray,
    config: AugmentationConfig | None = None,
    aspect: float = 1.0,
    missing: str = "interpolate",
    landmark: int = INDEX_TIP,
    seed: int = 0,
):
    """Shows each augmentation of :mod:`hand_gesture_recognition.augment` on one window.

    Columns: the original window, Gaussian noise, occlusion (a run of frames lost and
    refilled by the missing-frame policy; the longest of a few random runs), scaling plus
    translation, the four fingers' pose (spread and curl, when ``config`` sets them) and the
    hand opened as the training windows of ``config.open_gestures`` may be (at the largest
    angles, when ``config`` opens any), each made by the package's own functions with
    ``config``'s strengths. The top row shows the
    hand at the window's middle frame (the original in grey) and the path of one landmark; the
    bottom row shows that landmark's ``x`` and ``y`` over time, with the occluded frames
    shaded.

    Args:
        window: ``(L, 21, 3)`` landmark window (see :func:`example_window`).
        config: Augmentation strengths (the defaults when None).
        aspect: Height / width of the frames, to draw the hand with true proportions.
        missing: Missing-frame policy that refills occluded frames.
        landmark: Index of the landmark whose path is drawn (the index fingertip).
        seed: Seed of the random transforms.

    Returns:
        A figure with 2 x 4 axes, and a column more for each of the finger pose and the
        opening.
    """
    config = config or AugmentationConfig()
    window = np.asarray(window, dtype=np.float32)
    rng = np.random.default_rng(seed)
    batch = window[None]
    noisy = add_noise(batch, config.noise_std, rng)[0]
    # Occlude with certainty and without refilling first, to see which frames were lost; of a
    # few draws, the longest run is shown.
    draws = [occlude(batch, 1.0, config.occlusion_max_frames, "zero", rng)[0] for _ in range(8)]
    holes = max(draws, key=lambda d: int(np.isnan(d).any(axis=(1, 2)).sum()))
    lost = np.isnan(holes).any(axis=(1, 2)) & ~np.isnan(window).any(axis=(1, 2))
    occluded = fill_missing(holes, missing)
    moved = translate(scale(batch, *config.scale_range, rng), config.translation_range, rng)[0]
    variants = {
        "original": window,
        f"noise (std {config.noise_std:g})": noisy,
        f"occlusion ({int(lost.sum())} frames, {missing})": occluded,
        (
            f"scale {config.scale_range[0]:g}-{config.scale_range[1]:g}, "
            f"shift <= {config.translation_range:g}"
        ): moved,
    }
    if config.spread_degrees > 0 or config.curl_degrees > 0:
        pose = f"finger pose (spread ±{config.spread_degrees:g}°, curl ±{config.curl_degrees:g}°)"
        variants[pose] = vary_pose(
            batch, config.spread_degrees, config.curl_degrees, rng, np.full(batch.shape[:2], aspect)
        )[0]
    if config.open_gestures and config.open_fraction > 0:
        opened = (
            f"opened as {', '.join(config.open_gestures)} (fan {config.open_fan_degrees:g}°, "
            f"thumb {config.open_thumb_degrees:g}°: the most)"
        )
        variants[opened] = open_fingers(
            batch,
            np.array([config.open_fan_degrees]),
            np.array([config.open_thumb_degrees]),
            np.full(batch.shape[:2], aspect),
        )[0]
    figure, axes = _figure(2, len(variants), 4 * len(variants), 7.5)
    middle = len(window) // 2
    stretch = np.array([1.0, aspect], dtype=np.float32)
    times = np.arange(len(window))
    for col, (name, variant) in enumerate(variants.items()):
        top, bottom = axes[0, col], axes[1, col]
        if col:
            _draw_skeleton(top, window[middle, :, :2] * stretch, color="0.6", alpha=0.8)
            top.plot(*(window[:, landmark, :2] * stretch).T, "-", color="0.6", lw=1)
        _draw_skeleton(top, variant[middle, :, :2] * stretch, color="tab:red")
        top.plot(*(variant[:, landmark, :2] * stretch).T, ".-", color="tab:blue", lw=1, ms=3)
        if lost.any() and variant is occluded:
            top.plot(*(variant[lost, landmark, :2] * stretch).T, "x", color="black", ms=6)
        top.set_title(name, fontsize=10)
        top.set_aspect("equal", adjustable="datalim")
        top.invert_yaxis()
        top.set_xlabel("x (image widths)")
        for k, (label, color) in enumerate((("x", "tab:blue"), ("y", "tab:orange"))):
            values = variant[:, landmark, k] * (stretch[k])
            if col:
                bottom.plot(times, window[:, landmark, k] * stretch[k], "--", color="0.6", lw=1)
            bottom.plot(times, values, "-", color=color, label=label)
        if lost.any() and variant is occluded:
            lost_times = times[lost]
            bottom.axvspan(lost_times.min() - 0.5, lost_times.max() + 0.5, color="0.85")
        bottom.set_xlabel("frame in window")
        bottom.grid(alpha=0.3)
    axes[0, 0].set_ylabel("y (image widths)")
    axes[1, 0].set_ylabel(f"landmark {landmark} coordinate")
    axes[1, 0].legend(fontsize=8)
    figure.suptitle("Training-window augmentation (grey: the original)")
    return figure


def plot_feature_modes(landmarks: np.ndarray, aspect: float = 1.0):
    """Shows one frame's hand in each feature representation (raw, normalized, canonical).

    Args:
        landmarks: ``(21, 3)`` landmarks of one frame.
        aspect: Height / width of the frame.

    Returns:
        A figure with three axes, one per feature mode, each with the hand's skeleton in that
        mode's ``x``/``y`` coordinates.
    """
    # The landmark-position modes (``bones`` holds directions, not positions).
    modes = ("raw", "normalized", "canonical")
    figure, axes = _figure(1, len(modes), 4.2 * len(modes), 4.2)
    for axis, mode in zip(axes[0], modes, strict=True):
        points = frame_features(landmarks, aspect, mode).reshape(21, 3)
        _draw_skeleton(axis, points[:, :2])
        axis.plot(*points[0, :2], "s", color="black", ms=6)
        axis.set_aspect("equal", adjustable="datalim")
        axis.invert_yaxis()
        axis.grid(alpha=0.3)
        axis.set_title(mode)
    figure.suptitle("One frame's features (black square: the wrist)")
    return figure


def plot_per_gesture_accuracy(metrics: Mapping[str, Any]):
    """Bar chart of each gesture's accuracy (its recall) on the test windows.

    Args:
        metrics: :func:`hand_gesture_recognition.evaluate.compute_metrics` output.

    Returns:
        A figure with one axis: one horizontal bar per gesture annotated with its number of
        test windows, the overall accuracy (dashed) and the chance level (dotted).
    """
    per_class = metrics["per_class"]
    gestures = list(per_class)
    recall = [per_class[g]["recall"] for g in gestures]
    support = [per_class[g]["support"] for g in gestures]
    figure, axes = _figure(1, 1, 7, 0.45 * len(gestures) + 1.5)
    axis = axes[0, 0]
    positions = np.arange(len(gestures))
    colors = ["tab:green" if s else "0.7" for s in support]
    bars = axis.barh(positions, recall, color=colors)
    axis.bar_label(
        bars, labels=[f"{r:.0%} of {s}" for r, s in zip(recall, support, strict=True)],
        fontsize=8, padding=2,
    )  # fmt: skip
    axis.axvline(metrics["accuracy"], ls="--", color="black", lw=1, label="overall accuracy")
    if gestures:
        axis.axvline(1 / len(gestures), ls=":", color="tab:red", lw=1, label="chance")
    axis.set_yticks(positions, gestures)
    axis.invert_yaxis()
    axis.set_xlim(0, 1.18)
    axis.set_xlabel("share of the gesture's test windows recognised (recall)")
    axis.set_title("Accuracy per gesture")
    axis.legend(loc="lower right", fontsize=8)
    return figure


def plot_pointing_down(table: LandmarkTable, max_downward: float | None = None):
    """Where the hands of a landmark file point, per gesture, and the orientation rule's limit.

    Args:
        table: Landmarks (frames without a hand are left out).
        max_downward: The calibration's limit (:attr:`Calibration.max_downward`), drawn as a
            line; None draws none.

    Returns:
        A figure with one axis: one column of points per gesture (each frame's
        :func:`~hand_gesture_recognition.features.pointing_down`, -1 straight up, 1 straight
        down, spread sideways so that they do not hide each other), and the limit above which
        a window is "not a gesture".
    """
    gestures = gesture_order(set(table.gestures))
    down = pointing_down(table.landmarks, table.aspect)
    figure, axes = _figure(1, 1, max(6.0, 0.8 * len(gestures) + 2), 4)
    axis = axes[0, 0]
    jitter = np.random.default_rng(0)
    for position, gesture in enumerate(gestures):
        values = down[(table.gesture == gesture) & table.detected]
        offsets = position + jitter.uniform(-0.25, 0.25, len(values))
        axis.scatter(offsets, values, s=6, alpha=0.5, color=f"C{position % 10}")
    if max_downward is not None:
        axis.axhline(max_downward, ls="--", color="tab:red", lw=1, label="orientation limit")
        axis.axhspan(max_downward, 1.05, color="tab:red", alpha=0.08, label="not a gesture")
        axis.legend(loc="upper right", fontsize=8)
    axis.axhline(0.0, color="0.6", lw=0.8)
    axis.set_xticks(np.arange(len(gestures)), gestures, rotation=45, ha="right")
    axis.set_ylim(-1.05, 1.05)
    axis.set_ylabel("pointing down (sine below the horizontal)")
    axis.set_title("Where the hands point: -1 up, 0 sideways, 1 down")
    return figure


def plot_finger_ranges(
    ranges: Mapping[str, Sequence[Sequence[float]]],
    margin: float,
    reach: Mapping[str, Sequence[Sequence[float]]] | None = None,
):
    """Each gesture's fingers in training, and how far the finger rule lets them go.

    Args:
        ranges: :attr:`Calibration.finger_ranges`: for each gesture, the lowest and highest
            extension of each finger, thumb to little finger.
        margin: :attr:`Calibration.finger_margin`.
        reach: :attr:`Calibration.reach_ranges`, drawn beside the extensions the same way;
            None: the extensions alone.

    Returns:
        A figure with one axis per measure: per gesture, one thick bar per finger from its
        lowest to its highest value in training, and a thin line as far as the margin
        allows; a window answered as the gesture whose finger falls outside the thin lines
        (of both measures, where the reach is drawn) is "not a gesture".
    """
    gestures = gesture_order(set(ranges))
    measures = [(ranges, "finger extension (1: straight)", 1.45)]
    if reach is not None:
        measures.append((reach, "finger reach (palm lengths)", None))
    width = max(6.0, 0.8 * len(gestures) + 2)
    figure, axes = _figure(1, len(measures), width * len(measures), 4)
    positions = np.arange(len(gestures))
    for axis, (values, label, top) in zip(axes[0], measures, strict=True):
        bounds = np.array([values[g] for g in gestures], dtype=float)  # (G, 2, 5)
        for finger, name in enumerate(FINGER_NAMES):
            x = positions + (finger - 2) * 0.14
            low, high = bounds[:, 0, finger], bounds[:, 1, finger]
            colour = f"C{finger}"
            axis.vlines(x, low, high, lw=5, color=colour, label=name)
            axis.vlines(x, low - margin, high + margin, lw=1.2, color=colour, alpha=0.45)
        axis.set_xticks(positions, gestures, rotation=45, ha="right")
        axis.set_ylim(-0.05, top)
        axis.set_ylabel(label)
        axis.legend(loc="upper right", fontsize=8, ncols=5)
    axes[0, 0].set_title(f"Fingers in training, and the finger rule's margin ({margin:.2f})")
    return figure


def plot_loso(metrics: Mapping[str, Any]):
    """Bar chart of leave-one-subject-out results: accuracy and macro-F1 per held-out subject.

    Args:
        metrics: :func:`hand_gesture_recognition.evaluate.leave_one_subject_out` output (with
            ``folds`` and ``mean_accuracy``).

    Returns:
        A figure with one axis: two bars per subject and the mean accuracy as a dashed line.

    Raises:
        InputError: If ``metrics`` has no folds.
    """
    folds = metrics.get("folds") or []
    if not folds:
        raise InputError("the metrics hold no leave-one-subject-out folds")
    subjects = [str(f["subject"]) for f in folds]
    positions = np.arange(len(folds))
    figure, axes = _figure(1, 1, max(6.0, 0.7 * len(folds) + 2), 4)
    axis = axes[0, 0]
    for offset, key, label in ((-0.2, "accuracy", "accuracy"), (0.2, "macro_f1", "macro-F1")):
        values = [f[key] for f in folds]
        bars = axis.bar(positions + offset, values, 0.4, label=label)
        axis.bar_label(bars, labels=[f"{v:.2f}" for v in values], fontsize=7, padding=1)
    mean = metrics.get("mean_accuracy", float(np.mean([f["accuracy"] for f in folds])))
    axis.axhline(mean, ls="--", color="black", lw=1, label=f"mean accuracy {mean:.2f}")
    axis.set_xticks(positions, subjects)
    axis.set_xlabel("held-out subject")
    axis.set_ylim(0, 1.1)
    axis.set_title("Leave-one-subject-out: one fresh model per held-out subject")
    axis.legend(loc="lower right", fontsize=8)
    return figure


def list_artifacts(directory: str | os.PathLike) -> list[tuple[str, int]]:
    """Lists the files in a model directory with their sizes, subfolders included.

    Args:
        directory: A model directory written by training.

    Returns:
        ``(relative path, size in bytes)`` pairs, sorted by path.
    """
    root = Path(directory)
    return sorted(
        (str(p.relative_to(root)), p.stat().st_size) for p in root.rglob("*") if p.is_file()
    )


def plot_takes_comparison(held_out: Mapping[str, Mapping[str, Any]]):
    """Bar chart of models side by side: each gesture's accuracy on the held-out takes.

    Args:
        held_out: Metrics of each model by name
            (:attr:`hand_gesture_recognition.train.TakesComparison.held_out`), all on the
            same windows.

    Returns:
        A figure with one axis: one bar per model for each gesture (its recall, annotated with
        the windows right of the gesture's windows) and one for all windows together.

    Raises:
        InputError: If ``held_out`` is empty.
    """
    if not held_out:
        raise InputError("no models to compare")
    first = next(iter(held_out.values()))
    gestures = list(first["per_class"])
    groups = [*gestures, "all"]
    positions = np.arange(len(groups))
    width = 0.8 / len(held_out)
    figure, axes = _figure(1, 1, max(6.0, 1.3 * len(groups) + 2), 4)
    axis = axes[0, 0]
    for k, (name, metrics) in enumerate(held_out.items()):
        rows = [metrics["per_class"][g] for g in gestures]
        values = [r["recall"] for r in rows] + [metrics["accuracy"]]
        support = [r["support"] for r in rows] + [metrics["support"]]
        right = [round(v * s) for v, s in zip(values, support, strict=True)]
        offset = (k - (len(held_out) - 1) / 2) * width
        bars = axis.bar(positions + offset, values, width, label=name)
        axis.bar_label(
            bars, labels=[f"{r}/{s}" for r, s in zip(right, support, strict=True)],
            fontsize=7, padding=1,
        )  # fmt: skip
    axis.axhline(1 / len(gestures), ls=":", color="tab:red", lw=1, label="chance")
    axis.set_xticks(positions, groups)
    axis.set_ylim(0, 1.15)
    axis.set_ylabel("share of held-out windows right")
    axis.set_title("Held-out takes: accuracy per gesture")
    axis.legend(loc="lower right", fontsize=8)
    return figure
