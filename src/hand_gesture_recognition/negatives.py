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

from .augment import FINGERS
from .features import hand_axes, isotropic
from .preprocessing import WindowSet

#: Each finger's landmarks from its base (the thumb's CMC joint, the others' knuckles) to its tip.
FINGER_CHAINS = tuple(chain[1:] for chain in FINGERS)


def finger_extension(points: np.ndarray, dims: int = 3) -> np.ndarray:
    """Each finger's base-to-tip distance over its length (1: straight; smaller: bent).

    Args:
        points: ``(..., 21, 3)`` isotropic landmarks
            (:func:`~hand_gesture_recognition.features.isotropic`).
        dims: 3 for 3-D distances, 2 for the image plane.

    Returns:
        ``(..., 5)`` extensions, thumb to little finger.
    """
    points = points[..., :dims]
    extension = []
    for chain in FINGER_CHAINS:
        bones = sum(
            np.linalg.norm(points[..., b, :] - points[..., a, :], axis=-1)
            for a, b in zip(chain[:-1], chain[1:], strict=True)
        )
        reach = np.linalg.norm(points[..., chain[-1], :] - points[..., chain[0], :], axis=-1)
        extension.append(reach / np.maximum(bones, 1e-6))
    return np.stack(extension, axis=-1)


def transplant_fingers(receiver: np.ndarray, donor: np.ndarray, fingers) -> np.ndarray:
    """The receiver's ``(L, 21, 3)`` isotropic hand with the donor's ``fingers``, frame by frame.

    Each finger keeps its shape in the hand's own frame (scaled to the receiver's palm) and
    is attached at the receiver's knuckle.

    Args:
        receiver: ``(L, 21, 3)`` isotropic landmarks of the hand that keeps its palm.
        donor: ``(L, 21, 3)`` isotropic landmarks of the hand that gives the fingers.
        fingers: Indices into :data:`FINGER_CHAINS` (0 the thumb, 4 the little finger).

    Returns:
        ``(L, 21, 3)`` landmarks.
    """
    basis_r, length_r, side_r = hand_axes(receiver)
    basis_d, length_d, side_d = hand_axes(donor)
    out = receiver.copy()
    for finger in fingers:
        base, *joints = FINGER_CHAINS[finger]
        offsets = donor[:, joints, :] - donor[:, base : base + 1, :]
        local = np.einsum("lji,lik->ljk", offsets, basis_d) / length_d[:, None, None]
        local[..., 2] *= (side_d * side_r)[:, None]
        moved = np.einsum("ljk,lik->lji", local * length_r[:, None, None], basis_r)
        out[:, joints, :] = receiver[:, base : base + 1, :] + moved
    return out


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
