"""The three-line Python API.

    import liveseg
    m = liveseg.load("model-or-path.onnx")           # a shipped model name or a model file
    pred = m.segment(frame)                           # RGB uint8 (H, W, 3) in
    pred.labels()   # (H, W) uint8 class indices;  pred.probs: (C, h, w) float32 probabilities
    pred.foreground(["person"])   # (H, W) float32 soft alpha of those classes (names or indices)
    liveseg.process_video("in.mp4", "out.mp4", model=m)   # effect: blur or overlay, as the CLI
    rows = liveseg.process_batch(["clips/"], "out/", workers=2)  # on Ray (liveseg.batch)

Nothing heavy is imported by ``import liveseg``; these load ONNX Runtime, OpenCV and PyAV
when first called.
"""

from __future__ import annotations


class Model:
    """A loaded segmentation model (wraps ``liveseg.runtime.SegModel``)."""

    def __init__(self, seg_model):
        self._model = seg_model

    @property
    def card(self):
        return self._model.card

    @property
    def classes(self) -> list[str]:
        return list(self._model.card.classes)

    def segment(self, frame, prev=None):
        """Segment one RGB uint8 frame (gray and RGBA are accepted too) -> Prediction.

        ``pred.labels()`` gives (H, W) uint8 class indices at the frame's size,
        ``pred.probs`` the (C, h, w) class probabilities at the model's resolution, and
        ``pred.foreground()`` a soft (H, W) alpha of the model's foreground classes
        (``pred.foreground(["person", "car"])``: of those classes, by name or index).
        """
        import numpy as np

        from liveseg.runtime.processing import to_rgb

        return self._model.predict(to_rgb(np.asarray(frame)), prev)

    def __getattr__(self, name):  # card, preprocess, infer, postprocess, predict, describe...
        return getattr(self._model, name)

    def __repr__(self) -> str:
        return f"liveseg.Model({self._model!r})"


def load(
    model: str | None = None, engine: str = "auto", threads: int | None = None, **overrides
) -> Model:
    """Open a shipped model (by name; default: the shipped default) or a model file.

    ``overrides``: input_size=(W, H), mean=(r, g, b), std=(r, g, b), layout="nchw"|"nhwc",
    classes=[...] for models whose conventions cannot be detected.
    """
    from liveseg import zoo
    from liveseg.runtime import IOOverrides, load_model

    ov = IOOverrides(**overrides) if overrides else None
    return Model(
        load_model(model or zoo.DEFAULT_MODEL, engine=engine, threads=threads, overrides=ov)
    )


def process_video(input, output=None, *, model=None, effect="auto", options=None, **kwargs) -> dict:
    """Segment a whole video/stream/webcam/image folder and write ``output``.

    ``model``: a ``liveseg.load(...)`` result, or a name/path (default: the shipped default).
    ``effect``: overlay, blur, replace, matte, mask, side-by-side, or ``auto`` (the default,
    as in ``liveseg run``: blur for foreground models, overlay otherwise). The other options
    are those of ``liveseg run`` in Python spelling, as keywords (background, foreground,
    alpha, temporal, save_masks, show, overwrite, crf, preset, stats, max_frames, live, audio)
    or as one ``liveseg.video.options.RunOptions`` in ``options=`` (keywords win). Returns the
    run summary (frames, fps, stages...). On Ctrl-C, what was kept is said on stderr.
    """
    from liveseg.video.options import RunInterrupted, RunOptions
    from liveseg.video.runner import process_video as _run

    if model is None or isinstance(model, str):
        model = load(model)
    model = getattr(model, "_model", model)
    if options is None or effect != "auto":  # an options value keeps its effect unless named
        kwargs["effect"] = effect
    opts = RunOptions.from_kwargs(options, **kwargs)
    try:
        return _run(input, output, model=model, options=opts)
    except RunInterrupted as exc:
        import sys

        for n in exc.notes:
            print(f"liveseg: {n}", file=sys.stderr)
        raise
