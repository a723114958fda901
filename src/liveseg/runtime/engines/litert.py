"""LiteRT (TensorFlow Lite): the engine for .tflite files, XNNPACK delegate first."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from liveseg.errors import ModelError, first_line, require
from liveseg.parsing import parse_threads
from liveseg.runtime.engines.base import (
    PASSTHROUGH_OPS,
    Engine,
    TensorInfo,
    check_file,
    op_key,
    quiet_native_info,
)


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
        check_file(self.path)
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
                fallback_reason = first_line(exc)
                self.delegate = None
        if not use_xnnpack or fallback_reason is not None:
            try:
                self._open(litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
            except Exception as exc:
                raise ModelError(
                    f"{self.path.name} cannot be run by LiteRT ({first_line(exc)})"
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
            chain.append(op_key(op.get("op_name", "")))
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
            self._fallback(first_line(exc))
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
