"""Post-training quantization of ONNX models with ONNX Runtime (static QDQ and dynamic).

The default recipe is the one that is fastest on x86 CPUs without VNNI (measured, see
BENCHMARKS.md): ``quant_pre_process`` (symbolic shape inference + ORT basic fusions), then
static quantization in QDQ format with **uint8 activations** (asymmetric, calibrated) and
**int8 per-channel symmetric weights**, by default with ORT's ``reduce_range`` (weights on a
+-64 grid): x86 CPUs without VNNI multiply u8 x s8 in pairs summed into saturating int16
(vpmaddubsw), which wrecked the stem conv of a CamVid DeepLabV3+ (-8.5 mIoU) with full-range
weights. Calibration images come from an image folder, a glob,
or a data-set spec (``camvid:ROOT[:split]``, ``davis:ROOT``), and are preprocessed exactly as
the runtime does (the model card's input size, mean/std, layout; through
``liveseg.runtime`` when it can load the model, otherwise the same recipe here).

Everything that writes goes through a temporary file in the output folder that is renamed
into place, so a failed quantization never leaves a broken model behind. This module imports
no torch.
"""

from __future__ import annotations

import glob
import json
import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from liveseg.atomic import atomic_output
from liveseg.card import ModelCard, card_path_for
from liveseg.errors import ConfigError, InputError, ModelError, OutputError
from liveseg.images import IMAGE_EXTS, read_image

QUANT_METADATA_KEY = "liveseg.quantization"
METHODS = ("minmax", "entropy", "percentile")
ACTIVATION_TYPES = ("uint8", "int8")
# Ops whose exclusion matters for accuracy and that "first"/"last" refer to.
COMPUTE_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")


TARGET_CPUS = ("host", "avx2", "vnni", "arm")


def reduce_range_for(target: str = "host") -> tuple[bool, str]:
    """Whether int8 weights should use ORT's reduce_range (+-64) for ``target``, and why.

    reduce_range exists only for x86 CPUs without VNNI, whose u8 x s8 kernels add products
    pairwise in saturating int16 (``vpmaddubsw``). VNNI (AVX-512 VNNI, AVX-VNNI), AMX-INT8 and
    ARM's dot-product instructions accumulate in int32, so full-range int8 weights are safe
    there and keep one more bit. ``target``: ``host`` (this machine's CPU), ``avx2`` (x86 without
    VNNI), ``vnni`` (x86 with VNNI or AMX), ``arm``."""
    if target not in TARGET_CPUS:
        raise ConfigError(f"--target-cpu must be one of {', '.join(TARGET_CPUS)}, got {target!r}")
    if target == "avx2":
        return True, "target avx2: u8 x s8 products saturate in int16 pairs without VNNI"
    if target == "vnni":
        return False, "target vnni: VNNI/AMX accumulate u8 x s8 products in int32"
    if target == "arm":
        return False, "target arm: dot-product instructions accumulate in int32"
    from liveseg.sysinfo import cpu_features

    f = cpu_features()
    if f["arch"] == "arm":
        return False, "this CPU is ARM: int8 products accumulate in int32"
    if f["int8_dot"]:
        have = [k for k in ("AVX-512 VNNI", "AVX-VNNI", "AMX-INT8") if f["isa"].get(k)]
        return False, f"this CPU has {', '.join(have) or 'VNNI'}: no int16 saturation"
    return True, "this CPU has no VNNI/AMX: u8 x s8 products saturate in int16 pairs"


# ---------------------------------------------------------------------------------------------
# Model + card helpers
# ---------------------------------------------------------------------------------------------
def load_onnx(path):
    """Load an ONNX model or raise ModelError with one line."""
    import onnx

    path = Path(path)
    if not path.is_file():
        raise InputError(f"model not found: {path}")
    try:
        return onnx.load(str(path))
    except Exception as exc:  # noqa: BLE001 - protobuf DecodeError, OSError, ...
        raise ModelError(f"{path} is not a readable ONNX model ({type(exc).__name__})") from None


def graph_inputs(model) -> list:
    inits = {i.name for i in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in inits]


def input_shape(model) -> list:
    """The single input's shape, with None for symbolic dims."""
    ins = graph_inputs(model)
    if len(ins) != 1:
        raise ModelError(
            f"quantization supports single-input image models; this one has {len(ins)} inputs "
            f"({', '.join(i.name for i in ins)})"
        )
    dims = ins[0].type.tensor_type.shape.dim
    return [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in dims]


def read_card(model_path, model=None) -> ModelCard | None:
    """The card embedded in the ONNX metadata, else the JSON beside the file, else None."""
    model = model if model is not None else load_onnx(model_path)
    meta = {p.key: p.value for p in model.metadata_props}
    card = ModelCard.from_onnx_metadata(meta)
    if card is None and card_path_for(model_path).is_file():
        card = ModelCard.load(card_path_for(model_path))
    return card


def card_for_model(model_path, model=None) -> ModelCard:
    """The model's card, checked against its input shape; a default card for bare models."""
    model = model if model is not None else load_onnx(model_path)
    shape = input_shape(model)
    if len(shape) != 4:
        raise ModelError(f"expected a 4-D image input (N,C,H,W or N,H,W,C), got shape {shape}")
    card = read_card(model_path, model)
    if card is None:
        # A third-party model without a card: take the size from the graph when it is static.
        nhwc = shape[3] in (1, 3, 4) and shape[1] not in (1, 3, 4)
        h, w = (shape[1], shape[2]) if nhwc else (shape[2], shape[3])
        if not h or not w:
            raise ModelError(
                f"{model_path} has no liveseg card and a dynamic input size; "
                f"write a card beside it ({card_path_for(model_path).name}) giving input_size"
            )
        card = ModelCard(name=Path(model_path).stem, input_size=[w, h],
                         layout="nhwc" if nhwc else "nchw")
    h, w = (shape[1], shape[2]) if card.layout == "nhwc" else (shape[2], shape[3])
    cw, ch = card.input_size
    if (h and h != ch) or (w and w != cw):
        raise ModelError(
            f"input size mismatch: the model's input is {w}x{h} but its card says {cw}x{ch}; "
            f"fix the card's input_size"
        )
    return card


def count_ops(model) -> dict:
    counts: dict = {}
    for n in model.graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    return counts


# ---------------------------------------------------------------------------------------------
# Calibration data
# ---------------------------------------------------------------------------------------------
def _images_in(folder: Path, recursive=False) -> list[Path]:
    it = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in it if p.suffix.lower() in IMAGE_EXTS and p.is_file())


def list_calibration_images(spec) -> list[Path]:
    """Image paths from a folder, a glob, or a data-set spec.

    Data-set specs: ``camvid:ROOT[:split]`` (default split ``train``: never calibrate on the
    split you evaluate on), ``davis:ROOT`` (frames of the clips in ImageSets/train.txt).
    """
    spec = str(spec)
    kind, _, rest = spec.partition(":")
    readers = _dataset_readers()
    if kind.lower() in readers and kind.lower() not in ("camvid", "davis", "folder") and rest:
        root, _, split = rest.partition(":")
        samples = readers[kind.lower()](root, split or "train")[0]
        images = [Path(s.image) for s in samples]
    elif kind.lower() == "camvid" and rest:
        root, _, split = rest.partition(":")
        folder = Path(root) / (split or "train")
        if not folder.is_dir():
            raise InputError(f"CamVid split folder not found: {folder}")
        images = _images_in(folder)
    elif kind.lower() == "davis" and rest:
        root = Path(rest)
        jpeg = root / "JPEGImages"
        if not jpeg.is_dir():
            raise InputError(f"DAVIS folder has no JPEGImages/: {root}")
        listing = root / "ImageSets" / "train.txt"
        clips = listing.read_text().split() if listing.is_file() else None
        images = []
        for clip in sorted(p for p in jpeg.iterdir() if p.is_dir()):
            if clips is None or clip.name in clips:
                images.extend(_images_in(clip))
    elif any(ch in spec for ch in "*?["):
        images = sorted(Path(p) for p in glob.glob(spec, recursive=True)
                        if Path(p).suffix.lower() in IMAGE_EXTS)
        if not images:
            raise InputError(f"calibration pattern {spec!r} matches no images")
    else:
        folder = Path(spec)
        if not folder.exists():
            raise InputError(f"calibration folder not found: {folder}")
        if not folder.is_dir():
            if folder.suffix.lower() in IMAGE_EXTS:
                return [folder]
            raise InputError(f"calibration data must be an image folder or glob, got file {folder}")
        try:
            images = _images_in(folder)
        except PermissionError:
            raise InputError(f"calibration folder is not readable: {folder}") from None
    if not images:
        raise InputError(
            f"no calibration images in {spec} (looked for {', '.join(sorted(IMAGE_EXTS))})"
        )
    return images


def _dataset_readers() -> dict:
    try:
        from liveseg.data import READERS
    except ImportError:
        return {}
    return dict(READERS)


def pick_evenly(items: list, n: int | None) -> list:
    """n items spread evenly over the list (deterministic; sequences are not over-sampled)."""
    if not n or n >= len(items):
        return list(items)
    idx = np.linspace(0, len(items) - 1, n).round().astype(int)
    return [items[i] for i in dict.fromkeys(idx.tolist())]


def read_rgb(path) -> np.ndarray | None:
    """The image as RGB uint8 (``liveseg.images.read_image``); None when it cannot be read
    (the calibration reader counts those and goes on)."""
    try:
        return read_image(path)
    except InputError:
        return None


def card_preprocess(card: ModelCard):
    """frame RGB uint8 (H,W,3) -> float32 batch tensor, following the card.

    The same recipe as the runtime's preprocess: resize to the card's input size (area when
    shrinking, bilinear otherwise),
    scale to [0,1], subtract mean, divide by std, NCHW or NHWC, a zero previous-mask channel
    for ``prev_mask_input`` models.
    """
    import cv2

    w, h = card.input_size
    mean = np.asarray(card.mean, np.float32)
    std = np.asarray(card.std, np.float32)

    def pre(frame):
        shrink = frame.shape[1] > w or frame.shape[0] > h
        x = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        if card.color_order == "bgr":
            x = x[..., ::-1]
        x = (x.astype(np.float32) / 255.0 - mean) / std
        if card.prev_mask_input:
            x = np.concatenate([x, np.zeros((h, w, 1), np.float32)], axis=2)
        if card.layout == "nchw":
            x = x.transpose(2, 0, 1)
        return np.ascontiguousarray(x[None], dtype=np.float32)

    return pre


def make_preprocess(model_path, card: ModelCard):
    """The runtime's preprocess for this model when liveseg.runtime can load it, else ours."""
    from liveseg.runtime import load_model

    try:
        rt = load_model(str(model_path), engine="onnxruntime", threads=1)
    except Exception as exc:  # noqa: BLE001 - fall back to the card recipe, say so
        logging.getLogger(__name__).info("runtime preprocess unavailable (%s); using card recipe", exc)
        return card_preprocess(card)

    def pre(frame):
        x = rt.preprocess(frame)
        return np.asarray(x, dtype=np.float32)

    return pre


class ImageCalibrationReader:
    """An ORT CalibrationDataReader over image files (preprocessed lazily, rewindable)."""

    def __init__(self, images, input_name, preprocess):
        self.images = list(images)
        self.input_name = input_name
        self.preprocess = preprocess
        self.unreadable: list[Path] = []
        self._cache: list[np.ndarray] | None = None
        self._pos = 0

    def tensors(self) -> list[np.ndarray]:
        if self._cache is None:
            out = []
            for p in self.images:
                frame = read_rgb(p)
                if frame is None:
                    self.unreadable.append(Path(p))
                    continue
                out.append(self.preprocess(frame))
            if not out:
                raise InputError(
                    f"none of the {len(self.images)} calibration images could be read "
                    f"(first: {self.images[0] if self.images else '-'})"
                )
            self._cache = out
        return self._cache

    def __len__(self):
        return len(self.tensors())

    def get_next(self):
        data = self.tensors()
        if self._pos >= len(data):
            return None
        self._pos += 1
        return {self.input_name: data[self._pos - 1]}

    def rewind(self):
        self._pos = 0

    # ORT's CalibStridedMinMax protocol
    def set_range(self, start_index, end_index):
        self._pos = start_index


def calibration_reader(model_path, calib, samples=64, card=None, model=None):
    model = model if model is not None else load_onnx(model_path)
    card = card or card_for_model(model_path, model)
    images = pick_evenly(list_calibration_images(calib), samples)
    reader = ImageCalibrationReader(images, graph_inputs(model)[0].name,
                                    make_preprocess(model_path, card))
    reader.tensors()  # read now: errors surface before any quantization work
    return reader


# ---------------------------------------------------------------------------------------------
# Exclusions
# ---------------------------------------------------------------------------------------------
def resolve_exclusions(model, tokens) -> list[str]:
    """Node names to keep in float from tokens: ``first``, ``last``, an op type (``Resize``,
    ``Softmax``: every node of that type) or a node name."""
    tokens = [t.strip() for t in (tokens or []) if t and t.strip()]
    nodes = list(model.graph.node)  # ONNX graphs are topologically sorted
    compute = [n for n in nodes if n.op_type in COMPUTE_OPS]
    by_name = {n.name: n for n in nodes if n.name}
    op_types = {n.op_type.lower(): n.op_type for n in nodes}
    out: list[str] = []
    for tok in tokens:
        low = tok.lower()
        if low in ("first", "last"):
            if not compute:
                raise ConfigError(f"--exclude {tok}: the model has no {'/'.join(COMPUTE_OPS)} node")
            out.append((compute[0] if low == "first" else compute[-1]).name)
        elif tok in by_name:
            out.append(tok)
        elif low in op_types:
            out.extend(n.name for n in nodes if n.op_type == op_types[low])
        else:
            import difflib

            close = difflib.get_close_matches(tok, list(by_name), n=3, cutoff=0.5)
            hint = f"; did you mean: {', '.join(close)}" if close else ""
            raise ConfigError(
                f"--exclude {tok!r} is not 'first', 'last', an op type or a node name of "
                f"the model{hint} (node names: liveseg quantize MODEL --list-nodes)"
            )
    return list(dict.fromkeys(out))


# ---------------------------------------------------------------------------------------------
# Atomic output
# ---------------------------------------------------------------------------------------------
def check_output(model_path, output, overwrite) -> Path:
    output = Path(output)
    if output.resolve() == Path(model_path).resolve():
        raise OutputError(f"refusing to overwrite the input model {model_path}; choose another -o")
    if output.exists() and not overwrite:
        raise OutputError(f"{output} exists; pass --overwrite to replace it")
    if not output.parent.exists():
        raise OutputError(f"output folder does not exist: {output.parent}")
    card_out = card_path_for(output)
    if card_out.resolve() == card_path_for(model_path).resolve():
        raise OutputError(f"{card_out} is the input's card; choose another -o")
    return output


def save_with_card(model, output, card: ModelCard, quant_info: dict):
    """Embed card + quantization note, write model and JSON card atomically."""
    import onnx

    output = Path(output)
    card.embed_in_onnx(model)
    for prop in list(model.metadata_props):
        if prop.key == QUANT_METADATA_KEY:
            model.metadata_props.remove(prop)
    entry = model.metadata_props.add()
    entry.key = QUANT_METADATA_KEY
    entry.value = json.dumps(quant_info)
    with atomic_output(output) as tmp:
        onnx.save(model, str(tmp))
    card.save(card_path_for(output))


def derived_card(card: ModelCard, suffix: str, note: str) -> ModelCard:
    d = card.to_dict()
    d["name"] = f"{card.name}-{suffix}" if not card.name.endswith(f"-{suffix}") else card.name
    d["notes"] = (card.notes + " | " if card.notes else "") + note
    # Metrics/latency were measured on the float model; keep them, labelled as such.
    if d.get("metrics"):
        d["metrics"] = {"float_model": d["metrics"]}
    if d.get("latency"):
        d["latency"] = {"float_model": d["latency"]}
    return ModelCard.from_dict(d)


# ---------------------------------------------------------------------------------------------
# Static QDQ quantization
# ---------------------------------------------------------------------------------------------
@dataclass
class QuantizeResult:
    output: Path
    card: ModelCard
    info: dict
    seconds: float
    size_bytes: int
    ops: dict = field(default_factory=dict)


def preprocess_for_quant(model_path, out_path):
    """ORT's quant_pre_process (symbolic shape inference + basic graph optimization)."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    # quant_pre_process logs whole tracebacks at ERROR level before raising: keep them quiet,
    # the user gets one line (and --debug the exception).
    log = logging.getLogger("onnxruntime.quantization.shape_inference")
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        quant_pre_process(str(model_path), str(out_path), skip_symbolic_shape=False)
    except Exception:  # noqa: BLE001 - symbolic inference fails on some graphs: retry without
        try:
            quant_pre_process(str(model_path), str(out_path), skip_symbolic_shape=True)
        except Exception as exc:  # noqa: BLE001
            raise ModelError(
                f"ONNX Runtime cannot pre-process {Path(model_path).name} for quantization: "
                f"{_first_line(exc)}"
            ) from None
    finally:
        log.setLevel(level)


def _first_line(exc) -> str:
    """One line from an exception; long ORT messages keep their head and their tail."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    if len(text) > 300:
        text = text[:80] + " ... " + text[-200:]
    return f"{type(exc).__name__}: {text}"


def _qtype(name):
    from onnxruntime.quantization import QuantType

    return {"uint8": QuantType.QUInt8, "int8": QuantType.QInt8}[name]


def _calib_method(method):
    from onnxruntime.quantization import CalibrationMethod

    if method not in METHODS:
        raise ConfigError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    return {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
            "percentile": CalibrationMethod.Percentile}[method]


def run_quantize_static(pre_path, out_path, reader, *, method="minmax", per_channel=True,
                        activation_type="uint8", exclude_nodes=(), nodes_to_quantize=None,
                        tensor_overrides=None, calib_cache=None, percentile=99.999,
                        reduce_range=False):
    """ORT quantize_static in QDQ format; ORT errors become ModelError."""
    from onnxruntime.quantization import QuantFormat, quantize_static

    if activation_type not in ACTIVATION_TYPES:
        raise ConfigError(f"--activation-type must be uint8 or int8, got {activation_type!r}")
    extra = {"ActivationSymmetric": False, "WeightSymmetric": True}
    if method == "percentile":
        extra["CalibPercentile"] = percentile
    if tensor_overrides:
        extra["TensorQuantOverrides"] = tensor_overrides
    if reader is not None:
        reader.rewind()
    import contextlib
    import io

    try:
        with contextlib.redirect_stdout(io.StringIO()):  # histogram calibrators print progress
            quantize_static(
                str(pre_path), str(out_path), reader,
                quant_format=QuantFormat.QDQ,
                per_channel=per_channel,
                reduce_range=reduce_range,
                activation_type=_qtype(activation_type),
                weight_type=_qtype("int8"),
                nodes_to_exclude=list(exclude_nodes),
                nodes_to_quantize=list(nodes_to_quantize or []),
                calibrate_method=_calib_method(method),
                extra_options=extra,
                calibration_cache_path=calib_cache,
            )
    except (InputError, ConfigError):
        raise
    except Exception as exc:  # noqa: BLE001 - ORT raises many kinds; one line for the user
        raise ModelError(f"ONNX Runtime could not quantize the model: {_first_line(exc)}") from None


def quantize_model(model_path, output, calib, *, method="minmax", samples=64, exclude=(),
                   per_channel=True, activation_type="uint8", overwrite=False,
                   tensor_overrides=None, note_extra="", reduce_range=True) -> QuantizeResult:
    """Static int8 PTQ (QDQ): the whole `liveseg quantize` path, atomic and checked.

    ``tensor_overrides``: ORT TensorQuantOverrides ({tensor: [{"rmin": .., "rmax": ..}]}), or a
    callable building them from the pre-processed ONNX model (QAT pins its learned ranges).
    """
    import onnx

    t0 = time.perf_counter()
    model = load_onnx(model_path)
    output = check_output(model_path, output, overwrite)
    card = card_for_model(model_path, model)
    if method not in METHODS:
        raise ConfigError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    if activation_type not in ACTIVATION_TYPES:
        raise ConfigError(f"--activation-type must be uint8 or int8, got {activation_type!r}")
    reader = calibration_reader(model_path, calib, samples, card, model)
    with tempfile.TemporaryDirectory(prefix="liveseg-quant-") as tmp:
        pre = Path(tmp) / "pre.onnx"
        preprocess_for_quant(model_path, pre)
        pre_model = onnx.load(str(pre))
        excluded = resolve_exclusions(pre_model, exclude)
        if callable(tensor_overrides):  # ranges known by layer (QAT): names from this graph
            tensor_overrides = tensor_overrides(pre_model)
        qpath = Path(tmp) / "q.onnx"
        run_quantize_static(pre, qpath, reader, method=method, per_channel=per_channel,
                            activation_type=activation_type, exclude_nodes=excluded,
                            tensor_overrides=tensor_overrides, reduce_range=reduce_range)
        qmodel = onnx.load(str(qpath))
    ops = count_ops(qmodel)
    if not ops.get("QuantizeLinear"):
        raise ModelError("nothing in this model could be quantized (no Conv/MatMul/... nodes "
                         "ONNX Runtime quantizes, or all of them excluded)")
    _check_runs(qmodel, reader)
    info = {
        "format": "int8-qdq",
        "tool": "onnxruntime.quantization.quantize_static",
        "activations": f"{activation_type} per-tensor asymmetric",
        "weights": ("int7 (reduce_range) " if reduce_range else "int8 ")
        + ("per-channel" if per_channel else "per-tensor") + " symmetric",
        "calibration": {"method": method, "data": str(calib), "images": len(reader),
                        "unreadable": len(reader.unreadable)},
        "excluded_nodes": excluded,
        "pinned_ranges": len(tensor_overrides or {}),
        "source": Path(model_path).name,
    }
    note = (f"int8 QDQ ({activation_type} activations, {'7-bit (reduce_range) ' if reduce_range else ''}int8 "
            f"{'per-channel' if per_channel else 'per-tensor'} weights), {method} calibration "
            f"on {len(reader)} images from {calib}"
            + (f", {len(excluded)} nodes kept float" if excluded else "")
            + (f"; {note_extra}" if note_extra else ""))
    qcard = derived_card(card, "int8", note)
    save_with_card(qmodel, output, qcard, info)
    return QuantizeResult(output, qcard, info, time.perf_counter() - t0,
                          output.stat().st_size, ops)


def _run_once(model, make_feed, what: str) -> None:
    """Load ``model`` in ONNX Runtime and run it on ``make_feed(session)``; a failure is a
    one-line ModelError saying the ``what`` model does not run."""
    try:
        sess = _session(model)
        sess.run(None, make_feed(sess))
    except Exception as exc:  # noqa: BLE001
        raise ModelError(f"the {what} model does not run in ONNX Runtime: {_first_line(exc)}") \
            from None


def _check_runs(model, reader):
    """The quantized model must load and run in ORT on one calibration sample."""
    reader.rewind()
    try:
        _run_once(model, lambda sess: reader.get_next(), "quantized")
    finally:
        reader.rewind()


# ---------------------------------------------------------------------------------------------
# Dynamic-range (weights-only) quantization
# ---------------------------------------------------------------------------------------------
def quantize_dynamic_model(model_path, output, *, overwrite=False, per_channel=False,
                           weight_type="uint8") -> QuantizeResult:
    """Weights int8/uint8, activations quantized on the fly (ConvInteger/MatMulInteger).

    ORT's CPU ConvInteger only takes uint8 weights, so uint8 is the default here.
    """
    import onnx
    from onnxruntime.quantization import quantize_dynamic

    t0 = time.perf_counter()
    model = load_onnx(model_path)
    output = check_output(model_path, output, overwrite)
    card = card_for_model(model_path, model)
    with tempfile.TemporaryDirectory(prefix="liveseg-quant-") as tmp:
        pre = Path(tmp) / "pre.onnx"
        preprocess_for_quant(model_path, pre)
        qpath = Path(tmp) / "q.onnx"
        try:
            quantize_dynamic(str(pre), str(qpath), per_channel=per_channel,
                             weight_type=_qtype(weight_type))
        except Exception as exc:  # noqa: BLE001
            raise ModelError(f"ONNX Runtime could not quantize the model: {_first_line(exc)}") \
                from None
        qmodel = onnx.load(str(qpath))
    ops = count_ops(qmodel)
    if not any(k in ops for k in ("ConvInteger", "MatMulInteger", "DynamicQuantizeLinear",
                                  "DynamicQuantizeMatMul")):
        raise ModelError("dynamic quantization changed nothing in this model")
    _check_runs_random(qmodel, card)
    info = {"format": "dynamic", "tool": "onnxruntime.quantization.quantize_dynamic",
            "weights": f"{weight_type} " + ("per-channel" if per_channel else "per-tensor"),
            "activations": "quantized at run time (uint8)", "source": Path(model_path).name}
    qcard = derived_card(card, "dynamic", f"dynamic-range quantization ({weight_type} weights)")
    save_with_card(qmodel, output, qcard, info)
    return QuantizeResult(output, qcard, info, time.perf_counter() - t0,
                          output.stat().st_size, ops)


def _check_runs_random(model, card):
    """The converted model must load and run in ORT on a random frame, preprocessed per card."""
    frame = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    _run_once(model, lambda sess: {sess.get_inputs()[0].name: card_preprocess(card)(frame)},
              "converted")


# ---------------------------------------------------------------------------------------------
# Verification helpers (tests, benchmarks)
# ---------------------------------------------------------------------------------------------
def optimized_ops(model_path_or_proto, level="extended", config=None) -> dict:
    """Op counts of the graph ORT actually executes (after its QDQ fusions).

    Saves the optimized model via SessionOptions.optimized_model_filepath and counts its
    nodes: a real int8 model shows QLinearConv / QLinearMatMul / ConvInteger etc. Note: on
    x86 ORT fuses QDQ Conv with *int8* activations only when the session config
    ``session.qdqisint8allowed`` is "1"; by default those convs run in float between Q/DQ.
    """
    import onnx
    import onnxruntime as ort

    with tempfile.TemporaryDirectory(prefix="liveseg-opt-") as tmp:
        so = ort.SessionOptions()
        so.graph_optimization_level = {
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        }[level]
        so.optimized_model_filepath = str(Path(tmp) / "opt.onnx")
        so.intra_op_num_threads = 1
        for k, v in (config or {}).items():
            so.add_session_config_entry(k, str(v))
        src = model_path_or_proto
        if not isinstance(src, (str, Path)):
            src = src.SerializeToString()
        else:
            src = str(src)
        ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])
        return count_ops(onnx.load(so.optimized_model_filepath))


INT8_KERNELS = ("QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger",
                "QLinearAdd", "QLinearMul", "QLinearConcat", "QLinearGlobalAveragePool",
                "QLinearSigmoid", "QLinearLeakyRelu", "QGemm", "MatMulIntegerToFloat",
                "DynamicQuantizeMatMul", "QLinearAveragePool")


def int8_kernel_count(ops: dict) -> int:
    return sum(v for k, v in ops.items() if k in INT8_KERNELS)


# ---------------------------------------------------------------------------------------------
# Per-layer sensitivity
# ---------------------------------------------------------------------------------------------
def _session(model_or_path, threads=1):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.log_severity_level = 3
    src = str(model_or_path) if isinstance(model_or_path, (str, Path)) else \
        model_or_path.SerializeToString()
    return ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])


def output_error(ref: list[np.ndarray], out: list[np.ndarray], channel_axis=1) -> dict:
    """Pixel disagreement of argmax over classes and SQNR (dB) of outputs vs the fp32 ones."""
    agree = total = 0
    sig = noise = 0.0
    for r, o in zip(ref, out):
        r = r.astype(np.float64)
        o = o.astype(np.float64)
        sig += float((r ** 2).sum())
        noise += float(((r - o) ** 2).sum())
        if r.ndim == 4 and r.shape[channel_axis] > 1:
            ra, oa = r.argmax(channel_axis), o.argmax(channel_axis)
        else:  # one-channel (foreground logit/prob) outputs
            ra, oa = r > (0.5 if r.min() >= 0 else 0.0), o > (0.5 if r.min() >= 0 else 0.0)
        agree += int((ra == oa).sum())
        total += ra.size
    sqnr = 10 * np.log10(sig / noise) if noise > 0 else float("inf")
    return {"agreement": agree / max(total, 1), "sqnr_db": float(sqnr)}


def _run_all(sess, inputs):
    name = sess.get_inputs()[0].name
    return [sess.run(None, {name: x})[0] for x in inputs]


def compute_nodes(model) -> list[str]:
    return [n.name for n in model.graph.node if n.op_type in COMPUTE_OPS]


def sensitivity_report(model_path, calib, *, samples=64, eval_samples=8, method="minmax",
                       per_channel=True, activation_type="uint8", mode="only", greedy=5,
                       progress=None, reduce_range=True) -> dict:
    """Which layers hurt when quantized (the report behind ``--sensitivity``).

    mode ``only``: quantize one compute layer at a time (the rest float) and measure the output
    error vs fp32; mode ``exclude``: quantize everything but one layer and measure how much
    keeping that layer in float recovers. Calibration runs once (ORT's calibration cache).
    Then, greedily, the worst layers are kept in float one more at a time (up to ``greedy``),
    measuring the whole-model agreement each time: the suggested ``--exclude`` list is the
    shortest prefix that recovers at least 75% of the agreement the greedy search reaches.
    """
    import onnx

    if mode not in ("only", "exclude"):
        raise ConfigError(f"sensitivity mode must be 'only' or 'exclude', got {mode!r}")
    model = load_onnx(model_path)
    card = card_for_model(model_path, model)
    reader = calibration_reader(model_path, calib, samples, card, model)
    eval_inputs = pick_evenly(reader.tensors(), eval_samples)
    chan_axis = 1 if card.layout == "nchw" else 3
    with tempfile.TemporaryDirectory(prefix="liveseg-sens-") as tmp:
        pre = Path(tmp) / "pre.onnx"
        preprocess_for_quant(model_path, pre)
        nodes = compute_nodes(onnx.load(str(pre)))
        if not nodes:
            raise ModelError("the model has no Conv/MatMul/Gemm layer to analyse")
        ref = _run_all(_session(pre), eval_inputs)
        cache = Path(tmp) / "calib.json"
        qpath = Path(tmp) / "q.onnx"

        def measure(**kw):
            run_quantize_static(pre, qpath, reader, method=method, per_channel=per_channel,
                                activation_type=activation_type, calib_cache=cache,
                                reduce_range=reduce_range, **kw)
            return output_error(ref, _run_all(_session(qpath), eval_inputs), chan_axis)

        full = measure()
        rows = []
        for i, name in enumerate(nodes):
            if progress:
                progress(i, len(nodes), name)
            if mode == "only":
                err = measure(nodes_to_quantize=[name])
            else:
                err = measure(exclude_nodes=[name])
            rows.append({"node": name, **err})
        if mode == "only":  # most damaging first
            rows.sort(key=lambda r: (r["agreement"], r["sqnr_db"]))
        else:  # most recovering first
            rows.sort(key=lambda r: (-r["agreement"], -r["sqnr_db"]))
        steps = []
        for k in range(1, min(greedy, len(rows)) + 1):
            kept = [r["node"] for r in rows[:k]]
            steps.append({"exclude": kept, **measure(exclude_nodes=kept)})
        # The smallest set that recovers >= 75% of what the greedy search can recover.
        top = max([full["agreement"]] + [s["agreement"] for s in steps])
        goal = full["agreement"] + 0.75 * (top - full["agreement"])
        best = next((s for s in [{"exclude": [], **full}] + steps
                     if s["agreement"] >= goal - 1e-12), {"exclude": [], **full})
    return {
        "model": str(model_path), "mode": mode, "method": method,
        "activation_type": activation_type, "per_channel": per_channel,
        "calibration_images": len(reader), "eval_images": len(eval_inputs),
        "full_int8": full, "layers": rows, "greedy": steps,
        "suggested_exclude": best["exclude"], "suggested_agreement": best["agreement"],
    }


def format_sensitivity(report: dict, top=15) -> str:
    lines = [
        f"per-layer sensitivity ({report['mode']}: "
        + ("one layer quantized at a time" if report["mode"] == "only"
           else "all quantized but one layer") + f"), {report['eval_images']} images",
        (f"full int8: argmax agreement {100 * report['full_int8']['agreement']:.2f}%, "
         f"SQNR {report['full_int8']['sqnr_db']:.1f} dB"),
        f"{'agreement':>10} {'SQNR dB':>8}  node",
    ]
    for r in report["layers"][:top]:
        lines.append(f"{100 * r['agreement']:>9.2f}% {r['sqnr_db']:>8.1f}  {r['node']}")
    if len(report["layers"]) > top:
        lines.append(f"... {len(report['layers']) - top} more in the JSON report")
    lines.append("keeping the worst layers in float (whole model):")
    for s in report["greedy"]:
        lines.append(f"  {len(s['exclude'])} float: agreement {100 * s['agreement']:.2f}%, "
                     f"SQNR {s['sqnr_db']:.1f} dB")
    sug = report["suggested_exclude"]
    lines.append("suggested: " + (f"--exclude {','.join(sug)}" if sug else "no exclusions"))
    return "\n".join(lines)
