"""The Hugging Face Hub: downloading a published model, and publishing one with a model card.

A published repository holds exactly the model's files (``hand_gesture_lstm_model.h5``,
``gesture_mapping.json``, ``model_config.json``, ``metrics.json``, the plots and the report)
and a ``README.md`` model card generated from them, so that ``python inference.py --repo
USER/NAME`` works for anyone. Tokens come from ``--token``, else ``HF_TOKEN``, else the cached
login, and are never printed or written to a file.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from .config import CONFIG_FILE, MAPPING_FILE, METRICS_FILE, MODEL_FILE, read_json
from .errors import DownloadError, InputError

#: Files a published model must have, and files published when present.
PUBLISH_REQUIRED = (MODEL_FILE, MAPPING_FILE, CONFIG_FILE, METRICS_FILE)
PUBLISH_OPTIONAL = ("confusion_matrix.png", "training_curves.png", "classification_report.txt")
CARD_FILE = "README.md"
DATASET_URL = "https://www.kaggle.com/datasets/gti-upm/leapgestrecog"


def check_repo_id(repo_id: str, option: str = "--repo") -> str:
    """Checks that ``repo_id`` has the form ``USER/NAME`` with valid characters.

    Raises:
        InputError: With a message naming the option and the expected form.
    """
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    text = str(repo_id or "")
    try:
        validate_repo_id(text)
    except HFValidationError:
        text = ""
    if text.count("/") != 1 or not all(text.split("/")):
        raise InputError(
            f"{option} {repo_id!r}: expected a Hugging Face Hub repository id USER/NAME "
            "(letters, digits, '-', '_', '.')"
        )
    return text


# ---------------------------------------------------------------------------------------------
# Download.


def download_model(
    repo_id: str,
    revision: str | None = None,
    token: str | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> Path:
    """Downloads a published model into the Hub cache and returns the folder holding it.

    Fetches ``hand_gesture_lstm_model.h5``, ``gesture_mapping.json`` and, when the repository
    has it, ``model_config.json`` (a model published by the original project has only the
    first two). Files already in the cache are not downloaded again, and with
    ``HF_HUB_OFFLINE=1`` the cache alone is used.

    Args:
        repo_id: ``USER/NAME``.
        revision: Branch, tag or commit (the default branch when None).
        token: Hub token; None uses ``HF_TOKEN`` or the cached login.
        cache_dir: Hub cache folder (huggingface_hub's default when None).

    Returns:
        The snapshot folder, ready for :func:`hand_gesture_recognition.model.load_model`.

    Raises:
        InputError: For an invalid id, a repository, revision or file that does not exist.
        DownloadError: When the Hub cannot be reached and the files are not cached.
    """
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    repo_id = check_repo_id(repo_id)

    def fetch(filename: str) -> Path:
        return Path(
            hf_hub_download(
                repo_id, filename, revision=revision, token=token or None, cache_dir=cache_dir
            )
        )

    where = f"{repo_id}@{revision}" if revision else repo_id
    try:
        model_path = fetch(MODEL_FILE)
        fetch(MAPPING_FILE)
    except RepositoryNotFoundError:
        raise InputError(
            f"--repo {repo_id}: no such model repository on the Hugging Face Hub "
            "(or it is private: pass --token or set HF_TOKEN)"
        ) from None
    except RevisionNotFoundError:
        raise InputError(f"--revision {revision}: not found in {repo_id}") from None
    # Checked first: a cache miss offline is a subclass of EntryNotFoundError.
    except LocalEntryNotFoundError:
        raise DownloadError(
            f"{where}: the model is not in the local Hub cache and the Hub cannot be reached "
            "(offline?); connect once to download it, or pass --model DIR"
        ) from None
    except EntryNotFoundError as error:
        raise InputError(f"{where}: the repository has no {_missing_name(error)}") from None
    except (HfHubHTTPError, OSError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DownloadError(
            f"{where}: download from the Hugging Face Hub failed ({reason})"
        ) from None
    try:
        fetch(CONFIG_FILE)
    except (EntryNotFoundError, LocalEntryNotFoundError):
        # No config: a model published by the original project, read with its preprocessing.
        # Offline, a config that was never cached is taken as absent in the same way.
        pass
    except (HfHubHTTPError, OSError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DownloadError(f"{where}: download of {CONFIG_FILE} failed ({reason})") from None
    return model_path.parent


def _missing_name(error: Exception) -> str:
    for name in (MODEL_FILE, MAPPING_FILE):
        if name in str(error):
            return name
    return f"{MODEL_FILE} or {MAPPING_FILE}"


# ---------------------------------------------------------------------------------------------
# Model card.


def build_model_card(model_dir: str | os.PathLike, repo_id: str):
    """Builds the repository's ``README.md`` from the model's config and metrics.

    Args:
        model_dir: A trained model directory (with ``model_config.json`` and ``metrics.json``).
        repo_id: The repository the card is for (used in the usage examples).

    Returns:
        A ``huggingface_hub.ModelCard``.
    """
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    model_dir = Path(model_dir)
    config = read_json(model_dir / CONFIG_FILE)
    metrics = read_json(model_dir / METRICS_FILE)
    protocol = metrics.get("protocol", {})
    gestures = config.get("info", {}).get("gestures") or list(metrics.get("per_class", {}))
    split = protocol.get("split", "unknown")
    subjects = protocol.get("subjects", [])
    split_name = f"{split} split" + (
        f", test subjects {', '.join(protocol['test_subjects'])}"
        if protocol.get("test_subjects")
        else f", {len(subjects)} subject(s)"
    )
    common = dict(
        task_type="video-classification",
        task_name="Hand gesture recognition",
        dataset_type="leapgestrecog",
        dataset_name="LeapGestRecog (Kaggle gti-upm/leapgestrecog)",
        dataset_split=split_name,
    )
    results = [
        EvalResult(
            metric_type="accuracy",
            metric_value=float(metrics["accuracy"]),
            metric_name="Window accuracy",
            **common,
        )
    ]
    if "macro_f1" in metrics:
        results.append(
            EvalResult(
                metric_type="f1",
                metric_value=float(metrics["macro_f1"]),
                metric_name="Macro F1",
                metric_config="macro",
                **common,
            )
        )
    card_data = ModelCardData(
        license="mit",
        library_name="keras",
        tags=[
            "keras",
            "lstm",
            "mediapipe",
            "hand-gesture-recognition",
            "gesture-recognition",
            "time-series-classification",
            "leapgestrecog",
        ],
        model_name=repo_id.split("/")[-1],
        eval_results=results,
    )
    body = _card_body(repo_id, config, metrics, gestures, split_name, model_dir)
    return ModelCard(f"---\n{card_data.to_yaml()}\n---\n\n{body}")


def _card_body(
    repo_id: str, config: dict, metrics: dict, gestures: list[str], split_name: str, model_dir: Path
) -> str:
    prep = config.get("preprocessing", {})
    model = config.get("model", {})
    training = config.get("training", {})
    augmentation = config.get("augmentation", {})
    versions = config.get("info", {}).get("versions", {})
    rows = "\n".join(
        f"| `{name}` | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | "
        f"{row['support']} |"
        for name, row in metrics.get("per_class", {}).items()
    )
    lstm = " → ".join(str(u) for u in model.get("lstm_units", []))
    dense = " → ".join(str(u) for u in model.get("dense_units", []))
    length = prep.get("sequence_length", 30)
    matrix = (
        "\n![Confusion matrix](confusion_matrix.png)\n"
        if (model_dir / "confusion_matrix.png").exists()
        else ""
    )
    curves = (
        "\n![Training curves](training_curves.png)\n"
        if (model_dir / "training_curves.png").exists()
        else ""
    )
    description = metrics.get("protocol", {}).get("description", "")
    names = ", ".join(f"`{g}`" for g in gestures)
    return f"""# Hand gesture recognition: {repo_id.split("/")[-1]}

A stacked-LSTM classifier of hand gestures from sequences of MediaPipe hand landmarks. Each
frame is reduced to 21 three-dimensional landmarks (63 numbers); the model reads windows of
{length} frames and answers one of {len(gestures)} gestures: {names}.

## Results

Accuracy **{metrics["accuracy"]:.4f}** and macro-F1 **{metrics.get("macro_f1", 0.0):.4f}** on
{metrics.get("support", "?")} test windows ({split_name}). {description}

| gesture | precision | recall | F1 | windows |
| --- | --- | --- | --- | --- |
{rows}
{matrix}{curves}
## Use

```bash
python inference.py --repo {repo_id}                        # webcam demo
hand-gesture predict --repo {repo_id} --source 0            # the same with the package CLI
hand-gesture predict --repo {repo_id} --source clip.mp4 --jsonl out.jsonl --no-display
```

`inference.py` and the `hand-gesture` command come from the hand-gesture-recognition project;
they download `hand_gesture_lstm_model.h5`, `gesture_mapping.json` and `model_config.json` from
this repository and preprocess frames exactly as in training.

## Model

- Input: {length} frames × 63 features ({prep.get("feature_mode", "raw")} features; frames
  without a hand: {prep.get("missing", "zero")}; windows with more than
  {prep.get("max_missing_fraction", 1.0):.0%} of frames without a hand are not classified).
- Landmarks: `{prep.get("extractor", "mediapipe")}` extractor (MediaPipe
  {versions.get("mediapipe", "")} hand-landmark model; near-infrared frames are handled
  without the palm detector).
- Architecture: LSTM {lstm}, each followed by batch normalisation and dropout
  {model.get("dropout", 0.3)}; dense {dense} (ReLU, batch normalisation, dropout); softmax.
- Training: Adam, learning rate {training.get("learning_rate", 1e-3)}, batch
  {training.get("batch_size", 32)}, up to {training.get("epochs", 100)} epochs with early
  stopping and ReduceLROnPlateau; split `{training.get("split", "auto")}`, fractions
  {training.get("split_fractions")}, seed {training.get("seed")}; window stride
  {prep.get("window_stride", 1)}.
- Augmentation of training windows only: {augmentation.get("copies", 2)} copies with Gaussian
  noise (σ = {augmentation.get("noise_std", 0.01)}), occlusion, scaling and translation.
- Libraries: {", ".join(f"{k} {v}" for k, v in versions.items()) or "see model_config.json"}.

## Intended use and limitations

Intended for research and demonstrations of landmark-based gesture recognition. The training
data is LeapGestRecog: near-infrared Leap Motion frames of hands seen **from below**, recorded
by few people under one setup. A webcam sees hands from the front, in colour, in other light
and with other people's hands; the canonical features (wrist-relative, scale-free, rotated,
mirrored to one handedness, without depth) narrow that gap but do not close it, and results on
webcam video can be far below the figures above. Gestures outside the ten it knows are still
answered with one of them; use the confidence threshold. Not for safety-critical or
accessibility-critical control.

## Data and citation

LeapGestRecog ([Kaggle: gti-upm/leapgestrecog]({DATASET_URL})), T. Mantecón, C. R. del Blanco,
F. Jaureguizar and N. García, Universidad Politécnica de Madrid, distributed under
CC BY-NC-SA 4.0. The model is released under the MIT license; the data's own license applies
to the data.
"""


# ---------------------------------------------------------------------------------------------
# Publishing.


def publishable_files(model_dir: str | os.PathLike) -> list[Path]:
    """The files of a model directory that are published, in a fixed order.

    Raises:
        InputError: If the directory or any required file is missing (all are named).
    """
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise InputError(f"--model-dir {model_dir}: not a directory")
    missing = [name for name in PUBLISH_REQUIRED if not (model_dir / name).is_file()]
    if missing:
        raise InputError(
            f"--model-dir {model_dir}: missing {', '.join(missing)} (train a model first with "
            "'hand-gesture train')"
        )
    names = list(PUBLISH_REQUIRED) + [n for n in PUBLISH_OPTIONAL if (model_dir / n).is_file()]
    return [model_dir / name for name in names]


def stage(model_dir: str | os.PathLike, repo_id: str, dest: str | os.PathLike) -> list[str]:
    """Copies exactly what would be published into ``dest`` and writes the model card.

    ``dest`` must be empty, missing, or a previous staging (only publishable names in it).

    Returns:
        The staged file names, sorted.

    Raises:
        InputError: For a missing file or a ``dest`` holding anything else.
    """
    files = publishable_files(model_dir)
    dest = Path(dest)
    allowed = {*PUBLISH_REQUIRED, *PUBLISH_OPTIONAL, CARD_FILE}
    if dest.exists():
        if not dest.is_dir():
            raise InputError(f"--dry-run {dest}: exists and is not a directory")
        foreign = sorted(p.name for p in dest.iterdir() if p.name not in allowed)
        if foreign:
            raise InputError(
                f"--dry-run {dest}: not empty (holds {', '.join(foreign[:3])}); "
                "choose an empty or new directory"
            )
        for old in dest.iterdir():
            old.unlink()
    dest.mkdir(parents=True, exist_ok=True)
    card = build_model_card(model_dir, repo_id)
    for path in files:
        shutil.copy2(path, dest / path.name)
    card.save(dest / CARD_FILE)
    return sorted(p.name for p in dest.iterdir())


def resolve_token(token: str | None) -> str:
    """Returns ``token``, else ``HF_TOKEN``, else the cached login.

    Raises:
        InputError: If there is none of the three.
    """
    from huggingface_hub import get_token

    resolved = token or os.environ.get("HF_TOKEN") or get_token()
    if not resolved:
        raise InputError(
            "no Hugging Face token: pass --token, set HF_TOKEN, or run 'hf auth login'"
        )
    return resolved


def publish_model(
    model_dir: str | os.PathLike,
    repo_id: str,
    *,
    private: bool = False,
    token: str | None = None,
    commit_message: str | None = None,
    api: Any = None,
) -> tuple[str, list[str]]:
    """Publishes a trained model and its card to the Hub in one commit.

    Args:
        model_dir: The trained model directory.
        repo_id: ``USER/NAME``; created if it does not exist.
        private: Create the repository as private.
        token: Hub token (see :func:`resolve_token`).
        commit_message: The commit's message.
        api: An ``HfApi`` (one is made with the token when None).

    Returns:
        The repository URL and the uploaded file names.

    Raises:
        InputError: For a bad id, a missing file or token.
        DownloadError: When the Hub refuses or cannot be reached.
    """
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    repo_id = check_repo_id(repo_id)
    publishable_files(model_dir)
    token = resolve_token(token)
    api = api or HfApi(token=token)
    with tempfile.TemporaryDirectory(prefix="hgr-publish-") as staging:
        names = stage(model_dir, repo_id, staging)
        try:
            url = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
            api.upload_folder(
                folder_path=staging,
                repo_id=repo_id,
                repo_type="model",
                commit_message=commit_message or "Upload hand gesture recognition model",
            )
        except (HfHubHTTPError, OSError) as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise DownloadError(f"--repo {repo_id}: publishing failed ({reason})") from None
    return str(url), names


def publish_command(args: Any) -> int:
    """Runs ``hand-gesture publish`` (and ``upload_to_huggingface.py``).

    Args:
        args: Parsed arguments: ``model_dir``, ``repo``, ``private``, ``token``,
            ``commit_message``, ``dry_run``.

    Returns:
        The exit status (0).
    """
    repo_id = check_repo_id(args.repo)
    if args.dry_run is not None:
        names = stage(args.model_dir, repo_id, args.dry_run)
        print(f"staged {len(names)} files for {repo_id} in {args.dry_run} (nothing uploaded):")
        for name in names:
            print(f"  {name}")
        return 0
    url, names = publish_model(
        args.model_dir,
        repo_id,
        private=args.private,
        token=args.token,
        commit_message=args.commit_message,
    )
    print(f"uploaded {', '.join(names)}", file=sys.stderr)
    print(url)
    return 0
