"""Batch items from folders and manifests, and the results file, without a model."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest
from PIL import Image

from gencurve_desktop.batch.items import BatchItem, Plan, make_items, read_rows
from gencurve_desktop.batch.results import ResultsLog
from gencurve_desktop.errors import BadInputError

COMMON = ["--model", "demo"]


def plan(command, tmp_path, **kw):
    return Plan(command, tmp_path / "out", kw.pop("defaults", {}), COMMON, **kw)


def test_a_folder_gives_its_images_sorted_and_skips_other_files(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("b.png", "a.jpg", "c.webp"):
        Image.new("RGB", (8, 8)).save(folder / name)
    (folder / "notes.txt").write_text("x")
    (folder / ".hidden.png").write_bytes(b"")
    items = make_items(plan("saliency", tmp_path, defaults={"probes": 8}), folder)
    assert [i.id for i in items] == ["a", "b", "c"]
    a = items[0]
    assert a.inputs == {"image": str((folder / "a.jpg").resolve())}
    assert a.outputs == (str((tmp_path / "out" / "a_saliency.png").resolve()),)
    assert a.argv == (a.inputs["image"], "-o", a.outputs[0], "--probes", "8", *COMMON)


def test_csv_rows_override_the_batch_defaults_and_read_paths_beside_the_manifest(tmp_path):
    (tmp_path / "m").mkdir()
    manifest = tmp_path / "m" / "list.csv"
    manifest.write_text("id,image,mask,task,ref,iterations,seed\nfirst,a.png,a_mask.png,transfer,3,4,,\n")
    with pytest.raises(BadInputError, match="more cells than the header"):
        make_items(plan("edit", tmp_path), manifest)
    manifest.write_text(
        "id,image,mask,task,ref,iterations,seed\n"
        'first,a.png,a_mask.png,transfer,"3,4",,\n'
        "second,sub/b.png,b_mask.png,remove,auto,7,11\n"
    )
    items = make_items(plan("edit", tmp_path, defaults={"iterations": 20, "task": "blend"}, projects=True), manifest)
    first, second = items
    base = (tmp_path / "m").resolve()
    assert first.inputs == {"image": str(base / "a.png"), "mask": str(base / "a_mask.png")}
    assert first.outputs == (str(tmp_path / "out" / "first.png"), str(tmp_path / "out" / "first.ora"))
    argv = list(first.argv)
    assert argv[argv.index("--task") + 1] == "transfer" and argv[argv.index("--ref") + 1] == "3,4"
    assert argv[argv.index("--iterations") + 1] == "20"  # the batch's default where the cell is empty
    argv = list(second.argv)
    assert argv[argv.index("--iterations") + 1] == "7" and argv[argv.index("--seed") + 1] == "11"
    assert second.inputs["image"] == str(base / "sub" / "b.png")


def test_jsonl_rows_take_lists_and_flags(tmp_path):
    manifest = tmp_path / "list.jsonl"
    rows = [{"image": "a.png", "at": [[1, 2], [3, 4]]}, {"image": "b.png", "at": "5,6;7,8", "channel": 2}]
    manifest.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    a, b = make_items(plan("curve", tmp_path), manifest)
    assert a.argv[1:5] == ("--at", "1,2", "--at", "3,4")
    assert b.argv[1:7] == ("--at", "5,6", "--at", "7,8", "--channel", "2")
    manifest.write_text(json.dumps({"image": "a.png", "exact": "yes"}) + "\n")
    (item,) = make_items(plan("saliency", tmp_path), manifest)
    assert "--exact" in item.argv
    manifest.write_text(json.dumps({"image": "a.png", "exact": "perhaps"}) + "\n")
    with pytest.raises(BadInputError, match="exact must be true or false"):
        make_items(plan("saliency", tmp_path), manifest)


@pytest.mark.parametrize(
    ("text", "suffix", "message"),
    [
        ("image,colour\na.png,red\n", ".csv", "unknown column colour"),
        ("image,model\na.png,demo\n", ".csv", "unknown column model"),  # the model is the batch's, not a row's
        ("file\na.png\n", ".csv", "needs a header row with an 'image' column"),
        ('{"image": "a.png"}\n[1, 2]\n', ".jsonl", ":2: each line must be an object"),
        ('{"image": "a.png"\n', ".jsonl", ":1: not JSON"),
        ("id,image\nx,a.png\nx,b.png\n", ".csv", "items 1 and 2 would both be 'x'"),
        ("id,image\n../up,a.png\n", ".csv", "cannot name a file"),
        ("image,at\na.png,1;2\n", ".csv", "cannot read the coordinate"),
        ("image\n", ".csv", "lists no items"),
        ("image,mask\na.png,m.png\n", ".csv", "saliency takes no mask"),
    ],
)
def test_bad_manifests_are_refused_with_one_line(tmp_path, text, suffix, message):
    manifest = tmp_path / f"list{suffix}"
    manifest.write_text(text)
    with pytest.raises(BadInputError, match=message):
        make_items(plan("saliency" if "mask" in text else "curve", tmp_path), manifest)


def test_sources_that_are_not_folders_or_manifests(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadInputError, match="holds no image files"):
        make_items(plan("curve", tmp_path), tmp_path / "empty")
    with pytest.raises(BadInputError, match="no such folder or manifest"):
        make_items(plan("curve", tmp_path), tmp_path / "missing")
    (tmp_path / "list.txt").write_text("a.png")
    with pytest.raises(BadInputError, match="give a folder of images or a manifest"):
        make_items(plan("curve", tmp_path), tmp_path / "list.txt")
    (tmp_path / "bad.csv").write_bytes(b"image\n\xff\xfe\n")
    with pytest.raises(BadInputError, match="cannot read the manifest"):
        read_rows(tmp_path / "bad.csv")


def item(tmp_path, name="a") -> BatchItem:
    out = tmp_path / "out" / f"{name}.png"
    return BatchItem(name, "saliency", ("x.png", "-o", str(out)), {"image": "x.png"}, (str(out),))


def test_results_resume_only_what_finished_with_its_outputs_under_the_same_command_line(tmp_path):
    a, b = item(tmp_path, "a"), item(tmp_path, "b")
    log = ResultsLog(tmp_path / "out")
    log.append({**a.record(), "error": None})
    log.append({**b.record(), "error": {"message": "boom", "exit_code": 2}})
    log.close()
    Path(a.outputs[0]).write_bytes(b"png")
    log = ResultsLog(tmp_path / "out")
    assert log.is_done(a) and not log.is_done(b)  # a failed item goes again
    changed = BatchItem("a", "saliency", (*a.argv, "--probes", "8"), a.inputs, a.outputs)
    assert not log.is_done(changed)  # new parameters: run again
    Path(a.outputs[0]).unlink()
    assert not log.is_done(a)  # its output was removed: run again
    log.close()


def test_a_torn_last_line_is_skipped_and_the_next_line_starts_clean(tmp_path):
    a, b = item(tmp_path, "a"), item(tmp_path, "b")
    log = ResultsLog(tmp_path / "out")
    log.append({**a.record(), "error": None})
    log.close()
    with open(tmp_path / "out" / "results.jsonl", "ab") as f:
        f.write(b'{"id": "b", "comm')  # killed in the middle of a write
    log = ResultsLog(tmp_path / "out")
    assert log.torn_lines == 1 and set(log.previous) == {"a"}
    log.append({**b.record(), "error": None})
    log.close()
    lines = (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    assert [json.loads(x)["id"] for x in (lines[0], lines[2])] == ["a", "b"]


def _hold(folder, ready, done):
    log = ResultsLog(Path(folder))
    ready.set()
    done.wait(30)
    log.close()


def test_one_batch_at_a_time_per_output_folder(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    ready, done = ctx.Event(), ctx.Event()
    other = ctx.Process(target=_hold, args=(str(tmp_path / "out"), ready, done))
    other.start()
    try:
        assert ready.wait(60)
        with pytest.raises(BadInputError, match="another batch is writing its results there"):
            ResultsLog(tmp_path / "out")
    finally:
        done.set()
        other.join(30)
    ResultsLog(tmp_path / "out").close()  # free again once the other process has gone
