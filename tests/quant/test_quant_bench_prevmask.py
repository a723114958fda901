"""`liveseg bench quant --checkpoint` on a previous-mask checkpoint: the simulated low-bit rows
calibrate the 4th channel as the runtime feeds it and score with the trainer's validation
channel (both through liveseg.quant.qat, as QAT does)."""

import pytest

torch = pytest.importorskip("torch")

from liveseg.bench.quant import simulated_rows
from liveseg.data import build_dataset, collate
from liveseg.data.prevmask import PrevMaskAug, PrevMaskDataset
from liveseg.data.transforms import ValTransform
from liveseg.quant import lowbit
from liveseg.train.evaluate import evaluate_model
from tests.helpers.datasets import make_davis2016
from tests.helpers.registry import registered_model
from tests.helpers.tiny_seg import build_prev, leaning_on_its_mask, prev_card

W, H = 32, 24
NAME = "_tiny_prev_bench_test"
CARD = prev_card(W, H)


def test_simulated_rows_of_a_prev_mask_checkpoint(tmp_path, monkeypatch):
    davis = make_davis2016(tmp_path / "davis", clips=("a", "b", "c"), frames=4, h=H, w=W)
    (davis / "ImageSets" / "val.txt").write_text("c\n")
    net = leaning_on_its_mask()
    ckpt = tmp_path / "m.pt"
    torch.save(
        {
            "model": net.state_dict(),
            "model_name": NAME,
            "num_classes": 2,
            "model_options": {"prev_mask": True},
            "card": CARD.to_dict(),
        },
        ckpt,
    )
    fed = []
    real = lowbit.calibrate

    def spy(fq, batches):
        fed.extend(batches)
        return real(fq, batches)

    monkeypatch.setattr(lowbit, "calibrate", spy)
    with registered_model(NAME, build_prev):
        rows, model = simulated_rows(
            ckpt, f"davis2016:{davis}", [(32, 32), (8, 8)], "train", 4, log=lambda s: None
        )
    assert [(r["w"], r["a"]) for r in rows] == [(32, 32), (8, 8)]
    assert all(0.0 <= r["miou"] <= 1.0 and r["packed_bytes"] > 0 for r in rows)
    # calibrated as `liveseg run` feeds it: each image as a first frame (zero channel), then as
    # the next frame of a still scene (its own prediction), for each of the two widths
    assert [x.shape for x in fed] == [(4, 4, H, W)] * 4
    assert [bool((x[:, 3] == 0).all()) for x in fed] == [True, False, True, False]
    # scored with the trainer's validation channel: the 32/32 row is the float model's score
    val = PrevMaskDataset(
        build_dataset("davis2016", davis, "val", transform=ValTransform([W, H]), cache=False),
        PrevMaskAug(),
        fixed=True,
    )
    loader = torch.utils.data.DataLoader(val, batch_size=4, collate_fn=collate)
    ref = evaluate_model(model, loader, val.info, torch.device("cpu"), CARD.mean, CARD.std)
    assert ref["images"] == 4
    assert rows[0]["miou"] == pytest.approx(ref["miou"], abs=1e-3)
