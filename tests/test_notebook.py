"""The researcher's notebook: committed clean, and runs end to end on the real sample."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "hand_gesture_recognition.ipynb"
ARTIFACTS = (
    "hand_gesture_lstm_model.h5",
    "gesture_mapping.json",
    "model_config.json",
    "metrics.json",
    "confusion_matrix.png",
)


def parameters_index(notebook) -> int:
    tagged = [
        i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", [])
    ]
    assert len(tagged) == 1, f"expected exactly one cell tagged 'parameters', found {len(tagged)}"
    return tagged[0]


def inject_parameters(notebook, values: dict) -> int:
    """Adds a cell after the parameters cell that overrides them, as papermill does."""
    index = parameters_index(notebook)
    source = "\n".join(f"{name} = {value!r}" for name, value in values.items())
    # Also report the kernel's interpreter, to check that the kernel runs in this environment.
    source += "\nimport sys\nprint('kernel python:', sys.executable)"
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = ["injected-parameters"]
    notebook.cells.insert(index + 1, cell)
    return index + 1


def test_committed_notebook_is_clean_and_has_one_parameters_cell():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    assert notebook.nbformat == 4
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    assert code_cells
    for cell in code_cells:
        assert cell.execution_count is None
        assert cell.outputs == []
    index = parameters_index(notebook)
    parameters = notebook.cells[index]
    assert parameters.cell_type == "code"
    assert notebook.cells[0].cell_type == "markdown"
    assert notebook.cells[0].source.startswith("# ")
    for name in (
        "DATA_DIR = None",
        "EPOCHS = 100",
        'SPLIT = "auto"',
        'OUTPUT_DIR = "models"',
        "KEEP_DATASET = False",
        'MY_TAKES = "../shared/data/webcam-sample"',
        "MY_GESTURES = None",
        "FINETUNE_TAKES = 3",
        "FINETUNE_EPOCHS = 30",
        'FINETUNE_DIR = "models-mine"',
    ):
        assert name in parameters.source


#: Appended to the notebook by the end-to-end test: what the fine-tuning section found, as JSON.
TAKES_REPORT = """\
import json
print("takes report:", json.dumps({
    "tuning": record.take_order(tuning),
    "held_out": record.take_order(held_out),
    "summary": comparison.summary(),
    "confusion": {name: m["confusion_matrix"] for name, m in comparison.held_out.items()},
    "labels": comparison.held_out[FINETUNED]["labels"],
}))
"""


def takes_report(notebook) -> dict:
    printed = "".join(o.get("text", "") for o in notebook.cells[-1].outputs)
    return json.loads(printed.split("takes report:", 1)[1])


@pytest.mark.slow
def test_notebook_runs_end_to_end_on_the_sample(
    leap_sample, sample_landmarks, webcam_sample, tmp_path
):
    from nbclient import NotebookClient

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    out = tmp_path / "models"
    mine = tmp_path / "models-mine"
    injected = inject_parameters(
        notebook,
        {
            "DATA_DIR": str(leap_sample),
            "EPOCHS": 3,
            "OUTPUT_DIR": str(out),
            # The session's landmarks of the sample, made with the notebook's default extractor
            # and settings: the notebook's extraction step finds and reuses them.
            "LANDMARKS": str(sample_landmarks),
            "STRIDE": 2,
            "CANDIDATES": 2,
            "WORKERS": 2,
            "LIVE_DEMO": False,
            # Your own gestures: the webcam sample's stop and thumbs_up, a few epochs.
            "MY_TAKES": str(webcam_sample),
            "MY_GESTURES": ["stop", "thumbs_up"],
            "FINETUNE_EPOCHS": 3,
            "FINETUNE_DIR": str(mine),
        },
    )
    notebook.cells.append(nbformat.v4.new_code_cell(TAKES_REPORT))
    # The kernel's working directory is a scratch folder: nothing lands in the repository.
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()

    printed = "".join(o.get("text", "") for o in notebook.cells[injected].outputs)
    assert f"kernel python: {sys.executable}" in printed
    for name in ARTIFACTS:
        assert (out / name).stat().st_size > 0, name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["protocol"]["split"] == "time"  # one subject: auto picks the time split
    saved = json.loads((out / "model_config.json").read_text())
    assert saved["training"]["epochs"] == 3
    assert saved["preprocessing"]["window_stride"] == 2
    assert saved["training"]["candidates"] == 2
    kept = metrics["training"]["candidates"]
    assert [m["seed"] for m in kept["models"]] == [42, 1042]
    assert kept["chosen_seed"] == max(kept["models"], key=lambda m: m["score"])["seed"]

    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 10  # frames, landmarks, coverage, features, augmentation, curves,
    # confusion matrix, per-gesture accuracy; the takes' comparison and confusion matrix
    text = "\n".join(o.get("text", "") for o in outputs)
    answers = metrics["answers"]  # the test windows answered as live use answers them
    assert f"answered {answers['right']:.3f} right, {answers['wrong']:.3f} wrong" in text
    assert "Leave-one-subject-out skipped" in text
    assert "Live demo skipped" in text
    assert "is left as it is" in text  # a DATA_DIR the user gave is never deleted
    assert leap_sample.is_dir()

    # Your own gestures: five 36-frame takes of each gesture (frames 20-199 of its clip), the
    # first three fine-tune and the last two are held out.
    report = takes_report(notebook)
    for part, count in (("tuning", 3), ("held_out", 2)):
        assert {g: len(ids) for g, ids in report[part].items()} == {
            "stop": count,
            "thumbs_up": count,
        }
        # Sequence ids begin with the time of the take: the fine-tuning takes came first.
        assert all(max(report["tuning"][g]) < min(report["held_out"][g]) for g in report[part])
    for name in ARTIFACTS[:4] + ("calibration.json",):
        assert (mine / name).stat().st_size > 0, name
    tuned = json.loads((mine / "model_config.json").read_text())
    lineage = tuned["info"]["finetuned_from"]
    assert lineage["path"] == str(out.resolve())
    assert lineage["model_sha256"] == hashlib.sha256((out / ARTIFACTS[0]).read_bytes()).hexdigest()
    assert (
        lineage["gestures"]
        == json.loads((out / "model_config.json").read_text())["info"]["gestures"]
    )
    assert json.loads((mine / "gesture_mapping.json").read_text()) == {"stop": 0, "thumbs_up": 1}
    assert tuned["training"]["epochs"] == 3 and tuned["training"]["split"] == "none"
    assert tuned["preprocessing"]["window_stride"] == 1  # the base's stride was 2
    assert f"fine-tuned from {out.resolve()}" in text
    # Both models are tested on the same 28 held-out windows (two takes of each gesture, 7
    # windows per 36-frame take); the fine-tuned model gets every one right.
    rows = {row["model"]: row for row in report["summary"]}
    assert list(rows) == ["fine-tuned", "from scratch"]
    assert [row["held-out windows"] for row in rows.values()] == [28, 28]
    assert [row["epochs"] for row in rows.values()] == [3, 3]
    assert report["labels"] == ["stop", "thumbs_up"]
    assert report["confusion"]["fine-tuned"] == [[14, 0], [0, 14]]
    assert rows["fine-tuned"]["held-out accuracy"] == 1.0
