"""liveseg.export: a PyTorch network to a file (ONNX, TFLite), nothing else.

Reading checkpoints is ``liveseg.models.checkpoint``; quantizing the exported file is
``liveseg.quant``. Imports only ``liveseg.models`` and the layers below it.
"""
