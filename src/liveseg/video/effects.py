"""Effects: turn (frame, Prediction) into the output picture.

All effects work on RGB uint8 frames and are vectorised with OpenCV (which releases the GIL
and uses SIMD). Soft masks are built at the model's resolution (small), feathered there, and
upsampled once with bilinear interpolation; blends are uint8 fixed-point
(``cv2.multiply(..., scale=1/255)``), which measured ~2x faster than float blends and ~10x
faster than numpy uint16 arithmetic at 640x480 (see BENCHMARKS.md, "Pipeline").

``make_effect(name, card, ...)`` builds one; every effect is a callable
``effect(frame, pred) -> image`` with ``channels`` (3, or 4 for the RGBA matte) and ``close()``
(``liveseg.video.protocols.Effect``).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from liveseg.errors import ConfigError, InputError

EFFECTS = ("overlay", "blur", "replace", "matte", "mask", "side-by-side")


def parse_classes(text, card) -> list[int]:
    """``--foreground``/class list: names or indices, comma separated -> class indices."""
    if text is None:
        return default_foreground(card)
    if isinstance(text, str):
        names = [t for t in (s.strip() for s in text.split(",")) if t]
    else:
        names = list(text)
    if not names:
        raise ConfigError("--foreground is empty; give class names or indices, e.g. person,car")
    if not card.classes:
        raise ConfigError("this model has no class names; --foreground needs its classes")
    return card.class_indices(names)


def default_foreground(card) -> list[int]:
    """The card's ``foreground`` classes, else every class but the first (background)."""
    return card.default_foreground_indices()


def _palette_lut(card, num_classes: int) -> np.ndarray:
    from liveseg.card import default_palette

    pal = list(card.palette or [])
    if len(pal) < num_classes:
        pal = pal + default_palette(num_classes)[len(pal) :]
    lut = np.zeros((256, 3), np.uint8)
    lut[:num_classes] = np.asarray(pal[:num_classes], dtype=np.uint8).reshape(-1, 3)
    return lut


class _Base:
    """Base of the effects (``protocols.Effect``): every member has a default here."""

    channels = 3
    name = ""

    def __init__(self, card):
        self.card = card
        self._lut = None
        self._lut_n = -1

    def lut(self, n):
        if n != self._lut_n:
            self._lut = _palette_lut(self.card, n)
            self._lut_n = n
        return self._lut

    def out_size(self, h: int, w: int) -> tuple[int, int]:
        return h, w

    def color_map(self, pred, size, interp=cv2.INTER_LINEAR) -> np.ndarray:
        """Palette colours of the arg-max at model resolution, resized to ``size`` (h, w)."""
        small = self.lut(pred.num_classes)[pred.labels_small()]
        h, w = size
        if small.shape[:2] == (h, w):
            return small
        return cv2.resize(small, (w, h), interpolation=interp)

    def __call__(self, frame, pred):
        raise NotImplementedError

    def close(self) -> None:
        """Nothing to release (effects with a background video close it)."""


class _Matted(_Base):
    """Effects driven by a soft foreground alpha."""

    def __init__(self, card, classes, feather: float = 1.0):
        super().__init__(card)
        self.classes = list(classes)
        self.feather = float(feather)

    def alpha8(self, pred, h, w, channels=1) -> np.ndarray:
        """Foreground alpha as uint8 at frame size; feathered at model resolution, bilinear up.

        Same values as ``pred.foreground(classes)`` (bilinear from low resolution), with a
        small Gaussian at low resolution that softens the edges.
        """
        small = pred.foreground_small(self.classes)
        if self.feather > 0:
            small = cv2.GaussianBlur(small, (0, 0), self.feather)
        a = cv2.convertScaleAbs(small, alpha=255.0)  # saturating float -> uint8
        if channels == 3:
            a = cv2.merge((a, a, a))
        if a.shape[:2] != (h, w):
            a = cv2.resize(a, (w, h), interpolation=cv2.INTER_LINEAR)
        return a

    @staticmethod
    def composite(fg, bg, a3) -> np.ndarray:
        """fg * a + bg * (1 - a), uint8 fixed-point (a3: uint8 alpha with fg's channels)."""
        x = cv2.multiply(fg, a3, scale=1.0 / 255)
        y = cv2.multiply(bg, cv2.bitwise_not(a3), scale=1.0 / 255)
        return cv2.add(x, y)


class Overlay(_Base):
    name = "overlay"

    def __init__(self, card, alpha: float = 0.5):
        super().__init__(card)
        self.alpha = float(alpha)

    def __call__(self, frame, pred):
        h, w = frame.shape[:2]
        color = self.color_map(pred, (h, w))
        return cv2.addWeighted(frame, 1.0 - self.alpha, color, self.alpha, 0.0)


class Mask(_Base):
    name = "mask"

    def __call__(self, frame, pred):
        return self.color_map(pred, frame.shape[:2], interp=cv2.INTER_NEAREST)


class SideBySide(Overlay):
    name = "side-by-side"

    def out_size(self, h, w):
        return h, 2 * w

    def __call__(self, frame, pred):
        return np.hstack((frame, super().__call__(frame, pred)))


class Blur(_Matted):
    name = "blur"

    def __init__(self, card, classes, strength: float = 1.0, feather: float = 1.0):
        super().__init__(card, classes, feather)
        self.strength = float(strength)

    def background(self, frame):
        """Blur at low resolution (long side <= 160 px), upsample bilinearly."""
        h, w = frame.shape[:2]
        scale = min(1.0, 160.0 / max(h, w))
        sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
        small = frame
        # Exact halvings take OpenCV's fast INTER_AREA path (3x faster than one fractional
        # INTER_AREA resize at 640x480); the last step is bilinear (blurred right after).
        while (
            small.shape[1] >= 2 * sw
            and small.shape[0] >= 2 * sh
            and small.shape[1] % 2 == 0
            and small.shape[0] % 2 == 0
        ):
            small = cv2.resize(
                small, (small.shape[1] // 2, small.shape[0] // 2), interpolation=cv2.INTER_AREA
            )
        if small.shape[:2] != (sh, sw):
            small = cv2.resize(small, (sw, sh), interpolation=cv2.INTER_LINEAR)
        k = max(3, int(max(sw, sh) / 16 * self.strength) | 1)
        small = (
            cv2.stackBlur(small, (k, k)) if hasattr(cv2, "stackBlur") else cv2.blur(small, (k, k))
        )
        if (sh, sw) == (h, w):
            return small
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)

    def __call__(self, frame, pred):
        h, w = frame.shape[:2]
        return self.composite(frame, self.background(frame), self.alpha8(pred, h, w, 3))


def cover(img, h, w) -> np.ndarray:
    """Resize ``img`` to cover (h, w) keeping its aspect ratio, then centre-crop."""
    ih, iw = img.shape[:2]
    s = max(h / ih, w / iw)
    nh, nw = max(h, round(ih * s)), max(w, round(iw * s))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    r = cv2.resize(img, (nw, nh), interpolation=interp) if (nh, nw) != (ih, iw) else img
    y, x = (nh - h) // 2, (nw - w) // 2
    return np.ascontiguousarray(r[y : y + h, x : x + w])


class _BackgroundVideo:
    """A looping background video, decoded on demand with PyAV."""

    def __init__(self, path):
        import av

        self.path = str(path)
        try:
            self.container = av.open(self.path)
            if not self.container.streams.video:
                raise InputError(f"--background {path} has no video stream")
        except av.FFmpegError as exc:
            raise InputError(
                f"--background {path} is not a readable image or video: {exc}"
            ) from None
        self._it = None
        self.frames_read = 0

    def _frames(self):
        import av

        while True:
            n = 0
            try:
                for f in self.container.decode(video=0):
                    n += 1
                    yield f.to_ndarray(format="rgb24")
            except av.FFmpegError:
                pass
            if n == 0:
                raise InputError(f"--background {self.path} has no decodable frames")
            self.container.close()
            self.container = av.open(self.path)

    def next(self):
        if self._it is None:
            self._it = self._frames()
        self.frames_read += 1
        return next(self._it)

    def close(self):
        self.container.close()


class Replace(_Matted):
    name = "replace"

    def __init__(self, card, classes, background, feather: float = 1.0):
        super().__init__(card, classes, feather)
        if background is None:
            raise ConfigError("--effect replace needs --background IMAGE|VIDEO")
        path = Path(background)
        if not path.is_file():
            raise InputError(f"--background not found: {background}")
        from liveseg.images import is_image_path, read_image

        self.video = None
        self.image = None
        if is_image_path(path):
            self.image = read_image(path, "--background")
        else:
            self.video = _BackgroundVideo(path)
        self._cache = (None, None)

    def background(self, h, w):
        if self.video is not None:
            return cover(self.video.next(), h, w)
        if self._cache[0] != (h, w):
            self._cache = ((h, w), cover(self.image, h, w))
        return self._cache[1]

    def __call__(self, frame, pred):
        h, w = frame.shape[:2]
        return self.composite(frame, self.background(h, w), self.alpha8(pred, h, w, 3))

    def close(self):
        if self.video is not None:
            self.video.close()


class Matte(_Matted):
    """RGBA: the frame with the foreground alpha as its 4th channel."""

    name = "matte"
    channels = 4

    def __call__(self, frame, pred):
        h, w = frame.shape[:2]
        out = cv2.cvtColor(frame, cv2.COLOR_RGB2RGBA)
        out[:, :, 3] = self.alpha8(pred, h, w, 1)
        return out


def default_effect(card) -> str:
    """The effect when none is named (``liveseg run`` and ``liveseg.process_video`` alike):
    blur for foreground (subject) models, the class overlay for everything else."""
    return "blur" if card.task == "foreground" else "overlay"


def make_effect(
    name: str,
    card,
    foreground=None,
    alpha: float = 0.5,
    background=None,
    blur_strength: float = 1.0,
    feather: float = 1.0,
):
    """Build an effect by name (``auto``: ``default_effect(card)``); ``foreground`` is the
    --foreground text (or a list)."""
    if name == "auto":
        name = default_effect(card)
    if name not in EFFECTS:
        raise ConfigError(f"unknown effect {name!r}; choose one of: {', '.join(EFFECTS)} (or auto)")
    if not 0.0 <= float(alpha) <= 1.0:
        raise ConfigError(f"--alpha must be between 0 and 1, got {alpha}")
    classes = parse_classes(foreground, card)  # validates names even where unused
    if name == "overlay":
        return Overlay(card, alpha)
    if name == "mask":
        return Mask(card)
    if name == "side-by-side":
        return SideBySide(card, alpha)
    if name == "blur":
        return Blur(card, classes, blur_strength, feather)
    if name == "replace":
        return Replace(card, classes, background, feather)
    return Matte(card, classes, feather)
