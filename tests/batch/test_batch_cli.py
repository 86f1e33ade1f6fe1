"""``gencurve batch`` in one process (embedded): the same results as the single commands, bad items recorded,
resumed runs, Ctrl+C (real SIGINT) finishing or abandoning the item in flight."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import numpy as np
from batch_helpers import CLI, DEMO, gencurve, results
from PIL import Image

from gencurve_desktop.document.atomic import TEMP_MARK

SALIENCY = ["--probes", "8", "--t-min", "100"]


def test_batch_saliency_over_a_folder_matches_the_single_command_and_records_a_bad_item(tmp_path, image_folder):
    (image_folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n but not really")
    out = tmp_path / "out"
    r = gencurve("batch", "saliency", image_folder, "-o", out, *SALIENCY, *DEMO)
    assert r.returncode == 1, r.stderr  # one item failed
    summary = json.loads(r.stdout)
    assert (summary["items"], summary["done"], summary["failed"], summary["skipped"]) == (4, 3, 1, 0)
    assert "Traceback" not in r.stderr
    lines = {rec["id"]: rec for rec in results(out)}
    assert set(lines) == {"broken", "img0", "img1", "img2"}
    assert lines["broken"]["error"]["exit_code"] == 2 and "broken.png" in lines["broken"]["error"]["message"]
    assert lines["broken"]["result"] is None
    ok = lines["img1"]
    assert ok["error"] is None and ok["worker"].startswith("embedded:") and ok["seconds"] > 0
    assert ok["outputs"] == [str((out / "img1_saliency.png").resolve())]
    # the same item as a single command gives the same map and figures
    single = tmp_path / "single.png"
    s = gencurve("saliency", image_folder / "img1.png", "-o", single, *SALIENCY, *DEMO)
    assert s.returncode == 0, s.stderr
    alone = json.loads(s.stdout)
    assert np.array_equal(np.array(Image.open(single)), np.array(Image.open(out / "img1_saliency.png")))
    assert alone["fluctuation_range"] == ok["result"]["fluctuation_range"]
    # run again: the finished items are skipped, the bad one goes again
    stamp = os.stat(out / "img0_saliency.png").st_mtime_ns
    again = gencurve("batch", "saliency", image_folder, "-o", out, *SALIENCY, *DEMO)
    summary = json.loads(again.stdout)
    assert again.returncode == 1 and (summary["done"], summary["failed"], summary["skipped"]) == (0, 1, 3)
    assert os.stat(out / "img0_saliency.png").st_mtime_ns == stamp
    (image_folder / "broken.png").unlink()
    last = gencurve("batch", "saliency", image_folder, "-o", out, *SALIENCY, *DEMO)
    assert last.returncode == 0 and json.loads(last.stdout)["skipped"] == 3


def test_batch_edit_and_curve_from_manifests(tmp_path, image_folder):
    mask = np.zeros((64, 64), np.uint8)
    mask[20:40, 20:40] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    rows = [
        {"id": "moved", "image": "images/img0.png", "mask": "mask.png", "task": "transfer", "ref": "50,50"},
        {"id": "gone", "image": "images/img1.png", "mask": "mask.png", "task": "remove", "ref": "auto", "seed": 3},
        {"id": "nomask", "image": "images/img2.png", "task": "transfer", "ref": "5,5"},
    ]
    manifest = tmp_path / "edits.jsonl"
    manifest.write_text("".join(json.dumps(row) + "\n" for row in rows))
    out = tmp_path / "edits"
    r = gencurve("batch", "edit", manifest, "-o", out, "--iterations", "2", "--refresh-every", "1", "--projects", *DEMO)
    assert r.returncode == 1, r.stderr
    lines = {rec["id"]: rec for rec in results(out)}
    assert lines["moved"]["result"]["iterations"] == 2 and lines["moved"]["result"]["ref"] == [50, 50]
    assert lines["gone"]["result"]["task"] == "remove" and lines["gone"]["result"]["ref"] is not None
    assert "--mask" in lines["nomask"]["error"]["message"]  # no mask: the edit command's own error
    for name in ("moved.png", "moved.ora", "gone.png", "gone.ora"):
        assert (out / name).is_file()
    assert not (out / "nomask.png").exists()
    # curves over a CSV manifest with a per-row pixel list and a folder of masks
    masks = tmp_path / "masks"
    masks.mkdir()
    Image.fromarray(mask).save(masks / "img0.png")
    (tmp_path / "curves.csv").write_text("image,at\nimages/img0.png,1,2\n".replace("1,2", '"1,2;60,60"'))
    r = gencurve("batch", "curve", tmp_path / "curves.csv", "-o", tmp_path / "c", "--masks", masks, *DEMO)
    assert r.returncode == 0, r.stderr
    (line,) = results(tmp_path / "c")
    assert [c["at"] for c in line["result"]["curves"]] == [[1, 2], [60, 60]]
    assert len(line["result"]["region"]["rates"]) == 6


def test_bad_sources_fail_before_the_model_loads(tmp_path, image_folder):
    (tmp_path / "list.csv").write_text("image,colour\na.png,red\n")
    r = gencurve("batch", "curve", tmp_path / "list.csv", "-o", tmp_path / "o", "--model", "/no/such/model.safetensors")
    assert r.returncode == 2 and "unknown column colour" in r.stderr, r.stderr
    r = gencurve("batch", "saliency", image_folder, "-o", tmp_path / "o", "--model", "/no/such/model.safetensors")
    assert r.returncode == 3, r.stderr  # the model is loaded once, before any item
    assert not (tmp_path / "o" / "results.jsonl").read_text()


def _start(args, env=None):
    env = dict(os.environ, HF_HUB_OFFLINE="1", **(env or {}))
    return subprocess.Popen([*CLI, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _wait_for_lines(path, n, proc, timeout=300):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists() and len([x for x in path.read_text().splitlines() if x.strip()]) >= n:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("no results line in time")


class _Watched:
    """A running batch whose stderr is collected as it comes, so a test can wait for the state it assumes (an item
    in flight, a message shown) instead of sleeping."""

    def __init__(self, args) -> None:
        import threading

        self.proc = _start(args)
        self.err = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while chunk := os.read(self.proc.stderr.fileno(), 4096):
            self.err += chunk.decode(errors="replace")

    def wait_for(self, text: str, timeout: float = 300) -> None:
        end = time.monotonic() + timeout
        while text not in self.err:
            assert self.proc.poll() is None and time.monotonic() < end, (text, self.err)
            time.sleep(0.005)

    def finish(self) -> tuple[str, str]:
        stdout = self.proc.stdout.read()
        self.proc.wait(timeout=300)
        self._reader.join(timeout=10)
        return stdout, self.err


def test_ctrl_c_finishes_the_item_in_flight_and_a_second_one_abandons_it(tmp_path, sample_rgb):
    from batch_helpers import crops

    folder = tmp_path / "images"
    folder.mkdir()
    for k, crop in enumerate(crops(sample_rgb, 6)):
        Image.fromarray(crop).save(folder / f"img{k}.png")
    out = tmp_path / "out"
    args = ["batch", "saliency", folder, "-o", out, *SALIENCY, "--model", "demo", "--device", "cpu", "--steps", "16"]
    # 1. one Ctrl+C: the item in flight finishes, its line is written, nothing else starts
    run = _Watched(args)
    _wait_for_lines(out / "results.jsonl", 1, run.proc)
    run.wait_for("img1]")  # the progress bar names the item in flight: the second one has started
    run.proc.send_signal(signal.SIGINT)
    stdout, stderr = run.finish()
    assert run.proc.returncode == 130, stderr
    summary = json.loads(stdout)
    done = results(out)
    assert summary["done"] == len(done) == 2 and summary["remaining"] == 4  # the first, and the one in flight
    assert "stopping after the item in flight" in stderr
    assert all((out / f"{rec['id']}_saliency.png").is_file() for rec in done)
    # 2. run again and press Ctrl+C twice: the item in flight is abandoned, no line and no half-written file
    run = _Watched(args)
    _wait_for_lines(out / "results.jsonl", 3, run.proc)
    run.wait_for("img3]")
    run.proc.send_signal(signal.SIGINT)
    run.wait_for("stopping after the item in flight")  # the first Ctrl+C is taken; the item is still running
    run.proc.send_signal(signal.SIGINT)
    stdout, stderr = run.finish()
    assert run.proc.returncode == 130 and "gencurve: cancelled" in stderr, stderr
    finished = results(out)
    assert len(finished) == 3
    written = sorted(p.name for p in out.iterdir() if p.suffix == ".png")
    assert written == sorted(f"{rec['id']}_saliency.png" for rec in finished)
    assert not [p for p in out.iterdir() if TEMP_MARK in p.name]
    # 3. and once more to the end: only the three that are left run
    r = gencurve(*args)
    summary = json.loads(r.stdout)
    assert r.returncode == 0 and (summary["done"], summary["skipped"]) == (3, 3), r.stderr
