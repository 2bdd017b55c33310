"""Small landmark tables for unit tests of windows, splits and training."""

from __future__ import annotations

import numpy as np

from hand_gesture_recognition.landmark_file import LandmarkTable


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
    import os
    from pathlib import Path

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
