"""Augmentation of training windows: noise, occlusion, scaling and translation.

Augmentation works on landmark windows ``(n, L, 21, 3)`` before features are computed, so each
transform has its physical meaning (a shifted or larger hand, a jittery or briefly lost
detection) whatever the feature mode. Only training windows are augmented.
"""

from __future__ import annotations

import numpy as np

from .config import AugmentationConfig
from .sequences import fill_missing


def add_noise(windows: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    """Adds Gaussian noise ``N(0, std^2)`` to every coordinate."""
    return windows + rng.normal(0.0, std, size=windows.shape).astype(np.float32)


def scale(windows: np.ndarray, low: float, high: float, rng: np.random.Generator) -> np.ndarray:
    """Scales each window's x and y about its mean hand position by a factor in [low, high]."""
    factors = rng.uniform(low, high, size=(len(windows), 1, 1, 1)).astype(np.float32)
    centre = np.nanmean(windows[..., :2], axis=(1, 2), keepdims=True)
    out = windows.copy()
    out[..., :2] = centre + (windows[..., :2] - centre) * factors
    return out


def translate(windows: np.ndarray, limit: float, rng: np.random.Generator) -> np.ndarray:
    """Shifts each window's x and y by a uniform offset in [-limit, limit]."""
    offsets = rng.uniform(-limit, limit, size=(len(windows), 1, 1, 2)).astype(np.float32)
    out = windows.copy()
    out[..., :2] += offsets
    return out


def occlude(
    windows: np.ndarray,
    probability: float,
    max_frames: int,
    missing: str,
    rng: np.random.Generator,
) -> np.ndarray:
    """Drops a run of frames from some windows, as a lost detection would, and refills it.

    Args:
        windows: ``(n, L, 21, 3)`` landmark windows.
        probability: Chance that a window loses a run of frames.
        max_frames: Longest run lost.
        missing: The missing-frame policy that refills the run (see :func:`fill_missing`).
        rng: Random generator.

    Returns:
        The occluded windows.
    """
    out = windows.copy()
    length = windows.shape[1]
    for i in np.flatnonzero(rng.random(len(windows)) < probability):
        run = int(rng.integers(1, max(1, max_frames) + 1))
        start = int(rng.integers(0, max(1, length - run + 1)))
        out[i, start : start + run] = np.nan
        out[i] = fill_missing(out[i], missing)
    return out


def augment_windows(
    windows: np.ndarray,
    labels: np.ndarray,
    config: AugmentationConfig,
    missing: str,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Returns the originals followed by ``config.copies`` augmented copies of each window.

    Each copy gets noise, then possibly an occlusion, then a random scale and translation.

    Args:
        windows: ``(n, L, 21, 3)`` landmark windows (NaN where no hand was found).
        labels: ``(n,)`` class indices.
        config: Augmentation settings.
        missing: The missing-frame policy (refills occluded frames).
        rng: Random generator (seeded by the caller).

    Returns:
        ``(n * (1 + copies), L, 21, 3)`` windows and their labels.
    """
    parts, part_labels = [windows], [labels]
    for _ in range(config.copies):
        copy = add_noise(windows, config.noise_std, rng)
        copy = occlude(
            copy, config.occlusion_probability, config.occlusion_max_frames, missing, rng
        )
        copy = scale(copy, *config.scale_range, rng)
        copy = translate(copy, config.translation_range, rng)
        parts.append(copy.astype(np.float32))
        part_labels.append(labels)
    return np.concatenate(parts), np.concatenate(part_labels)
