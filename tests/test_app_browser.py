"""The Gradio app in a real browser: Debian's Chromium driven by Playwright (no browser download).

Skipped when ``/usr/bin/chromium`` is missing, except in CI (``CI=true``), where that fails.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
#: Chromium's synthetic camera (a moving pie on green), granted without a prompt.
FAKE_CAMERA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
#: How long the page may take to show a result (the first request loads the model).
RESULT_TIMEOUT_MS = 120_000

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not found (Debian: apt-get install -y chromium)"
        if CI:
            pytest.fail(message + "; it is required in CI")
        pytest.skip(message)
    pytest.importorskip("playwright.sync_api")
    return CHROMIUM


@pytest.fixture(scope="module")
def server(chromium, app_server: str) -> str:
    """The app served on localhost, once Chromium is known to be there."""
    return app_server


@pytest.fixture(scope="module")
def stop_clip(webcam_sample: Path, tmp_path_factory) -> Path:
    """60 consecutive real webcam frames of "stop" as a VP8 .webm (what a browser records)."""
    import cv2

    path = tmp_path_factory.mktemp("browser-clip") / "stop.webm"
    frames = [cv2.imread(str(webcam_sample / "stop" / f"{i}.jpg")) for i in range(60)]
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"VP80"), 15, (width, height))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


@pytest.fixture
def page(chromium, server):
    """A fresh Chromium page; requests to any host but the app's are blocked and recorded."""
    yield from _page(chromium, FAKE_CAMERA_ARGS)


def _page(chromium: Path, camera_args: list[str]):
    """A Chromium page with the given fake camera, requests to other hosts blocked."""
    from playwright.sync_api import sync_playwright

    external: list[str] = []

    def guard(route):
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            external.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS + camera_args
        )
        try:
            context = browser.new_context(
                viewport={"width": 1280, "height": 1000}, permissions=["camera"]
            )
            context.route("**/*", guard)
            page = context.new_page()
            page.external_requests = external
            yield page
        finally:
            browser.close()


def test_clip_upload_shows_label_and_playable_video(page, server, stop_clip, tmp_path):
    page.goto(server, wait_until="load")
    page.get_by_text("Hand gesture recognition").first.wait_for()
    page.locator("#video-input input[type=file]").set_input_files(str(stop_clip))

    # Uploading starts recognition; the status line then names the clip's gesture.
    status = page.locator("#video-status")
    status.get_by_text("Gesture:").wait_for(timeout=RESULT_TIMEOUT_MS)
    gesture = status.inner_text().split("Gesture:")[1].split("(")[0].strip()
    assert gesture
    label = page.locator("#video-label")
    assert gesture in label.inner_text()

    # Chromium itself decodes the annotated clip: it has a size and a first frame.
    page.wait_for_function(
        """() => {
            const video = document.querySelector('#video-output video');
            return video && video.readyState >= 2 && video.videoWidth > 0;
        }""",
        timeout=30_000,
    )
    size = page.evaluate(
        "() => { const v = document.querySelector('#video-output video');"
        " return [v.videoWidth, v.videoHeight]; }"
    )
    assert size == [224, 224]
    # The timeline chart is drawn, its legend naming the gesture.
    timeline = page.locator("#timeline")
    timeline.get_by_text("Predicted gesture and confidence per frame").wait_for()
    timeline.get_by_text(gesture, exact=True).wait_for()

    screenshot = tmp_path / "app-video.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 10_000
    print(f"screenshot: {screenshot}")
    assert page.external_requests == [], "the page tried to reach the internet"


def test_photo_upload_shows_label(page, server, webcam_sample, tmp_path):
    page.goto(server, wait_until="load")
    page.get_by_role("tab", name="Photo").click()
    page.locator("#image-input input[type=file]").set_input_files(
        str(webcam_sample / "stop" / "20.jpg")
    )
    status = page.locator("#image-status")
    status.get_by_text("Gesture:").wait_for(timeout=RESULT_TIMEOUT_MS)
    gesture = status.inner_text().split("Gesture:")[1].split("(")[0].strip()
    assert gesture in page.locator("#image-label").inner_text()
    page.locator("#image-output img").wait_for()

    screenshot = tmp_path / "app-photo.png"
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"screenshot: {screenshot}")
    assert page.external_requests == [], "the page tried to reach the internet"


def test_webcam_recording_is_recognised_on_stop(page, server, tmp_path):
    page.goto(server, wait_until="load")
    video_input = page.locator("#video-input")
    video_input.get_by_role("button", name="Capture from camera").click()
    video_input.get_by_text("Click to Access Webcam").click()
    # On a busy machine the camera's preview can start seconds later; a recording started
    # before it has no frames.
    page.wait_for_function(
        "() => { const v = document.querySelector('#video-input video');"
        " return v !== null && v.readyState >= 2; }",
        timeout=RESULT_TIMEOUT_MS,
    )
    video_input.get_by_role("button", name="start recording").click()
    # Long enough for a few frames even on a busy machine (Chromium records at a variable rate).
    page.wait_for_timeout(4_000)
    video_input.get_by_role("button", name="start recording").click()  # now labelled Stop

    # The synthetic camera shows no hand: the recording reaches the app, which says so.
    status = page.locator("#video-status")
    status.get_by_text("No hand was found").wait_for(timeout=RESULT_TIMEOUT_MS)
    assert "frames of this clip" in status.inner_text()
    page.screenshot(path=str(tmp_path / "app-webcam.png"), full_page=True)
    assert page.external_requests == [], "the page tried to reach the internet"


def write_y4m(path: Path, frames: list) -> Path:
    """BGR frames as an uncompressed YUV 4:2:0 .y4m clip, which Chromium's fake camera plays."""
    import cv2

    height, width = frames[0].shape[:2]
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F15:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            out.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
    return path


@pytest.fixture
def stop_camera_page(chromium, server, webcam_sample, tmp_path):
    """A page whose fake camera plays 120 real webcam frames of "stop" in a loop."""
    import cv2

    frames = [cv2.imread(str(webcam_sample / "stop" / f"{i}.jpg")) for i in range(120)]
    camera = write_y4m(tmp_path / "stop.y4m", frames)
    args = [*FAKE_CAMERA_ARGS, f"--use-file-for-fake-video-capture={camera}"]
    yield from _page(chromium, args)


def test_your_gestures_from_the_webcam_and_uploads_to_a_downloadable_model(
    stop_camera_page, server, webcam_sample, tmp_path, monkeypatch
):
    import cv2

    monkeypatch.setenv("HGR_FINETUNE_EPOCHS", "4")  # read per request by the in-process app
    # Uploaded takes: each with the number of takes of its gesture once it is added.
    clips = {}
    for folder, start, count in (("stop", 40, 2), ("thumbs_up", 0, 1), ("thumbs_up", 40, 2)):
        path = tmp_path / f"{folder}-{start}.webm"
        frames = [
            cv2.imread(str(webcam_sample / folder / f"{i}.jpg")) for i in range(start, start + 40)
        ]
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"VP80"), 15, (224, 224))
        for frame in frames:
            writer.write(frame)
        writer.release()
        clips[path] = (folder, count)
    page = stop_camera_page
    page.goto(server, wait_until="load")
    page.get_by_role("tab", name="Your gestures").click()
    name = page.locator("#takes-gesture textarea, #takes-gesture input").first
    takes = page.locator("#takes-video")
    status = page.locator("#takes-status")

    def wait_for_take(number: int, gesture: str) -> None:
        status.get_by_text(f"Added take {number} of {gesture}:").wait_for(timeout=RESULT_TIMEOUT_MS)

    # One take of "stop" through the fake webcam: finishing the recording adds it.
    name.fill("stop")
    takes.get_by_text("Click to Access Webcam").click()
    page.wait_for_function(
        "() => { const v = document.querySelector('#takes-video video');"
        " return v !== null && v.readyState >= 2; }",
        timeout=RESULT_TIMEOUT_MS,
    )
    takes.get_by_role("button", name="start recording").click()
    page.wait_for_timeout(4_000)  # about 60 frames: two model windows
    takes.get_by_role("button", name="start recording").click()  # now labelled Stop
    wait_for_take(1, "stop")

    # The other takes are uploaded clips.
    takes.get_by_role("button", name="Upload file").click()
    for clip, (folder, count) in clips.items():
        name.fill(folder)
        takes.locator("input[type=file]").set_input_files(str(clip))
        wait_for_take(count, folder)

    table = page.locator("#takes-table").inner_text()
    assert "stop" in table and "thumbs_up" in table

    page.locator("#finetune").click()
    finetuned = page.locator("#finetune-status")
    finetuned.get_by_text("Fine-tuned model ready: stop, thumbs_up").wait_for(
        timeout=2 * RESULT_TIMEOUT_MS
    )
    link = page.locator("#personal-zip a[download]").first
    link.wait_for()
    assert link.get_attribute("download").endswith(".zip")
    page.screenshot(path=str(tmp_path / "app-your-gestures.png"), full_page=True)
    assert page.external_requests == [], "the page tried to reach the internet"
