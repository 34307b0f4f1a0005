"""`--rtsent-stop=selected`: a configuration selected at an epoch of its learning curve, re-run from
`--rtsent-sweep=selected:FILE`, stops at that epoch on the whole schedule's learning rates, so it trains
the very model the selection saw there and pools with the run it was chosen from (smoke profile: a 2-layer
random BERT)."""

import copy

import pytest
from benchrun import session_options

from rtsent.engine.recipe import Recipe
from rtsent.report.selection import select
from rtsent.report.summary import case_frame
from rtsent.schema.records import check_record, pooling_error, records_text

SWEEP = "[full]\nlr = [1e-3]\nepochs = [3]\n"


def test_a_rerun_stops_at_the_selected_epoch_and_reproduces_it(tmp_path):
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(SWEEP)
    session = session_options(methods="full", sweep=str(sweep))
    (config,) = session.grid()
    session.open()
    whole = session.run(config).record
    assert whole["status"] == "passed", whole["message"]
    assert [p["epoch"] for p in whole["curve"]] == [1.0, 2.0, 3.0] and "stop_epochs" not in whole["recipe"]

    # the search's record, as if validation had peaked at epoch 2: the selection chooses that epoch
    searched = copy.deepcopy(whole)
    for point, accuracy in zip(searched["curve"], (0.5, 0.9, 0.6), strict=True):
        point["val_accuracy"] = accuracy
    path = tmp_path / "search.json"
    path.write_text(records_text([searched], {}))
    (selection,) = select([searched])
    assert selection.chosen.epoch == 2.0

    rerun = session_options(methods="full", sweep=f"selected:{path}", stop="selected", seeds="0,1")
    cases = rerun.grid()
    assert [c.row for c in cases] == [config.row] * 2  # the configuration's row: the seeds pool
    assert {c.recipe.stop_epochs for c in cases} == {2.0} and {c.recipe.epochs for c in cases} == {3}
    rerun.open()
    same_seed, seed1 = (rerun.run(c).record for c in cases)
    for record in (same_seed, seed1):
        assert record["status"] == "passed", record["message"]
        assert check_record(record) is None
        assert record["recipe"]["stop_epochs"] == 2.0 and record["recipe"]["epochs"] == 3
        assert [p["epoch"] for p in record["curve"]] == [1.0, 2.0]  # epoch 3 never ran
        assert record["train_info"]["steps"] == record["curve"][-1]["step"]
    # on the same seed, the same two epochs as the whole schedule's first two: the rates did not change
    compared = ("step", "train_loss", "val_accuracy", "test_accuracy", "val_predictions", "test_predictions")
    for stopped, full_run in zip(same_seed["curve"], whole["curve"], strict=False):
        assert {k: stopped[k] for k in compared} == {k: full_run[k] for k in compared}
    assert same_seed["val_predictions"] == whole["curve"][1]["val_predictions"]
    assert same_seed["test_accuracy"] == whole["curve"][1]["test_accuracy"]

    # the stopped re-run on seed 1 pools with the searched run on seed 0, and the selection keeps its choice
    searched["file"], seed1["file"] = "search.json", "selected.json"
    assert pooling_error([searched, seed1]) is None
    (again,) = select([searched, seed1])
    assert (again.chosen.row, again.chosen.epoch) == (selection.chosen.row, 2.0)
    assert sorted(again.chosen.points) == [0, 1]
    # the plain table's rows hold final metrics: a stopped run's are another model's, in a row of its own
    assert list(case_frame([searched, seed1])["row"]) == [config.row, f"{config.row} (stopped at epoch 2)"]


@pytest.mark.parametrize(
    "options,message",
    [
        ({"stop": "best"}, "--rtsent-stop='best' is not one of schedule, selected"),
        ({"stop": "selected"}, "--rtsent-stop=selected needs --rtsent-sweep=selected:RESULTS.json"),
        ({"stop": "selected", "sweep": "tune"}, "--rtsent-stop=selected needs --rtsent-sweep=selected:RESULTS.json"),
        ({"stop": "selected", "per-class": "8"}, "--rtsent-stop=selected does not go with --rtsent-per-class"),
    ],
)
def test_a_stop_without_a_selection_is_refused_at_start(options, message):
    with pytest.raises(ValueError) as caught:
        session_options(**options)
    assert str(caught.value).startswith(message), caught.value


def test_where_a_run_stops_is_not_a_hyperparameter(tmp_path):
    sweep = tmp_path / "sweep.toml"
    sweep.write_text("[full]\nstop_epochs = [1.0]\n")
    with pytest.raises(ValueError, match="unknown key 'stop_epochs'"):
        session_options(methods="full", sweep=str(sweep))
    with pytest.raises(ValueError, match="stop_epochs=3 is past the schedule's epochs=2"):
        Recipe(epochs=2, stop_epochs=3)
    with pytest.raises(ValueError, match="stop_epochs=1 does not go with min_steps=100"):
        Recipe(epochs=2, stop_epochs=1, min_steps=100)
    # a fractional schedule's last curve point: 8 steps of 3 an epoch end at epoch 2.67 of 2.5
    assert Recipe(epochs=2.5, batch_size=10, stop_epochs=8 / 3).stop_step(25) == 8
    assert Recipe(epochs=4, batch_size=10, stop_epochs=2).stop_step(95) == 20  # 10 steps an epoch
    assert Recipe(epochs=4, batch_size=10).stop_step(95) == 40
