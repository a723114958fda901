"""--engine auto (issue 14): the choice by measurement, the agreement guard, the cache, forced
engines, GPU candidates skipped without a GPU, shipped siblings. Fake engines and a fake clock
make the timings exact; one test runs the real engines (OpenVINO) on a model big enough to probe.
"""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from liveseg.cli import main
from liveseg.errors import ConfigError, ModelError
from liveseg.runtime import autoselect, load_model
from liveseg.runtime.autoselect import Candidate
from liveseg.runtime.engine import parse_engine
from liveseg.runtime.engine_choice import agreement
from liveseg.runtime.engines.base import Engine, TensorInfo
from tests.helpers.models import fixture_card, make_seg_model, write_card

HAS_OPENVINO = importlib.util.find_spec("openvino") is not None


# ---- fakes ---------------------------------------------------------------------------------
class FakeClock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t

    def advance(self, ms):
        self.t += ms / 1000.0


class FakeEngine(Engine):
    """16x16 RGB in, 3-class logits out: the class is the strongest input channel (the
    reference's answer), or for ``wrong`` engines the channel after it."""

    name = "fake"

    def __init__(self, path, spec, ms, clock, wrong=False):
        super().__init__()
        self.path, self.spec, self.ms, self.clock, self.wrong = path, spec, ms, clock, wrong
        self.inputs = [TensorInfo("image", (1, 3, 16, 16), np.dtype(np.float32))]
        self.outputs = [TensorInfo("logits", (1, 3, 16, 16), np.dtype(np.float32))]
        self.runs = 0

    def run(self, feed):
        self.runs += 1
        self.clock.advance(self.ms)
        x = np.asarray(feed["image"], np.float32)
        logits = 50.0 * x
        if self.wrong:
            logits = np.roll(logits, 1, axis=1)
        return [logits]


class Fakes:
    """Installs fake candidates: ``specs`` maps an engine spec to (ms, wrong); the reference
    is ``onnxruntime``. ``opened`` lists every (file name, spec) opened."""

    def __init__(self, monkeypatch, specs, siblings=None):
        self.clock = FakeClock()
        self.specs = dict(specs)
        self.siblings = siblings or {}  # file name -> {spec: (ms, wrong)}
        self.opened = []
        self.engines = []
        monkeypatch.setattr(autoselect, "_clock", self.clock)
        monkeypatch.setattr(autoselect, "open_candidate", self.open)
        monkeypatch.setattr(autoselect, "file_candidates", self.candidates)

    def table(self, path):
        return self.siblings.get(path.name, self.specs)

    def candidates(self, path, reference_engine):
        return [_cand(s, path) for s in self.table(path) if s != "onnxruntime"], []

    def open(self, cand, threads):
        self.opened.append((cand.path.name, cand.spec))
        ms, wrong = self.table(cand.path)[cand.spec]
        if ms is None:
            raise ModelError(f"{cand.spec} cannot run here")
        eng = FakeEngine(cand.path, cand.spec, ms, self.clock, wrong)
        eng.threads = threads
        self.engines.append(eng)
        return eng


def _cand(spec, path):
    name, _, opt = spec.partition(":")
    return Candidate(name, path, opt or None)


def fake_model_file(folder, name="m.onnx", content=b"fake model"):
    path = folder / name
    path.write_bytes(content)
    write_card(
        path,
        fixture_card("fake", classes=["r", "g", "b"], input_size=[16, 16], output_kind="logits"),
    )
    return path


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("LIVESEG_CACHE_DIR", str(folder))
    return folder


# ---- the choice ----------------------------------------------------------------------------
def test_fastest_agreeing_engine_is_chosen(tmp_path, cache, monkeypatch):
    fakes = Fakes(
        monkeypatch,
        {"onnxruntime": (10, False), "openvino:f32": (6, False), "openvino:bf16": (4, False)},
    )
    m = load_model(fake_model_file(tmp_path), threads=1)
    ch = m.engine_choice
    assert ch.reason == "measured" and ch.spec == "openvino:bf16" and ch.file == "m.onnx"
    assert m.engine.spec == "openvino:bf16" and m.engine.threads == 1
    ms = {x.spec: round(x.ms, 6) for x in ch.measurements}
    assert ms == {"onnxruntime": 10, "openvino:f32": 6, "openvino:bf16": 4}
    assert [x.status for x in ch.measurements] == ["ok", "ok", "chosen"]
    assert "openvino:bf16" in ch.summary() and "measured" in ch.summary()
    assert ch.probe_ms is not None and ch.probe_ms > 0
    assert ch.cache_file and (cache / "engines").is_dir()
    assert len(fakes.opened) == 3


def test_fast_but_wrong_engine_is_never_chosen(tmp_path, cache, monkeypatch):
    Fakes(
        monkeypatch,
        {"onnxruntime": (10, False), "openvino:bf16": (1, True), "openvino:f32": (7, False)},
    )
    ch = load_model(fake_model_file(tmp_path)).engine_choice
    assert ch.spec == "openvino:f32"
    bad = next(x for x in ch.measurements if x.spec == "openvino:bf16")
    assert bad.status == "rejected" and bad.ms is None
    assert bad.plain_agreement < 0.1 and bad.agreement < 0.9
    assert "agreement" in bad.why


def test_only_wrong_engines_leave_the_reference(tmp_path, cache, monkeypatch):
    Fakes(monkeypatch, {"onnxruntime": (10, False), "openvino:bf16": (1, True)})
    m = load_model(fake_model_file(tmp_path))
    assert m.engine_choice.spec == "onnxruntime" and m.engine.spec == "onnxruntime"
    assert m.engine_choice.reason == "measured"


def test_a_candidate_that_fails_to_open_is_skipped(tmp_path, cache, monkeypatch):
    Fakes(
        monkeypatch,
        {"onnxruntime": (10, False), "onnxruntime:cuda": (None, False), "openvino:f32": (5, False)},
    )
    ch = load_model(fake_model_file(tmp_path)).engine_choice
    assert ch.spec == "openvino:f32"
    failed = next(x for x in ch.measurements if x.spec == "onnxruntime:cuda")
    assert failed.status == "failed" and "cannot run here" in failed.why


def test_reference_kept_unless_clearly_faster(tmp_path, cache, monkeypatch):
    Fakes(monkeypatch, {"onnxruntime": (10, False), "openvino:f32": (9.8, False)})
    ch = load_model(fake_model_file(tmp_path)).engine_choice
    assert ch.spec == "onnxruntime" and any("faster than the reference" in n for n in ch.notes)


def test_tiny_model_is_not_probed(tmp_path, cache, monkeypatch):
    fakes = Fakes(monkeypatch, {"onnxruntime": (0.2, False), "openvino:f32": (0.1, False)})
    ch = load_model(fake_model_file(tmp_path)).engine_choice
    assert ch.reason == "not worth probing" and ch.spec == "onnxruntime"
    assert fakes.opened == [("m.onnx", "onnxruntime")]


def test_single_candidate_needs_no_probe(tmp_path, cache, monkeypatch):
    fakes = Fakes(monkeypatch, {"onnxruntime": (10, False)})
    m = load_model(fake_model_file(tmp_path))
    assert m.engine_choice.reason == "only candidate" and m.engine_choice.probe_ms is None
    assert fakes.engines[0].runs == 1  # I/O detection's own run only
    assert not (cache / "engines").exists() or not list((cache / "engines").iterdir())


# ---- the cache -----------------------------------------------------------------------------
def test_second_use_is_cached_and_costs_no_probe(tmp_path, cache, monkeypatch):
    specs = {"onnxruntime": (10, False), "openvino:f32": (6, False), "openvino:bf16": (4, False)}
    path = fake_model_file(tmp_path)
    fakes = Fakes(monkeypatch, specs)
    first = load_model(path, threads=2).engine_choice
    fakes2 = Fakes(monkeypatch, specs)
    m = load_model(path, threads=2)
    ch = m.engine_choice
    assert ch.reason == "cached" and ch.spec == first.spec == "openvino:bf16"
    assert fakes2.opened == [("m.onnx", "openvino:bf16")]  # no reference, no other candidate
    assert fakes2.engines[0].runs == 1  # I/O detection only: no timing runs
    assert "cached" in ch.summary() and "4.00 ms" in ch.summary()
    assert [x.spec for x in ch.measurements] == [x.spec for x in first.measurements]
    assert any("no probe" in n for n in ch.notes)
    assert fakes.opened  # the first load did probe


@pytest.mark.parametrize("change", ["threads", "file", "versions", "cpu", "card"])
def test_key_changes_measure_again(tmp_path, cache, monkeypatch, change):
    specs = {"onnxruntime": (10, False), "openvino:f32": (6, False)}
    path = fake_model_file(tmp_path)
    Fakes(monkeypatch, specs)
    load_model(path, threads=1)
    if change == "file":
        path.write_bytes(b"another model")
    elif change == "versions":
        from liveseg import sysinfo

        real = sysinfo.library_versions
        monkeypatch.setattr(sysinfo, "library_versions", lambda: {**real(), "openvino": "9999.0"})
    elif change == "cpu":
        from liveseg import sysinfo

        real_sig = sysinfo.cpu_signature
        monkeypatch.setattr(sysinfo, "cpu_signature", lambda: {**real_sig(), "flags": "other"})
    elif change == "card":
        write_card(
            path,
            fixture_card(
                "fake2", classes=["r", "g", "b"], input_size=[16, 16], output_kind="logits"
            ),
        )
    fakes = Fakes(monkeypatch, specs)
    ch = load_model(path, threads=2 if change == "threads" else 1).engine_choice
    assert ch.reason == "measured"
    assert ("m.onnx", "onnxruntime") in fakes.opened
    # ... and the unchanged key is still cached
    if change == "threads":
        assert load_model(path, threads=1).engine_choice.reason == "cached"


def test_corrupt_cache_entry_is_ignored_and_rewritten(tmp_path, cache, monkeypatch):
    specs = {"onnxruntime": (10, False), "openvino:f32": (6, False)}
    path = fake_model_file(tmp_path)
    Fakes(monkeypatch, specs)
    entry = load_model(path).engine_choice.cache_file
    for garbage in ("{not json", json.dumps({"key": "wrong"}), "[]"):
        with open(entry, "w") as f:
            f.write(garbage)
        Fakes(monkeypatch, specs)
        ch = load_model(path).engine_choice
        assert ch.reason == "measured" and ch.spec == "openvino:f32"
        assert any("corrupt cache entry" in n for n in ch.notes)
        assert json.loads(Path(entry).read_text())["choice"]["spec"] == "openvino:f32"


def test_cached_choice_that_no_longer_opens_is_measured_again(tmp_path, cache, monkeypatch):
    path = fake_model_file(tmp_path)
    Fakes(monkeypatch, {"onnxruntime": (10, False), "openvino:f32": (6, False)})
    load_model(path)
    Fakes(monkeypatch, {"onnxruntime": (10, False), "openvino:f32": (None, False)})
    ch = load_model(path).engine_choice
    assert ch.reason == "measured" and ch.spec == "onnxruntime"
    assert any("did not open" in n for n in ch.notes)


def test_unwritable_cache_is_ignored(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("LIVESEG_CACHE_DIR", str(blocker))
    Fakes(monkeypatch, {"onnxruntime": (10, False), "openvino:f32": (6, False)})
    ch = load_model(fake_model_file(tmp_path)).engine_choice
    assert ch.spec == "openvino:f32" and ch.cache_file is None
    assert any("not cached" in n for n in ch.notes)
    assert blocker.read_text().startswith("a file")


def test_cache_folder_follows_xdg_cache_home(tmp_path, monkeypatch):
    from liveseg.runtime.cache import cache_root

    monkeypatch.delenv("LIVESEG_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "liveseg"
    Fakes(monkeypatch, {"onnxruntime": (10, False), "openvino:f32": (6, False)})
    ch = load_model(fake_model_file(tmp_path)).engine_choice
    assert ch.cache_file.startswith(str(tmp_path / "xdg" / "liveseg" / "engines"))
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # not absolute: ignored (XDG spec)
    assert cache_root().parts[-2:] == (".cache", "liveseg")


# ---- forced engines ------------------------------------------------------------------------
def test_forced_engine_is_never_probed(tmp_path, cache, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("auto selection ran for a forced engine")

    monkeypatch.setattr(autoselect, "select_model", boom)
    path = make_seg_model(tmp_path / "m.onnx")
    m = load_model(path, engine="onnxruntime")
    assert m.engine.name == "onnxruntime" and m.engine_choice.reason == "forced"
    assert "forced" in m.engine_choice.summary()


def test_forced_engine_in_info_json(tmp_path, cache, capsys):
    path = make_seg_model(tmp_path / "m.onnx")
    assert main(["info", str(path), "--engine", "onnxruntime", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["engine_choice"]["reason"] == "forced" and d["engine"]["engine"] == "onnxruntime"


def test_parse_engine():
    assert parse_engine("auto") == ("auto", None)
    assert parse_engine("OpenVINO:BF16") == ("openvino", "bf16")
    assert parse_engine("onnxruntime:cuda") == ("onnxruntime", "cuda")
    for bad in ("openvino:int4", "auto:bf16", "tensorrt", "litert:gpu"):
        with pytest.raises(ConfigError, match="--engine must be one of"):
            parse_engine(bad)


def test_bad_engine_flag_is_one_line(tmp_path, capsys):
    path = make_seg_model(tmp_path / "m.onnx")
    assert main(["info", str(path), "--engine", "openvino:int4"]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "openvino:bf16" in err


def test_cuda_without_a_gpu_is_a_clear_error(tmp_path):
    path = make_seg_model(tmp_path / "m.onnx")
    with pytest.raises(ModelError, match="CUDAExecutionProvider"):
        load_model(path, engine="onnxruntime:cuda")


# ---- GPU candidates ------------------------------------------------------------------------
def test_gpu_candidates_skipped_cleanly_without_a_gpu(tmp_path, monkeypatch):
    import onnxruntime as ort

    path = tmp_path / "m.onnx"
    monkeypatch.setattr(
        ort,
        "get_available_providers",
        lambda: ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
    )
    monkeypatch.setattr(autoselect, "nvidia_gpu_present", lambda: False)
    monkeypatch.setattr(autoselect, "openvino_info", lambda: {"devices": ["CPU"], "cpu_caps": []})
    cands, skipped = autoselect.gpu_candidates(path)
    assert cands == []
    assert dict(skipped) == {
        "onnxruntime:cuda": "no NVIDIA GPU",
        "onnxruntime:tensorrt": "no NVIDIA GPU",
    }
    # With a GPU (faked) they become candidates, OpenVINO's GPU device too.
    monkeypatch.setattr(autoselect, "nvidia_gpu_present", lambda: True)
    monkeypatch.setattr(
        autoselect, "openvino_info", lambda: {"devices": ["CPU", "GPU.0"], "cpu_caps": []}
    )
    cands, skipped = autoselect.gpu_candidates(path)
    specs = [c.spec for c in cands]
    assert skipped == [] and "onnxruntime:cuda" in specs and "onnxruntime:tensorrt" in specs
    assert ("openvino:gpu" in specs) == HAS_OPENVINO
    assert all(c.gpu for c in cands)


def test_cpu_only_onnxruntime_lists_no_gpu_candidate():
    cands, skipped = autoselect.gpu_candidates(Path("x.onnx"))
    assert not [c for c in cands if c.engine == "onnxruntime"]
    assert all(s[1] == "no NVIDIA GPU" for s in skipped)


def test_gpu_candidate_that_fails_is_skipped_in_the_probe(tmp_path, cache, monkeypatch):
    Fakes(
        monkeypatch,
        {
            "onnxruntime": (10, False),
            "onnxruntime:cuda": (None, False),
            "openvino:gpu": (None, False),
            "openvino:f32": (8, False),
        },
    )
    ch = load_model(fake_model_file(tmp_path)).engine_choice
    assert ch.spec == "openvino:f32"
    assert {x.spec: x.status for x in ch.measurements}["openvino:gpu"] == "failed"


# ---- precisions and siblings ---------------------------------------------------------------
def test_openvino_precisions_follow_the_cpu(monkeypatch):
    from liveseg import sysinfo

    base = {"cpu": "x", "arch": "x86", "cores": 2, "isa": {}, "int8_dot": True, "amx": True}
    monkeypatch.setattr(
        autoselect,
        "openvino_info",
        lambda: {"devices": ["CPU"], "cpu_caps": ["FP32", "BF16", "FP16", "INT8"]},
    )
    monkeypatch.setattr(sysinfo, "cpu_features", lambda: {**base, "bf16": True, "fp16": False})
    assert autoselect.cpu_precisions(quantized=False) == ["f32", "bf16"]
    assert autoselect.cpu_precisions(quantized=True) == ["f32", "bf16"]
    monkeypatch.setattr(sysinfo, "cpu_features", lambda: {**base, "bf16": False, "fp16": False})
    assert autoselect.cpu_precisions(quantized=False) == ["f32"]
    assert autoselect.cpu_precisions(quantized=True) == ["f32"]
    monkeypatch.setattr(sysinfo, "cpu_features", lambda: {**base, "bf16": True, "fp16": True})
    assert autoselect.cpu_precisions(quantized=False) == ["f32", "bf16", "f16"]
    assert autoselect.cpu_precisions(quantized=True) == ["f32", "bf16"]


def _fake_zoo(tmp_path, monkeypatch):
    from liveseg import zoo

    folder = tmp_path / "zoo"
    folder.mkdir()
    monkeypatch.setattr(zoo, "ZOO_DIR", folder)
    int8 = fake_model_file(folder, "street-int8.onnx", b"int8 model")
    fp16 = fake_model_file(folder, "street-fp16.onnx", b"fp16 model")
    fake_model_file(folder, "other-int8.onnx", b"other model")
    return int8, fp16


def test_shipped_siblings(tmp_path, monkeypatch):
    int8, fp16 = _fake_zoo(tmp_path, monkeypatch)
    assert autoselect.shipped_siblings(int8) == [fp16]
    assert autoselect.shipped_siblings(fp16) == [int8]
    outside = fake_model_file(tmp_path, "street-fp16.onnx")
    assert autoselect.shipped_siblings(outside) == []  # only shipped models have siblings


def test_faster_agreeing_sibling_file_is_chosen(tmp_path, cache, monkeypatch):
    int8, fp16 = _fake_zoo(tmp_path, monkeypatch)
    fakes = Fakes(
        monkeypatch,
        {"onnxruntime": (10, False), "openvino:bf16": (6, False)},
        siblings={"street-fp16.onnx": {"onnxruntime": (12, False), "openvino:bf16": (3, False)}},
    )
    m = load_model("street-int8")
    ch = m.engine_choice
    assert ch.spec == "openvino:bf16" and ch.file == "street-fp16.onnx" and m.path == fp16
    assert m.card.name == "fake"
    assert ("street-fp16.onnx", "onnxruntime") in fakes.opened
    labels = [x.label for x in ch.measurements]
    assert "openvino:bf16 on street-fp16.onnx" in labels
    # siblings=False (eval, label): the named file only.
    Fakes(
        monkeypatch,
        {"onnxruntime": (10, False), "openvino:bf16": (6, False)},
        siblings={"street-fp16.onnx": {"onnxruntime": (12, False), "openvino:bf16": (3, False)}},
    )
    m2 = load_model("street-int8", siblings=False)
    assert m2.path == int8 and m2.engine_choice.spec == "openvino:bf16"


def test_disagreeing_sibling_file_is_never_chosen(tmp_path, cache, monkeypatch):
    int8, _ = _fake_zoo(tmp_path, monkeypatch)
    fakes = Fakes(
        monkeypatch,
        {"onnxruntime": (10, False), "openvino:bf16": (6, False)},
        siblings={"street-fp16.onnx": {"onnxruntime": (2, True), "openvino:bf16": (1, True)}},
    )
    m = load_model("street-int8")
    ch = m.engine_choice
    assert m.path == int8 and ch.spec == "openvino:bf16" and ch.file == "street-int8.onnx"
    st = {x.label: x.status for x in ch.measurements}
    assert st["onnxruntime on street-fp16.onnx"] == "rejected"
    assert st["openvino:bf16 on street-fp16.onnx"] == "skipped"
    assert ("street-fp16.onnx", "openvino:bf16") not in fakes.opened


# ---- agreement -----------------------------------------------------------------------------
def test_agreement_tolerates_the_references_own_ties():
    ref = np.zeros((3, 2, 2), np.float32)
    ref[0] = [[0.9, 0.52], [0.9, 0.9]]
    ref[1] = [[0.1, 0.48], [0.1, 0.1]]
    cand = ref.copy()
    cand[:, 0, 1] = [0.4, 0.6, 0.0]  # flips a pixel the reference nearly tied
    cand[:, 1, 1] = [0.1, 0.9, 0.0]  # flips a pixel the reference was sure about
    tol, plain = agreement(ref, cand)
    assert plain == 0.5 and tol == 0.75
    assert agreement(ref, np.full_like(ref, np.nan)) == (0.0, 0.0)
    assert agreement(ref, ref[:2]) == (0.0, 0.0)


def test_agreement_tolerates_one_pixel_edge_shifts():
    from liveseg.runtime.engine_choice import class_boundary

    labels = np.zeros((6, 8), int)
    labels[:, 4:] = 1  # an edge between columns 3 and 4
    edge = class_boundary(labels)
    assert edge[:, 3:5].all() and not edge[:, :3].any() and not edge[:, 5:].any()
    ref = np.stack([labels == 0, labels == 1, np.zeros_like(labels, bool)]).astype(np.float32)
    shifted = np.roll(ref, 1, axis=2)  # the edge one pixel to the right (and a wrapped column)
    shifted[:, :, 0] = ref[:, :, 0]
    tol, plain = agreement(ref, shifted)
    assert plain == pytest.approx(42 / 48) and tol == 1.0
    far = np.roll(ref, 3, axis=2)  # three pixels: not an edge shift any more
    far[:, :, :3] = ref[:, :, :3]
    assert agreement(ref, far)[0] < 0.995


# ---- reports -------------------------------------------------------------------------------
def test_info_says_which_engine_and_why(tmp_path, cache, monkeypatch, capsys):
    Fakes(
        monkeypatch,
        {"onnxruntime": (10, False), "openvino:f32": (6, False), "openvino:bf16": (1, True)},
    )
    path = fake_model_file(tmp_path)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    for text in (
        "engine choice",
        "openvino:f32",
        "measured",
        "6.00 ms",
        "10.00 ms",
        "rejected",
        "probe input",
    ):
        assert text in out, text
    assert main(["info", str(path), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["engine_choice"]["reason"] == "cached" and d["engine_choice"]["spec"] == "openvino:f32"


def test_run_summary_says_which_engine_and_why():
    from liveseg.video.pipeline import RunStats

    ch = autoselect.EngineChoice(
        "openvino:bf16",
        "m.onnx",
        "cached",
        1,
        [
            autoselect.Measurement("onnxruntime", "onnxruntime", "m.onnx", "ok", ms=9.0),
            autoselect.Measurement("openvino:bf16", "openvino:bf16", "m.onnx", "chosen", ms=6.0),
        ],
        measured_at="2026-01-02T03:04:05+00:00",
    )
    stats = RunStats(
        frames=1,
        fps=1.0,
        wall_s=1.0,
        inferred_frames=1,
        propagated_frames=0,
        drops=0,
        decode_errors=0,
        stages={},
        engine_choice={"summary": ch.summary(), **ch.to_dict()},
    )
    text = stats.format()
    assert (
        "engine: openvino:bf16 on m.onnx (auto, cached choice measured on 2026-01-02: "
        "onnxruntime 9.00 ms, openvino:bf16 6.00 ms)" in text
    )


def test_info_system(capsys):
    assert main(["info", "--system"]) == 0
    out = capsys.readouterr().out
    for text in ("CPU:", "ISA:", "Engines:", "onnxruntime", "GPU:", "Cache:"):
        assert text in out, text
    assert main(["info", "--system", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)["system"]
    assert {"cpu", "engines", "gpu", "versions", "cache"} <= set(d)
    assert d["engines"]["onnxruntime"]["version"]
    assert "AVX2" in d["cpu"]["isa"] or d["cpu"]["arch"] != "x86"


def test_info_without_model_or_system_is_one_line(capsys):
    assert main(["info"]) == 4
    assert "--system" in capsys.readouterr().err


# ---- real engines --------------------------------------------------------------------------
def _conv_model(path, size=128, channels=48, classes=4):
    """A float model slow enough (~ms) to be worth probing: a few 3x3 convs at 128x128."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    nodes, inits, x = [], [], "image"
    cin = 3
    for i, cout in enumerate((channels, channels, channels, classes)):
        w = (rng.standard_normal((cout, cin, 3, 3)) / np.sqrt(cin * 9)).astype(np.float32)
        inits.append(numpy_helper.from_array(w, f"w{i}"))
        out = "logits" if i == 3 else f"h{i}"
        nodes.append(
            helper.make_node("Conv", [x, f"w{i}"], [f"c{i}" if i < 3 else out], pads=[1, 1, 1, 1])
        )
        if i < 3:
            nodes.append(helper.make_node("Relu", [f"c{i}"], [out]))
        x, cin = out, cout
    graph = helper.make_graph(
        nodes,
        "probe",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, classes, size, size])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))
    write_card(path, fixture_card("conv", input_size=[size, size], output_kind="logits"))
    return path


@pytest.mark.skipif(not HAS_OPENVINO, reason="openvino not installed (extra: openvino)")
def test_real_engines_probe_and_cache(tmp_path, cache):
    path = _conv_model(tmp_path / "conv.onnx")
    m = load_model(path, threads=1)
    ch = m.engine_choice
    specs = {x.spec: x for x in ch.measurements}
    assert ch.reason == "measured" and "onnxruntime" in specs and "openvino:f32" in specs
    ran = [x for x in ch.measurements if x.ms is not None]
    assert len(ran) >= 2 and all(x.agreement >= 0.995 for x in ran if x.why != "reference")
    assert m.engine.name == parse_engine(ch.spec)[0]
    assert not [x for x in ch.measurements if x.status == "failed"], ch.lines()
    again = load_model(path, threads=1)
    assert again.engine_choice.reason == "cached" and again.engine_choice.spec == ch.spec
    img = np.random.default_rng(1).integers(0, 255, (96, 96, 3), dtype=np.uint8)
    ref = load_model(path, engine="onnxruntime", threads=1).predict(img).labels()
    assert (again.predict(img).labels() == ref).mean() > 0.98


@pytest.mark.skipif(not HAS_OPENVINO, reason="openvino not installed (extra: openvino)")
@pytest.mark.parametrize(
    "kw",
    [
        {"output": "softmax"},
        {"output": "argmax", "size": None},
        {"output": "argmax_int32_flat"},
        {"input_dtype": "uint8", "norm": "-1_1"},
        {"graph_norm": True},
        {"layout": "nhwc"},
        {"task": "fg", "output": "sigmoid"},
    ],
)
def test_openvino_on_onnx_detects_what_onnxruntime_detects(tmp_path, kw):
    """I/O detection reads the ONNX graph whichever engine runs the file, so a choice of
    OpenVINO by auto never changes how a model's input or output is understood."""
    from liveseg.runtime.engine import make_engine
    from liveseg.runtime.iodetect import detect_io

    path = make_seg_model(tmp_path / "m.onnx", **kw)
    a = detect_io(make_engine(path, "onnxruntime")).to_dict()
    b = detect_io(make_engine(path, "openvino:f32")).to_dict()
    assert a == b
