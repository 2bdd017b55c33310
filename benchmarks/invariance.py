"""Do the other hand, a tilt, a smaller picture or a phone's way of saving a photo change answers?

People use either hand, hold it tilted, further from the camera, and phones save a photo taken
upright with its pixels turned and an EXIF tag saying how to turn them back. For each model
given, every photo of ``../shared/data/hagrid-sample`` and ``../shared/data/webcam-sample`` is
answered as ``hand-gesture evaluate --photos`` answers it (the app's photo tab), as it is and
as a copy:

* ``mirrored``: flipped left to right (the other hand);
* ``turned +20`` and ``turned -20``: turned 20 degrees anticlockwise and clockwise in the
  image plane (the border repeated);
* ``half size``: half the width and height;
* ``far grey`` and ``far edges``: shrunk to a quarter of a 640x480 frame's height (its
  longer side 120 pixels) in the middle of that frame, the rest grey or repeating the photo's
  edge pixels: a hand further from a webcam;
* ``EXIF 3`` and ``EXIF 6`` (HaGRID only): saved as a phone saves a photo it took upright,
  the pixels turned by 180 and 90 degrees and the EXIF orientation 3 or 6 (JPEG quality 95).

Prints per model and copy the share of gesture photos answered right and of non-gesture
photos (HaGRID's ``none`` and ``peace``, the webcam's ``peace``) answered with none; with
several models, the mean ± sd over them and the mean paired difference from the photos as
they are ± its standard error. Train the models first, one per seed:

    for s in 0 1 2 3 4; do uv run hand-gesture train --data ../shared/data/leapgestrecog-sample \\
        --split time --seed $s --out models-$s; done
    uv run python benchmarks/invariance.py --model models-0 models-1 models-2 models-3 models-4

(About 11 minutes per model on 2 cores; `--copies` picks fewer.)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("GLOG_minloglevel", "2")

import cv2  # noqa: E402 - after the log settings.
from PIL import Image  # noqa: E402

from hand_gesture_recognition.evaluate import PhotoLabels, evaluate_photos  # noqa: E402
from hand_gesture_recognition.realtime import RealTimeGestureRecognizer  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
#: Each photo set, and what its sub-folders show (as ``evaluate --as ... --reject ...``).
SETS = {
    "hagrid": PhotoLabels(
        (
            ("fist", "03_fist"),
            ("like", "05_thumb"),
            ("ok", "07_ok"),
            ("one", "06_index"),
            ("palm", "01_palm"),
            ("stop", "01_palm"),
        ),
        ("none", "peace"),
    ),
    "webcam": PhotoLabels((("stop", "01_palm"), ("thumbs_up", "05_thumb")), ("peace",)),
}
FOLDERS = {"hagrid": "hagrid-sample", "webcam": "webcam-sample"}
#: How a phone stores a photo taken upright, by EXIF orientation.
STORED_TURNED = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90}
EXIF_ORIENTATION = 0x0112


def far(image: np.ndarray, border: int) -> np.ndarray:
    """``image`` shrunk to 120 pixels on its longer side, in the middle of a 640x480 frame.

    Args:
        image: The photo.
        border: ``cv2.BORDER_CONSTANT`` (grey) or ``cv2.BORDER_REPLICATE``.

    Returns:
        The 640x480 frame.
    """
    height, width = image.shape[:2]
    scale = 120 / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(image, size, interpolation=interpolation)
    top, left = (480 - size[1]) // 2, (640 - size[0]) // 2
    bottom, right = 480 - size[1] - top, 640 - size[0] - left
    return cv2.copyMakeBorder(small, top, bottom, left, right, border, value=(128, 128, 128))


def turned(image: np.ndarray, degrees: float) -> np.ndarray:
    """``image`` turned anticlockwise by ``degrees`` about its centre, the border repeated."""
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)


#: The copies made of every photo, from its pixels.
COPIES = {
    "mirrored": lambda image: cv2.flip(image, 1),
    "turned +20": lambda image: turned(image, 20.0),
    "turned -20": lambda image: turned(image, -20.0),
    "half size": lambda image: cv2.resize(
        image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA
    ),
    "far grey": lambda image: far(image, cv2.BORDER_CONSTANT),
    "far edges": lambda image: far(image, cv2.BORDER_REPLICATE),
}


def make_copies(
    source: Path, root: Path, exif: bool, names: Sequence[str] | None = None
) -> dict[str, Path]:
    """Copies of a photo set under ``root``, by copy name (``as they are``: the set).

    Args:
        source: The photo set.
        root: Receives one folder per copy.
        exif: Also make the ``EXIF`` copies.
        names: The copies to make (``COPIES``' keys and ``EXIF 3``/``EXIF 6``); None: all.

    Returns:
        The folders, ``as they are`` first.
    """
    folders = {"as they are": source}
    for name, change in COPIES.items():
        if names is not None and name not in names:
            continue
        folders[name] = root / name
        for photo in sorted(source.rglob("*.jpg")):
            out = root / name / photo.relative_to(source)
            out.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(out), change(cv2.imread(str(photo))))
    for tag, turn in STORED_TURNED.items() if exif else ():
        if names is not None and f"EXIF {tag}" not in names:
            continue
        folders[f"EXIF {tag}"] = root / f"exif{tag}"
        tags = Image.Exif()
        tags[EXIF_ORIENTATION] = tag
        for photo in sorted(source.rglob("*.jpg")):
            out = root / f"exif{tag}" / photo.relative_to(source)
            out.parent.mkdir(parents=True, exist_ok=True)
            Image.open(photo).transpose(turn).save(out, exif=tags.tobytes(), quality=95)
    return folders


def answer_rates(model: Path, folder: Path, labels: PhotoLabels) -> tuple[float, float]:
    """The shares of gesture photos answered right and of non-gesture photos rejected."""
    with RealTimeGestureRecognizer(model) as recognizer:
        recognizer.threshold = recognizer.calibration.threshold
        metrics = evaluate_photos(recognizer, folder, labels, log=lambda _: None)
    return metrics["gesture_photos"]["right"], metrics["non_gesture_photos"]["rejected"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--model", type=Path, nargs="+", required=True, help="model directories")
    choices = [*COPIES, *(f"EXIF {tag}" for tag in STORED_TURNED)]
    parser.add_argument(
        "--copies",
        nargs="+",
        choices=choices,
        metavar="COPY",
        help=f"only these copies besides the photos as they are (of: {', '.join(choices)})",
    )
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"benchmarks/invariance.py: error: sample data not found at {DATA}", file=sys.stderr)
        return 2
    missing = [m for m in args.model if not m.is_dir()]
    if missing:
        message = f"--model {missing[0]}: not a folder"
        print(f"benchmarks/invariance.py: error: {message}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="hgr-invariance-") as scratch:
        for set_name, labels in SETS.items():
            copies = make_copies(
                DATA / FOLDERS[set_name],
                Path(scratch) / set_name,
                exif=set_name == "hagrid",
                names=args.copies,
            )
            # rates[copy] is (models, 2): right and rejected per model.
            rates = {copy: [] for copy in copies}
            for model in args.model:
                for copy, folder in copies.items():
                    right, rejected = answer_rates(model, folder, labels)
                    rates[copy].append((right, rejected))
                    print(
                        f"[{model.name}] {set_name} {copy}: gesture photos answered right "
                        f"{right:.4f}, non-gestures rejected {rejected:.4f}",
                        flush=True,
                    )
            if len(args.model) > 1:
                base = np.array(rates["as they are"])
                for copy, values in rates.items():
                    values = np.array(values)
                    change = values - base
                    se = change.std(axis=0, ddof=1) / np.sqrt(len(values))
                    print(
                        f"{set_name} {copy} ({len(values)} models): right "
                        f"{values[:, 0].mean():.3f} ± {values[:, 0].std(ddof=1):.3f} (paired "
                        f"{change[:, 0].mean():+.3f} ± {se[0]:.3f}); rejected "
                        f"{values[:, 1].mean():.3f} ± {values[:, 1].std(ddof=1):.3f} (paired "
                        f"{change[:, 1].mean():+.3f} ± {se[1]:.3f})"
                    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
