"""Failures provoked for real: bad sources at the pytest layer, a fault inside training, Ctrl-C,
resume, atomic writes, remote code refused."""

import json
import os
import signal
import subprocess
import time

import pytest
from benchrun import ROOT, bench_command, run_bench

from rtsent import methods
from rtsent.engine.backbones import BackboneSourceError, load_backbone
from rtsent.schema.records import write_atomic

BENCH = ROOT / "bench" / "test_methods.py"


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--rtsent-model=/nonexistent/model", "rtsent: model folder '/nonexistent/model' does not exist"),
        ("--rtsent-max-train=99999", "max_train_samples=99999 is out of range; the training split has 8530 rows"),
        # one row short of the split: scikit-learn's own ValueError used to end as a pytest INTERNALERROR
        (
            "--rtsent-max-train=8529",
            "rtsent: max_train_samples=8529 is out of range; the training split has 8530 rows (4265 neg, 4265 pos) "
            "and a stratified draw can keep 2..8528 of them or all 8530",
        ),
        ("--rtsent-data=/nonexistent/data", "rtsent: data folder '/nonexistent/data' does not exist"),
    ],
)
def test_bad_sources_stop_before_training(tmp_path, polarity_folder, option, message):
    started = time.perf_counter()
    proc, _, _ = run_bench(tmp_path, "--rtsent-profile=smoke", f"--rtsent-data={polarity_folder}", option)
    assert proc.returncode == 4, proc.stdout[-2000:]
    assert message in proc.stdout + proc.stderr
    assert "passed" not in proc.stdout and time.perf_counter() - started < 60
    assert "INTERNALERROR" not in proc.stdout + proc.stderr and "Traceback" not in proc.stdout + proc.stderr


def _bad_data(folder):
    """Split-file folders a user could hand over, each with one bad thing in the training split."""
    good = "".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in (("good film", 1), ("bad film", 0)))
    for name in ("validation", "test"):
        (folder / f"{name}.jsonl").write_text(good)
    return folder


@pytest.mark.parametrize(
    ("train", "message"),
    [
        (
            b'{"text": "fine", "label": 1}\n{"text": null, "label": 0}\n',
            "train.jsonl', line 2: text is null; every text must be a non-empty string",
        ),
        (
            b"".join(b'{"text": "great %d", "label": 1}\n' % i for i in range(6)),
            "the train split holds only label 1 in its 6 rows; every split needs two classes or more, the training "
            "split all 2",
        ),
    ],
)
def test_bad_data_rows_stop_before_training(tmp_path, train, message):
    folder = _bad_data(tmp_path)
    (folder / "train.jsonl").write_bytes(train)
    proc, _, _ = run_bench(tmp_path, "--rtsent-profile=smoke", f"--rtsent-data={folder}", "--rtsent-methods=svm")
    assert proc.returncode == 4, proc.stdout[-2000:] + proc.stderr[-2000:]
    [line] = [line for line in proc.stderr.splitlines() if message in line]
    assert line.startswith("ERROR: rtsent: data") or line.startswith("ERROR: rtsent: split file"), line
    assert "passed" not in proc.stdout and "Traceback" not in proc.stdout + proc.stderr


def test_other_data_get_one_warning_line_at_start(tmp_path, polarity_folder):
    folder = tmp_path / "rt"
    folder.mkdir()
    for name in ("rt-polarity.pos", "rt-polarity.neg"):
        (folder / name).write_bytes((polarity_folder / name).read_bytes() + b"one more sentence .\n")
    common = ["--collect-only", "--rtsent-profile=smoke"]
    proc, _, _ = run_bench(tmp_path, *common, f"--rtsent-data={folder}")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    warnings = [line for line in proc.stdout.splitlines() if "not the canonical Rotten Tomatoes splits" in line]
    assert warnings == [
        f"rtsent: warning: data {str(folder)!r} are not the canonical Rotten Tomatoes splits (train, validation, "
        "test splits differ from rtsent.data.sources.CANONICAL_SPLIT_HASHES); results are marked as other data "
        "(data_canonical: false)"
    ]
    proc, _, _ = run_bench(tmp_path, *common, "--rtsent-data=rt-polarity")
    assert proc.returncode == 0 and "canonical" not in proc.stdout + proc.stderr


def _leaky(folder, copied):
    """The packaged splits as parquet files, the first `copied` test texts replaced by training texts."""
    from rtsent.data.sources import load_splits

    folder.mkdir()
    splits = {name: split.to_pandas() for name, split in load_splits("rt-polarity").items()}
    splits["test"].loc[: copied - 1, "text"] = splits["train"]["text"][:copied].to_numpy()
    for name, frame in splits.items():
        frame.to_parquet(folder / f"{name}.parquet")
    return folder


def test_texts_in_two_splits_are_warned_recorded_or_refused(tmp_path):
    folder, records = _leaky(tmp_path / "few", 3), tmp_path / "r.json"
    args = ("--rtsent-profile=smoke", "--rtsent-methods=svm", f"--rtsent-records={records}")
    proc, _, _ = run_bench(tmp_path, *args, f"--rtsent-data={folder}")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert [line for line in proc.stdout.splitlines() if "have texts in two splits" in line] == [
        f"rtsent: warning: data {str(folder)!r} have texts in two splits (train-test: 3); a shared text is answered "
        "from memory, so accuracy is that much too high; records count them (cross_split_duplicates)"
    ]
    [record] = [b["extra_info"] for b in json.loads(records.read_text())["benchmarks"]]
    assert record["cross_split_duplicates"] == {"train-validation": 0, "train-test": 3, "validation-test": 0}
    assert record["data_encoding"] == "utf-8"
    proc, _, _ = run_bench(tmp_path, *args, f"--rtsent-data={_leaky(tmp_path / 'many', 50)}")
    assert proc.returncode == 4, proc.stdout[-2000:]
    [line] = [line for line in proc.stderr.splitlines() if "texts are in both" in line]
    assert line.startswith("ERROR: rtsent: data ") and "50 texts are in both the train and the test split" in line
    assert "passed" not in proc.stdout


def test_bad_floors_file_is_a_usage_error(tmp_path, polarity_folder):
    floors = tmp_path / "f.toml"
    for text, message in [
        ("[svm]\nval_accuracy = 1.5\n", "[svm] val_accuracy=1.5 is not a number in [0, 1]"),
        ("[svm\n", "does not parse"),
    ]:
        floors.write_text(text)
        proc, _, _ = run_bench(
            tmp_path, "--rtsent-profile=smoke", f"--rtsent-data={polarity_folder}", f"--rtsent-floors={floors}"
        )
        assert proc.returncode == 4 and message in proc.stderr, proc.stderr


def test_fault_inside_training_is_recorded_and_the_grid_goes_on(pytester, polarity_folder, monkeypatch):
    from rtsent.engine.callbacks import Callback

    class Boom(Callback):
        def on_step_end(self, step, loss, tokens):
            if step == 2:
                raise RuntimeError(f"injected fault at step {step}")

    class Exploding(methods.FullFineTune):
        """Trains for real, then fails at its third optimizer step, through the training loop's callbacks."""

        def fit(self, task, *, callbacks=()):
            return super().fit(task, callbacks=[*callbacks, Boom()])

    monkeypatch.setitem(methods.METHODS, "full", Exploding)
    pytester.makepyfile(test_methods=BENCH.read_text())
    out = pytester.path / "out.json"
    result = pytester.runpytest_inprocess(
        "-p",
        "rtsent.plugin.hooks",
        "--rtsent-profile=smoke",
        "--rtsent-methods=svm,head,full,lora",
        f"--rtsent-data={polarity_folder}",
        f"--benchmark-json={out}",
    )
    result.assert_outcomes(passed=5, failed=1)
    records = {b["extra_info"]["case"]: b["extra_info"] for b in json.loads(out.read_text())["benchmarks"]}
    assert records["full-lr1e-3-fp32-seed0"]["status"] == "error"
    assert records["full-lr1e-3-fp32-seed0"]["message"] == "RuntimeError: injected fault at step 2"
    assert {r["status"] for case, r in records.items() if not case.startswith("full")} == {"passed"}
    # the terminal summary's rtsent table shows the failure beside the cases that passed
    result.stdout.re_match_lines(
        [r"\(no weights\) svm-fp32 .* 1 passed$", r"\(no weights\) full-lr1e-3-fp32 .* – .* 1 error$"]
    )


def test_ctrl_c_keeps_finished_cases_and_resume_completes_the_grid(tmp_path, polarity_folder):
    records, out = tmp_path / "records.json", tmp_path / "out.json"
    common = ["--rtsent-profile=smoke", f"--rtsent-data={polarity_folder}", "--rtsent-seeds=0,1,2,3"]
    common.append("--rtsent-methods=svm,full")  # 2 rows x 4 seeds: 8 cases, a frozen-feature one and a trained one
    for _ in range(2):
        records.unlink(missing_ok=True)
        proc = subprocess.Popen(
            bench_command(*common, f"--rtsent-records={records}", f"--benchmark-json={out}"),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # Ctrl-C as a user's shell delivers it: a child inherits an ignored SIGINT, and Python then installs
            # no KeyboardInterrupt handler (seen in this suite's xdist workers: the grid ran to its end)
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        deadline = time.time() + 240
        while not records.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=120)[0]
        # pytest's own bug on Python 3.11 (pytest-dev/pytest-xdist#1196): a Ctrl-C landing in a frame
        # whose tb_lineno is None crashes pytest's interrupt report (INTERNALERROR, exit 3) before any
        # plugin runs. That is not rtsent's behaviour under test: interrupt once more.
        if "tb_lineno - 1" not in output:
            break
    assert proc.returncode == 2, output[-2000:]  # pytest's "interrupted"
    done = json.loads(records.read_text())["benchmarks"]
    written = json.loads(out.read_text())["benchmarks"]  # pytest-benchmark still writes what finished
    assert 1 <= len(done) < 8 and {b["name"] for b in done} <= {b["name"] for b in written} | {done[-1]["name"]}
    proc, again, _ = run_bench(tmp_path, *common, f"--rtsent-resume={records}", name="again")
    assert proc.returncode == 0, proc.stdout[-2000:]
    final = [b["extra_info"] for b in again["benchmarks"]]
    assert len(final) == 8
    resumed = [r for r in final if r.get("resumed_from") == str(records)]
    assert {r["case"] for r in resumed} == {b["extra_info"]["case"] for b in done}


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "results.json"
    write_atomic(target, "old")

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, "new")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["results.json"]


def test_remote_code_is_never_run(tmp_path):
    folder = tmp_path / "evil"
    folder.mkdir()
    marker = tmp_path / "ran"
    (folder / "config.json").write_text(
        json.dumps({"model_type": "evil", "auto_map": {"AutoConfig": "evil.EvilConfig"}})
    )
    (folder / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    with pytest.raises(BackboneSourceError, match="model '.*evil' does not load") as caught:
        load_backbone(str(folder))
    assert "\n" not in str(caught.value) and not marker.exists()
