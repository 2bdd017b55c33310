"""The ONNX Runtime runner: an exported classifier, bad files, ONNX Runtime missing."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from helpers import blocking_env

from hand_gesture_recognition.config import ModelConfig, RunConfig
from hand_gesture_recognition.errors import InputError
from hand_gesture_recognition.model import build_model, export_model
from hand_gesture_recognition.onnx_runtime import OnnxRunner


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    model = build_model(4, 30, ModelConfig(lstm_units=(8, 4), dense_units=(8,)))
    directory = tmp_path_factory.mktemp("onnx")
    export_model(model, directory)
    return model, directory / "model.onnx"


def test_runs_an_exported_classifier_on_any_number_of_windows(exported):
    model, path = exported
    runner = OnnxRunner(path)
    assert runner.input_shapes == [(None, 30, 63)]
    assert list(runner.output_shapes.values()) == [(None, 4)]
    x = np.random.default_rng(0).normal(size=(5, 30, 63))  # float64: converted
    expected = model(x.astype(np.float32), training=False).numpy()
    np.testing.assert_allclose(runner(x), expected, atol=1e-5)
    np.testing.assert_allclose(runner(x[2:3]), expected[2:3], atol=1e-5)
    from_bytes = OnnxRunner(path.read_bytes(), name="exported classifier")
    assert from_bytes.name == "exported classifier"
    np.testing.assert_allclose(from_bytes(x), expected, atol=1e-5)


def test_a_corrupt_or_missing_file_is_one_clear_error(exported, tmp_path):
    _, path = exported
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not a protobuf at all" * 10)
    with pytest.raises(InputError, match=r"model\.onnx: not a valid ONNX model") as raised:
        OnnxRunner(bad)
    assert len(str(raised.value).splitlines()) == 1
    with pytest.raises(InputError, match="none.onnx: file not found"):
        OnnxRunner(tmp_path / "none.onnx")
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(path.read_bytes()[:3000])
    with pytest.raises(InputError, match=r"truncated\.onnx: not a valid ONNX model"):
        OnnxRunner(truncated)


def test_onnx_runtime_missing_is_one_line_exit_2(exported, tmp_path):
    _, path = exported
    script = (
        "import sys\n"
        "from hand_gesture_recognition.onnx_runtime import OnnxRunner\n"
        "from hand_gesture_recognition.errors import InputError\n"
        f"try:\n    OnnxRunner({str(path)!r})\n"
        "except InputError as e:\n    print(e); sys.exit(2)\n"
    )
    env = blocking_env(tmp_path, ("onnxruntime",))
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    line = done.stdout.strip()
    assert len(line.splitlines()) == 1
    assert "model.onnx" in line and "needs ONNX Runtime" in line


def test_without_onnx_runtime_the_classifier_runs_on_litert(exported, tmp_path):
    model, path = exported
    directory = path.parent
    (directory / "gesture_mapping.json").write_text('{"a": 0, "b": 1, "c": 2, "d": 3}')
    RunConfig().save(directory / "model_config.json")
    x = np.random.default_rng(1).normal(size=(30, 63)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    script = (
        "import sys, numpy as np\n"
        "from hand_gesture_recognition.model import load_classifier\n"
        f"loaded = load_classifier({str(directory)!r})\n"
        f"p = loaded.model.predict(np.load({str(tmp_path / 'x.npy')!r}))\n"
        "print(loaded.model.backend, ' '.join(f'{v:.6f}' for v in p))\n"
    )
    env = blocking_env(tmp_path, ("onnxruntime",))
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    backend, *values = done.stdout.split()
    assert backend == "litert"
    expected = model(x[None], training=False).numpy()[0]
    np.testing.assert_allclose(np.array(values, float), expected, atol=1e-5)
