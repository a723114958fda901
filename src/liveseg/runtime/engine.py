"""Inference engines behind one interface: ONNX Runtime (default), LiteRT, OpenVINO.

An :class:`Engine` describes its inputs and outputs (:class:`TensorInfo`: name, shape with
``None`` for dynamic dimensions, numpy dtype, and ``(scale, zero_point)`` for quantized
integer tensors where the model says so) and runs a feed ``{name: array}`` to a list of
output arrays in ``outputs`` order. Engines also expose what I/O detection can use:
``metadata`` (string key/values) and ``op_types`` (operator names in the graph, upper-cased).

``make_engine(path, engine="auto", threads=None)`` opens one engine. ``engine`` is a name,
optionally with an option after a colon (``parse_engine``): ``onnxruntime`` (``:cpu``,
``:cuda``, ``:tensorrt``), ``openvino`` (``:f32``, ``:bf16``, ``:f16`` precision hints on the
CPU, ``:gpu``), ``litert``; ``auto`` here means the engine the file extension implies (.onnx ->
onnxruntime, .tflite -> litert, .xml -> openvino). Choosing by measurement is
``liveseg.runtime.autoselect``, which ``load_model`` uses for ``engine="auto"``. A file that
is not a model gives a one-line ModelError; a missing optional engine a DependencyError naming
the pip extra.
"""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from liveseg.errors import ConfigError, ModelError, require
from liveseg.parsing import parse_threads

ENGINES = ("auto", "onnxruntime", "litert", "openvino")
# What may follow "NAME:" in an engine spec.
ENGINE_OPTIONS = {
    "onnxruntime": ("cpu", "cuda", "tensorrt"),
    "openvino": ("f32", "bf16", "f16", "gpu"),
    "litert": (),
}
ENGINE_SPECS = ("auto",) + tuple(
    f"{name}:{opt}" if opt else name
    for name, opts in ENGINE_OPTIONS.items()
    for opt in (None, *opts)
)
_EXT_ENGINE = {
    ".onnx": "onnxruntime",
    ".ort": "onnxruntime",
    ".tflite": "litert",
    ".xml": "openvino",
}


@dataclass
class TensorInfo:
    name: str
    shape: tuple  # ints, None for a dynamic dimension
    dtype: np.dtype
    # (scale, zero_point) of a quantized integer tensor when the model states them.
    quant: tuple[float, float] | None = None

    @property
    def dynamic(self) -> bool:
        return any(d is None for d in self.shape)

    def describe(self) -> str:
        dims = ",".join("?" if d is None else str(d) for d in self.shape)
        q = f" q(scale={self.quant[0]:.6g}, zp={self.quant[1]:g})" if self.quant else ""
        return f"{self.name} [{dims}] {np.dtype(self.dtype).name}{q}"


class Engine:
    """Base class. Subclasses fill ``inputs``, ``outputs``, ``metadata``, ``op_types``."""

    name = "engine"

    def __init__(self):
        self.path: Path | None = None
        self.inputs: list[TensorInfo] = []
        self.outputs: list[TensorInfo] = []
        self.metadata: dict[str, str] = {}
        self.op_types: set[str] = set()
        # The op that produces each output (upper-cased), where known.
        self.output_producers: dict[str, str] = {}
        self.threads: int | None = None
        self.details: dict = {}

    def run(self, feed: dict) -> list[np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def argmax_classes(self, output_name: str) -> int | None:
        """Number of classes an arg-maxed label output was reduced from, where the graph says."""
        return None

    def output_source(self, output_name: str) -> list[str]:
        """Op types from the output back to the first op that computes something (upper-cased,
        without underscores: ``["CAST", "ARGMAX"]``), skipping casts, reshapes and transposes.
        Empty when the graph cannot be read."""
        op = self.output_producers.get(output_name)
        return [_op_key(op)] if op else []

    def describe(self) -> dict:
        return {
            "engine": self.name,
            "threads": self.threads,
            "inputs": [t.describe() for t in self.inputs],
            "outputs": [t.describe() for t in self.outputs],
            **self.details,
        }


def parse_engine(spec) -> tuple[str, str | None]:
    """``"openvino:bf16"`` -> ``("openvino", "bf16")``; ``"auto"`` -> ``("auto", None)``.
    ConfigError naming the accepted values otherwise."""
    text = str(spec if spec is not None else "auto").strip().lower()
    name, _, opt = text.partition(":")
    if (
        name not in ENGINES
        or (name == "auto" and opt)
        or (opt and opt not in ENGINE_OPTIONS.get(name, ()))
    ):
        raise ConfigError(f"--engine must be one of {', '.join(ENGINE_SPECS)}, got {spec!r}")
    return name, (opt or None)


# Ops that only move or retype values: output_source looks through them.
PASSTHROUGH_OPS = {
    "CAST",
    "CONVERT",
    "RESHAPE",
    "SQUEEZE",
    "UNSQUEEZE",
    "EXPANDDIMS",
    "IDENTITY",
    "FLATTEN",
    "TRANSPOSE",
}


def _op_key(op_type) -> str:
    return str(op_type).upper().replace("_", "")


def verbose_logs() -> bool:
    """Whether engines may print their native log lines (``liveseg ... --verbose`` sets
    LIVESEG_VERBOSE=1)."""
    return os.environ.get("LIVESEG_VERBOSE", "").strip().lower() not in ("", "0", "false", "no")


@contextmanager
def quiet_native_info():
    """Drop the ``INFO: ...`` lines native code prints on fd 2 inside the block (LiteRT's
    "Created TensorFlow Lite XNNPACK delegate for CPU."); anything else it printed there is
    passed on to stderr afterwards. A no-op with LIVESEG_VERBOSE=1 or without a usable fd 2."""
    if verbose_logs():
        yield
        return
    with suppress(OSError, ValueError):
        sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with tempfile.TemporaryFile() as tmp:
            os.dup2(tmp.fileno(), 2)
            try:
                yield
            finally:
                with suppress(OSError, ValueError):
                    sys.stderr.flush()
                os.dup2(saved, 2)
                tmp.seek(0)
                kept = [
                    ln
                    for ln in tmp.read().splitlines(keepends=True)
                    if not ln.lstrip().startswith(b"INFO:")
                ]
                if kept:
                    os.write(2, b"".join(kept))
    finally:
        os.close(saved)


def _first_line(exc) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line[:300]


def _check_file(path: Path) -> None:
    if not path.exists():
        raise ModelError(f"model file not found: {path}")
    if not path.is_file():
        raise ModelError(f"model path is not a file: {path}")
    if path.stat().st_size == 0:
        raise ModelError(f"model file is empty: {path}")


# ------------------------------------------------------------------------------------------
# ONNX Runtime
# ------------------------------------------------------------------------------------------
_ORT_TYPES = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
    "tensor(uint8)": np.uint8,
    "tensor(int8)": np.int8,
    "tensor(int16)": np.int16,
    "tensor(uint16)": np.uint16,
    "tensor(int32)": np.int32,
    "tensor(int64)": np.int64,
    "tensor(bool)": np.bool_,
}


def _dims(shape) -> tuple:
    return tuple(d if isinstance(d, int) and d > 0 else None for d in shape)


class _OnnxGraphFacts:
    """What I/O detection reads from an ONNX file's graph (op types, the op behind each
    output, quantization parameters of uint8/int8 graph inputs and outputs, arg-max class
    counts), shared by every engine that runs an .onnx file so that detection does not
    depend on the engine chosen."""

    path: Path

    def _graph_facts(self) -> None:
        """Op types, output producers and I/O quantization params read from the graph."""
        self._input_quant: dict = {}
        self._output_quant: dict = {}
        self.graph = None
        try:
            import onnx
            from onnx import numpy_helper

            model = onnx.load(str(self.path), load_external_data=False)
        except Exception:
            return
        g = model.graph
        self.graph = g
        self.op_types = {n.op_type.upper() for n in g.node}
        self._onnx_io_names = ([i.name for i in g.input], [o.name for o in g.output])
        inits = {i.name: i for i in g.initializer}
        consts = {}
        for n in g.node:
            if n.op_type == "Constant":
                for a in n.attribute:
                    if a.name == "value":
                        consts[n.output[0]] = a.t

        def value(name):
            t = inits.get(name) or consts.get(name)
            if t is None:
                return None
            try:
                return numpy_helper.to_array(t)
            except Exception:
                return None

        producers = {}
        for n in g.node:
            for o in n.output:
                producers[o] = n
        for o in g.output:
            if o.name in producers:
                self.output_producers[o.name] = producers[o.name].op_type.upper()
        # uint8/int8 graph input consumed by DequantizeLinear: its scale / zero point.
        input_names = {i.name for i in g.input}
        for n in g.node:
            if n.op_type == "DequantizeLinear" and n.input and n.input[0] in input_names:
                s = value(n.input[1]) if len(n.input) > 1 else None
                z = value(n.input[2]) if len(n.input) > 2 and n.input[2] else np.array(0)
                if s is not None and np.size(s) == 1 and np.size(z) == 1:
                    self._input_quant[n.input[0]] = (float(np.ravel(s)[0]), float(np.ravel(z)[0]))
            if (
                n.op_type == "QuantizeLinear"
                and n.output
                and n.output[0] in {o.name for o in g.output}
            ):
                s = value(n.input[1]) if len(n.input) > 1 else None
                z = value(n.input[2]) if len(n.input) > 2 and n.input[2] else np.array(0)
                if s is not None and np.size(s) == 1 and np.size(z) == 1:
                    self._output_quant[n.output[0]] = (float(np.ravel(s)[0]), float(np.ravel(z)[0]))
        self._model = model
        self._value = value
        self._producers = producers

    def constant(self, name: str):
        """The value (numpy) of the initializer or Constant output called ``name`` in the ONNX
        graph; None when it is not a constant or the file's graph could not be read."""
        value = getattr(self, "_value", None)
        return value(name) if value is not None else None

    def _onnx_argmax_classes(self, output_name: str) -> int | None:
        producers = getattr(self, "_producers", None)
        if not producers:
            return None
        name, node = output_name, producers.get(output_name)
        passthrough = {"Cast", "Reshape", "Squeeze", "Unsqueeze", "Identity", "Flatten"}
        while node is not None and node.op_type in passthrough:
            name = node.input[0]
            node = producers.get(name)
        if node is None or node.op_type != "ArgMax":
            return None
        axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
        try:
            import onnx

            inferred = onnx.shape_inference.infer_shapes(self._model)
        except Exception:
            return None
        target = node.input[0]
        for vi in list(inferred.graph.value_info) + list(inferred.graph.input):
            if vi.name == target:
                dims = vi.type.tensor_type.shape.dim
                if -len(dims) <= axis < len(dims) and dims[axis].HasField("dim_value"):
                    return int(dims[axis].dim_value)
        return None

    def _onnx_output_source(self, output_name: str) -> list[str] | None:
        producers = getattr(self, "_producers", None)
        if not producers:
            return None
        chain, node = [], producers.get(output_name)
        while node is not None and len(chain) < 64:
            chain.append(_op_key(node.op_type))
            if chain[-1] not in PASSTHROUGH_OPS or not node.input:
                break
            node = producers.get(node.input[0])
        return chain

    def is_quantized(self) -> bool:
        """Whether the graph holds int8 QDQ / QLinear ops (an int8 model; OpenVINO IR:
        FakeQuantize)."""
        return bool(
            self.op_types
            & {
                "QUANTIZELINEAR",
                "DEQUANTIZELINEAR",
                "QLINEARCONV",
                "QLINEARMATMUL",
                "MATMULINTEGER",
                "CONVINTEGER",
                "FAKEQUANTIZE",
            }
        )


_ORT_PROVIDERS = {
    "cpu": ["CPUExecutionProvider"],
    "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
}


class OnnxRuntimeEngine(_OnnxGraphFacts, Engine):
    """ONNX Runtime, all graph optimisations on: the CPU execution provider, or CUDA /
    TensorRT (``provider="cuda"|"tensorrt"``; a ModelError when that provider cannot run
    here, e.g. without a GPU, instead of ORT's silent fall-back to the CPU)."""

    name = "onnxruntime"

    def __init__(self, path, threads: int | None = None, provider: str = "cpu"):
        super().__init__()
        import onnxruntime as ort

        self.path = Path(path)
        _check_file(self.path)
        self.threads = parse_threads(threads)
        if provider not in _ORT_PROVIDERS:
            raise ConfigError(f"unknown onnxruntime provider {provider!r}")
        self.provider = provider
        wanted = _ORT_PROVIDERS[provider]
        if provider != "cpu" and wanted[0] not in ort.get_available_providers():
            raise ModelError(
                f"onnxruntime has no {wanted[0]} in this install "
                f"(it has {', '.join(ort.get_available_providers())})"
            )
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if self.threads:
            so.intra_op_num_threads = self.threads
            so.inter_op_num_threads = 1
        # ORT's pool threads spin after each run waiting for the next one; in liveseg run they
        # would burn the core that decode, flow and effects need (5 DAVIS clips, 2 cores:
        # fixed:3 259 vs 187 fps, every frame 145 vs 131), and alone they buy nothing
        # measurable here (model latency within noise).
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        so.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(self.path), sess_options=so, providers=wanted)
        except Exception as exc:  # ORT raises its own exception types (InvalidProtobuf, Fail, ...)
            raise ModelError(
                f"{self.path.name} is not a usable ONNX model ({_first_line(exc)})"
            ) from None
        if provider != "cpu" and self.session.get_providers()[0] != wanted[0]:
            raise ModelError(
                f"onnxruntime's {wanted[0]} cannot run {self.path.name} here "
                f"(no usable GPU; ORT fell back to {self.session.get_providers()[0]})"
            )
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map or {})
        self._graph_facts()
        self.inputs = [
            TensorInfo(
                i.name,
                _dims(i.shape),
                np.dtype(_ORT_TYPES.get(i.type, np.float32)),
                self._input_quant.get(i.name),
            )
            for i in self.session.get_inputs()
        ]
        self.outputs = [
            TensorInfo(
                o.name,
                _dims(o.shape),
                np.dtype(_ORT_TYPES.get(o.type, np.float32)),
                self._output_quant.get(o.name),
            )
            for o in self.session.get_outputs()
        ]
        self._output_names = [o.name for o in self.outputs]
        self.details = {"providers": self.session.get_providers()}

    def argmax_classes(self, output_name: str) -> int | None:
        return self._onnx_argmax_classes(output_name)

    def output_source(self, output_name: str) -> list[str]:
        chain = self._onnx_output_source(output_name)
        return super().output_source(output_name) if chain is None else chain

    def run(self, feed: dict) -> list[np.ndarray]:
        return self.session.run(self._output_names, feed)


# ------------------------------------------------------------------------------------------
# LiteRT (TensorFlow Lite)
# ------------------------------------------------------------------------------------------
class LiteRTEngine(Engine):
    """LiteRT interpreter with the XNNPACK delegate; falls back to the built-in op resolver.

    The default op resolver applies XNNPACK to the nodes it supports. When the delegate
    cannot take the graph (creation, allocation or the first invoke fails), the model is
    reopened with ``BUILTIN_WITHOUT_DEFAULT_DELEGATES`` and ``details["delegate"]`` says so.
    """

    name = "litert"

    def __init__(self, path, threads: int | None = None, use_xnnpack: bool = True):
        super().__init__()
        litert = require("ai_edge_litert.interpreter", "litert")
        self._mod = litert
        self.path = Path(path)
        _check_file(self.path)
        self.threads = parse_threads(threads)
        head = self.path.read_bytes()[:8]
        if len(head) < 8 or head[4:8] != b"TFL3":
            raise ModelError(f"{self.path.name} is not a TFLite model (no TFL3 flatbuffer header)")
        fallback_reason = None
        if use_xnnpack:
            try:
                self._open(litert.OpResolverType.AUTO)
                self.delegate = "xnnpack"
            except Exception as exc:  # the delegate refused the graph: retry without it
                fallback_reason = _first_line(exc)
                self.delegate = None
        if not use_xnnpack or fallback_reason is not None:
            try:
                self._open(litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
            except Exception as exc:
                raise ModelError(
                    f"{self.path.name} cannot be run by LiteRT ({_first_line(exc)})"
                ) from None
            self.delegate = "builtin"
        self.details = {"delegate": self.delegate}
        if fallback_reason:
            self.details["xnnpack_fallback"] = fallback_reason
        self._describe_delegation()
        self.inputs = [self._info(d) for d in self._interp.get_input_details()]
        self.outputs = [self._info(d) for d in self._interp.get_output_details()]
        self._in_index = {d["name"]: d["index"] for d in self._interp.get_input_details()}
        self._out_index = [d["index"] for d in self._interp.get_output_details()]
        try:
            ops = self._interp._get_ops_details()
            self.op_types = {str(o.get("op_name", "")).upper() for o in ops}
            produced = {}
            for o in ops:
                if str(o.get("op_name", "")).upper() == "DELEGATE":
                    continue
                for t in o.get("outputs", []):
                    produced[int(t)] = str(o.get("op_name", "")).upper()
            for d in self._interp.get_output_details():
                if d["index"] in produced:
                    self.output_producers[d["name"]] = produced[d["index"]]
            self._ops = ops
        except Exception:
            self._ops = []
        self._shapes = {d["name"]: tuple(d["shape"]) for d in self._interp.get_input_details()}

    def _describe_delegation(self) -> None:
        """Whether XNNPACK really took nodes (a DELEGATE node appears in the execution plan)."""
        if self.delegate != "xnnpack":
            return
        try:
            names = [str(o.get("op_name", "")).upper() for o in self._interp._get_ops_details()]
        except Exception:
            return
        if "DELEGATE" not in names:
            self.delegate = "builtin (xnnpack took no nodes)"
            self.details["delegate"] = self.delegate

    def _fallback(self, reason: str) -> None:
        """Reopen without the XNNPACK delegate (after it failed at run time)."""
        self._open(self._mod.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        self.delegate = "builtin"
        self.details["delegate"] = "builtin"
        self.details["xnnpack_fallback"] = reason
        self._shapes = {d["name"]: tuple(d["shape"]) for d in self._interp.get_input_details()}
        self._in_index = {d["name"]: d["index"] for d in self._interp.get_input_details()}
        self._out_index = [d["index"] for d in self._interp.get_output_details()]

    def argmax_classes(self, output_name: str) -> int | None:
        out = next((d for d in self._interp.get_output_details() if d["name"] == output_name), None)
        if out is None:
            return None
        by_out = {}
        for o in self._ops:
            for t in o.get("outputs", []):
                by_out[int(t)] = o
        idx, op = out["index"], by_out.get(out["index"])
        while op is not None and str(op.get("op_name", "")).upper() in (
            "CAST",
            "RESHAPE",
            "SQUEEZE",
        ):
            idx = int(op["inputs"][0])
            op = by_out.get(idx)
        if op is None or str(op.get("op_name", "")).upper() != "ARG_MAX":
            return None
        try:
            shape = self._interp._get_tensor_details(int(op["inputs"][0]), 0)["shape"]
            return int(shape[-1])
        except Exception:
            return None

    def output_source(self, output_name: str) -> list[str]:
        out = next((d for d in self._interp.get_output_details() if d["name"] == output_name), None)
        if out is None or not self._ops:
            return super().output_source(output_name)
        by_out = {}
        for o in self._ops:
            if str(o.get("op_name", "")).upper() == "DELEGATE":
                continue
            for t in o.get("outputs", []):
                by_out[int(t)] = o
        chain, op = [], by_out.get(int(out["index"]))
        while op is not None and len(chain) < 64:
            chain.append(_op_key(op.get("op_name", "")))
            if chain[-1] not in PASSTHROUGH_OPS or not len(op.get("inputs", [])):
                break
            op = by_out.get(int(op["inputs"][0]))
        return chain

    def _open(self, resolver) -> None:
        with quiet_native_info():
            self._open_interpreter(resolver)

    def _open_interpreter(self, resolver) -> None:
        interp = self._mod.Interpreter(
            model_path=str(self.path),
            num_threads=self.threads or 1,
            experimental_op_resolver_type=resolver,
        )
        interp.allocate_tensors()
        if resolver != self._mod.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES:
            # A delegate that accepted the graph can still fail on the first run.
            for d in interp.get_input_details():
                interp.set_tensor(d["index"], np.zeros(d["shape"], dtype=d["dtype"]))
            interp.invoke()
        self._interp = interp

    @staticmethod
    def _info(d) -> TensorInfo:
        sig = d.get("shape_signature")
        shape = sig if sig is not None and len(sig) else d["shape"]
        dims = tuple(int(x) if int(x) > 0 else None for x in shape)
        scale, zp = d.get("quantization", (0.0, 0))
        quant = (
            (float(scale), float(zp)) if scale and np.issubdtype(d["dtype"], np.integer) else None
        )
        return TensorInfo(d["name"], dims, np.dtype(d["dtype"]), quant)

    def run(self, feed: dict) -> list[np.ndarray]:
        try:
            return self._run(feed)
        except RuntimeError as exc:
            if not str(self.delegate).startswith("xnnpack"):
                raise
            # The delegate failed on this graph/shape: continue with the built-in kernels.
            self._fallback(_first_line(exc))
            return self._run(feed)

    def _run(self, feed: dict) -> list[np.ndarray]:
        it = self._interp
        for name, arr in feed.items():
            idx = self._in_index[name]
            if tuple(arr.shape) != self._shapes[name]:
                it.resize_tensor_input(idx, list(arr.shape))
                it.allocate_tensors()
                self._shapes[name] = tuple(arr.shape)
            it.set_tensor(idx, arr)
        it.invoke()
        return [it.get_tensor(i) for i in self._out_index]


# ------------------------------------------------------------------------------------------
# OpenVINO
# ------------------------------------------------------------------------------------------
_OV_PRECISIONS = {"f32": "f32", "bf16": "bf16", "f16": "f16"}
OPENVINO_CONFIG_ENV = "LIVESEG_OPENVINO_CONFIG"


def _openvino_env_config() -> dict:
    """Extra OpenVINO compile properties from LIVESEG_OPENVINO_CONFIG (a JSON object, e.g.
    ``{"ENABLE_CPU_PINNING": false}``), for tuning and benchmarks; they win over liveseg's."""
    import json

    text = os.environ.get(OPENVINO_CONFIG_ENV, "").strip()
    if not text:
        return {}
    try:
        extra = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{OPENVINO_CONFIG_ENV} is not JSON ({exc})") from None
    if not isinstance(extra, dict):
        raise ConfigError(f"{OPENVINO_CONFIG_ENV} must be a JSON object, got {text[:80]!r}")
    return extra


class OpenVINOEngine(_OnnxGraphFacts, Engine):
    """OpenVINO runtime (IR .xml/.bin, or .onnx when asked for explicitly or chosen by auto).

    Compiled with ``PERFORMANCE_HINT=LATENCY`` (one stream: a frame at a time, as liveseg
    runs), ``INFERENCE_NUM_THREADS`` from ``threads``, and ``INFERENCE_PRECISION_HINT`` from
    ``precision`` (``f32``, ``bf16``, ``f16``; None keeps OpenVINO's default, which is bf16 on
    CPUs with AMX). int8 QDQ ONNX files run OpenVINO's own int8 kernels whatever the hint (it
    applies to the layers left in float). ``device`` is ``CPU`` or ``GPU``. Compiled models
    are cached under liveseg's cache folder (``cache_dir``), so a later open is faster.
    On an .onnx file the graph facts that I/O detection reads come from the ONNX graph, as for
    ONNX Runtime, so detection gives the same answer whichever engine runs the file.
    """

    name = "openvino"

    def __init__(
        self,
        path,
        threads: int | None = None,
        precision: str | None = None,
        device: str = "CPU",
        cache_dir=None,
    ):
        super().__init__()
        ov = require("openvino", "openvino")
        self.path = Path(path)
        _check_file(self.path)
        self.threads = parse_threads(threads)
        if precision is not None and precision not in _OV_PRECISIONS:
            raise ConfigError(f"unknown OpenVINO precision {precision!r}")
        device = str(device).upper()
        core = ov.Core()
        if device != "CPU" and device not in core.available_devices:
            raise ModelError(
                f"OpenVINO has no {device} device here "
                f"(devices: {', '.join(core.available_devices) or 'none'})"
            )
        try:
            model = core.read_model(str(self.path))
        except Exception as exc:
            raise ModelError(
                f"{self.path.name} is not a model OpenVINO can read ({_first_line(exc)})"
            ) from None
        config = {"PERFORMANCE_HINT": "LATENCY"}
        if self.threads and device == "CPU":
            config["INFERENCE_NUM_THREADS"] = self.threads
        if precision:
            config["INFERENCE_PRECISION_HINT"] = _OV_PRECISIONS[precision]
        if cache_dir:
            config["CACHE_DIR"] = str(cache_dir)
        config.update(_openvino_env_config())
        try:
            self.compiled = core.compile_model(model, device, config)
        except Exception as exc:
            raise ModelError(
                f"OpenVINO cannot compile {self.path.name} ({_first_line(exc)})"
            ) from None
        self.request = self.compiled.create_infer_request()
        self.device = device
        self.op_types = {op.get_type_name().upper() for op in model.get_ops()}
        for res in model.get_results():
            src = res.input_value(0).get_node()
            name = res.input_value(0).get_any_name() if res.input_value(0).get_names() else None
            if name:
                self.output_producers[name] = src.get_type_name().upper()
        try:
            rt = model.get_rt_info()
            for k in ("model_info", "framework"):
                if k in rt:
                    for kk, vv in rt[k].items():
                        self.metadata[str(kk)] = str(vv.value if hasattr(vv, "value") else vv)
        except Exception:
            pass
        self._onnx_io_names = ([], [])
        self._input_quant, self._output_quant = {}, {}
        if self.path.suffix.lower() == ".onnx":  # the ONNX graph's facts and metadata
            ov_producers = dict(self.output_producers)
            self.output_producers = {}
            self._graph_facts()
            if self.graph is None:  # onnx could not read it: keep what OpenVINO says
                self.output_producers = ov_producers
                self.op_types = {op.get_type_name().upper() for op in model.get_ops()}
            else:
                self.metadata.update({p.key: p.value for p in self._model.metadata_props})
        self._ov_model = model
        in_names, out_names = self._onnx_io_names
        self.inputs = [self._info(p, in_names, self._input_quant) for p in self.compiled.inputs]
        self.outputs = [self._info(p, out_names, self._output_quant) for p in self.compiled.outputs]
        self.details = {"device": device, "performance_hint": "LATENCY"}
        try:
            actual = self.compiled.get_property("INFERENCE_PRECISION_HINT")
            self.details["precision"] = str(getattr(actual, "to_string", lambda: actual)())
        except Exception:
            pass
        self.precision = precision

    def argmax_classes(self, output_name: str) -> int | None:
        """Channels of an arg-max (TopK k=1 in OpenVINO graphs) that produces the output."""
        if getattr(self, "_producers", None):
            return self._onnx_argmax_classes(output_name)
        for res in self._ov_model.get_results():
            port = res.input_value(0)
            if output_name not in port.get_names():
                continue
            node = port.get_node()
            while node.get_type_name() in ("Convert", "Reshape", "Squeeze", "Unsqueeze"):
                node = node.input_value(0).get_node()
            if node.get_type_name() != "TopK":
                return None
            try:
                axis = int(node.get_axis())
                dim = node.input_value(0).get_partial_shape()[axis]
                return int(dim.get_length()) if dim.is_static else None
            except Exception:
                return None
        return None

    def output_source(self, output_name: str) -> list[str]:
        chain = self._onnx_output_source(output_name)
        if chain is not None:
            return chain
        for res in self._ov_model.get_results():
            port = res.input_value(0)
            if output_name not in port.get_names():
                continue
            chain, node = [], port.get_node()
            while node is not None and len(chain) < 64:
                chain.append(_op_key(node.get_type_name()))
                if chain[-1] not in PASSTHROUGH_OPS or node.get_input_size() == 0:
                    break
                node = node.input_value(0).get_node()
            return chain
        return super().output_source(output_name)

    @staticmethod
    def _info(port, known_names=(), quant=None) -> TensorInfo:
        ps = port.get_partial_shape()
        dims = tuple(d.get_length() if d.is_static else None for d in ps)
        dtype = np.dtype(port.get_element_type().to_dtype())
        # A port can carry several names (OpenVINO adds e.g. "input_cast_to_..."): prefer the
        # one the ONNX graph uses.
        names = set(port.get_names())
        name = next((n for n in known_names if n in names), None)
        if name is None:
            try:
                name = port.get_any_name()
            except Exception:
                name = str(port.get_index())
        return TensorInfo(name, dims, dtype, (quant or {}).get(name))

    def run(self, feed: dict) -> list[np.ndarray]:
        res = self.request.infer(feed)
        return [np.asarray(res[o]) for o in self.compiled.outputs]


# ------------------------------------------------------------------------------------------
def engine_for_path(path, engine: str = "auto") -> str:
    """The engine name for ``path``: ``engine``'s name when it names one, else the one the
    extension implies."""
    name, _ = parse_engine(engine)
    if name != "auto":
        return name
    ext = Path(path).suffix.lower()
    if ext not in _EXT_ENGINE:
        raise ModelError(
            f"cannot tell the engine for {Path(path).name!r} from its extension "
            f"(expected .onnx, .tflite or .xml); pass --engine"
        )
    return _EXT_ENGINE[ext]


def openvino_cache_dir():
    """OpenVINO's compiled-model cache under liveseg's cache folder (None if unwritable)."""
    from liveseg.runtime.cache import writable_cache_dir

    return writable_cache_dir("openvino")[0]


def make_engine(path, engine: str = "auto", threads: int | None = None) -> Engine:
    """Open ``path`` with the engine ``engine`` names (``"openvino:bf16"``, ...), or the one
    its extension implies for ``"auto"`` (no measurement here; see ``autoselect``)."""
    path = Path(os.fspath(path))
    kind = engine_for_path(path, engine)
    _, opt = parse_engine(engine)
    if kind == "onnxruntime":
        return OnnxRuntimeEngine(path, threads, provider=opt or "cpu")
    if kind == "litert":
        return LiteRTEngine(path, threads)
    if opt == "gpu":
        return OpenVINOEngine(path, threads, device="GPU", cache_dir=openvino_cache_dir())
    return OpenVINOEngine(path, threads, precision=opt, cache_dir=openvino_cache_dir())
