"""Per-frame features: the 21 landmarks of a frame become the 63 numbers the model reads.

Five representations, chosen by :attr:`PreprocessingConfig.feature_mode` and recorded in
``model_config.json`` so that inference computes exactly what training did:

* ``raw``: the extractor's ``(x, y, z)`` as they are (the original project's features);
  position and size in the image change them.
* ``normalized``: isotropic coordinates (``y`` rescaled by the image's aspect), relative to
  the wrist and divided by the palm's length (wrist to middle-finger knuckle), so the hand's
  position and distance from the camera no longer matter.
* ``canonical``: ``normalized``, then rotated in the image plane so that the palm points up,
  mirrored so that the index knuckle is always on the same side of the little-finger
  knuckle (left and right hands, mirrored or not, look alike), and without depth: ``z`` is
  zero, because its sign says whether the palm or the back of the hand faces the camera,
  which is the viewpoint (a Leap Motion below the hand, a webcam in front of it) rather than
  the gesture. Measured on webcam frames with a model trained on LeapGestRecog
  (``benchmarks/webcam_transfer.py``): with depth, thumbs-up was always taken for ``down``;
  without it, stop and thumbs-up were all right.
* ``hand3d``: the landmarks in a frame fixed to the hand itself, in 3-D: the origin at the
  wrist, ``y`` along the wrist-to-middle-knuckle line, ``x`` across the knuckles from the
  little finger to the index (made orthogonal to ``y``), ``z`` the palm's normal, all divided
  by the palm's 3-D length. Rotating the hand in 3-D (a Leap Motion below it, a webcam in
  front), moving it or changing its distance changes nothing. A mirror image (the other hand)
  only flips the sign of ``z``; the sign is fixed so that the fingers bend towards ``+z``
  (the sum of ``z`` over all landmarks is positive), which makes left and right hands alike.
* ``bones``: viewpoint-invariant like ``hand3d``, but each of the 20 bones as a unit vector
  (its direction in the hand's frame), so finger lengths, which differ from person to
  person, no longer matter; the last three numbers are the thumb tip's distance to the index
  tip, to the middle-finger tip and to the middle knuckle, over the palm's length (what
  tells an OK sign or a closed C from an open hand).

Frames without a hand (NaN landmarks) become zeros in every mode.
"""

from __future__ import annotations

import numpy as np

from .config import FEATURE_MODES
from .errors import InputError

WRIST, INDEX_MCP, MIDDLE_MCP, PINKY_MCP = 0, 5, 9, 17
THUMB_TIP, INDEX_TIP, MIDDLE_TIP = 4, 8, 12
#: Each bone as (parent, child) landmark indices: the five chains from the wrist to the tips.
BONES = tuple(
    (0 if joint == 0 else base + joint - 1, base + joint)
    for base in (1, 5, 9, 13, 17)
    for joint in range(4)
)
NUM_FEATURES = 63
_EPS = 1e-6
#: The landmark chains from the wrist to each fingertip (MediaPipe's indices).
FINGERS = (
    (0, 1, 2, 3, 4),
    (0, 5, 6, 7, 8),
    (0, 9, 10, 11, 12),
    (0, 13, 14, 15, 16),
    (0, 17, 18, 19, 20),
)
#: Each finger's landmarks from its base (the thumb's CMC joint, the others' knuckles) to its tip.
FINGER_CHAINS = tuple(chain[1:] for chain in FINGERS)


def isotropic(landmarks: np.ndarray, aspect: np.ndarray | float = 1.0) -> np.ndarray:
    """Rescales ``y`` by height / width so that x and y share one unit (the image width).

    Args:
        landmarks: ``(..., 21, 3)`` landmarks.
        aspect: Height / width of the image the landmarks refer to, broadcastable to ``(...)``.

    Returns:
        A float32 copy.
    """
    points = np.array(landmarks, dtype=np.float32, copy=True)
    aspect = np.asarray(aspect, dtype=np.float32)
    points[..., 1] *= aspect[..., None] if aspect.ndim else aspect
    return points


def normalize(points: np.ndarray) -> np.ndarray:
    """Moves the wrist to the origin and divides by the palm length (wrist to middle knuckle).

    Args:
        points: ``(..., 21, 3)`` isotropic landmarks.

    Returns:
        ``(..., 21, 3)`` float32 array.
    """
    centred = points - points[..., WRIST : WRIST + 1, :]
    palm = np.linalg.norm(centred[..., MIDDLE_MCP, :2], axis=-1)
    return (centred / np.maximum(palm, _EPS)[..., None, None]).astype(np.float32)


def canonicalize(points: np.ndarray) -> np.ndarray:
    """Rotates normalised landmarks so the palm points up, mirrors them to one handedness.

    Depth (``z``) is set to zero: it depends on which side of the hand faces the camera.

    Args:
        points: ``(..., 21, 3)`` output of :func:`normalize`.

    Returns:
        ``(..., 21, 3)`` float32 array: the middle knuckle at ``(0, -1)`` in the image plane,
        the index knuckle to the right of the little-finger knuckle, and ``z`` zero.
    """
    direction = points[..., MIDDLE_MCP, :2]
    angle = np.arctan2(direction[..., 0], -direction[..., 1])
    cos, sin = np.cos(angle)[..., None], np.sin(angle)[..., None]
    x, y = points[..., 0], points[..., 1]
    # Rotating by -angle brings the wrist-to-middle-knuckle direction onto (0, -1).
    rotated = np.stack([x * cos + y * sin, -x * sin + y * cos, points[..., 2]], axis=-1)
    side = rotated[..., INDEX_MCP, 0] - rotated[..., PINKY_MCP, 0]
    flip = np.where(side < 0, -1.0, 1.0)[..., None]
    rotated[..., 0] *= flip
    # Depth says which side of the hand faces the camera, and that is the viewpoint: a
    # Leap Motion sees hands from below, a webcam from the front. With it, a model trained on
    # LeapGestRecog took every webcam thumbs-up for "down"; without it, all were right
    # (benchmarks/webcam_transfer.py). The column stays, as zeros, to keep 63 features.
    rotated[..., 2] = 0.0
    return rotated.astype(np.float32)


def pointing_down(landmarks: np.ndarray, aspect: np.ndarray | float = 1.0) -> np.ndarray:
    """How far below the image's horizontal the hand points, frame by frame.

    The sine of the angle between the horizontal and the wrist-to-middle-knuckle direction
    in isotropic 3-D coordinates: 1 when the fingers hang straight down, 0 when they point
    sideways or at the camera, -1 when they point straight up. The ``canonical``, ``hand3d``
    and ``bones`` features drop this (``canonical`` turns every hand upright), so it is what
    tells a hand held up to the camera from one resting at the side.

    Args:
        landmarks: ``(..., 21, 3)`` landmarks (NaN rows for frames without a hand).
        aspect: Height / width of the images, broadcastable to the leading dimensions.

    Returns:
        ``(...)`` float32 array, NaN where the frame had no hand.
    """
    # Only the wrist and the middle knuckle matter: the rest of the hand is not copied.
    ends = isotropic(np.asarray(landmarks)[..., [WRIST, MIDDLE_MCP], :], aspect)
    up = ends[..., 1, :] - ends[..., 0, :]
    length = np.linalg.norm(up, axis=-1)
    # Image y grows downwards, so a positive y component points down.
    return (up[..., 1] / np.maximum(length, _EPS)).astype(np.float32)


def finger_extension(points: np.ndarray, dims: int = 3) -> np.ndarray:
    """Each finger's base-to-tip distance over its length (1: straight; smaller: bent).

    Args:
        points: ``(..., 21, 3)`` isotropic landmarks (:func:`isotropic`).
        dims: 3 for 3-D distances, 2 for the image plane.

    Returns:
        ``(..., 5)`` extensions, thumb to little finger.
    """
    points = points[..., :dims]
    return _spans(points) / np.maximum(_finger_lengths(points), _EPS)


def finger_reach(points: np.ndarray) -> np.ndarray:
    """Each finger's 3-D base-to-tip distance over the palm's length (wrist to middle knuckle).

    Unlike :func:`finger_extension` it does not divide by the finger's own length, so a
    finger that the landmarks draw straight but short (MediaPipe often draws the curled
    fingers of a fist seen from the side as short straight stubs) reaches little, as a curled
    finger does.

    Args:
        points: ``(..., 21, 3)`` isotropic landmarks (:func:`isotropic`).

    Returns:
        ``(..., 5)`` reaches, thumb to little finger (a straight finger about 1, a curled
        one under 0.5).
    """
    return _spans(points) / _palm_lengths(points)


def finger_extension_and_reach(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`finger_extension` (3-D) and :func:`finger_reach`, from one base-to-tip distance.

    The finger rule judges every live window by both (``Calibration.finger_fit``).

    Args:
        points: ``(..., 21, 3)`` isotropic landmarks (:func:`isotropic`).

    Returns:
        The extensions and the reaches, each ``(..., 5)``, thumb to little finger.
    """
    spans = _spans(points)
    return spans / np.maximum(_finger_lengths(points), _EPS), spans / _palm_lengths(points)


def _spans(points: np.ndarray) -> np.ndarray:
    """Each finger's base-to-tip distance, ``(..., 5)``."""
    chains = np.asarray(FINGER_CHAINS)  # (5, 4)
    return np.linalg.norm(points[..., chains[:, -1], :] - points[..., chains[:, 0], :], axis=-1)


def _finger_lengths(points: np.ndarray) -> np.ndarray:
    """Each finger's length along its bones, ``(..., 5)``."""
    chains = np.asarray(FINGER_CHAINS)
    bones = points[..., chains[:, 1:], :] - points[..., chains[:, :-1], :]  # (..., 5, 3, dims)
    return np.linalg.norm(bones, axis=-1).sum(axis=-1)


def _palm_lengths(points: np.ndarray) -> np.ndarray:
    """The wrist-to-middle-knuckle distance, ``(..., 1)`` (never below a tiny positive)."""
    palm = np.linalg.norm(points[..., MIDDLE_MCP, :] - points[..., WRIST, :], axis=-1)
    return np.maximum(palm, _EPS)[..., None]


def hand_frame(points: np.ndarray) -> np.ndarray:
    """Expresses isotropic landmarks in the hand's own 3-D frame (see ``hand3d`` above).

    Args:
        points: ``(..., 21, 3)`` isotropic landmarks (:func:`isotropic`).

    Returns:
        ``(..., 21, 3)`` float32 array: the wrist at the origin, the middle knuckle at
        ``(0, 1, 0)``, the index knuckle on the ``+x`` side, the fingers bent towards ``+z``.
    """
    points = np.asarray(points, dtype=np.float64)
    centred = points - points[..., WRIST : WRIST + 1, :]
    basis, length, side = _axes(centred)
    local = (
        np.einsum("...ij,...jk->...ik", centred, basis) / np.maximum(length, _EPS)[..., None, None]
    )
    local[..., 2] *= side[..., None]
    return local.astype(np.float32)


def hand_axes(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The hand's own axes, size and side, as :func:`hand_frame` uses them.

    Args:
        points: ``(..., 21, 3)`` isotropic landmarks.

    Returns:
        ``basis`` ``(..., 3, 3)`` with the hand's x, y and z axes as columns, ``length`` (the
        palm's 3-D length, wrist to middle knuckle) and ``side`` (+1 or -1: the sign that
        makes the fingers bend towards +z in the hand's frame, which differs between a hand
        and its mirror image).
    """
    points = np.asarray(points, dtype=np.float64)
    return _axes(points - points[..., WRIST : WRIST + 1, :])


def _axes(centred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`hand_axes` of landmarks already moved to the wrist."""
    up = centred[..., MIDDLE_MCP, :]
    length = np.linalg.norm(up, axis=-1)
    y_axis = up / np.maximum(length, _EPS)[..., None]
    across = centred[..., INDEX_MCP, :] - centred[..., PINKY_MCP, :]
    across = across - np.sum(across * y_axis, axis=-1, keepdims=True) * y_axis
    x_axis = across / np.maximum(np.linalg.norm(across, axis=-1, keepdims=True), _EPS)
    z_axis = np.cross(x_axis, y_axis)
    basis = np.stack([x_axis, y_axis, z_axis], axis=-1)
    # A mirror image flips only z; fixing its sign makes both hands alike.
    depth = np.einsum("...ij,...j->...i", centred, z_axis)
    side = np.where(depth.sum(axis=-1) < 0, -1.0, 1.0)
    return basis, length, side


def bone_features(local: np.ndarray) -> np.ndarray:
    """The ``bones`` features of landmarks in the hand's frame (:func:`hand_frame`).

    Args:
        local: ``(..., 21, 3)`` output of :func:`hand_frame`.

    Returns:
        ``(..., 21, 3)`` float32: rows 0-19 the bones' unit directions, row 20 the thumb
        tip's distances to the index tip, the middle tip and the middle knuckle.
    """
    parents = [a for a, _ in BONES]
    children = [b for _, b in BONES]
    vectors = local[..., children, :] - local[..., parents, :]
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    directions = vectors / np.maximum(norms, _EPS)
    thumb = local[..., THUMB_TIP, :]
    distances = np.stack(
        [
            np.linalg.norm(thumb - local[..., other, :], axis=-1)
            for other in (INDEX_TIP, MIDDLE_TIP, MIDDLE_MCP)
        ],
        axis=-1,
    )
    return np.concatenate([directions, distances[..., None, :]], axis=-2).astype(np.float32)


def frame_features(
    landmarks: np.ndarray, aspect: np.ndarray | float = 1.0, mode: str = "normalized"
) -> np.ndarray:
    """Computes the 63 features of each frame.

    Args:
        landmarks: ``(..., 21, 3)`` landmarks (NaN rows for frames without a hand).
        aspect: Height / width of the images, broadcastable to the leading dimensions.
        mode: ``raw``, ``normalized``, ``canonical``, ``hand3d`` or ``bones``.

    Returns:
        ``(..., 63)`` float32 features, zeros where the frame had no hand.

    Raises:
        InputError: For an unknown mode or a wrong shape.
    """
    landmarks = np.asarray(landmarks, dtype=np.float32)
    if landmarks.shape[-2:] != (21, 3):
        raise InputError(f"landmarks must have shape (..., 21, 3), got {landmarks.shape}")
    if mode == "raw":
        points = landmarks.copy()
    elif mode == "normalized":
        points = normalize(isotropic(landmarks, aspect))
    elif mode == "canonical":
        points = canonicalize(normalize(isotropic(landmarks, aspect)))
    elif mode == "hand3d":
        points = hand_frame(isotropic(landmarks, aspect))
    elif mode == "bones":
        points = bone_features(hand_frame(isotropic(landmarks, aspect)))
    else:
        raise InputError(f"feature mode must be one of {', '.join(FEATURE_MODES)}; got {mode!r}")
    features = points.reshape(*points.shape[:-2], NUM_FEATURES)
    return np.nan_to_num(features, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)
