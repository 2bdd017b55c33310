"""Shared test helpers: landmark tables, held-back frames, blocked imports, photos as taken."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from hand_gesture_recognition.landmark_file import LandmarkTable
from hand_gesture_recognition.realtime import list_images


def make_table(
    subjects=("s1", "s2", "s3", "s4", "s5"),
    gestures=("01_palm", "02_l"),
    frames=60,
    missing_every=0,
    seed=0,
) -> LandmarkTable:
    """A table of smooth, gesture-dependent landmark trajectories (one hand per frame)."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.3, 0.7, size=(len(gestures), 21, 3)).astype(np.float32)
    rows = {k: [] for k in ("landmarks", "detected", "subject", "gesture", "sequence", "frame")}
    for subject in subjects:
        for g, gesture in enumerate(gestures):
            drift = np.cumsum(rng.normal(0, 0.002, size=(frames, 1, 3)), axis=0)
            points = (base[g] + drift).astype(np.float32)
            detected = np.ones(frames, bool)
            if missing_every:
                detected[::missing_every] = False
                points[~detected] = np.nan
            rows["landmarks"].append(points)
            rows["detected"].append(detected)
            rows["subject"] += [subject] * frames
            rows["gesture"] += [gesture] * frames
            rows["sequence"] += [f"{subject}/{gesture}"] * frames
            rows["frame"].append(np.arange(frames))
    n = len(rows["subject"])
    return LandmarkTable(
        landmarks=np.concatenate(rows["landmarks"]),
        detected=np.concatenate(rows["detected"]),
        score=np.ones(n, np.float32),
        subject=np.array(rows["subject"]),
        gesture=np.array(rows["gesture"]),
        sequence=np.array(rows["sequence"]),
        frame=np.concatenate(rows["frame"]),
        path=np.array([""] * n),
    )


def blocking_env(tmp_path, modules=("tensorflow", "keras", "tf_keras")) -> dict[str, str]:
    """Environment for a subprocess in which importing any of ``modules`` fails.

    A ``sitecustomize`` on ``PYTHONPATH`` puts a finder first on ``sys.meta_path`` that
    raises ``ModuleNotFoundError`` for them, as if they were not installed.
    """
    folder = Path(tmp_path) / "blocker"
    folder.mkdir(exist_ok=True)
    (folder / "sitecustomize.py").write_text(
        "import sys\n"
        f"BLOCKED = {tuple(modules)!r}\n"
        "class _Blocker:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in BLOCKED:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r} (blocked)', name=name)\n"
        "        return None\n"
        "sys.meta_path.insert(0, _Blocker())\n"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder), env.get("PYTHONPATH")]))
    return env


#: Frames at the end of each sample recording that the session's model never trained on
#: (the time split's test part: 34 of 130 frames).
HELD_BACK_FRAMES = 34


def held_back_folders(gesture_dirs: dict, root) -> dict:
    """A folder per gesture holding links to its held-back frames, in name order."""
    folders = {}
    for gesture, folder in gesture_dirs.items():
        target = Path(root) / gesture
        target.mkdir(parents=True, exist_ok=True)
        for image in list_images(folder)[-HELD_BACK_FRAMES:]:
            (target / image.name).symlink_to(image)
        folders[gesture] = target
    return folders


def final_labels(jsonl) -> list:
    """The labels of the last five frames of a ``predict --jsonl`` file."""
    records = [json.loads(line) for line in Path(jsonl).read_text().splitlines()]
    return [r["label"] for r in records[-5:]]


def assert_recognised(answers: dict) -> None:
    """Every gesture's last five answers are that gesture (not uncertain, not another)."""
    wrong = {g: labels for g, labels in answers.items() if labels != [g] * len(labels)}
    assert not wrong, f"held-back frames answered wrongly: {wrong}"


#: The EXIF tag of a photo's orientation.
EXIF_ORIENTATION = 0x0112
#: How phones store a photo taken upright: the pixels turned, and the EXIF orientation tag
#: saying how to turn them back (3: 180 degrees, 6: 90 clockwise, 8: 90 anticlockwise).
STORED_TURNED = {
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270,
}


def save_turned(photo: Path, tag: int, out: Path) -> Path:
    """``photo`` saved as a phone saves it with the EXIF orientation ``tag``."""
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = tag
    Image.open(photo).transpose(STORED_TURNED[tag]).save(out, exif=exif.tobytes(), quality=95)
    return out


def far_from_camera(photo: np.ndarray, side: int = 96) -> tuple[np.ndarray, int, int, tuple]:
    """A photo shrunk to ``side`` pixels on its longer side, in the middle of a grey 640x480 frame.

    Returns:
        The frame, the photo's offsets ``(top, left)`` in it, and the shrunk photo's shape.
    """
    height, width = photo.shape[:2]
    size = (side * width // max(height, width), side * height // max(height, width))
    small = cv2.resize(photo, size, interpolation=cv2.INTER_AREA)
    frame = np.full((480, 640, 3), 128, np.uint8)
    top, left = (480 - size[1]) // 2, (640 - size[0]) // 2
    frame[top : top + size[1], left : left + size[0]] = small
    return frame, top, left, small.shape
