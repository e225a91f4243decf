/* humanparse Web UI: upload a photo, show the parsing, toggle parts, isolate persons, preview cut-outs.
 *
 * Everything after the one POST /v1/parse?format=json is drawn client-side: the label map and the
 * instance map are rebuilt from the per-person, per-part COCO RLE masks of the JSON answer, so toggling
 * a part or isolating a person re-renders instantly without another request. Plain ES2020, no build step.
 */
"use strict";

const $ = (sel) => document.querySelector(sel);

const state = {
  file: null,          // the uploaded File/Blob
  json: null,          // /v1/parse JSON
  w: 0, h: 0,
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
  busy: false,
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

/** Paint `value` into a row-major (h, w) array where a column-major COCO RLE mask is set. */
function paintRle(rle, target, value, w, h) {
  const counts = typeof rle.counts === "string" ? rleCounts(rle.counts) : rle.counts;
  let pos = 0;
  for (let r = 0; r < counts.length; r++) {
    const end = pos + counts[r];
    if (r & 1) {
      for (let i = pos; i < end; i++) {
        const x = (i / h) | 0;
        target[(i - x * h) * w + x] = value;
      }
    }
    pos = end;
  }
}

/* ------------------------------------------------------------------ UI helpers */

function showError(message) {
  $("#error-text").textContent = message;
  $("#error").hidden = false;
}
function clearError() { $("#error").hidden = true; }
function setStatus(text) {
  $("#status-text").textContent = text || "";
  $("#status").hidden = !text;
}

async function errorMessage(resp) {
  try {
    const body = await resp.json();
    if (body && body.error) return `${body.error.message} (HTTP ${resp.status} ${body.error.code})`;
  } catch (_) { /* not JSON */ }
  return `The server answered HTTP ${resp.status}.`;
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
    }
  } catch (_) {
    $("#backend").textContent = "offline";
  }
}

/* ------------------------------------------------------------------ parsing a photo */

async function handleFile(file) {
  if (!file || state.busy) return;
  clearError();
  state.busy = true;
  setStatus("Parsing…");
  $("#drop").classList.add("busy");
  try {
    const form = new FormData();
    form.append("image", file, file.name || "pasted.png");
    const resp = await fetch("/v1/parse?format=json", { method: "POST", body: form });
    if (!resp.ok) {
      showError(await errorMessage(resp));
      return;
    }
    const json = await resp.json();
    state.file = file;
    await loadOriginal(file, json.width, json.height);
    buildMaps(json);
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
    showError(`Could not parse this photo: ${err.message || err}`);
  } finally {
    state.busy = false;
    setStatus("");
    $("#drop").classList.remove("busy");
  }
}

/** Draw the photo at the parsing's size; if the browser cannot decode it (e.g. TIFF), use the server's decode. */
async function loadOriginal(file, w, h) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch (_) {
    const form = new FormData();
    form.append("image", file, file.name || "image");
    const resp = await fetch("/v1/parse?format=overlay&opacity=0", { method: "POST", body: form });
    if (!resp.ok) throw new Error(await errorMessage(resp));
    bitmap = await createImageBitmap(await resp.blob());
  }
  state.w = w; state.h = h;
  for (const id of ["#cv-original", "#cv-color", "#cv-overlay"]) {
    const c = $(id); c.width = w; c.height = h;
  }
  const ctx = $("#cv-original").getContext("2d", { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0, w, h);
  if (bitmap.close) bitmap.close();
  state.original = ctx.getImageData(0, 0, w, h);
}

function buildMaps(json) {
  const { width: w, height: h } = json;
  state.classes = json.classes;
  const ls = state.labelSets[json.label_set];
  state.palette = json.classes.map((_, i) =>
    ls && ls.classes[i] ? ls.classes[i].color : [(i * 97) % 256, (i * 57) % 256, (i * 151) % 256]);
  state.labels = new Uint8Array(w * h);
  state.inst = new Uint16Array(w * h);
  for (const p of json.persons) {
    if (p.mask) paintRle(p.mask, state.inst, p.id, w, h);
    for (const [name, rle] of Object.entries(p.masks || {})) {
      paintRle(rle, state.labels, json.classes.indexOf(name), w, h);
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

function syncControls() {
  for (const li of document.querySelectorAll("#legend button")) {
    li.setAttribute("aria-pressed", state.hidden[+li.dataset.cls] ? "false" : "true");
  }
  for (const chip of document.querySelectorAll("#persons button")) {
    chip.setAttribute("aria-pressed", +chip.dataset.person === state.selected ? "true" : "false");
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
  $("#facts").innerHTML = "";
  for (const f of facts) {
    const s = document.createElement("span");
    s.className = "fact";
    s.textContent = f;
    $("#facts").appendChild(s);
  }
}

function presentClasses() {
  const area = new Map();
  for (const p of state.json.persons) {
    for (const [name, px] of Object.entries(p.part_areas)) area.set(name, (area.get(name) || 0) + px);
  }
  return [...area.entries()]
    .map(([name, px]) => ({ name, px, id: state.classes.indexOf(name) }))
    .sort((x, y) => x.id - y.id);
}

function buildLegend() {
  const ul = $("#legend");
  ul.innerHTML = "";
  const total = state.w * state.h;
  const present = presentClasses();
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
  const mk = (id, text, color) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "chip";
    b.dataset.person = id;
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
  for (const p of state.json.persons) mk(p.id, `Person ${p.id} · ${Math.round(p.score * 100)}%`, personColor(p.id));
}

function selectPerson(id) {
  state.selected = id;
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
  const visible = presentClasses().filter((c) => !state.hidden[c.id]).map((c) => c.name);
  if (!visible.length) { showError("Every part is hidden: show at least one part to cut out."); return; }
  const form = new FormData();
  form.append("image", state.file, state.file.name || "image.png");
  if (visible.length < presentClasses().length) form.append("parts", visible.join(","));
  if (state.selected) form.append("person", String(state.selected));
  form.append("matting", $("#matting").value);
  const mode = backgroundMode();
  if (mode === "color") form.append("background", $("#bg-color").value);
  else if (mode === "blur") form.append("background", "blur");
  else if (mode === "image") {
    const f = $("#bg-image").files[0];
    if (!f) { showError("Choose a background image first."); return; }
    form.append("background_image", f, f.name);
  } else form.append("background", "transparent");
  state.busy = true;
  setStatus("Cutting out…");
  $("#cutout-btn").disabled = true;
  try {
    const resp = await fetch("/v1/cutout", { method: "POST", body: form });
    if (!resp.ok) { showError(await errorMessage(resp)); return; }
    state.cutoutBlob = await resp.blob();
    const img = $("#cutout");
    if (img.src) URL.revokeObjectURL(img.src);
    img.src = URL.createObjectURL(state.cutoutBlob);
    $("#cutout-box").hidden = false;
    $("#dl-cutout").disabled = false;
  } catch (err) {
    showError(`Cut-out failed: ${err.message || err}`);
  } finally {
    state.busy = false;
    setStatus("");
    $("#cutout-btn").disabled = false;
  }
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
  input.addEventListener("change", () => { if (input.files[0]) handleFile(input.files[0]); input.value = ""; });

  // Stop the browser from opening a file dropped outside the zone.
  for (const ev of ["dragover", "drop"]) window.addEventListener(ev, (e) => e.preventDefault());
  drop.addEventListener("dragenter", () => drop.classList.add("over"));
  drop.addEventListener("dragover", () => drop.classList.add("over"));
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    drop.classList.remove("over");
    const f = e.dataTransfer && e.dataTransfer.files[0];
    if (f) handleFile(f);
  });
  document.addEventListener("paste", (e) => {
    const item = [...(e.clipboardData ? e.clipboardData.items : [])].find((i) => i.kind === "file");
    if (item) handleFile(item.getAsFile());
  });

  const slider = $("#opacity");
  slider.addEventListener("input", () => {
    state.opacity = slider.value / 100;
    $("#opacity-value").textContent = `${slider.value}%`;
    render();
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
  for (const b of document.querySelectorAll("[data-download]")) {
    b.addEventListener("click", () => download(b.dataset.download));
  }
}

wire();
init();
