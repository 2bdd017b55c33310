import json

import pytest

from hand_gesture_recognition.config import (
    AugmentationConfig,
    ModelConfig,
    PreprocessingConfig,
    RunConfig,
    TrainingConfig,
    write_json_atomic,
)
from hand_gesture_recognition.errors import InputError

#: The single-frame classifiers of the default model (report section 14.17).
FRAME_MEMBERS = 5


def test_run_config_round_trips_through_json(tmp_path):
    config = RunConfig(
        preprocessing=PreprocessingConfig(window_stride=3, feature_mode="raw", missing="zero"),
        augmentation=AugmentationConfig(copies=1, scale_range=(0.8, 1.2)),
        model=ModelConfig(lstm_units=(16, 8), dense_units=(4,), dropout=0.1),
        training=TrainingConfig(epochs=5, split="time", seed=3, candidates=4),
        info={"gestures": ["a", "b"]},
    )
    config.save(tmp_path / "model_config.json")
    text = (tmp_path / "model_config.json").read_text()
    assert json.loads(text)["preprocessing"]["feature_mode"] == "raw"
    assert RunConfig.load(tmp_path / "model_config.json") == config


def test_settings_are_frozen():
    config = PreprocessingConfig()
    with pytest.raises(AttributeError):
        config.sequence_length = 10  # type: ignore[misc]


@pytest.mark.parametrize(
    "make",
    [
        lambda: PreprocessingConfig(feature_mode="pixels"),
        lambda: PreprocessingConfig(sequence_length=1),
        lambda: PreprocessingConfig(max_missing_fraction=1.5),
        lambda: TrainingConfig(split="shuffle"),
        lambda: TrainingConfig(split_fractions=(0.5, 0.5, 0.5)),
        lambda: TrainingConfig(teachers=1),
        lambda: TrainingConfig(teachers=-2),
        lambda: TrainingConfig(candidates=1),
        lambda: TrainingConfig(candidates=-3),
        lambda: TrainingConfig(candidates=3, teachers=2),
        lambda: ModelConfig(dropout=1.0),
        lambda: AugmentationConfig(copies=-1),
        lambda: AugmentationConfig(spread_degrees=-5.0),
        lambda: AugmentationConfig(curl_degrees=120.0),
        lambda: AugmentationConfig(open_fraction=1.5),
        lambda: AugmentationConfig(open_fan_degrees=-1.0),
        lambda: AugmentationConfig(open_thumb_degrees=100.0),
        lambda: AugmentationConfig(open_gestures=("",)),
        lambda: ModelConfig(frame_members=0),
    ],
)
def test_bad_settings_raise_input_error(make):
    with pytest.raises(InputError):
        make()


def test_unknown_keys_in_a_config_file_are_reported(tmp_path):
    path = tmp_path / "model_config.json"
    path.write_text(json.dumps({"preprocessing": {"window": 3}}))
    with pytest.raises(InputError, match="window"):
        RunConfig.load(path)


def test_malformed_json_is_an_input_error(tmp_path):
    path = tmp_path / "model_config.json"
    path.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        RunConfig.load(path)


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    write_json_atomic(tmp_path / "a.json", {"x": 1})
    write_json_atomic(tmp_path / "a.json", {"x": 2})
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_schema_version_is_written_and_older_files_still_read(tmp_path):
    path = tmp_path / "model_config.json"
    RunConfig(info={"gestures": ["a"]}).save(path)
    saved = json.loads(path.read_text())
    assert saved["schema_version"] == 6
    assert saved["model"]["frame_units"] == [128, 64]
    assert saved["model"]["frame_members"] == FRAME_MEMBERS
    assert saved["augmentation"]["finger_donors"] == [
        "06_index:middle:03_fist",
        "06_index:index:02_l",
    ]
    assert saved["augmentation"]["open_gestures"] == ["01_palm"]
    assert RunConfig.load(path) == RunConfig(info={"gestures": ["a"]})
    # Up to version 5 the single-frame part was one classifier.
    del saved["model"]["frame_members"]
    saved["schema_version"] = 5
    write_json_atomic(path, saved)
    assert RunConfig.load(path).model.frame_members == 1
    assert RunConfig.load(path).augmentation.open_gestures == ("01_palm",)
    # Up to version 4 the palms were trained as extracted.
    del saved["augmentation"]["open_gestures"]
    saved["schema_version"] = 4
    write_json_atomic(path, saved)
    assert RunConfig.load(path).augmentation.open_gestures == ()
    assert RunConfig.load(path).augmentation.finger_donors == AugmentationConfig().finger_donors
    # Up to version 3 the fingers were trained as extracted.
    del saved["augmentation"]["finger_donors"]
    saved["schema_version"] = 3
    write_json_atomic(path, saved)
    assert RunConfig.load(path).augmentation.finger_donors == ()
    assert RunConfig.load(path).model.frame_units == (128, 64)
    # Versions 1 and 2 had no single-frame classifier: their models are the LSTM alone.
    del saved["model"]["frame_units"]
    saved["schema_version"] = 2
    write_json_atomic(path, saved)
    assert RunConfig.load(path).model.frame_units == ()
    # Version 1 files had no schema_version.
    del saved["schema_version"]
    write_json_atomic(path, saved)
    assert RunConfig.load(path).info == {"gestures": ["a"]}
    assert RunConfig.load(path).model.frame_units == ()
    saved["schema_version"] = 99
    write_json_atomic(path, saved)
    with pytest.raises(InputError, match="schema_version 99 is newer"):
        RunConfig.load(path)


@pytest.mark.parametrize(
    "spec", ["06_index:middle", "06_index:pinky:03_fist", "03_fist:middle:03_fist", 3]
)
def test_a_bad_finger_donor_is_named(spec):
    with pytest.raises(
        InputError, match=f"finger_donors: expected 'gesture:finger:donor'.*{spec!r}"
    ):
        AugmentationConfig(finger_donors=(spec,))


def test_finger_donors_read_from_a_file_must_be_strings(tmp_path):
    path = tmp_path / "model_config.json"
    saved = RunConfig().to_dict()
    saved["augmentation"]["finger_donors"] = [1]
    write_json_atomic(path, saved)
    with pytest.raises(InputError, match="augmentation.finger_donors: expected a list of strings"):
        RunConfig.load(path)
