"""Publish a trained model to the Hugging Face Hub with a generated model card.

The original project's publishing script, kept thin: it is ``hand-gesture publish``.

    python upload_to_huggingface.py --model-dir models --repo USER/NAME
    python upload_to_huggingface.py --model-dir models --repo USER/NAME --dry-run staged/
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Runs ``hand-gesture publish`` with these arguments; returns the exit status.

    Args:
        argv: Arguments without the program name (``sys.argv[1:]`` when None): ``--model-dir``
            (default ``models``), ``--repo USER/NAME``, ``--private``, ``--token``,
            ``--commit-message``, ``--dry-run DIR``.
    """
    from hand_gesture_recognition.cli import main as cli_main

    return cli_main(["publish", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
