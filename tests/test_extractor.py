"""The extractor module: MediaPipe imported without TensorFlow or pyplot, the hand still found."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
from helpers import STORED_TURNED, save_turned

from hand_gesture_recognition import extractor as ex
from hand_gesture_recognition.extractor import read_image

SCRIPT = """
import json, sys
from hand_gesture_recognition.extractor import MediaPipeHandsExtractor, import_mediapipe
from hand_gesture_recognition.realtime import read_image

import_mediapipe()
after_import = "tensorflow" in sys.modules
pyplot_lazy = type(sys.modules["matplotlib.pyplot"]).__name__ == "_LazyModule"
with MediaPipeHandsExtractor(tracking=False) as hands:
    result = hands.process(read_image(sys.argv[1]))
after_extraction = "tensorflow" in sys.modules
pyplot_lazy_after = type(sys.modules["matplotlib.pyplot"]).__name__ == "_LazyModule"
import matplotlib.pyplot as plt
figure = plt.figure(figsize=(2, 1))
import tensorflow
print(json.dumps({
    "after_import": after_import,
    "after_extraction": after_extraction,
    "pyplot_deferred": [pyplot_lazy, pyplot_lazy_after],
    "pyplot_works": [round(v) for v in figure.get_size_inches()],
    "detected": result.detected,
    "tensorflow_importable": hasattr(tensorflow, "constant"),
}))
"""


def test_mediapipe_is_imported_without_tensorflow_and_still_finds_the_hand(webcam_sample):
    """TensorFlow is installed here: MediaPipe would import it, and it is kept out; MediaPipe's
    pyplot import is deferred to its first use."""
    frame = webcam_sample / "stop" / "5.jpg"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(frame)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {
        "after_import": False,
        "after_extraction": False,
        "pyplot_deferred": [True, True],  # Loaded only on its first use...
        "pyplot_works": [2, 1],  # ...where it works as ever.
        "detected": True,
        "tensorflow_importable": True,
    }


@pytest.mark.parametrize("tag", sorted(STORED_TURNED))
def test_a_photo_stored_turned_is_read_upright(tmp_path, hagrid_sample, tag):
    photo = sorted((hagrid_sample / "stop").glob("*.jpg"))[0]
    turned = save_turned(photo, tag, tmp_path / "phone.jpg")
    stored = cv2.imread(str(turned), cv2.IMREAD_UNCHANGED)  # the pixels as the file holds them
    # Exactly the stored pixels turned back as the tag says (6: a quarter turn clockwise).
    quarter_turns = {3: 2, 6: -1, 8: 1}[tag]
    np.testing.assert_array_equal(read_image(turned), np.rot90(stored, quarter_turns))
    # ...which is the photo as taken, up to JPEG's loss.
    upright = read_image(photo)
    assert np.abs(read_image(turned).astype(int) - upright).mean() < 2.0


def test_corner_tiles_cover_the_photo_and_map_a_hand_back_to_where_it_is():
    photo = np.arange(480 * 640, dtype=np.int64).reshape(480, 640)
    tiles = ex.corner_tiles(photo)
    assert [(top, left, tile.shape) for tile, top, left in tiles] == [
        (0, 0, (288, 384)),
        (0, -256, (288, 384)),
        (-192, 0, (288, 384)),
        (-192, -256, (288, 384)),
    ]
    for tile, top, left in tiles:
        assert tile[0, 0] == photo[-top, -left]  # the offsets say where each tile lies
    # A point a quarter into the last tile, mapped back onto the photo.
    found = ex.HandResult(np.full((21, 3), 0.25, np.float32), 0.9, 288 / 384)
    mapped = ex.unpad_result(found, photo.shape, -192, -256, (288, 384))
    np.testing.assert_allclose(mapped.landmarks[0], [(256 + 96) / 640, (192 + 72) / 480, 0.15])
    assert mapped.score == 0.9 and mapped.aspect == 0.75
