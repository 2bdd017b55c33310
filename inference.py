"""Live gesture recognition with a model from the Hugging Face Hub or a local folder.

The original project's entry point, kept thin: it is ``hand-gesture predict`` with the
original defaults (the published model, the first camera). A model the original project
published (``hand_gesture_lstm_model.h5`` and ``gesture_mapping.json`` only) works too.

    python inference.py                                    # webcam 0, model from the Hub
    python inference.py --model-dir models --source clip.mp4 --jsonl out.jsonl --no-display
"""

from __future__ import annotations

import sys

from hand_gesture_recognition.cli import main as cli_main

DEFAULT_REPO = "a-01a/hand-gesture-recognition"


def main(argv: list[str] | None = None) -> int:
    """Runs ``hand-gesture predict`` with the original defaults; returns the exit status.

    Without ``--repo`` or ``--model-dir`` the model comes from ``a-01a/hand-gesture-recognition``
    on the Hub, and without ``--source`` from camera 0. Every other option is
    ``hand-gesture predict``'s: ``--revision``, ``--token`` (else ``HF_TOKEN``), ``--output``,
    ``--jsonl``, ``--no-display``, ``--static-images``, ``--threshold``, ``--smoothing``.

    Args:
        argv: Arguments without the program name (``sys.argv[1:]`` when None).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    given = {arg.split("=", 1)[0] for arg in args}
    if not given & {"--repo", "--model", "--model-dir", "-h", "--help"}:
        args = ["--repo", DEFAULT_REPO, *args]
    if "--source" not in given:
        args += ["--source", "0"]
    return cli_main(["predict", *args])


if __name__ == "__main__":
    sys.exit(main())
