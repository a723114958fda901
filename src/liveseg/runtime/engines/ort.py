"""ONNX Runtime: the default engine for .onnx files (CPU, or the CUDA / TensorRT providers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from liveseg.errors import ConfigError, ModelError, first_line
from liveseg.parsing import parse_threads
from liveseg.runtime.engines.base import Engine, TensorInfo, check_file
from liveseg.runtime.engines.onnx_graph import OnnxGraphFacts

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


_ORT_PROVIDERS = {
    "cpu": ["CPUExecutionProvider"],
    "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
}


class OnnxRuntimeEngine(OnnxGraphFacts, Engine):
    """ONNX Runtime, all graph optimisations on: the CPU execution provider, or CUDA /
    TensorRT (``provider="cuda"|"tensorrt"``; a ModelError when that provider cannot run
    here, e.g. without a GPU, instead of ORT's silent fall-back to the CPU)."""

    name = "onnxruntime"

    def __init__(self, path, threads: int | None = None, provider: str = "cpu"):
        super().__init__()
        import onnxruntime as ort

        self.path = Path(path)
        check_file(self.path)
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
                f"{self.path.name} is not a usable ONNX model ({first_line(exc)})"
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
