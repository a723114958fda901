// The effects of liveseg.video.effects on a 2D canvas: blur, replace, overlay, matte.
//
// As in Python: the foreground alpha comes feathered at the model's resolution (worker) and is
// upsampled bilinearly (drawImage); the background is blurred at low resolution (long side
// <= 160 px, stack-blur-sized kernel) and upsampled; the composite is fg * a + bg * (1 - a).

function canvas2d(w, h, opts) {
  const c = document.createElement("canvas");
  c.width = w;
  c.height = h;
  return { canvas: c, ctx: c.getContext("2d", opts) };
}

function fit(layer, w, h) {
  if (layer.canvas.width !== w || layer.canvas.height !== h) {
    layer.canvas.width = w;
    layer.canvas.height = h;
  }
}

// Box blur of odd width k along rows (horizontal) or columns, edges replicated.
function boxPass(src, dst, w, h, k, horizontal) {
  const r = (k - 1) >> 1;
  const [len, lines, step, lineStep] = horizontal ? [w, h, 4, 4 * w] : [h, w, 4 * w, 4];
  for (let l = 0; l < lines; l++) {
    const base = l * lineStep;
    for (let c = 0; c < 3; c++) {
      let s = 0;
      for (let i = -r; i <= r; i++) s += src[base + Math.min(len - 1, Math.max(0, i)) * step + c];
      for (let i = 0; i < len; i++) {
        dst[base + i * step + c] = s / k;
        const out = Math.max(0, i - r), inn = Math.min(len - 1, i + r + 1);
        s += src[base + inn * step + c] - src[base + out * step + c];
      }
    }
    for (let i = 0; i < len; i++) dst[base + i * step + 3] = 255;
  }
}

/** cv2.stackBlur with kernel size k (odd) on RGBA data, as two box passes per axis: a stack
 * blur's kernel is a triangle of width k, two boxes of width (k + 1) / 2 (made odd: the pair
 * around it when even, same spread). */
export function stackBlur(data, w, h, k) {
  const m = (k + 1) >> 1;
  const [b1, b2] = m % 2 ? [m, m] : [m - 1, m + 1];
  const tmp = new Uint8ClampedArray(data.length);
  for (const horizontal of [true, false]) {
    boxPass(data, tmp, w, h, b1, horizontal);
    boxPass(tmp, data, w, h, b2, horizontal);
  }
  return data;
}

export class Renderer {
  constructor(canvas, config) {
    this.out = canvas;
    this.ctx = canvas.getContext("2d");
    this.cfg = config;
    const { width, height } = config.output;
    this.mask = canvas2d(width, height); // alpha (or class colours) at model resolution
    this.maskData = new ImageData(width, height);
    this.fg = canvas2d(1, 1);
    this.small = canvas2d(1, 1, { willReadFrequently: true });
    this.bgImage = null;
    this.bgCover = canvas2d(1, 1);
    this.bgKey = "";
    this.lut = config.palette;
  }

  setBackground(image) {
    this.bgImage = image;
    this.bgKey = "";
  }

  // The frame as it is (no mask yet).
  plain(frame) {
    fit({ canvas: this.out }, frame.width, frame.height);
    this.ctx.globalAlpha = 1;
    this.ctx.globalCompositeOperation = "copy";
    this.ctx.drawImage(frame, 0, 0);
    this.ctx.globalCompositeOperation = "source-over";
  }

  draw(frame, result, effect) {
    const w = frame.width, h = frame.height;
    fit({ canvas: this.out }, w, h);
    const ctx = this.ctx;
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "low"; // bilinear, like cv2.INTER_LINEAR
    ctx.globalAlpha = 1;
    ctx.globalCompositeOperation = "source-over";
    if ((effect === "overlay" && !result.labels) || (effect !== "overlay" && !result.alpha)) {
      ctx.drawImage(frame, 0, 0); // the effect changed while this frame was out
      return;
    }
    if (effect === "overlay") {
      ctx.drawImage(frame, 0, 0);
      this.colours(result.labels);
      ctx.globalAlpha = this.cfg.overlay_alpha;
      ctx.drawImage(this.mask.canvas, 0, 0, w, h);
      ctx.globalAlpha = 1;
      return;
    }
    this.foreground(frame, result.alpha, w, h);
    if (effect === "matte") {
      ctx.clearRect(0, 0, w, h); // transparent: the page's checkerboard shows through
    } else if (effect === "replace") {
      ctx.drawImage(this.coverBackground(w, h), 0, 0);
    } else {
      ctx.drawImage(this.blurred(frame, w, h), 0, 0, w, h);
    }
    ctx.drawImage(this.fg.canvas, 0, 0);
  }

  // The frame with the upsampled foreground alpha as its alpha channel.
  foreground(frame, alpha, w, h) {
    const d = this.maskData.data;
    for (let i = 0; i < alpha.length; i++) d[4 * i + 3] = alpha[i];
    this.mask.ctx.putImageData(this.maskData, 0, 0);
    fit(this.fg, w, h);
    const f = this.fg.ctx;
    f.globalCompositeOperation = "copy";
    f.imageSmoothingEnabled = true;
    f.imageSmoothingQuality = "low";
    f.drawImage(this.mask.canvas, 0, 0, w, h);
    f.globalCompositeOperation = "source-in";
    f.drawImage(frame, 0, 0);
  }

  colours(labels) {
    const d = this.maskData.data;
    for (let i = 0; i < labels.length; i++) {
      const c = this.lut[labels[i]] || [0, 0, 0];
      d[4 * i] = c[0];
      d[4 * i + 1] = c[1];
      d[4 * i + 2] = c[2];
      d[4 * i + 3] = 255;
    }
    this.mask.ctx.putImageData(this.maskData, 0, 0);
    for (let i = 0; i < labels.length; i++) d[4 * i] = d[4 * i + 1] = d[4 * i + 2] = 0;
  }

  blurred(frame, w, h) {
    const scale = Math.min(1, 160 / Math.max(w, h));
    const sw = Math.max(1, Math.round(w * scale)), sh = Math.max(1, Math.round(h * scale));
    fit(this.small, sw, sh);
    const s = this.small.ctx;
    s.imageSmoothingEnabled = true;
    s.imageSmoothingQuality = "medium"; // area-like shrink
    s.drawImage(frame, 0, 0, sw, sh);
    const img = s.getImageData(0, 0, sw, sh);
    const k = Math.max(3, Math.floor((Math.max(sw, sh) / 16) * this.cfg.blur_strength) | 1);
    stackBlur(img.data, sw, sh, k);
    s.putImageData(img, 0, 0);
    return this.small.canvas;
  }

  // Replace: the chosen image resized to cover the frame and centre-cropped (effects.cover);
  // a plain grey until the user picks one.
  coverBackground(w, h) {
    const key = `${w}x${h}`;
    if (this.bgKey === key) return this.bgCover.canvas;
    fit(this.bgCover, w, h);
    const c = this.bgCover.ctx;
    if (!this.bgImage) {
      c.fillStyle = "#5b6770";
      c.fillRect(0, 0, w, h);
    } else {
      const iw = this.bgImage.width, ih = this.bgImage.height;
      const s = Math.max(h / ih, w / iw);
      const nw = Math.max(w, Math.round(iw * s)), nh = Math.max(h, Math.round(ih * s));
      c.imageSmoothingEnabled = true;
      c.imageSmoothingQuality = "high";
      c.drawImage(this.bgImage, -Math.floor((nw - w) / 2), -Math.floor((nh - h) / 2), nw, nh);
    }
    this.bgKey = key;
    return this.bgCover.canvas;
  }
}
