"""``python -m hand_gesture_recognition``: the ``hand-gesture`` command."""

import sys

from .cli import main

sys.exit(main())
