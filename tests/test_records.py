"""Files rtsent writes get the permissions any new file gets (the umask's), or keep their own."""

import contextlib
import io
import json
import os
import stat

import pytest

from rtsent.report.cli import main
from rtsent.schema.records import write_atomic, write_records


@pytest.fixture
def umask_027():
    """A team umask: group may read, others nothing (new files 0o640)."""
    old = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(old)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_new_file_gets_the_umask_mode_and_an_old_one_keeps_its_own(tmp_path, umask_027):
    write_atomic(tmp_path / "new.json", "{}")
    with open(tmp_path / "plain", "w") as handle:  # what any other program's new file gets
        handle.write("x")
    assert mode(tmp_path / "new.json") == mode(tmp_path / "plain") == 0o640
    existing = tmp_path / "shared.html"
    existing.write_text("old")
    existing.chmod(0o664)
    write_atomic(existing, "new")
    assert existing.read_text() == "new" and mode(existing) == 0o664
    assert os.umask(0o027) == 0o027  # the umask itself is left as it was


def test_every_writer_gives_team_readable_files(tmp_path, umask_027):
    record = {
        "case": "svm-bf16-seed0",
        "row": "svm-bf16",
        "profile": "quick",
        "model": "m",
        "status": "passed",
        "seed": 0,
        "val_accuracy": 0.8,
        "train_time_s": 1.0,
        "trainable_params": 385,
    }
    records = tmp_path / "records.json"
    write_records(records, [record], {"rtsent": {}})
    outputs = {name: tmp_path / name for name in ("report.html", "plot.png", "bigger.json", "smaller.json")}
    argv = [
        str(records),
        "--format",
        "html",
        "--output",
        str(outputs["report.html"]),
        "--plot",
        str(outputs["plot.png"]),
    ]
    argv += ["--github-bigger", str(outputs["bigger.json"]), "--github-smaller", str(outputs["smaller.json"])]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(argv) == 0
    assert json.loads(outputs["bigger.json"].read_text())[0]["value"] == 0.8
    assert {path.name: mode(path) for path in [records, *outputs.values()]} == dict.fromkeys(
        ["records.json", *outputs], 0o640
    )
