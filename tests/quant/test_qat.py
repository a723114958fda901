"""QAT: fine-tune under fake quantization, export QDQ ONNX that ORT runs with int8 kernels."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest

torch = pytest.importorskip("torch")
from liveseg.card import ModelCard
from liveseg.quant import kernels, onnx_io, sensitivity
from liveseg.quant.qat import export_qat_onnx, qat_finetune
from liveseg.train.evaluate import normalize
from tests.helpers.tiny_seg import TinySeg, images

W, H = 48, 32


class Nested(torch.nn.Module):
    """Module paths like the zoo's (backbone.stages.0....): containers leave no ONNX scope."""

    def __init__(self):
        super().__init__()
        self.backbone = torch.nn.Module()
        self.backbone.stages = torch.nn.ModuleList([TinySeg()])

    def forward(self, x):
        return self.backbone.stages[0](x)


def test_qat_finetune_and_int8_export(tmp_path):
    import cv2

    torch.manual_seed(0)
    net = Nested().eval()
    calib = images(tmp_path / "calib", n=4, size=(H, W))
    imgs = torch.stack(
        [
            torch.from_numpy(cv2.imread(str(p))[..., ::-1].copy()).permute(2, 0, 1)
            for p in sorted(calib.iterdir())
        ]
    )
    with torch.no_grad():  # teach the float model's own labels: loss must go down
        target = net(normalize(imgs, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])).argmax(1)
    batches = [{"image": imgs, "mask": target}]
    losses = []
    card = ModelCard(name="tiny", classes=list("abcde"), input_size=[W, H])
    fq = qat_finetune(
        net,
        batches,
        [{"image": imgs}],
        mean=card.mean,
        std=card.std,
        iters=6,
        lr=1e-3,
        progress=lambda i, n, loss, s: losses.append(loss),
    )
    assert len(losses) == 6 and losses[-1] < losses[0]
    out = tmp_path / "qat.onnx"
    res = export_qat_onnx(fq, out, card, calib, input_size=(W, H))
    assert res.info["pinned_ranges"] == len(fq.wrapped()) == 5
    model = onnx.load(str(out))
    assert onnx_io.count_ops(model)["QuantizeLinear"] >= 5
    opt = kernels.optimized_ops(out)
    assert opt.get("QLinearConv") == 5 and "Conv" not in opt
    # ORT's int8 model computes what QAT simulated (same weight grid, pinned ranges)
    x = normalize(imgs, card.mean, card.std)
    with torch.no_grad():
        sim = fq(x).numpy()
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = np.concatenate([sess.run(None, {"input": x[i : i + 1].numpy()})[0] for i in range(4)])
    assert sensitivity.output_error([sim], [got])["agreement"] > 0.9
    assert ModelCard.load(out.with_suffix(".json")).name == "tiny-int8"
    with pytest.raises(Exception, match="only 8/8"):
        fq.w_bits = 4
        export_qat_onnx(fq, tmp_path / "x.onnx", card, calib, input_size=(W, H))


def test_distillation_keeps_qat_close_to_the_float_model(tmp_path):
    """Labels that disagree with the float model drag labels-only QAT away from it; the
    distillation term holds the fine-tuned network near the float one (and the teacher itself
    is never updated)."""
    import cv2

    from liveseg.errors import ConfigError

    calib = images(tmp_path / "calib", n=4, size=(H, W))
    imgs = torch.stack(
        [
            torch.from_numpy(cv2.imread(str(p))[..., ::-1].copy()).permute(2, 0, 1)
            for p in sorted(calib.iterdir())
        ]
    )
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    x = normalize(imgs, mean, std)
    batches = [{"image": imgs, "mask": torch.zeros(4, H, W, dtype=torch.int64)}]

    def agreement(distill):
        torch.manual_seed(0)
        net = Nested().eval()
        with torch.no_grad():  # a confident teacher (a random head is near-uniform)
            net.backbone.stages[0].head.weight.mul_(10)
            net.backbone.stages[0].head.bias.mul_(10)
        before = {k: v.clone() for k, v in net.state_dict().items()}
        with torch.no_grad():
            ref = net(x).argmax(1)
        fq = qat_finetune(
            net, batches, [{"image": imgs}], mean=mean, std=std, iters=10, lr=3e-3, distill=distill
        )
        assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
        with torch.no_grad():
            return float((fq(x).argmax(1) == ref).float().mean())

    labels_only, distilled = agreement(0.0), agreement(5.0)  # measured 0.42 and 0.65
    assert distilled > labels_only + 0.1, (distilled, labels_only)
    with pytest.raises(ConfigError, match="distillation"):
        qat_finetune(
            Nested().eval(), batches, [{"image": imgs}], mean=mean, std=std, iters=1, distill=-1
        )
