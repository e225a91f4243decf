/* humanparse Web UI: upload a photo, show the parsing, toggle parts, isolate persons, preview cut-outs.
 *
 * Everything after the one POST /v1/parse?format=json is drawn client-side: the label map and the
 * instance map are rebuilt from the per-person, per-part COCO RLE masks of the JSON answer, so toggling
 * a part or isolating a person re-renders instantly without another request. Large photos are shown
 * downscaled (longest side at most MAX_SIDE px): the masks are decoded straight into the display grid,
 * so a 30 MP photo costs no more to redraw than a 2 MP one. Plain ES2020, no build step.
 */
"use strict";

const $ = (sel) => document.querySelector(sel);

const MAX_SIDE = 1600; // longest side of the drawn canvases, display pixels

const state = {
  file: null,          // the uploaded File/Blob
  json: null,          // /v1/parse JSON
  w: 0, h: 0,          // size of the drawn maps and canvases (the photo's size, or downscaled by `step`)
  step: 1,             // display pixel = every step-th photo pixel in x and y
  pending: null,       // a photo chosen while the server was busy: parsed next
  labels: null,        // Uint8Array(w*h): class id per pixel (row-major)
  inst: null,          // Uint16Array(w*h): person id per pixel, 0 = none
  classes: [],         // class names of the label set
  palette: [],         // [[r,g,b], ...] per class id
  hidden: new Uint8Array(256),  // 1 = class hidden
  selected: 0,         // isolated person id, 0 = everyone
  opacity: 0.55,
  original: null,      // ImageData of the photo at (w, h)
  cutoutBlob: null,
  labelSets: {},       // name -> /v1/labels entry
  ownLabelSet: "",     // the backend's own label set (/v1/models output_label_sets[0])
  busy: false,
  busyWhat: "",        // "parsing" or "cut-out"
};
window.humanparse = state; // for debugging and the browser test

/* ------------------------------------------------------------------ COCO RLE */

/** Decode a COCO compressed RLE string into run lengths (pycocotools' rleFrString, in JS numbers). */
function rleCounts(s) {
  const counts = [];
  let p = 0;
  while (p < s.length) {
    let x = 0, k = 0, more = true;
    while (more) {
      const c = s.charCodeAt(p) - 48;
      x += (c & 0x1f) * 2 ** (5 * k);
      more = (c & 0x20) !== 0;
      p++; k++;
      if (!more && (c & 0x10)) x -= 2 ** (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    counts.push(x);
  }
  return counts;
}

/** Paint `value` into a row-major display array where a column-major COCO RLE mask of a (h, w) photo
 * is set, keeping every step-th pixel in x and y (display size ceil(w/step) x ceil(h/step)). Only the
 * kept pixels are visited, so the cost follows the display size, not the photo's. */
function paintRle(rle, target, value, w, h, step = 1) {
  const counts = typeof rle.counts === "string" ? rleCounts(rle.counts) : rle.counts;
  const dw = Math.ceil(w / step);
  let pos = 0;
  for (let r = 0; r < counts.length; r++) {
    const end = pos + counts[r];
    if (r & 1 && end > pos) {
      const last = Math.floor((end - 1) / h);
      for (let x = Math.ceil(Math.floor(pos / h) / step) * step; x <= last; x += step) {
        const y0 = Math.max(pos - x * h, 0), y1 = Math.min(end - x * h, h);
        const col = x / step;
        for (let y = Math.ceil(y0 / step) * step; y < y1; y += step) target[(y / step) * dw + col] = value;
      }
    }
    pos = end;
  }
}

/* ------------------------------------------------------------------ UI helpers */

function showError(message, detail = "") {
  $("#error-text").textContent = message;
  $("#error").title = detail;
  $("#error").hidden = false;
}
function clearError() { $("#error").hidden = true; }
function showNotice(text) {
  $("#notice").textContent = text || "";
  $("#notice").hidden = !text;
}
function fileLabel(file) { return (file && file.name) || "the pasted photo"; }

/** What still shows below an error: said, so an old result is not taken for the new photo's. */
function previousResultNote(file) {
  return state.json && state.file !== file ? ` The result below is still ${fileLabel(state.file)}.` : "";
}
function setStatus(text) {
  $("#status-text").textContent = text || "";
  $("#status").hidden = !text;
}

/** A sentence for the user about a failed request on `file`; [message, technical detail for the tooltip]. */
async function errorMessage(resp, file) {
  let code = "", message = "";
  try {
    const body = await resp.json();
    if (body && body.error) ({ code, message } = body.error);
  } catch (_) { /* not JSON */ }
  const name = fileLabel(file);
  const plain = message.replace(/^\w+: /, ""); // the server names the form field first ("image: ...")
  const retry = resp.headers.get("Retry-After");
  const text = {
    unsupported_media_type: `${name} is not a photo this server can read. Use a JPEG, PNG, WebP, BMP, GIF or TIFF file.`,
    invalid_image: `${name} looks damaged: it could not be read as a photo.`,
    upload_too_large: `${name} is too large to upload: ${plain}.`,
    image_too_large: `${name} has too many pixels: ${plain}.`,
    queue_full: `The server is busy with other photos${retry ? `; try again in ${retry} s` : "; try again shortly"}.`,
    timeout: `${name} took longer than the server allows; try a smaller photo or faster edges.`,
  }[code] || (plain ? `${name}: ${plain}.` : `The server could not handle ${name} (HTTP ${resp.status}).`);
  return [text.replace(/\.\.$/, "."), `HTTP ${resp.status}${code ? ` ${code}` : ""}${message ? `: ${message}` : ""}`];
}

function rgb(c) { return `rgb(${c[0]}, ${c[1]}, ${c[2]})`; }
function fmtSeconds(s) { return s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(2)} s`; }

function personColor(id) { // golden-ratio hues, like Parsing.colorize_instances
  const hue = ((id * 0.61803398875) % 1) * 360;
  return `hsl(${hue.toFixed(0)}, 70%, 52%)`;
}

/* ------------------------------------------------------------------ start-up */

async function init() {
  try {
    const [labels, models] = await Promise.all([fetch("/v1/labels"), fetch("/v1/models")]);
    if (labels.ok) {
      const body = await labels.json();
      for (const ls of body.label_sets) state.labelSets[ls.name] = ls;
    }
    if (models.ok) {
      const m = await models.json();
      $("#backend").textContent = `backend: ${m.active.name}`;
      const sets = m.output_label_sets || [];
      state.ownLabelSet = sets[0] || "";
      const select = $("#label-set");
      for (const name of sets) {
        const o = document.createElement("option");
        o.value = name;
        o.textContent = name === state.ownLabelSet ? `${name} (backend's own)` : name;
        select.appendChild(o);
      }
      $("#label-set-row").hidden = sets.length < 2;
    }
  } catch (_) {
    $("#backend").textContent = "offline";
  }
}

/* ------------------------------------------------------------------ parsing a photo */

/** A photo chosen, dropped or pasted. While a request runs it waits (said on screen) and goes next. */
function takeFile(file) {
  if (!file) return;
  if (state.busy) {
    state.pending = file;
    showNotice(`${fileLabel(file)} will be parsed as soon as the current ${state.busyWhat} is done.`);
    return;
  }
  handleFile(file);
}

function runPending() {
  const next = state.pending;
  state.pending = null;
  showNotice("");
  if (next) handleFile(next);
}

async function handleFile(file) {
  clearError();
  state.busy = true;
  state.busyWhat = "parsing";
  const mb = file.size ? ` (${(file.size / 1e6).toFixed(1)} MB)` : "";
  setStatus(`Parsing ${fileLabel(file)}${mb}…`);
  $("#drop").classList.add("busy");
  try {
    const form = new FormData();
    form.append("image", file, file.name || "pasted.png");
    const ls = $("#label-set").value;
    const query = ls && ls !== state.ownLabelSet ? `&label_set=${encodeURIComponent(ls)}` : "";
    const resp = await fetch(`/v1/parse?format=json${query}`, { method: "POST", body: form });
    if (!resp.ok) {
      const [text, detail] = await errorMessage(resp, file);
      showError(text + previousResultNote(file), detail);
      return;
    }
    const json = await resp.json();
    setStatus(`Drawing ${fileLabel(file)}…`);
    const step = Math.max(1, Math.ceil(Math.max(json.width, json.height) / MAX_SIDE));
    await loadOriginal(file, json.width, json.height, step);
    state.file = file;
    buildMaps(json, step);
    state.json = json;
    state.hidden.fill(0);
    state.selected = 0;
    state.cutoutBlob = null;
    $("#cutout-box").hidden = true;
    $("#dl-cutout").disabled = true;
    buildFacts();
    buildLegend();
    buildPersons();
    $("#result").hidden = false;
    $("#drop").classList.add("compact");
    render();
  } catch (err) {
    showError(`Could not show ${fileLabel(file)}: ${err.message || err}.${previousResultNote(file)}`);
  } finally {
    state.busy = false;
    setStatus("");
    $("#drop").classList.remove("busy");
    runPending();
  }
}

/** Draw the photo at the parsing's size divided by `step`; if the browser cannot decode it (e.g. TIFF),
 * use the server's decode. */
async function loadOriginal(file, fullW, fullH, step) {
  const w = Math.ceil(fullW / step), h = Math.ceil(fullH / step);
  let bitmap;
  const size = { imageOrientation: "from-image", resizeWidth: w, resizeHeight: h, resizeQuality: "medium" };
  try {
    bitmap = await createImageBitmap(file, size);
  } catch (_) {
    const form = new FormData();
    form.append("image", file, file.name || "image");
    const resp = await fetch("/v1/parse?format=overlay&opacity=0", { method: "POST", body: form });
    if (!resp.ok) throw new Error((await errorMessage(resp, file))[0]);
    bitmap = await createImageBitmap(await resp.blob(), size);
  }
  state.w = w; state.h = h; state.step = step;
  for (const id of ["#cv-original", "#cv-color", "#cv-overlay"]) {
    const c = $(id); c.width = w; c.height = h;
  }
  const ctx = $("#cv-original").getContext("2d", { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0, w, h);
  if (bitmap.close) bitmap.close();
  state.original = ctx.getImageData(0, 0, w, h);
}

function buildMaps(json, step) {
  const { width: w, height: h } = json;
  state.classes = json.classes;
  const ls = state.labelSets[json.label_set];
  state.palette = json.classes.map((_, i) =>
    ls && ls.classes[i] ? ls.classes[i].color : [(i * 97) % 256, (i * 57) % 256, (i * 151) % 256]);
  state.labels = new Uint8Array(state.w * state.h);
  state.inst = new Uint16Array(state.w * state.h);
  for (const p of json.persons) {
    if (p.mask) paintRle(p.mask, state.inst, p.id, w, h, step);
    for (const [name, rle] of Object.entries(p.masks || {})) {
      paintRle(rle, state.labels, json.classes.indexOf(name), w, h, step);
    }
  }
}

/* ------------------------------------------------------------------ rendering */

function render() {
  const { w, h, labels, inst, hidden, selected } = state;
  if (!labels) return;
  const a = state.opacity, b = 1 - a;
  const pal = state.palette;
  const src = state.original.data;
  const colorCtx = $("#cv-color").getContext("2d", { willReadFrequently: true });
  const overCtx = $("#cv-overlay").getContext("2d", { willReadFrequently: true });
  const col = colorCtx.createImageData(w, h);
  const ov = overCtx.createImageData(w, h);
  const cd = col.data, od = ov.data;
  const n = w * h;
  for (let i = 0, j = 0; i < n; i++, j += 4) {
    const c = labels[i];
    const id = inst[i];
    const mine = selected === 0 || id === selected;
    cd[j + 3] = 255; od[j + 3] = 255;
    if (c > 0 && !hidden[c] && mine) {
      const p = pal[c];
      cd[j] = p[0]; cd[j + 1] = p[1]; cd[j + 2] = p[2];
      od[j] = src[j] * b + p[0] * a; od[j + 1] = src[j + 1] * b + p[1] * a; od[j + 2] = src[j + 2] * b + p[2] * a;
    } else {
      // colour map: black background; overlay: the photo, dimmed outside the isolated person
      const dim = mine ? 1 : 0.35;
      od[j] = src[j] * dim; od[j + 1] = src[j + 1] * dim; od[j + 2] = src[j + 2] * dim;
    }
  }
  colorCtx.putImageData(col, 0, 0);
  overCtx.putImageData(ov, 0, 0);
  syncControls();
}

let frameRequested = false;
/** Redraw at the next animation frame at most once (slider drags fire many input events per frame). */
function renderSoon() {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(() => { frameRequested = false; render(); });
}

function syncControls() {
  for (const li of document.querySelectorAll("#legend button")) {
    li.setAttribute("aria-pressed", state.hidden[+li.dataset.cls] ? "false" : "true");
  }
  for (const chip of document.querySelectorAll("#persons button")) {
    chip.setAttribute("aria-pressed", +chip.dataset.person === state.selected ? "true" : "false");
  }
  for (const b of document.querySelectorAll("#badges span")) {
    b.classList.toggle("dim", state.selected !== 0 && +b.dataset.person !== state.selected);
  }
}

/* ------------------------------------------------------------------ panels */

function buildFacts() {
  const j = state.json;
  const t = j.timings || {};
  const facts = [
    `${j.width} × ${j.height} px`,
    `${j.num_persons} ${j.num_persons === 1 ? "person" : "persons"}`,
    `label set ${j.label_set}`,
  ];
  if (t.total !== undefined) facts.push(`${fmtSeconds(t.total)} on server`);
  if (state.step > 1) facts.push(`shown at ${state.w} × ${state.h}`);
  $("#facts").innerHTML = "";
  for (const f of facts) {
    const s = document.createElement("span");
    s.className = "fact";
    s.textContent = f;
    $("#facts").appendChild(s);
  }
}

/** Classes present in the photo, or in person `only` (an id; 0 = everyone), with their pixel areas. */
function presentClasses(only = 0) {
  const area = new Map();
  for (const p of state.json.persons) {
    if (only && p.id !== only) continue;
    for (const [name, px] of Object.entries(p.part_areas)) area.set(name, (area.get(name) || 0) + px);
  }
  return [...area.entries()]
    .map(([name, px]) => ({ name, px, id: state.classes.indexOf(name) }))
    .sort((x, y) => x.id - y.id);
}

function buildLegend() {
  const ul = $("#legend");
  ul.innerHTML = "";
  const sel = state.selected && state.json.persons.find((p) => p.id === state.selected);
  // Percentages: of the photo for everyone, of the isolated person's pixels for one person.
  const total = sel ? sel.area : state.json.width * state.json.height;
  $("#legend-scope").textContent = sel ? `· % of person ${sel.id}` : "· % of the photo";
  const present = presentClasses(sel ? sel.id : 0);
  if (!present.length) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = "No person found in this photo.";
    ul.appendChild(li);
    return;
  }
  for (const { name, px, id } of present) {
    const li = document.createElement("li");
    const btn = document.createElement("button");
    btn.type = "button";
    btn.dataset.cls = id;
    btn.dataset.name = name;
    btn.setAttribute("aria-pressed", "true");
    btn.title = `Show or hide ${name}`;
    const sw = document.createElement("span");
    sw.className = "swatch";
    sw.style.background = rgb(state.palette[id]);
    const label = document.createElement("span");
    label.className = "name";
    label.textContent = name.replace(/-/g, " ");
    const pct = document.createElement("span");
    pct.className = "pct";
    const share = (100 * px) / total;
    pct.textContent = share < 0.1 ? "<0.1%" : `${share.toFixed(1)}%`;
    btn.append(sw, label, pct);
    btn.addEventListener("click", () => { state.hidden[id] ^= 1; render(); });
    li.appendChild(btn);
    ul.appendChild(li);
  }
}

function buildPersons() {
  const box = $("#persons");
  box.innerHTML = "";
  const mk = (id, text, color, title) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "chip";
    b.dataset.person = id;
    if (title) b.title = title;
    if (color) {
      const dot = document.createElement("span");
      dot.className = "dot";
      dot.style.background = color;
      b.appendChild(dot);
    }
    b.appendChild(document.createTextNode(text));
    b.addEventListener("click", () => selectPerson(id));
    box.appendChild(b);
  };
  mk(0, "Everyone");
  for (const p of state.json.persons) {
    mk(p.id, `Person ${p.id}`, personColor(p.id), `Person ${p.id}: detection confidence ${Math.round(p.score * 100)}%`);
  }
  buildBadges();
}

/** Numbered markers in the persons' colours over the overlay (not drawn into the canvas, so downloads
 * stay clean), centred on each person's head: the server's `head` point (top of the person's own pixels,
 * centred), else the top centre of the box. Kept inside the picture so they never widen the page. */
function buildBadges() {
  const layer = $("#badges");
  layer.innerHTML = "";
  const { width: W, height: H } = state.json;
  for (const p of state.json.persons) {
    const b = document.createElement("span");
    b.dataset.person = p.id;
    b.textContent = p.id;
    b.style.background = personColor(p.id);
    const [x, y] = p.head || [(p.bbox[0] + p.bbox[2]) / 2, p.bbox[1]];
    b.style.left = `clamp(12px, ${(100 * x) / W}%, calc(100% - 12px))`;
    b.style.top = `clamp(12px, ${(100 * y) / H}%, calc(100% - 12px))`;
    layer.appendChild(b);
  }
}

function selectPerson(id) {
  state.selected = id;
  buildLegend();
  render();
}

function pickAt(canvas, event) {
  const r = canvas.getBoundingClientRect();
  const x = Math.floor(((event.clientX - r.left) / r.width) * state.w);
  const y = Math.floor(((event.clientY - r.top) / r.height) * state.h);
  if (x < 0 || y < 0 || x >= state.w || y >= state.h) return;
  const id = state.inst[y * state.w + x];
  selectPerson(id === state.selected ? 0 : id);
}

/* ------------------------------------------------------------------ cut-out */

function backgroundMode() { return document.querySelector("input[name=bg]:checked").value; }

function syncBackgroundRows() {
  const mode = backgroundMode();
  $("#bg-color-row").hidden = mode !== "color";
  $("#bg-image-row").hidden = mode !== "image";
}

async function previewCutout() {
  if (!state.file || state.busy) return;
  clearError();
  if (!state.json.num_persons) {
    showError(`No person was found in ${fileLabel(state.file)}, so there is nothing to cut out.`);
    return;
  }
  const visible = presentClasses(state.selected).filter((c) => !state.hidden[c.id]).map((c) => c.name);
  if (!visible.length) { showError("Every part is hidden: show at least one part to cut out."); return; }
  const form = new FormData();
  form.append("image", state.file, state.file.name || "image.png");
  if (visible.length < presentClasses(state.selected).length) form.append("parts", visible.join(","));
  if (state.selected) form.append("person", String(state.selected));
  if (state.json.label_set !== state.ownLabelSet) form.append("label_set", state.json.label_set);
  form.append("matting", $("#matting").value);
  const mode = backgroundMode();
  if (mode === "color") form.append("background", $("#bg-color").value);
  else if (mode === "blur") form.append("background", "blur");
  else if (mode === "image") {
    const f = $("#bg-image").files[0];
    if (!f) { showError("Choose a background image first."); return; }
    form.append("background_image", f, f.name);
  } else form.append("background", "transparent");
  const file = state.file;
  const what = [state.selected ? `person ${state.selected}` : "everyone",
    visible.length < presentClasses(state.selected).length ? visible.join(", ").replace(/-/g, " ") : "",
    mode === "transparent" ? "" : `over ${mode === "color" ? $("#bg-color").value : mode}`].filter(Boolean).join(" · ");
  state.busy = true;
  state.busyWhat = "cut-out";
  setStatus(`Cutting out ${what} from ${fileLabel(file)}…`);
  $("#cutout-btn").disabled = true;
  try {
    const resp = await fetch("/v1/cutout", { method: "POST", body: form });
    if (!resp.ok) {
      const [text, detail] = await errorMessage(resp, file);
      showError(`Cut-out failed. ${text}${state.cutoutBlob ? " The preview below is the previous cut-out." : ""}`, detail);
      return;
    }
    state.cutoutBlob = await resp.blob();
    const img = $("#cutout");
    if (img.src) URL.revokeObjectURL(img.src);
    img.src = URL.createObjectURL(state.cutoutBlob);
    $("#cutout-what").textContent = `· ${what}`;
    $("#cutout-box").hidden = false;
    $("#dl-cutout").disabled = false;
  } catch (err) {
    showError(`Cut-out of ${fileLabel(file)} failed: ${err.message || err}.`);
  } finally {
    state.busy = false;
    setStatus("");
    $("#cutout-btn").disabled = false;
    runPending();
  }
}

function toggleZoom() {
  const box = $("#cutout-scroll");
  const on = box.classList.toggle("zoomed");
  $("#zoom").setAttribute("aria-pressed", String(on));
  $("#zoom").textContent = on ? "Fit to width" : "Zoom to 100%";
}

/* ------------------------------------------------------------------ downloads */

function stem() {
  const name = (state.file && state.file.name) || "photo";
  return name.replace(/\.[^.]+$/, "") || "photo";
}

function saveBlob(blob, filename) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 5000);
}

function download(kind) {
  if (!state.json) return;
  if (kind === "json") {
    saveBlob(new Blob([JSON.stringify(state.json)], { type: "application/json" }), `${stem()}_parsing.json`);
  } else if (kind === "cutout") {
    if (state.cutoutBlob) saveBlob(state.cutoutBlob, `${stem()}_cutout.png`);
  } else {
    $(kind === "color" ? "#cv-color" : "#cv-overlay").toBlob((b) => saveBlob(b, `${stem()}_${kind}.png`), "image/png");
  }
}

/* ------------------------------------------------------------------ wiring */

function wire() {
  const drop = $("#drop");
  const input = $("#file");
  $("#pick").addEventListener("click", (e) => { e.stopPropagation(); input.click(); });
  drop.addEventListener("click", () => input.click());
  drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); } });
  input.addEventListener("change", () => { if (input.files[0]) takeFile(input.files[0]); input.value = ""; });
  if (matchMedia("(pointer: coarse)").matches || navigator.maxTouchPoints > 0) { // phones: no drop, no paste
    document.body.classList.add("touch");
    $("#pick").textContent = "Choose or take a photo";
    drop.setAttribute("aria-label", "Choose or take a photo");
  }

  // Stop the browser from opening a file dropped outside the zone.
  for (const ev of ["dragover", "drop"]) window.addEventListener(ev, (e) => e.preventDefault());
  drop.addEventListener("dragenter", () => drop.classList.add("over"));
  drop.addEventListener("dragover", () => drop.classList.add("over"));
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    drop.classList.remove("over");
    const f = e.dataTransfer && e.dataTransfer.files[0];
    if (f) takeFile(f);
  });
  document.addEventListener("paste", (e) => {
    const item = [...(e.clipboardData ? e.clipboardData.items : [])].find((i) => i.kind === "file");
    if (item) takeFile(item.getAsFile());
  });

  const slider = $("#opacity");
  slider.addEventListener("input", () => {
    state.opacity = slider.value / 100;
    $("#opacity-value").textContent = `${slider.value}%`;
    renderSoon();
  });
  for (const id of ["#cv-color", "#cv-overlay"]) {
    const c = $(id);
    c.addEventListener("click", (e) => pickAt(c, e));
  }
  $("#parts-all").addEventListener("click", () => { state.hidden.fill(0); render(); });
  $("#parts-none").addEventListener("click", () => {
    for (const c of presentClasses()) state.hidden[c.id] = 1;
    render();
  });
  for (const r of document.querySelectorAll("input[name=bg]")) r.addEventListener("change", syncBackgroundRows);
  $("#cutout-btn").addEventListener("click", previewCutout);
  $("#label-set").addEventListener("change", () => { if (state.file) takeFile(state.file); });
  $("#zoom").addEventListener("click", toggleZoom);
  for (const b of document.querySelectorAll("[data-download]")) {
    b.addEventListener("click", () => download(b.dataset.download));
  }
}

wire();
init();
