"""Sweep files: parsing, the one-line errors, and the case ids they give."""

import pytest

from rtsent.engine.recipe import Recipe
from rtsent.methods import METHODS
from rtsent.plan.sweeps import SweepError, hyperparameters, load_sweep, parse_sweep
from rtsent.schema.caseid import format_part


def test_cross_product_of_recipe_fields_and_method_hyperparameters():
    sweep = parse_sweep({"lora": {"lr": [1e-4, 5e-4], "r": [8, 16], "epochs": 4}, "svm": {"C": [0.1, 1.0]}})
    lora = sweep["lora"]
    assert len(lora) == 4 and len(sweep["svm"]) == 2
    assert {(p.lr, dict(p.params)["r"]) for p in lora} == {(1e-4, 8), (1e-4, 16), (5e-4, 8), (5e-4, 16)}
    assert all(
        p.recipe(Recipe()).epochs == 4 and dict(p.swept) == {"r": dict(p.params)["r"], "epochs": 4} for p in lora
    )
    assert [dict(p.params) for p in sweep["svm"]] == [{"C": 0.1}, {"C": 1.0}]
    # the estimator contract: hyperparameters are the keyword arguments of __init__
    assert set(hyperparameters("lora")) == {"r", "lora_alpha", "lora_dropout", "target_modules"}
    assert set(hyperparameters("svm")) == {"C", "standardize"}


def test_id_parts_read_like_the_values():
    assert [
        format_part(*kv) for kv in [("r", 16), ("epochs", 4), ("C", 0.1), ("pooling", "mean"), ("standardize", False)]
    ] == [
        "r16",
        "epochs4",
        "C1e-1",
        "pooling=mean",
        "standardize=false",
    ]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"qlora": {"lr": [1e-4]}}, "unknown method [qlora]; valid methods: svm, head, full, lora"),
        ({"lora": {"rank": [8]}}, "[lora] has unknown key 'rank'; valid keys: "),
        ({"svm": {"lr": [1e-3]}}, "[svm] has unknown key 'lr'"),  # svm takes no learning rate
        ({"lora": {"r": ["8"]}}, "[lora] r = '8' (str) is not a int"),
        ({"lora": {"r": [8.5]}}, "[lora] r = 8.5 (float) is not a int"),
        ({"full": {"lr": [True]}}, "[full] lr = True (bool) is not a float"),
        ({"tfidf": {"ngram_range": [[1, 2, 3]]}}, "[tfidf] ngram_range = (1, 2, 3) (tuple) is not a tuple"),
        (
            {"lora": {"target_modules": ["qv"]}},
            "[lora] target_modules = 'qv' (str) is not one of 'query_value', 'attention', 'all-linear'",
        ),
        ({"head": {"pooling": [1]}}, "[head] pooling = 1 (int) is not a str"),
        ({"full": {"epochs": [0]}}, "[full] epochs = 0 is not a finite number > 0"),
        # every numeric key in its declared range (rtsent.schema.ranges): nan and inf in none
        ({"lora": {"lr": [float("nan")]}}, "[lora] lr = nan is not a finite number > 0"),
        ({"full": {"lr": float("inf")}}, "[full] lr = inf is not a finite number > 0"),
        ({"full": {"max_grad_norm": [0]}}, "[full] max_grad_norm = 0 is not a finite number > 0"),
        ({"head": {"warmup_ratio": [1.0]}}, "[head] warmup_ratio = 1.0 is not a number in [0, 1)"),
        ({"svm": {"C": [1.0, 0.0]}}, "[svm] C = 0.0 is not a finite number > 0"),
        ({"lora": {"r": [0]}}, "[lora] r = 0 is not an integer >= 1"),
        (
            {"tfidf": {"ngram_range": [[2, 1]]}},
            "[tfidf] ngram_range = (2, 1) is not a pair (low, high) with low <= high",
        ),
        ({"head": {"pooling": ["max"]}}, "[head] recipe pooling='max' is not one of ('cls', 'mean')"),
        ({"full": {"lr": [1e-4, 1e-4]}}, "[full] lr lists a value twice"),
        ({"full": {"lr": []}}, "[full] lr lists no values"),
        ({"full": 3}, "[full] must be a table of key = [values]"),
    ],
)
def test_bad_sweeps_fail_with_one_line(table, message):
    with pytest.raises(SweepError) as caught:
        parse_sweep(table, source="sweep file 's.toml'")
    text = str(caught.value)
    assert message in text and text.startswith("sweep file 's.toml'") and "\n" not in text


def test_sweep_files_load_by_path_or_packaged_name(tmp_path):
    unswept = sorted(set(METHODS) - set(load_sweep("tune")))
    assert not unswept, f"{unswept} in no section of rtsent/plan/sweeps/tune.toml: add the values to search"
    assert set(load_sweep("tune")) <= set(METHODS)
    bad = tmp_path / "bad.toml"
    bad.write_text("[lora\n")
    with pytest.raises(SweepError, match="does not parse"):
        load_sweep(bad)
    with pytest.raises(SweepError, match="does not exist; packaged sweeps: tune"):
        load_sweep(tmp_path / "missing.toml")


def test_the_packaged_tune_sweep_gives_unique_readable_case_ids():
    from rtsent.plugin.session import parse_options

    options = {"profile": "tune", "sweep": "tune", "seeds": "0,1", "progress": "off", "floors": "none"}
    session = parse_options(lambda name: options.get(name, ""))
    ids = [case.case_id for case in session.grid()]
    # every configuration of every method, two seeds each, none named twice
    assert len(ids) == len(set(ids)) == 2 * sum(len(points) for points in load_sweep("tune").values())
    assert "lora-lr5e-4-r16-bf16-seed1" in ids and "head-lr3e-2-pooling=mean-bf16-seed0" in ids


def test_a_sweep_without_lr_runs_at_every_learning_rate_of_the_profile(tmp_path):
    from rtsent.plugin.session import parse_options

    sweep = tmp_path / "r.toml"
    sweep.write_text("[lora]\nr = [8, 16]\n")
    options = {"profile": "offline", "sweep": str(sweep), "methods": "lora", "seeds": "0", "progress": "off"}
    options["floors"] = "none"
    rows = [case.row for case in parse_options(lambda name: options.get(name, "")).grid()]
    # the study's two LoRA rows, and the row on every linear layer keeping its target set
    expected = [f"lora-lr{lr}-r{r}-bf16" for lr in ("2e-5", "2e-4") for r in (8, 16)]
    expected += [f"lora-lr2e-4-r{r}-target_modules=all-linear-bf16" for r in (8, 16)]
    assert sorted(rows) == sorted(expected)


def test_grid_rows_with_hyperparameters_take_a_sweep_on_top(tmp_path):
    from rtsent.plugin.session import parse_options

    def rows(sweep_text: str) -> list[str]:
        sweep = tmp_path / "s.toml"
        sweep.write_text(sweep_text)
        options = {"profile": "offline", "sweep": str(sweep), "methods": "lora", "seeds": "0", "progress": "off"}
        options["floors"] = "none"
        return [case.row for case in parse_options(lambda name: options.get(name, "")).grid()]

    # the offline grid's all-linear LoRA row keeps its target set beside a swept rank
    assert rows("[lora]\nr = [8, 16]\n") == [
        *(f"lora-lr{lr}-r{r}-bf16" for lr in ("2e-5", "2e-4") for r in (8, 16)),
        *(f"lora-lr2e-4-r{r}-target_modules=all-linear-bf16" for r in (8, 16)),
    ]
    # one configuration reached from two rows (the plain one and all-linear's) is one case, whatever the key order
    assert rows("[lora]\nr = 8\ntarget_modules = ['query_value', 'all-linear']\n") == [
        f"lora-lr{lr}-r8-target_modules={t}-bf16" for lr in ("2e-5", "2e-4") for t in ("query_value", "all-linear")
    ]
    # a sweep that sets the target set itself: each configuration once, not once per grid row
    assert rows("[lora]\nlr = 1e-3\ntarget_modules = ['query_value', 'all-linear']\n") == [
        "lora-lr1e-3-target_modules=query_value-bf16",
        "lora-lr1e-3-target_modules=all-linear-bf16",
    ]


@pytest.mark.parametrize(
    ("text", "message"), [("[lora]\nlr = [nan]\n", "[lora] lr = nan"), ("[svm]\nC = inf\n", "[svm] C = inf")]
)
def test_non_finite_values_in_a_sweep_file_name_the_file_and_key(tmp_path, text, message):
    # they passed the type check and failed later as "not enough values to unpack" (a case id of nan)
    from rtsent.plugin.session import parse_options

    sweep = tmp_path / "s.toml"
    sweep.write_text(text)
    options = {"profile": "smoke", "sweep": str(sweep), "seeds": "0", "progress": "off", "floors": "none"}
    with pytest.raises(ValueError) as caught:
        parse_options(lambda name: options.get(name, "")).grid()
    assert str(caught.value) == f"sweep file {str(sweep)!r}: {message} is not a finite number > 0"
