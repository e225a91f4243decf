// humanparse live page: camera -> JPEG frames over the /v1/live WebSocket -> composited frames on a canvas.
// At most WINDOW frames are in flight, so the server never has to queue; camera frames in between are skipped.
// URL parameters: mode, background (blur | blur:N | #rrggbb | transparent), quality, max_fps, width, height,
// obs=1 (picture only, transparent page, starts by itself), autostart=1.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const WINDOW = 2;
  const STALE_MS = 3000;
  const out = $("out");
  const ctx = out.getContext("2d");
  const cam = $("cam");
  const grab = document.createElement("canvas");
  const grabCtx = grab.getContext("2d");
  const state = {
    running: false, ws: null, stream: null, inFlight: [], sent: 0, received: 0, errors: [], settings: null,
    stats: null, latencies: [], times: [], bgImage: null, drawnFrames: 0,
  };
  window.humanparseLive = state;   // read by tests and for debugging

  // ------------------------------------------------------------------ settings from the URL / controls
  const obs = params.get("obs") === "1";
  if (obs) document.body.classList.add("obs");
  if (params.get("mode")) $("mode").value = params.get("mode");
  const bgParam = params.get("background");
  if (bgParam) {
    if (bgParam === "transparent") pickBg("transparent");
    else if (bgParam.startsWith("blur")) { pickBg("blur"); const s = bgParam.split(":")[1]; if (s) $("blur").value = s; }
    else if (/^#?[0-9a-f]{6}$/i.test(bgParam)) { pickBg("color"); $("color").value = bgParam.startsWith("#") ? bgParam : "#" + bgParam; }
  }
  $("obs-url").textContent = `${location.origin}/live?obs=1&background=transparent`;

  function pickBg(value) {
    for (const r of document.querySelectorAll('input[name="bg"]')) r.checked = r.value === value;
  }
  function bgChoice() { return document.querySelector('input[name="bg"]:checked').value; }
  function bgSpec() {
    const c = bgChoice();
    if (c === "blur") return `blur:${$("blur").value}`;
    if (c === "color") return $("color").value;
    return "transparent";   // "image" too: the page draws the picture under the transparent person itself
  }
  function showRows() {
    const c = bgChoice();
    $("blur-row").hidden = c !== "blur";
    $("color-row").hidden = c !== "color";
    $("image-row").hidden = c !== "image";
  }
  showRows();

  function showError(message) {
    $("error-text").textContent = message;
    $("error").hidden = !message;
    if (message) state.errors.push(message);
  }

  // ------------------------------------------------------------------ WebSocket
  function socketUrl() {
    const q = new URLSearchParams({ mode: $("mode").value, background: bgSpec(), quality: params.get("quality") || "80" });
    if (params.get("max_fps")) q.set("max_fps", params.get("max_fps"));
    return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/live?${q}`;
  }

  function connect() {
    if (state.ws) { state.ws.onclose = null; state.ws.onmessage = null; state.ws.close(); }
    state.inFlight = [];
    state.settings = null;
    const ws = new WebSocket(socketUrl());
    ws.binaryType = "blob";
    state.ws = ws;
    $("conn").textContent = "connecting…";
    ws.onopen = () => { $("conn").textContent = "connected"; };
    ws.onmessage = (ev) => {
      if (ws !== state.ws) return;          // an answer of the previous connection (old settings)
      if (typeof ev.data === "string") onText(ev.data); else onFrame(ev.data, ws);
    };
    ws.onclose = (ev) => {
      $("conn").textContent = "offline";
      if (state.ws === ws && state.running) {
        if (ev.code === 1008 || ev.code === 1013) return;   // refused: the error message says why
        setTimeout(() => { if (state.running && state.ws === ws) connect(); }, 1000);  // server restart: retry
      }
    };
  }

  function onText(text) {
    let msg;
    try { msg = JSON.parse(text); } catch { return; }
    if (msg.type === "settings") { state.settings = msg; showError(""); pump(); }
    else if (msg.type === "stats") { state.stats = msg; showStats(); }
    else if (msg.type === "error") {
      showError(`${msg.code}: ${msg.message}`);
      if (state.inFlight.length && !["too_many_sessions", "invalid_parameter", "not_ready"].includes(msg.code)) {
        state.inFlight.shift();       // that frame's answer
        pump();
      }
    }
  }

  async function onFrame(blob, ws) {
    const sentAt = state.inFlight.shift();
    const now = performance.now();
    if (sentAt !== undefined) state.latencies.push(now - sentAt);
    state.times.push(now);
    if (state.latencies.length > 60) state.latencies.shift();
    while (state.times.length && now - state.times[0] > 2000) state.times.shift();
    state.received++;
    pump();
    const bmp = await createImageBitmap(blob);
    if (ws !== state.ws) { bmp.close(); return; }   // reconnected meanwhile: never draw old settings
    if (out.width !== bmp.width || out.height !== bmp.height) { out.width = bmp.width; out.height = bmp.height; }
    ctx.clearRect(0, 0, out.width, out.height);
    if (bgChoice() === "image" && state.bgImage) drawCover(state.bgImage);
    ctx.drawImage(bmp, 0, 0);
    bmp.close();
    state.drawnFrames++;
    $("placeholder").hidden = true;
    if (state.received % 5 === 0) showStats();
  }

  function drawCover(img) {
    const s = Math.max(out.width / img.width, out.height / img.height);
    const w = img.width * s, h = img.height * s;
    ctx.drawImage(img, (out.width - w) / 2, (out.height - h) / 2, w, h);
  }

  function median(xs) {
    if (!xs.length) return NaN;
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
  }

  function showStats() {
    const fps = state.times.length > 1 ? (state.times.length - 1) / ((state.times.at(-1) - state.times[0]) / 1000) : 0;
    state.fps = fps;
    state.latencyMs = median(state.latencies);
    $("fps").textContent = fps ? fps.toFixed(1) : "–";
    $("latency").textContent = Number.isFinite(state.latencyMs) ? `${Math.round(state.latencyMs)} ms` : "–";
    if (state.stats) {
      const t = state.stats.timings_ms || {};
      $("server-ms").textContent = t.total !== undefined ? `${Math.round(t.total)} ms` : "–";
      $("dropped").textContent = String(state.stats.dropped);
    }
  }

  // ------------------------------------------------------------------ camera -> frames
  function pump() {
    const ws = state.ws;
    if (!state.running || !ws || ws.readyState !== WebSocket.OPEN || !state.settings || !cam.videoWidth) return;
    while (state.inFlight.length && performance.now() - state.inFlight[0] > STALE_MS) state.inFlight.shift();
    if (state.inFlight.length >= WINDOW) return;
    const maxW = Number(params.get("width")) || 640;
    const scale = Math.min(1, maxW / cam.videoWidth);
    grab.width = Math.round(cam.videoWidth * scale);
    grab.height = Math.round(cam.videoHeight * scale);
    grabCtx.drawImage(cam, 0, 0, grab.width, grab.height);
    state.inFlight.push(performance.now());
    grab.toBlob((b) => {
      if (b && ws.readyState === WebSocket.OPEN) { ws.send(b); state.sent++; }
      else state.inFlight.shift();
    }, "image/jpeg", 0.85);
  }

  function onVideoFrame() {
    if (!state.running) return;
    pump();
    if (cam.requestVideoFrameCallback) cam.requestVideoFrameCallback(onVideoFrame);
  }

  async function start() {
    showError("");
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      showError("This browser gives no camera access here (getUserMedia needs https or http://localhost).");
      return;
    }
    try {
      const w = Number(params.get("width")) || 640, h = Number(params.get("height")) || 360;
      state.stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: w }, height: { ideal: h } }, audio: false });
    } catch (e) {
      showError(`camera: ${e.name}: ${e.message}`);
      return;
    }
    cam.srcObject = state.stream;
    await cam.play();
    state.running = true;
    $("start").disabled = true;
    $("stop").disabled = false;
    connect();
    if (cam.requestVideoFrameCallback) cam.requestVideoFrameCallback(onVideoFrame);
    else state.timer = setInterval(pump, 1000 / 30);
  }

  function stop() {
    state.running = false;
    clearInterval(state.timer);
    if (state.ws) { state.ws.onclose = null; state.ws.onmessage = null; state.ws.close(); state.ws = null; }
    if (state.stream) for (const t of state.stream.getTracks()) t.stop();
    state.stream = null;
    $("conn").textContent = "offline";
    $("start").disabled = false;
    $("stop").disabled = true;
  }

  $("start").addEventListener("click", start);
  $("stop").addEventListener("click", stop);
  $("mode").addEventListener("change", () => state.running && connect());
  for (const r of document.querySelectorAll('input[name="bg"]')) {
    r.addEventListener("change", () => { showRows(); if (state.running) connect(); });
  }
  $("blur").addEventListener("change", () => state.running && connect());
  $("color").addEventListener("change", () => state.running && connect());
  $("image").addEventListener("change", async () => {
    const f = $("image").files[0];
    if (!f) return;
    try { state.bgImage = await createImageBitmap(f); } catch { showError("that file is not an image"); }
  });
  if (obs || params.get("autostart") === "1") start();
})();
