"""The trainer behind ``liveseg train``: setup, resume, checkpoints, logs and export around the
epoch loop of ``liveseg.train.loop`` (``train_one_epoch`` / ``validate``, which QAT reuses).

CPU here, CUDA with AMP + channels_last when present, DDP under ``torchrun`` (WORLD_SIZE > 1)
with no code change. Reproducible: data order and augmentation are functions of (seed, epoch),
and checkpoints carry optimizer, scheduler, scaler and RNG states, so ``--resume`` continues
exactly from the last finished epoch. Per epoch: val metrics, ``last.pt`` (+ ``best.pt`` by the
configured metric) written atomically, a line in ``log.csv`` and ``log.json``. At the end the
best weights are exported to ONNX with a ModelCard carrying the measured val metrics.
"""

from __future__ import annotations

import csv
import functools
import json
import math
import os
import random
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from liveseg.atomic import write_text_atomic
from liveseg.errors import ConfigError, DependencyError, OutputError
from liveseg.models.checkpoint import card_from_training
from liveseg.train.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from liveseg.train.loop import supervised_loss, train_one_epoch, validate


# ---- environment -------------------------------------------------------------------------------
def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def setup_distributed():
    """(rank, world_size, local_rank); initialises the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, 0
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(local)
        dist.init_process_group(backend=backend)
    return rank, world, local


def pick_device(name: str, local_rank: int) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("device=cuda but CUDA is not available; use device=cpu")
        return torch.device("cuda", local_rank)
    if name != "cpu":
        raise ConfigError(f"device must be auto, cpu or cuda, got {name!r}")
    return torch.device("cpu")


class EpochSampler(torch.utils.data.Sampler):
    """Shuffled order that depends only on (seed, epoch)."""

    def __init__(self, n: int, seed: int):
        self.n = n
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed * 100003 + self.epoch)
        return iter(torch.randperm(self.n, generator=g).tolist())

    def __len__(self):
        return self.n


# ---- building blocks ---------------------------------------------------------------------------
def build_datasets(cfg: dict, progress: bool = False):
    from liveseg.data.datasets import build_dataset
    from liveseg.data.prevmask import PrevMaskDataset, parse_prev_mask
    from liveseg.data.transforms import TrainTransform, ValTransform

    d = cfg["data"]
    aug = cfg["augment"]
    opts = dict(d.get("options") or {})
    crop = aug.get("crop") or cfg["input_size"]
    train_tf = TrainTransform(
        crop,
        scale=aug.get("scale"),
        flip=aug.get("flip", True),
        jitter=aug.get("jitter"),
        base_size=aug.get("base_size"),
        blur=aug.get("blur"),
        noise=aug.get("noise"),
        jpeg=aug.get("jpeg"),
        aspect=aug.get("aspect"),
    )
    train = build_dataset(
        d["dataset"],
        d["root"],
        d["train_split"],
        transform=train_tf,
        cache=d.get("cache", True),
        preresize=d.get("preresize"),
        seed=cfg["seed"],
        progress=progress,
        composites=int(d.get("composites") or 0),
        teacher_dir=(d.get("teacher") or {}).get("dir"),
        **opts,
    )
    if any(s.mask is None for s in train.samples) and not d.get("teacher"):
        raise ConfigError(
            "training images without label maps need a teacher's labels: "
            "data.teacher: {dir: DIR} (from 'liveseg label TEACHER IMAGES -o DIR')"
        )
    train_tf.ignore_index = train.info.ignore_index
    val = None
    if d.get("val_split"):
        val = build_dataset(
            d["dataset"],
            d["root"],
            d["val_split"],
            transform=ValTransform(cfg["input_size"]),
            cache=d.get("cache", True),
            seed=cfg["seed"],
            progress=progress,
            **opts,
        )
    prev = parse_prev_mask(d.get("prev_mask"))
    if prev is not None:  # items get "prev": the synthetic previous-frame mask channel
        train = PrevMaskDataset(train, prev)
        val = PrevMaskDataset(val, prev, fixed=True) if val is not None else None
    return train, val


def build_model(cfg: dict, num_classes: int, pretrained: bool = False):
    """The config's model; ``pretrained`` loads ``model.encoder_weights`` (a new run's start)."""
    from liveseg.models import create_model

    model = create_model(
        cfg["model"]["name"], num_classes=num_classes, **dict(cfg["model"].get("options") or {})
    )
    if pretrained and cfg["model"].get("encoder_weights") == "imagenet":
        from liveseg.models.pretrained import load_imagenet_encoder

        load_imagenet_encoder(model.backbone)
    return model


def card_metrics(val: dict, split: str, epoch: int) -> dict:
    keys = ("miou", "pixel_acc", "mean_class_acc", "fg_iou", "j_mean")
    out = {f"val_{k}": round(float(val[k]), 4) for k in keys if val.get(k) is not None}
    out["val_split"] = split
    out["epoch"] = epoch
    out["per_class_iou"] = val.get("per_class_iou")
    return out


# ---- logging -----------------------------------------------------------------------------------
CSV_FIELDS = [
    "epoch",
    "iters",
    "lr",
    "train_loss",
    "train_images_per_s",
    "train_s",
    "val_s",
    "val_miou",
    "val_pixel_acc",
    "val_mean_class_acc",
    "val_fg_iou",
    "val_j_mean",
    "best",
]


def write_logs(out_dir: Path, history: list[dict]) -> None:
    rows = []
    for h in history:
        rows.append({k: h.get(k, "") for k in CSV_FIELDS})
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, CSV_FIELDS)
    w.writeheader()
    w.writerows(rows)
    write_text_atomic(out_dir / "log.csv", buf.getvalue())
    write_text_atomic(out_dir / "log.json", json.dumps(history, indent=1) + "\n")


def epoch_message(row: dict, epochs: int, val: dict | None, is_best: bool) -> str:
    """The console line of a finished epoch (users and docs read it: keep its form)."""
    msg = (
        f"epoch {row['epoch']}/{epochs} loss {row['train_loss']:.4f} "
        f"lr {row['lr']:.2e} {row['train_images_per_s']:.2f} img/s"
    )
    if val is not None:
        msg += f" | val mIoU {val['miou']:.4f} pixel acc {val['pixel_acc']:.4f}"
        if val.get("j_mean") is not None:
            msg += f" J {val['j_mean']:.4f}"
        msg += " *best*" if is_best else ""
    return msg


def _loss_error(epoch: int, it: int, value: float) -> ConfigError:
    return ConfigError(
        f"loss became {value} at epoch {epoch + 1} iter {it + 1}; "
        "lower optimizer.lr or enable grad_clip"
    )


# ---- training ----------------------------------------------------------------------------------
class Trainer:
    def __init__(
        self,
        cfg: dict,
        resume=None,
        overwrite: bool = False,
        console=None,
        export: bool | None = None,
        stop_after: int | None = None,
    ):
        self.cfg = cfg
        self.stop_after = stop_after
        self.resume = resume
        self.overwrite = overwrite
        self.export_enabled = cfg["export"].get("onnx", True) if export is None else export
        from rich.console import Console

        self.console = console or Console(stderr=True)

    def log(self, *a, **kw):
        if self.rank == 0:
            self.console.print(*a, soft_wrap=True, **kw)

    def run(self) -> dict:
        self.rank, self.world, local = setup_distributed()
        try:
            return self._run(local)
        finally:
            if self.world > 1 and dist.is_initialized():
                dist.destroy_process_group()

    def _prepare_output(self) -> Path:
        out = Path(self.cfg["output_dir"])
        last = out / "last.pt"
        if last.exists() and not self.resume and not self.overwrite:
            raise OutputError(
                f"{out} already holds a training run; pass --resume to continue it "
                "or --overwrite to start over"
            )
        if self.rank == 0:
            out.mkdir(parents=True, exist_ok=True)
        return out

    def _run(self, local_rank: int) -> dict:
        cfg = self.cfg
        device, amp, channels_last = self._environment(local_rank)
        seed_everything(int(cfg["seed"]))
        out = self._prepare_output()
        ckpt = None
        if self.resume:
            path = out / "last.pt" if self.resume in (True, "auto") else Path(self.resume)
            ckpt = load_checkpoint(path)
        train_set, val_set = self._datasets()
        info = train_set.info
        model, raw_model = self._network(info, device, ckpt, channels_last, local_rank)
        loss_fn = self._loss(info, device, train_set)
        sampler, loader, iters = self._train_loader(train_set, device)
        if ckpt is None and str(cfg.get("init_from") or "").endswith(".onnx"):
            # The file's BatchNorms were folded away: give them statistics again (same function)
            self._recalibrate_bn(raw_model, loader, cfg, device)

        from liveseg.train.optim import build_optimizer, build_scheduler

        epochs = int(cfg["epochs"])
        optimizer = build_optimizer(raw_model, cfg["optimizer"])
        scheduler = build_scheduler(
            optimizer, cfg["schedule"], epochs * iters, float(cfg["optimizer"].get("lr", 1e-3))
        )
        scaler = torch.amp.GradScaler("cuda", enabled=amp)
        start_epoch, best, best_epoch, history = self._restore(
            ckpt, raw_model, optimizer, scheduler, scaler
        )
        val_loader = self._val_loader(val_set, info.ignore_index)
        best_key = str(cfg.get("best_metric", "miou"))
        self.log(
            f"model {cfg['model']['name']} "
            f"({sum(p.numel() for p in raw_model.parameters()) / 1e6:.2f}M "
            f"params) on {device}{' AMP' if amp else ''}, {torch.get_num_threads()} threads, "
            f"{self.world} process(es), {iters} iters/epoch x {epochs - start_epoch} epochs"
        )
        end = epochs if not self.stop_after else min(epochs, start_epoch + int(self.stop_after))
        freeze_bn = bool(cfg.get("freeze_bn"))
        for epoch in range(start_epoch, end):
            train_set.set_epoch(epoch)
            sampler.set_epoch(epoch)
            progress = self._progress(f"epoch {epoch + 1}/{epochs}", iters)
            try:
                stats = train_one_epoch(
                    model,
                    loader,
                    optimizer,
                    loss_fn,
                    device=device,
                    mean=cfg["mean"],
                    std=cfg["std"],
                    max_iters=iters,
                    scheduler=scheduler,
                    scaler=scaler,
                    amp=amp,
                    channels_last=channels_last,
                    grad_clip=cfg.get("grad_clip"),
                    freeze_bn=freeze_bn,
                    on_iter=progress,
                    nonfinite=functools.partial(_loss_error, epoch),
                )
            finally:
                progress(None, None)
            row = {
                "epoch": epoch + 1,
                "iters": (epoch + 1) * iters,
                "lr": optimizer.param_groups[0]["lr"],
                "train_loss": round(stats.loss_sum / max(1, iters), 5),
                "train_images_per_s": round(stats.images * self.world / stats.seconds, 3),
                "train_s": round(stats.seconds, 2),
            }
            if self.rank == 0:
                val, is_best = None, False
                if val_loader is not None and (
                    (epoch + 1) % int(cfg.get("val_every", 1)) == 0 or epoch + 1 == epochs
                ):
                    result = validate(
                        raw_model,
                        val_loader,
                        info,
                        device=device,
                        mean=cfg["mean"],
                        std=cfg["std"],
                        limit=cfg["data"].get("val_limit"),
                        channels_last=channels_last,
                        amp=amp,
                    )
                    row.update(result.row())
                    val = result.metrics
                    score = val.get(best_key)
                    if score is None:
                        raise ConfigError(
                            f"best_metric {best_key!r} is not a val metric here; "
                            f"choose from {[k for k, v in val.items() if isinstance(v, float)]}"
                        )
                    if score > best:
                        best, best_epoch, is_best = float(score), epoch + 1, True
                row["best"] = is_best
                history.append(row)
                payload = {
                    "model": raw_model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "scaler": scaler.state_dict(),
                    "epoch": epoch,
                    "best": best,
                    "best_epoch": best_epoch,
                    "history": history,
                    "rng": rng_state(),
                    "config": cfg,
                    "info": asdict(info),
                    "val": val,
                }
                save_checkpoint(out / "last.pt", payload)
                if is_best:
                    save_checkpoint(out / "best.pt", payload)
                write_logs(out, history)
                self.log(epoch_message(row, epochs, val, is_best))
            if self.world > 1:
                dist.barrier()

        result = {
            "output_dir": str(out),
            "best": best,
            "best_epoch": best_epoch,
            "history": history,
            "best_metric": best_key,
            "finished": end == epochs,
        }
        if end < epochs:
            self.log(f"stopped after epoch {end} of {epochs}; continue with --resume")
        elif self.rank == 0 and self.export_enabled:
            result["onnx"] = str(self.export(out, info))
        return result

    # ---- setup, in the order the run does it (the RNG draws follow this order) ----------------
    def _environment(self, local_rank: int):
        """Threads, device; (device, amp, channels_last)."""
        import cv2

        cfg = self.cfg
        if cfg.get("threads"):
            torch.set_num_threads(int(cfg["threads"]))
        cv2.setNumThreads(1)
        device = pick_device(cfg.get("device", "auto"), local_rank)
        amp = bool(cfg.get("amp", True)) and device.type == "cuda"
        # channels_last: CUDA, and CPUs too (oneDNN's NHWC depthwise/1x1 kernels trained the
        # Lite0 U-net 2x faster on 2 cores than NCHW; see TRAINING.md).
        channels_last = bool(cfg.get("channels_last", True))
        return device, amp, channels_last

    def _datasets(self):
        t0 = time.perf_counter()
        train_set, val_set = build_datasets(
            self.cfg, progress=self.rank == 0 and self.console.is_terminal
        )
        info = train_set.info
        mb = (train_set.cached_bytes() + (val_set.cached_bytes() if val_set else 0)) / 2**20
        self.log(
            f"data: {info.name} train {len(train_set)} / val {len(val_set) if val_set else 0} "
            f"images, cached {mb:.0f} MiB in {time.perf_counter() - t0:.1f}s"
        )
        return train_set, val_set

    def _network(self, info, device, ckpt, channels_last: bool, local_rank: int):
        """(model, raw_model): the network as trained (DDP-wrapped under torchrun) and itself."""
        cfg = self.cfg
        # ImageNet weights start a new run only (resuming and init_from bring their own).
        fresh = ckpt is None and not cfg.get("init_from")
        model = build_model(cfg, info.num_classes, pretrained=fresh).to(device)
        if fresh and cfg["model"].get("encoder_weights"):
            self.log(f"encoder initialised from {cfg['model']['encoder_weights']} weights")
        if cfg.get("init_from") and ckpt is None:  # resuming restores the run's own weights
            from liveseg.train.init_from import load_init_weights

            init = load_init_weights(model, cfg["init_from"])
            self.log(
                f"weights from {cfg['init_from']}"
                + (
                    f" (widened to 4 input channels: {', '.join(init['widened'])})"
                    if init["widened"]
                    else ""
                )
                + (
                    f" ({init['convolutions']} convolutions, {init['folded_bn']} with "
                    f"folded BatchNorm; logits reproduced to {init['max_error']:.1e})"
                    if "convolutions" in init
                    else ""
                )
            )
        if cfg.get("freeze_bn"):
            self.log("BatchNorm statistics frozen (freeze_bn): only their affine weights train")
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        raw_model = model
        if self.world > 1:
            if cfg.get("sync_bn"):
                model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
                raw_model = model
            model = torch.nn.parallel.DistributedDataParallel(
                model, device_ids=[local_rank] if device.type == "cuda" else None
            )
        return model, raw_model

    def _loss(self, info, device, train_set):
        from liveseg.data.prevmask import foreground_ids
        from liveseg.train.losses import balanced_class_weights, build_loss

        cfg = self.cfg
        weights = cfg.get("class_weights")
        if weights == "balanced":
            weights = balanced_class_weights(train_set.class_pixel_counts())
            self.log(
                "class weights (balanced): "
                + ", ".join(f"{n} {w:.2f}" for n, w in zip(info.classes, weights, strict=True))
            )
        if weights is not None and len(weights) != info.num_classes:
            raise ConfigError(
                f"class_weights has {len(weights)} values for {info.num_classes} classes"
            )
        criterion = build_loss(cfg["loss"], info.ignore_index, weights).to(device)
        teacher_w = float((cfg["data"].get("teacher") or {}).get("weight", 1.0))
        fg_ids = foreground_ids(info)
        return supervised_loss(criterion, info.ignore_index, teacher_w, fg_ids)

    def _train_loader(self, train_set, device):
        """(sampler, loader, iterations per epoch)."""
        from liveseg.data.base import collate

        cfg = self.cfg
        bs = int(cfg["batch_size"])
        if self.world > 1:
            sampler = torch.utils.data.DistributedSampler(
                train_set,
                self.world,
                self.rank,
                shuffle=True,
                seed=int(cfg["seed"]),
                drop_last=True,
            )
        else:
            sampler = EpochSampler(len(train_set), int(cfg["seed"]))
        loader = torch.utils.data.DataLoader(
            train_set,
            batch_size=bs,
            sampler=sampler,
            num_workers=int(cfg["data"].get("workers", 0)),
            drop_last=True,
            collate_fn=functools.partial(collate, ignore_index=train_set.info.ignore_index),
            pin_memory=device.type == "cuda",
        )
        iters = len(loader)
        if iters == 0:
            raise ConfigError(
                f"batch_size {bs} is larger than the training set "
                f"({len(train_set)} images per process)"
            )
        cap = cfg.get("max_iters_per_epoch")
        if cap:
            iters = min(iters, int(cap))
        return sampler, loader, iters

    def _restore(self, ckpt, raw_model, optimizer, scheduler, scaler):
        """(start_epoch, best, best_epoch, history): a new run's, or those of the checkpoint
        being resumed, whose model, optimizer, scheduler, scaler and RNG states are loaded."""
        if ckpt is None:
            return 0, -math.inf, -1, []
        raw_model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        fresh = [dict(f.__dict__) for f in scheduler.lr_lambdas]
        scheduler.load_state_dict(ckpt["scheduler"])
        for f, d in zip(scheduler.lr_lambdas, fresh, strict=True):
            f.__dict__.update(d)  # the schedule of this config (epochs may be extended)
        if ckpt.get("scaler"):
            scaler.load_state_dict(ckpt["scaler"])
        set_rng_state(ckpt["rng"])
        start_epoch = int(ckpt["epoch"]) + 1
        self.log(f"resumed from epoch {start_epoch} ({self.resume})")
        return (
            start_epoch,
            float(ckpt.get("best", -math.inf)),
            int(ckpt.get("best_epoch", -1)),
            list(ckpt.get("history", [])),
        )

    def _val_loader(self, val_set, ignore_index: int):
        """The val loader (rank 0 only, which validates), or None."""
        if val_set is None or self.rank != 0:
            return None
        from liveseg.data.base import collate

        return torch.utils.data.DataLoader(
            val_set,
            batch_size=int(self.cfg.get("val_batch_size", 4)),
            shuffle=False,
            num_workers=int(self.cfg["data"].get("workers", 0)),
            collate_fn=functools.partial(collate, ignore_index=ignore_index),
        )

    def export(self, out: Path, info) -> Path:
        try:
            from liveseg.export.onnx_export import export_onnx
        except ImportError as exc:
            raise DependencyError(
                f"ONNX export is not available ({exc}); the checkpoints in {out} are kept"
            ) from None
        src = out / "best.pt" if (out / "best.pt").exists() else out / "last.pt"
        ckpt = load_checkpoint(src)
        model = build_model(self.cfg, info.num_classes)
        model.load_state_dict(ckpt["model"])
        model.eval()
        metrics = (
            card_metrics(ckpt["val"], self.cfg["data"]["val_split"], ckpt["epoch"] + 1)
            if ckpt.get("val")
            else {}
        )
        card = card_from_training(self.cfg, asdict(info), metrics=metrics)
        path = out / f"{card.name}.onnx"
        export_onnx(
            model,
            path,
            input_size=tuple(self.cfg["input_size"]),
            card=card,
            opset=int(self.cfg["export"].get("opset", 17)),
        )
        self.log(f"exported {path} (+ {path.with_suffix('.json').name}) from {src.name}")
        return path

    def _recalibrate_bn(self, model, loader, cfg, device, max_batches=20):
        from liveseg.models.from_onnx import recalibrate_batchnorm
        from liveseg.train.evaluate import model_input

        def inputs():
            for i, batch in enumerate(loader):
                if i >= max_batches:
                    break
                yield model_input(batch, device, cfg["mean"], cfg["std"])

        n = recalibrate_batchnorm(model, inputs())
        if self.world > 1:
            # Each process saw its own shard; DDP broadcast the weights before they changed, so
            # take rank 0's statistics and affine weights everywhere (any rank's set keeps the
            # same function) or the replicas would train apart.
            for t in model.state_dict().values():
                torch.distributed.broadcast(t, 0)
        self.log(
            f"BatchNorm statistics of {n} folded layers re-estimated on "
            f"{min(max_batches, len(loader))} training batches (same function)"
        )

    def _progress(self, title: str, total: int):
        """Callback(it, loss): a rich bar on a terminal, a line every log_every iters otherwise."""
        every = max(1, int(self.cfg.get("log_every", 10)))
        if self.rank != 0:
            return lambda it, loss: None
        if self.console.is_terminal:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]:.4f}"),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            task = bar.add_task(title, total=total, loss=float("nan"))
            bar.start()

            def cb(it, loss):
                if it is None:
                    bar.stop()
                else:
                    bar.update(task, completed=it + 1, loss=loss)

            return cb
        t0 = time.perf_counter()

        def cb(it, loss):
            if it is not None and ((it + 1) % every == 0 or it + 1 == total):
                self.console.print(
                    f"{title} iter {it + 1}/{total} loss {loss:.4f} "
                    f"({time.perf_counter() - t0:.0f}s)",
                    soft_wrap=True,
                )

        return cb


def train(
    cfg: dict, resume=None, overwrite=False, export=None, console=None, stop_after=None
) -> dict:
    return Trainer(
        cfg,
        resume=resume,
        overwrite=overwrite,
        export=export,
        console=console,
        stop_after=stop_after,
    ).run()
