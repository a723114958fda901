// Runs the page's processing.mjs on the cases test_processing_js.py wrote and saves what it
// computes, so the test can compare it with the Python runtime. Usage: node run_processing.mjs
// MANIFEST.json
import fs from "fs";
import path from "path";
import { pathToFileURL } from "url";

const manifest = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const P = await import(pathToFileURL(manifest.module).href);
const dir = path.dirname(process.argv[2]);
const read = (name, Type) => {
  const b = fs.readFileSync(path.join(dir, name));
  return new Type(b.buffer, b.byteOffset, b.byteLength / Type.BYTES_PER_ELEMENT);
};
const TYPES = { float32: Float32Array, float16: Uint16Array, int64: BigInt64Array,
  int32: Int32Array, uint8: Uint8Array, int8: Int8Array };
const write = (name, arr) => fs.writeFileSync(path.join(dir, name),
  Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength));

for (const c of manifest.cases) {
  const cfg = c.config;
  const n = cfg.output.width * cfg.output.height, C = cfg.output.classes;
  const frame = read(c.frame, Uint8Array);
  const prev = c.prev_fg ? read(c.prev_fg, Float32Array) : null;
  write(c.id + ".js_input", P.preprocess(frame, c.width, c.height, cfg, prev, 4));
  const raw = read(c.raw, TYPES[c.raw_type]);
  const probs = P.toProbs(P.decodeOutput(raw, c.raw_type, cfg), cfg);
  write(c.id + ".js_probs", probs);
  write(c.id + ".js_labels", P.argmax(probs, C, n));
  write(c.id + ".js_alpha", P.alpha8(probs, cfg.output.width, cfg.output.height,
    cfg.foreground, cfg.feather));
  const prevProbs = read(c.prev_probs, Float32Array);
  write(c.id + ".js_smooth", P.smooth(probs, prevProbs, C, n, cfg.smooth_alpha));
}
