// Per-frame pre- and postprocessing of the page: liveseg.runtime.processing, line for line.
//
// Pure functions on typed arrays (no DOM), so the worker runs them and Node tests them against
// the Python runtime. `cfg` is the JSON that liveseg.web.config builds from the model card and
// the detected I/O (the same IOSpec `liveseg run` uses).
//
// Preprocess: exact halvings with OpenCV's INTER_AREA (2x2 mean, rounded) while the frame is
// at least twice the model input, then one bilinear resize with OpenCV's fixed-point
// arithmetic, then `pixel * a + b` per channel in float32 (a, b folded by Python from mean/std,
// colour order and input quantization), written in the model's layout.
// Postprocess: raw output -> (C, h, w) float32 probabilities at the model's output resolution
// (softmax of logits, one-hot of label maps, [1 - p, p] for 1-channel foreground maps).

const f32 = Math.fround;

// np.rint: round half to even.
function rint(v) {
  const r = Math.round(v);
  return (r - v === 0.5 && r % 2 !== 0) ? r - 1 : r;
}

// ---- resize ------------------------------------------------------------------------------
// Images are uint8 with `cs` values per pixel (4: RGBA as canvases give them, alpha ignored;
// 3: RGB); every function returns RGB.

/** Halve an image: OpenCV INTER_AREA for an exact factor 2 ((a+b+c+d+2) >> 2). */
export function halve(src, w, h, cs = 3) {
  const ow = w >> 1, oh = h >> 1;
  const out = new Uint8Array(ow * oh * 3);
  const row = w * cs, step = 2 * cs;
  let o = 0;
  for (let y = 0; y < oh; y++) {
    let a = 2 * y * row, b = a + row;
    for (let x = 0; x < ow; x++, a += step, b += step) {
      out[o++] = (src[a] + src[a + cs] + src[b] + src[b + cs] + 2) >> 2;
      out[o++] = (src[a + 1] + src[a + cs + 1] + src[b + 1] + src[b + cs + 1] + 2) >> 2;
      out[o++] = (src[a + 2] + src[a + cs + 2] + src[b + 2] + src[b + cs + 2] + 2) >> 2;
    }
  }
  return out;
}

// OpenCV's bilinear coefficients: source index and weight per destination index (half-pixel
// centres), as in cv::resize's INTER_LINEAR setup: columns are clamped at the borders, rows
// are not (their indices are clipped when read, as OpenCV does).
function linearTaps(dsize, ssize, clamp = true) {
  const scale = 1 / (dsize / ssize); // as OpenCV: 1 / inv_scale, in double
  const idx = new Int32Array(dsize), fr = new Float64Array(dsize);
  for (let d = 0; d < dsize; d++) {
    let fx = f32((d + 0.5) * scale - 0.5);
    let sx = Math.floor(fx);
    fx = f32(fx - sx);
    if (clamp && sx < 0) { fx = 0; sx = 0; }
    if (clamp && sx >= ssize - 1) { fx = 0; sx = ssize - 1; }
    idx[d] = sx;
    fr[d] = fx;
  }
  return { idx, fr };
}

const saturateShort = (v) => Math.max(-32768, Math.min(32767, rint(v)));

/** Bilinear resize with OpenCV's INTER_LINEAR fixed-point arithmetic for uint8 (11-bit
 * coefficients; a horizontal pass per source row, then the vertical blend), bit-exact. */
export function resizeLinear(src, w, h, W, H, cs = 3) {
  const ONE = 2048;
  const xs = linearTaps(W, w), ys = linearTaps(H, h, false);
  const x0 = new Int32Array(W), x1 = new Int32Array(W);
  const ax0 = new Int32Array(W), ax1 = new Int32Array(W);
  for (let x = 0; x < W; x++) {
    x0[x] = xs.idx[x] * cs;
    x1[x] = Math.min(xs.idx[x] + 1, w - 1) * cs;
    ax0[x] = saturateShort(f32(1 - xs.fr[x]) * ONE);
    ax1[x] = saturateShort(xs.fr[x] * ONE);
  }
  let rowA = new Int32Array(W * 3), rowB = new Int32Array(W * 3);
  let heldA = -1, heldB = -1;
  const hpass = (sy, r) => {
    const base = sy * w * cs;
    for (let x = 0, o = 0; x < W; x++, o += 3) {
      const p = base + x0[x], q = base + x1[x], a = ax0[x], b = ax1[x];
      r[o] = src[p] * a + src[q] * b;
      r[o + 1] = src[p + 1] * a + src[q + 1] * b;
      r[o + 2] = src[p + 2] * a + src[q + 2] * b;
    }
  };
  const out = new Uint8Array(W * H * 3);
  const n3 = W * 3;
  for (let y = 0; y < H; y++) {
    const s0 = Math.min(Math.max(ys.idx[y], 0), h - 1);
    const s1 = Math.min(Math.max(ys.idx[y] + 1, 0), h - 1);
    if (heldA !== s0) { // rows advance monotonically: reuse the previous second row
      if (heldB === s0) {
        [rowA, rowB] = [rowB, rowA];
        [heldA, heldB] = [heldB, heldA];
      } else {
        hpass(s0, rowA);
        heldA = s0;
      }
    }
    if (heldB !== s1) {
      if (s1 === s0) rowB.set(rowA);
      else hpass(s1, rowB);
      heldB = s1;
    }
    const b0 = saturateShort(f32(1 - ys.fr[y]) * ONE), b1 = saturateShort(ys.fr[y] * ONE);
    // OpenCV's vectorised vertical pass: ((b0*(S0>>4))>>16) + ((b1*(S1>>4))>>16) + 2 >> 2
    for (let i = 0, o = y * n3; i < n3; i++, o++) {
      const v = (((b0 * (rowA[i] >> 4)) >> 16) + ((b1 * (rowB[i] >> 4)) >> 16) + 2) >> 2;
      out[o] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return out;
}

/** liveseg's resize: halvings while at least twice the input, then one bilinear resize;
 * RGB out. */
export function resizeForModel(pixels, w, h, W, H, cs = 4) {
  let img = pixels;
  while (w >= 2 * W && h >= 2 * H && w % 2 === 0 && h % 2 === 0) {
    img = halve(img, w, h, cs);
    cs = 3;
    w >>= 1;
    h >>= 1;
  }
  if (w === W && h === H) {
    if (cs === 3) return img;
    const out = new Uint8Array(w * h * 3);
    for (let i = 0, j = 0, o = 0; i < w * h; i++, j += cs, o += 3) {
      out[o] = img[j];
      out[o + 1] = img[j + 1];
      out[o + 2] = img[j + 2];
    }
    return out;
  }
  return resizeLinear(img, w, h, W, H, cs);
}

/** Bilinear resize of a float map (OpenCV INTER_LINEAR on float32: no fixed point). */
export function resizeFloat(src, w, h, W, H) {
  if (w === W && h === H) return src;
  const xs = linearTaps(W, w), ys = linearTaps(H, h);
  const out = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    const sy = ys.idx[y], ny = Math.min(sy + 1, h - 1), fy = ys.fr[y];
    for (let x = 0; x < W; x++) {
      const sx = xs.idx[x], nx = Math.min(sx + 1, w - 1), fx = xs.fr[x];
      const top = src[sy * w + sx] * (1 - fx) + src[sy * w + nx] * fx;
      const bot = src[ny * w + sx] * (1 - fx) + src[ny * w + nx] * fx;
      out[y * W + x] = top * (1 - fy) + bot * fy;
    }
  }
  return out;
}

// ---- float16 -----------------------------------------------------------------------------

const f32buf = new Float32Array(1), u32buf = new Uint32Array(f32buf.buffer);

/** float -> IEEE half bits, round to nearest even. */
export function toHalf(v) {
  f32buf[0] = v;
  const x = u32buf[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1), mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = sign | (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
  return half;
}

/** IEEE half bits -> float. */
export function fromHalf(h) {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

// ---- preprocess --------------------------------------------------------------------------

/** A frame (RGBA or RGB uint8, w x h) -> the model's input tensor data (typed array in
 * cfg.input.dtype, cfg.input.dims). `prevFg` (Float32Array at output resolution) feeds the
 * 4th channel of previous-mask models (zeros without it). */
export function preprocess(pixels, w, h, cfg, prevFg = null, channels = 4) {
  const inp = cfg.input;
  const W = inp.width, H = inp.height, C = inp.channels;
  const small = resizeForModel(pixels, w, h, W, H, channels);
  const n = W * H;
  const vals = new Float32Array(n * C);
  const order = inp.color_order === "bgr" ? [2, 1, 0] : [0, 1, 2];
  const nchw = inp.layout === "nchw";
  for (let c = 0; c < 3; c++) {
    // pixel * a + b in float32, as numpy computes it: a table of the 256 possible values.
    const a = f32(inp.scale[c]), b = f32(inp.offset[c]);
    const lut = new Float32Array(256);
    for (let v = 0; v < 256; v++) lut[v] = f32(f32(v * a) + b);
    const end = 3 * n;
    if (nchw) {
      for (let i = order[c], o = c * n; i < end; i += 3) vals[o++] = lut[small[i]];
    } else {
      for (let i = order[c], o = c; i < end; i += 3, o += C) vals[o] = lut[small[i]];
    }
  }
  const q = inp.dtype === "uint8" || inp.dtype === "int8";
  if (q) {
    const [lo, hi] = inp.dtype === "uint8" ? [0, 255] : [-128, 127];
    for (let i = 0; i < vals.length; i++) vals[i] = Math.min(hi, Math.max(lo, rint(vals[i])));
  }
  if (C === 4) {
    let m = prevFg ? resizeFloat(prevFg, cfg.output.width, cfg.output.height, W, H) : null;
    const [scale, zp] = inp.quant || [1, 0];
    const [lo, hi] = inp.dtype === "uint8" ? [0, 255] : [-128, 127];
    for (let i = 0; i < n; i++) {
      let v = m ? m[i] : 0;
      if (q) v = Math.min(hi, Math.max(lo, rint(f32(v) / scale + zp)));
      vals[nchw ? 3 * n + i : i * C + 3] = v;
    }
  }
  if (inp.dtype === "float32") return vals;
  if (inp.dtype === "uint8") return Uint8Array.from(vals);
  if (inp.dtype === "int8") return Int8Array.from(vals);
  if (inp.dtype === "float16") return Uint16Array.from(vals, toHalf);
  throw new Error(`unsupported input type ${inp.dtype}`);
}

// ---- postprocess -------------------------------------------------------------------------

/** Raw output values as Numbers (BigInt64 labels, half bits decoded, quantization removed). */
export function decodeOutput(data, type, cfg) {
  const out = cfg.output;
  let vals;
  if (type === "float16" && data instanceof Uint16Array) vals = Float64Array.from(data, fromHalf);
  else if (typeof data[0] === "bigint") vals = Float64Array.from(data, Number);
  else vals = data;
  if (out.quant && out.kind !== "labels") {
    const [scale, zp] = out.quant.map(f32);
    const deq = new Float32Array(vals.length);
    for (let i = 0; i < vals.length; i++) deq[i] = f32(f32(vals[i] - zp) * scale);
    return deq;
  }
  return vals;
}

const sigmoid = (x) => 1 / (1 + Math.exp(-Math.max(-80, Math.min(80, x))));

/** Decoded output values -> (C, h, w) Float32Array probabilities, C = cfg.output.classes. */
export function toProbs(vals, cfg) {
  const { kind, layout, width: w, height: h, classes: C } = cfg.output;
  const n = w * h;
  if (vals.length !== n * (["labels", "fg_prob", "fg_logit"].includes(kind) ? 1 : C)) {
    throw new Error(`model output has ${vals.length} values, expected a ${w}x${h} ${kind} map`);
  }
  const p = new Float32Array(C * n);
  if (kind === "labels") {
    for (let i = 0; i < n; i++) {
      const lab = Math.min(C - 1, Math.max(0, rint(vals[i])));
      p[lab * n + i] = 1;
    }
    return p;
  }
  if (kind === "fg_prob" || kind === "fg_logit") {
    for (let i = 0; i < n; i++) {
      let v = kind === "fg_logit" ? sigmoid(vals[i]) : vals[i];
      v = Math.min(1, Math.max(0, v));
      p[n + i] = v;
      p[i] = 1 - f32(v);
    }
    return p;
  }
  const at = layout === "nhwc" ? (c, i) => vals[i * C + c] : (c, i) => vals[c * n + i];
  if (kind === "probs") {
    for (let c = 0; c < C; c++) for (let i = 0; i < n; i++) p[c * n + i] = at(c, i);
    return p;
  }
  if (C === 2) { // softmax of two = sigmoid of the difference
    const [i0, i1, st] = layout === "nhwc" ? [0, 1, 2] : [0, n, 1];
    for (let i = 0; i < n; i++) {
      const v = sigmoid(f32(vals[i1 + st * i] - vals[i0 + st * i]));
      p[n + i] = v;
      p[i] = 1 - f32(v);
    }
    return p;
  }
  for (let i = 0; i < n; i++) {
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, at(c, i));
    let s = 0;
    for (let c = 0; c < C; c++) {
      const e = Math.exp(at(c, i) - m);
      p[c * n + i] = e;
      s += e;
    }
    for (let c = 0; c < C; c++) p[c * n + i] /= s;
  }
  return p;
}

// ---- what the effects need ---------------------------------------------------------------

/** (h, w) arg-max labels (Uint8Array) of (C, h, w) probabilities; ties take the lower class. */
export function argmax(probs, C, n) {
  const lab = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0, bv = probs[i];
    for (let c = 1; c < C; c++) {
      const v = probs[c * n + i];
      if (v > bv) { bv = v; best = c; }
    }
    lab[i] = best;
  }
  return lab;
}

/** (h, w) probability of any of the classes `fg` (Prediction.foreground_small). */
export function foregroundSmall(probs, n, fg) {
  const out = new Float32Array(n);
  for (const c of fg) for (let i = 0; i < n; i++) out[i] += probs[c * n + i];
  return out;
}

/** Confidence-weighted average over time (liveseg.video.temporal's +smooth, without the flow
 * warp): weight of the new estimate = alpha + (1 - alpha) * confidence. */
export function smooth(fresh, prev, C, n, alpha) {
  if (!prev || prev.length !== fresh.length) return fresh;
  const out = new Float32Array(fresh.length);
  for (let i = 0; i < n; i++) {
    let top = 0;
    for (let c = 0; c < C; c++) top = Math.max(top, fresh[c * n + i]);
    const conf = Math.min(1, Math.max(0, (top - 1 / C) / (1 - 1 / C)));
    const wgt = alpha + (1 - alpha) * conf;
    for (let c = 0; c < C; c++) {
      const k = c * n + i;
      out[k] = wgt * fresh[k] + (1 - wgt) * prev[k];
    }
  }
  return out;
}

function gaussianKernel(sigma) {
  const size = Math.round(sigma * 4 * 2 + 1) | 1; // OpenCV's size for float images
  const k = new Float64Array(size), mid = (size - 1) / 2;
  let s = 0;
  for (let i = 0; i < size; i++) {
    k[i] = Math.exp(-((i - mid) ** 2) / (2 * sigma * sigma));
    s += k[i];
  }
  return k.map((v) => v / s);
}

// BORDER_REFLECT_101: ... 2 1 | 0 1 2 ... n-1 | n-2 n-3 ...
function reflect101(i, n) {
  if (n === 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
  return i;
}

// Source index of each padded position -r .. n-1+r (reflect-101 borders), precomputed so the
// inner loops below are plain multiply-adds.
function paddedIndex(n, r, stride) {
  const idx = new Int32Array(n + 2 * r);
  for (let i = 0; i < idx.length; i++) idx[i] = reflect101(i - r, n) * stride;
  return idx;
}

/** Separable Gaussian blur of a float map (cv2.GaussianBlur(map, (0, 0), sigma)). */
export function gaussianBlur(src, w, h, sigma) {
  const k = gaussianKernel(sigma), K = k.length, r = (K - 1) / 2;
  const tmp = new Float32Array(w * h), out = new Float32Array(w * h);
  const ix = paddedIndex(w, r, 1), iy = paddedIndex(h, r, w);
  for (let y = 0; y < h; y++) {
    const base = y * w;
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let j = 0; j < K; j++) s += k[j] * src[base + ix[x + j]];
      tmp[base + x] = s;
    }
  }
  for (let y = 0; y < h; y++) {
    const base = y * w;
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let j = 0; j < K; j++) s += k[j] * tmp[iy[y + j] + x];
      out[base + x] = s;
    }
  }
  return out;
}

/** Foreground alpha (uint8) at model resolution, feathered as the Python effects do. */
export function alpha8(probs, w, h, fg, feather) {
  let m = foregroundSmall(probs, w * h, fg);
  if (feather > 0) m = gaussianBlur(m, w, h, feather);
  const a = new Uint8Array(w * h);
  for (let i = 0; i < a.length; i++) a[i] = Math.min(255, rint(Math.abs(m[i] * 255)));
  return a;
}
