"""What I/O detection reads from an ONNX file's graph, for every engine that runs an .onnx
file (ONNX Runtime, OpenVINO), so that detection does not depend on the engine chosen."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from liveseg.runtime.engines.base import PASSTHROUGH_OPS, op_key


class OnnxGraphFacts:
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
            chain.append(op_key(node.op_type))
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
