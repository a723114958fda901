"""Fake-quant simulation (low-bit study): BN folding, bit widths, ORT-compatible int8 grid."""

import pytest

torch = pytest.importorskip("torch")
from liveseg.quant import lowbit

nn = torch.nn


def net():
    torch.manual_seed(0)
    m = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1, groups=8),
        nn.BatchNorm2d(8),
        nn.ReLU6(),
        nn.Conv2d(8, 4, 1),
    )
    for b in m:
        if isinstance(b, nn.BatchNorm2d):
            b.running_mean.uniform_(-0.5, 0.5)
            b.running_var.uniform_(0.5, 2)
            b.weight.data.uniform_(0.5, 1.5)
    return m.eval()


def test_fold_batchnorm_keeps_outputs():
    m = net()
    x = torch.randn(2, 3, 16, 16)
    f = lowbit.fold_batchnorm(m, x[:1])
    assert not any(isinstance(a, nn.BatchNorm2d) for a in f.modules())
    assert any(isinstance(a, nn.BatchNorm2d) for a in m.modules())  # original untouched
    assert torch.allclose(f(x), m(x), atol=1e-5)


def test_error_grows_as_bits_shrink_and_32_is_exact():
    m = net()
    x = torch.randn(4, 3, 16, 16)
    ref = m(x)
    errs = {}
    for w, a in lowbit.STUDY_BITS:
        fq = lowbit.fake_quantize_model(m, w, a, x[:1])
        lowbit.calibrate(fq, [x])
        with torch.no_grad():
            errs[(w, a)] = float((fq(x) - ref).norm() / ref.norm())
    assert errs[(32, 32)] < 1e-5
    assert errs[(32, 32)] < errs[(8, 8)] < errs[(6, 6)] < errs[(4, 4)]
    assert errs[(6, 6)] < errs[(6, 4)]


def test_int8_weight_grid_is_ort_symmetric():
    m = net()
    x = torch.randn(1, 3, 8, 8)
    fq = lowbit.fake_quantize_model(m, 8, 8, x)
    layer = fq.wrapped()[0][1]
    w = layer.layer.weight.detach()
    scale = w.abs().amax(dim=(1, 2, 3)) / 127  # ORT: per-channel symmetric int8, +-127
    q = layer.quant_weight().detach() / scale.view(-1, 1, 1, 1)
    assert torch.allclose(q, q.round(), atol=1e-3) and q.abs().max() <= 127.001
    rr = lowbit.fake_quantize_model(m, 8, 8, x, w_qmax=64).wrapped()[0][1]  # ORT reduce_range
    q7 = rr.quant_weight().detach() / (w.abs().amax(dim=(1, 2, 3)) / 64).view(-1, 1, 1, 1)
    assert torch.allclose(q7, q7.round(), atol=1e-3) and q7.abs().max() <= 64.001
    sizes = [lowbit.packed_size_bytes(fq.float_model(), b) for b in (32, 8, 4)]
    assert sizes[0] > sizes[1] > sizes[2]


def test_bad_bits():
    with pytest.raises(Exception, match="bits"):
        lowbit.fake_quantize_model(net(), 1, 8, torch.randn(1, 3, 8, 8))
    assert lowbit.output_stride("deeplabv3plus_mobilenetv2_os16") == "16"
    assert lowbit.output_stride("x", {"output_stride": 8}) == "8"
