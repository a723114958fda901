"""liveseg batch without Ray: which inputs, which outputs, what the manifest says, what is
refused before any work starts."""

import json
import subprocess
import sys

import pytest

from liveseg.batch import manifest as M
from liveseg.batch.inputs import plan
from liveseg.cli import main
from liveseg.errors import ConfigError, InputError, OutputError
from tests.helpers.videos import tiny_onnx


def touch(path, data=b"x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def tree(tmp_path):
    d = tmp_path / "in"
    for rel in (
        "a.mp4",
        "b.MOV",
        "c.ts",
        "notes.txt",
        ".hidden.mp4",
        "sub/d.mkv",
        "sub/e.jpg",
        "sub/f.png",
        ".cache/g.mp4",
    ):
        touch(d / rel)
    return d


def outputs(items):
    return {it.output: it for it in items}


def test_a_folder_mirrors_its_tree(tree, tmp_path):
    items = plan([str(tree)], tmp_path / "out", effect="blur", save_masks=True)
    got = outputs(items)
    # notes.txt and hidden entries are not media; .ts is not a container the writer has
    assert set(got) == {"a.mp4", "b.MOV", "c.mp4", "sub/d.mkv", "sub/e.png", "sub/f.png"}
    assert got["sub/d.mkv"].kind == "video" and got["sub/d.mkv"].masks == "sub/d.masks"
    assert got["sub/e.png"].kind == "image" and got["sub/e.png"].masks == "sub/e.mask.png"
    assert got["a.mp4"].input == str((tree / "a.mp4").resolve())


def test_matte_writes_webm_and_images_stay_png(tree, tmp_path):
    got = outputs(
        plan(
            [str(tree / "a.mp4"), str(tree / "sub" / "e.jpg")],
            tmp_path / "o",
            effect="matte",
            save_masks=False,
        )
    )
    assert set(got) == {"a.webm", "sub/e.png"}  # common folder of the two inputs: in/
    assert got["a.webm"].masks is None


def test_two_folders_keep_apart_and_a_glob_mirrors_below_its_base(tmp_path):
    for season in ("s1", "s2"):
        touch(tmp_path / season / "ep01.mp4")
    got = outputs(
        plan(
            [str(tmp_path / "s1"), str(tmp_path / "s2")],
            tmp_path / "out",
            effect=None,
            save_masks=False,
        )
    )
    assert set(got) == {"s1/ep01.mp4", "s2/ep01.mp4"}
    touch(tmp_path / "s1" / "deep" / "ep02.mp4")
    got = outputs(
        plan(
            [str(tmp_path / "s1" / "**" / "*.mp4")], tmp_path / "out", effect=None, save_masks=False
        )
    )
    assert set(got) == {"ep01.mp4", "deep/ep02.mp4"}


def test_list_file_paths_are_relative_to_the_list_and_missing_ones_fail_alone(tree, tmp_path):
    lst = tmp_path / "list.txt"
    lst.write_text("# archive\nin/a.mp4\n\nin/sub/e.jpg\nin/gone.mp4\nin/a.mp4\n")
    items = plan([f"@{lst}"], tmp_path / "out", effect=None, save_masks=False)
    assert [it.output for it in items] == ["a.mp4", "sub/e.png", "gone.mp4"]  # deduplicated
    assert items[2].error.startswith("input not found") and items[0].error is None


def test_the_outdir_inside_an_input_folder_is_not_an_input(tree):
    touch(tree / "out" / "a.mp4")  # an earlier batch's output
    got = outputs(plan([str(tree)], tree / "out", effect=None, save_masks=False))
    assert "out/a.mp4" not in got and "a.mp4" in got


@pytest.mark.parametrize(
    "case, error, match",
    [
        ("missing", InputError, "input not found"),
        ("glob", InputError, "no videos or images match"),
        ("empty", InputError, "no videos or images in the folder"),
        ("collide", InputError, "would both write"),
        ("onto-input", OutputError, "over the input"),
        ("masks-collide", InputError, "would both write"),
        ("list", InputError, "list file not found"),
        ("inside", ConfigError, "inside the output folder"),
    ],
)
def test_refused_before_any_work(tree, tmp_path, case, error, match):
    (tmp_path / "empty").mkdir()
    touch(tree / "sub" / "e.png")  # e.jpg and e.png would both write sub/e.png
    args = {
        "missing": ([str(tree / "nope.mp4")], tmp_path / "out"),
        "glob": ([str(tree / "*.avi")], tmp_path / "out"),
        "empty": ([str(tmp_path / "empty")], tmp_path / "out"),
        "collide": ([str(tree / "sub")], tmp_path / "out"),
        "onto-input": ([str(tree / "a.mp4")], tree),
        "masks-collide": ([str(tree / "a.mp4"), str(touch(tree / "a.mkv"))], tmp_path / "out"),
        "list": (["@" + str(tmp_path / "nolist.txt")], tmp_path / "out"),
        "inside": ([str(tree / "sub")], tree),
    }[case]
    with pytest.raises(error, match=match):
        plan(*args, effect=None, save_masks=True)


def test_manifest_reads_the_last_row_per_input_and_ignores_a_torn_line(tmp_path):
    (tmp_path / "a.mp4").write_bytes(b"v")
    rows = [
        {"input": "/x/a.mp4", "status": "failed", "error": "e"},
        {"input": "/x/a.mp4", "status": "done", "outputs": ["a.mp4"]},
        {"input": "/x/b.mp4", "status": "done", "outputs": ["b.mp4"]},
    ]
    text = "".join(json.dumps(r) + "\n" for r in rows) + '{"input": "/x/c.mp4", "sta'
    (tmp_path / M.NAME).write_text(text)
    got = M.read(tmp_path)
    assert set(got) == {"/x/a.mp4", "/x/b.mp4"}
    assert M.finished(got["/x/a.mp4"], tmp_path)
    assert not M.finished(got["/x/b.mp4"], tmp_path)  # its output is gone: redo it
    M.rewrite(tmp_path, [{"input": "/x/b.mp4", "status": "failed"}], got)
    lines = [json.loads(x) for x in (tmp_path / M.NAME).read_text().splitlines()]
    assert [(r["input"], r["status"]) for r in lines] == [
        ("/x/b.mp4", "failed"),
        ("/x/a.mp4", "done"),
    ]


def test_cli_refusals_are_one_line(tree, tmp_path, capsys):
    model = str(tiny_onnx(tmp_path / "tiny.onnx"))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / M.NAME).write_text("")
    for argv, code, text in [
        ([str(tree), "-o", str(tmp_path / "out")], 5, "--resume"),
        ([str(tree / "nope.mp4"), "-o", str(tmp_path / "o2")], 2, "input not found"),
        ([str(tree), "-o", str(tmp_path / "o3"), "--workers", "0"], 4, "--workers"),
        ([str(tree), "-o", str(tmp_path / "o4"), "--resume", "--overwrite"], 4, "either"),
        (
            [str(tree), "-o", str(tmp_path / "o6"), "--address", "ray://head:10001"],
            4,
            "ray job submit",
        ),
        ([str(tree), "-o", str(tmp_path / "no" / "o5"), "--model", str(tree / "a.mp4")], 3, ""),
    ]:
        assert main(["batch", "--model", model, *argv]) == code
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("liveseg batch: error:") and text in err[0]
    assert not (tmp_path / "o2").exists() and not (tmp_path / "o3").exists()


def test_without_ray_one_line_names_the_extra(tmp_path):
    code = (
        "import sys; sys.modules['ray'] = None; from liveseg.cli import main; "
        f"sys.exit(main(['batch', {str(tmp_path)!r}, '-o', {str(tmp_path / 'o')!r}]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 6
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'liveseg[ray]'" in lines[0]


def test_summary_counts_statuses_frames_and_video_latency(capsys):
    from liveseg.batch.report import failure_lines, print_summary, summarize

    rows = [
        {
            "input": f"/v{i}.mp4",
            "kind": "video",
            "status": "done",
            "frames": 10,
            "seconds": float(i + 1),
            "attempts": 1 + (i == 2),
        }
        for i in range(4)
    ]
    rows += [
        {"input": "/p.png", "kind": "image", "status": "done", "frames": 1, "seconds": 9.0},
        {"input": "/bad.mp4", "kind": "video", "status": "failed", "error": "corrupt"},
        {"input": "/old.mp4", "kind": "video", "status": "skipped", "frames": 99},
    ]
    s = summarize(rows, wall_s=4.1, workers=2)
    assert (s["done"], s["failed"], s["skipped"], s["retried"]) == (5, 1, 1, 1)
    assert s["frames"] == 41 and s["fps"] == 10.0  # skipped inputs add no frames of this run
    assert s["video_seconds"] == {"median": 2.5, "p90": 3.7, "count": 4}  # images apart
    print_summary(s, "/out/manifest.jsonl")
    out = capsys.readouterr().out
    assert "done 5, failed 1, skipped 1" in out and "41 in 4.1 s: 10.0 fps" in out
    assert failure_lines(rows, "m", limit=1) == ["failed: /bad.mp4: corrupt"]
