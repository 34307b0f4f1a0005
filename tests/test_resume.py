"""--rtsent-resume reuses a case only when everything that decides its result matches, and a reused
case's benchmark time is the original run's, not the time to copy its record."""

import copy
import json
import shutil
from pathlib import Path

import pytest

from rtsent.schema.records import resume_mismatch

BENCH = Path(__file__).resolve().parents[1] / "bench" / "test_methods.py"


def run(pytester, data, *args):
    out = pytester.path / f"out{len(list(pytester.path.glob('out*.json')))}.json"
    result = pytester.runpytest_inprocess(
        "-p",
        "rtsent.plugin.hooks",
        "--rtsent-profile=smoke",
        "--rtsent-methods=head",
        f"--rtsent-data={data}",
        f"--benchmark-json={out}",
        *args,
    )
    assert result.ret == 0, result.stdout.str()[-2000:]
    [bench] = json.loads(out.read_text())["benchmarks"]
    return bench


@pytest.fixture
def data(pytester, polarity_folder):
    folder = pytester.path / "data"
    shutil.copytree(polarity_folder, folder)
    return folder


def test_resume_reuses_with_original_timing_and_reruns_when_the_data_changed(pytester, data):
    pytester.makepyfile(test_methods=BENCH.read_text())
    records = pytester.path / "records.json"
    first = run(pytester, data, f"--rtsent-records={records}")["extra_info"]
    assert first["status"] == "passed" and first["case_time_s"] > 0

    again = run(pytester, data, f"--rtsent-resume={records}")
    assert again["extra_info"]["resumed_from"] == str(records)
    # item 10: the benchmark's time is the case's original wall time, not the copy's
    assert again["stats"]["data"] == [first["case_time_s"]] and again["stats"]["min"] == first["case_time_s"]

    # one validation sentence edited (line 4300 of rt-polarity.pos falls in the validation split)
    positives = data / "rt-polarity.pos"
    lines = positives.read_bytes().split(b"\n")
    lines[4300] = b"an edited sentence that was not there before ."
    positives.write_bytes(b"\n".join(lines))
    rerun = run(pytester, data, f"--rtsent-resume={records}")["extra_info"]
    assert "resumed_from" not in rerun
    assert rerun["resume_rejected"].startswith("split_hashes.validation differs (old ")
    assert "train" not in rerun["resume_rejected"] and rerun["split_hashes"]["train"] == first["split_hashes"]["train"]
    assert rerun["case_time_s"] != first["case_time_s"]


def test_resume_compares_everything_that_decides_the_result(pytester, data):
    pytester.makepyfile(test_methods=BENCH.read_text())
    records = pytester.path / "records.json"
    run(pytester, data, f"--rtsent-records={records}")
    [record] = [b["extra_info"] for b in json.loads(records.read_text())["benchmarks"]]
    assert resume_mismatch(record, record) is None
    changes = {
        ("model_identity",): ("config:0000", "model_identity differs (old 'config:"),
        ("recipe", "epochs"): (3, "recipe.epochs differs (old 1, now 3)"),
        ("method_params", "r"): (4, "method_params.r differs (old missing, now 4)"),
        ("precision",): ("bf16", "precision differs (old 'fp32', now 'bf16')"),
        ("machine", "transformers"): ("0.0", "machine.transformers differs"),
        ("machine", "scikit-learn"): ("0.0", "machine.scikit-learn differs"),
        ("device",): ("cuda", "device differs (old 'cpu', now 'cuda')"),
    }
    for path, (value, message) in changes.items():
        current = copy.deepcopy(record)
        target = current
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        assert message in resume_mismatch(record, current), path
    assert resume_mismatch({**record, "status": "error"}, record) == "earlier status 'error'"
    assert resume_mismatch({k: v for k, v in record.items() if k != "case_time_s"}, record) == (
        "earlier record has no case_time_s"
    )


def small_split_files(folder, polarity_folder):
    """train/validation/test.jsonl of 40/20/20 Cornell sentences, half of each label: real weights run in seconds."""
    folder.mkdir()
    texts = {
        label: (polarity_folder / name).read_text(encoding="latin-1").splitlines()
        for label, name in ((1, "rt-polarity.pos"), (0, "rt-polarity.neg"))
    }
    start = 0
    for split, half in (("train", 20), ("validation", 10), ("test", 10)):
        rows = [{"text": texts[label][i], "label": label} for label in (1, 0) for i in range(start, start + half)]
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
        start += half
    return folder


def test_resumed_case_is_judged_against_todays_floor(pytester, polarity_folder):
    pytester.makepyfile(test_methods=BENCH.read_text())
    data = small_split_files(pytester.path / "small", polarity_folder)
    records = pytester.path / "records.json"
    args = ("--rtsent-model=minilm-l6", "--rtsent-max-train=40")
    first = run(pytester, data, f"--rtsent-records={records}", "--rtsent-floors=none", *args)["extra_info"]
    assert first["status"] == "passed" and first["floor"] is None and first["accuracy_meaningful"] is True
    floors = pytester.path / "floors.toml"
    floors.write_text("[head]\nval_accuracy = 0.99\n")
    out = pytester.path / "floored.json"
    result = pytester.runpytest_inprocess(
        "-p",
        "rtsent.plugin.hooks",
        "--rtsent-profile=smoke",
        "--rtsent-methods=head",
        f"--rtsent-data={data}",
        f"--rtsent-resume={records}",
        f"--rtsent-floors={floors}",
        f"--benchmark-json={out}",
        *args,
    )
    result.assert_outcomes(failed=1)
    [bench] = json.loads(out.read_text())["benchmarks"]
    assert bench["extra_info"]["resumed_from"] == str(records)
    assert bench["extra_info"]["status"] == "below_floor" and bench["extra_info"]["floor"] == 0.99
