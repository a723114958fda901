"""The engine families, one module each: ``ort`` (ONNX Runtime), ``litert`` (LiteRT),
``openvino`` (OpenVINO); ``base`` holds the interface they implement (``Engine``,
``TensorInfo``) and ``onnx_graph`` the graph facts the .onnx engines share. Choosing and
opening one from an ``--engine`` spec is ``liveseg.runtime.engine``."""
