import pytest
import torch
import torch.nn.functional as F

from liveseg.errors import ConfigError
from liveseg.train.config import apply_overrides, load_config
from liveseg.train.losses import LovaszSoftmax, OhemCrossEntropy, SoftJaccard, build_loss
from liveseg.train.optim import AdaBound, LRFactor


def _logits_for(target, c, scale=20.0):
    return F.one_hot(target, c).permute(0, 3, 1, 2).float() * scale


def test_ce_with_ignore_and_class_weights():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 4, 5)
    target = torch.randint(0, 3, (2, 4, 5))
    target[0, 0, 0] = 255
    w = [1.0, 2.0, 0.5]
    loss = build_loss([{"name": "ce"}], 255, w)
    ref = F.cross_entropy(logits, target, weight=torch.tensor(w), ignore_index=255)
    assert torch.allclose(loss(logits, target), ref)


def test_balanced_class_weights_rare_up_common_down_clipped_absent_one():
    from liveseg.train.losses import balanced_class_weights

    # frequencies 0.8 / 0.1 / 0.1 / 0 / 0.0001 (of 10000 + 1 pixels)
    w = balanced_class_weights([8000, 1000, 1000, 0, 1])
    median = 0.1  # of the four present frequencies (0.8, 0.1, 0.1, 0.0001), torch's lower median
    assert w[0] == pytest.approx((median / 0.8) ** 0.5, rel=1e-3)  # 0.354
    assert w[1] == w[2] == pytest.approx(1.0, rel=1e-3)
    assert w[3] == 1.0  # no pixels: weight irrelevant, left at 1
    assert w[4] == 5.0  # sqrt(1000) clipped
    assert balanced_class_weights([1, 10**6], lo=0.2)[1] == 0.2
    with pytest.raises(ConfigError, match="labelled pixels"):
        balanced_class_weights([0, 0])


def test_lovasz_and_jaccard_zero_for_perfect_and_positive_for_wrong():
    target = torch.randint(0, 3, (1, 6, 6), generator=torch.Generator().manual_seed(1))
    perfect = _logits_for(target, 3)
    wrong = _logits_for((target + 1) % 3, 3)
    for loss in (LovaszSoftmax(), SoftJaccard(smooth=0.0)):
        assert loss(perfect, target).item() < 1e-6
        assert loss(wrong, target).item() > 0.9
    # hand case: one class, two pixels, p = [0.5, 0.5] for fg=[1, 0] gives errors [0.5, 0.5]
    # lovasz grad of sorted fg [1,0] (errors tie, stable order) -> jaccard [0, 0.5] deltas
    assert SoftJaccard(smooth=0.0)(
        torch.zeros(1, 2, 1, 2), torch.tensor([[[1, 1]]])
    ).item() == pytest.approx(0.5)


def test_lovasz_gradient_flows_and_ignore():
    logits = torch.randn(2, 4, 5, 5, requires_grad=True)
    target = torch.randint(0, 4, (2, 5, 5))
    target[:, 0] = 255
    LovaszSoftmax()(logits, target).backward()
    assert logits.grad is not None and logits.grad[:, :, 0].abs().sum() == 0  # ignored row


def test_ohem_keeps_hard_pixels():
    target = torch.zeros(1, 1, 4, dtype=torch.long)
    logits = torch.zeros(1, 2, 1, 4)
    logits[0, 0, 0, :3] = 10.0  # three easy pixels
    logits[0, 1, 0, 3] = 10.0  # one hard pixel
    ohem = OhemCrossEntropy(thresh=0.7, min_kept=1)
    ce_hard = F.cross_entropy(logits[..., 3:], target[..., 3:])
    assert torch.allclose(ohem(logits, target), ce_hard)
    assert ohem(logits, target) > F.cross_entropy(logits, target)


def test_weighted_sum_and_unknown_loss():
    loss = build_loss([{"name": "ce", "weight": 1.0}, {"name": "lovasz", "weight": 0.5}])
    logits, target = torch.randn(1, 3, 4, 4), torch.randint(0, 3, (1, 4, 4))
    total = loss(logits, target)
    assert torch.allclose(total, loss.last_parts["ce"] + 0.5 * loss.last_parts["lovasz"])
    with pytest.raises(ConfigError, match="unknown loss"):
        build_loss(["focal_magic"])


def test_adabound_converges_on_quadratic_and_bounds_steps():
    torch.manual_seed(0)
    x = torch.nn.Parameter(torch.tensor([5.0, -3.0]))
    opt = AdaBound([x], lr=0.1, final_lr=0.1)
    for _ in range(300):
        opt.zero_grad()
        (x**2).sum().backward()
        opt.step()
    assert x.abs().max().item() < 0.1
    sd = opt.state_dict()
    opt2 = AdaBound([torch.nn.Parameter(x.detach().clone())], lr=0.1)
    opt2.load_state_dict(sd)
    assert opt2.state_dict()["state"][0]["step"] == 300


def test_lr_schedule_warmup_poly_cosine():
    f = LRFactor("poly", total_iters=110, base_lr=1.0, power=1.0, warmup_iters=10, warmup_ratio=0.1)
    assert f(0) == pytest.approx(0.1) and f(5) == pytest.approx(0.55) and f(10) == 1.0
    assert f(60) == pytest.approx(0.5) and f(110) == pytest.approx(0.0)
    c = LRFactor("cosine", 100, 1.0, min_lr=0.1)
    assert c(0) == 1.0 and c(100) == pytest.approx(0.1)
    with pytest.raises(ConfigError):
        LRFactor("step", 10, 1.0)


def test_config_overrides_and_errors(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("name: x\nmodel: {name: m}\ndata: {dataset: camvid, root: /tmp}\n")
    cfg = load_config(p, ["epochs=3", "optimizer.lr=0.5", "data.options.val_clips=[a, b]"])
    assert (
        cfg["epochs"] == 3 and cfg["optimizer"]["lr"] == 0.5 and cfg["optimizer"]["name"] == "adamw"
    )
    assert cfg["data"]["options"]["val_clips"] == ["a", "b"] and cfg["output_dir"] == "runs/x"
    with pytest.raises(ConfigError, match="unknown key"):
        apply_overrides(cfg, ["epochz=3"])
    with pytest.raises(ConfigError, match="key.sub=value"):
        apply_overrides(cfg, ["epochs"])
    p.write_text("name: x\nbogus: 1\n")
    with pytest.raises(ConfigError, match="unknown keys"):
        load_config(p)
    p.write_text("name: x\ndata: {root: /tmp}\n")
    with pytest.raises(ConfigError, match="model.name"):
        load_config(p)
