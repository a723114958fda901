"""liveseg.quant: smaller and faster variants of an exported model (``liveseg quantize``).

One job per module, lowest first:

* ``onnx_io``: read a float ONNX model and its card; write a derived model + card atomically.
* ``calibration``: calibration images, preprocessed by the runtime's own preprocessor.
* ``ptq``: static int8 QDQ and dynamic-range quantization with ONNX Runtime.
* ``sensitivity``: per-layer sensitivity and the suggested ``--exclude`` list.
* ``kernels``: which (int8) kernels ONNX Runtime actually runs.
* ``fp16``: half-precision ONNX and its exact float32 copy.
* ``tflite``: fp16 / dynamic / int8 variants of a .tflite (ai-edge-quantizer).
* ``lowbit`` (torch): fake quantization in PyTorch, the low-bit study and the base of QAT.
* ``qat`` (torch): quantization-aware fine-tuning from a training checkpoint.

Layers: ``models < export < train < quant``; nothing here is imported by those below. The
modules without "(torch)" import no torch.
"""
