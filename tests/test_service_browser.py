"""The Web UI in a real browser: Playwright driving Debian's Chromium against the app served by uvicorn.

Needs ``/usr/bin/chromium`` (``make browser-deps`` / ``apt-get install chromium``) and the ``playwright``
Python package; Playwright's own browser download is not used. Screenshots go to
``$HUMANPARSE_SCREENSHOT_DIR`` if set, else a pytest tmp dir (printed).
"""

from __future__ import annotations

import contextlib
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
    with serving(create_app(backend="mediapipe", timeout_s=60)) as url:
        yield url


@contextlib.contextmanager
def serving(app):
    """Serve ``app`` with uvicorn on a free loopback port in a thread; yields its base URL."""
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
    # Person chips: "Person N" (the detection score only in the tooltip, labelled); their colour dots
    # match the numbered badges over the overlay.
    chip = page.locator('#persons button[data-person="1"]')
    assert chip.inner_text().strip() == "Person 1" and "confidence" in chip.get_attribute("title")
    badge = page.locator('#badges span[data-person="1"]')
    assert badge.is_visible() and badge.inner_text() == "1"
    dot_color = chip.locator(".dot").evaluate("e => getComputedStyle(e).backgroundColor")
    assert badge.evaluate("e => getComputedStyle(e).backgroundColor") == dot_color
    ov = page.locator("#cv-overlay").bounding_box()
    bb = badge.bounding_box()
    assert ov["x"] - 15 <= bb["x"] <= ov["x"] + ov["width"] and ov["y"] - 15 <= bb["y"] <= ov["y"] + ov["height"]
    assert "of the photo" in page.locator("#legend-scope").inner_text()
    photo_pct = page.locator("#legend button .pct").all_inner_texts()
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
    # The legend now speaks of the isolated person: shares of their pixels, not of the photo.
    assert "of person 1" in page.locator("#legend-scope").inner_text()
    person_pct = page.locator("#legend button .pct").all_inner_texts()
    assert person_pct != photo_pct
    area = page.evaluate("window.humanparse.json.persons[0].area")
    name = page.locator("#legend button").first.get_attribute("data-name")
    part = page.evaluate(f"window.humanparse.json.persons[0].part_areas[{name!r}]")
    assert person_pct[0] == f"{100 * part / area:.1f}%" or person_pct[0] == "<0.1%"

    # Background replacement preview through /v1/cutout.
    page.check("input[name=bg][value=color]", force=True)
    page.click("#cutout-btn")
    page.wait_for_selector("#cutout-box:not([hidden])", timeout=60_000)
    page.wait_for_function("document.querySelector('#cutout').naturalWidth === 512", timeout=20_000)
    assert page.locator("#dl-cutout").is_enabled()
    # The preview is large enough to judge edges: its natural size here (512 px), and a 100 % zoom.
    assert page.locator("#cutout").bounding_box()["width"] >= 500
    page.click("#zoom")
    assert page.locator("#zoom").get_attribute("aria-pressed") == "true"
    assert page.evaluate("document.querySelector('#cutout').getBoundingClientRect().width") == 512
    page.click("#zoom")
    page.screenshot(path=str(shots / "ui_desktop_isolated_cutout.png"), full_page=True)

    # A bad file: a sentence naming the file, not a log line; it says the result below is the old one.
    page.set_input_files("#file", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a photo"}])
    page.wait_for_selector("#error:not([hidden])", timeout=20_000)
    text = page.locator("#error-text").inner_text()
    assert "notes.txt is not a photo" in text and "still astronaut.jpg" in text
    assert "HTTP" not in text and "text/plain" not in text and "unsupported_media_type" not in text
    assert "415" in page.locator("#error").get_attribute("title")     # the details stay in the tooltip
    page.screenshot(path=str(shots / "ui_error.png"))
    assert not errors, f"JavaScript errors: {errors}"
    page.close()


def test_label_set_choice_reparses_and_cuts_out_in_that_set(server, browser, astronaut, shots):
    """The backend's output sets are offered (its own first); choosing coarse parses the photo again in
    coarse classes (facts, legend) and the cut-out of one of its parts works."""
    from humanparse.labels import get_label_set

    page = browser.new_page(viewport={"width": 1366, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + "/")
    page.wait_for_function("document.querySelectorAll('#label-set option').length > 1", timeout=20_000)
    options = page.eval_on_selector_all("#label-set option", "os => os.map(o => o.value)")
    assert options[0] == "cihp" and "coarse" in options
    upload_and_wait(page, astronaut)
    assert page.evaluate("window.humanparse.json.label_set") == "cihp"
    page.select_option("#label-set", "coarse")
    page.wait_for_function("window.humanparse.json.label_set === 'coarse' && !window.humanparse.busy", timeout=60_000)
    assert "label set coarse" in page.locator("#facts").inner_text()
    names = page.eval_on_selector_all("#legend button", "bs => bs.map(b => b.dataset.name)")
    assert names and set(names) <= set(get_label_set("coarse").classes) and "upper-clothes" in names
    page.click('#legend button[data-name="upper-clothes"]')          # hide it: the cut-out names coarse parts
    page.click("#cutout-btn")
    page.wait_for_selector("#cutout-box:not([hidden])", timeout=60_000)
    assert page.locator("#error").is_hidden(), page.locator("#error-text").inner_text()
    page.screenshot(path=str(shots / "ui_label_set_coarse.png"), full_page=True)
    assert not errors, f"JavaScript errors: {errors}"
    page.close()


def phone_page(browser, url: str):
    """A page of a 390x844 phone (2x pixels, touch) at ``url``."""
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                              has_touch=True)
    page = ctx.new_page()
    page.goto(url)
    return page


def test_phone_width_layout(server, browser, astronaut, shots):
    page = phone_page(browser, server + "/")
    upload_and_wait(page, astronaut)
    # Nothing wider than the screen: no horizontal scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for sel in ("#cv-original", "#cv-color", "#cv-overlay"):
        box = page.locator(sel).bounding_box()
        assert box["width"] <= 390 and box["width"] > 250, (sel, box)
    # The opacity slider sits right above the overlay it controls.
    slider, overlay = page.locator("#opacity").bounding_box(), page.locator("#cv-overlay").bounding_box()
    assert 0 <= overlay["y"] - (slider["y"] + slider["height"]) < 60, (slider, overlay)
    # A phone can neither drop nor paste: the page offers to choose or take a photo.
    drop_text = page.locator("#drop").inner_text()
    assert "Drop" not in drop_text and "paste" not in drop_text and "take a photo" in drop_text
    page.screenshot(path=str(shots / "ui_phone_390.png"), full_page=True)
    page.click("#cutout-btn")
    page.wait_for_selector("#cutout-box:not([hidden])", timeout=60_000)
    page.wait_for_function("document.querySelector('#cutout').naturalWidth === 512", timeout=20_000)
    assert page.locator("#cutout").bounding_box()["width"] > 330       # the preview spans the phone's width
    page.locator("#cutout-box").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "ui_phone_390_cutout.png"))
    page.context.close()


def test_no_person_and_a_photo_chosen_while_busy(server, browser, astronaut, shots, tmp_path):
    from PIL import Image

    blank = tmp_path / "wall.png"
    Image.new("RGB", (320, 240), (128, 128, 128)).save(blank)
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto(server + "/")
    upload_and_wait(page, blank)
    assert page.evaluate("window.humanparse.json.num_persons") == 0
    page.click("#cutout-btn")
    text = page.locator("#error-text").inner_text()
    assert "No person was found in wall.png" in text and "hidden" not in text
    # A second photo chosen during a (slow, quality) cut-out is kept, announced, and parsed next.
    upload_and_wait(page, astronaut)
    page.select_option("#matting", "quality")
    page.click("#cutout-btn")
    page.wait_for_function("window.humanparse.busy", timeout=5_000)
    page.set_input_files("#file", str(blank))
    notice = page.locator("#notice")
    assert notice.is_visible() and "wall.png will be parsed" in notice.inner_text()
    page.screenshot(path=str(shots / "ui_pending_photo.png"))
    page.wait_for_function("window.humanparse.file.name === 'wall.png' && !window.humanparse.busy", timeout=60_000)
    assert notice.is_hidden()
    page.close()


def test_large_photo_is_drawn_downscaled_and_redraws_fast(server, browser, astronaut, tmp_path):
    from PIL import Image

    big = tmp_path / "big.jpg"
    Image.open(astronaut).resize((4800, 3600), Image.BILINEAR).save(big, quality=85)   # 17 MP
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto(server + "/")
    upload_and_wait(page, big)
    w, h, step = page.evaluate("[window.humanparse.w, window.humanparse.h, window.humanparse.step]")
    assert step == 3 and (w, h) == (1600, 1200)
    assert page.evaluate("document.querySelector('#cv-overlay').width") == 1600
    # the maps decoded into the display grid agree with the person's area (in photo pixels)
    shown = page.evaluate("window.humanparse.inst.reduce((n, v) => n + (v === 1), 0)") * step * step
    area = page.evaluate("window.humanparse.json.persons[0].area")
    assert abs(shown - area) / area < 0.02, (shown, area)
    ms = page.evaluate("""async () => {
        const s = document.querySelector('#opacity'), t0 = performance.now();
        s.value = 20; s.dispatchEvent(new Event('input'));
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        return performance.now() - t0;
    }""")
    assert ms < 500, f"one slider step took {ms:.0f} ms to redraw"
    page.close()


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


POSED = {  # person: part -> (x0, x1, y0, y1) as fractions of the picture; the head's top is the person's top row
    1: {13: (0.45, 0.55, 0.15, 0.30), 5: (0.40, 0.60, 0.30, 0.95), 14: (0.08, 0.40, 0.22, 0.30)},  # arm out left
    2: {5: (0.99, 1.0, 0.20, 1.0)},                                   # a sliver cut by the right edge
}


def posed_parsing(h: int, w: int):
    """:data:`POSED` drawn at ``h`` x ``w``: person 1's box starts far left of its head (the raised arm)."""
    from humanparse.parsing import Parsing

    labels, inst = np.zeros((h, w), np.uint8), np.zeros((h, w), np.uint16)
    for pid, parts in POSED.items():
        for cls, (x0, x1, y0, y1) in parts.items():
            sl = np.s_[round(y0 * h):round(y1 * h), round(x0 * w):round(x1 * w)]
            labels[sl], inst[sl] = cls, pid
    return Parsing.from_maps(labels, inst, "cihp", [0.9, 0.8])


@pytest.fixture(scope="module")
def posed_server():
    """The app with a backend that returns :func:`posed_parsing` for any photo."""
    from humanparse.backends.base import Backend
    from humanparse.service import create_app

    class Posed(Backend):
        name, label_set = "posed", "cihp"

        def predict(self, image):
            return posed_parsing(*image.shape[:2])

    with serving(create_app(backend=Posed(), timeout_s=60)) as url:
        yield url


@pytest.fixture(scope="module")
def grey_photo(tmp_path_factory) -> Path:
    from PIL import Image

    path = tmp_path_factory.mktemp("posed") / "grey.png"
    Image.new("RGB", (480, 360), (90, 90, 110)).save(path)
    return path


BADGES_JS = """() => { const c = document.querySelector('#cv-overlay').getBoundingClientRect();
    return {canvas: [c.left, c.top, c.width, c.height], badges: [...document.querySelectorAll('#badges span')].map(
        s => { const r = s.getBoundingClientRect(); return [+s.dataset.person, r.left, r.top, r.right, r.bottom]; })}; }"""


def test_person_badges_sit_on_the_heads(posed_server, browser, grey_photo, shots):
    parsing = posed_parsing(360, 480)
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto(posed_server + "/")
    upload_and_wait(page, grey_photo)
    got = page.evaluate(BADGES_JS)
    cx, cy, cw, ch = got["canvas"]
    scale = cw / 480
    badges = {b[0]: b[1:] for b in got["badges"]}
    assert sorted(badges) == [1, 2]
    # Person 1 raised an arm: its box's top-left corner (38, 54) is on the background, far from the head.
    assert parsing.persons[0].bbox[:2] == (38, 54)
    l, t, r, b = badges[1]
    bx, by = ((l + r) / 2 - cx) / scale, ((t + b) / 2 - cy) / scale    # badge centre in image pixels
    assert abs(bx - 240) <= 4 and abs(by - 54) <= 4, (bx, by)          # head: x 216..264, top row 54
    assert parsing.instances[int(by) + 3, int(bx)] == 1                # just below the centre: person 1's own head
    # The sliver at the right edge: its badge stays inside the picture, at the person's top.
    l, t, r, b = badges[2]
    assert cx <= l and r <= cx + cw + 0.5, (l, r, cx, cw)
    assert abs(((t + b) / 2 - cy) / scale - 72) <= 4
    page.locator("#cv-overlay").screenshot(path=str(shots / "ui_badges_posed.png"))
    page.close()


def test_phone_width_with_a_person_at_the_edge_does_not_scroll_sideways(posed_server, browser, grey_photo, shots):
    page = phone_page(browser, posed_server + "/")
    upload_and_wait(page, grey_photo)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    got = page.evaluate(BADGES_JS)
    left, right = got["canvas"][0], got["canvas"][0] + got["canvas"][2]
    assert all(left - 0.5 <= b[1] and b[3] <= right + 0.5 for b in got["badges"]), got   # none sticks out
    page.screenshot(path=str(shots / "ui_phone_390_posed.png"), full_page=True)
    page.context.close()


LIVE_LAYOUT_JS = """() => { const out = document.querySelector('#out').getBoundingClientRect();
    const next = document.querySelector('.live-controls').getBoundingClientRect();
    return {gap: next.top - out.bottom, scrollWidth: document.documentElement.scrollWidth,
            placeholder: document.querySelector('#placeholder').getBoundingClientRect().height}; }"""


@pytest.mark.parametrize("viewport", [(390, 844), (1366, 900)])
def test_live_page_has_no_gap_under_the_canvas(server, browser, viewport, shots):
    w, h = viewport
    page = browser.new_page(viewport={"width": w, "height": h})
    page.goto(server + "/live")
    page.wait_for_selector("#out")
    got = page.evaluate(LIVE_LAYOUT_JS)
    page.screenshot(path=str(shots / f"live_layout_{w}.png"), full_page=True)
    assert got["scrollWidth"] <= w, got
    assert 0 <= got["gap"] < 24, got                   # the grid gap (14 px), not stretched rows (97 px at 390)
    assert got["placeholder"] > 24, got                # its text lines are laid out, not stacked on one another
    page.close()
