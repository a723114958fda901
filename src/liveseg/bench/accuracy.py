"""A labelled data set as the benchmarks name it, and a runtime model's accuracy on it.

``--data`` is ``kind:ROOT`` (``camvid:../shared/data/camvid``) or a training config (.yaml)
whose data section (reader options, class map ...) is used as it is. Accuracy is measured
through the runtime (``SegModel.predict``, what ``liveseg run`` does) at label resolution.
"""

from __future__ import annotations

from liveseg.errors import ConfigError


def parse_spec(spec):
    """(kind, root, reader options) from ``kind:ROOT`` or a training config (.yaml), whose data
    section (split, class map ...) is used as it is."""
    if str(spec).endswith((".yaml", ".yml")):
        from liveseg.train.config import load_config

        data = load_config(spec)["data"]
        return data["dataset"], data["root"], dict(data.get("options") or {})
    kind, _, root = str(spec).partition(":")
    if not root:
        raise ConfigError(
            f"--data must look like camvid:ROOT or be a training config, got {spec!r}"
        )
    return kind, root, {}


def calibration_spec(data, split, workdir) -> str:
    """What ``quantize_model`` calibrates on: the ``split`` images of data spec ``data`` (a
    config's data set keeps its reader options; see ``dataset_calibration_spec``)."""
    from liveseg.quant.calibration import dataset_calibration_spec

    kind, root, opts = parse_spec(data)
    return dataset_calibration_spec(kind, root, opts, split, workdir)


def open_dataset(data, split="val"):
    """The ``split`` of data spec ``data`` as a dataset of (image, mask) at full resolution."""
    from liveseg.data import build_dataset

    kind, root, opts = parse_spec(data)
    return build_dataset(kind, root, split, transform=None, cache=False, **opts)


def runtime_accuracy(model, ds, limit=None, temporal=None) -> dict:
    """mIoU and pixel accuracy of a loaded runtime ``model`` on dataset ``ds``.

    ``temporal``: a ``--temporal`` spec other than off runs the images in order through that
    policy (a new one per clip: consecutive samples of the same group), so reused and warped
    frames are scored as ``liveseg run`` would produce them; meaningful for video data only.
    """
    import numpy as np

    from liveseg.metrics.segmentation import ConfusionMatrix
    from liveseg.video.temporal import make_temporal

    if model.num_classes != ds.info.num_classes:
        raise ConfigError(
            f"the model predicts {model.num_classes} classes but the data set has "
            f"{ds.info.num_classes}"
        )
    cm = ConfusionMatrix(ds.info.num_classes, ds.info.ignore_index)
    n = len(ds) if not limit else min(limit, len(ds))
    reuse = temporal not in (None, "", "off")
    policy, group, inferred = None, object(), 0
    for i in range(n):
        img, mask = ds.load(i)
        img = np.ascontiguousarray(img)
        if reuse:
            g = getattr(ds.samples[i], "group", None) if hasattr(ds, "samples") else None
            if policy is None or g != group:
                if policy is not None:
                    inferred += policy.stats()["inferred_frames"]
                policy, group = make_temporal(temporal), g
            pred = policy.step(img, lambda prev, f=img: model.predict(f, prev))
        else:
            pred = model.predict(img)
        cm.update(pred.labels(), mask)
    if policy is not None:
        inferred += policy.stats()["inferred_frames"]
    return {
        "miou": cm.miou(),
        "pixel_acc": cm.pixel_acc(),
        "images": n,
        "inferred_share": inferred / n if reuse and n else 1.0,
    }


def onnx_accuracy(model_path, data, split="val", limit=None, threads=1) -> dict:
    """mIoU of an ONNX model file through the runtime (ONNX Runtime), at label resolution."""
    from liveseg.runtime import load_model

    ds = open_dataset(data, split)
    model = load_model(str(model_path), engine="onnxruntime", threads=threads)
    r = runtime_accuracy(model, ds, limit)
    return {k: r[k] for k in ("miou", "pixel_acc", "images")}
