"""The pytest layer end to end: `pytest bench/` as a user runs it, in a subprocess."""

import os
import re
import select
import subprocess
import sys
import time

import pytest
from benchrun import ROOT, run_bench, session_options

from rtsent.plan.profiles import get_profile


def test_bad_option_fails_before_any_training(tmp_path, polarity_folder):
    proc, results, _ = run_bench(
        tmp_path, "--rtsent-profile=smoke", f"--rtsent-data={polarity_folder}", "--rtsent-methods=svm,qlora"
    )
    assert proc.returncode == 4  # pytest's usage error
    assert "unknown method 'qlora' in --rtsent-methods; valid methods: svm, head, full, lora" in proc.stderr
    assert results is None
    # the other options' checks raise in the same call (rtsent.plugin.session.parse_options, which the
    # plugin turns into that usage error): checked here in this process, without a pytest run each
    for name, value, message in [
        ("seeds", "0,x", "--rtsent-seeds='0,x' does not parse"),
        ("profile", "fast", "unknown profile 'fast'; valid profiles: seed, offline, quick, tune, smoke"),
        ("precisions", "fp8", "unknown precision 'fp8' in --rtsent-precisions"),
        # a repeated seed used to run twice as seed0_0/seed0_1 and report n = 2 with a spread of 0
        ("seeds", "0,0", "--rtsent-seeds='0,0' lists seed 0 twice; list each seed once"),
        ("progress", "loud", "--rtsent-progress='loud' is not one of auto, on, off"),
        ("serving", "twice", "--rtsent-serving='twice' is not one of once, every, off"),
    ]:
        with pytest.raises(ValueError) as caught:
            session_options(**{name: value})
        assert message in str(caught.value), caught.value


def test_case_below_its_floor_fails_and_keeps_its_record(tmp_path, polarity_folder):
    floors = tmp_path / "floors.toml"
    floors.write_text("[tfidf]\nval_accuracy = 0.99\nmeasured = [0.7]\n")
    # TF-IDF reads no transformer weights, so its accuracy counts even in the smoke profile (random weights
    # mark every other case's accuracy as meaningless, and such a case is never held to a floor)
    proc, results, _ = run_bench(
        tmp_path,
        "--rtsent-profile=smoke",
        f"--rtsent-data={polarity_folder}",
        "--rtsent-methods=tfidf",
        f"--rtsent-floors={floors}",
    )
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert "below_floor: tfidf-fp32-seed0: val accuracy" in proc.stdout and "< floor 0.9900 (gap -" in proc.stdout
    [bench] = results["benchmarks"]
    assert bench["extra_info"]["status"] == "below_floor" and bench["extra_info"]["val_accuracy"] < 0.99
    floors.write_text("[qlora]\nval_accuracy = 0.5\n")
    proc, _, _ = run_bench(
        tmp_path, "--rtsent-profile=smoke", f"--rtsent-data={polarity_folder}", f"--rtsent-floors={floors}"
    )
    assert proc.returncode == 4 and "names method 'qlora'" in proc.stderr


def test_sweep_runs_as_ordinary_cases(tmp_path):
    sweep = tmp_path / "sweep.toml"
    sweep.write_text('[lora]\nlr = [1e-3, 2e-3]\nr = [4, 8]\n\n[svm]\nC = [0.1, 1.0]\npooling = "mean"\n')
    proc, results, _ = run_bench(
        tmp_path, "--rtsent-profile=smoke", f"--rtsent-sweep={sweep}", "--rtsent-methods=svm,lora"
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "rtsent: " not in proc.stdout  # -q silences the progress lines (the results table stays)
    assert "rtsent results: profile smoke" in proc.stdout
    records = {b["extra_info"]["case"]: b["extra_info"] for b in results["benchmarks"]}
    assert set(records) == {
        "svm-C1e-1-pooling=mean-fp32-seed0",
        "svm-C1-pooling=mean-fp32-seed0",
        "lora-lr1e-3-r4-fp32-seed0",
        "lora-lr1e-3-r8-fp32-seed0",
        "lora-lr2e-3-r4-fp32-seed0",
        "lora-lr2e-3-r8-fp32-seed0",
        # the grid's LoRA row on every linear layer keeps its target set under the sweep
        *(f"lora-lr{lr}-r{r}-target_modules=all-linear-fp32-seed0" for lr in ("1e-3", "2e-3") for r in (4, 8)),
    }
    r4, r8 = records["lora-lr1e-3-r4-fp32-seed0"], records["lora-lr1e-3-r8-fp32-seed0"]
    assert r4["method_params"] == {"r": 4, "lora_alpha": 16, "lora_dropout": 0.1, "target_modules": "query_value"}
    assert r4["swept"] == {"r": 4}
    assert r4["lr"] == 1e-3
    # the rank really reached peft: twice the adapter parameters at r=8 (the head is the same)
    assert r8["trainable_params"] - r4["trainable_params"] > 0
    svm = records["svm-C1e-1-pooling=mean-fp32-seed0"]
    assert svm["method_params"] == {"C": 0.1, "standardize": True} and svm["recipe"]["pooling"] == "mean"
    sweep.write_text("[lora]\nrank = [4]\n")
    proc, _, _ = run_bench(tmp_path, "--rtsent-profile=smoke", f"--rtsent-sweep={sweep}")
    assert proc.returncode == 4 and "[lora] has unknown key 'rank'; valid keys:" in proc.stderr, proc.stderr


def test_duplicates_in_the_grid_options_are_usage_errors():
    import torch

    mixed = "fp16" if torch.cuda.is_available() else "bf16"  # rtsent.engine.devices.resolve_precision
    device = "cuda" if torch.cuda.is_available() else "cpu"
    for name, value, message in [
        ("seeds", "0,1,00", "--rtsent-seeds='0,1,00' lists seed 0 twice ('0' and '00'); list each seed once"),
        ("methods", "svm,lora,svm", "--rtsent-methods='svm,lora,svm' lists method svm twice; list each method once"),
        ("precisions", "fp32,fp32", "--rtsent-precisions='fp32,fp32' lists precision fp32 twice; list each"),
        (
            "precisions",
            f"{mixed},fp32,mixed",
            f"--rtsent-precisions='{mixed},fp32,mixed' lists precision {mixed} twice "
            f"('{mixed}' and 'mixed', which is {mixed} on this {device}); list each precision once",
        ),
    ]:
        with pytest.raises(ValueError) as caught:
            session_options(**{name: value})
        assert str(caught.value).startswith(message), caught.value
    other = "bf16" if mixed == "fp16" else "fp16"
    assert session_options(precisions=f"fp32,{other},mixed").precisions


PHASE = r"(tokenizing|frozen pass \w+|training|epoch \d+/\d+ \| step \d+/\d+ .*|evaluating \w+|serving)"


def benchmark_columns(stdout):
    """The column labels of pytest-benchmark's table ("Name (time in s)    Mean")."""
    [labels] = [line for line in stdout.splitlines() if line.startswith("Name (time in")]
    return labels.split(")", 1)[1].split()


def test_a_plain_run_records_every_case_shows_progress_then_the_results_and_no_third_party_warnings(
    tmp_path, polarity_folder
):
    # not a terminal (captured): plain progress lines; no -q, as a newcomer types it
    proc, results, _ = run_bench(
        tmp_path,
        "--rtsent-profile=smoke",
        f"--rtsent-data={polarity_folder}",
        "--rtsent-seeds=0,1",
        quiet=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # every grid row, two seeds, each once: the cases the session's own grid names
    names = sorted(b["name"] for b in results["benchmarks"])
    grid = session_options(seeds="0,1").grid()
    assert names == sorted(f"test_method[{case.case_id}]" for case in grid)
    assert len(names) == 2 * len(get_profile("smoke").grid)
    assert "test_method[lora-lr2e-4-target_modules=all-linear-fp32-seed1]" in names
    for bench in results["benchmarks"]:
        info = bench["extra_info"]
        assert info["status"] == "passed" and info["profile"] == "smoke"
        assert info["data_canonical"] is True  # the packaged Cornell files, judged before the 200-row sample
        assert info["case"] == bench["name"][len("test_method[") : -1]
    machine = results["machine_info"]["rtsent"]
    assert machine["torch"] and machine["matmul_flops"]["fp32"] > 0
    records = {b["extra_info"]["case"]: b["extra_info"] for b in results["benchmarks"]}
    progress = [re.fullmatch(rf"rtsent: (\S+) \| {PHASE} \| \d+:\d\d", line) for line in proc.stdout.splitlines()]
    progress = [match for match in progress if match]
    assert {match[1] for match in progress} == set(records)  # every case says it started
    assert progress[0][2] == "tokenizing"
    # the rtsent table, at the end, one row per grid row with the session's own numbers (mean of the seeds)
    lines = proc.stdout.splitlines()
    [start] = [i for i, line in enumerate(lines) if "rtsent results: profile smoke; model random:tiny-bert" in line]
    assert lines[start + 1].split() == "case val acc test acc train s peak MiB trainable status".split()
    by_row = {}
    for record in records.values():
        by_row.setdefault(record["row"], []).append(record)
    table = lines[start + 3 : start + 3 + len(by_row)]
    rows = {line.removeprefix("(no weights) ").split()[0]: line for line in table}
    for row_key, seeds in by_row.items():
        row, record = rows[row_key], seeds[0]
        # random weights mark every row but the bag-of-words baselines', which never read them
        assert row.startswith("(no weights) ") is (record["method"] not in ("tfidf", "nbsvm"))
        assert len(seeds) == 2 and row.endswith("2 passed")
        for metric in ("val_accuracy", "test_accuracy"):
            assert f"{sum(r[metric] for r in seeds) / 2:.3f} ± " in row, (metric, row)
        assert f"{record['trainable_params']:,}" in row
    # pytest-benchmark's table: only the time, since a case runs one round
    assert benchmark_columns(proc.stdout) == ["Mean"]
    # transformers' FutureWarning (raised under peft's LoRA wrapping) is filtered by name in pyproject.toml
    assert "FutureWarning" not in proc.stdout + proc.stderr and "warnings summary" not in proc.stdout


def test_progress_off_is_silent_and_the_users_benchmark_columns_win(tmp_path, polarity_folder):
    proc, _, _ = run_bench(
        tmp_path,
        "--rtsent-profile=smoke",
        f"--rtsent-data={polarity_folder}",
        "--rtsent-methods=svm",
        "--rtsent-progress=off",
        "--benchmark-columns=min,rounds",
        quiet=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "rtsent: " not in proc.stdout and "rtsent results: profile smoke" in proc.stdout
    assert benchmark_columns(proc.stdout) == ["Min", "Rounds"]


def test_live_progress_rewrites_one_line_on_a_terminal(tmp_path, polarity_folder):
    pty = pytest.importorskip("pty")  # POSIX only
    width = 100
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "bench/", "-p", "no:randomly", "--rtsent-profile=smoke"]
        + [f"--rtsent-data={polarity_folder}", "--rtsent-methods=full", f"--benchmark-json={tmp_path / 'o.json'}"]
        + ["--rtsent-max-train=8530"],  # 267 steps: several seconds of training, even on a fast machine
        cwd=ROOT,
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env={**{k: v for k, v in os.environ.items() if k != "NO_COLOR"}, "COLUMNS": str(width), "TERM": "xterm"},
    )
    os.close(secondary)
    chunks, deadline = [], time.monotonic() + 300
    while time.monotonic() < deadline:
        if not select.select([primary], [], [], 1)[0]:
            continue
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    assert proc.wait(timeout=60) == 0
    output = b"".join(chunks).decode()
    # each update returns to the column after pytest's "bench/test_methods.py " and clears the rest
    updates = re.findall(r"\r\x1b\[(\d+)C  ([^\r\x1b]*)\x1b\[K", output)
    texts = [text for _, text in updates]
    assert any(re.fullmatch(rf"full-lr1e-3-fp32-seed0 \| {PHASE} \| \d+:\d\d", text) for text in texts), texts
    steps = [t for t in texts if t.startswith("full-lr1e-3-fp32-seed0 | epoch 1/1 | step ") and "| loss " in t]
    assert steps, texts
    # never wraps (a wrapped line cannot be rewritten): the long training lines are cut at the edge
    room = [width - int(column) - 1 - 2 - len(text) for column, text in updates]
    assert min(room) == 0 and all(r >= 0 for r in room), updates
    # when the case ends the line is wiped back to pytest's text, and pytest's own "." follows
    assert re.search(r"\r\x1b\[\d+C\x1b\[K(\x1b\[\d+m)?\.", output)
