// Inference off the main thread: one onnxruntime-web session, the runtime's pre/postprocessing
// (processing.mjs) and temporal smoothing. The page sends one frame at a time and the next
// only after this one's result, so nothing queues up here.
import * as P from "./processing.mjs";

let ort = null;
let session = null;
let cfg = null;
let prev = null; // last (smoothed) probabilities, for smoothing and previous-mask models

self.onmessage = async (event) => {
  const msg = event.data;
  try {
    if (msg.type === "init") await init(msg);
    else if (msg.type === "frame") await frame(msg);
    else if (msg.type === "reset") prev = null;
  } catch (err) {
    self.postMessage({ type: "error", id: msg.id, stage: msg.type, message: String(err?.message || err) });
  }
};

async function init({ config, backend, threads }) {
  cfg = config;
  // The WebGPU bundle carries its own WASM build; the plain WASM bundle is half the size.
  ort = await import(backend === "webgpu" ? "/ort/ort.webgpu.min.mjs" : "/ort/ort.wasm.min.mjs");
  ort.env.wasm.wasmPaths = "/ort/";
  if (threads > 0) ort.env.wasm.numThreads = threads; // else onnxruntime-web's own default
  ort.env.logLevel = "error";
  const t0 = performance.now();
  status(`loading ${cfg.file} for ${backend}…`);
  session = await ort.InferenceSession.create(cfg.model_url, {
    executionProviders: [backend],
    graphOptimizationLevel: "all",
  });
  status(`first ${backend} run (compiles kernels)…`);
  const { width: W, height: H } = cfg.input;
  await run(P.preprocess(new Uint8Array(W * H * 4), W, H, cfg)); // warm-up: kernels compiled now
  self.postMessage({
    type: "ready",
    backend,
    threads: self.crossOriginIsolated ? ort.env.wasm.numThreads : 1,
    isolated: self.crossOriginIsolated,
    loadMs: performance.now() - t0,
  });
}

function status(text) {
  self.postMessage({ type: "status", text });
}

async function run(data) {
  const inp = cfg.input;
  const feeds = { [inp.name]: new ort.Tensor(inp.dtype, data, inp.dims) };
  const results = await session.run(feeds);
  const name = cfg.output.name || session.outputNames[cfg.output.index];
  const out = results[name];
  const value = { data: out.data, type: out.type };
  for (const t of Object.values(results)) t.dispose?.();
  return value;
}

async function frame(msg) {
  const { width: w, height: h, classes: C } = cfg.output;
  const n = w * h;
  const t0 = performance.now();
  let prevFg = null;
  if (cfg.input.prev_mask && prev) {
    const fg = cfg.input.prev_mask_classes.filter((c) => c < C);
    prevFg = P.foregroundSmall(prev, n, fg.length ? fg : [C - 1]);
  }
  const x = P.preprocess(new Uint8Array(msg.pixels), msg.width, msg.height, cfg, prevFg);
  const t1 = performance.now();
  const out = await run(x);
  const t2 = performance.now();
  const fresh = P.toProbs(P.decodeOutput(out.data, out.type, cfg), cfg);
  const probs = msg.smooth ? P.smooth(fresh, prev, C, n, cfg.smooth_alpha) : fresh;
  prev = probs;
  // Only what the effect draws: class colours (overlay) or the feathered foreground alpha.
  const overlay = msg.effect === "overlay";
  const alpha = overlay ? null : P.alpha8(probs, w, h, cfg.foreground, cfg.feather);
  const labels = overlay ? P.argmax(probs, C, n) : null;
  const reply = {
    type: "result", id: msg.id, alpha, labels, pixels: msg.pixels,
    preMs: t1 - t0, inferMs: t2 - t1, postMs: performance.now() - t2,
  };
  // For scripts: this frame's labels before smoothing (what `liveseg run` computes per frame).
  if (msg.capture) reply.rawLabels = P.argmax(fresh, C, n);
  self.postMessage(reply, [alpha?.buffer, labels?.buffer, msg.pixels].filter(Boolean));
}
