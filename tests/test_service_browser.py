"""The Web UI in a real browser: Playwright driving Debian's Chromium against the app served by uvicorn.

Needs ``/usr/bin/chromium`` (``make browser-deps`` / ``apt-get install chromium``) and the ``playwright``
Python package; Playwright's own browser download is not used. Screenshots go to
``$HUMANPARSE_SCREENSHOT_DIR`` if set, else a pytest tmp dir (printed).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.browser

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (make browser-deps) to run the browser test",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install playwright)")
uvicorn = pytest.importorskip("uvicorn")
skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def server():
    """The app with the real default backend, served by uvicorn on a free loopback port in a thread."""
    from humanparse.errors import HumanParseError
    from humanparse.service import create_app

    try:
        from humanparse.backends import backend_class

        backend_class("mediapipe")
    except HumanParseError as e:
        pytest.skip(f"default backend unavailable: {e}")
    app = create_app(backend="mediapipe", timeout_s=60)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=srv.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not srv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start (see log above)")
        time.sleep(0.05)
    port = srv.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(15)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    d = Path(os.environ.get("HUMANPARSE_SCREENSHOT_DIR") or tmp_path_factory.mktemp("screenshots"))
    d.mkdir(parents=True, exist_ok=True)
    print(f"screenshots in {d}")
    return d


@pytest.fixture(scope="module")
def astronaut(tmp_path_factory) -> Path:
    from PIL import Image

    path = tmp_path_factory.mktemp("photos") / "astronaut.jpg"
    Image.fromarray(skimage_data.astronaut()).save(path, quality=92)  # NASA portrait, 512 x 512
    return path


def canvas_pixel(page, selector: str, x: int, y: int) -> list[int]:
    return page.evaluate(
        """([sel, x, y]) => Array.from(document.querySelector(sel).getContext('2d').getImageData(x, y, 1, 1).data)""",
        [selector, x, y])


def first_pixel_where(page, array: str, value: int, margin: int = 4) -> tuple[int, int]:
    """(x, y) of the first pixel of window.humanparse[array] equal to value whose whole
    (2 * margin + 1)^2 neighbourhood has that value too (so a click there cannot miss)."""
    xy = page.evaluate("""([name, v, m]) => {
        const {w, h} = window.humanparse, a = window.humanparse[name];
        for (let y = m; y < h - m; y++) for (let x = m; x < w - m; x++) {
            if (a[y * w + x] !== v) continue;
            let ok = true;
            for (let dy = -m; ok && dy <= m; dy++) for (let dx = -m; dx <= m; dx++)
                if (a[(y + dy) * w + x + dx] !== v) { ok = false; break; }
            if (ok) return [x, y];
        }
        return null;
    }""", [array, value, margin])
    assert xy is not None, f"no interior pixel with {array} == {value}"
    return xy[0], xy[1]


def upload_and_wait(page, path: Path) -> None:
    page.set_input_files("#file", str(path))
    page.wait_for_selector("#result:not([hidden])", timeout=60_000)
    page.wait_for_selector("#status[hidden]", state="attached", timeout=60_000)


def test_upload_toggle_isolate_cutout_and_errors(server, browser, astronaut, shots):
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + "/")
    page.wait_for_function("document.querySelector('#backend').textContent.includes('mediapipe')", timeout=20_000)

    upload_and_wait(page, astronaut)
    assert page.evaluate("[window.humanparse.w, window.humanparse.h]") == [512, 512]
    assert page.locator("#cv-overlay").is_visible() and page.locator("#cv-color").is_visible()
    legend = page.locator("#legend button")
    assert legend.count() >= 2, "legend should list the parts found"
    assert page.locator("#persons button").count() >= 2  # "Everyone" + at least one person
    page.screenshot(path=str(shots / "ui_desktop.png"), full_page=True)

    # Toggle a part: its pixels turn black in the colour map and lose their tint in the overlay.
    btn = legend.first
    cls = int(btn.get_attribute("data-cls"))
    x, y = first_pixel_where(page, "labels", cls)
    palette = page.evaluate(f"window.humanparse.palette[{cls}]")
    assert canvas_pixel(page, "#cv-color", x, y)[:3] == palette
    overlay_before = canvas_pixel(page, "#cv-overlay", x, y)
    btn.click()
    assert btn.get_attribute("aria-pressed") == "false"
    assert canvas_pixel(page, "#cv-color", x, y)[:3] == [0, 0, 0]
    assert canvas_pixel(page, "#cv-overlay", x, y) != overlay_before
    btn.click()
    assert canvas_pixel(page, "#cv-color", x, y)[:3] == palette

    # Click a person in the overlay: they are isolated, the rest of the photo is dimmed.
    px, py = first_pixel_where(page, "inst", 1)
    bx, by = first_pixel_where(page, "inst", 0)
    bg_before = canvas_pixel(page, "#cv-overlay", bx, by)
    box = page.locator("#cv-overlay").bounding_box()
    page.mouse.click(box["x"] + (px + 0.5) * box["width"] / 512, box["y"] + (py + 0.5) * box["height"] / 512)
    assert page.evaluate("window.humanparse.selected") == 1
    assert page.locator('#persons button[data-person="1"]').get_attribute("aria-pressed") == "true"
    bg_after = canvas_pixel(page, "#cv-overlay", bx, by)
    assert sum(bg_after[:3]) < sum(bg_before[:3]) or sum(bg_before[:3]) == 0

    # Background replacement preview through /v1/cutout.
    page.check("input[name=bg][value=color]", force=True)
    page.click("#cutout-btn")
    page.wait_for_selector("#cutout-box:not([hidden])", timeout=60_000)
    page.wait_for_function("document.querySelector('#cutout').naturalWidth === 512", timeout=20_000)
    assert page.locator("#dl-cutout").is_enabled()
    page.screenshot(path=str(shots / "ui_desktop_isolated_cutout.png"), full_page=True)

    # A bad file gives a visible error message from the server.
    page.set_input_files("#file", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a photo"}])
    page.wait_for_selector("#error:not([hidden])", timeout=20_000)
    text = page.locator("#error-text").inner_text()
    assert "not an image" in text and "415" in text
    page.screenshot(path=str(shots / "ui_error.png"))
    assert not errors, f"JavaScript errors: {errors}"
    page.close()


def test_phone_width_layout(server, browser, astronaut, shots):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                              has_touch=True)
    page = ctx.new_page()
    page.goto(server + "/")
    upload_and_wait(page, astronaut)
    # Nothing wider than the screen: no horizontal scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for sel in ("#cv-original", "#cv-color", "#cv-overlay"):
        box = page.locator(sel).bounding_box()
        assert box["width"] <= 390 and box["width"] > 250, (sel, box)
    page.screenshot(path=str(shots / "ui_phone_390.png"), full_page=True)
    ctx.close()


def test_drop_zone_accepts_a_dropped_file(server, browser, astronaut):
    """Drag-and-drop: a synthetic drop event carrying the photo starts the parsing."""
    page = browser.new_page(viewport={"width": 1000, "height": 800})
    page.goto(server + "/")
    data = list(astronaut.read_bytes())
    page.evaluate("""(bytes) => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(bytes)], 'dropped.jpg', {type: 'image/jpeg'}));
        document.querySelector('#drop').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
    }""", data)
    page.wait_for_selector("#result:not([hidden])", timeout=60_000)
    assert page.evaluate("window.humanparse.json.num_persons") >= 1
    assert np.isclose(page.evaluate("window.humanparse.opacity"), 0.55)
    page.close()
