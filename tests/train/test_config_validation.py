"""The whole training config is validated before anything is written (issue 13): types,
ranges, unknown keys at every level (with the closest known key), and what the config names
(model, data set, folders) before the run folder exists."""

from pathlib import Path

import pytest

from liveseg.cli import main
from liveseg.errors import ConfigError
from liveseg.train.config import load_config

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))


@pytest.fixture
def cfg_file(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    p = tmp_path / "c.yaml"
    p.write_text(
        f"name: x\nmodel: {{name: lraspp_mobilenetv3_small}}\n"
        f"data: {{dataset: camvid, root: {root}}}\n"
        f"output_dir: {tmp_path / 'runs' / 'x'}\n"
    )
    return p


def _error(p, over=(), extra=""):
    if extra:
        p.write_text(p.read_text() + extra)
    with pytest.raises(ConfigError) as e:
        load_config(p, list(over))
    msg = str(e.value)
    assert "\n" not in msg
    return msg


@pytest.mark.parametrize(
    "over,msg",
    [
        (["epochs=abc"], "epochs must be an integer >= 1, got 'abc'"),
        (["epochs=2.5"], "epochs must be an integer"),
        (["batch_size=0"], "batch_size must be an integer >= 1"),
        (["input_size=256x256"], "input_size must be [width, height]"),
        (["input_size=[abc, 10]"], "input_size must be [width, height]"),
        (["input_size=[0, 10]"], "input_size must be [width, height]"),
        (["optimizer.lr=fast"], "optimizer.lr must be a number >= 0"),
        (["optimizer.lr=-0.1"], "optimizer.lr must be a number >= 0"),
        (["optimizer.name=sgdd"], "did you mean 'sgd'"),
        (["schedule.warmup_ratio=2"], "schedule.warmup_ratio must be a number in [0, 1]"),
        (["augment.scale=[2.0, 1.0]"], "augment.scale must be [low, high]"),
        (["augment.flip=sometimes"], "augment.flip must be true or false"),
        (["augment.jpeg={p: 0.2, quality: [0, 120]}"], "augment.jpeg.quality must be [low, high]"),
        (["std=[0, 0, 0]"], "std must be three non-zero numbers"),
        (["threads=0"], "threads must be an integer >= 1"),
        (["device=gpu"], "device must be one of auto, cpu, cuda"),
        (["export.opset=11"], "export.opset must be an integer >= 17"),
        (["grad_clip=-1"], "grad_clip must be a number > 0"),
        (["data.workers=-1"], "data.workers must be an integer >= 0"),
        (["class_weights=[1, x]"], "class_weights must be"),
        (["class_weights=balance"], 'class_weights must be a list of numbers >= 0, "balanced"'),
        (["optimizer=adamw"], "optimizer must be a mapping"),
    ],
)
def test_bad_values_are_one_line(cfg_file, over, msg):
    assert msg in _error(cfg_file, over)


@pytest.mark.parametrize(
    "over,msg",
    [
        (["optimizer.lrr=0.5"], "unknown key 'optimizer.lrr'; did you mean 'lr'?"),
        (["schedule.warmup_iter=10"], "did you mean 'warmup_iters'?"),
        (["augment.jitter.brightnes=0.1"], "unknown key 'augment.jitter.brightnes'; did you mean"),
        (
            ["augment.blur={p: 0.1, sigmaa: [1, 2]}"],
            "unknown key 'augment.blur.sigmaa'; did you mean 'sigma'?",
        ),
        (["data.teacher={dir: x, wieght: 1}"], "did you mean 'weight'?"),
        (["export.onx=false"], "did you mean 'onnx'?"),
        (["loss=[{name: ce, wieght: 1}]"], "unknown key loss[0].wieght; did you mean 'weight'?"),
        (["loss=[{name: jacard}]"], "unknown loss 'jacard'; did you mean 'jaccard'?"),
    ],
)
def test_misspelt_nested_keys_are_caught_with_a_suggestion(cfg_file, over, msg):
    assert msg in _error(cfg_file, over)


def test_misspelt_key_in_the_yaml_file(cfg_file):
    msg = _error(cfg_file, extra="optimizer: {lrr: 0.5}\n")
    assert "unknown key 'optimizer.lrr'; did you mean 'lr'?" in msg


def test_free_form_sections_and_numeric_strings_are_fine(cfg_file):
    cfg = load_config(
        cfg_file,
        [
            "data.options.val_clips=[a, b]",
            "model.options.width_mult=0.5",
            "optimizer.lr=1e-3",
            "epochs=3",
            "loss=[{name: ohem, thresh: 0.6}]",
        ],
    )
    assert cfg["optimizer"]["lr"] == pytest.approx(1e-3) and isinstance(
        cfg["optimizer"]["lr"], float
    )
    assert cfg["data"]["options"] == {"val_clips": ["a", "b"]}
    assert cfg["model"]["options"] == {"width_mult": 0.5}


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_every_shipped_config_still_validates(path):
    load_config(path)


# ---- the CLI: nothing is created before the config and what it names are checked -------------
@pytest.mark.parametrize(
    "over,code,msg",
    [
        (["epochs=abc"], 4, "epochs must be an integer"),
        (["optimizer.lrr=0.5"], 4, "did you mean 'lr'"),
        (["model.name=lraspp_mobilenetv3_smal"], 4, "lraspp_mobilenetv3_small"),
        (["data.dataset=camvd"], 4, "did you mean 'camvid'"),
        (["data.root=/nonexistent/liveseg-data"], 2, "data.root folder not found"),
        (["init_from=/nonexistent/w.pt"], 2, "init_from file not found"),
    ],
)
def test_cli_checks_before_creating_the_run_folder(cfg_file, tmp_path, capsys, over, code, msg):
    assert main(["train", str(cfg_file), *over]) == code
    _, err = capsys.readouterr()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and msg in lines[0] and "Traceback" not in err, err
    assert not (tmp_path / "runs").exists()


def test_cli_output_dir_under_a_file(cfg_file, tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    assert main(["train", str(cfg_file), f"output_dir={tmp_path / 'f' / 'run'}"]) == 5
    assert "not a folder" in capsys.readouterr()[1]


def test_unknown_top_level_key_in_the_file_gets_a_suggestion(tmp_path):
    from liveseg.errors import ConfigError
    from liveseg.train.config import load_config

    p = tmp_path / "c.yaml"
    p.write_text("model: {name: unet_efficientnet_lite0}\ndata: {root: .}\nepoch: 3\n")
    with pytest.raises(ConfigError, match="did you mean 'epochs'"):
        load_config(p)
