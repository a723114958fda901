"""Two CPU processes with the gloo backend run the same trainer code as torchrun would."""

import json
import os
import socket

import torch.multiprocessing as mp


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank, world, port, cfg_path, root, out):
    os.environ.update(
        RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_RANK=str(rank),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        OMP_NUM_THREADS="1",
    )
    from liveseg.train.config import load_config
    from liveseg.train.trainer import train
    from tests.helpers.registry import registered_model
    from tests.helpers.tiny_model import NAME, build

    cfg = load_config(
        cfg_path,
        [
            f"output_dir={out}",
            "epochs=1",
            "batch_size=2",
            "threads=1",
            "input_size=[32,24]",
            "augment.crop=[24,24]",
            "device=cpu",
        ],
    )
    with registered_model(NAME, build):  # a spawned process: the parent's registration is not here
        train(cfg, export=False)


def test_two_process_gloo_training(tmp_path):
    from tests.helpers.datasets import make_folder
    from tests.helpers.tiny_model import NAME

    root = make_folder(tmp_path / "data", n=9)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"name: ddp\nmodel: {{name: {NAME}}}\ndata: {{dataset: folder, root: {root}}}\n")
    out = tmp_path / "out"
    mp.spawn(_worker, args=(2, _free_port(), str(cfg), str(root), str(out)), nprocs=2, join=True)
    hist = json.loads((out / "log.json").read_text())
    # 6 training images, 2 processes x batch 2 -> 1 iteration per process per epoch
    assert hist[0]["iters"] == 1 and "val_miou" in hist[0]
    assert (out / "last.pt").exists()
