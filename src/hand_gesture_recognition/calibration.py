"""Calibrated confidence and the rule that answers "no known gesture".

A softmax trained on one person's frames is confident about nearly everything, including
hands that do no gesture at all. Temperature scaling (Guo et al., 2017) divides the log
probabilities by one number ``T`` fitted on the validation windows (minimum negative
log-likelihood), which keeps every answer's rank and makes the top probability mean what it
says on data like the validation data. The rejection rule then answers "no known gesture"
when the calibrated top probability is under a threshold.

Fitted on validation windows of the same person as the training windows, a model is right on
nearly all of them and the fit only sharpens its answers (``T < 1``), which is the wrong way
for other people and cameras. So the temperature is fitted on the validation windows after a
*shift* (:func:`shift_windows`: the hand turned in 3-D, other finger proportions, another
depth scale, more landmark noise), a stand-in for the new person and camera the model has not
seen (post-hoc calibration under domain drift, Tomani et al., 2021).

The fitted temperature and the threshold are saved beside the model as ``calibration.json``;
a model without the file (older models, the original project's) keeps ``T = 1``.

A second rule needs no softmax: a hand that points further below the horizontal
(:func:`~hand_gesture_recognition.features.pointing_down`) than :data:`DOWNWARD_MARGIN`, or
than that margin below the lowest training hand when the training hands pointed down
themselves, is answered as "no known gesture". Gestures are shown to a camera with the hand
up or to the side; a hand hanging down rests. The features of the default ``canonical`` mode
turn every hand upright, so the model itself cannot see this.

A model can also learn what is not a gesture: a class named :data:`REJECTION_LABEL`
(``none``), trained on hand poses that are no gesture (``hand-gesture record --gesture none``).
Its answer is "no known gesture" whatever its confidence.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np

from .augment import add_noise, rotate_3d, scale_depth, vary_proportions
from .config import FINGER_NAMES, finger_donor, read_json, write_json_atomic
from .errors import InputError
from .features import (
    finger_extension,
    finger_extension_and_reach,
    finger_reach,
    isotropic,
    pointing_down,
)
from .preprocessing import WindowSet

CALIBRATION_FILE = "calibration.json"
#: The class of hand poses that are not gestures: answered as "no known gesture".
REJECTION_LABEL = "none"
#: What a classified window is answered as (:meth:`Calibration.answer`): a gesture, nothing
#: (the top probability is under the threshold) or "no known gesture" (the ``none`` class, or
#: a rule says the hand does no gesture).
GESTURE, UNCERTAIN, NOT_GESTURE = "gesture", "uncertain", "not_gesture"
#: How much further down than the hand of any training window a window's hand may point
#: before it is no gesture, as a sine: the rule starts 0.25 (about 14 degrees) below the
#: horizontal, or that much below the lowest training hand if that pointed further down.
DOWNWARD_MARGIN = 0.25
#: How far (in one finger's extension, 0 curled to 1 straight, and in its reach, palm
#: lengths) a window's finger may lie outside the ranges of the answered gesture's training
#: windows before the answer is "no known gesture" (:meth:`Calibration.off_shape`).
FINGER_MARGIN = 0.4
#: In how many of a window's frames (as a share) a finger must lie that far outside before
#: the window is off shape. Three quarters, not a median: the infrared landmarks of one of
#: LeapGestRecog's two alternating camera views straighten ``06_index``'s curled middle
#: finger, and by the median half of that gesture's own windows were rejected.
FINGER_FRAMES = 0.75
_TINY = 1e-12


@dataclass(frozen=True)
class Calibration:
    """How a model's probabilities are calibrated and when an answer is rejected.

    Attributes:
        temperature: Divides the log probabilities (1: unchanged).
        threshold: Calibrated top probability under which the answer is "no known gesture".
        ece_before: Expected calibration error on the validation windows before scaling.
        ece_after: The same after scaling.
        fitted_on: How many validation windows the temperature was fitted on.
        fitted_temperature: The fit before the lower bound of :func:`calibrate`.
        max_downward: A window whose hand points further down than this
            (:func:`window_downward`) is no gesture; None: no such rule (models trained
            before it, and the original project's).
        finger_ranges: For each gesture, the lowest and highest extension of each finger,
            thumb to little finger, over its training windows (:func:`finger_ranges`); None:
            no finger rule (models trained before it, and the original project's).
        reach_ranges: The same for each finger's reach (:func:`finger_ranges` of
            :func:`window_reach`): a finger is outside its gesture's fingers only when its
            reach is outside too (:meth:`finger_fit`); None: the extension alone decides
            (models trained before it).
        finger_margin: How far outside its answer's range a window's finger may be
            (:meth:`off_shape`).
        finger_frames: In what share, at least, of the window's frames with a hand it must
            be that far outside (1: in every frame).
    """

    temperature: float = 1.0
    threshold: float = 0.6
    ece_before: float | None = None
    ece_after: float | None = None
    fitted_on: int = 0
    fitted_temperature: float | None = None
    max_downward: float | None = None
    finger_ranges: dict[str, list[list[float]]] | None = None
    reach_ranges: dict[str, list[list[float]]] | None = None
    finger_margin: float = FINGER_MARGIN
    finger_frames: float = FINGER_FRAMES

    def __post_init__(self) -> None:
        temperature = self.temperature
        if not (_finite(temperature) and temperature > 0):
            raise InputError(f"temperature must be a finite number > 0, got {temperature!r}")
        if not (_finite(self.threshold) and 0.0 <= self.threshold <= 1.0):
            raise InputError(f"threshold must be a number in [0, 1], got {self.threshold!r}")
        limit = self.max_downward
        if limit is not None and not _finite(limit):
            raise InputError(f"max_downward must be a finite number or null, got {limit!r}")
        margin = self.finger_margin
        if not (_finite(margin) and margin >= 0):
            raise InputError(f"finger_margin must be a number >= 0, got {margin!r}")
        share = self.finger_frames
        if not (_finite(share) and 0.5 <= share <= 1):
            raise InputError(f"finger_frames must be a number in [0.5, 1], got {share!r}")
        for name in ("finger_ranges", "reach_ranges"):
            ranges = getattr(self, name)
            if ranges is not None and not _finger_ranges_valid(ranges):
                raise InputError(
                    f"{name} must map each gesture to [lowest, highest] values of the "
                    f"{len(FINGER_NAMES)} fingers, or be null"
                )

    @property
    def downward_degrees(self) -> float | None:
        """The orientation rule's limit as an angle below the horizontal (None: no rule).

        A limit of 1 or more is 90 degrees: the rule never rejects anything.
        """
        if self.max_downward is None:
            return None
        return math.degrees(math.asin(max(-1.0, min(self.max_downward, 1.0))))

    def apply(self, probabilities: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of ``(..., C)`` softmax outputs."""
        return apply_temperature(probabilities, self.temperature)

    def accepts(self, probabilities: np.ndarray) -> np.ndarray:
        """Whether each calibrated ``(..., C)`` probability vector is a confident answer."""
        return np.asarray(probabilities).max(axis=-1) >= self.threshold

    def points_down(self, landmarks: np.ndarray, aspect: np.ndarray) -> np.ndarray:
        """Whether each window's hand points further down than this rule allows.

        Args:
            landmarks: ``(..., L, 21, 3)`` landmark windows (a photo: ``L = 1``).
            aspect: ``(..., L)`` their image height / width.

        Returns:
            ``(...)`` booleans; all false for a calibration without the rule.
        """
        if self.max_downward is None:
            return np.zeros(np.shape(landmarks)[:-3], dtype=bool)
        return window_downward(landmarks, aspect) > self.max_downward

    def finger_fit(
        self, landmarks: np.ndarray, aspect: np.ndarray, gestures: list[str]
    ) -> np.ndarray:
        """Whether each window's fingers could be each gesture's.

        They could unless, in at least :attr:`finger_frames` of the window's frames with a
        hand, some finger's 3-D extension lies more than :attr:`finger_margin` outside that
        gesture's :attr:`finger_ranges` and, where the calibration has
        :attr:`reach_ranges`, its reach lies that far outside them on the same side in the
        same frames. Both must agree because each can be fooled alone: the extension by a
        curled finger drawn as a short straight stub (it reaches little), the reach by a hand
        whose palm the landmarks shorten. A gesture without a range (and every gesture of a
        calibration without the rule) fits any window, and every gesture fits a window
        without a hand.

        Args:
            landmarks: ``(..., L, 21, 3)`` landmark windows (a photo: ``L = 1``).
            aspect: ``(..., L)`` their image height / width.
            gestures: The class names, in the model's order.

        Returns:
            ``(..., C)`` booleans.
        """
        ranges = self.finger_ranges or {}
        known = [i for i, g in enumerate(gestures) if g in ranges]
        batch = np.shape(landmarks)[:-3]
        fits = np.ones((*batch, len(gestures)), dtype=bool)
        if not known:
            return fits
        extension, reach = finger_extension_and_reach(isotropic(landmarks, aspect))
        # How far each frame's finger lies above and below each gesture's range: (..., L, k, 5).
        above, below = _outside(extension, [ranges[gestures[i]] for i in known])
        if self.reach_ranges is not None:
            # A gesture without a reach range is judged by its extension alone.
            unbounded = [[np.inf] * len(FINGER_NAMES), [-np.inf] * len(FINGER_NAMES)]
            reach_above, reach_below = _outside(
                reach, [self.reach_ranges.get(gestures[i], unbounded) for i in known]
            )
            above, below = np.minimum(above, reach_above), np.minimum(below, reach_below)
        share = self.finger_frames
        # The frames' axis last; the value that the share of the frames reach or pass.
        outside = np.maximum(
            _frame_bounds(np.moveaxis(above, -3, -1), share)[0],
            _frame_bounds(np.moveaxis(below, -3, -1), share)[0],
        )
        # NaN (no hand) compares false: such a window fits.
        fits[..., known] = ~(outside > self.finger_margin).any(axis=-1)
        return fits

    def off_shape(
        self, landmarks: np.ndarray, aspect: np.ndarray, answers: np.ndarray, gestures: list[str]
    ) -> np.ndarray:
        """Whether each window's fingers are not those of the gesture it is answered as.

        A window is off shape when, in some finger, its extension (and its reach) lies more
        than :attr:`finger_margin` outside that gesture's ranges in at least
        :attr:`finger_frames` of its frames: a V sign answered as ``06_index``, whose
        training windows all curl the middle finger (:meth:`finger_fit`).

        Args:
            landmarks: ``(..., L, 21, 3)`` landmark windows (a photo: ``L = 1``).
            aspect: ``(..., L)`` their image height / width.
            answers: ``(...)`` the index into ``gestures`` each window is answered as.
            gestures: The class names, in the model's order.

        Returns:
            ``(...)`` booleans.
        """
        fits = self.finger_fit(landmarks, aspect, gestures)
        answers = np.asarray(answers)
        return ~np.take_along_axis(fits, answers[..., None], axis=-1)[..., 0]

    def answer(
        self,
        probabilities: np.ndarray,
        landmarks: np.ndarray,
        aspect: np.ndarray,
        gestures: list[str],
        threshold: float | None = None,
    ) -> Answers:
        """What each window is answered as, with the model's probabilities and both rules.

        The one decision that live use (one window at a time), ``hand-gesture evaluate``
        (every window of a file) and the app share: the probabilities are calibrated; a
        window whose most likely class is :data:`REJECTION_LABEL`, whose hand points down
        (:meth:`points_down`) or whose fingers are not the most likely gesture's
        (:meth:`off_shape`) is :data:`NOT_GESTURE`; otherwise it is :data:`GESTURE` when the
        top probability reaches the threshold and :data:`UNCERTAIN` when it does not.

        Args:
            probabilities: ``(..., C)`` the model's softmax outputs, not yet calibrated.
            landmarks: ``(..., L, 21, 3)`` the windows they classified (a photo: ``L = 1``).
            aspect: ``(..., L)`` their image height / width.
            gestures: The class names, in the model's order.
            threshold: The smallest confident top probability (None: :attr:`threshold`).

        Returns:
            The answers, one per window.
        """
        calibrated = self.apply(probabilities)
        top = calibrated.argmax(axis=-1)
        confidence = np.take_along_axis(calibrated, top[..., None], axis=-1)[..., 0]
        down = self.points_down(landmarks, aspect)
        off = self.off_shape(landmarks, aspect, top, gestures)
        rejected = (np.asarray(gestures)[top] == REJECTION_LABEL) | down | off
        limit = self.threshold if threshold is None else threshold
        state = np.where(rejected, NOT_GESTURE, np.where(confidence >= limit, GESTURE, UNCERTAIN))
        return Answers(calibrated, top, confidence, down, off, state)

    def save(self, directory: str | os.PathLike) -> None:
        """Writes ``calibration.json`` into a model directory, atomically."""
        write_json_atomic(Path(directory) / CALIBRATION_FILE, asdict(self))

    @classmethod
    def load(cls, directory: str | os.PathLike | None) -> Calibration:
        """Reads a model directory's ``calibration.json``; ``T = 1`` when there is none.

        Raises:
            InputError: If the file exists but is not a calibration.
        """
        if directory is None:
            return cls()
        path = Path(directory) / CALIBRATION_FILE
        if not path.is_file():
            return cls()
        data = read_json(path)
        known = {f.name for f in fields(cls)}
        if not isinstance(data, dict) or set(data) - known:
            raise InputError(f"{path}: expected a calibration with keys {', '.join(sorted(known))}")
        try:
            return cls(**data)
        except InputError as error:
            raise InputError(f"{path}: {error}") from None


@dataclass(frozen=True)
class Answers:
    """What :meth:`Calibration.answer` says about each of a batch of windows.

    Attributes:
        probabilities: ``(..., C)`` calibrated probabilities.
        top: ``(...)`` index of the most likely class.
        confidence: ``(...)`` its calibrated probability.
        points_down: ``(...)`` whether the orientation rule rejects the window.
        off_shape: ``(...)`` whether the finger rule rejects it.
        state: ``(...)`` :data:`GESTURE`, :data:`UNCERTAIN` or :data:`NOT_GESTURE`.
    """

    probabilities: np.ndarray
    top: np.ndarray
    confidence: np.ndarray
    points_down: np.ndarray
    off_shape: np.ndarray
    state: np.ndarray

    @staticmethod
    def concatenate(parts: list[Answers]) -> Answers:
        """The answers of several batches of windows, one after the other."""
        return Answers(
            *(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Answers))
        )

    def labels(self, gestures: list[str]) -> np.ndarray:
        """Each window's answer as text: its gesture, ``uncertain`` or ``not_gesture``."""
        return np.where(self.state == GESTURE, np.asarray(gestures)[self.top], self.state)


def _finite(value: object) -> bool:
    """Whether ``value`` is a finite int or float (not a bool, a string or null)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def answered(probabilities: np.ndarray, gestures: list[str], threshold: float) -> np.ndarray:
    """Whether each calibrated ``(..., C)`` probability vector is answered as a gesture.

    It is when its top probability reaches ``threshold`` and its top class is not the
    :data:`REJECTION_LABEL` class (a model without one has no such class).

    Args:
        probabilities: Calibrated probabilities in ``gestures``' order.
        gestures: The class names.
        threshold: The smallest confident top probability.

    Returns:
        ``(...)`` booleans.
    """
    probabilities = np.asarray(probabilities)
    named = np.asarray(gestures)[probabilities.argmax(axis=-1)] != REJECTION_LABEL
    return (probabilities.max(axis=-1) >= threshold) & named


def _finger_ranges_valid(ranges: object) -> bool:
    """Whether ``ranges`` maps names to two rows of one finite number per finger."""
    if not isinstance(ranges, dict):
        return False
    for bounds in ranges.values():
        try:
            values = np.asarray(bounds, dtype=float)
        except (TypeError, ValueError):
            return False
        if values.shape != (2, len(FINGER_NAMES)) or not np.isfinite(values).all():
            return False
    return True


def window_downward(landmarks: np.ndarray, aspect: np.ndarray) -> np.ndarray:
    """The median over each window's frames of how far below the horizontal its hand points.

    Args:
        landmarks: ``(..., L, 21, 3)`` landmark windows.
        aspect: ``(..., L)`` their image height / width.

    Returns:
        ``(...)`` float32: :func:`~hand_gesture_recognition.features.pointing_down`'s median,
        NaN for a window without a hand.
    """
    return _median_of_frames(pointing_down(landmarks, aspect))


def window_fingers(landmarks: np.ndarray, aspect: np.ndarray) -> np.ndarray:
    """The median over each window's frames of each finger's 3-D extension.

    Args:
        landmarks: ``(..., L, 21, 3)`` landmark windows.
        aspect: ``(..., L)`` their image height / width.

    Returns:
        ``(..., 5)`` float32 (:func:`~hand_gesture_recognition.features.finger_extension`,
        thumb to little finger), NaN for a window without a hand.
    """
    extension = finger_extension(isotropic(landmarks, aspect))  # (..., L, 5)
    return _median_of_frames(np.moveaxis(extension, -1, -2))


def window_reach(landmarks: np.ndarray, aspect: np.ndarray) -> np.ndarray:
    """The median over each window's frames of each finger's reach.

    Args:
        landmarks: ``(..., L, 21, 3)`` landmark windows.
        aspect: ``(..., L)`` their image height / width.

    Returns:
        ``(..., 5)`` float32 (:func:`~hand_gesture_recognition.features.finger_reach`,
        thumb to little finger), NaN for a window without a hand.
    """
    reach = finger_reach(isotropic(landmarks, aspect))  # (..., L, 5)
    return _median_of_frames(np.moveaxis(reach, -1, -2))


def _outside(values: np.ndarray, ranges: list) -> tuple[np.ndarray, np.ndarray]:
    """How far ``(..., L, 5)`` finger values lie above and below each of ``k`` ranges.

    Returns:
        ``above`` and ``below``, each ``(..., L, k, 5)`` float32 (negative: inside).
    """
    bounds = np.array(ranges, dtype=np.float32)  # (k, 2, 5)
    values = values[..., None, :]
    return values - bounds[:, 1], bounds[:, 0] - values


def _frame_bounds(values: np.ndarray, share: float) -> tuple[np.ndarray, np.ndarray]:
    """The values that a share of the finite values of the last axis reach or pass, as float32.

    With ``m`` the smallest whole number of finite values that is at least ``share`` of
    them: ``low`` is the ``m``-th largest (``m`` values are at or above it) and ``high`` the
    ``m``-th smallest. So the values lie above a limit in at least that share exactly when
    ``low`` does. NaN where the axis has no finite value.
    """
    # From one sort (NaN sorts last): np.nanquantile takes about ten times as long on one
    # window, and this runs on every live frame.
    ordered = np.sort(values, axis=-1)
    count = np.isfinite(ordered).sum(axis=-1, keepdims=True)
    # The small tolerance keeps a share such as 0.7 of 10 frames at 7 despite rounding.
    needed = np.maximum(np.ceil(share * count - 1e-9).astype(np.int64), 1)
    low = np.take_along_axis(ordered, np.maximum(count - needed, 0), axis=-1)[..., 0]
    high = np.take_along_axis(ordered, needed - 1, axis=-1)[..., 0]
    return low.astype(np.float32), high.astype(np.float32)


def _median_of_frames(values: np.ndarray) -> np.ndarray:
    """The median over the last axis of its finite values (NaN: none), as float32."""
    # Half of the values reach or pass the upper middle one, half the lower middle one.
    low, high = _frame_bounds(values, 0.5)
    return (low + high) / 2


def downward_limit(
    parts: list[WindowSet], gestures: list[str], margin: float = DOWNWARD_MARGIN
) -> float:
    """The :attr:`Calibration.max_downward` of a model trained on these windows.

    Windows of the :data:`REJECTION_LABEL` class are left out: hands that rest are what the
    rule is for.

    Args:
        parts: The training and validation windows (read where they are, not joined).
        gestures: Class names in label order.
        margin: How much further down than the horizontal, or than the lowest training
            hand if it pointed further down, a hand may point.

    Returns:
        ``max(0, the largest window_downward of the gestures' windows) + margin``.
    """
    lowest = 0.0
    for part in parts:
        kept = np.asarray(gestures)[part.labels] != REJECTION_LABEL
        downward = window_downward(part.windows[kept], part.aspect[kept])
        if np.isfinite(downward).any():
            lowest = max(lowest, float(np.nanmax(downward)))
    return lowest + float(margin)


def rules_from_windows(
    parts: list[WindowSet], gestures: list[str], donors: tuple[str, ...] = ()
) -> Calibration:
    """The orientation and finger rules of a model trained on these windows (``T = 1``).

    Both come from the windows of the gestures (not of a :data:`REJECTION_LABEL` class):
    :func:`downward_limit` and :func:`finger_ranges` (of the extension and of the reach). A
    finger that the training windows take from a donor has the donor's ranges, so windows as
    extracted may lie outside them (the reason for :attr:`Calibration.finger_frames`).

    Args:
        parts: The training and validation windows (as extracted).
        gestures: Class names in label order.
        donors: The training windows' finger donors (:func:`finger_ranges`).
    """
    return Calibration(
        max_downward=downward_limit(parts, gestures),
        finger_ranges=finger_ranges(parts, gestures, donors),
        reach_ranges=finger_ranges(parts, gestures, donors, window_reach),
    )


def finger_ranges(
    parts: list[WindowSet],
    gestures: list[str],
    donors: tuple[str, ...] = (),
    measure: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> dict[str, list[list[float]]]:
    """The :attr:`Calibration.finger_ranges` of a model trained on these windows.

    Each gesture's range is the 1st to 99th percentile of its windows'
    :func:`window_fingers` (with ``measure=window_reach``: :attr:`Calibration.reach_ranges`).
    A finger that a gesture's training windows take from another gesture (``donors``,
    :attr:`~hand_gesture_recognition.config.AugmentationConfig.finger_donors`) gets the
    donor's range. The :data:`REJECTION_LABEL` class gets none: its answer is no gesture
    already.

    Args:
        parts: The training and validation windows (as extracted).
        gestures: Class names in label order.
        donors: ``"gesture:finger:donor"`` specs the training windows were given.
        measure: Each window's ``(..., 5)`` finger values from its landmarks and aspect
            (None: :func:`window_fingers`).

    Returns:
        ``{gesture: [[lowest per finger], [highest per finger]]}`` for each gesture with a
        window that has a hand.
    """
    measure = measure or window_fingers
    values = np.concatenate([measure(p.windows, p.aspect) for p in parts])
    labels = np.concatenate([p.labels for p in parts])
    ranges = {}
    for index, gesture in enumerate(gestures):
        rows = values[(labels == index) & np.isfinite(values).all(axis=-1)]
        if gesture != REJECTION_LABEL and len(rows):
            ranges[gesture] = np.percentile(rows, [1, 99], axis=0)
    for spec in donors:
        gesture, finger, donor = finger_donor(spec)
        if gesture in ranges and donor in ranges:
            column = FINGER_NAMES.index(finger)
            ranges[gesture][:, column] = ranges[donor][:, column]
    return {g: np.round(r, 4).tolist() for g, r in ranges.items()}


@dataclass(frozen=True)
class ShiftConfig:
    """The perturbation of validation windows the temperature is fitted on.

    Attributes:
        rotation_degrees: Largest 3-D rotation of the hand.
        proportion_range: Range of the per-finger length factor.
        depth_range: Range of the depth stretch.
        noise_std: Landmark noise (image-width units).
        copies: Shifted copies of each validation window.
    """

    rotation_degrees: float = 45.0
    proportion_range: tuple[float, float] = (0.75, 1.25)
    depth_range: tuple[float, float] = (0.5, 1.5)
    noise_std: float = 0.02
    copies: int = 3


def shift_windows(
    windows: np.ndarray,
    aspect: np.ndarray,
    config: ShiftConfig,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Shifted copies of landmark windows (see :class:`ShiftConfig`).

    Args:
        windows: ``(n, L, 21, 3)`` validation landmark windows.
        aspect: ``(n, L)`` their image height / width.
        config: The shift.
        rng: Random generator.

    Returns:
        ``(n * copies, L, 21, 3)`` windows and their ``(n * copies, L)`` aspects.
    """
    parts = []
    for _ in range(config.copies):
        copy = rotate_3d(windows, config.rotation_degrees, rng, aspect)
        copy = vary_proportions(copy, *config.proportion_range, rng, aspect)
        copy = scale_depth(copy, *config.depth_range, rng)
        parts.append(add_noise(copy, config.noise_std, rng))
    return np.concatenate(parts), np.concatenate([aspect] * config.copies)


def apply_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Softmax of ``log(p) / T`` along the last axis."""
    logits = np.log(np.clip(np.asarray(probabilities, dtype=np.float64), _TINY, 1.0))
    logits = logits / float(temperature)
    logits -= logits.max(axis=-1, keepdims=True)
    exp = np.exp(logits)
    return (exp / exp.sum(axis=-1, keepdims=True)).astype(np.float32)


def negative_log_likelihood(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean ``-log p(true class)``."""
    p = np.asarray(probabilities, dtype=np.float64)[np.arange(len(labels)), labels]
    return float(-np.mean(np.log(np.clip(p, _TINY, 1.0))))


def fit_temperature(
    probabilities: np.ndarray, labels: np.ndarray, bounds: tuple[float, float] = (0.05, 20.0)
) -> float:
    """The temperature that minimises the negative log-likelihood of ``labels``.

    Args:
        probabilities: ``(n, C)`` softmax outputs on held-out (validation) windows, or
            ``(n, L, C)`` outputs of each of their frames for a model that answers the mean
            of its frames' softmax outputs: each frame's are scaled, then averaged.
        labels: ``(n,)`` their true classes.
        bounds: Search interval for ``T``.

    Returns:
        The fitted temperature (1.0 for an empty set).
    """
    from scipy.optimize import minimize_scalar

    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        return 1.0

    def loss(log_t: float) -> float:
        scaled = apply_temperature(probabilities, np.exp(log_t))
        return negative_log_likelihood(scaled.mean(axis=1) if scaled.ndim == 3 else scaled, labels)

    result = minimize_scalar(loss, bounds=(np.log(bounds[0]), np.log(bounds[1])), method="bounded")
    return float(np.exp(result.x))


def reliability(
    probabilities: np.ndarray, labels: np.ndarray, bins: int = 10
) -> list[dict[str, float]]:
    """The reliability diagram's bins: mean confidence, accuracy and count per bin.

    Args:
        probabilities: ``(n, C)`` probabilities.
        labels: ``(n,)`` true classes.
        bins: Equal-width confidence bins over ``[0, 1]``.

    Returns:
        One dict per non-empty bin: ``low``, ``high``, ``confidence``, ``accuracy``, ``count``.
    """
    probabilities = np.asarray(probabilities)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(labels)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    rows = []
    for b in range(bins):
        chosen = index == b
        if chosen.any():
            rows.append(
                {
                    "low": float(edges[b]),
                    "high": float(edges[b + 1]),
                    "confidence": float(confidence[chosen].mean()),
                    "accuracy": float(correct[chosen].mean()),
                    "count": int(chosen.sum()),
                }
            )
    return rows


def expected_calibration_error(
    probabilities: np.ndarray, labels: np.ndarray, bins: int = 10
) -> float:
    """ECE: the count-weighted mean gap between confidence and accuracy over the bins."""
    return calibration_error_of(reliability(probabilities, labels, bins))


def calibration_error_of(rows: list[dict[str, float]]) -> float:
    """The ECE of :func:`reliability`'s bins, for a caller that keeps the bins too.

    Args:
        rows: The bins, each with its ``count``, mean ``confidence`` and ``accuracy``.

    Returns:
        The count-weighted mean gap between confidence and accuracy (0 without windows).
    """
    total = sum(r["count"] for r in rows)
    if not total:
        return 0.0
    return float(sum(r["count"] * abs(r["confidence"] - r["accuracy"]) for r in rows) / total)


def calibrate(
    probabilities: np.ndarray,
    labels: np.ndarray,
    threshold: float = 0.6,
    min_temperature: float | None = 1.0,
    rules: Calibration | None = None,
) -> Calibration:
    """Fits the temperature on validation outputs and records the ECE before and after.

    Args:
        probabilities: ``(n, C)`` softmax outputs on the (shifted) validation windows.
        labels: ``(n,)`` their true classes.
        threshold: The rejection threshold to store with it.
        min_temperature: Lower bound on the temperature used (None: the fit as it is). The
            default 1 never sharpens: windows of the training person, even shifted, are
            easier than new people, and on LeapGestRecog's sample the fit on them always
            ran to the search's lower bound, which would make every answer look certain.
        rules: The rules that answer "no known gesture" whatever the confidence, to store
            with it: its :attr:`~Calibration.max_downward`, :attr:`~Calibration.finger_ranges`,
            :attr:`~Calibration.reach_ranges`, :attr:`~Calibration.finger_margin` and
            :attr:`~Calibration.finger_frames` (None: no rules).

    Returns:
        The calibration; ``ece_after`` is for the temperature used.
    """
    fitted = fit_temperature(probabilities, labels)
    temperature = fitted if min_temperature is None else max(fitted, float(min_temperature))
    return replace(
        rules or Calibration(),
        temperature=temperature,
        threshold=float(threshold),
        ece_before=expected_calibration_error(probabilities, labels),
        ece_after=expected_calibration_error(apply_temperature(probabilities, temperature), labels),
        fitted_on=int(len(labels)),
        fitted_temperature=fitted,
    )
