"""OpenVINO: IR (.xml/.bin) files, and .onnx files when asked for or chosen by measurement;
CPU precision hints, the GPU device, and a compiled-model cache."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from liveseg.errors import ConfigError, ModelError, first_line, require
from liveseg.parsing import parse_threads
from liveseg.runtime.engines.base import (
    PASSTHROUGH_OPS,
    Engine,
    TensorInfo,
    check_file,
    op_key,
)
from liveseg.runtime.engines.onnx_graph import OnnxGraphFacts

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


class OpenVINOEngine(OnnxGraphFacts, Engine):
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
        check_file(self.path)
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
                f"{self.path.name} is not a model OpenVINO can read ({first_line(exc)})"
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
                f"OpenVINO cannot compile {self.path.name} ({first_line(exc)})"
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
                chain.append(op_key(node.get_type_name()))
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


def openvino_cache_dir():
    """OpenVINO's compiled-model cache under liveseg's cache folder (None if unwritable)."""
    from liveseg.runtime.cache import writable_cache_dir

    return writable_cache_dir("openvino")[0]
