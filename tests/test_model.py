import json

import numpy as np
import pytest

from hand_gesture_recognition.calibration import apply_temperature
from hand_gesture_recognition.config import (
    AugmentationConfig,
    ModelConfig,
    PreprocessingConfig,
    RunConfig,
    TrainingConfig,
)
from hand_gesture_recognition.errors import InputError
from hand_gesture_recognition.landmark_file import LandmarkTable
from hand_gesture_recognition.model import (
    Classifier,
    FastClassifier,
    build_frame_model,
    build_model,
    distil,
    frame_inputs,
    fuse,
    join_frames,
    load_classifier,
    load_model,
    member_seed,
    predict_probabilities,
    read_mapping,
    save_model,
    scale_output,
    side_by_side,
    teacher_seed,
)
from hand_gesture_recognition.sequences import prepare_data
from hand_gesture_recognition.train import transfer_inputs

GESTURES = ["01_palm", "02_l", "03_fist"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    model = build_model(3, 30, ModelConfig(lstm_units=(8, 8, 4), dense_units=(8,)))
    directory = tmp_path_factory.mktemp("tiny") / "model"
    save_model(directory, model, GESTURES, RunConfig())
    return model, directory


def test_the_original_architecture():
    model = build_model(10)
    kinds = [layer.__class__.__name__ for layer in model.layers]
    assert kinds == ["LSTM", "BatchNormalization", "Dropout"] * 3 + [
        "Dense",
        "BatchNormalization",
        "Dropout",
    ] * 2 + ["Dense"]
    assert [layer.units for layer in model.layers if hasattr(layer, "units")] == [
        128,
        128,
        64,
        256,
        128,
        10,
    ]
    assert tuple(model.inputs[0].shape[1:]) == (30, 63)
    assert all(layer.rate == 0.3 for layer in model.layers if hasattr(layer, "rate"))
    assert model.optimizer.learning_rate.numpy() == pytest.approx(1e-3)


def test_the_single_frame_classifier_and_its_inputs():
    model = build_frame_model(10, ModelConfig())
    kinds = [layer.__class__.__name__ for layer in model.layers]
    assert kinds == ["Dense", "Dense", "Dense", "GlobalAveragePooling1D"]
    assert [layer.units for layer in model.layers if hasattr(layer, "units")] == [128, 64, 10]
    # Every third frame of each window, with its window's target.
    x = np.arange(2 * 7 * 2, dtype=np.float32).reshape(2, 7, 2)
    frames, labels = frame_inputs(x, np.array([4, 9]))
    np.testing.assert_array_equal(frames[:, 0], x[:, [0, 3, 6]].reshape(6, 2))
    np.testing.assert_array_equal(labels, [4, 4, 4, 9, 9, 9])
    soft = np.array([[0.2, 0.8], [1.0, 0.0]], np.float32)
    np.testing.assert_array_equal(frame_inputs(x, soft)[1], soft[[0, 0, 0, 1, 1, 1]])


def test_a_temperature_folded_into_a_classifier_scales_its_logits():
    x = np.random.default_rng(0).normal(size=(6, 30, 63)).astype(np.float32)
    lstm = build_model(3, 30, ModelConfig(lstm_units=(8, 8, 4), dense_units=(8,)))
    frames = build_frame_model(3, ModelConfig(frame_units=(16,)))
    before = lstm(x, training=False).numpy()
    per_frame = frames(x.reshape(-1, 1, 63), training=False).numpy().reshape(6, 30, 3)
    scale_output(lstm, 2.5)
    scale_output(frames, 0.4)
    np.testing.assert_allclose(
        lstm(x, training=False).numpy(), apply_temperature(before, 2.5), atol=1e-5
    )
    # The frame classifier's frames are each scaled, then averaged.
    np.testing.assert_allclose(
        frames(x, training=False).numpy(),
        apply_temperature(per_frame, 0.4).mean(axis=1),
        atol=1e-5,
    )


def _member_logits(member, frames: np.ndarray) -> np.ndarray:
    """A :func:`build_frame_model` classifier's logits, computed from its weights."""
    hidden = frames
    for layer in member.layers[:-2]:
        kernel, bias = layer.get_weights()
        hidden = np.maximum(hidden @ kernel + bias, 0.0)
    kernel, bias = member.layers[-2].get_weights()
    return hidden @ kernel + bias


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def test_joined_frame_members_answer_the_softmax_of_their_mean_logits():
    import keras

    members = []
    for k in range(3):
        keras.utils.set_random_seed(member_seed(7, k))
        members.append(build_frame_model(4, ModelConfig(frame_units=(16, 8))))
    x = np.random.default_rng(1).normal(size=(5, 30, 63)).astype(np.float32)
    logits = np.mean([_member_logits(m, x) for m in members], axis=0)  # (5, 30, 4)
    joined = join_frames(members)
    assert joined.name == "frame_classifier"
    # Per frame, the softmax of the members' mean logits; per window, the frames' mean.
    np.testing.assert_allclose(joined(x).numpy(), _softmax(logits).mean(axis=1), atol=1e-5)
    assert not np.allclose(joined(x).numpy(), members[0](x).numpy(), atol=1e-3)
    # A temperature folds into the joined classifier as into one member.
    scale_output(joined, 0.5)
    np.testing.assert_allclose(joined(x).numpy(), _softmax(logits / 0.5).mean(axis=1), atol=1e-5)
    # One member is the classifier itself; the first member's seed is the model's.
    assert join_frames(members[:1]) is members[0]
    assert member_seed(7, 0) == 7
    assert len({member_seed(s, k) for s in range(20) for k in range(5)}) == 100


def test_members_fitted_side_by_side_learn_as_each_would_alone():
    import keras

    rng = np.random.default_rng(3)
    x = rng.normal(size=(64, 1, 63)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    config = ModelConfig(frame_units=(16,))
    keras.utils.set_random_seed(1)
    members = [build_frame_model(3, config) for _ in range(2)]
    alone = build_frame_model(3, config)
    alone.set_weights(members[1].get_weights())
    before = members[0].get_weights()
    side_by_side(members, 1e-3, "sparse_categorical_crossentropy").fit(
        x, [y, y], epochs=3, batch_size=16, shuffle=False, verbose=0
    )
    alone.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    # Each member's gradients are its own: the second learned exactly what it learns alone.
    for joint, single in zip(members[1].get_weights(), alone.get_weights(), strict=True):
        np.testing.assert_allclose(joint, single, atol=1e-5)
    assert not np.allclose(members[0].get_weights()[0], before[0])


def test_a_fused_model_with_joined_frame_members_saves_and_exports(tmp_path):
    config = ModelConfig(lstm_units=(8, 8, 4), dense_units=(8,), frame_units=(16,), frame_members=2)
    lstm = build_model(3, 30, config)
    model = fuse(lstm, join_frames([build_frame_model(3, config) for _ in range(2)]))
    x = np.random.default_rng(2).normal(size=(4, 30, 63)).astype(np.float32)
    expected = model(x, training=False).numpy()
    run = RunConfig(model=config)
    save_model(tmp_path / "model", model, GESTURES, run)
    loaded = load_model(tmp_path / "model")
    assert loaded.config.model.frame_members == 2
    np.testing.assert_allclose(predict_probabilities(loaded.model, x), expected, atol=1e-5)
    exported = load_classifier(tmp_path / "model")
    np.testing.assert_allclose(predict_probabilities(exported.model, x), expected, atol=1e-4)


def test_saved_model_reloads_with_identical_predictions(tiny):
    model, directory = tiny
    assert json.loads((directory / "gesture_mapping.json").read_text()) == {
        "01_palm": 0,
        "02_l": 1,
        "03_fist": 2,
    }
    loaded = load_model(directory)
    x = np.random.default_rng(0).normal(size=(5, 30, 63)).astype(np.float32)
    np.testing.assert_array_equal(
        loaded.model(x, training=False).numpy(), model(x, training=False).numpy()
    )
    assert loaded.gestures == GESTURES and loaded.preprocessing.feature_mode == "canonical"


def test_an_h5_path_and_an_explicit_mapping_work(tiny):
    _, directory = tiny
    loaded = load_model(directory / "hand_gesture_lstm_model.h5", {"a": 0, "b": 1, "c": 2})
    assert loaded.gestures == ["a", "b", "c"]


def test_a_model_without_config_is_read_as_the_original(tiny, tmp_path):
    _, directory = tiny
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    for name in ("hand_gesture_lstm_model.h5", "gesture_mapping.json"):
        (legacy / name).write_bytes((directory / name).read_bytes())
    loaded = load_model(legacy)
    assert loaded.preprocessing.feature_mode == "raw"
    assert loaded.preprocessing.missing == "zero"
    assert loaded.config.info["legacy"] is True
    assert loaded.config.model.frame_units == ()  # The original's model is an LSTM alone.


def test_fast_classifier_matches_keras(tiny):
    model, _ = tiny
    x = np.random.default_rng(1).normal(size=(4, 30, 63)).astype(np.float32)
    fast = FastClassifier(model)
    expected = model.predict(x, verbose=0)
    np.testing.assert_allclose(fast.predict(x), expected, atol=1e-5)
    np.testing.assert_allclose(fast.predict(x[0]), expected[0], atol=1e-5)


def test_predict_probabilities_in_batches_follows_the_weights(tiny):
    model, _ = tiny
    x = np.random.default_rng(3).normal(size=(7, 30, 63)).astype(np.float32)
    expected = model(x, training=False).numpy()
    # Batches of 3 split the windows as 3 + 3 + 1; the answer is the same in one call.
    np.testing.assert_allclose(predict_probabilities(model, x, batch_size=3), expected, atol=1e-5)
    # The model keeps its predict function between calls; it must read the weights as they
    # are now (a temperature folded into the softmax layer changes them after training).
    scale_output(model, 4.0)
    softened = model(x, training=False).numpy()
    assert not np.allclose(softened, expected, atol=1e-3)
    np.testing.assert_allclose(predict_probabilities(model, x), softened, atol=1e-5)
    scale_output(model, 0.25)
    with pytest.raises(InputError, match=r"shape \(n, \(30, 63\)\)"):
        predict_probabilities(model, x[:, :20])


def test_mapping_problems_are_clear(tiny, tmp_path):
    _, directory = tiny
    with pytest.raises(InputError, match="3 classes"):
        load_model(directory, {"a": 0, "b": 1})
    with pytest.raises(InputError, match="0..1"):
        read_mapping({"a": 0, "b": 2})
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "hand_gesture_lstm_model.h5").write_bytes(
        (directory / "hand_gesture_lstm_model.h5").read_bytes()
    )
    with pytest.raises(InputError, match="no gesture_mapping.json"):
        load_model(empty)
    with pytest.raises(InputError, match="model file not found"):
        load_model(tmp_path)
    (tmp_path / "hand_gesture_lstm_model.h5").write_bytes(b"junk")
    (tmp_path / "gesture_mapping.json").write_text('{"a": 0}')
    with pytest.raises(InputError, match="not a loadable Keras model"):
        load_model(tmp_path)


# ---------------------------------------------------------------------------------------------
# Exports and the classifier that runs them (ONNX Runtime, LiteRT).


def test_save_writes_exports_that_equal_keras(tiny):
    import onnxruntime
    from ai_edge_litert.interpreter import Interpreter

    model, directory = tiny
    x = np.random.default_rng(2).normal(size=(6, 30, 63)).astype(np.float32)
    expected = model(x, training=False).numpy()
    interpreter = Interpreter(model_path=str(directory / "model.tflite"))
    interpreter.allocate_tensors()
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    assert list(inp["shape"]) == [1, 30, 63] and list(out["shape"]) == [1, 3]
    litert = []
    for window in x:
        interpreter.set_tensor(inp["index"], window[None])
        interpreter.invoke()
        litert.append(interpreter.get_tensor(out["index"])[0])
    np.testing.assert_allclose(np.stack(litert), expected, atol=1e-5)
    session = onnxruntime.InferenceSession(
        str(directory / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    onnx_out = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(onnx_out, expected, atol=1e-5)


def test_load_classifier_runs_the_onnx_export_on_onnx_runtime(tiny):
    model, directory = tiny
    loaded = load_classifier(directory)
    assert isinstance(loaded.model, Classifier) and loaded.model.backend == "onnxruntime"
    assert loaded.gestures == GESTURES and loaded.preprocessing.feature_mode == "canonical"
    x = np.random.default_rng(3).normal(size=(3, 30, 63)).astype(np.float32)
    expected = model(x, training=False).numpy()
    np.testing.assert_allclose(loaded.model.predict(x), expected, atol=1e-5)
    np.testing.assert_allclose(loaded.model.predict(x[1]), expected[1], atol=1e-5)
    assert loaded.model.predict(x[:0]).shape == (0, 3)
    with pytest.raises(InputError, match="windows must have shape"):
        loaded.model.predict(x[:, :20])


def test_the_litert_export_gives_the_same_answers(tiny, tmp_path):
    model, directory = tiny
    x = np.random.default_rng(6).normal(size=(3, 30, 63)).astype(np.float32)
    expected = model(x, training=False).numpy()
    named = load_classifier(directory / "model.tflite")
    assert named.model.backend == "litert"
    np.testing.assert_allclose(named.model.predict(x), expected, atol=1e-5)
    # A directory with only the LiteRT export (written before the ONNX one, no manifest).
    older = tmp_path / "older"
    older.mkdir()
    for name in ("hand_gesture_lstm_model.h5", "gesture_mapping.json", "model_config.json"):
        (older / name).write_bytes((directory / name).read_bytes())
    (older / "model.tflite").write_bytes((directory / "model.tflite").read_bytes())
    loaded = load_classifier(older)
    assert loaded.model.backend == "litert"
    np.testing.assert_allclose(loaded.model.predict(x[0]), expected[0], atol=1e-5)


def test_an_original_h5_is_converted_once_and_cached(tiny, tmp_path, monkeypatch):
    import hand_gesture_recognition.model as model_module

    model, directory = tiny
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    for name in ("hand_gesture_lstm_model.h5", "gesture_mapping.json"):
        (legacy / name).write_bytes((directory / name).read_bytes())
    cache = tmp_path / "cache"
    first = load_classifier(legacy, cache_dir=cache)
    cached = list(cache.glob("*/model.tflite"))
    assert len(cached) == 1 and not (legacy / "model.tflite").exists()
    assert first.preprocessing.feature_mode == "raw"

    def no_conversion(_model):
        raise AssertionError("converted again")

    monkeypatch.setattr(model_module, "to_litert", no_conversion)
    again = load_classifier(legacy / "hand_gesture_lstm_model.h5", cache_dir=cache)
    x = np.random.default_rng(4).normal(size=(2, 30, 63)).astype(np.float32)
    np.testing.assert_allclose(again.model.predict(x), model(x, training=False).numpy(), atol=1e-5)


def copy_model(directory, dest):
    dest.mkdir()
    for path in directory.iterdir():
        (dest / path.name).write_bytes(path.read_bytes())
    return dest


def test_exports_that_disagree_are_named(tiny, tmp_path):
    _, directory = tiny
    other = tmp_path / "other"
    save_model(
        other,
        build_model(2, 20, ModelConfig(lstm_units=(4,), dense_units=())),
        ["a", "b"],
        RunConfig(),
    )
    # A .tflite with 2 classes and 20 frames beside a 3-gesture, 30-frame model.
    wrong = copy_model(directory, tmp_path / "wrong_tflite")
    (wrong / "model.tflite").write_bytes((other / "model.tflite").read_bytes())
    with pytest.raises(InputError, match=r"model\.tflite: model input shape \(1, 20, 63\)"):
        load_classifier(wrong)
    with pytest.raises(InputError, match=r"model\.tflite: model input shape"):
        load_model(wrong)
    wrong_onnx = copy_model(directory, tmp_path / "wrong_onnx")
    (wrong_onnx / "model.onnx").write_bytes((other / "model.onnx").read_bytes())
    with pytest.raises(InputError, match=r"model\.onnx: model input shape \(None, 20, 63\)"):
        load_model(wrong_onnx)
    with pytest.raises(InputError, match=r"model\.onnx: model input shape \(None, 20, 63\)"):
        load_classifier(wrong_onnx)
    # The right input length but a mapping with another number of gestures.
    with pytest.raises(
        InputError,
        match=r"model\.onnx: the mapping has 2 gestures but the model outputs 3 classes",
    ):
        load_classifier(directory, {"a": 0, "b": 1})
    corrupt = copy_model(directory, tmp_path / "corrupt")
    (corrupt / "model.tflite").write_bytes(b"\0" * 64)
    with pytest.raises(InputError, match=r"model\.tflite: not a valid LiteRT"):
        load_classifier(corrupt)
    corrupt_onnx = copy_model(directory, tmp_path / "corrupt_onnx")
    (corrupt_onnx / "model.onnx").write_bytes(b"\0" * 64)
    with pytest.raises(InputError, match=r"model\.onnx: not a valid ONNX model"):
        load_classifier(corrupt_onnx)
    with pytest.raises(InputError, match=r"model\.onnx: not a valid ONNX model"):
        load_model(corrupt_onnx)


def test_trained_exports_equal_keras_on_real_windows(trained_model_dir, sample_landmarks):
    import onnxruntime
    from ai_edge_litert.interpreter import Interpreter

    from hand_gesture_recognition.landmark_file import LandmarkTable
    from hand_gesture_recognition.sequences import prepare_data

    loaded = load_model(trained_model_dir)
    table = LandmarkTable.load(sample_landmarks)
    config = loaded.config
    data = prepare_data(table, config.preprocessing, config.augmentation, config.training)
    # The held-out windows (validation and test parts).
    x = np.concatenate([data.x_val, data.x_test]).astype(np.float32)
    assert len(x) >= 50
    expected = loaded.model(x, training=False).numpy()
    interpreter = Interpreter(model_path=str(trained_model_dir / "model.tflite"))
    interpreter.allocate_tensors()
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    litert = []
    for window in x:
        interpreter.set_tensor(inp["index"], window[None])
        interpreter.invoke()
        litert.append(interpreter.get_tensor(out["index"])[0])
    np.testing.assert_allclose(np.stack(litert), expected, atol=1e-5)
    session = onnxruntime.InferenceSession(
        str(trained_model_dir / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    onnx_out = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(onnx_out, expected, atol=1e-5)
    # The same answers as the Keras model, window by window.
    assert (np.stack(litert).argmax(1) == expected.argmax(1)).all()
    # What live recognition runs: the ONNX export, one window per call.
    live = load_classifier(trained_model_dir).model
    assert live.backend == "onnxruntime"
    one_by_one = np.stack([live.predict(window) for window in x])
    np.testing.assert_allclose(one_by_one, expected, atol=1e-5)


def test_teachers_have_their_own_seeds():
    assert [teacher_seed(42, k) for k in range(3)] == [1042, 2042, 3042]
    assert teacher_seed(2**32 - 1, 0) == 999


@pytest.mark.slow
def test_distillation_teaches_one_model_the_teachers_averaged_answers(sample_landmarks):
    table = LandmarkTable.load(sample_landmarks)
    config = RunConfig(
        preprocessing=PreprocessingConfig(window_stride=2),
        augmentation=AugmentationConfig(copies=1),
        training=TrainingConfig(
            epochs=20, split="time", seed=3, teachers=2, early_stopping_patience=20
        ),
    )
    data = prepare_data(table, config.preprocessing, config.augmentation, config.training)
    x_transfer = transfer_inputs(data, config)
    assert x_transfer.shape == (3 * len(data.x_train) // 2, 30, 63)

    student, history, teachers = distil(data, config, x_transfer, verbose=0)

    assert len(teachers) == 2 and len(history["loss"]) == 20
    answers = [predict_probabilities(t, data.x_test) for t, _ in teachers]
    assert not np.allclose(answers[0], answers[1], atol=1e-3)  # Different seeds.
    ensemble = np.mean(answers, axis=0).argmax(1)
    learned = predict_probabilities(student, data.x_test).argmax(1)
    # Measured: the student agrees with the ensemble on 40 of the 50 test windows and gets 35
    # right (chance: 5), after 20 epochs; the benchmark's students train longer.
    assert (learned == ensemble).mean() >= 0.7
    assert (learned == data.y_test).mean() >= 0.6
