"""Which kernels ONNX Runtime actually runs for a model: op counts after its graph
optimizations (a real int8 model shows QLinearConv / QLinearMatMul / ConvInteger ...). For
tests and benchmarks. No torch."""

from __future__ import annotations

import tempfile
from pathlib import Path

from liveseg.quant.onnx_io import count_ops


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


INT8_KERNELS = (
    "QLinearConv",
    "QLinearMatMul",
    "ConvInteger",
    "MatMulInteger",
    "QLinearAdd",
    "QLinearMul",
    "QLinearConcat",
    "QLinearGlobalAveragePool",
    "QLinearSigmoid",
    "QLinearLeakyRelu",
    "QGemm",
    "MatMulIntegerToFloat",
    "DynamicQuantizeMatMul",
    "QLinearAveragePool",
)


def int8_kernel_count(ops: dict) -> int:
    return sum(v for k, v in ops.items() if k in INT8_KERNELS)
