// gemini3 playground: plain JavaScript, no build step, no external resources.
// It talks to the same local API as any client: POST /run, then GET /status/{id} until the
// job is final (IN_PROGRESS carries the latest progress update), POST /cancel/{id}.
"use strict";

const $ = (id) => document.getElementById(id);
const PHASE_NAMES = {
  decode: "Decode",
  phase1: "Clean plate",
  phase2: "Steering",
  phase3: "Palette",
  phase4: "Trace",
};
const PRESETS = {
  auto: [],
  bw: ["#000000", "#ffffff"],
  logo: ["#1e5ac8", "#ffffff", "#faa01e", "#161a22"],
  cmyk: ["#00aeef", "#ec008c", "#fff200", "#000000", "#ffffff"],
  gray: ["#000000", "#555555", "#aaaaaa", "#ffffff"],
};
// Which input element a job field's error belongs to.
const FIELD_INPUT = {
  image: "drop",
  image_url: "url",
  palette: "chip-hex",
  max_colors: "max-colors",
  "trace.mode": "trace-mode",
  "trace.filter_speckle": "speckle",
  deadline_s: "deadline",
  steering: "steer-on",
  "steering.enabled": "steer-on",
  "steering.seed": "steer-seed",
  "steering.strength": "steer-strength",
  alpha: "alpha",
  layout: "layout-opt",
};
// Error slots for fields that share one.
const FIELD_SLOT = { image_url: "image", "steering.enabled": "steering" };

const state = {
  info: null,
  image: null, // {kind: "file"|"url", base64?, url, name, bytes?, width, height}
  palette: [],
  job: null, // {id, timer, phases: Map}
  view: { scale: 1, tx: 0, ty: 0, mode: "side", w: 0, h: 0 },
  result: null, // {svg, metadata, output}
};

// ---------------------------------------------------------------- API

function apiHeaders(json) {
  const headers = {};
  if (json) headers["Content-Type"] = "application/json";
  const key = $("api-key").value.trim();
  if (key) headers["Authorization"] = "Bearer " + key;
  return headers;
}

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: apiHeaders(body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
  });
  let json = null;
  try {
    json = await response.json();
  } catch (_) {
    json = null;
  }
  return { status: response.status, json };
}

// ---------------------------------------------------------------- worker info

async function loadInfo() {
  try {
    const response = await fetch("/playground/info", { cache: "no-store" });
    state.info = await response.json();
  } catch (error) {
    $("worker-info").textContent = "Could not read /playground/info: " + error;
    return;
  }
  const info = state.info;
  const phases = (info.phases || []).map((p) => `${p.phase} ${p.provider}`).join(" · ");
  const steer = info.steering.available ? "steering on" : "no steering model";
  $("worker-info").textContent = `${info.name} ${info.version} · ${phases} · ${steer}`;
  if (info.auth_required) {
    $("key-box").hidden = false;
    $("api-key").value = sessionStorage.getItem("gemini3-key") || "";
    $("api-key").addEventListener("change", () =>
      sessionStorage.setItem("gemini3-key", $("api-key").value.trim())
    );
  }
  const d = info.defaults;
  $("max-colors").value = d.max_colors;
  $("max-colors").min = 1;
  $("max-colors").max = info.limits.max_colors;
  $("trace-mode").value = d.trace_mode;
  $("speckle").value = d.filter_speckle;
  $("speckle").min = 0;
  $("steer-seed").value = info.steering.default_seed;
  $("steer-strength").value = Number(Number(info.steering.default_strength).toFixed(3));
  const on = info.steering.available;
  for (const id of ["steer-on", "steer-seed", "steer-strength"]) $(id).disabled = !on;
  $("steer-on").checked = on;
  $("steer-reason").textContent = on
    ? "Attempts are gated by label IoU against the clean plate."
    : "Disabled: " + info.steering.reason + ".";
  $("alpha-label").hidden = !info.options.includes("alpha");
  $("layout-label").hidden = !info.options.includes("layout");
  $("formats-box").hidden = !info.options.includes("formats");
}

/** The formats asked for besides SVG (the SVG always comes back, first). */
function extraFormats() {
  if (!state.info || !state.info.options.includes("formats")) return [];
  return Array.from(document.querySelectorAll("#formats-box input:checked")).map((el) => el.value);
}

// ---------------------------------------------------------------- image input

function formatBytes(bytes) {
  if (bytes < 1024) return bytes + " B";
  if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + " KiB";
  return (bytes / 1024 / 1024).toFixed(2) + " MiB";
}

function readBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

function showThumb(src, describe) {
  const thumb = $("thumb");
  thumb.onload = () => {
    state.image.width = thumb.naturalWidth;
    state.image.height = thumb.naturalHeight;
    $("image-info").textContent = describe(thumb.naturalWidth, thumb.naturalHeight);
  };
  thumb.onerror = () => {
    $("image-info").textContent =
      "The browser could not show this image; the worker will still try it.";
  };
  thumb.src = src;
  thumb.alt = "Thumbnail of " + state.image.name;
  thumb.hidden = false;
  $("drop-text").textContent = "Drop, paste or choose another image";
}

async function useFile(file) {
  clearErrors();
  if (!file || !(file.type || "").startsWith("image/")) {
    showError("image", `image: ${file ? file.name : "that"} is not an image file`);
    return;
  }
  const limits = state.info ? state.info.limits : null;
  if (limits && (file.size > limits.max_image_bytes || (file.size * 4) / 3 + 4096 > limits.max_body_bytes)) {
    const most = Math.min(limits.max_image_bytes, Math.floor(((limits.max_body_bytes - 4096) * 3) / 4));
    showError("image", `image: ${file.name} is ${formatBytes(file.size)}, over this worker's limit of ${formatBytes(most)}`);
    return;
  }
  if (state.image && state.image.objectUrl) URL.revokeObjectURL(state.image.objectUrl);
  const objectUrl = URL.createObjectURL(file);
  state.image = { kind: "file", name: file.name || "pasted image", bytes: file.size, url: objectUrl, objectUrl };
  $("url").value = "";
  showThumb(objectUrl, (w, h) => `${state.image.name} · ${w} × ${h} px · ${formatBytes(file.size)}`);
  state.image.base64 = await readBase64(file);
}

function useUrl(url) {
  clearErrors();
  url = url.trim();
  if (!url) {
    showError("image", "image_url: give an address");
    return;
  }
  if (state.image && state.image.objectUrl) URL.revokeObjectURL(state.image.objectUrl);
  state.image = { kind: "url", name: url, url };
  $("url").value = url;
  showThumb(url, (w, h) => `${w} × ${h} px · the worker downloads it (image_url)`);
}

function setupInput() {
  const drop = $("drop");
  $("file").addEventListener("change", (event) => {
    const file = event.target.files[0];
    event.target.value = "";
    if (file) useFile(file);
  });
  drop.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      $("file").click();
    }
  });
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    const data = event.dataTransfer;
    if (data.files && data.files[0]) {
      useFile(data.files[0]);
      return;
    }
    const text = data.getData("text/uri-list") || data.getData("text/plain");
    if (text) useUrl(text.split("\n")[0]);
  });
  window.addEventListener("paste", (event) => {
    const data = event.clipboardData;
    if (!data) return;
    const file = Array.from(data.files || []).find((f) => f.type.startsWith("image/"));
    if (file) {
      event.preventDefault();
      useFile(file);
      return;
    }
    const target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA")) return;
    const text = (data.getData("text/plain") || "").trim();
    if (/^https?:\/\/\S+$/i.test(text)) {
      event.preventDefault();
      useUrl(text);
    }
  });
  $("url-load").addEventListener("click", () => useUrl($("url").value));
  $("url").addEventListener("keydown", (event) => {
    if (event.key === "Enter") useUrl($("url").value);
  });
}

// ---------------------------------------------------------------- palette editor

function normalHex(text) {
  const match = /^#?([0-9a-f]{6}|[0-9a-f]{3})$/i.exec(text.trim());
  if (!match) return null;
  let hex = match[1].toLowerCase();
  if (hex.length === 3) hex = hex.split("").map((c) => c + c).join("");
  return "#" + hex;
}

function renderChips() {
  const list = $("chips");
  list.replaceChildren();
  state.palette.forEach((color, index) => {
    const li = document.createElement("li");
    li.className = "chip";
    li.dataset.color = color;
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = color;
    const code = document.createElement("code");
    code.textContent = color;
    const button = (label, text, action, disabled) => {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = text;
      b.setAttribute("aria-label", label);
      b.title = label;
      b.disabled = disabled;
      b.addEventListener("click", () => {
        action();
        renderChips();
        const again = $("chips").children[Math.min(index, state.palette.length - 1)];
        if (again) again.querySelector("button:not(:disabled)")?.focus();
      });
      return b;
    };
    const swap = (a, b) => {
      [state.palette[a], state.palette[b]] = [state.palette[b], state.palette[a]];
    };
    li.append(
      swatch,
      code,
      button(`Move ${color} earlier`, "◀", () => swap(index, index - 1), index === 0),
      button(`Move ${color} later`, "▶", () => swap(index, index + 1), index === state.palette.length - 1),
      button(`Remove ${color}`, "✕", () => state.palette.splice(index, 1), false)
    );
    list.append(li);
  });
  $("palette-empty").hidden = state.palette.length > 0;
  // max_colors sizes an automatic palette only.
  $("max-colors").disabled = state.palette.length > 0;
  $("max-colors").title = state.palette.length > 0 ? "Used only when the palette comes from the image" : "";
}

function addChip(text) {
  clearError("palette");
  const hex = normalHex(text);
  if (!hex) {
    showError("palette", `palette: "${text}" is not a hex colour (RRGGBB)`);
    return false;
  }
  if (state.palette.includes(hex)) {
    showError("palette", `palette: ${hex} is already in the palette`);
    return false;
  }
  state.palette.push(hex);
  renderChips();
  return true;
}

function setupPalette() {
  $("chip-add").addEventListener("click", () => {
    const text = $("chip-hex").value.trim() || $("chip-picker").value;
    if (addChip(text)) $("chip-hex").value = "";
  });
  $("chip-hex").addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      $("chip-add").click();
    }
  });
  $("chip-picker").addEventListener("change", () => {
    $("chip-hex").value = $("chip-picker").value.slice(1);
  });
  $("preset").addEventListener("change", () => {
    const preset = PRESETS[$("preset").value];
    if (preset) {
      state.palette = preset.slice();
      clearError("palette");
      renderChips();
    }
  });
  $("palette-clear").addEventListener("click", () => {
    state.palette = [];
    $("preset").value = "auto";
    renderChips();
  });
  renderChips();
}

// ---------------------------------------------------------------- job input

function numberOf(id) {
  const text = $(id).value.trim();
  if (text === "") return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : text;
}

function buildInput(forExport) {
  const input = {};
  const image = state.image;
  if (image && image.kind === "url") input.image_url = image.url;
  else if (image && image.base64 !== undefined) input.image = image.base64;
  else if (forExport) input.image = "<base64 of your image>";
  if (state.palette.length > 0) input.palette = state.palette.map((c) => c.slice(1));
  else {
    const max = numberOf("max-colors");
    if (max !== undefined) input.max_colors = max;
  }
  const trace = { mode: $("trace-mode").value };
  const speckle = numberOf("speckle");
  if (speckle !== undefined) trace.filter_speckle = speckle;
  input.trace = trace;
  if (state.info && state.info.steering.available) {
    const steering = { enabled: $("steer-on").checked };
    if (steering.enabled) {
      const seed = numberOf("steer-seed");
      const strength = numberOf("steer-strength");
      if (seed !== undefined) steering.seed = seed;
      if (strength !== undefined) steering.strength = strength;
    }
    input.steering = steering;
  }
  if (state.info && state.info.options.includes("alpha")) input.alpha = $("alpha").value;
  if (state.info && state.info.options.includes("layout")) input.layout = $("layout-opt").value;
  const extra = extraFormats();
  if (extra.length > 0) input.formats = ["svg", ...extra];
  const deadline = numberOf("deadline");
  if (deadline !== undefined) input.deadline_s = deadline;
  return input;
}

// ---------------------------------------------------------------- errors

function slotFor(field) {
  const name = FIELD_SLOT[field] || field;
  return document.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
}

function clearError(field) {
  const slot = slotFor(field);
  if (slot) slot.textContent = "";
  const input = $(FIELD_INPUT[field] || "");
  if (input) {
    input.classList.remove("field-error");
    input.removeAttribute("aria-invalid");
  }
}

function clearErrors() {
  document.querySelectorAll("[data-error-for]").forEach((slot) => (slot.textContent = ""));
  document.querySelectorAll(".field-error").forEach((el) => {
    el.classList.remove("field-error");
    el.removeAttribute("aria-invalid");
  });
  $("general-error").textContent = "";
}

function showError(field, message) {
  const slot = slotFor(field);
  if (!slot) {
    $("general-error").textContent = message;
    return;
  }
  slot.textContent = message;
  const input = $(FIELD_INPUT[field] || "");
  if (input) {
    input.classList.add("field-error");
    input.setAttribute("aria-invalid", "true");
  }
}

// The field an error message names: "max_colors: …", "palette[2]: …", "phase2: steering.strength: …".
function fieldOf(message) {
  const parts = message.split(": ");
  for (let i = 0; i < Math.min(parts.length - 1, 3); i++) {
    const token = parts[i].trim();
    const candidates = [token, token.replace(/\[\d+\]/g, ""), token.split(/[.[]/)[0]];
    for (const candidate of candidates) {
      if (candidate in FIELD_INPUT || slotFor(candidate)) return candidate;
    }
  }
  return null;
}

function showJobError(status, error) {
  let type = status;
  let message = typeof error === "string" ? error : JSON.stringify(error);
  try {
    const report = JSON.parse(message);
    if (report && report.error_message) {
      type = report.error_type || status;
      message = report.error_message;
    }
  } catch (_) {
    // a plain string
  }
  const text = `${type}: ${message}`;
  const field = type === "DeadlineExceeded" ? "deadline_s" : fieldOf(message);
  if (field) showError(field, text);
  else $("general-error").textContent = text;
}

// ---------------------------------------------------------------- running a job

function setStatus(text, cls) {
  const el = $("job-status");
  el.textContent = text;
  el.className = cls || "muted";
}

function renderPhases(phases) {
  const list = $("phases");
  list.replaceChildren();
  for (const [phase, entry] of phases) {
    const li = document.createElement("li");
    li.dataset.phase = phase;
    const name = PHASE_NAMES[phase] || phase;
    li.textContent = `${name} (${phase})` + (entry.message ? ` — ${entry.message}` : "");
    if (entry.percent !== undefined) {
      const bar = document.createElement("progress");
      bar.max = 100;
      bar.value = entry.percent;
      bar.textContent = entry.percent + "%";
      li.append(bar);
    }
    if (entry.detail) {
      const detail = document.createElement("span");
      detail.className = "muted";
      detail.textContent = " " + entry.detail;
      li.append(detail);
    }
    list.append(li);
  }
}

function busy(running) {
  $("run").disabled = running;
  $("cancel").disabled = !running;
}

async function runJob() {
  clearErrors();
  if (!state.image) {
    showError("image", "image: choose, drop or paste an image, or give a URL");
    $("drop").focus();
    return;
  }
  if (state.image.kind === "file" && state.image.base64 === undefined) {
    state.image.base64 = await readBase64Pending();
  }
  busy(true);
  setStatus("Submitting…");
  state.job = { id: null, phases: new Map(), timer: null };
  renderPhases(state.job.phases);
  let answer;
  try {
    answer = await api("POST", "/run", { input: buildInput(false) });
  } catch (error) {
    busy(false);
    setStatus("Not submitted.", "status-bad");
    $("general-error").textContent = "Could not reach the worker: " + error;
    return;
  }
  if (answer.status !== 200 || !answer.json || !answer.json.id) {
    busy(false);
    setStatus("Not submitted.", "status-bad");
    const reason = answer.json && answer.json.error ? answer.json.error : "HTTP " + answer.status;
    $("general-error").textContent = `The worker refused the job (${answer.status}): ${reason}`;
    return;
  }
  state.job.id = answer.json.id;
  setStatus(`Job ${state.job.id}: IN_QUEUE`);
  poll();
}

// A file still being read when Run is pressed.
function readBase64Pending() {
  return new Promise((resolve) => {
    const check = () => {
      if (!state.image || state.image.base64 !== undefined) resolve(state.image && state.image.base64);
      else setTimeout(check, 50);
    };
    check();
  });
}

async function poll() {
  const job = state.job;
  if (!job || !job.id) return;
  let answer;
  try {
    answer = await api("GET", `/status/${encodeURIComponent(job.id)}`);
  } catch (error) {
    job.timer = setTimeout(poll, 1000);
    return;
  }
  if (state.job !== job) return;
  const body = answer.json || {};
  if (answer.status !== 200) {
    busy(false);
    setStatus(`Job ${job.id}: ${body.error || "HTTP " + answer.status}`, "status-bad");
    return;
  }
  const status = body.status;
  if (status === "IN_PROGRESS" && body.output && body.output.phase) {
    for (const entry of job.phases.values()) if (entry.percent < 100) entry.percent = 100;
    job.phases.set(body.output.phase, {
      percent: 100,
      message: body.output.message,
      overall: body.output.percent,
    });
    renderPhases(job.phases);
  }
  const overall = body.output && body.output.percent !== undefined ? ` · ${body.output.percent}%` : "";
  if (status === "IN_QUEUE" || status === "IN_PROGRESS") {
    setStatus(`Job ${job.id}: ${status}${status === "IN_PROGRESS" ? overall : ""}`);
    job.timer = setTimeout(poll, 250);
    return;
  }
  busy(false);
  if (status === "COMPLETED") {
    setStatus(`Job ${job.id}: COMPLETED in ${body.executionTime} ms (queued ${body.delayTime} ms)`, "status-done");
    showResult(body);
  } else if (status === "CANCELLED") {
    setStatus(`Job ${job.id}: CANCELLED`, "status-bad");
  } else {
    setStatus(`Job ${job.id}: ${status}`, "status-bad");
    showJobError(status, body.error || "no error text");
  }
}

async function cancelJob() {
  const job = state.job;
  if (!job || !job.id) return;
  $("cancel").disabled = true;
  setStatus(`Job ${job.id}: cancelling…`);
  const answer = await api("POST", `/cancel/${encodeURIComponent(job.id)}`);
  if (answer.status !== 200) {
    $("general-error").textContent = `Cancel failed (${answer.status}): ${(answer.json || {}).error || ""}`;
  }
  // The next poll sees the final status.
}

// ---------------------------------------------------------------- result

function sanitize(svg) {
  svg.querySelectorAll("script, foreignObject").forEach((el) => el.remove());
  for (const el of [svg, ...svg.querySelectorAll("*")]) {
    for (const attr of Array.from(el.attributes)) {
      if (/^on/i.test(attr.name)) el.removeAttribute(attr.name);
      if (/href$/i.test(attr.name) && !attr.value.startsWith("#")) el.removeAttribute(attr.name);
    }
  }
}

function colorOf(el) {
  for (let node = el; node && node.nodeType === 1; node = node.parentNode) {
    const value = (node.style && node.style.fill) || node.getAttribute("fill");
    if (value && value !== "inherit") return normalColor(value);
    if (node.tagName.toLowerCase() === "svg") break;
  }
  return "#000000";
}

function normalColor(value) {
  const hex = normalHex(value);
  if (hex) return hex;
  const rgb = /rgba?\(\s*(\d+)[,\s]+(\d+)[,\s]+(\d+)/i.exec(value);
  if (rgb) return "#" + rgb.slice(1, 4).map((v) => Number(v).toString(16).padStart(2, "0")).join("");
  return value.toLowerCase();
}

function addRow(tbody, label, content) {
  const tr = document.createElement("tr");
  const th = document.createElement("th");
  th.scope = "row";
  th.textContent = label;
  const td = document.createElement("td");
  if (content instanceof Node) td.append(content);
  else td.textContent = content;
  tr.append(th, td);
  tbody.append(tr);
}

function swatchList(colors) {
  const span = document.createElement("span");
  span.className = "inks";
  for (const color of colors) {
    const item = document.createElement("span");
    const sw = document.createElement("span");
    sw.className = "swatch";
    sw.style.background = color;
    item.append(sw, document.createTextNode(color));
    span.append(item);
  }
  return span;
}

function renderMeta(meta, body) {
  const table = $("meta");
  const tbody = table.tBodies[0];
  tbody.replaceChildren();
  addRow(tbody, "Size", `${meta.width} × ${meta.height} px`);
  addRow(tbody, "Paths", String(meta.paths));
  addRow(tbody, "SVG bytes", `${meta.svg_bytes} (${formatBytes(meta.svg_bytes)})`);
  addRow(tbody, "Inks", swatchList(meta.palette || []));
  addRow(tbody, "Colours used", `${meta.colors_used} of ${(meta.palette || []).length}`);
  addRow(tbody, "Trace mode", String(meta.trace_mode));
  for (const [phase, report] of Object.entries(meta.phases || {})) {
    addRow(tbody, `${PHASE_NAMES[phase] || phase} (${phase})`, `${report.ms} ms · ${report.provider}`);
  }
  if (meta.steering) {
    const s = meta.steering;
    addRow(tbody, "Steering", `${s.attempts} attempt(s)` + (s.iou != null ? ` · IoU ${Number(s.iou).toFixed(3)}` : "") + (s.accepted ? " · accepted" : ""));
  }
  addRow(tbody, "Pipeline time", `${meta.total_ms} ms`);
  addRow(tbody, "Queue / execution", `${body.delayTime} ms / ${body.executionTime} ms`);
  const warnings = meta.warnings || [];
  if (warnings.length === 0) addRow(tbody, "Warnings", "none");
  else {
    const ul = document.createElement("ul");
    for (const w of warnings) {
      const li = document.createElement("li");
      li.textContent = w;
      ul.append(li);
    }
    addRow(tbody, "Warnings", ul);
  }
  table.hidden = false;
}

function renderLayers(svg) {
  const groups = new Map();
  svg.querySelectorAll("path, rect, circle, ellipse, polygon, polyline").forEach((el) => {
    const color = colorOf(el);
    if (!groups.has(color)) groups.set(color, []);
    groups.get(color).push(el);
  });
  const box = $("layers");
  box.replaceChildren();
  for (const [color, elements] of groups) {
    const label = document.createElement("label");
    label.dataset.color = color;
    const check = document.createElement("input");
    check.type = "checkbox";
    check.checked = true;
    check.addEventListener("change", () => {
      for (const el of elements) el.style.display = check.checked ? "" : "none";
    });
    const sw = document.createElement("span");
    sw.className = "swatch";
    sw.style.background = color;
    label.append(check, sw, document.createTextNode(`${color} (${elements.length})`));
    box.append(label);
  }
  $("layers-box").hidden = groups.size === 0;
}

const FORMATS = {
  svg: ["image/svg+xml", false],
  pdf: ["application/pdf", true],
  eps: ["application/postscript", false],
  dxf: ["application/dxf", false],
  png: ["image/png", true],
};

function download(name, text, type, base64) {
  let blob;
  if (base64) {
    const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    blob = new Blob([bytes], { type });
  } else blob = new Blob([text], { type });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

function renderDownloads(output) {
  const box = $("downloads");
  box.replaceChildren();
  const base = (state.image && state.image.name ? state.image.name : "image").replace(/\.[^.]*$/, "").replace(/[^\w.-]+/g, "_") || "image";
  // `outputs` (formats asked for, or a bucket): one entry per format, inline as text or
  // base64, or uploaded with a presigned URL. Without it the SVG is the result's `svg`.
  const outputs = output.outputs || {};
  for (const [key, [type]] of Object.entries(FORMATS)) {
    if (key === "svg") continue;
    const entry = outputs[key];
    if (!entry) continue;
    const b = document.createElement("button");
    b.type = "button";
    b.id = `download-${key}`;
    b.textContent = "Download " + key.toUpperCase();
    b.addEventListener("click", () => {
      if (typeof entry.url === "string") window.open(entry.url, "_blank", "noopener");
      else if (typeof entry.base64 === "string") download(`${base}.${key}`, entry.base64, entry.media_type || type, true);
      else download(`${base}.${key}`, entry.text || "", entry.media_type || type, false);
    });
    box.append(b);
  }
  const svgEntry = outputs.svg || {};
  if (typeof svgEntry.url === "string" && typeof output.svg !== "string") {
    $("download").disabled = false;
    $("download").onclick = () => window.open(svgEntry.url, "_blank", "noopener");
    return;
  }
  const svgText = svgOf(output);
  $("download").disabled = typeof svgText !== "string";
  $("download").onclick = () => download(`${base}.svg`, svgText, "image/svg+xml", false);
}

/** The SVG text of a result: `svg`, or the inline `outputs.svg.text`. */
function svgOf(output) {
  if (typeof output.svg === "string") return output.svg;
  const entry = (output.outputs || {}).svg;
  return entry && typeof entry.text === "string" ? entry.text : undefined;
}

function showResult(body) {
  const output = body.output || {};
  const meta = output.metadata || {};
  state.result = { output, meta };
  const svgText = svgOf(output);
  const uploaded = ((output.outputs || {}).svg || {}).url;
  if (typeof svgText !== "string" && typeof uploaded === "string") {
    // The worker delivers to a bucket: the result holds URLs, not the SVG itself.
    renderDownloads(output);
    $("general-error").textContent = "The outputs were uploaded to the worker's bucket; use the download buttons.";
    return;
  }
  const doc = new DOMParser().parseFromString(svgText || "", "image/svg+xml");
  const svg = doc.documentElement;
  if (!svg || svg.tagName.toLowerCase() !== "svg" || doc.querySelector("parsererror")) {
    $("general-error").textContent = "The result is not a readable SVG.";
    return;
  }
  sanitize(svg);
  const w = meta.width || Number(svg.getAttribute("width")) || 512;
  const h = meta.height || Number(svg.getAttribute("height")) || 512;
  const node = document.importNode(svg, true);
  node.setAttribute("width", w);
  node.setAttribute("height", h);
  node.setAttribute("role", "img");
  node.setAttribute("aria-label", "Vectorized result");
  $("svg-host").replaceChildren(node);
  const img = $("view-img");
  img.src = state.image ? state.image.url : "";
  img.style.width = w + "px";
  img.style.height = h + "px";
  state.view.w = w;
  state.view.h = h;
  $("viewer-empty").hidden = true;
  renderLayers(node);
  renderMeta(meta, body);
  renderDownloads(output);
  if (state.job) {
    for (const [phase, report] of Object.entries(meta.phases || {})) {
      const entry = state.job.phases.get(phase) || {};
      entry.percent = 100;
      entry.detail = `${report.ms} ms on ${report.provider}`;
      state.job.phases.set(phase, entry);
    }
    renderPhases(state.job.phases);
  }
  fit();
}

// ---------------------------------------------------------------- viewer (zoom, pan, overlay)

function applyView() {
  const v = state.view;
  const transform = `translate(${v.tx}px, ${v.ty}px) scale(${v.scale})`;
  document.querySelectorAll("#viewer .stage").forEach((stage) => (stage.style.transform = transform));
}

function paneSize() {
  const pane = $("pane-input");
  return { pw: pane.clientWidth, ph: pane.clientHeight };
}

function fit() {
  const v = state.view;
  if (!v.w || !v.h) return;
  const { pw, ph } = paneSize();
  v.scale = Math.max(0.01, Math.min(pw / v.w, ph / v.h) * 0.96);
  v.tx = (pw - v.w * v.scale) / 2;
  v.ty = (ph - v.h * v.scale) / 2;
  applyView();
}

function zoomAt(factor, px, py) {
  const v = state.view;
  const scale = Math.min(64, Math.max(0.02, v.scale * factor));
  v.tx = px - (px - v.tx) * (scale / v.scale);
  v.ty = py - (py - v.ty) * (scale / v.scale);
  v.scale = scale;
  applyView();
}

function zoomCenter(factor) {
  const { pw, ph } = paneSize();
  zoomAt(factor, pw / 2, ph / 2);
}

function setMode(mode) {
  state.view.mode = mode;
  $("viewer").classList.toggle("overlay", mode === "overlay");
  $("viewer").classList.toggle("side", mode === "side");
  $("slider-label").hidden = mode !== "overlay";
  updateSlider();
  requestAnimationFrame(fit);
}

function updateSlider() {
  const pane = $("pane-svg");
  if (state.view.mode === "overlay") pane.style.clipPath = `inset(0 0 0 ${$("slider").value}%)`;
  else pane.style.clipPath = "";
}

function setupViewer() {
  const viewer = $("viewer");
  let drag = null;
  viewer.addEventListener("pointerdown", (event) => {
    drag = { x: event.clientX, y: event.clientY };
    viewer.setPointerCapture(event.pointerId);
    viewer.classList.add("dragging");
  });
  viewer.addEventListener("pointermove", (event) => {
    if (!drag) return;
    state.view.tx += event.clientX - drag.x;
    state.view.ty += event.clientY - drag.y;
    drag = { x: event.clientX, y: event.clientY };
    applyView();
  });
  const end = () => {
    drag = null;
    viewer.classList.remove("dragging");
  };
  viewer.addEventListener("pointerup", end);
  viewer.addEventListener("pointercancel", end);
  viewer.addEventListener(
    "wheel",
    (event) => {
      event.preventDefault();
      const pane = event.target.closest(".pane") || $("pane-input");
      const rect = pane.getBoundingClientRect();
      zoomAt(event.deltaY < 0 ? 1.15 : 1 / 1.15, event.clientX - rect.left, event.clientY - rect.top);
    },
    { passive: false }
  );
  viewer.addEventListener("keydown", (event) => {
    const step = 40;
    const v = state.view;
    const actions = {
      "+": () => zoomCenter(1.25),
      "=": () => zoomCenter(1.25),
      "-": () => zoomCenter(0.8),
      0: fit,
      1: () => zoomCenter(1 / v.scale),
      ArrowLeft: () => ((v.tx += step), applyView()),
      ArrowRight: () => ((v.tx -= step), applyView()),
      ArrowUp: () => ((v.ty += step), applyView()),
      ArrowDown: () => ((v.ty -= step), applyView()),
    };
    const action = actions[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });
  $("zoom-in").addEventListener("click", () => zoomCenter(1.25));
  $("zoom-out").addEventListener("click", () => zoomCenter(0.8));
  $("zoom-fit").addEventListener("click", fit);
  $("zoom-1").addEventListener("click", () => zoomCenter(1 / state.view.scale));
  document.querySelectorAll('input[name="view"]').forEach((radio) =>
    radio.addEventListener("change", () => setMode(radio.value))
  );
  $("slider").addEventListener("input", updateSlider);
  window.addEventListener("resize", fit);
}

// ---------------------------------------------------------------- copy as JSON / curl

function jobJson() {
  return JSON.stringify({ input: buildInput(true) }, null, 2);
}

function curlCommand() {
  return [
    "# Replace ENDPOINT_ID with your RunPod endpoint's id and export RUNPOD_API_KEY first.",
    'curl -s -X POST "https://api.runpod.ai/v2/ENDPOINT_ID/run" \\',
    '  -H "Content-Type: application/json" \\',
    '  -H "Authorization: Bearer $RUNPOD_API_KEY" \\',
    "  -d @- <<'JSON'",
    jobJson(),
    "JSON",
    '# then: curl -s -H "Authorization: Bearer $RUNPOD_API_KEY" "https://api.runpod.ai/v2/ENDPOINT_ID/status/<id>"',
  ].join("\n");
}

async function copy(text, what) {
  try {
    if (!navigator.clipboard || !window.isSecureContext) throw new Error("no clipboard");
    await navigator.clipboard.writeText(text);
    $("copied").textContent = `${what} copied.`;
  } catch (_) {
    $("copy-text").value = text;
    $("copy-dialog").showModal();
    $("copy-text").select();
  }
}

function setupCopy() {
  $("copy-json").addEventListener("click", () => copy(jobJson(), "Job JSON"));
  $("copy-curl").addEventListener("click", () => copy(curlCommand(), "curl command"));
  $("copy-close").addEventListener("click", () => $("copy-dialog").close());
}

// ---------------------------------------------------------------- start

function main() {
  setupInput();
  setupPalette();
  setupViewer();
  setupCopy();
  $("run").addEventListener("click", runJob);
  $("cancel").addEventListener("click", cancelJob);
  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      event.preventDefault();
      if (!$("run").disabled) runJob();
    }
  });
  loadInfo();
}

main();
