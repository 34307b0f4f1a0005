"""rtsent-report on hand-made benchmark files whose statistics are worked out by hand."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from rtsent.report.cli import load_records, main
from rtsent.report.plots import pareto_front
from rtsent.report.stats import bootstrap_interval, mcnemar, t_interval

LABELS = "1" * 50 + "0" * 50


def record(
    row,
    seed,
    correct,
    *,
    profile="quick",
    model="minilm-l6",
    status="passed",
    floor=None,
    time_s=10.0,
    peak=2**30,
    trainable=1000,
    meaningful=True,
):
    method = row.split("-")[0]
    predictions = "".join(t if i < correct else ("0" if t == "1" else "1") for i, t in enumerate(LABELS))
    info = {
        "case": f"{row}-seed{seed}",
        "row": row,
        "profile": profile,
        "model": model,
        "method": method,
        "lr": None,
        "precision": row.rsplit("-", 1)[-1],
        "seed": seed,
        "status": status,
        "message": "",
        "floor": floor,
        "accuracy_meaningful": meaningful,
        "model_identity": "sha256:abc",
        "data": "folder",
        "split_hashes": {"train": "f" * 64},
    }
    if status in ("passed", "below_floor"):
        info.update(
            val_accuracy=correct / 100,
            val_f1=correct / 100,
            test_accuracy=correct / 100,
            test_f1=correct / 100,
            val_predictions=predictions,
            val_labels=LABELS,
            train_time_s=time_s,
            train_peak_rss_bytes=peak,
            trainable_params=trainable,
            total_params=100_000,
        )
    return {"name": f"test_method[{row}-seed{seed}]", "extra_info": info}


def write(path, benchmarks, profile="quick"):
    path.write_text(
        json.dumps(
            {
                "machine_info": {"rtsent": {"profile": profile, "device_name": "cpu", "torch": "2"}},
                "commit_info": {"id": "0123456789abcdef"},
                "datetime": "2026-11-26",
                "benchmarks": benchmarks,
            }
        )
    )
    return str(path)


def test_mcnemar_t_bootstrap_and_pareto_by_hand():
    a = np.array([1, 1, 1, 0, 0], bool)
    b = np.array([1, 0, 0, 1, 0], bool)
    assert mcnemar(a, b) == (2, 1, 1.0)  # n=3: 2·(C(3,0)+C(3,1))/8 = 1
    assert mcnemar(np.ones(5, bool), np.zeros(5, bool)) == (5, 0, 0.0625)  # 2/2^5
    low, high = t_interval(np.array([0.80, 0.82, 0.84]))
    half = 4.302652729911275 * 0.02 / math.sqrt(3)  # t(0.975, 2) · sd / √n
    assert math.isclose(low, 0.82 - half) and math.isclose(high, 0.82 + half)
    low, high = bootstrap_interval(np.array([True] * 80 + [False] * 20))
    assert low < 0.8 < high and math.isclose(high - low, 2 * 1.96 * math.sqrt(0.16 / 100), rel_tol=0.15)
    assert pareto_front([1, 2, 3, 4], [0.5, 0.7, 0.6, 0.8]) == [0, 1, 3]


def test_table_statistics_statuses_and_pairs(tmp_path, capsys):
    benches = [record("svm-bf16", s, c) for s, c in enumerate((80, 82, 84))]
    benches += [record("lora-lr2e-4-bf16", s, 90) for s in range(3)]
    benches += [record("full-lr5e-5-bf16", 0, 0, status="error")]
    assert main([write(tmp_path / "a.json", benches)]) == 0
    out = capsys.readouterr().out
    svm = next(line for line in out.splitlines() if line.startswith("| svm-bf16"))
    assert "0.820 ± 0.020" in svm and "[0.770, 0.870] t" in svm and "3 passed" in svm
    lora = next(line for line in out.splitlines() if line.startswith("| lora"))
    assert "**0.900 ± 0.000**" in lora  # the best validation accuracy is marked
    assert "1 error" in next(line for line in out.splitlines() if line.startswith("| full"))
    # svm right on 80/82/84, lora on 90 of the same 100 examples (a prefix each): 0 + 30 discordant pairs
    pair = next(line for line in out.splitlines() if line.startswith("| svm-bf16") and "lora" in line)
    cells = [c.strip() for c in pair.split("|")]
    assert cells[6:8] == ["0", "24"] and float(cells[8]) == pytest.approx(2 / 2**24, rel=0.01)


def test_per_seed_rows_and_columns_on_request(tmp_path, capsys):
    benches = [record("full-lr2e-5-fp32", s, c) for s, c in enumerate((80, 84))]
    for bench, (reserved, used) in zip(benches, ((3 * 2**30, 0.25), (2**30, 0.35)), strict=True):
        bench["extra_info"].update(train_cuda_max_reserved_bytes=reserved, flops_utilization=used)
    path = write(tmp_path / "a.json", benches)
    assert main([path, "--no-pairs", "--columns", "val acc,reserved MiB,FLOP/s used"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| full"))
    assert [c.strip(" *") for c in row.split("|")[2:5]] == ["0.820 ± 0.028", "3,072", "30%"]
    assert main([path, "--no-pairs", "--per-seed", "--columns", "val acc,reserved MiB"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| full")]
    assert [[c.strip(" *") for c in r.split("|")[1:4]] for r in rows] == [
        ["full-lr2e-5-fp32-seed0", "0.800", "3,072"],
        ["full-lr2e-5-fp32-seed1", "0.840", "1,024"],
    ]


@pytest.mark.parametrize("fmt", ["github", "markdown", "plain", "html", "latex", "csv", "json"])
def test_every_format_renders(tmp_path, capsys, fmt):
    benches = [record("svm-bf16", 0, 80, model="<script>alert(1)</script>"), record("head-bf16", 0, 70)]
    assert main([write(tmp_path / "a.json", benches), "--format", fmt]) == 0
    out = capsys.readouterr().out
    if fmt == "json":
        assert {row["case"] for row in json.loads(out)["rows"]} == {"svm-bf16", "head-bf16"}
    elif fmt == "csv":
        assert out.splitlines()[0].startswith("profile / model,case,val acc")
    elif fmt == "html":
        assert "<script>" not in out and "&lt;script&gt;" in out and "data:image/png;base64," in out
    elif fmt == "latex":
        assert "\\begin{tabular}" in out and "\\textbf{0.800}" in out
    else:
        assert "svm-bf16" in out and "head-bf16" in out


def test_gate_exit_codes(tmp_path, capsys):
    base = write(tmp_path / "base.json", [record("svm-bf16", 0, 85), record("head-bf16", 0, 80)])
    assert main([base, "--baseline", base]) == 0
    dropped = write(tmp_path / "new.json", [record("svm-bf16", 0, 80, time_s=30), record("head-bf16", 0, 79)])
    assert main([dropped, "--baseline", base]) == 1
    err = capsys.readouterr().err
    assert "quick/svm-bf16: val accuracy fell 0.0500 (0.8500 -> 0.8000)" in err and "head-bf16" not in err
    assert main([dropped, "--baseline", base, "--max-drop", "0.06"]) == 0
    assert main([dropped, "--baseline", base, "--max-drop", "0.06", "--max-slowdown", "2"]) == 1
    assert "train s grew 3.00x" in capsys.readouterr().err
    floored = write(tmp_path / "floor.json", [record("svm-bf16", 0, 80, floor=0.81, status="below_floor")])
    assert main([floored, "--baseline", floored]) == 1
    assert "under its floor 0.8100" in capsys.readouterr().err


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    truncated = tmp_path / "t.json"
    truncated.write_text('{"benchmarks": [')
    plain = write(tmp_path / "plain.json", [{"name": "test_x", "extra_info": {}}])
    empty = write(tmp_path / "empty.json", [])
    cases = {
        str(tmp_path / "missing.json"): "no such file",
        str(truncated): "not valid JSON",
        plain: "carries rtsent's records",
        empty: "benchmark list is empty",
    }
    for path, message in cases.items():
        assert main([path]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert main([plain.replace("plain", "empty"), "--columns", "val acc,speed"]) == 2
    assert "unknown column(s) ['speed']" in capsys.readouterr().err


def test_files_from_two_profiles_are_labelled(tmp_path, capsys):
    a = write(tmp_path / "a.json", [record("svm-bf16", 0, 80)])
    b = write(tmp_path / "b.json", [record("svm-bf16", 0, 70, profile="offline")], profile="offline")
    assert main([a, b, "--plot", str(tmp_path / "p.png"), "--github-bigger", str(tmp_path / "g.json")]) == 0
    out = capsys.readouterr().out
    assert "| quick / minilm-l6" in out and "| offline / minilm-l6" in out
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    entries = json.loads((tmp_path / "g.json").read_text())
    assert {"name": "quick/svm-bf16 val acc", "unit": "fraction", "value": 0.8} in entries


def test_reporter_does_not_import_torch():
    code = "import sys, rtsent.report.cli, rtsent.report.plots; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_header_marks_other_data(tmp_path, capsys):
    canonical, other, old = (record("svm-bf16", seed, 80) for seed in range(3))
    canonical["extra_info"]["data_canonical"] = True
    other["extra_info"]["data_canonical"] = False
    paths = [write(tmp_path / f"{name}.json", [b]) for name, b in (("c", canonical), ("o", other), ("n", old))]
    assert main([*paths, "--no-pairs"]) == 0
    headers = [line for line in capsys.readouterr().out.splitlines() if line.startswith("> file:")]
    assert "data: folder (train ffffffffffff, canonical Rotten Tomatoes splits)" in headers[0]
    assert "data: folder (train ffffffffffff, OTHER DATA: not the canonical splits)" in headers[1]
    assert "data: folder (train ffffffffffff) ·" in headers[2]  # files written before the flag: no claim


def test_merged_files_pool_only_the_same_experiment(tmp_path, capsys):
    # two shards of one grid: seeds of one row in two files pool into one row
    a = write(tmp_path / "a.json", [record("svm-bf16", 0, 80), record("head-bf16", 0, 70)])
    b = write(tmp_path / "b.json", [record("svm-bf16", 1, 82)])
    assert main([a, b, "--no-pairs"]) == 0
    frame, _ = load_records([a, b])
    assert sorted(frame[frame["row"] == "svm-bf16"]["seed"]) == [0, 1]
    # the same case in two files: which one counts is not the report's to guess
    again = write(tmp_path / "again.json", [record("svm-bf16", 0, 81)])
    assert main([a, again]) == 2
    err = capsys.readouterr().err
    assert f"case 'svm-bf16-seed0' appears twice ({a} and {again})" in err and err.count("\n") == 1
    # one row whose seeds ran on other weights (or recipe, split, library versions) is not one experiment
    other = record("svm-bf16", 1, 82)
    other["extra_info"]["model_identity"] = "sha256:def"
    other["extra_info"]["recipe"] = {"epochs": 2}
    moved = write(tmp_path / "moved.json", [other])
    # a field one file lacks (a hyperparameter added later, with its default) or free-text notes: not a difference
    newer = record("svm-bf16", 2, 82)
    newer["extra_info"]["method_params"] = {"C": 1.0, "standardize": True}
    older = record("svm-bf16", 3, 82)
    older["extra_info"]["method_params"] = {"C": 1.0}
    assert main([write(tmp_path / "n.json", [newer]), write(tmp_path / "o.json", [older]), "--no-pairs"]) == 0
    assert main([a, moved]) == 2
    err = capsys.readouterr().err
    assert (
        "row 'svm-bf16' pools cases that are not the same experiment: model_identity differs "
        f"(svm-bf16-seed0 in {a}: 'sha256:abc'; svm-bf16-seed1 in {moved}: 'sha256:def')" in err
    )


HOSTILE = "=a|b *c* _d_ $\\frac{x$ <b>y</b> [l](http://e) \x1b[31m\nz"


@pytest.mark.parametrize("fmt", ["github", "markdown", "plain", "html", "latex", "csv", "json"])
def test_a_hostile_case_id_and_model_render_as_written(tmp_path, capsys, fmt):
    import csv
    import io

    benches = [record(HOSTILE, 0, 80, model=HOSTILE), record("head-bf16", 0, 70)]
    assert main([write(tmp_path / "a.json", benches), "--format", fmt, "--plot", str(tmp_path / "p.png")]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out  # no terminal escape sequence in any format
    shown = "=a|b *c* _d_ $\\frac{x$ <b>y</b> [l](http://e) \\x1b[31m\\nz"  # control characters made visible
    if fmt in ("github", "markdown"):
        md = r"=a\|b \*c\* \_d\_ \$\\frac{x\$ \<b\>y\</b\> [l]\(http://e) \\x1b[31m\\nz"
        table = [line for line in out.splitlines() if line.startswith("|")]
        assert "\n".join(table).count(md) == 2 and f"model: {md} (sha256:abc)" in out  # case, profile / model
        assert len({line.replace("\\|", "").count("|") for line in table[:4]}) == 1  # cells stay in their columns
    elif fmt == "plain":
        assert shown in out
    elif fmt == "html":
        assert "<b>y</b>" not in out and "&lt;b&gt;y&lt;/b&gt;" in out and "\\x1b[31m\\nz" in out
    elif fmt == "latex":
        assert r"=a|b *c* \_d\_ \$\textbackslash{}frac\{x\$ <b>y</b>" in out and "95\\% CI" in out
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(out)))
        assert rows[0]["case"] == "'" + shown and rows[0]["profile / model"] == "quick / " + shown
    else:
        assert json.loads(out)["rows"][0]["case"] == HOSTILE  # json.dumps escapes; the text is exact
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"  # `$\frac{x$` is text, not broken math


def test_the_terminal_table_shows_control_characters(tmp_path):
    from rtsent.report.terminal import results_table, title

    records = [record("svm-\x1b]0;owned\x07-bf16", 0, 80, model="m\x1b[2J")["extra_info"]]
    lines = [*results_table(records), title(records)]
    assert not any("\x1b" in line or "\x07" in line for line in lines)
    assert any("svm-\\x1b]0;owned\\x07-bf16" in line for line in lines) and "m\\x1b[2J" in lines[-1]


def test_help_lists_the_columns(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0 and "val acc 95% CI" in " ".join(capsys.readouterr().out.split())
