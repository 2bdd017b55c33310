import numpy as np

from hand_gesture_recognition import augment
from hand_gesture_recognition.config import AugmentationConfig


def _windows(n=4, length=12, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.2, 0.8, size=(n, length, 21, 3)).astype(np.float32)


def test_noise_has_the_configured_spread():
    rng = np.random.default_rng(0)
    windows = _windows(n=50)
    noisy = augment.add_noise(windows, 0.01, rng)
    assert abs(float((noisy - windows).std()) - 0.01) < 1e-3


def test_scale_keeps_the_centre_and_scales_spread():
    rng = np.random.default_rng(0)
    windows = _windows()
    scaled = augment.scale(windows, 1.5, 1.5, rng)
    np.testing.assert_allclose(
        scaled[..., :2].mean(axis=(1, 2)), windows[..., :2].mean(axis=(1, 2)), atol=1e-5
    )
    np.testing.assert_allclose(
        scaled[..., :2].std(axis=(1, 2)), 1.5 * windows[..., :2].std(axis=(1, 2)), rtol=1e-4
    )
    np.testing.assert_array_equal(scaled[..., 2], windows[..., 2])


def test_translation_shifts_x_and_y_by_one_offset_per_window():
    rng = np.random.default_rng(0)
    windows = _windows()
    moved = augment.translate(windows, 0.05, rng)
    shift = moved - windows
    assert np.abs(shift[..., :2]).max() <= 0.05 + 1e-6
    np.testing.assert_allclose(
        shift[..., :2], shift[:, :1, :1, :2].repeat(12, 1).repeat(21, 2), atol=1e-6
    )
    assert not shift[..., 2].any()


def test_occlusion_refills_a_run_by_interpolation():
    rng = np.random.default_rng(1)
    windows = _windows(n=20)
    occluded = augment.occlude(windows, 1.0, 4, "interpolate", rng)
    changed = np.abs(occluded - windows).max(axis=(2, 3)) > 0
    assert changed.any(axis=1).all() and changed.sum(axis=1).max() <= 4
    assert not np.isnan(occluded).any()
    zeroed = augment.occlude(windows, 1.0, 4, "zero", np.random.default_rng(1))
    assert np.isnan(zeroed).any()


def test_augment_windows_keeps_originals_first_and_labels_aligned():
    windows = _windows()
    labels = np.array([0, 1, 2, 3])
    out, out_labels = augment.augment_windows(
        windows, labels, AugmentationConfig(copies=2), "interpolate", np.random.default_rng(0)
    )
    assert out.shape == (12, 12, 21, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out[:4], windows)
    np.testing.assert_array_equal(out_labels, np.tile(labels, 3))
    assert not np.allclose(out[4:8], windows)
