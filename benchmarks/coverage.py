"""Coverage, landmark agreement and speed of the infrared extractor against MediaPipe Hands.

Runs, frame by frame in one process, the standard MediaPipe Hands (static-image mode) and the
infrared extractor (static, then tracking mode per recording) on a LeapGestRecog-shaped tree,
both on the aspect-corrected (640x480) frames, and prints:

- coverage (share of frames with a detected hand) per gesture and overall;
- agreement on frames both detect: mean distance between the two sets of 21 landmarks in
  units of the image width (computed on ``(x, y * H / W)``): mean, median, 95th percentile;
- frames per second of each (time inside ``process`` only) and their ratio.

It writes ``coverage.json`` and a contact sheet ``contact_sheet.png`` (a few frames per
gesture with the infrared landmarks drawn) to the output folder.

    uv run python benchmarks/coverage.py [--data DIR] [--out DIR] [--step N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from tqdm.auto import tqdm

from hand_gesture_recognition.dataset import find_recordings
from hand_gesture_recognition.extractor import (
    LandmarkExtractor,
    MediaPipeHandsExtractor,
    correct_aspect,
)
from hand_gesture_recognition.infrared import InfraredHandExtractor

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "leapgestrecog-sample"
DEFAULT_OUT = REPO / "benchmarks" / "out"

HAND_CONNECTIONS = (
    (0, 1), (1, 2), (2, 3), (3, 4),
    (0, 5), (5, 6), (6, 7), (7, 8),
    (5, 9), (9, 10), (10, 11), (11, 12),
    (9, 13), (13, 14), (14, 15), (15, 16),
    (13, 17), (17, 18), (18, 19), (19, 20), (0, 17),
)  # fmt: skip
FINGER_COLOURS = ((0, 0, 255), (0, 165, 255), (0, 255, 255), (0, 255, 0), (255, 128, 0))


def landmark_distance(a: np.ndarray, b: np.ndarray, aspect: float) -> float:
    """Mean distance between two ``(21, 3)`` landmark sets, in units of the image width."""
    delta = (a[:, :2] - b[:, :2]) * np.array([1.0, aspect])
    return float(np.linalg.norm(delta, axis=1).mean())


def timed(extractor: LandmarkExtractor, frame: np.ndarray) -> tuple[object, float]:
    start = time.perf_counter()
    result = extractor.process(frame)
    return result, time.perf_counter() - start


def draw_hand(image: np.ndarray, landmarks: np.ndarray) -> None:
    """Draws a hand skeleton on a BGR image in place (landmarks normalised to it)."""
    height, width = image.shape[:2]
    points = [(round(x * width), round(y * height)) for x, y, _ in landmarks]
    for a, b in HAND_CONNECTIONS:
        colour = FINGER_COLOURS[min((max(a, b) - 1) // 4, 4)] if b != 17 else (200, 200, 200)
        cv2.line(image, points[a], points[b], colour, 2, cv2.LINE_AA)
    for i, point in enumerate(points):
        colour = (255, 255, 255) if i == 0 else FINGER_COLOURS[(i - 1) // 4]
        cv2.circle(image, point, 4, colour, -1, cv2.LINE_AA)
        cv2.circle(image, point, 4, (0, 0, 0), 1, cv2.LINE_AA)


def contact_sheet(cells: dict[str, list[tuple[np.ndarray, object, str]]], path: Path) -> None:
    """Writes rows of frames (one row per gesture) with the infrared landmarks drawn."""
    rows = []
    for gesture, items in cells.items():
        tiles = []
        for frame, result, label in items:
            tile = cv2.cvtColor(correct_aspect(frame), cv2.COLOR_GRAY2BGR)
            if result.detected:
                draw_hand(tile, result.landmarks)
            text = f"{gesture} {label} " + (
                f"p={result.score:.2f}" if result.detected else "no hand"
            )
            tile = cv2.resize(tile, (400, 300), interpolation=cv2.INTER_AREA)
            cv2.putText(tile, text, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3)
            cv2.putText(tile, text, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1)
            tiles.append(tile)
        rows.append(np.hstack(tiles))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows]
    cv2.imwrite(str(path), np.vstack(rows))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="LeapGestRecog tree")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--step", type=int, default=1, help="use every N-th frame")
    parser.add_argument("--sheet-columns", type=int, default=4, help="frames per gesture")
    parser.add_argument("--no-tracking", action="store_true", help="skip the tracking run")
    args = parser.parse_args(argv)
    if args.step < 1:
        parser.error("--step must be at least 1")

    recordings = find_recordings(args.data)
    args.out.mkdir(parents=True, exist_ok=True)
    standard = MediaPipeHandsExtractor(tracking=False, min_confidence=0.5)
    infrared = InfraredHandExtractor(tracking=False, min_confidence=0.5)
    tracker = InfraredHandExtractor(tracking=True, min_confidence=0.5)
    names = ("standard", "infrared", "infrared_tracking")
    seconds = dict.fromkeys(names, 0.0)
    detected: dict[str, dict[str, list[bool]]] = {n: {} for n in names}
    distances: list[float] = []
    sheet: dict[str, list] = {}
    total = sum(len(r.frames[:: args.step]) for r in recordings)

    # Warm up both (model loading is not what is being measured).
    first = cv2.imread(str(recordings[0].frames[0]), cv2.IMREAD_GRAYSCALE)
    for extractor in (standard, infrared, tracker):
        extractor.process(first)
        extractor.reset()

    bar = tqdm(total=total, unit="frame", desc="coverage")
    for recording in recordings:
        tracker.reset()
        frames = recording.frames[:: args.step]
        keep = set(np.linspace(0, len(frames) - 1, args.sheet_columns).round().astype(int))
        gesture = recording.gesture
        for name in names:
            detected[name].setdefault(gesture, [])
        for index, path in enumerate(frames):
            frame = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            if frame is None:
                print(f"{path}: unreadable, skipped", file=sys.stderr)
                continue
            # Interleaved in one loop so that load on the machine affects both alike.
            results = {}
            for name, extractor in zip(names, (standard, infrared, tracker), strict=True):
                if name == "infrared_tracking" and args.no_tracking:
                    continue
                results[name], elapsed = timed(extractor, frame)
                seconds[name] += elapsed
                detected[name][gesture].append(results[name].detected)
            a, b = results["standard"], results["infrared"]
            if a.detected and b.detected:
                distances.append(landmark_distance(a.landmarks, b.landmarks, b.aspect))
            if index in keep:
                sheet.setdefault(gesture, []).append((frame, b, path.stem[-4:]))
            bar.update()
    bar.close()
    for extractor in (standard, infrared, tracker):
        extractor.close()

    shown = names[:2] if args.no_tracking else names
    gestures = list(detected["standard"])
    frames_done = len(sum(detected["standard"].values(), []))
    print(f"\n{frames_done} frames from {args.data}\n")
    print(f"{'coverage':<16}" + "".join(f"{n:>19}" for n in shown))
    summary: dict[str, dict] = {n: {"coverage": {}} for n in shown}
    for gesture in [*gestures, "overall"]:
        cells = []
        for name in shown:
            flags = (
                sum(detected[name].values(), [])
                if gesture == "overall"
                else detected[name][gesture]
            )
            share = float(np.mean(flags)) if flags else 0.0
            summary[name]["coverage"][gesture] = share
            cells.append(f"{share:>18.1%} ")
        print(f"{gesture:<16}" + "".join(cells))

    d = np.array(distances)
    quality = {
        "frames": len(d),
        "mean": float(d.mean()) if len(d) else float("nan"),
        "median": float(np.median(d)) if len(d) else float("nan"),
        "p95": float(np.percentile(d, 95)) if len(d) else float("nan"),
    }
    print(
        f"\nagreement with standard on {quality['frames']} frames both detect "
        f"(fraction of width): mean {quality['mean']:.4f}, median {quality['median']:.4f}, "
        f"p95 {quality['p95']:.4f}"
    )
    print()
    for name in shown:
        fps = frames_done / seconds[name]
        summary[name]["fps"] = fps
        summary[name]["ms_per_frame"] = 1000 * seconds[name] / frames_done
        ratio = fps / summary["standard"]["fps"]
        summary[name]["fps_ratio_to_standard"] = ratio
        print(
            f"{name:<18} {fps:7.1f} frames/s  ({1000 / fps:5.1f} ms/frame)  "
            f"ratio to standard {ratio:.2f}"
        )
    sheet_path = args.out / "contact_sheet.png"
    contact_sheet(sheet, sheet_path)
    report = {
        "data": str(args.data),
        "frames": frames_done,
        "step": args.step,
        "extractors": summary,
        "agreement": quality,
        "infrared_settings": infrared.settings(),
    }
    (args.out / "coverage.json").write_text(json.dumps(report, indent=2))
    print(f"\ncontact sheet: {sheet_path}\nsummary: {args.out / 'coverage.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
