"""Live gesture recognition with a model from the Hugging Face Hub or a local folder.

The original project's entry point, kept thin: it is ``hand-gesture predict`` with the
original defaults (the published model, the first camera). A model the original project
published (``hand_gesture_lstm_model.h5`` and ``gesture_mapping.json`` only) works too.

    python inference.py                                    # webcam 0, model from the Hub
    python inference.py --model-dir models --source clip.mp4 --jsonl out.jsonl --no-display
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_REPO = "a-01a/hand-gesture-recognition"


def build_parser() -> argparse.ArgumentParser:
    """Returns the argument parser."""
    parser = argparse.ArgumentParser(
        prog="inference.py",
        description="Recognise hand gestures live from a camera, a video or an image folder.",
    )
    model = parser.add_mutually_exclusive_group()
    model.add_argument(
        "--repo", default=None, help=f"Hugging Face Hub model repository (default: {DEFAULT_REPO})"
    )
    model.add_argument("--model-dir", type=Path, default=None, help="a local model directory")
    parser.add_argument("--revision", default=None, help="Hub revision (branch, tag, commit)")
    parser.add_argument("--token", default=None, help="Hub token (default: HF_TOKEN)")
    parser.add_argument(
        "--source", default="0", help="camera index, video file or image folder (default: 0)"
    )
    parser.add_argument("--output", type=Path, default=None, help="write an annotated video")
    parser.add_argument("--jsonl", type=Path, default=None, help="write one JSON line per frame")
    parser.add_argument("--no-display", action="store_true", help="do not open a window")
    parser.add_argument(
        "--static-images", action="store_true", help="classify each image of the folder on its own"
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=0.6,
        help="confidence under which the answer is 'uncertain' (default: 0.6)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs recognition; returns the exit status (2 with one line for bad input).

    Args:
        argv: Arguments without the program name (``sys.argv[1:]`` when None).
    """
    args = build_parser().parse_args(argv)
    command = ["predict", "--source", args.source, "--threshold", str(args.threshold)]
    if args.model_dir is not None:
        command += ["--model", str(args.model_dir)]
    else:
        command += ["--repo", args.repo or DEFAULT_REPO]
    for option, value in (
        ("--revision", args.revision),
        ("--token", args.token),
        ("--output", args.output),
        ("--jsonl", args.jsonl),
    ):
        if value is not None:
            command += [option, str(value)]
    if args.no_display:
        command.append("--no-display")
    if args.static_images:
        command.append("--static-images")

    from hand_gesture_recognition.cli import main as cli_main

    return cli_main(command)


if __name__ == "__main__":
    sys.exit(main())
