"""The results table at the end of `pytest bench/` (tests/test_bench.py checks it in a real run)."""

import pytest
import torch

from rtsent.case.runner import run_case
from rtsent.engine.devices import pick_device
from rtsent.engine.workbench import Workbench
from rtsent.plan.cases import CaseConfig
from rtsent.plan.profiles import get_profile
from rtsent.report.cli import main as report
from rtsent.report.terminal import results_table, title
from rtsent.schema.records import write_records


@pytest.mark.skipif(torch.cuda.is_available(), reason="fp16 runs on CUDA; the skip is provoked on a CPU")
def test_a_run_whose_cases_were_all_skipped_still_gets_its_table_and_report(tmp_path, polarity_folder, capsys):
    smoke = get_profile("smoke")
    config = CaseConfig(
        profile="smoke",
        method="svm",
        lr=None,
        precision="fp16",  # needs CUDA: skipped with the reason, before any work
        seed=0,
        model=smoke.model,
        data=str(polarity_folder),
        max_train=smoke.max_train,
        recipe=smoke.recipe("svm"),
    )
    result = run_case(config, workbench=Workbench(device=pick_device()))
    assert result.status == "skipped"
    lines = results_table([result.record])
    assert lines[0].split() == "case val acc test acc train s peak MiB trainable status".split()
    assert lines[2].split() == ["svm-fp16", "–", "–", "–", "–", "–", "1", "skipped"]
    assert title([result.record]) == f"rtsent results: profile smoke; model random:tiny-bert; data {polarity_folder}"
    path = tmp_path / "skipped.json"
    write_records(path, [result.record], {})
    assert report([str(path), "--no-pairs"]) == 0  # the reporter's own table of the same records
    assert "1 skipped" in capsys.readouterr().out


def test_no_records_no_table():
    assert results_table([]) == []
