import subprocess
import sys

import numpy as np
import pytest
from matplotlib.figure import Figure

from hand_gesture_recognition import visualize
from hand_gesture_recognition.config import AugmentationConfig, PreprocessingConfig
from hand_gesture_recognition.dataset import find_recordings
from hand_gesture_recognition.errors import InputError
from hand_gesture_recognition.evaluate import compute_metrics
from hand_gesture_recognition.features import pointing_down
from hand_gesture_recognition.landmark_file import LandmarkTable
from hand_gesture_recognition.landmarks import extract_landmarks

GESTURES = ("01_palm", "08_palm_moved")
FRAMES = 36  # enough for one 30-frame window


@pytest.fixture(scope="module")
def small_tree(leap_sample, tmp_path_factory):
    """The first frames of two gestures of the sample, linked into a small tree."""
    root = tmp_path_factory.mktemp("tree")
    for recording in find_recordings(leap_sample):
        if recording.gesture in GESTURES:
            folder = root / recording.subject / recording.gesture
            folder.mkdir(parents=True)
            for frame in recording.frames[:FRAMES]:
                (folder / frame.name).symlink_to(frame.resolve())
    return root


@pytest.fixture(scope="module")
def small_table(small_tree, tmp_path_factory) -> LandmarkTable:
    out = tmp_path_factory.mktemp("landmarks") / "small.npz"
    extract_landmarks(small_tree, out, extractor="infrared", workers=1, progress=False)
    return LandmarkTable.load(out)


def images(figure):
    return [axis for axis in figure.axes if axis.images]


def test_importing_loads_neither_matplotlib_nor_opencv():
    code = (
        "import sys, hand_gesture_recognition.visualize; "
        "print('matplotlib' in sys.modules, 'cv2' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.split() == ["False", "False"], result.stderr


def test_sample_frames_show_every_gesture_with_true_proportions(leap_sample):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    figure = visualize.plot_sample_frames(find_recordings(leap_sample), frames_per_gesture=2)
    assert isinstance(figure, Figure)
    assert plt.get_fignums() == before  # not kept alive by pyplot
    shown = images(figure)
    assert len(shown) == 20
    assert shown[0].get_ylabel() == "01_palm" and shown[-2].get_ylabel() == "10_down"
    picture = shown[0].images[0]
    assert picture.get_array().shape == (240, 640)
    assert shown[0].get_aspect() == 2.0  # Leap Motion pixels are twice as tall as wide
    with pytest.raises(InputError):
        visualize.plot_sample_frames(find_recordings(leap_sample), subject="99")


def test_landmarks_are_drawn_on_their_frame(small_table, small_tree):
    row = int(np.argmax(small_table.score))
    image = visualize.read_frame(small_table.path[row])
    figure = visualize.plot_frame_landmarks(image, small_table.landmarks[row])
    axis = figure.axes[0]
    assert len(axis.images) == 1
    assert len(axis.lines) == len(visualize.HAND_CONNECTIONS) + 1
    points = axis.lines[-1].get_xydata()
    assert points.shape == (21, 2)
    assert (points >= 0).all() and (points[:, 0] <= 640).all() and (points[:, 1] <= 240).all()

    nothing = visualize.plot_frame_landmarks(image, None).axes[0]
    assert not nothing.lines and nothing.texts[0].get_text() == "no hand found"


def test_landmark_grid_has_one_frame_per_gesture(small_table, small_tree):
    figure = visualize.plot_landmark_grid(small_table, find_recordings(small_tree), ncols=2)
    shown = images(figure)
    assert [a.get_title().split()[0] for a in shown] == list(GESTURES)
    assert all(a.lines for a in shown)  # the sample's first frames of both have a hand


def test_coverage_bars_match_the_table(small_table):
    coverage = small_table.coverage()
    axis = visualize.plot_coverage(coverage).axes[0]
    heights = [bar.get_height() for bar in axis.patches]
    assert heights == pytest.approx([coverage[g] for g in GESTURES])
    assert [t.get_text() for t in axis.get_xticklabels()] == list(GESTURES)
    assert axis.get_legend().get_texts()[0].get_text().startswith("overall")

    halved = {g: v / 2 for g, v in coverage.items()}
    grouped = visualize.plot_coverage({"infrared": coverage, "other": halved}).axes[0]
    assert len(grouped.patches) == 2 * len(GESTURES)
    labels = [t.get_text() for t in grouped.get_legend().get_texts()]
    assert labels[0].startswith("infrared") and labels[1].startswith("other")


def test_augmentation_is_shown_on_a_real_window(small_table):
    window, aspect, sequence, start = visualize.example_window(small_table)
    assert window.shape == (30, 21, 3) and not np.isnan(window).any()
    assert sequence == "00/08_palm_moved" and 0 <= start <= FRAMES - 30
    assert aspect == pytest.approx(0.75)  # 640 x 480 once the pixels are square

    config = AugmentationConfig(
        noise_std=0.02, occlusion_max_frames=4, spread_degrees=20.0, curl_degrees=10.0
    )
    figure = visualize.plot_augmentation(window, config, aspect, seed=3)
    assert len(figure.axes) == 12
    titles = [a.get_title() for a in figure.axes[:6]]
    assert titles[0] == "original" and "noise" in titles[1] and "occlusion" in titles[2]
    assert "scale" in titles[3] and titles[4] == "finger pose (spread ±20°, curl ±10°)"
    assert titles[5] == "opened as 01_palm (fan 18°, thumb 60°: the most)"
    occluded_time_axis = figure.axes[8]
    assert occluded_time_axis.patches  # the lost frames are shaded
    original = figure.axes[6].lines[0].get_ydata()
    np.testing.assert_allclose(original, window[:, visualize.INDEX_TIP, 0], rtol=1e-6)
    # The finger-pose and opening columns move the index fingertip (grey dashed: the original).
    for column in (10, 11):
        before, after = (line.get_ydata() for line in figure.axes[column].lines[:2])
        np.testing.assert_allclose(before, original, rtol=1e-6)
        assert np.abs(after - before).max() > 1e-3
    # The default augmentation bends no fingers, so it has no finger-pose column; without
    # opening, no opening column.
    assert len(visualize.plot_augmentation(window, AugmentationConfig(), aspect).axes) == 10
    closed = AugmentationConfig(open_gestures=())
    assert len(visualize.plot_augmentation(window, closed, aspect).axes) == 8


def test_example_window_needs_a_full_window(small_table):
    short = small_table.subset(small_table.frame < 10)
    with pytest.raises(InputError, match="full window"):
        visualize.example_window(short, PreprocessingConfig())


def test_feature_modes_put_the_wrist_at_the_origin(small_table):
    row = int(np.argmax(small_table.score))
    figure = visualize.plot_feature_modes(small_table.landmarks[row], small_table.aspect[row])
    assert [a.get_title() for a in figure.axes] == ["raw", "normalized", "canonical"]
    for axis in figure.axes[1:]:
        wrist = axis.lines[-1].get_xydata()
        np.testing.assert_allclose(wrist, [[0.0, 0.0]], atol=1e-6)


def test_per_gesture_accuracy_shows_each_recall():
    metrics = compute_metrics(
        np.array([0, 0, 1, 1, 2, 2]), np.array([0, 0, 1, 0, 2, 1]), ["a", "b", "c", "d"]
    )
    axis = visualize.plot_per_gesture_accuracy(metrics).axes[0]
    widths = [bar.get_width() for bar in axis.patches]
    assert widths == pytest.approx([1.0, 0.5, 0.5, 0.0])
    assert [t.get_text() for t in axis.get_yticklabels()] == ["a", "b", "c", "d"]


def test_pointing_down_shows_each_frame_where_its_hand_points(small_table):
    figure = visualize.plot_pointing_down(small_table, max_downward=0.25)
    axis = figure.axes[0]
    assert [t.get_text() for t in axis.get_xticklabels()] == list(GESTURES)
    down = pointing_down(small_table.landmarks, small_table.aspect)
    for position, (points, gesture) in enumerate(zip(axis.collections, GESTURES, strict=True)):
        rows = (small_table.gesture == gesture) & small_table.detected
        offsets = points.get_offsets()
        np.testing.assert_allclose(offsets[:, 1], down[rows])
        assert (np.abs(offsets[:, 0] - position) <= 0.25).all()
        assert (offsets[:, 1] < 0).all()  # the sample's palms are held up
    limits = [line.get_ydata()[0] for line in axis.get_lines()]
    assert limits == pytest.approx([0.25, 0.0])  # the rule's limit, then the horizontal
    assert axis.get_legend() is not None
    assert visualize.plot_pointing_down(small_table).axes[0].get_legend() is None


def test_finger_ranges_draw_each_fingers_range_and_margin():
    ranges = {
        "06_index": [[0.9, 0.95, 0.4, 0.4, 0.5], [0.95, 1.0, 0.45, 0.5, 0.55]],
        "01_palm": [[0.97, 0.99, 0.98, 0.98, 0.98], [0.98, 1.0, 1.0, 0.99, 0.99]],
    }
    axis = visualize.plot_finger_ranges(ranges, 0.4).axes[0]
    assert [t.get_text() for t in axis.get_xticklabels()] == ["01_palm", "06_index"]
    # Per finger: its ranges, then the same widened by the margin, at the same positions.
    assert len(axis.collections) == 10
    middle, middle_margin = axis.collections[4].get_segments(), axis.collections[5].get_segments()
    np.testing.assert_allclose(middle[1], [[1.0, 0.4], [1.0, 0.45]])  # 06_index, at x = 1
    np.testing.assert_allclose(middle_margin[1], [[1.0, 0.0], [1.0, 0.85]])
    np.testing.assert_allclose(middle[0], [[0.0, 0.98], [0.0, 1.0]])
    assert [t.get_text() for t in axis.get_legend().get_texts()] == [
        "thumb", "index", "middle", "ring", "little"
    ]  # fmt: skip
    # With the reach, a second axis draws it the same way.
    reach = {g: (np.array(r) * 1.2).tolist() for g, r in ranges.items()}
    figure = visualize.plot_finger_ranges(ranges, 0.4, reach)
    assert len(figure.axes) == 2 and figure.axes[1].get_ylabel() == "finger reach (palm lengths)"
    middle = figure.axes[1].collections[4].get_segments()
    np.testing.assert_allclose(middle[1], [[1.0, 0.48], [1.0, 0.54]])


def test_loso_chart_has_two_bars_per_subject():
    metrics = {
        "folds": [
            {"subject": "00", "accuracy": 0.8, "macro_f1": 0.7},
            {"subject": "01", "accuracy": 0.6, "macro_f1": 0.5},
            {"subject": "02", "accuracy": 0.9, "macro_f1": 0.85},
        ],
        "mean_accuracy": 0.7667,
    }
    axis = visualize.plot_loso(metrics).axes[0]
    assert [bar.get_height() for bar in axis.patches] == pytest.approx(
        [0.8, 0.6, 0.9, 0.7, 0.5, 0.85]
    )
    assert [t.get_text() for t in axis.get_xticklabels()] == ["00", "01", "02"]
    with pytest.raises(InputError):
        visualize.plot_loso({"folds": []})


def test_takes_comparison_shows_each_models_recall_side_by_side():
    truth = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    held_out = {
        "fine-tuned": compute_metrics(truth, truth, ["stop", "thumbs_up"]),
        "from scratch": compute_metrics(
            truth, np.array([0, 0, 0, 0, 0, 0, 1, 1]), ["stop", "thumbs_up"]
        ),
    }
    axis = visualize.plot_takes_comparison(held_out).axes[0]
    # One bar per model in each group (stop, thumbs_up, all), the models side by side.
    assert [bar.get_height() for bar in axis.patches] == pytest.approx(
        [1.0, 1.0, 1.0, 1.0, 0.5, 0.75]
    )
    lefts = [bar.get_x() for bar in axis.patches]
    assert all(a < b for a, b in zip(lefts[:3], lefts[3:], strict=True)) and lefts[3] < lefts[1]
    assert [t.get_text() for t in axis.get_xticklabels()] == ["stop", "thumbs_up", "all"]
    texts = [t.get_text() for t in axis.texts]
    assert texts == ["4/4", "4/4", "8/8", "4/4", "2/4", "6/8"]
    legend = {t.get_text() for t in axis.get_legend().get_texts()}
    assert legend == {"fine-tuned", "from scratch", "chance"}
    with pytest.raises(InputError):
        visualize.plot_takes_comparison({})


def test_artifacts_are_listed_with_sizes(tmp_path):
    (tmp_path / "loso").mkdir()
    (tmp_path / "metrics.json").write_text("{}")
    (tmp_path / "loso" / "metrics.json").write_text("{ }")
    assert visualize.list_artifacts(tmp_path) == [("loso/metrics.json", 3), ("metrics.json", 2)]
