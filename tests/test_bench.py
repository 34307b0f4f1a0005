"""The pytest layer end to end: `pytest bench/` as a user runs it, in a subprocess."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_bench(*args, tmp_path):
    out = tmp_path / "out.json"
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "bench/", "-q", "-p", "no:randomly", f"--benchmark-json={out}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    # pytest-benchmark opens the JSON file when it parses its options: it exists, empty, after a usage error.
    text = out.read_text() if out.exists() else ""
    return proc, (json.loads(text) if text else None), time.perf_counter() - started


def test_smoke_grid_records_every_case(tmp_path, polarity_folder):
    proc, results, _ = run_bench(
        "--rtsent-profile=smoke", f"--rtsent-data={polarity_folder}", "--rtsent-seeds=0,1", tmp_path=tmp_path
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    names = sorted(b["name"] for b in results["benchmarks"])
    assert names == sorted(
        f"test_method[{row}-seed{seed}]"
        for row in ("svm-fp32", "head-lr1e-3-fp32", "full-lr1e-3-fp32", "lora-lr2e-5-bf16", "lora-lr2e-4-bf16")
        for seed in (0, 1)
    )
    for bench in results["benchmarks"]:
        info = bench["extra_info"]
        assert info["status"] == "passed" and info["profile"] == "smoke"
        assert info["data_canonical"] is True  # the packaged Cornell files, judged before the 200-row sample
        assert info["case"] == bench["name"][len("test_method[") : -1]
    machine = results["machine_info"]["rtsent"]
    assert machine["torch"] and machine["matmul_flops"]["fp32"] > 0


def test_bad_option_fails_before_any_training(tmp_path, polarity_folder):
    proc, results, seconds = run_bench(
        "--rtsent-profile=smoke", f"--rtsent-data={polarity_folder}", "--rtsent-methods=svm,qlora", tmp_path=tmp_path
    )
    assert proc.returncode == 4  # pytest's usage error
    assert "unknown method 'qlora' in --rtsent-methods; valid methods: svm, head, full, lora" in proc.stderr
    assert results is None
    for bad, message in [
        ("--rtsent-seeds=0,x", "--rtsent-seeds='0,x' does not parse"),
        ("--rtsent-profile=fast", "unknown profile 'fast'; valid profiles: seed, offline, quick, tune, smoke"),
        ("--rtsent-precisions=fp8", "unknown precision 'fp8' in --rtsent-precisions"),
        # a repeated seed used to run twice as seed0_0/seed0_1 and report n = 2 with a spread of 0
        ("--rtsent-seeds=0,0", "--rtsent-seeds='0,0' lists seed 0 twice; list each seed once"),
    ]:
        proc, _, _ = run_bench(f"--rtsent-data={polarity_folder}", "--rtsent-profile=smoke", bad, tmp_path=tmp_path)
        assert proc.returncode == 4 and message in proc.stderr, proc.stderr


def test_case_below_its_floor_fails_and_keeps_its_record(tmp_path, polarity_folder):
    floors = tmp_path / "floors.toml"
    floors.write_text("[svm]\nval_accuracy = 0.99\nmeasured = [0.7]\n")
    proc, results, _ = run_bench(
        "--rtsent-profile=quick",
        f"--rtsent-data={polarity_folder}",
        "--rtsent-methods=svm",
        "--rtsent-max-train=200",
        f"--rtsent-floors={floors}",
        tmp_path=tmp_path,
    )
    assert proc.returncode == 1
    assert "below_floor: svm-bf16-seed0: val accuracy" in proc.stdout and "< floor 0.9900 (gap -" in proc.stdout
    [bench] = results["benchmarks"]
    assert bench["extra_info"]["status"] == "below_floor" and bench["extra_info"]["val_accuracy"] < 0.99
    floors.write_text("[qlora]\nval_accuracy = 0.5\n")
    proc, _, _ = run_bench(
        "--rtsent-profile=smoke", f"--rtsent-data={polarity_folder}", f"--rtsent-floors={floors}", tmp_path=tmp_path
    )
    assert proc.returncode == 4 and "names method 'qlora'" in proc.stderr


def test_sweep_runs_as_ordinary_cases(tmp_path):
    sweep = tmp_path / "sweep.toml"
    sweep.write_text('[lora]\nlr = [1e-3, 2e-3]\nr = [4, 8]\n\n[svm]\nC = [0.1, 1.0]\npooling = "mean"\n')
    proc, results, _ = run_bench(
        "--rtsent-profile=smoke", f"--rtsent-sweep={sweep}", "--rtsent-methods=svm,lora", tmp_path=tmp_path
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    records = {b["extra_info"]["case"]: b["extra_info"] for b in results["benchmarks"]}
    assert set(records) == {
        "svm-C1e-1-pooling=mean-fp32-seed0",
        "svm-C1-pooling=mean-fp32-seed0",
        "lora-lr1e-3-r4-bf16-seed0",
        "lora-lr1e-3-r8-bf16-seed0",
        "lora-lr2e-3-r4-bf16-seed0",
        "lora-lr2e-3-r8-bf16-seed0",
    }
    r4, r8 = records["lora-lr1e-3-r4-bf16-seed0"], records["lora-lr1e-3-r8-bf16-seed0"]
    assert r4["hyperparameters"] == {"r": 4} and r4["swept"] == {"r": 4} and r4["lr"] == 1e-3
    # the rank really reached peft: twice the adapter parameters at r=8 (the head is the same)
    assert r8["trainable_params"] - r4["trainable_params"] > 0
    svm = records["svm-C1e-1-pooling=mean-fp32-seed0"]
    assert svm["hyperparameters"] == {"C": 0.1} and svm["recipe"]["pooling"] == "mean"
    sweep.write_text("[lora]\nrank = [4]\n")
    proc, _, _ = run_bench("--rtsent-profile=smoke", f"--rtsent-sweep={sweep}", tmp_path=tmp_path)
    assert proc.returncode == 4 and "[lora] has unknown key 'rank'; valid keys:" in proc.stderr, proc.stderr


def test_duplicates_in_the_grid_options_are_usage_errors():
    import torch

    from rtsent.plugin import parse_options

    options = {"profile": "smoke", "seeds": "0", "methods": "", "precisions": "", "model": "", "data": ""}
    options |= {"max-train": "", "floors": "none", "records": "", "resume": "", "sweep": ""}
    mixed = "fp16" if torch.cuda.is_available() else "bf16"  # rtsent.measuring.resolve_precision
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
            parse_options(lambda key, name=name, value=value: value if key == name else options[key])
        assert str(caught.value).startswith(message), caught.value
    other = "bf16" if mixed == "fp16" else "fp16"
    assert parse_options(lambda key: f"fp32,{other},mixed" if key == "precisions" else options[key]).precisions
