"""The ``hand-gesture`` command: download, extract, record, train, evaluate, predict, publish.

Bad input ends with one line on standard error naming the file or argument and what was
expected, and exit status 2; no traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from pathlib import Path

from . import __version__
from .config import (
    FEATURE_MODES,
    FREEZE_CHOICES,
    MISSING_POLICIES,
    RELIABILITY_FILE,
    FinetuneConfig,
)
from .errors import InputError
from .storage import check_output_dir, same_file

DEFAULT_DATASETS = "datasets"


def _number(cast: type, kind: str, accept, expected: str):
    """An argparse type: ``cast`` of the text, refused unless ``accept(value)``.

    Args:
        cast: ``int`` or ``float``.
        kind: What text that ``cast`` cannot read was expected to be ("a whole number").
        accept: Whether a value is in range.
        expected: The range, for the message ("a number of at least 1").
    """

    def parse(text: str):
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text}")
        return value

    return parse


_positive_int = _number(int, "a whole number", lambda v: v >= 1, "a number of at least 1")
_probability = _number(float, "a number in [0, 1]", lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]")
#: The longest take or countdown ``record`` accepts, in seconds.
MAX_RECORD_SECONDS = 3600.0
_take_seconds = _number(
    float,
    "a number",
    lambda v: math.isfinite(v) and 0 < v <= MAX_RECORD_SECONDS,
    f"a number of seconds above 0 and at most {MAX_RECORD_SECONDS:g}",
)
_countdown_seconds = _number(
    float,
    "a number",
    lambda v: math.isfinite(v) and 0 <= v <= MAX_RECORD_SECONDS,
    f"a number of seconds from 0 to {MAX_RECORD_SECONDS:g}",
)
_seed = _number(int, "a whole number", lambda v: 0 <= v < 2**32, "a number in [0, 2**32)")
_model_count = _number(int, "a whole number", lambda v: v == 0 or v >= 2, "0 or at least 2")


def _folder_gesture(text: str) -> tuple[str, str]:
    """An argparse type: ``FOLDER=GESTURE`` as a pair."""
    folder, sep, gesture = text.partition("=")
    if not sep or not folder or not gesture:
        raise argparse.ArgumentTypeError(f"expected FOLDER=GESTURE, got {text!r}")
    return folder, gesture


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# download


def _add_download_parser(commands) -> None:
    parser = commands.add_parser(
        "download",
        help="download LeapGestRecog from Kaggle (kagglehub)",
        description="Download the LeapGestRecog dataset (gti-upm/leapgestrecog) with kagglehub "
        "and print the folder that holds its subject folders. A copy already there is reused.",
    )
    parser.add_argument(
        "--dest",
        default=DEFAULT_DATASETS,
        help="folder that receives the dataset (default: ./datasets)",
    )
    parser.set_defaults(handler=_cmd_download)


def _cmd_download(args: argparse.Namespace) -> int:
    from .dataset import download

    print(download(args.dest))
    return 0


# ---------------------------------------------------------------------------------------------
# extract


def _add_extraction_options(parser: argparse.ArgumentParser, settings_default: bool = True) -> None:
    """Adds the extraction options.

    With ``settings_default`` False the extractor and confidence are None when not given
    (``train --init`` then takes the base model's).
    """
    parser.add_argument(
        "--workers",
        type=_positive_int,
        default=os.cpu_count() or 1,
        help="worker processes (default: one per core; never more than the cores and the "
        "memory allow, ~350 MB each)",
    )
    parser.add_argument(
        "--extractor",
        choices=("auto", "mediapipe", "infrared"),
        default="auto" if settings_default else None,
        help="landmark extractor (default: auto, the infrared path for grayscale frames)",
    )
    parser.add_argument(
        "--min-confidence",
        type=_probability,
        default=0.5 if settings_default else None,
        help="confidence under which a frame has no hand (default: 0.5)",
    )
    parser.add_argument(
        "--tracking",
        action="store_true",
        help="let each frame's landmarks guide the next within a recording",
    )


def _add_extract_parser(commands) -> None:
    parser = commands.add_parser(
        "extract",
        help="extract hand landmarks from a LeapGestRecog-shaped tree",
        description="Run the landmark extractor over every frame of <subject>/<gesture>/ "
        "folders and write one .npz (landmarks, detected, score, subject, gesture, sequence, "
        "frame, path). Re-running resumes or reuses finished work.",
    )
    parser.add_argument("data_dir", type=Path, help="the dataset tree")
    parser.add_argument("--out", type=Path, required=True, help="the .npz file to write")
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace an --out that is not this extraction's result",
    )
    _add_extraction_options(parser)
    cluster = parser.add_argument_group("on Ray (the 'cluster' extra)")
    cluster.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: worker processes here (default); ray: a pool of Ray actors",
    )
    cluster.add_argument(
        "--ray-address",
        default=None,
        metavar="ADDR",
        help="join this Ray cluster (HOST:PORT, ray://HOST:PORT or auto); default: "
        "RAY_ADDRESS if set, else start Ray on this machine",
    )
    cluster.add_argument(
        "--actors",
        type=_positive_int,
        default=None,
        help="Ray actors, one extractor and one CPU each (default: one per CPU of the cluster)",
    )
    cluster.add_argument(
        "--batch-size",
        type=_positive_int,
        default=None,
        help="frames sent to an actor at a time (default: 32)",
    )
    parser.set_defaults(handler=_cmd_extract)


def _cmd_extract(args: argparse.Namespace) -> int:
    from .landmarks import extract_landmarks

    if args.engine == "ray":
        from .cluster import DEFAULT_BATCH_SIZE, RayEngine

        session = RayEngine(
            address=args.ray_address,
            actors=args.actors,
            batch_size=args.batch_size or DEFAULT_BATCH_SIZE,
        ).session()
    else:
        given = [
            flag
            for flag, value in (
                ("--ray-address", args.ray_address),
                ("--actors", args.actors),
                ("--batch-size", args.batch_size),
            )
            if value is not None
        ]
        if given:
            raise InputError(f"{given[0]} needs --engine ray")
        session = contextlib.nullcontext()
    # The cluster is joined first, so that a bad address is reported before any work.
    with session as engine:
        summary = extract_landmarks(
            args.data_dir,
            args.out,
            extractor=args.extractor,
            workers=args.workers,
            tracking=args.tracking,
            min_confidence=args.min_confidence,
            engine=engine,
            force=args.force,
            log=_log,
        )
    _report_extraction(summary)
    return 0


def _report_extraction(summary) -> None:
    state = "reused" if summary.reused else "wrote"
    _log(
        f"{state} {summary.path}: {summary.frames} frames, hand found in "
        f"{summary.detected} ({summary.coverage:.1%})"
    )
    if summary.unreadable:
        shown = ", ".join(summary.unreadable[:3])
        more = f" and {len(summary.unreadable) - 3} more" if len(summary.unreadable) > 3 else ""
        _log(f"skipped {len(summary.unreadable)} unreadable image(s): {shown}{more}")


# ---------------------------------------------------------------------------------------------
# record


def _add_record_parser(commands) -> None:
    parser = commands.add_parser(
        "record",
        help="record takes of your own gesture into a landmark file",
        description="Record --count takes of one gesture from a camera or a video file and "
        "append each to --out (a landmark .npz, created if missing) as one recording, with "
        "the extractor live recognition uses. A take is saved only when the hand was found in "
        "at least half its frames; a refused take stops the run (exit 2) and the takes before "
        "it stay saved. The gesture 'none' records hand poses that are not gestures.",
    )
    parser.add_argument(
        "--gesture", required=True, help="the label of the takes, e.g. 01_palm (or none)"
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="the landmark .npz the takes are appended to"
    )
    parser.add_argument(
        "--source",
        default="0",
        help="camera index or video file (default: camera 0)",
    )
    parser.add_argument("--subject", default=None, help="the subject of the takes (default: user)")
    parser.add_argument(
        "--count", type=_positive_int, default=None, help="takes to record (default: 5)"
    )
    parser.add_argument(
        "--seconds",
        type=_take_seconds,
        default=None,
        help="length of a take (default: 4; from a video, the next seconds x fps frames)",
    )
    parser.add_argument(
        "--countdown",
        type=_countdown_seconds,
        default=None,
        help="seconds before each take (default: 3 for a camera, 0 for a video; from a video, "
        "that many seconds of frames are skipped)",
    )
    parser.add_argument("--no-display", action="store_true", help="do not open a window")
    parser.set_defaults(handler=_cmd_record)


def _cmd_record(args: argparse.Namespace) -> int:
    from .record import (
        DEFAULT_COUNT,
        DEFAULT_SECONDS,
        DEFAULT_SUBJECT,
        RecordSettings,
        record_gestures,
    )

    settings = RecordSettings(
        gesture=args.gesture,
        out=args.out,
        source=args.source,
        subject=DEFAULT_SUBJECT if args.subject is None else args.subject,
        count=args.count or DEFAULT_COUNT,
        seconds=args.seconds or DEFAULT_SECONDS,
        countdown=args.countdown,
        display=not args.no_display,
    )
    summary = record_gestures(settings, log=_log)
    print(
        f"{summary.out}: {len(summary.saved)} take(s) of {settings.gesture} added "
        f"({summary.sequences} recordings, {summary.frames} frames in the file)"
    )
    return 0


# ---------------------------------------------------------------------------------------------
# train


def _add_train_parser(commands) -> None:
    parser = commands.add_parser(
        "train",
        help="train the LSTM classifier (the full pipeline by default)",
        description="With no data argument: download LeapGestRecog, extract landmarks, augment, "
        "train, evaluate, save, and delete the dataset this run downloaded (a copy that was "
        "already in --dest is reused and kept). With --data or --landmarks: the same on your "
        "data (which is never deleted). Landmarks of --data are cached in the user's cache "
        "folder (HGR_CACHE_DIR, else XDG_CACHE_HOME or ~/.cache).",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--data", type=Path, help="a LeapGestRecog-shaped tree of frames")
    source.add_argument(
        "--landmarks",
        type=Path,
        action="append",
        metavar="FILE.npz",
        help="a landmark .npz (from extract); repeat to merge several (recording ids found "
        "in more than one file are prefixed with their file's name stem, e.g. takes:00/01_palm)",
    )
    parser.add_argument(
        "--init",
        type=Path,
        default=None,
        metavar="MODEL_DIR",
        help="fine-tune this trained model directory instead of training a fresh model: its "
        "preprocessing and architecture are kept, its output layer is resized to your "
        "gestures; the split is 'none' unless given",
    )
    parser.add_argument(
        "--freeze",
        choices=FREEZE_CHOICES,
        default=None,
        help=f"with --init: lstm trains the dense head only, none trains every layer "
        f"(default: {FinetuneConfig().freeze})",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("models"), help="output directory (default: models)"
    )
    parser.add_argument(
        "--epochs",
        type=_positive_int,
        default=None,
        help="maximum epochs; early stopping may end sooner (default: 100, or "
        f"{FinetuneConfig().epochs} with --init)",
    )
    parser.add_argument("--batch-size", type=_positive_int, default=32)
    parser.add_argument(
        "--split",
        choices=("auto", "subject", "time", "recording", "none", "random"),
        default=None,
        help="how test data is held out (default: auto, or none with --init): auto is "
        "subject with 3+ subjects, else time when every recording has 3 windows' frames, "
        "else recording (whole recordings of each gesture held out); none keeps no test set "
        "(one recording per gesture validates); random is the original's leaky split, for "
        "comparison only",
    )
    parser.add_argument("--seed", type=_seed, default=42, help="seed in [0, 2**32) (default: 42)")
    parser.add_argument(
        "--teachers",
        type=_model_count,
        default=0,
        help="train this many models from other seeds first, then the saved model on their "
        "averaged answers (distillation): more often right, and steadier across seeds, on "
        "photos of other people (not on the webcam check), at one model's cost and teachers "
        "+ 1 times the training time; 0 or at least 2 (default: 0)",
    )
    parser.add_argument(
        "--candidates",
        type=_model_count,
        default=0,
        help="train this many models from different seeds and keep the one whose confidence "
        "best tells the validation windows from synthetic non-gestures: more often right on "
        "another person's webcam in the benchmark's settings, not at this command's own "
        "(report section 14.11), at this many times the training time; 0 or at least 2 "
        "(default: 0)",
    )
    parser.add_argument(
        "--features",
        choices=FEATURE_MODES,
        default=None,
        help="per-frame features (default: canonical, or the --init model's; hand3d and "
        "bones are viewpoint-invariant, measured worse across cameras: see "
        "benchmarks/generalisation.py)",
    )
    parser.add_argument(
        "--missing",
        choices=MISSING_POLICIES,
        default=None,
        help="frames without a hand: window (interpolated inside the window, as live use "
        "can; default, or the --init model's), zero, or interpolate (over the whole "
        "recording, earlier versions' default; live use cannot see ahead)",
    )
    parser.add_argument(
        "--stride",
        type=_positive_int,
        default=None,
        help="step between training windows (default: 1, or 3 for the full dataset download)",
    )
    parser.add_argument(
        "--keep-dataset",
        action="store_true",
        help="keep the downloaded dataset instead of deleting it afterwards",
    )
    parser.add_argument(
        "--dest",
        default=DEFAULT_DATASETS,
        help="where the dataset is downloaded (default: ./datasets)",
    )
    parser.add_argument("--force", action="store_true", help="replace a model in --out")
    _add_extraction_options(parser, settings_default=False)
    parser.set_defaults(handler=_cmd_train)


def _cmd_train(args: argparse.Namespace) -> int:
    from .calibration import Calibration
    from .train import run_training

    if args.freeze is not None and args.init is None:
        raise InputError("--freeze needs --init (it says what fine-tuning trains)")
    finetune = FinetuneConfig(freeze=args.freeze) if args.freeze else FinetuneConfig()
    result = run_training(
        data_dir=args.data,
        landmarks=args.landmarks,
        out_dir=args.out,
        epochs=args.epochs,
        batch_size=args.batch_size,
        split=args.split,
        seed=args.seed,
        teachers=args.teachers,
        candidates=args.candidates,
        feature_mode=args.features,
        missing=args.missing,
        stride=args.stride,
        keep_dataset=args.keep_dataset,
        dest=args.dest,
        force=args.force,
        workers=args.workers,
        extractor=args.extractor,
        min_confidence=args.min_confidence,
        tracking=args.tracking,
        init=args.init,
        finetune=finetune,
        log=_log,
    )
    metrics = result.metrics
    if metrics.get("accuracy") is None:
        validation = metrics["validation"]
        print(
            f"no test set (split: {metrics['protocol'].get('split')}); validation accuracy "
            f"{validation['accuracy']:.4f} ({validation['support']} validation windows)"
        )
    else:
        print(
            f"test accuracy {metrics['accuracy']:.4f}, macro-F1 {metrics['macro_f1']:.4f} "
            f"({metrics['support']} test windows, split: {metrics['protocol'].get('split')})"
        )
    if "answers" in metrics:
        print(f"test windows {_answers_line(metrics['answers'])}")
    if "reliability" in metrics:
        print(f"test windows: {_reliability_line(metrics['reliability'])}")
    chosen = metrics["training"].get("candidates")
    if chosen and "note" in chosen:
        print(f"candidates: {chosen['note']}")
    elif chosen:
        scores = ", ".join(f"seed {m['seed']} {m['score']:.3f}" for m in chosen["models"])
        print(
            f"kept seed {chosen['chosen_seed']} of {len(chosen['models'])} candidates "
            f"(how well confidence tells gestures from synthetic non-gestures: {scores})"
        )
    calibration = Calibration(**metrics["calibration"])
    if calibration.downward_degrees is not None:
        print(
            f"'not a gesture' for a hand pointing more than {calibration.downward_degrees:.0f}° "
            "below the horizontal"
        )
    if calibration.finger_ranges:
        reach = " and a reach" if calibration.reach_ranges else ""
        print(
            "'not a gesture' for fingers held unlike the closest gesture's training windows "
            f"(an extension{reach} more than {calibration.finger_margin:.2f} outside their "
            f"range in {calibration.finger_frames:.0%} of a window's frames)"
        )
    print(f"model saved to {result.out_dir}")
    return 0


# ---------------------------------------------------------------------------------------------
# evaluate


def _add_evaluate_parser(commands) -> None:
    parser = commands.add_parser(
        "evaluate",
        help="metrics and plots of a model on a landmark file or on labelled photos",
        description="Evaluate a trained model on every window of a landmark .npz, or with "
        "--protocol loso train and test a fresh model per held-out subject; or answer every "
        "photo of a folder with one sub-folder per gesture (--photos), as the app answers a "
        "photo.",
    )
    parser.add_argument("--model", type=Path, required=True, help="model directory")
    data = parser.add_mutually_exclusive_group(required=True)
    data.add_argument("--landmarks", type=Path, help="landmark .npz")
    data.add_argument(
        "--photos",
        type=Path,
        help="folder with one sub-folder of photos per gesture (named like the gesture, or "
        "given with --as); sub-folders of non-gestures go with --reject",
    )
    parser.add_argument(
        "--as",
        dest="folder_gestures",
        type=_folder_gesture,
        nargs="+",
        action="extend",
        default=[],
        metavar="FOLDER=GESTURE",
        help="photos only: the gesture a sub-folder's photos show (fist=03_fist)",
    )
    parser.add_argument(
        "--reject",
        nargs="+",
        action="extend",
        default=[],
        metavar="FOLDER",
        help="photos only: sub-folders of hands showing no gesture of the model; right when "
        "answered with none",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output directory (default: evaluations/<landmarks>-<protocol> or "
        "evaluations/<photos>-photos)",
    )
    parser.add_argument(
        "--protocol",
        choices=("all", "loso"),
        default="all",
        help="all: every window of the file; loso: leave-one-subject-out",
    )
    parser.add_argument(
        "--epochs",
        type=_positive_int,
        default=None,
        help="loso only: maximum epochs per fold (default: the model's)",
    )
    parser.add_argument(
        "--threshold",
        type=_probability,
        default=None,
        help="all and --photos only: the confidence under which a window or photo is "
        "answered 'uncertain' (default: the model's calibration.json, else 0.6)",
    )
    parser.add_argument("--force", action="store_true", help="replace earlier results in --out")
    parser.set_defaults(handler=_cmd_evaluate)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import RESULT_FILES, evaluate_model, leave_one_subject_out
    from .landmark_file import LandmarkTable
    from .model import load_model

    if args.protocol == "loso" and args.threshold is not None:
        raise InputError(
            "--threshold: applies to --protocol all only (loso answers each fold's fresh "
            "model at its own calibration's threshold)"
        )
    if args.photos is None and (args.folder_gestures or args.reject):
        raise InputError("--as and --reject: apply to --photos only")
    if args.photos is not None and args.protocol == "loso":
        raise InputError("--protocol loso: needs --landmarks (photos train no model)")
    if args.photos is not None:
        out = args.out or Path("evaluations") / f"{args.photos.name}-photos"
    else:
        out = args.out or Path("evaluations") / f"{args.landmarks.stem}-{args.protocol}"
    check_output_dir(out, "--out")
    if out.exists() and same_file(out, args.model):
        raise InputError(f"--out {out}: is the model directory; choose another folder")
    held = [name for name in RESULT_FILES if (out / name).exists()]
    if held and not args.force:
        raise InputError(
            f"--out {out}: already holds results ({', '.join(held)}); pass --force to replace them"
        )
    if args.photos is not None:
        return _evaluate_photos(args, out)
    loaded = load_model(args.model)
    table = LandmarkTable.load(args.landmarks)
    if args.protocol == "loso":
        metrics = leave_one_subject_out(table, loaded.config, out, epochs=args.epochs, log=_log)
        print(
            f"leave-one-subject-out mean accuracy {metrics['mean_accuracy']:.4f} over "
            f"{len(metrics['folds'])} subjects; pooled accuracy {metrics['accuracy']:.4f}"
        )
    else:
        where = f"--landmarks {args.landmarks}"
        metrics = evaluate_model(loaded, table, out, threshold=args.threshold, source=where)
        print(
            f"accuracy {metrics['accuracy']:.4f}, macro-F1 {metrics['macro_f1']:.4f} "
            f"({metrics['support']} windows)"
        )
    print(_answers_line(metrics["answers"]))
    print(_reliability_line(metrics["reliability"]))
    print(f"results written to {out}")
    return 0


def _evaluate_photos(args: argparse.Namespace, out: Path) -> int:
    from .evaluate import PhotoLabels, evaluate_photos, photo_plan
    from .model import model_gestures
    from .realtime import RealTimeGestureRecognizer

    if out.resolve().is_relative_to(args.photos.resolve()):
        raise InputError(f"--out {out}: is inside --photos {args.photos}; choose another folder")
    labels = PhotoLabels(tuple(args.folder_gestures), tuple(args.reject))
    photo_plan(args.photos, labels, model_gestures(args.model))  # Before the model loads.
    with RealTimeGestureRecognizer(args.model) as recognizer:
        # As evaluate --landmarks: the model's own threshold unless one is given.
        recognizer.threshold = (
            recognizer.calibration.threshold if args.threshold is None else args.threshold
        )
        metrics = evaluate_photos(recognizer, args.photos, labels, out, log=_log)
    gestures, others = metrics["gesture_photos"], metrics["non_gesture_photos"]
    if gestures["photos"]:
        print(
            f"gesture photos answered right {gestures['right']:.4f} of {gestures['photos']} "
            f"(most likely gesture right {gestures['most_likely_right']:.4f}; hands found in "
            f"{gestures['hands_found']})"
        )
    if others["photos"]:
        print(
            f"non-gesture photos answered with no gesture {others['rejected']:.4f} of "
            f"{others['photos']} (at threshold {metrics['threshold']:.2f})"
        )
    print(f"results written to {out}")
    return 0


def _answers_line(answers: dict) -> str:
    """What the windows were answered, as ``evaluate`` prints it."""
    return (
        f"answered at threshold {answers['threshold']:.2f}: {answers['right']:.4f} right, "
        f"{answers['wrong']:.4f} wrong, {answers['uncertain']:.4f} uncertain, "
        f"{answers['rejected']:.4f} gestures answered not a gesture (finger rule "
        f"{answers['off_shape']:.4f}, orientation rule {answers['points_down']:.4f} of all windows)"
    )


def _reliability_line(reliability: dict) -> str:
    """How calibrated the answers' confidence was, as ``train`` and ``evaluate`` print it."""
    windows = sum(row["count"] for row in reliability["bins"])
    return (
        f"expected calibration error {reliability['ece']:.4f} (calibrated confidence against "
        f"accuracy, {windows} windows; {RELIABILITY_FILE})"
    )


# ---------------------------------------------------------------------------------------------
# predict


def _add_predict_parser(commands) -> None:
    parser = commands.add_parser(
        "predict",
        help="recognise gestures live from a camera, a video or an image folder",
    )
    model = parser.add_mutually_exclusive_group(required=True)
    model.add_argument(
        "--model", "--model-dir", dest="model", type=Path, help="model directory (or .h5 file)"
    )
    model.add_argument("--repo", help="Hugging Face Hub model repository, USER/NAME")
    parser.add_argument("--revision", default=None, help="Hub revision (branch, tag, commit)")
    parser.add_argument("--token", default=None, help="Hub token (default: HF_TOKEN)")
    parser.add_argument(
        "--source", required=True, help="camera index, video file, or folder of images (name order)"
    )
    parser.add_argument("--output", type=Path, default=None, help="write an annotated video")
    parser.add_argument("--jsonl", type=Path, default=None, help="write one JSON line per frame")
    parser.add_argument(
        "--force", action="store_true", help="replace an existing --output or --jsonl"
    )
    parser.add_argument("--no-display", action="store_true", help="do not open a window")
    parser.add_argument(
        "--static-images", action="store_true", help="classify each image of the folder on its own"
    )
    parser.add_argument(
        "--threshold",
        type=_probability,
        default=0.6,
        help="confidence under which the answer is 'uncertain' (default: 0.6)",
    )
    parser.add_argument(
        "--smoothing",
        type=_positive_int,
        default=5,
        metavar="N",
        help="answer with the mean of the last N probability vectors (default: 5; 1: none)",
    )
    parser.set_defaults(handler=_cmd_predict)


def _cmd_predict(args: argparse.Namespace) -> int:
    from .realtime import predict_command

    return predict_command(args)


# ---------------------------------------------------------------------------------------------
# publish


def _add_publish_parser(commands) -> None:
    parser = commands.add_parser(
        "publish",
        help="publish a trained model to the Hugging Face Hub",
    )
    parser.add_argument("--model-dir", type=Path, default=Path("models"))
    parser.add_argument("--repo", required=True, help="Hub repository, USER/NAME")
    parser.add_argument("--private", action="store_true")
    parser.add_argument("--token", default=None, help="Hub token (default: HF_TOKEN or login)")
    parser.add_argument("--commit-message", default=None)
    parser.add_argument(
        "--dry-run",
        type=Path,
        default=None,
        metavar="DIR",
        help="stage the files into DIR and list them; no network",
    )
    parser.set_defaults(handler=_cmd_publish)


def _cmd_publish(args: argparse.Namespace) -> int:
    from .hub import publish_command

    return publish_command(args)


# ---------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """Returns the ``hand-gesture`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="hand-gesture",
        description="Hand gesture recognition: MediaPipe hand landmarks and an LSTM classifier.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (
        _add_download_parser,
        _add_extract_parser,
        _add_record_parser,
        _add_train_parser,
        _add_evaluate_parser,
        _add_predict_parser,
        _add_publish_parser,
    ):
        add(commands)
    # Options are spelt out: an abbreviation would change meaning when an option is added,
    # and inference.py must see which options were given.
    for command in commands.choices.values():
        command.allow_abbrev = False
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs the ``hand-gesture`` command.

    Args:
        argv: Arguments without the program name (``sys.argv[1:]`` when None).

    Returns:
        The exit status: 0 on success, 2 for bad input or usage, 130 when interrupted.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except InputError as error:
        print(f"hand-gesture {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hand-gesture {args.command}: interrupted", file=sys.stderr)
        return 130
