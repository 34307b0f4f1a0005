"""Selection on validation: hand-made records whose right choice is known."""

import json

import numpy as np
import pytest

from rtsent.plan.profiles import get_profile
from rtsent.report.selection import as_sweep, curve_series, pairs_on_test, select, selected_table, sweep_series

N = 1000  # validation and test examples
LABELS = "1" * (N // 2) + "0" * (N // 2)


def bits(correct: int) -> str:
    """Predictions with the first `correct` examples right and the rest wrong."""
    return "".join(t if i < correct else ("0" if t == "1" else "1") for i, t in enumerate(LABELS))


def record(row, seed, curve, *, method="lora", lr=1e-4, swept=None, train_s=100.0):
    """A record whose curve is [(epoch, val correct, test correct), ...]; its headline is the last epoch."""
    points = [
        {
            "epoch": epoch,
            "step": 10 * epoch,
            "train_time_s": train_s * epoch / curve[-1][0],
            "val_accuracy": val / N,
            "test_accuracy": test / N,
            "val_predictions": bits(val),
            "test_predictions": bits(test),
        }
        for epoch, val, test in curve
    ]
    return {
        "case": f"{row}-seed{seed}",
        "row": row,
        "profile": "tune",
        "model": "minilm-l6",
        "method": method,
        "precision": "bf16",
        "lr": lr,
        "seed": seed,
        "status": "passed",
        "swept": swept or {},
        "trainable_params": 1000,
        "train_time_s": train_s,
        "val_accuracy": points[-1]["val_accuracy"],
        "test_accuracy": points[-1]["test_accuracy"],
        "val_labels": LABELS,
        "test_labels": LABELS,
        "val_predictions": points[-1]["val_predictions"],
        "test_predictions": points[-1]["test_predictions"],
        "curve": points,
    }


def grid(test_for_b=700):
    """Row a peaks at epoch 2 (val 0.85); row b peaks at epoch 3 (val 0.80)."""
    return [
        record("lora-lr1e-4-bf16", 0, [(1, 800, 790), (2, 850, 840), (3, 830, 820)], lr=1e-4),
        record("lora-lr5e-4-bf16", 0, [(1, 700, 690), (2, 780, 770), (3, 800, test_for_b)], lr=5e-4),
    ]


def test_chooses_the_best_validation_epoch_across_configurations():
    [chosen] = select(grid(), one_se=False)
    assert (chosen.chosen.row, chosen.chosen.epoch) == ("lora-lr1e-4-bf16", 2)
    assert chosen.tried == 6 and chosen.configurations == 2 and chosen.tuning_cost_s == 200.0
    [row] = selected_table([chosen])
    assert row["chosen"] == "lr 1e-4, epoch 2" and row["test acc"] == "0.840" and row["decided by"] == "best val"


def test_selection_is_blind_to_test():
    honest = select(grid(), one_se=False)[0].chosen
    doctored = grid(test_for_b=999)  # the other configuration now looks far better on test
    for record_ in doctored:
        for point in record_["curve"]:
            point["test_accuracy"] = 0.99 if record_["row"].startswith("lora-lr5e-4") else 0.01
    chosen = select(doctored, one_se=False)[0].chosen
    assert (chosen.row, chosen.epoch) == (honest.row, honest.epoch)


def test_one_standard_error_rule_picks_the_cheaper_near_tie():
    # epoch 1 (val 0.845) is within one binomial SE (~1.1 points at n=1000) of epoch 2 (0.850), and costs half
    records = [record("full-lr5e-5-bf16", 0, [(1, 845, 830), (2, 850, 835)], method="full", lr=5e-5)]
    chosen = select(records)[0]
    assert chosen.chosen.epoch == 1 and chosen.best.epoch == 2
    assert selected_table([chosen])[0]["decided by"].startswith("one-SE rule (best val: lr 5e-5, epoch 2")
    assert select(records, one_se=False)[0].chosen.epoch == 2


def test_one_standard_error_rule_never_trades_accuracy_for_equal_work():
    # lr 5e-4 is within one SE of lr 1e-4 at the same epoch and ran faster by the clock: equal steps, so
    # the better one stays chosen (seconds of equal work differ by noise alone)
    records = [
        record("lora-lr1e-4-bf16", 0, [(1, 850, 840)], lr=1e-4, train_s=100.0),
        record("lora-lr5e-4-bf16", 0, [(1, 845, 800)], lr=5e-4, train_s=90.0),
    ]
    [chosen] = select(records)
    assert chosen.chosen.row == "lora-lr1e-4-bf16" and chosen.chosen is chosen.best


def test_compares_on_shared_seeds_and_reports_test_over_all_seeds():
    records = grid()
    # the chosen row re-run on seeds 1 and 2 scores worse on validation; it must not lose the choice for that
    records += [record("lora-lr1e-4-bf16", s, [(1, 700, 760), (2, 750, 800), (3, 740, 790)]) for s in (1, 2)]
    [chosen] = select(records, one_se=False)
    assert chosen.selection_seeds == [0] and chosen.chosen.row == "lora-lr1e-4-bf16" and chosen.chosen.epoch == 2
    row = selected_table([chosen])[0]
    assert row["seeds"] == 3 and row["test acc"].startswith(f"{np.mean([0.84, 0.8, 0.8]):.3f} ± ")
    assert row["test 95% CI"].endswith(" t")


def test_search_trials_pool_with_the_rerun_of_their_configuration():
    """Trials are rows of their own (`lora-trial0-bf16`); the chosen one re-run on seeds 1 and 2 has its
    configuration's row. Both are one candidate, so the answer is over 3 seeds and 2 configurations ran."""
    trial = [(1, 800, 790), (2, 850, 840), (3, 830, 820)]
    records = [
        record("lora-trial0-bf16", 0, trial, lr=1e-4, swept={"r": 8}) | {"trial": 0},
        record("lora-trial1-bf16", 0, [(1, 700, 690), (2, 780, 770), (3, 800, 700)], lr=5e-4, swept={"r": 16})
        | {"trial": 1},
    ]
    records += [
        record("lora-lr1e-4-r8-bf16", s, [(1, 780, 770), (2, 820, 800), (3, 810, 800)], swept={"r": 8}) for s in (1, 2)
    ]
    [chosen] = select(records, one_se=False)
    assert (chosen.chosen.row, chosen.chosen.epoch) == ("lora-lr1e-4-r8-bf16", 2)
    assert sorted(chosen.chosen.points) == [0, 1, 2]
    assert chosen.configurations == 2 and chosen.selection_seeds == [0]
    assert selected_table([chosen])[0]["seeds"] == 3
    assert as_sweep([chosen]) == {"lora": {"lr": [1e-4], "r": [8]}}


def test_a_subset_trial_and_its_full_split_rerun_are_refused_together_not_merged():
    """A trial searched on a training subset and its winner re-run on the full split share the configuration's
    row; their seeds must not pool (the re-run's seed 0 would replace the trial's), so the report refuses them."""
    from rtsent.schema.records import pooling_error

    trial = record("lora-trial0-bf16", 0, [(1, 800, 790)], swept={"r": 8}) | {"trial": 0}
    rerun = record("lora-lr1e-4-r8-bf16", 1, [(1, 780, 770)], swept={"r": 8})
    trial["split_hashes"], rerun["split_hashes"] = {"train": "subset"}, {"train": "full"}
    files = [{**trial, "file": "search.json"}, {**rerun, "file": "rerun.json"}]
    assert pooling_error(files).startswith("row 'lora-lr1e-4-r8-bf16' pools cases that are not the same experiment")
    rerun["split_hashes"] = {"train": "subset"}  # the same experiment on another seed: they pool
    assert pooling_error([{**trial, "file": "search.json"}, {**rerun, "file": "rerun.json"}]) is None


def test_pairs_on_test_and_the_sweep_to_rerun():
    records = grid() + [
        record("svm-C1e-1-bf16", 0, [(1, 760, 750)], method="svm", lr=None, swept={"C": 0.1}),
    ]
    selections = select(records, one_se=False)
    [pair] = pairs_on_test(selections)
    assert {pair["A"], pair["B"]} == {"lora-bf16", "svm-bf16"}
    assert pair["A only right"] + pair["B only right"] == 90  # 840 vs 750 correct of the same first examples
    assert as_sweep(selections) == {"lora": {"lr": [1e-4]}, "svm": {"C": [0.1]}}


def test_plot_series():
    [chosen] = select(grid(), one_se=False)
    assert [round(m, 3) for _, m, _ in curve_series(chosen)] == [0.8, 0.85, 0.83]
    assert sweep_series(chosen) == {"lr": [(1e-4, 0.85, 0.0), (5e-4, 0.8, 0.0)]}


def test_report_select_renders_the_table_pairs_and_both_figures(tmp_path, capsys):
    import json

    from rtsent.report.cli import main

    records = grid() + [record("svm-C1e-1-bf16", 0, [(1, 760, 750)], method="svm", lr=None, swept={"C": 0.1})]
    path = tmp_path / "search.json"
    path.write_text(json.dumps({"benchmarks": [{"name": r["case"], "extra_info": r} for r in records]}))
    plot = tmp_path / "tune.png"
    assert main([str(path), "--select", "val", "--no-one-se-rule", "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "| lora-bf16 " in out and "lr 1e-4, epoch 2" in out and "0.840" in out and "same test examples" in out
    for name in ("tune-sweep.png", "tune-curves.png"):
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")
    assert main([str(path), "--select", "val", "--format", "html", "--output", str(tmp_path / "r.html")]) == 0
    assert "chosen" in (tmp_path / "r.html").read_text()


def test_selected_configurations_rerun_under_the_same_case_ids(tmp_path):
    """select -> as_sweep -> --rtsent-sweep=selected:FILE -> the grid: the re-run rows are the search's, so
    the report pools their seeds; a method that ran off the plain grid (svm here) re-runs as the grid has it."""
    from rtsent.plugin.session import parse_options

    def session(**options):
        options = {"profile": "tune", "floors": "none", "progress": "off", **options}
        return parse_options(lambda name: options.get(name, ""))

    sweep = tmp_path / "lora.toml"
    sweep.write_text("[lora]\nlr = [1e-4, 5e-4]\nr = [8, 16]\n")
    search = {case.row: case for case in session(seeds="0", sweep=str(sweep)).grid()}
    records = [
        record(row, 0, [(1, 800 + 10 * i, 790), (2, 805 + 10 * i, 800)], lr=case.lr, swept=dict(case.swept))
        | {"method": case.method, "precision": case.precision}
        for i, (row, case) in enumerate(search.items())
    ]
    path = tmp_path / "search.json"
    path.write_text(json.dumps({"benchmarks": [{"name": r["case"], "extra_info": r} for r in records]}))
    rerun = {case.row for case in session(seeds="1,2", sweep=f"selected:{path}").grid()}
    best_lora = max((r for r in records if r["method"] == "lora"), key=lambda r: r["val_accuracy"])
    methods = {entry.method for entry in get_profile("tune").grid}
    assert best_lora["row"] in rerun and rerun <= set(search) and len(rerun) == len(methods)  # one row per method


@pytest.mark.parametrize("winner", ["lora-lr2e-4-bf16", "lora-lr2e-4-target_modules=all-linear-bf16"])
def test_selected_rerun_is_the_configuration_that_ran_not_one_per_grid_row(tmp_path, winner):
    """offline has two LoRA rows at lr 2e-4 (query/value and all-linear): a selection re-runs the one that won."""
    from rtsent.plugin.session import parse_options

    def session(**options):
        options = {"profile": "offline", "floors": "none", "progress": "off", "methods": "lora", **options}
        return parse_options(lambda name: options.get(name, ""))

    search = {case.row: case for case in session(seeds="0").grid()}
    records = [
        record(row, 0, [(1, 900 if row == winner else 800, 790)], lr=case.lr, swept=dict(case.swept))
        | {"profile": "offline", "method": "lora", "precision": case.precision}
        for row, case in search.items()
    ]
    path = tmp_path / "search.json"
    path.write_text(json.dumps({"benchmarks": [{"name": r["case"], "extra_info": r} for r in records]}))
    assert [case.row for case in session(seeds="1", sweep=f"selected:{path}").grid()] == [winner]
