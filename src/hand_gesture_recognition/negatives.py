"""Synthetic hand poses that are no gesture of a vocabulary: finger transplants.

LeapGestRecog has no examples of "no gesture". A transplant gives a window's hand one to
three fingers (or the thumb) of a window of another gesture, frame by frame; each finger
keeps its shape in the hand's own 3-D frame (:func:`~hand_gesture_recognition.features.hand_axes`)
and is attached at the receiver's knuckle. A transplant is kept only if, in some finger, its
extension (base-to-tip distance over the finger's length, median over the window) differs by
at least a margin from that of *every* given window: a combination of fingers that no
gesture of the vocabulary has (index and middle finger up, the others curled, is the V sign).

Trained as a ``none`` class they cost as many real gestures as non-gestures they reject
(TECHNICAL_REPORT section 14.4). ``train --candidates`` uses them only to choose among
models trained from different seeds: the one whose confidence best separates the validation
windows from transplants made of them (section 14.10).
"""

from __future__ import annotations

import numpy as np

from .augment import transplant_fingers
from .features import finger_extension, isotropic
from .preprocessing import WindowSet


def transplants(
    windows: WindowSet,
    count: int,
    margin: float,
    label: int,
    rng: np.random.Generator,
    dims: int = 3,
) -> WindowSet:
    """Up to ``count`` finger transplants between windows of different gestures.

    Args:
        windows: Windows of at least two gestures; the transplants are made of them and must
            differ from every one of them.
        count: How many to make (fewer when 50 tries per window do not find them).
        margin: Smallest difference in one finger's extension from every given window.
        label: The label of the windows made.
        rng: Chooses the pairs and fingers.
        dims: 3 to compare extensions in 3-D, 2 in the image plane.

    Returns:
        The transplants, with their receivers' aspect ratios; sequence and subject
        ``"synthetic"``.
    """
    points = isotropic(windows.windows, windows.aspect)
    known = np.nanmedian(finger_extension(points, dims), axis=1)
    made, aspects = [], []
    for _ in range(50 * count):
        if len(made) == count:
            break
        i, j = rng.integers(len(windows), size=2)
        if windows.labels[i] == windows.labels[j]:
            continue
        fingers = rng.choice(5, size=int(rng.integers(1, 4)), replace=False)
        hand = transplant_fingers(points[i], points[j], fingers)
        extension = np.nanmedian(finger_extension(hand, dims), axis=0)
        if np.isnan(extension).any() or np.abs(known - extension).max(1).min() < margin:
            continue
        hand[..., 1] /= windows.aspect[i][:, None]  # back to image coordinates
        made.append(hand.astype(np.float32))
        aspects.append(windows.aspect[i])
    n = len(made)
    return WindowSet(
        np.array(made).reshape(n, *windows.windows.shape[1:]),
        np.array(aspects).reshape(n, windows.windows.shape[1]),
        np.full(n, label),
        np.array(["synthetic"] * n),
        np.array(["synthetic"] * n),
        np.zeros(n, np.int64),
        np.zeros(n, np.int64),
    )
