"""The budgeted search (--rtsent-search): search spaces, trials as cases, the study as the resume point,
pruned trials as records, and the selection over trials (smoke profile: a 2-layer random BERT)."""

from dataclasses import replace

import optuna
import pytest
from benchrun import session_options

from rtsent.case import trials
from rtsent.case.trials import objective, run_trial, storage, study_name
from rtsent.plan.space import Range, Search, load_space, parse_space
from rtsent.plan.sweeps import SweepError, load_sweep, parse_sweep
from rtsent.report.selection import as_sweep, select, selected_table
from rtsent.schema.caseid import CaseId
from rtsent.schema.records import check_record, records_text

SPACE = """
[lora]
lr = {low = 1e-4, high = 1e-2, log = true}
r = [4, 8]

[svm]
C = {low = 0.01, high = 10.0, log = true}
"""


def session_of(tmp_path, **options):
    space = tmp_path / "space.toml"
    space.write_text(SPACE)
    search = {"methods": "lora,svm", "search": str(space), "study": str(tmp_path / "study.journal"), "pruner": "none"}
    return session_options(**(search | options))


@pytest.mark.parametrize(
    "text,message",
    [
        ("[lora]\nrank = [4]\n", "[lora] has unknown key 'rank'; valid keys:"),
        ("[lora]\nlr = {low = 1e-2, high = 1e-4}\n", "[lora] lr: low = 0.01 is not below high = 0.0001"),
        ("[lora]\nlr = {low = 0.0, high = 1e-2, log = true}\n", "[lora] lr: a log range needs low > 0, not 0.0"),
        ("[lora]\nlr = {low = -1e-3, high = 1e-2}\n", "[lora] lr = -0.001 is not a finite number > 0"),
        ("[lora]\nr = {low = 0, high = 8}\n", "[lora] r = 0 is not an integer >= 1"),
        ("[lora]\nr = [4, 4]\n", "[lora] r lists a value twice: [4, 4]"),
        ("[lora]\nepochs = {low = 1, high = 4}\n", "[lora] epochs: epochs is the pruner's resource, not searched"),
        ("[lora]\nlr = {low = 1e-4, hi = 1e-2}\n", "a range is {low = L, high = H}, optionally log = true or step = S"),
        ("[lora]\nlr = {low = 1e-4, high = 1e-2, log = true, step = 1e-4}\n", "step and log = true do not go"),
        ('[svm]\npooling = ["cls", "max"]\n', "space.toml': [svm] recipe pooling='max' is not one of ('cls', 'mean')"),
        ("[nope]\nlr = [1e-3]\n", "unknown method [nope]; valid methods:"),
    ],
)
def test_a_bad_space_is_refused_in_one_line_naming_the_key(tmp_path, text, message):
    path = tmp_path / "space.toml"
    path.write_text(text)
    with pytest.raises(SweepError) as caught:
        load_space(path)
    assert message in str(caught.value) and "\n" not in str(caught.value), caught.value


def test_the_packaged_tune_space_spans_the_tune_grid():
    """Each method's range in spaces/tune.toml runs from the smallest to the largest value of its `tune` grid."""
    spaces, _ = load_space("tune")
    grid = load_sweep("tune")
    missing = set(grid) ^ set(spaces)
    assert not missing, f"{sorted(missing)}: a method of sweeps/tune.toml needs a section in spaces/tune.toml"
    for method, points in grid.items():
        for key, dimension in spaces[method].dimensions:
            values = {point.lr if key == "lr" else dict(point.swept)[key] for point in points}
            if isinstance(dimension, Range):
                assert (dimension.low, dimension.high) == (min(values), max(values)), (method, key)
            else:
                assert set(dimension.values) == values, (method, key)


@pytest.mark.parametrize(
    "options,message",
    [
        ({"study": ""}, "--rtsent-search needs --rtsent-study=FILE"),
        ({"trials": "0"}, "--rtsent-trials=0 is not an integer >= 1"),
        ({"trials": "many"}, "--rtsent-trials='many' is not an integer"),
        ({"pruner": "asha"}, "--rtsent-pruner='asha' is not one of hyperband, halving, median, none"),
        ({"sweep": "tune"}, "--rtsent-search and --rtsent-sweep both given"),
        ({"search": "nowhere"}, "--rtsent-search: search space 'nowhere' does not exist; packaged spaces: tune"),
    ],
)
def test_bad_search_options_fail_at_start(tmp_path, options, message):
    with pytest.raises(ValueError) as caught:
        session_of(tmp_path, **options)
    assert str(caught.value).startswith(message), caught.value


def test_trials_run_as_cases_sample_the_space_and_resume_from_the_study(tmp_path):
    session = session_of(tmp_path, trials="3")
    grid = [case for case in session.grid() if "all-linear" not in case.case_id]
    # one search per grid row (the smoke grid's two LoRA learning rates are one row), the same budget each
    assert [case.case_id for case in grid] == [f"{m}-trial{t}-fp32-seed0" for m in ("svm", "lora") for t in range(3)]
    session.open()
    records = [session.run(case).record for case in grid]
    for record in records:
        assert record["status"] == "passed", record["message"]
        assert check_record(record) is None
        assert record["search"]["trials"] == 3 and record["floor"] is None
    lora = [r for r in records if r["method"] == "lora"]
    for record in lora:
        assert 1e-4 <= record["lr"] <= 1e-2 and float(f"{record['lr']:.2e}") == record["lr"]  # 3 digits kept
        assert record["swept"]["r"] in (4, 8) and record["method_params"]["r"] == record["swept"]["r"]
        assert record["search"]["params"]["lr"] == pytest.approx(record["lr"], rel=5e-3)
    assert len({r["lr"] for r in lora}) == 3  # three draws, not one draw three times
    assert sorted(r["search"]["number"] for r in lora) == [0, 1, 2]
    svm = [r for r in records if r["method"] == "svm"]
    assert all(0.01 <= r["method_params"]["C"] <= 10 for r in svm)

    study = optuna.load_study(study_name=lora[0]["search"]["study"], storage=storage(str(tmp_path / "study.journal")))
    told = {t.user_attrs["rtsent_case"]: t for t in study.trials}
    assert {t.state for t in told.values()} == {optuna.trial.TrialState.COMPLETE}
    for record in lora:
        assert told[record["case"]].value == objective(record) == max(p["val_accuracy"] for p in record["curve"])

    # the same command again, one trial more: the three finished trials come from the study, one is asked anew
    again = session_of(tmp_path, trials="4", methods="lora")
    again.open()
    rerun = [again.run(case).record for case in again.grid() if "all-linear" not in case.case_id]
    resumed = [r for r in rerun if r.get("resumed_from")]
    assert [r["case"] for r in resumed] == [r["case"] for r in lora]
    assert [r["val_accuracy"] for r in resumed] == [r["val_accuracy"] for r in lora]
    assert rerun[-1]["case"] == "lora-trial3-fp32-seed0" and not rerun[-1].get("resumed_from")
    assert rerun[-1]["search"]["number"] == 3
    assert (
        len(optuna.load_study(study_name=study.study_name, storage=storage(str(tmp_path / "study.journal"))).trials)
        == 4
    )

    # the selection reads trials as it reads a grid's rows, each under the row of the configuration it drew,
    # and re-runs the chosen one by its values under that row: the re-run's seeds pool with the trial's
    chosen = {s.group[2]: s.chosen for s in select(records)}
    drawn = {CaseId("lora", r["lr"], (("r", r["swept"]["r"]),), "fp32").row for r in lora}
    assert chosen["lora"].row in drawn
    table = as_sweep(select(records))
    assert set(table["lora"]) == {"lr", "r"} and parse_sweep(table)["lora"]
    path = tmp_path / "search.json"
    path.write_text(records_text(records, {}))
    selected = {"search": "", "sweep": f"selected:{path}", "seeds": "1"}
    rows = [case.row for case in session_of(tmp_path, **selected).grid() if case.method == "lora"]
    assert rows == [chosen["lora"].row]


def test_a_pruned_trial_is_a_record_with_its_curve_and_its_cost(tmp_path, monkeypatch):
    """A pruner that stops every trial at its first report: the case ends after epoch 1 of 3."""
    monkeypatch.setattr(trials, "pruner", lambda search, config: optuna.pruners.ThresholdPruner(lower=1.01))
    session = session_of(tmp_path, trials="1", methods="lora")
    session.open()
    config = next(case for case in session.grid() if "all-linear" not in case.case_id)
    config = replace(config, recipe=replace(config.recipe, epochs=3))
    record = run_trial(config, search=session.search, workbench=session.workbench).record
    assert record["status"] == "pruned" and record["message"].startswith("pruned after epoch 1:"), record["message"]
    assert [p["epoch"] for p in record["curve"]] == [1.0]  # stopped: epochs 2 and 3 never ran
    assert record["train_time_s"] > 0 and "val_accuracy" not in record
    assert check_record(record) is None
    study = optuna.load_study(study_name=study_name(config, session.search), storage=storage(session.search.storage))
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.PRUNED]
    # its seconds count in the tuning cost; it is no candidate
    passed = session.run(replace(config, trial=1)).record  # ThresholdPruner prunes it too: cost only
    assert passed["status"] == "pruned"
    assert select([record, passed]) == []  # nothing finished: nothing to choose


def test_tuning_cost_counts_pruned_trials(tmp_path):
    finished = {"case": "svm-trial0-fp32-seed0", "row": "svm-trial0-fp32", "status": "passed", "seed": 0}
    finished |= {"profile": "smoke", "model": "m", "method": "svm", "precision": "fp32", "val_accuracy": 0.7}
    finished |= {"train_time_s": 2.0, "swept": {"C": 0.1}}
    pruned = finished | {"case": "svm-trial1-fp32-seed0", "row": "svm-trial1-fp32", "status": "pruned"}
    pruned |= {"train_time_s": 5.0}
    del pruned["val_accuracy"]
    (selection,) = select([finished, pruned])
    assert selection.tuning_cost_s == 7.0 and selection.configurations == 2 and selection.chosen.row == finished["row"]
    assert selection.pruned == 1 and selected_table([selection])[0]["tried"] == "2 configs (1 pruned)"


def test_space_point_is_checked_as_a_sweep_row():
    (space,) = parse_space({"lora": {"lr": {"low": 1e-4, "high": 1e-2, "log": True}, "r": [4, 8]}}).values()
    point = space.point({"lr": 3.16e-4, "r": 8})
    assert point.lr == 3.16e-4 and point.params == (("r", 8),) and point.swept == (("r", 8),)
    assert Search(spaces={"lora": space}, name="x", digest="d", trials=2, storage="s").pruner == "hyperband"
