"""Finished work is never lost to an output path: every path checked at start, --benchmark-json and the
records file written atomically and kept elsewhere when a write still fails, a records file that only
gains or replaces records and is written by one run at a time, --rtsent-save folders that appear only
when complete, with the umask's permissions, and that never silently hold two models' artifacts."""

import errno
import fcntl
import json
import os
import stat
import tempfile
from importlib.metadata import version
from pathlib import Path

import pytest
import transformers
import transformers.models.bert.modeling_bert  # noqa: F401  imported once, outside the in-process runs

from rtsent.case.runner import run_case
from rtsent.methods import METHODS

BENCH = Path(__file__).resolve().parents[1] / "bench" / "test_methods.py"
ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
BENCHMARK_VERSION = tuple(int(part) for part in version("pytest-benchmark").split(".")[:2])


@pytest.fixture
def bench_dir(pytester, monkeypatch):
    pytester.makepyfile(test_methods=BENCH.read_text())
    kept = pytester.path / "tmp"  # where a file that could not be written is kept (the system temp folder)
    kept.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(kept))
    return pytester


def run(pytester, *args, methods="svm"):
    return pytester.runpytest_inprocess(
        "-p", "rtsent.plugin.hooks", "--rtsent-profile=smoke", f"--rtsent-methods={methods}", "-p", "no:randomly", *args
    )


def cases(path):
    return [b["extra_info"]["case"] for b in json.loads(Path(path).read_text())["benchmarks"]]


def refused(result, line):
    assert result.ret == 4, result.stdout.str()[-2000:]
    assert f"ERROR: {line}" in result.stderr.str().splitlines(), result.stderr.str()
    assert "passed" not in result.stdout.str() and "Traceback" not in result.stdout.str() + result.stderr.str()


def no_space_in(monkeypatch, folder):
    """A full disk under `folder` (from now on): flushing a file there fails, as on a full file system."""
    real = os.fsync

    def fsync(fd):
        if Path(os.readlink(f"/proc/self/fd/{fd}")).is_relative_to(folder):
            raise ENOSPC
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


@pytest.mark.parametrize(
    ("option", "path", "line"),
    [
        ("--rtsent-records", "gone/r.json", "--rtsent-records='{p}/gone/r.json': folder '{p}/gone' does not exist; "),
        ("--rtsent-records", "out", "--rtsent-records='{p}/out' is a folder; give a file's path"),
        ("--rtsent-records", "full/r.json", "--rtsent-records='{p}/full/r.json' cannot be written (No space left "),
        ("--benchmark-json", "full/o.json", "--benchmark-json='{p}/full/o.json' cannot be written (No space left "),
        ("--rtsent-save", "full/save", "--rtsent-save='{p}/full/save' cannot be written (No space left on device "),
        ("--rtsent-save", "out/a-file", "--rtsent-save='{p}/out/a-file' is a file; give a folder (created if missing)"),
    ],
)
def test_an_output_path_that_cannot_be_written_is_refused_before_training(bench_dir, monkeypatch, option, path, line):
    p = bench_dir.path
    (p / "out").mkdir()
    (p / "full").mkdir()
    (p / "out" / "a-file").write_text("")
    no_space_in(monkeypatch, p / "full")
    result = run(bench_dir, f"{option}={p / path}")
    line = line.format(p=p)
    assert result.ret == 4, result.stdout.str()[-2000:]
    [shown] = [text for text in result.stderr.str().splitlines() if text.startswith(f"ERROR: {line}")]
    endings = ("create it or give another path", "give a file's path", "give a writable path", "(created if missing)")
    assert shown.endswith(endings), shown
    assert "passed" not in result.stdout.str() and "Traceback" not in result.stdout.str() + result.stderr.str()


def test_a_write_that_fails_at_the_end_keeps_the_old_file_and_every_finished_record(bench_dir, monkeypatch):
    p = bench_dir.path
    results = p / "results"
    results.mkdir()
    (results / "o.json").write_text('{"old": "benchmarks"}')
    real = os.replace

    def replace(source, target, **kwargs):  # the disk fills up during the run: every rename there fails
        if Path(target).parent == results:
            raise ENOSPC
        return real(source, target, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    result = run(bench_dir, f"--benchmark-json={results / 'o.json'}", f"--rtsent-records={results / 'r.json'}")
    # the case passed, the files' fate is a line each, and the exit status says the outputs are not there
    assert result.ret == 1, result.stdout.str()[-3000:]
    result.assert_outcomes(passed=1)
    if BENCHMARK_VERSION >= (5, 3):  # before 5.3 pytest-benchmark opens (empties) the file when pytest starts
        assert (results / "o.json").read_text() == '{"old": "benchmarks"}'  # neither emptied nor half-written
    pid = os.getpid()
    for option, name, kept in (
        ("--benchmark-json", "o.json", p / "tmp" / f"rtsent-{pid}-benchmark-json-o.json"),
        ("--rtsent-records", "r.json", p / "tmp" / f"rtsent-{pid}-rtsent-records-r.json"),
    ):
        line = (
            f"rtsent: {option}={str(results / name)!r} not written (No space left on device); "
            f"every finished case is in {str(kept)!r}"
        )
        assert result.stdout.str().splitlines().count(line) == 1, result.stdout.str()[-3000:]
        assert cases(kept) == ["svm-fp32-seed0"]
    assert sorted(f.name for f in results.iterdir()) == ["o.json"]  # no temp file left behind


def test_the_records_file_only_gains_or_replaces_records(bench_dir):
    records = bench_dir.path / "r.json"
    assert run(bench_dir, f"--rtsent-records={records}", methods="svm,head").ret == 0
    assert cases(records) == ["svm-fp32-seed0", "head-lr1e-3-fp32-seed0"]
    # a narrower grid, resumed from the same file: the head's record stays
    assert run(bench_dir, f"--rtsent-resume={records}", f"--rtsent-records={records}").ret == 0
    assert cases(records) == ["head-lr1e-3-fp32-seed0", "svm-fp32-seed0"]
    # without --rtsent-resume the case runs again and its new record replaces the old one
    assert run(bench_dir, f"--rtsent-records={records}").ret == 0
    kept = {b["extra_info"]["case"]: b["extra_info"] for b in json.loads(records.read_text())["benchmarks"]}
    assert sorted(kept) == ["head-lr1e-3-fp32-seed0", "svm-fp32-seed0"]
    assert "resumed_from" not in kept["svm-fp32-seed0"]
    assert not Path(f"{records}.lock").exists()  # the lock goes with the run


def test_a_records_file_that_holds_something_else_is_refused(bench_dir):
    records = bench_dir.path / "r.json"
    records.write_text('{"my": "notes"}')
    result = run(bench_dir, f"--rtsent-records={records}")
    refused(
        result,
        f"--rtsent-records: {records}: not a pytest-benchmark JSON file (no 'benchmarks' list); "
        "rtsent would replace it: move it away or give another file",
    )
    assert records.read_text() == '{"my": "notes"}'


def test_a_second_run_writing_the_same_records_file_is_refused(bench_dir):
    records = bench_dir.path / "r.json"
    with open(f"{records}.lock", "w") as lock:  # another run holds the file
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock.write("4242\n")
        lock.flush()
        result = run(bench_dir, f"--rtsent-records={records}")
    refused(
        result,
        f"--rtsent-records={str(records)!r} is being written by another run (pid 4242, which holds "
        f"{str(records) + '.lock'!r}); wait for it to end or give another file",
    )
    assert not records.exists()


def test_a_failed_save_keeps_the_case_its_figures_and_no_folder(bench_dir, monkeypatch):
    save = bench_dir.path / "save"
    real = transformers.PreTrainedTokenizerBase.save_pretrained

    def save_pretrained(self, folder, *args, **kwargs):  # the save folder's disk is full
        if Path(folder).is_relative_to(save):
            raise ENOSPC
        return real(self, folder, *args, **kwargs)

    monkeypatch.setattr(transformers.PreTrainedTokenizerBase, "save_pretrained", save_pretrained)
    records = bench_dir.path / "r.json"
    result = run(bench_dir, f"--rtsent-save={save}", f"--rtsent-records={records}")
    result.assert_outcomes(passed=1)
    [record] = [b["extra_info"] for b in json.loads(records.read_text())["benchmarks"]]
    assert record["serving_error"] == "artifacts not saved: OSError: [Errno 28] No space left on device"
    assert record["latency_p50_ms"] > 0 and record["stored_bytes"] > 0  # the serving figures stay
    line = "svm-fp32-seed0: serving_error: artifacts not saved: OSError: [Errno 28] No space left on device"
    assert line in result.stdout.str().splitlines()  # in the rtsent table's notes
    assert list(save.iterdir()) == []  # nothing that looks like a saved case


def test_ctrl_c_while_saving_leaves_no_case_folder(polarity_folder, tmp_path, monkeypatch):
    from rtsent.engine.devices import pick_device
    from rtsent.engine.workbench import Workbench
    from tests.test_serving import config

    def interrupted(self, folder):
        raise KeyboardInterrupt

    monkeypatch.setattr(METHODS["svm"], "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_case(config(polarity_folder, "svm"), workbench=Workbench(device=pick_device()), save_to=tmp_path / "case")
    assert list(tmp_path.iterdir()) == []


def test_saved_artifacts_get_the_umask_permissions(polarity_folder, tmp_path):
    from rtsent.engine.devices import pick_device
    from rtsent.engine.workbench import Workbench
    from tests.test_serving import config

    old = os.umask(0o027)  # a team umask: new files 0o640, folders 0o750
    try:
        result = run_case(
            config(polarity_folder, "svm"), workbench=Workbench(device=pick_device()), save_to=tmp_path / "c"
        )
    finally:
        os.umask(old)
    assert result.status == "passed"
    saved = [tmp_path / "c", *(tmp_path / "c").rglob("*")]
    assert "svm.safetensors" in {path.name for path in saved}
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in saved}
    assert modes == {path.name: 0o750 if path.is_dir() else 0o640 for path in saved}


def test_a_save_folder_of_another_model_is_refused(bench_dir):
    save = bench_dir.path / "save"
    (save / "svm-fp32-seed0").mkdir(parents=True)
    other = {"case": "svm-fp32-seed0", "model": "minilm-l6", "model_identity": "sha256:53aa51172d142c89"}
    other |= {"data": "rt-polarity", "split_hashes": {"validation": "ab" * 32, "test": "cd" * 32}}
    (save / "svm-fp32-seed0" / "record.json").write_text(json.dumps(other))
    result = run(bench_dir, f"--rtsent-save={save}")
    assert result.ret == 4, result.stdout.str()[-2000:]
    [line] = [text for text in result.stderr.str().splitlines() if "another model's or data's artifacts" in text]
    assert line.startswith(
        f"ERROR: rtsent: --rtsent-save={str(save)!r} holds another model's or data's artifacts: "
        f"{str(save / 'svm-fp32-seed0' / 'record.json')!r} is model 'minilm-l6' (sha256:53aa51172d142c89) on data "
        f"'rt-polarity' (validation abababababab), this run is model 'random:tiny-bert' (config:"
    )
    assert line.endswith("; give another folder or empty this one")
    assert json.loads((save / "svm-fp32-seed0" / "record.json").read_text()) == other


def test_a_failed_atomic_write_names_the_file_asked_for(tmp_path, monkeypatch, capsys):
    from rtsent.report.cli import main
    from rtsent.schema.records import write_atomic

    monkeypatch.setattr(os, "replace", lambda *a, **k: (_ for _ in ()).throw(ENOSPC))  # the disk is full
    with pytest.raises(OSError) as raised:
        write_atomic(tmp_path / "r.md", "x")
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(tmp_path / "r.md")
    assert [p.name for p in tmp_path.iterdir()] == []  # no temporary file left behind
    results = Path(__file__).resolve().parents[1] / "results" / "methods" / "methods-offline-s0.json"
    assert main([str(results), "--no-pairs", "-o", str(tmp_path / "r.md")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"rtsent-report: cannot write {str(tmp_path / 'r.md')!r}: No space left on device"
    )


def test_a_failed_publish_puts_the_earlier_case_folder_back(tmp_path, monkeypatch):
    from rtsent.case.serving import publish

    target, staging = tmp_path / "case", tmp_path / ".case.partial-1"
    target.mkdir()
    (target / "old.txt").write_text("earlier")
    staging.mkdir()
    (staging / "new.txt").write_text("new")
    real = os.replace

    def replace(source, destination, **kwargs):
        if Path(source) == staging:
            raise ENOSPC
        return real(source, destination, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError):
        publish(staging, target)
    assert (target / "old.txt").read_text() == "earlier"  # not stranded under a hidden name
    assert sorted(p.name for p in tmp_path.iterdir()) == [".case.partial-1", "case"]


def test_hidden_leftovers_of_a_killed_run_are_no_saved_case(tmp_path):
    from rtsent.plugin.outputs import check_save_folder

    current = {"model": "m", "data": "d", "model_identity": "a", "split_hashes": {"validation": "v", "test": "t"}}
    leftover = tmp_path / ".case.partial-123"
    leftover.mkdir()
    (leftover / "record.json").write_text(json.dumps({**current, "model_identity": "other"}))
    check_save_folder(tmp_path, current)  # no refusal over an invisible folder
    (tmp_path / "case").mkdir()
    (tmp_path / "case" / "record.json").write_text(json.dumps({**current, "model_identity": "other"}))
    with pytest.raises(Exception, match="holds another model's or data's artifacts"):
        check_save_folder(tmp_path, current)


def test_a_serving_error_note_shows_control_characters():
    from rtsent.report.terminal import results_table

    record = {"case": "svm-fp32-seed0", "row": "svm-fp32", "method": "svm", "status": "passed", "seed": 0}
    record |= {"profile": "smoke", "model": "m", "serving_error": "artifacts not saved: \x1b[2Jgone"}
    [note] = [line for line in results_table([record]) if "serving_error" in line]
    assert "\x1b" not in note and "\\x1b[2Jgone" in note
