"""The CMU report's four TFLite variants: fp32, fp16, dynamic-range and full-int8 .tflite.

fp32 comes from the exporter (``liveseg.export.tflite_export``, litert-torch);
the other three from Google's **ai-edge-quantizer** (installed with litert-torch) applied to
that fp32 flatbuffer:

* fp16: weight-only FLOAT_CASTING to 16 bits (weights stored fp16, compute float32);
* dynamic: ``recipe.dynamic_wi8_afp32`` (int8 weights, activations quantized at run time);
* int8: ``recipe.static_wi8_ai8`` calibrated on images preprocessed as the runtime does
  (int8 weights and activations; float32 input/output with quantize/dequantize at the edges).

Neither package is a liveseg dependency (litert-torch pulls in JAX); without them the
functions raise DependencyError and the ONNX path (``liveseg quantize``) stays complete.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from liveseg.atomic import atomic_output
from liveseg.errors import DependencyError, ModelError, OutputError

VARIANTS = ("fp32", "fp16", "dynamic", "int8")


def _aeq():
    try:
        from ai_edge_quantizer import qtyping, quantizer, recipe, recipe_manager
        from ai_edge_quantizer.algorithm_manager import AlgorithmName
    except ImportError as exc:
        raise DependencyError(
            f"TFLite quantization needs ai-edge-quantizer (installed with litert-torch: "
            f"pip install litert-torch) ({exc})"
        ) from None
    return quantizer, recipe, recipe_manager, qtyping, AlgorithmName


def _fp16_recipe():
    _, _, recipe_manager, qtyping, AlgorithmName = _aeq()
    rm = recipe_manager.RecipeManager()
    rm.add_weight_only_config(
        regex=".*",
        operation_name=qtyping.TFLOperationName.ALL_SUPPORTED,
        num_bits=16,
        algorithm_key=AlgorithmName.FLOAT_CASTING,
    )
    return rm.get_quantization_recipe()


def quantize_tflite(fp32_path, output, variant, calib_inputs=None, overwrite=False) -> Path:
    """Write the fp16 / dynamic / int8 variant of a float32 .tflite; int8 needs
    ``calib_inputs`` (float32 arrays shaped like the model input)."""
    quantizer, recipe, _, _, _ = _aeq()
    output = Path(output)
    if output.exists() and not overwrite:
        raise OutputError(f"{output} exists; pass --overwrite to replace it")
    if variant == "fp16":
        rec = _fp16_recipe()
    elif variant == "dynamic":
        rec = recipe.dynamic_wi8_afp32()
    elif variant == "int8":
        rec = recipe.static_wi8_ai8()
    else:
        raise ModelError(f"unknown TFLite variant {variant!r}; choose fp16, dynamic or int8")
    qt = quantizer.Quantizer(str(fp32_path))
    qt.load_quantization_recipe(rec)
    calib = None
    if qt.need_calibration:
        if not calib_inputs:
            raise ModelError("full-int8 TFLite needs calibration images")
        from ai_edge_litert.interpreter import Interpreter

        it = Interpreter(model_path=str(fp32_path))
        sig = it.get_signature_list()
        key = next(iter(sig))
        name = sig[key]["inputs"][0]
        calib = qt.calibrate({key: [{name: np.asarray(x, np.float32)} for x in calib_inputs]})
    with atomic_output(output) as tmp:
        res = qt.quantize(calib, enable_progress_report=False)
        res.export_model(str(tmp), overwrite=True)
    return output
