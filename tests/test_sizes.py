"""Labelled-set size as an axis (--rtsent-per-class): the draws, the minimum-steps rule, the thinned
learning curve, the cases and records it makes, and the report by size."""

import math
from dataclasses import replace

import numpy as np
import pytest
from benchrun import run_bench, session_options

from rtsent.case.curves import LearningCurve
from rtsent.data.draws import Draw, DrawError, apply_draw, draw_indices
from rtsent.data.sources import load_data
from rtsent.engine.recipe import Recipe
from rtsent.plan.cases import TrainSizes, build_grid
from rtsent.plan.profiles import get_profile
from rtsent.report.cli import main as report_main
from rtsent.report.sizes import method_row, size_table
from rtsent.schema.records import encode_labels, pooling_error, resume_mismatch

LABELS = np.array([0] * 30 + [1] * 50 + [2] * 20)  # three classes of unequal size


def test_a_draw_holds_per_class_rows_of_every_class_and_differs_by_seed():
    rows = draw_indices(LABELS, 8, seed=0)
    assert np.bincount(LABELS[rows]).tolist() == [8, 8, 8]
    assert np.all(np.diff(rows) > 0)  # the split's order kept
    assert np.array_equal(rows, draw_indices(LABELS, 8, seed=0))  # same seed, same draw
    assert not np.array_equal(rows, draw_indices(LABELS, 8, seed=1))  # each seed its own examples
    # nested over sizes for one seed: a larger labelled set adds to the smaller one
    assert set(rows) <= set(draw_indices(LABELS, 16, seed=0))
    # the validation stream is independent of the training one
    assert not np.array_equal(rows, draw_indices(LABELS, 8, seed=0, stream=1))


def test_a_draw_larger_than_a_class_is_refused_naming_the_counts(polarity_folder):
    splits = load_data(str(polarity_folder)).splits
    with pytest.raises(DrawError) as caught:
        apply_draw(splits, Draw(per_class=5000, seed=0), ("neg", "pos"))
    message = str(caught.value)
    assert "5000 examples per class" in message and "neg: 4265" in message and "1..4265" in message, message
    drawn = apply_draw(splits, Draw(per_class=4, seed=3, validation="drawn"), ("neg", "pos"))
    assert len(drawn["train"]) == 8 and len(drawn["validation"]) == 8
    assert len(drawn["test"]) == len(splits["test"])  # the judge is never cut
    assert len(splits["train"]) == 8530  # the loaded splits are left as they were


def test_min_steps_stretches_a_small_training_set_and_nothing_else():
    recipe = Recipe(epochs=2, batch_size=32)
    assert recipe.steps(16) == (1, 2)
    assert replace(recipe, min_steps=100).steps(16) == (1, 100)
    assert replace(recipe, min_steps=100).steps(8530) == (267, 534)  # a full split already takes more
    assert replace(recipe, epochs=0.5).steps(100) == (4, 2)
    assert "min_steps" not in recipe.as_dict()  # records written before the field still resume
    assert replace(recipe, min_steps=100).as_dict()["min_steps"] == 100


def test_a_stretched_curve_evaluates_as_often_as_the_planned_epochs():
    calls = []

    def predict(split):
        calls.append(split)
        return np.zeros(4, dtype=np.int64)

    labels = {"validation": np.zeros(4, dtype=np.int64), "test": np.zeros(4, dtype=np.int64)}
    curve = LearningCurve(predict, labels, num_labels=2, device=__import__("torch").device("cpu"), max_points=2)
    model = __import__("torch").nn.Linear(1, 1)
    curve.on_train_begin(total_steps=100, steps_per_epoch=1)  # 16 rows, batch 32, min_steps 100
    for epoch in range(100):
        curve.on_step_end(epoch, 0.5, None)
        curve.on_epoch_end(epoch, epoch + 1, model)
    assert [p["epoch"] for p in curve.points] == [50, 100]
    unthinned = LearningCurve(predict, labels, num_labels=2, device=__import__("torch").device("cpu"), max_points=2)
    unthinned.on_train_begin(total_steps=10, steps_per_epoch=5)
    for epoch in range(2):
        unthinned.on_epoch_end(epoch, 5 * (epoch + 1), model)
    assert [p["epoch"] for p in unthinned.points] == [1, 2]


def test_sized_cases_name_their_size_and_carry_the_rule_and_no_floor():
    profile = get_profile("smoke")
    common = dict(profile=profile, precisions=[], seeds=[0, 1], model=profile.model, data="rt-polarity")
    common |= dict(max_train=None, device=__import__("torch").device("cpu"), sweep={})
    floors = {"lora": 0.5}
    sizes = TrainSizes(per_class=(8, None), min_steps=50)
    cases = build_grid(methods=["lora", "svm"], floors=floors, sizes=sizes, **common)
    ids = [c.case_id for c in cases]
    assert "lora-lr2e-4-per_class8-fp32-seed1" in ids and "lora-lr2e-4-fp32-seed1" in ids
    assert "svm-per_class8-fp32-seed0" in ids
    sized = next(c for c in cases if c.case_id == "lora-lr2e-4-per_class8-fp32-seed1")
    assert sized.floor is None and sized.recipe.min_steps == 50 and sized.draw == Draw(per_class=8, seed=1)
    whole = next(c for c in cases if c.case_id == "lora-lr2e-4-fp32-seed1")
    assert whole.floor == 0.5 and whole.recipe.min_steps == 0 and whole.draw is None
    drawn = build_grid(methods=["svm"], floors={}, sizes=TrainSizes(per_class=(8,), validation="drawn"), **common)
    assert [c.case_id for c in drawn] == [
        "svm-per_class8-validation=drawn-fp32-seed0",
        "svm-per_class8-validation=drawn-fp32-seed1",
    ]
    assert method_row("lora-lr2e-4-per_class8-validation=drawn-fp32") == "lora-lr2e-4-fp32"


@pytest.mark.parametrize(
    "options,message",
    [
        ({"per-class": "0,8"}, "--rtsent-per-class='0,8': each size is an integer >= 1 or all"),
        ({"per-class": "eight"}, "--rtsent-per-class='eight' does not parse; expected sizes like 8,32,128,all"),
        ({"per-class": "8,all,8"}, "--rtsent-per-class='8,all,8' lists size 8 twice"),
        ({"per-class": "8", "min-steps": "-1"}, "--rtsent-min-steps=-1 must be 0 or more"),
        ({"per-class": "8", "validation": "tiny"}, "--rtsent-validation='tiny' is not one of full, drawn"),
        ({"validation": "drawn"}, "--rtsent-validation='drawn' needs --rtsent-per-class"),
        ({"min-steps": "50"}, "--rtsent-min-steps='50' needs --rtsent-per-class"),
    ],
)
def test_bad_size_options_are_refused_in_one_line(options, message):
    with pytest.raises(ValueError) as caught:
        session_options(**options)
    assert message in str(caught.value) and "\n" not in str(caught.value), caught.value


def test_a_size_too_large_for_the_data_stops_the_run_before_any_training(tmp_path, polarity_folder):
    proc, _, _ = run_bench(
        tmp_path, "--rtsent-profile=smoke", f"--rtsent-data={polarity_folder}", "--rtsent-per-class=150"
    )
    assert proc.returncode != 0
    # the smoke profile's 200-sentence subset holds 100 of each class
    assert "--rtsent-per-class: 150 examples per class is more than the train split holds" in proc.stderr, proc.stderr
    assert "rtsent: " not in proc.stdout.replace("rtsent: --", "")  # no case started


def test_a_size_sweep_records_each_draw_and_reports_accuracy_by_size(tmp_path, polarity_folder):
    proc, results, _ = run_bench(
        tmp_path,
        "--rtsent-profile=smoke",
        f"--rtsent-data={polarity_folder}",
        "--rtsent-methods=svm,lora,tfidf,setfit",
        "--rtsent-seeds=0,1",
        "--rtsent-per-class=4,all",
        "--rtsent-min-steps=6",
        "-k",
        "not all-linear and not lora-lr2e-5",
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    records = {b["extra_info"]["case"]: b["extra_info"] for b in results["benchmarks"]}
    assert len(records) == 4 * 2 * 2
    assert all(r["status"] == "passed" for r in records.values()), [r["message"] for r in records.values()]
    sized = [records[f"lora-lr2e-4-per_class4-fp32-seed{s}"] for s in (0, 1)]
    for record in sized:
        assert record["status"] == "passed", record["message"]
        assert record["per_class"] == 4 and record["train_rows"] == 8 and record["validation_split"] == "full"
        assert record["recipe"]["min_steps"] == 6 and record["train_info"]["steps"] == 6  # 8 rows: 1 step an epoch
        assert len(record["curve"]) == math.ceil(record["recipe"]["epochs"])  # thinned to the planned epochs
        assert record["floor"] is None
    # each seed drew its own examples; validation and test are the same for both
    assert sized[0]["split_hashes"]["train"] != sized[1]["split_hashes"]["train"]
    assert sized[0]["split_hashes"]["test"] == sized[1]["split_hashes"]["test"]
    whole = records["lora-lr2e-4-fp32-seed0"]
    assert whole["per_class"] is None and whole["train_rows"] == 200 and "min_steps" not in whole["recipe"]
    assert pooling_error([{**r, "file": "out.json"} for r in records.values()]) is None  # draws pool as seeds

    report = tmp_path / "sizes.md"
    plot = tmp_path / "sizes.png"
    code = report_main([str(tmp_path / "out.json"), "--by", "train_size", "-o", str(report), "--plot", str(plot)])
    assert code == 0
    text = report.read_text()
    assert "4/class (8)" in text and "all (200)" in text and "lora-lr2e-4-fp32" in text
    assert plot.read_bytes()[:4] == b"\x89PNG"
    # a configuration is chosen per size: re-running "the" selection at every size is refused
    with pytest.raises(ValueError, match="labelled-set-size cases"):
        session_options(sweep=f"selected:{tmp_path / 'out.json'}")


def fake(method, per_class, seed, correct):
    """A record of `method` at `per_class` (seed = draw) whose test predictions are right on `correct` of 100."""
    labels = np.zeros(100, dtype=np.int64)
    predictions = labels.copy()
    predictions[correct:] = 1
    row = f"{method}{'' if per_class is None else f'-per_class{per_class}'}-fp32"
    return {
        "case": f"{row}-seed{seed}",
        "row": row,
        "model": "m",
        "seed": seed,
        "status": "passed",
        "per_class": per_class,
        "validation_split": "full" if per_class else None,  # as the runner records it: null when unsized
        "train_rows": 2 * per_class if per_class else 1000,
        "test_accuracy": correct / 100,
        "test_predictions": encode_labels(predictions),
        "test_labels": encode_labels(labels),
        "train_time_s": 1.0,
    }


def test_at_each_size_the_best_method_and_those_within_one_standard_error():
    records = [
        *[fake("svm", 8, s, c) for s, c in enumerate([70, 72, 74])],  # mean 0.72, SE 0.0115
        *[fake("full", 8, s, c) for s, c in enumerate([60, 62, 64])],  # 0.62: far below
        *[fake("lora", 8, s, c) for s, c in enumerate([70, 71, 72])],  # 0.71: within one SE of svm
        *[fake("full", None, s, c) for s, c in enumerate([90, 91, 92])],
        *[fake("svm", None, s, c) for s, c in enumerate([80, 81, 82])],
    ]
    table = size_table(records)
    assert [(r["per_class"], r["method"]) for r in table] == [
        (8, "svm-fp32"),
        (8, "lora-fp32"),
        (8, "full-fp32"),
        (None, "full-fp32"),
        (None, "svm-fp32"),
    ]
    verdicts = [r["vs best"] for r in table]
    assert verdicts == ["best", "within 1 SE", "", "best", ""]
    assert table[0]["draws"] == 3 and math.isclose(table[0]["test acc"], 0.72)
    low, high = table[0]["95% interval"]
    assert low < 0.72 < high
    assert table[0]["p vs best"] is None and table[2]["p vs best"] < 0.05  # 30 examples only svm gets right


def test_records_written_before_the_size_axis_still_resume():
    """An older record lacks per_class and validation_split; an unsized case records both as null."""
    older = {"status": "passed", "case_time_s": 3.0, "val_accuracy": 0.8, "recipe": Recipe().as_dict(), "seed": 0}
    now = {"recipe": Recipe().as_dict(), "seed": 0, "per_class": None, "validation_split": None}
    assert resume_mismatch(older, now) is None
    sized = {**now, "per_class": 8, "validation_split": "full", "recipe": replace(Recipe(), min_steps=100).as_dict()}
    assert "per_class differs" in resume_mismatch(older, sized)
