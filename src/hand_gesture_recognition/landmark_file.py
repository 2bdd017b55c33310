"""The landmark file: one ``.npz`` of every frame's landmarks and where each frame came from.

:class:`LandmarkTable` owns the format (its arrays, their checks and the metadata); the
extraction stage (:mod:`~hand_gesture_recognition.landmarks`) writes it, and training,
evaluation and the cluster engine read it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError
from .extractor import NUM_LANDMARKS
from .storage import atomic_output

REQUIRED_ARRAYS = {
    "landmarks": (np.floating, 3),
    "detected": (np.bool_, 1),
    "score": (np.floating, 1),
    "subject": (np.str_, 1),
    "gesture": (np.str_, 1),
    "sequence": (np.str_, 1),
    "frame": (np.integer, 1),
    "path": (np.str_, 1),
}


@dataclass
class LandmarkTable:
    """The landmark file's arrays, one row per frame, in frame order within each recording.

    Attributes:
        landmarks: float32 ``(N, 21, 3)``, NaN where no hand was found.
        detected: bool ``(N,)``.
        score: float32 ``(N,)`` extractor confidence.
        subject: str ``(N,)``.
        gesture: str ``(N,)``.
        sequence: str ``(N,)``, one id per recording (``<subject>/<gesture>``).
        frame: int ``(N,)`` frame index within the recording.
        path: str ``(N,)`` source image path (may be empty for recorded sequences).
        aspect: float32 ``(N,)`` height / width of the corrected image (1.0 when absent).
        meta: Extraction settings and counts (the ``meta`` JSON string in the file).
    """

    landmarks: np.ndarray
    detected: np.ndarray
    score: np.ndarray
    subject: np.ndarray
    gesture: np.ndarray
    sequence: np.ndarray
    frame: np.ndarray
    path: np.ndarray
    aspect: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.aspect is None:
            self.aspect = np.ones(len(self.detected), dtype=np.float32)

    def __len__(self) -> int:
        return len(self.detected)

    @property
    def extractor(self) -> str:
        """The extractor that produced the file (``unknown`` for a file without metadata)."""
        return str(self.meta.get("extractor", {}).get("extractor", "unknown"))

    @property
    def gestures(self) -> list[str]:
        """Distinct gestures, sorted."""
        return sorted(set(self.gesture.tolist()))

    @property
    def subjects(self) -> list[str]:
        """Distinct subjects, sorted."""
        return sorted(set(self.subject.tolist()))

    def sequences(self) -> Iterator[tuple[str, np.ndarray]]:
        """Yields ``(sequence id, row indices in frame order)`` for each recording."""
        order = np.lexsort((self.frame, self.sequence))
        ids = self.sequence[order]
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        ends = np.r_[starts[1:], len(order)]
        for start, end in zip(starts, ends, strict=True):
            yield str(ids[start]), order[start:end]

    def subset(self, rows: np.ndarray) -> LandmarkTable:
        """Returns the rows selected by a boolean mask or an index array."""
        return LandmarkTable(
            **{name: getattr(self, name)[rows] for name in (*REQUIRED_ARRAYS, "aspect")},
            meta=dict(self.meta),
        )

    def coverage(self) -> dict[str, float]:
        """Share of frames with a detected hand, per gesture and ``overall``."""
        result = {g: float(self.detected[self.gesture == g].mean()) for g in self.gestures}
        result["overall"] = float(self.detected.mean()) if len(self) else 0.0
        return result

    def save(self, path: str | os.PathLike) -> None:
        """Writes the table as an uncompressed ``.npz``, atomically."""
        path = Path(path)
        tmp = atomic_output(path)
        try:
            np.savez(
                tmp,
                landmarks=self.landmarks.astype(np.float32),
                detected=self.detected.astype(bool),
                score=self.score.astype(np.float32),
                subject=self.subject.astype(str),
                gesture=self.gesture.astype(str),
                sequence=self.sequence.astype(str),
                frame=self.frame.astype(np.int64),
                path=self.path.astype(str),
                aspect=np.asarray(self.aspect, dtype=np.float32),
                meta=np.array(json.dumps(self.meta)),
            )
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    @classmethod
    def load(cls, path: str | os.PathLike) -> LandmarkTable:
        """Reads and checks a landmark file.

        Args:
            path: A ``.npz`` written by ``hand-gesture extract`` or by a user.

        Returns:
            The table.

        Raises:
            InputError: If the file is missing, unreadable, lacks an array or has wrong shapes.
        """
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: landmark file not found")
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
        except Exception as error:  # noqa: BLE001 - any failure means "not a landmark file".
            raise InputError(f"{path}: not a readable .npz landmark file ({error})") from None
        missing = [name for name in REQUIRED_ARRAYS if name not in arrays]
        if missing:
            raise InputError(f"{path}: missing arrays {', '.join(missing)}")
        rows = len(arrays["landmarks"])
        for name, (kind, ndim) in REQUIRED_ARRAYS.items():
            array = arrays[name]
            if array.ndim != ndim or len(array) != rows:
                raise InputError(
                    f"{path}: array {name!r} has shape {array.shape}, expected "
                    f"{'(N, 21, 3)' if ndim == 3 else '(N,)'} with N={rows}"
                )
            if not np.issubdtype(array.dtype, kind):
                raise InputError(f"{path}: array {name!r} has dtype {array.dtype}")
        if arrays["landmarks"].shape[1:] != (NUM_LANDMARKS, 3):
            raise InputError(
                f"{path}: array 'landmarks' has shape {arrays['landmarks'].shape}, "
                "expected (N, 21, 3)"
            )
        if rows == 0:
            raise InputError(f"{path}: the landmark file holds no frames")
        meta = _read_meta(path, arrays.get("meta"))
        aspect = arrays.get("aspect")
        if aspect is not None:
            if aspect.shape != (rows,) or not np.issubdtype(aspect.dtype, np.number):
                raise InputError(
                    f"{path}: array 'aspect' has shape {aspect.shape} and dtype {aspect.dtype}, "
                    f"expected numbers of shape ({rows},)"
                )
            if not (np.isfinite(aspect).all() and (aspect > 0).all()):
                raise InputError(f"{path}: array 'aspect' holds values that are not finite and > 0")
        detected = arrays["detected"].astype(bool)
        bad = ~np.isfinite(arrays["landmarks"][detected]).all(axis=(1, 2))
        if bad.any():
            first = int(np.flatnonzero(detected)[np.flatnonzero(bad)[0]])
            raise InputError(
                f"{path}: {int(bad.sum())} frame(s) marked detected have non-finite landmarks "
                f"(NaN or inf; first: row {first}, {arrays['sequence'][first]!s})"
            )
        if not np.isfinite(arrays["score"]).all():
            raise InputError(f"{path}: array 'score' holds values that are not finite")
        return cls(
            landmarks=arrays["landmarks"].astype(np.float32),
            detected=arrays["detected"].astype(bool),
            score=arrays["score"].astype(np.float32),
            subject=arrays["subject"],
            gesture=arrays["gesture"],
            sequence=arrays["sequence"],
            frame=arrays["frame"].astype(np.int64),
            path=arrays["path"],
            aspect=None if aspect is None else aspect.astype(np.float32),
            meta=meta,
        )

    @classmethod
    def concatenate(cls, parts: list[LandmarkTable], meta: dict[str, Any]) -> LandmarkTable:
        """Joins tables row-wise."""

        def cat(name: str) -> np.ndarray:
            return np.concatenate([getattr(p, name) for p in parts])

        return cls(**{name: cat(name) for name in (*REQUIRED_ARRAYS, "aspect")}, meta=meta)


def load_tables(paths: list[str | os.PathLike]) -> LandmarkTable:
    """Reads one or more landmark files into one table (:func:`merge_tables`).

    Raises:
        InputError: If a file is not a landmark file, or the files cannot be merged.
    """
    paths = [Path(p) for p in paths]
    if len(paths) == 1:
        return LandmarkTable.load(paths[0])
    return merge_tables([(path, LandmarkTable.load(path)) for path in paths])


def merge_tables(sources: list[tuple[Path, LandmarkTable]]) -> LandmarkTable:
    """Joins landmark files, e.g. a dataset and a user's own takes, keeping recordings apart.

    A sequence id that occurs in more than one file would join different recordings into
    one, so such ids are prefixed with their file's name stem and a colon in every file that
    holds them (``takes.npz``'s ``00/01_palm`` becomes ``takes:00/01_palm``); ids found in one
    file only are kept as they are. Subjects and gestures are compared by name: the same name
    in two files is the same person or gesture.

    Files may carry a ``preprocessing`` object in their ``meta`` (the window settings their
    recordings were made for); two files that give different values for one setting are
    refused. The merged table's ``meta`` keeps the extraction settings when every file that
    records them has the same ones (``{"extractor": "mixed"}`` otherwise) and lists the
    ``sources``.

    Args:
        sources: Each file's path and table, in the order given.

    Returns:
        The merged table.

    Raises:
        InputError: If two files share a name stem and a sequence id, or their preprocessing
            settings disagree (both files and the setting are named).
    """
    preprocessing: dict[str, tuple[Any, Path]] = {}
    for path, table in sources:
        given = table.meta.get("preprocessing", {})
        if not isinstance(given, dict):
            raise InputError(f"{path}: meta field 'preprocessing' must be a JSON object")
        for key, value in given.items():
            if key in preprocessing and preprocessing[key][0] != value:
                first_value, first = preprocessing[key]
                raise InputError(
                    f"{path}: recorded with preprocessing {key}={value!r}, but {first} with "
                    f"{key}={first_value!r}; files with different preprocessing cannot be merged"
                )
            preprocessing.setdefault(key, (value, path))
    owners: dict[str, list[Path]] = {}
    for path, table in sources:
        for sequence in set(table.sequence.tolist()):
            owners.setdefault(sequence, []).append(path)
    shared = {sequence for sequence, paths in owners.items() if len(paths) > 1}
    parts = []
    for path, table in sources:
        part = table.subset(np.arange(len(table)))
        clash = np.isin(part.sequence, sorted(shared))
        if clash.any():
            prefixed = np.char.add(f"{path.stem}:", part.sequence.astype(str))
            part.sequence = np.where(clash, prefixed, part.sequence.astype(str))
        parts.append(part)
    ids = [set(part.sequence.tolist()) for part in parts]
    for i, (path, _) in enumerate(sources):
        for j in range(i):
            common = ids[i] & ids[j]
            if common:
                raise InputError(
                    f"{path}: shares the recording id {sorted(common)[0]!r} with "
                    f"{sources[j][0]}, and both files are named {path.stem!r}; rename one "
                    "(or pass each file once)"
                )
    settings = [t.meta["extractor"] for _, t in sources if t.meta.get("extractor") is not None]
    extractor = None
    if settings:
        same = all(s == settings[0] for s in settings)
        extractor = settings[0] if same else {"extractor": "mixed"}
    meta: dict[str, Any] = {
        "sources": [
            {
                "path": str(path),
                "frames": len(table),
                "prefixed": bool(np.isin(table.sequence, sorted(shared)).any()),
            }
            for path, table in sources
        ],
    }
    if extractor is not None:
        meta["extractor"] = extractor
    if preprocessing:
        meta["preprocessing"] = {key: value for key, (value, _) in preprocessing.items()}
    return LandmarkTable.concatenate(parts, meta)


def _read_meta(path: Path, array: np.ndarray | None) -> dict[str, Any]:
    """The ``meta`` JSON object of a landmark file ({} when it has none)."""
    if array is None:
        return {}
    if array.shape != () or not np.issubdtype(array.dtype, np.str_):
        raise InputError(f"{path}: array 'meta' must be one JSON string, got shape {array.shape}")
    try:
        meta = json.loads(str(array))
    except json.JSONDecodeError as error:
        raise InputError(f"{path}: array 'meta' is not valid JSON ({error})") from None
    if not isinstance(meta, dict):
        raise InputError(f"{path}: array 'meta' must be a JSON object, got {type(meta).__name__}")
    for name, kind, word in (("extractor", dict, "object"), ("unreadable", list, "list")):
        if name in meta and not isinstance(meta[name], kind):
            raise InputError(f"{path}: meta field {name!r} must be a JSON {word}")
    return meta
