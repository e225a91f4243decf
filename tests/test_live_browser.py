"""The /live page in a real browser: Debian's Chromium with a fake camera playing a clip made from a real photo.

Chromium plays ``--use-file-for-fake-video-capture=CLIP.y4m`` as the webcam; the page sends its frames over the
``/v1/live`` WebSocket and draws the answers on its canvas. Checked: frames come back, the canvas is not blank,
the background region turned into the chosen colour while the person region kept the camera's pixels, fps and
latency are shown, the OBS mode is a transparent page with nothing but the picture, and the phone layout fits
390 px. Screenshots go to ``$HUMANPARSE_SCREENSHOT_DIR`` or a tmp dir (shared fixtures of test_service_browser).
"""

from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest

from test_service_browser import CHROMIUM, CHROMIUM_ARGS, server, shots  # noqa: F401 - fixtures

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.browser

FRAME_TIMEOUT_MS = 180_000  # first frames include model start-up, on a loaded 2-core machine


@pytest.fixture(scope="module")
def camera(tmp_path_factory):
    """A 640 x 360 clip of the two-person photo (with light sensor noise) as .y4m, its clean frame, and the
    sure person / sure background regions of that frame from the selfie segmenter."""
    from humanparse.live import PersonSegmenter
    from humanparse.live.y4m import write_y4m
    from humanparse.samples import two_person_photo

    frame = cv2.resize(two_person_photo(360), (640, 360), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(0)
    frames = [np.clip(frame + rng.normal(0, 2, frame.shape), 0, 255).astype(np.uint8) for _ in range(10)]
    path = write_y4m(tmp_path_factory.mktemp("camera") / "clip.y4m", frames, fps=30)
    with PersonSegmenter() as seg:
        a = seg(frame)
    person = cv2.erode((a > 0.95).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    background = cv2.erode((a < 0.05).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    return path, frame, person, background


@pytest.fixture(scope="module")
def browser(camera):
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + [
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={camera[0]}", "--autoplay-policy=no-user-gesture-required"])
        yield b
        b.close()


def canvas_rgba(page) -> np.ndarray:
    url = page.evaluate("document.querySelector('#out').toDataURL('image/png')")
    png = base64.b64decode(url.split(",", 1)[1])
    bgra = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    return cv2.cvtColor(bgra, cv2.COLOR_BGRA2RGBA)


def open_live(browser, url: str, viewport=(1100, 900), frames: int = 6):
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_function(f"window.humanparseLive && window.humanparseLive.drawnFrames >= {frames}",
                           timeout=FRAME_TIMEOUT_MS)
    return page, errors


def test_live_page_composites_the_camera(server, browser, camera, shots):
    _, frame, person, background = camera
    page, errors = open_live(browser, server + "/live?background=%2300ff00&autostart=1")
    out = canvas_rgba(page)
    assert out.shape == (360, 640, 4) and (out[..., 3] == 255).all()
    rgb = out[..., :3].astype(int)
    assert rgb.std() > 20, "the canvas is blank"
    green = (np.abs(rgb[background] - [0, 255, 0]) < 40).all(axis=1).mean()
    assert green > 0.95, f"only {green:.1%} of the background turned green"
    diff = np.abs(rgb[person] - frame[person]).mean()
    assert diff < 12, f"the person changed by {diff:.1f} grey levels on average"
    state = page.evaluate("({sent: window.humanparseLive.sent, received: window.humanparseLive.received, "
                          "settings: window.humanparseLive.settings})")
    assert state["received"] >= 6 and state["sent"] >= state["received"]
    assert state["settings"]["background"] == "#00ff00" and state["settings"]["mode"] == "person"
    page.wait_for_function("document.querySelector('#latency').textContent.includes('ms')", timeout=60_000)
    assert float(page.text_content("#fps")) > 0
    assert not page.is_visible("#error") and not errors
    page.screenshot(path=str(shots / "live_green.png"))
    page.close()


def test_live_page_background_switch_and_obs_mode(server, browser, camera, shots):
    _, frame, person, background = camera
    page, errors = open_live(browser, server + "/live?obs=1&background=transparent")
    assert page.evaluate("document.body.classList.contains('obs')")
    assert not page.is_visible(".topbar") and not page.is_visible(".live-controls")
    out = canvas_rgba(page)
    assert (out[..., 3][background] < 30).mean() > 0.95          # see-through behind the person: OBS composites
    assert (out[..., 3][person] > 225).mean() > 0.95
    assert not errors
    page.close()

    page, errors = open_live(browser, server + "/live?autostart=1&background=blur:12")
    page.check('input[name="bg"][value="color"]')                # switching reconnects with the new setting
    page.wait_for_function("window.humanparseLive.settings && window.humanparseLive.settings.background.startsWith('#')",
                           timeout=FRAME_TIMEOUT_MS)
    before = page.evaluate("window.humanparseLive.drawnFrames")
    page.wait_for_function(f"window.humanparseLive.drawnFrames > {before + 3}", timeout=FRAME_TIMEOUT_MS)
    rgb = canvas_rgba(page)[..., :3].astype(int)
    colour = np.array([0x00, 0xB1, 0x40])
    assert (np.abs(rgb[background] - colour) < 40).all(axis=1).mean() > 0.95
    page.screenshot(path=str(shots / "live_desktop.png"))
    page.close()


def test_live_page_phone_width(server, browser, shots):
    page, errors = open_live(browser, server + "/live?autostart=1", viewport=(390, 844), frames=2)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    box = page.locator("#out").bounding_box()
    assert box["width"] <= 390 and box["height"] > 100
    assert page.locator("#start").is_visible() and page.locator("#fps").is_visible()
    page.screenshot(path=str(shots / "live_phone_390.png"), full_page=True)
    assert not errors
    page.close()
