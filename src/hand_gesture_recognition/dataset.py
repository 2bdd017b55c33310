"""The LeapGestRecog dataset: download with kagglehub, find recordings, clean up.

A LeapGestRecog-shaped tree holds ``<subject>/<gesture>/<frame>.png`` (with or without a
``leapGestRecog/`` level above the subjects); one ``<subject>/<gesture>`` folder is one recording
whose frames sort in time order by file name.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from .errors import DownloadError, InputError

KAGGLE_DATASET = "gti-upm/leapgestrecog"
#: The ten gestures of LeapGestRecog, in class-index order (the original mapping's order).
LEAPGESTRECOG_GESTURES = (
    "01_palm",
    "02_l",
    "03_fist",
    "04_fist_moved",
    "05_thumb",
    "06_index",
    "07_ok",
    "08_palm_moved",
    "09_c",
    "10_down",
)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


@dataclass(frozen=True)
class Recording:
    """One gesture recorded by one subject: frames in time order."""

    subject: str
    gesture: str
    frames: tuple[Path, ...]

    @property
    def sequence_id(self) -> str:
        """The recording's id, ``<subject>/<gesture>``."""
        return f"{self.subject}/{self.gesture}"


def _natural_key(path: Path) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def list_images(folder: Path) -> list[Path]:
    """Returns the image files directly in ``folder``, in natural name order.

    Raises:
        InputError: If the folder cannot be read.
    """
    try:
        entries = list(folder.iterdir())
    except OSError as error:
        raise InputError(f"{folder}: cannot read the folder ({error.strerror})") from None
    files = [p for p in entries if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    return sorted(files, key=_natural_key)


def _folders(root: Path) -> list[Path]:
    """Every folder below ``root``, following links but never into a folder twice.

    A link back up the tree (a loop) or to a folder already seen is skipped, so it cannot
    become an extra recording.

    Raises:
        InputError: If a folder cannot be read.
    """

    def unreadable(error: OSError) -> None:
        raise InputError(f"{error.filename}: cannot read the folder ({error.strerror})")

    def key(path: str) -> tuple[int, int]:
        stat = os.stat(path)
        return stat.st_dev, stat.st_ino

    # The folders reached without links win over a link to one of them.
    real = {key(current) for current, _, _ in os.walk(root, onerror=unreadable)}
    seen: set[tuple[int, int]] = set()
    found: list[Path] = []
    for current, subdirs, _ in os.walk(root, onerror=unreadable, followlinks=True):
        if key(current) in seen:
            subdirs[:] = []
            continue
        seen.add(key(current))
        if Path(current) != root:
            found.append(Path(current))
        kept = []
        for name in subdirs:
            path = os.path.join(current, name)
            if os.path.islink(path):
                try:
                    target = key(path)
                except OSError:
                    continue
                if target in real or target in seen:
                    continue
            kept.append(name)
        subdirs[:] = kept
    return sorted(found)


def find_recordings(data_dir: str | os.PathLike) -> list[Recording]:
    """Finds every ``<subject>/<gesture>/`` recording below a LeapGestRecog-shaped tree.

    Args:
        data_dir: The tree's root: the folder holding the subject folders, the
            ``leapGestRecog`` folder above them, or a download folder above that.

    Returns:
        Recordings sorted by subject and gesture.

    Raises:
        InputError: If the folder is missing, empty, or holds no recognisable recordings.
    """
    root = Path(data_dir)
    if not root.exists():
        raise InputError(f"{root}: data directory not found")
    if not root.is_dir():
        raise InputError(f"{root}: expected a directory of <subject>/<gesture>/ frames")
    try:
        empty = not any(root.iterdir())
    except OSError as error:
        raise InputError(f"{root}: cannot read the data directory ({error.strerror})") from None
    if empty:
        raise InputError(f"{root}: data directory is empty")
    # The Kaggle download holds the tree twice (leapGestRecog/ and leapgestrecog/leapGestRecog/).
    root = _data_root(root) or root
    recordings: list[Recording] = []
    # A recording is a folder of images whose parent (the subject) is two levels below a root.
    for gesture_dir in _folders(root):
        if gesture_dir.name.startswith(".") or len(gesture_dir.relative_to(root).parts) < 2:
            continue
        frames = list_images(gesture_dir)
        if frames:
            recordings.append(Recording(gesture_dir.parent.name, gesture_dir.name, tuple(frames)))
    if not recordings:
        raise InputError(
            f"{root}: no <subject>/<gesture>/ folders of frames (.png/.jpg) found below it"
        )
    ids = [r.sequence_id for r in recordings]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise InputError(
            f"{root}: recordings found twice ({', '.join(duplicated[:3])}); "
            "pass the folder that holds the subject folders"
        )
    return sorted(recordings, key=lambda r: (r.subject, r.gesture))


def gesture_order(gestures: list[str] | set[str]) -> list[str]:
    """Returns gesture names in class-index order: LeapGestRecog's first, then by name."""
    known = [g for g in LEAPGESTRECOG_GESTURES if g in gestures]
    return known + sorted(set(gestures) - set(known))


def download(dest: str | os.PathLike = "datasets") -> Path:
    """Downloads LeapGestRecog from Kaggle with kagglehub into ``dest`` (reused if present).

    Args:
        dest: Folder that receives the dataset (``./datasets`` by default).

    Returns:
        The folder holding the subject folders.

    Raises:
        DownloadError: If Kaggle cannot be reached.
    """
    dest = Path(dest)
    target = dest / "leapgestrecog"
    existing = _data_root(target)
    if existing is not None:
        return existing
    import kagglehub

    try:
        # kagglehub >= 0.3.13 can place the files under a chosen folder; older ones use a cache.
        try:
            path = kagglehub.dataset_download(KAGGLE_DATASET, output_dir=str(target))
        except TypeError:
            path = kagglehub.dataset_download(KAGGLE_DATASET)
    except Exception as error:  # noqa: BLE001 - every failure here means "could not download".
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DownloadError(
            f"could not download {KAGGLE_DATASET} from Kaggle ({reason}); "
            "download it yourself and pass --data DIR"
        ) from None
    root = _data_root(Path(path))
    if root is None:
        raise DownloadError(f"{path}: the download holds no LeapGestRecog recordings")
    return root


def _data_root(path: Path) -> Path | None:
    """Returns the folder holding subject folders under a download, or None if there is none."""
    if not path.is_dir():
        return None
    for candidate in (path / "leapGestRecog", path / "leapgestrecog" / "leapGestRecog", path):
        if candidate.is_dir() and any(p.is_dir() and p.name.isdigit() for p in candidate.iterdir()):
            return candidate
    return None


def remove_download(path: str | os.PathLike, dest: str | os.PathLike = "datasets") -> None:
    """Deletes a dataset that :func:`download` placed under ``dest``; never anything else.

    Raises:
        InputError: If ``path`` is not inside ``dest``.
    """
    path = Path(path).resolve()
    dest = Path(dest).resolve()
    if dest not in path.parents:
        raise InputError(f"{path}: refusing to delete a folder outside {dest}")
    top = dest / path.relative_to(dest).parts[0]
    shutil.rmtree(top, ignore_errors=True)
