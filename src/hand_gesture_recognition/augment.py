"""Augmentation of training windows: noise, occlusion, 3-D pose, mirror, hand shape, finger pose.

Augmentation works on landmark windows ``(n, L, 21, 3)`` before features are computed, so each
transform has its physical meaning (a hand turned in 3-D, the other hand, longer or shorter
fingers, fingers held more or less bent or apart, a camera that estimates depth differently,
a jittery or briefly lost detection) whatever the feature mode. Only training windows are
augmented.

Some transforms cannot change some features: every feature mode but ``raw`` is
wrist-relative and scale-free, so :func:`translate` and :func:`scale` change nothing there
(``benchmarks/generalisation.py`` measures which transforms change which features), and
:func:`rotate_3d` and :func:`mirror` change nothing in the viewpoint-invariant ``hand3d`` and
``bones`` modes, where only noise, occlusion, :func:`vary_pose`, :func:`vary_proportions`
(``hand3d``) and :func:`scale_depth` still act. Transforms whose settings make them the
identity are skipped.
"""

from __future__ import annotations

import numpy as np

from .config import FINGER_NAMES, AugmentationConfig, finger_donor
from .features import FINGER_CHAINS, FINGERS, hand_axes
from .preprocessing import fill_missing


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


def _as_isotropic(windows: np.ndarray, aspect: np.ndarray | None) -> np.ndarray:
    points = windows.astype(np.float32, copy=True)
    if aspect is not None:
        points[..., 1] *= aspect[..., None]
    return points


def _from_isotropic(points: np.ndarray, aspect: np.ndarray | None) -> np.ndarray:
    if aspect is not None:
        points[..., 1] /= aspect[..., None]
    return points


def axis_rotations(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """``(..., 3, 3)`` rotations about unit ``(..., 3)`` axes by ``(...)`` radians (Rodrigues)."""
    k = np.zeros((*axis.shape[:-1], 3, 3))
    k[..., 0, 1], k[..., 0, 2], k[..., 1, 2] = -axis[..., 2], axis[..., 1], -axis[..., 0]
    k = k - np.swapaxes(k, -1, -2)
    sin, cos = np.sin(angle)[..., None, None], np.cos(angle)[..., None, None]
    return np.eye(3) + sin * k + (1 - cos) * k @ k


def random_rotations(n: int, max_degrees: float, rng: np.random.Generator) -> np.ndarray:
    """``(n, 3, 3)`` rotations about uniformly random axes by angles uniform in ±max_degrees."""
    axis = rng.normal(size=(n, 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    return axis_rotations(axis, np.radians(rng.uniform(-max_degrees, max_degrees, size=n)))


def rotate_3d(
    windows: np.ndarray,
    max_degrees: float,
    rng: np.random.Generator,
    aspect: np.ndarray | None = None,
) -> np.ndarray:
    """Turns each window's hand in 3-D about its mean wrist position (Rodrigues' formula).

    Args:
        windows: ``(n, L, 21, 3)`` landmark windows.
        max_degrees: Largest rotation angle; each window gets a random axis.
        rng: Random generator.
        aspect: ``(n, L)`` image height / width, so that the rotation is rigid in isotropic
            coordinates (None: square images).

    Returns:
        The rotated windows.
    """
    points = _as_isotropic(windows, aspect)
    centre = np.nanmean(points[:, :, :1, :], axis=1, keepdims=True)
    rotations = random_rotations(len(windows), max_degrees, rng).astype(np.float32)
    turned = np.einsum("nij,nlkj->nlki", rotations, points - centre) + centre
    return _from_isotropic(turned.astype(np.float32), aspect)


def mirror(windows: np.ndarray, probability: float, rng: np.random.Generator) -> np.ndarray:
    """Mirrors some windows left-right (``x -> 1 - x``): the other hand doing the gesture."""
    out = windows.copy()
    chosen = rng.random(len(windows)) < probability
    out[chosen, ..., 0] = 1.0 - out[chosen, ..., 0]
    return out


def vary_proportions(
    windows: np.ndarray,
    low: float,
    high: float,
    rng: np.random.Generator,
    aspect: np.ndarray | None = None,
) -> np.ndarray:
    """Lengthens or shortens each finger (and the thumb) of each window by its own factor.

    The bones of a finger keep their directions; each finger's factor is uniform in
    ``[low, high]``, as people's hands differ in finger length relative to the palm.
    """
    points = _as_isotropic(windows, aspect)
    out = points.copy()
    factors = rng.uniform(low, high, size=(len(windows), len(FINGERS))).astype(np.float32)
    for f, chain in enumerate(FINGERS):
        factor = factors[:, f][:, None, None]
        for parent, child in zip(chain[1:-1], chain[2:], strict=True):
            bone = points[:, :, child] - points[:, :, parent]
            out[:, :, child] = out[:, :, parent] + bone * factor
    return _from_isotropic(out, aspect)


def turn_vectors(vectors: np.ndarray, axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotates ``(..., k, 3)`` vectors about unit ``(..., 3)`` axes by angles in radians.

    The angles broadcast to the axes' leading dimensions.
    """
    rotations = axis_rotations(axis, np.broadcast_to(angle, axis.shape[:-1]))
    return np.einsum("...ij,...kj->...ki", rotations, vectors)


def _turn_about(
    points: np.ndarray, joint: int, moved: list[int], axis: np.ndarray, angle: np.ndarray
) -> None:
    """Turns the landmarks ``moved`` of ``(n, L, 21, 3)`` points about ``joint``, in place.

    ``axis`` is ``(n, L, 3)`` unit vectors and ``angle`` radians broadcasting to ``(n, L)``.
    """
    origin = points[:, :, joint : joint + 1]
    points[:, :, moved] = origin + turn_vectors(points[:, :, moved] - origin, axis, angle)


def vary_pose(
    windows: np.ndarray,
    spread_degrees: float,
    curl_degrees: float,
    rng: np.random.Generator,
    aspect: np.ndarray | None = None,
) -> np.ndarray:
    """Spreads or closes, curls or straightens each of the four fingers a little.

    People hold the same gesture with their fingers more or less apart and more or less
    bent: one person's curled index in a thumbs-up is another's half-open one, an open palm
    has its fingers together or spread. Each finger of each window turns about the palm's
    normal at its knuckle by its own angle, uniform in ``±spread_degrees``, then bends at
    each of its three joints by another, uniform in ``±curl_degrees`` (the same at the three
    joints, in the same sense), about one hinge axis: across the finger in the palm's plane
    (the wrist-to-knuckle direction crossed with the normal, turned with the spread). Bone
    lengths are kept,
    and so is the thumb: where it points is what tells ``02_l``, ``03_fist``, ``05_thumb``
    and ``06_index`` apart, and turning it too made fists read as thumbs
    (TECHNICAL_REPORT section 14.7).

    Args:
        windows: ``(n, L, 21, 3)`` landmark windows.
        spread_degrees: Largest turn of a finger in the palm's plane.
        curl_degrees: Largest extra bend at each joint.
        rng: Random generator.
        aspect: ``(n, L)`` image height / width, so that the turns are rigid in isotropic
            coordinates (None: square images).

    Returns:
        The windows with the new finger poses.
    """
    points = _as_isotropic(windows, aspect).astype(np.float64)
    count = len(FINGERS) - 1
    spread = np.radians(rng.uniform(-spread_degrees, spread_degrees, (len(windows), count)))
    curl = np.radians(rng.uniform(-curl_degrees, curl_degrees, (len(windows), count)))
    normal = hand_axes(points)[0][..., 2]
    for f, chain in enumerate(FINGERS[1:]):
        base = chain[1]
        turn, bend = spread[:, f : f + 1], curl[:, f : f + 1]  # one pose for the window
        _turn_about(points, base, list(chain[2:]), normal, turn)
        # One hinge for the finger's three joints, from the palm (wrist to knuckle, across the
        # normal) and turned with the spread: an axis taken from each bone would reverse once
        # the bone bends past the palm's normal, and be undefined along it, as in a fist.
        hinge = np.cross(points[:, :, base] - points[:, :, 0], normal)
        hinge /= np.maximum(np.linalg.norm(hinge, axis=-1, keepdims=True), 1e-9)
        hinge = turn_vectors(hinge[:, :, None], normal, turn)[:, :, 0]
        for k, joint in enumerate(chain[1:-1]):
            _turn_about(points, joint, list(chain[k + 2 :]), hinge, bend)
    return _from_isotropic(points.astype(np.float32), aspect)


def open_fingers(
    windows: np.ndarray,
    fan_degrees: np.ndarray,
    thumb_degrees: np.ndarray,
    aspect: np.ndarray | None = None,
) -> np.ndarray:
    """Fans the four fingers apart and turns the thumb out, in the palm's plane.

    Each finger turns about its knuckle, about the palm's normal, away from the middle of
    the hand: the index by ``1.5 * fan`` towards the thumb's side, the middle finger by
    ``0.5 * fan``, the ring finger and the little finger by as much towards the little
    finger's side, so neighbouring fingers end ``fan`` further apart. The thumb turns away
    from the index about its base (the CMC joint) by ``thumb``. Every frame of a window
    turns alike; bone lengths, each finger's extension, the wrist and the knuckles are kept.

    Args:
        windows: ``(n, L, 21, 3)`` landmark windows.
        fan_degrees: ``(n,)`` each window's turn between neighbouring fingers.
        thumb_degrees: ``(n,)`` each window's turn of the thumb.
        aspect: ``(n, L)`` image height / width, so that the turns are rigid in isotropic
            coordinates (None: square images).

    Returns:
        The windows with the hands opened.
    """
    points = _as_isotropic(windows, aspect).astype(np.float64)
    normal = hand_axes(points)[0][..., 2]
    fan = np.radians(np.asarray(fan_degrees, np.float64))[:, None]
    thumb = np.radians(np.asarray(thumb_degrees, np.float64))[:, None]
    # A positive turn about the normal takes the fingers towards the little finger's side
    # (hand_axes: x towards the index, the normal x cross y): the thumb and the index turn
    # the other way to open the hand.
    for finger, chain in enumerate(FINGERS):
        turn = -thumb if finger == 0 else (finger - 2.5) * fan
        _turn_about(points, chain[1], list(chain[2:]), normal, turn)
    return _from_isotropic(points.astype(np.float32), aspect)


def open_hands(
    windows: np.ndarray,
    aspect: np.ndarray,
    labels: np.ndarray,
    gestures: list[str],
    config: AugmentationConfig,
    rng: np.random.Generator,
) -> np.ndarray:
    """Opens a share of the windows of ``config.open_gestures`` (:func:`open_fingers`).

    LeapGestRecog's palms hold their fingers together and the thumb close; other people
    show an open palm or a stop sign with the fingers spread and the thumb out, which a
    model that never saw it reads as ``07_ok`` or ``10_down`` (TECHNICAL_REPORT section
    14.15). Each window of those gestures is opened with probability
    ``config.open_fraction``, by a fan and a thumb turn uniform in
    ``[0, config.open_fan_degrees]`` and ``[0, config.open_thumb_degrees]``; frames without
    a hand stay without one. A gesture missing from ``gestures`` is left alone. What the
    rejection rules measure (each finger's extension, the wrist-to-middle-knuckle direction)
    stays as it was, so the rules of the windows as extracted hold for the opened ones.

    Args:
        windows: ``(n, L, 21, 3)`` landmark windows (NaN where no hand was found).
        aspect: ``(n, L)`` their image height / width.
        labels: ``(n,)`` class indices into ``gestures``.
        gestures: Class names.
        config: Augmentation settings.
        rng: Chooses the windows and their turns.

    Returns:
        The windows, opened where chosen (a copy; ``windows`` is left as it is).
    """
    out = np.array(windows, dtype=np.float32, copy=True)
    index = [gestures.index(g) for g in config.open_gestures if g in gestures]
    chosen = np.flatnonzero(np.isin(labels, index))
    chosen = chosen[rng.random(len(chosen)) < config.open_fraction]
    fan = rng.uniform(0.0, config.open_fan_degrees, len(chosen))
    thumb = rng.uniform(0.0, config.open_thumb_degrees, len(chosen))
    if len(chosen):
        out[chosen] = open_fingers(out[chosen], fan, thumb, aspect[chosen])
    return out


def scale_depth(
    windows: np.ndarray, low: float, high: float, rng: np.random.Generator
) -> np.ndarray:
    """Stretches each window's depth (``z`` about the wrist) by a factor in ``[low, high]``.

    MediaPipe estimates depth from one image; how much depth it sees differs between cameras
    (a Leap Motion's infrared blob, a webcam's colour photo).
    """
    factors = rng.uniform(low, high, size=(len(windows), 1, 1)).astype(np.float32)
    out = windows.copy()
    wrist = windows[:, :, :1, 2]
    out[..., 2] = wrist + (windows[..., 2] - wrist) * factors
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


def still_copies(
    windows: np.ndarray,
    fraction: float,
    rng: np.random.Generator,
    aspect: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Still copies of a random share of windows: one frame with a hand held for the window.

    A photo is classified as its one frame held for a whole window; these copies are that
    input in training.

    Args:
        windows: ``(n, L, 21, 3)`` landmark windows (missing frames filled or NaN).
        fraction: Share of the windows that get a copy.
        rng: Random generator.
        aspect: ``(n, L)`` image height / width, or None.

    Returns:
        The copies, the index of the window each came from, and their aspect (None without).
    """
    chosen = np.flatnonzero(rng.random(len(windows)) < fraction)
    length = windows.shape[1]
    frames = np.empty(len(chosen), np.int64)
    for j, i in enumerate(chosen):
        present = np.flatnonzero(~np.isnan(windows[i]).any(axis=(1, 2)))
        frames[j] = rng.choice(present) if len(present) else 0
    held = windows[chosen, frames][:, None].repeat(length, axis=1)
    held_aspect = None if aspect is None else aspect[chosen, frames][:, None].repeat(length, 1)
    return held.astype(np.float32), chosen, held_aspect


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


def give_fingers(
    windows: np.ndarray,
    aspect: np.ndarray,
    labels: np.ndarray,
    gestures: list[str],
    specs: tuple[str, ...],
    rng: np.random.Generator,
) -> np.ndarray:
    """Gives the windows of a gesture a finger of random windows of another, frame by frame.

    For each ``"gesture:finger:donor"`` of ``specs``
    (:attr:`~hand_gesture_recognition.config.AugmentationConfig.finger_donors`), every window
    of ``gesture`` takes ``finger`` from a random window of ``donor``
    (:func:`transplant_fingers`); frames where either hand is missing keep their own.
    Nothing changes for a spec whose gestures are not both among the windows.

    Args:
        windows: ``(n, L, 21, 3)`` landmark windows (NaN where no hand was found).
        aspect: ``(n, L)`` their image height / width.
        labels: ``(n,)`` class indices into ``gestures``.
        gestures: Class names.
        specs: What each gesture takes from which.
        rng: Chooses the donor windows.

    Returns:
        The windows, changed where a spec applies (a copy; ``windows`` is left as it is).
    """
    out = np.array(windows, dtype=np.float32, copy=True)
    for spec in specs:
        gesture, finger, donor = finger_donor(spec)
        if gesture not in gestures or donor not in gestures:
            continue
        receivers = np.flatnonzero(labels == gestures.index(gesture))
        donors = np.flatnonzero(labels == gestures.index(donor))
        if not len(receivers) or not len(donors):
            continue
        chosen = rng.choice(donors, size=len(receivers))
        points = _as_isotropic(out[receivers], aspect[receivers])
        given = np.stack(
            [
                transplant_fingers(hand, other, [FINGER_NAMES.index(finger)])
                for hand, other in zip(
                    points, _as_isotropic(out[chosen], aspect[chosen]), strict=True
                )
            ]
        )
        given = _from_isotropic(given, aspect[receivers])
        missing = np.isnan(given).any(axis=(-2, -1))
        given[missing] = out[receivers][missing]
        out[receivers] = given
    return out


#: Transforms that cannot change a feature mode's features (measured by
#: ``benchmarks/generalisation.py``: mean absolute change 0 to float rounding).
NO_EFFECT: dict[str, frozenset[str]] = {
    "raw": frozenset(),
    "normalized": frozenset({"translate"}),
    "canonical": frozenset({"translate", "scale", "mirror", "depth"}),
    "hand3d": frozenset({"translate", "rotate_3d", "mirror"}),
    "bones": frozenset({"translate", "rotate_3d", "mirror"}),
}


def augment_windows(
    windows: np.ndarray,
    labels: np.ndarray,
    config: AugmentationConfig,
    missing: str,
    rng: np.random.Generator,
    aspect: np.ndarray | None = None,
    feature_mode: str = "raw",
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Returns the originals, ``config.copies`` augmented copies of each, then still copies.

    Each copy gets a 3-D rotation, a mirror, other finger proportions, other finger poses
    (:func:`vary_pose`) and another depth scale, then noise, possibly an occlusion, a scale
    and a translation; transforms whose
    settings make them the identity, or that cannot change ``feature_mode``'s features
    (:data:`NO_EFFECT`), are skipped. Last come the still copies of
    ``config.still_fraction`` of the windows (:func:`still_copies`).

    Args:
        windows: ``(n, L, 21, 3)`` landmark windows (NaN where no hand was found).
        labels: ``(n,)`` class indices.
        config: Augmentation settings.
        missing: The missing-frame policy (refills occluded frames).
        rng: Random generator (seeded by the caller).
        aspect: ``(n, L)`` image height / width of the windows (None: square images).
        feature_mode: The features the windows become (``raw``: every transform acts).

    Returns:
        ``(n * (1 + copies) + stills, L, 21, 3)`` windows, their labels and their aspect
        (None when ``aspect`` is None).
    """
    idle = NO_EFFECT.get(feature_mode, frozenset())
    parts, part_labels = [windows], [labels]
    part_aspects = None if aspect is None else [aspect]
    for _ in range(config.copies):
        copy = windows
        if config.rotation_degrees > 0 and "rotate_3d" not in idle:
            copy = rotate_3d(copy, config.rotation_degrees, rng, aspect)
        if config.mirror_probability > 0 and "mirror" not in idle:
            copy = mirror(copy, config.mirror_probability, rng)
        if config.proportion_range != (1.0, 1.0):
            copy = vary_proportions(copy, *config.proportion_range, rng, aspect)
        if config.spread_degrees > 0 or config.curl_degrees > 0:
            copy = vary_pose(copy, config.spread_degrees, config.curl_degrees, rng, aspect)
        if config.depth_range != (1.0, 1.0) and "depth" not in idle:
            copy = scale_depth(copy, *config.depth_range, rng)
        copy = add_noise(copy, config.noise_std, rng)
        copy = occlude(
            copy, config.occlusion_probability, config.occlusion_max_frames, missing, rng
        )
        if config.scale_range != (1.0, 1.0) and "scale" not in idle:
            copy = scale(copy, *config.scale_range, rng)
        if config.translation_range > 0 and "translate" not in idle:
            copy = translate(copy, config.translation_range, rng)
        parts.append(copy.astype(np.float32))
        part_labels.append(labels)
        if part_aspects is not None:
            part_aspects.append(aspect)
    if config.still_fraction > 0:
        held, source, held_aspect = still_copies(windows, config.still_fraction, rng, aspect)
        parts.append(held)
        part_labels.append(labels[source])
        if part_aspects is not None:
            part_aspects.append(held_aspect)
    joined_aspect = None if part_aspects is None else np.concatenate(part_aspects)
    return np.concatenate(parts), np.concatenate(part_labels), joined_aspect
