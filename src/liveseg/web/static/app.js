// The page: a webcam (or a video file, or ?video=URL) -> worker (inference) -> effect on a
// canvas, with a readout and window.livesegStats for scripts.
//
// One frame is in the worker at a time; when it is free, the newest camera frame goes next,
// so nothing queues up. Every camera frame is shown at once with the newest mask (the video
// keeps the camera's pace however slow the network is; the mask trails a moving subject by
// one inference), or, with "wait for mask" (?sync=1), each frame is shown only with its own
// mask (fps = inference rate), as `liveseg run --temporal off` does.
// URL parameters: video=URL, effect=blur|replace|overlay|matte, backend=auto|wasm|webgpu,
// threads=N (WASM threads; 0 = onnxruntime-web's default), smooth=0|1, sync=0|1.
import { Renderer } from "./effects.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
// frames/fps: frames shown; inferred/inferFps: network runs; ms: the last 30 runs' mean/median.
const stats = (window.livesegStats = {
  frames: 0, fps: 0, inferred: 0, inferFps: 0, inferMs: 0, inferMsMedian: 0, backend: "",
  model: "", threads: 0, source: "", width: 0, height: 0, error: "",
  preMs: 0, postMs: 0, grabMs: 0, drawMs: 0, // the rest of a frame's time (last frame)
});
const EFFECTS = ["blur", "replace", "overlay", "matte"];

let config = null;
let renderer = null;
let worker = null;
let ready = false;
let inflight = null; // {id, slot, waiters}
let seq = 0;
let newFrame = false;
let watching = false;
let latest = null; // the newest result: its mask is drawn over the frames that follow
const shownTimes = [];
const inferredTimes = [];
const inferTimes = [];
const captures = [];
const video = $("video");
const slots = [0, 1].map(() => {
  const canvas = document.createElement("canvas");
  return { canvas, ctx: canvas.getContext("2d", { willReadFrequently: true }) };
});
const shown = document.createElement("canvas"); // the camera frame on screen (live mode)
const shownCtx = shown.getContext("2d");

// Status lines go to #message; errors to #error (and stats.error) until the next success.
function say(text, isError = false) {
  $(isError ? "error" : "message").textContent = text;
  if (isError) stats.error = text;
}

function clearError() {
  $("error").textContent = "";
  stats.error = "";
}

function option(select, value) {
  return [...select.options].some((o) => o.value === value);
}

// ---- backend and worker ----------------------------------------------------------------

// A GPU adapter; `software` accepts a fallback (CPU-emulated) one, which auto never picks.
async function webgpuAvailable(software) {
  if (!("gpu" in navigator)) return false;
  try {
    const a = await navigator.gpu.requestAdapter();
    return a !== null && (software || !(a.isFallbackAdapter || a.info?.isFallbackAdapter));
  } catch {
    return false;
  }
}

let generation = 0; // the latest startWorker call wins (menus changed quickly)

async function startWorker(choice, threads) {
  const gen = ++generation;
  worker?.terminate();
  worker = null;
  ready = false;
  if (inflight) captures.unshift(...inflight.waiters); // they get the new worker's first frame
  inflight = null;
  let backend = choice;
  if (choice === "auto" || choice === "webgpu") {
    const gpu = await webgpuAvailable(choice === "webgpu");
    if (gen !== generation) return;
    if (choice === "webgpu" && !gpu) say("WebGPU is not available in this browser: using WASM");
    backend = gpu ? "webgpu" : "wasm";
  }
  stats.backend = `loading ${backend}`;
  worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  worker.onmessage = (e) => onWorker(e.data, backend, threads);
  worker.onerror = (e) => say(`worker failed: ${e.message || "see the console"}`, true);
  worker.postMessage({ type: "init", config, backend, threads });
}

function onWorker(msg, backend, threads) {
  if (msg.type === "ready") {
    ready = true;
    stats.backend = msg.backend;
    stats.threads = msg.threads;
    const thr = msg.backend === "wasm" ? `, ${msg.threads} thread${msg.threads === 1 ? "" : "s"}` : "";
    const iso = msg.isolated ? "" : " (not cross-origin isolated: one WASM thread)";
    say(`${msg.backend}${thr} ready in ${msg.loadMs.toFixed(0)} ms${iso}`);
    pump();
  } else if (msg.type === "status") {
    say(msg.text);
  } else if (msg.type === "result") {
    onResult(msg);
  } else if (msg.type === "error") {
    if (msg.stage === "init" && backend !== "wasm") {
      say(`${backend} failed (${msg.message}): using WASM`);
      startWorker("wasm", threads);
    } else {
      say(`inference failed: ${msg.message}`, true);
    }
  }
}

// ---- frames ------------------------------------------------------------------------------

function watchFrames() {
  const onFrame = () => {
    newFrame = true;
    if (!$("sync").checked) showLive();
    pump();
  };
  if ("requestVideoFrameCallback" in HTMLVideoElement.prototype) {
    const cb = () => {
      onFrame();
      video.requestVideoFrameCallback(cb);
    };
    video.requestVideoFrameCallback(cb);
  } else {
    let last = -1;
    const tick = () => {
      if (video.currentTime !== last) {
        last = video.currentTime;
        onFrame();
      }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }
}

// Live mode: this camera frame, with the newest mask.
function showLive() {
  if (video.readyState < 2 || !video.videoWidth) return;
  const w = video.videoWidth, h = video.videoHeight;
  if (shown.width !== w || shown.height !== h) {
    shown.width = w;
    shown.height = h;
  }
  shownCtx.drawImage(video, 0, 0, w, h);
  show(shown, latest);
}

function show(frame, result) {
  const t0 = performance.now();
  if (result) renderer.draw(frame, result, $("effect").value);
  else renderer.plain(frame);
  const now = performance.now();
  stats.drawMs = now - t0;
  stats.frames += 1;
  stats.fps = rate(shownTimes, now);
  stats.width = frame.width;
  stats.height = frame.height;
  const thr = stats.backend === "wasm" ? ` (${stats.threads} thr)` : "";
  $("readout").textContent = `${stats.fps.toFixed(1)} fps · network ${stats.inferFps.toFixed(1)}/s, ` +
    `${stats.inferMs.toFixed(1)} ms · ${stats.backend}${thr} · ${stats.width}x${stats.height}`;
}

// Events per second over the last 30 (timestamps kept in `times`).
function rate(times, now) {
  times.push(now);
  while (times.length > 30) times.shift();
  return times.length > 1 ? ((times.length - 1) * 1000) / (now - times[0]) : 0;
}

function pump() {
  if (!ready || inflight || !newFrame || video.readyState < 2 || !video.videoWidth) return;
  newFrame = false;
  const w = video.videoWidth, h = video.videoHeight;
  const id = ++seq;
  const slot = slots[id % 2]; // the other slot holds the frame being drawn (sync mode)
  if (slot.canvas.width !== w || slot.canvas.height !== h) {
    slot.canvas.width = w;
    slot.canvas.height = h;
  }
  const t0 = performance.now();
  slot.ctx.drawImage(video, 0, 0, w, h);
  const pixels = slot.ctx.getImageData(0, 0, w, h).data.buffer;
  stats.grabMs = performance.now() - t0;
  const waiters = captures.splice(0); // these scripts get this frame
  const capture = waiters.length > 0;
  inflight = { id, slot, waiters };
  worker.postMessage({ type: "frame", id, width: w, height: h, pixels, capture,
    smooth: $("smooth").checked, effect: $("effect").value }, [pixels]);
}

function onResult(r) {
  const done = inflight;
  if (!done || done.id !== r.id) return; // from a worker replaced meanwhile
  inflight = null;
  latest = r;
  const now = performance.now();
  stats.inferred += 1;
  stats.inferFps = rate(inferredTimes, now);
  stats.preMs = r.preMs;
  stats.postMs = r.postMs;
  inferTimes.push(r.inferMs);
  while (inferTimes.length > 30) inferTimes.shift();
  stats.inferMs = inferTimes.reduce((a, b) => a + b, 0) / inferTimes.length;
  const sorted = [...inferTimes].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  stats.inferMsMedian = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  pump();
  if ($("sync").checked) show(done.slot.canvas, r);
  else if (video.paused) showLive(); // no new frames will come to show this mask
  if (done.waiters.length && r.rawLabels) {
    const shot = {
      id: r.id, width: done.slot.canvas.width, height: done.slot.canvas.height,
      pixels: b64(new Uint8Array(r.pixels)), labels: b64(r.rawLabels),
      outWidth: config.output.width, outHeight: config.output.height,
    };
    done.waiters.forEach((resolve) => resolve(shot));
  }
}

function b64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** For scripts and tests: the next processed frame's RGBA pixels and its unsmoothed labels at
 * the model's output resolution (both base64), as the Python runtime would compute them. */
window.livesegCapture = () => new Promise((resolve) => captures.push(resolve));

// ---- sources -----------------------------------------------------------------------------

async function useCamera() {
  stopSource();
  try {
    video.srcObject = await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
  } catch (err) {
    say(`no webcam (${err.name || err}): pick a video file instead`, true);
    return;
  }
  stats.source = "webcam";
  await play();
}

async function useVideo(url, label) {
  stopSource();
  video.src = url;
  stats.source = label;
  await play();
}

function stopSource() {
  const s = video.srcObject;
  if (s) s.getTracks().forEach((t) => t.stop());
  video.srcObject = null;
  video.removeAttribute("src");
  worker?.postMessage({ type: "reset" });
}

async function play() {
  try {
    await video.play();
  } catch (err) {
    say(`the video does not play (${err.name || err})`, true);
    return;
  }
  clearError();
  if (!watching) {
    watching = true;
    watchFrames();
  }
}

// ---- controls ----------------------------------------------------------------------------

function setupControls() {
  const effect = params.get("effect") || config.effect;
  $("effect").value = EFFECTS.includes(effect) ? effect : "blur";
  $("smooth").checked = params.get("smooth") !== "0";
  $("sync").checked = params.get("sync") === "1";
  const backend = params.get("backend") || "auto";
  $("backend").value = option($("backend"), backend) ? backend : "auto";
  const cores = navigator.hardwareConcurrency || 1;
  for (const n of [...new Set([1, 2, 4, cores])].filter((n) => n <= cores).sort((a, b) => a - b)) {
    $("threads").add(new Option(String(n), String(n)));
  }
  const threads = params.get("threads") || "0";
  if (!option($("threads"), threads)) $("threads").add(new Option(threads, threads));
  $("threads").value = threads;
  const restart = () => startWorker($("backend").value, Number($("threads").value));
  $("backend").onchange = restart;
  $("threads").onchange = restart;
  $("smooth").onchange = () => worker?.postMessage({ type: "reset" });
  $("effect").onchange = () => (latest = null); // its mask may lack what the new effect draws
  $("source").onchange = () => ($("source").value === "camera" ? useCamera() : $("videoFile").click());
  $("videoFile").onchange = () => {
    const f = $("videoFile").files[0];
    if (f) useVideo(URL.createObjectURL(f), f.name);
  };
  $("bgButton").onclick = () => $("bgFile").click();
  $("bgFile").onchange = async () => {
    const f = $("bgFile").files[0];
    if (!f) return;
    renderer.setBackground(await createImageBitmap(f));
    $("effect").value = "replace";
  };
  return restart;
}

async function main() {
  try {
    config = await (await fetch("/model/config.json")).json();
  } catch (err) {
    say(`cannot read the model configuration: ${err}`, true);
    return;
  }
  stats.model = config.name;
  $("model").textContent = `${config.name} · ${config.input.width}x${config.input.height} · ${config.output.kind}`;
  renderer = new Renderer($("out"), config);
  const restart = setupControls();
  await restart();
  const url = params.get("video");
  if (url) {
    $("source").value = "file";
    await useVideo(url, url);
  } else {
    await useCamera();
  }
}

main();
