"""The estimator contract over the whole registry (rtsent.methods.METHODS, not a hand list), on the
smoke profile; parameter counts pinned on the DistilBERT architecture; the classic baselines' maths."""

import inspect
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from sklearn.svm import LinearSVC

from rtsent.engine.backbones import count_parameters, load_backbone
from rtsent.engine.callbacks import Callback
from rtsent.engine.devices import pick_device, resolve_precision
from rtsent.engine.recipe import Recipe
from rtsent.engine.workbench import Workbench
from rtsent.methods import CASE_ARGUMENTS, METHODS, TAKES_LR, MethodTags, method_params, parameter_ranges
from rtsent.methods.nbsvm import NBSVM
from rtsent.methods.setfit import SetFit
from rtsent.methods.tfidf import TfidfLogistic
from rtsent.plan.profiles import PROFILES, QUICK_OTHERS, get_profile
from rtsent.plan.sweeps import hyperparameters

SMOKE = get_profile("smoke")


@pytest.fixture(scope="module")
def smoke_task(polarity_folder):
    workbench = Workbench(device=pick_device())
    return workbench.task(model=SMOKE.model, data=str(polarity_folder), max_train=SMOKE.max_train, max_length=32)


def smoke_arguments(name: str) -> dict:
    """The case arguments the smoke profile's first grid row of `name` gives."""
    entry = next(e for e in SMOKE.grid if e.method == name)
    precision, _ = resolve_precision(entry.precision, pick_device())
    return {"recipe": SMOKE.recipe(name), "precision": precision, "seed": 0, "lr": entry.lr}


class Snapshot(Callback):
    """Copies every parameter of the estimator's torch module when training begins."""

    def __init__(self, estimator) -> None:
        self.estimator, self.before = estimator, None

    def module(self):
        return getattr(self.estimator, "model_", None) or getattr(self.estimator, "head_", None)

    def on_train_begin(self, *, total_steps: int, steps_per_epoch: int) -> None:
        self.before = {n: (p.detach().clone(), p.requires_grad) for n, p in self.module().named_parameters()}


def test_every_method_takes_the_same_case_arguments():
    for name, cls in METHODS.items():
        parameters = inspect.signature(cls.__init__).parameters
        assert set(CASE_ARGUMENTS) <= set(parameters), name
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for n, p in parameters.items() if n != "self"), name


@pytest.mark.parametrize("name", list(METHODS))
def test_tags_say_what_the_class_is(name):
    # one declaration of what a method is (MethodTags); what the class itself shows must agree with it
    cls = METHODS[name]
    assert isinstance(cls.tags, MethodTags), f"{name}: declare `tags = MethodTags(...)` on the class"
    lr = inspect.signature(cls.__init__).parameters["lr"]
    assert cls.tags.takes_lr == (lr.default is inspect.Parameter.empty), f"{name}: tags.takes_lr vs lr's default"
    assert (name in TAKES_LR) == cls.tags.takes_lr
    shape = cls.tags.serving_shape
    assert shape is None or set(shape) <= set(hyperparameters(name)), f"{name}: serving_shape names no argument"
    if cls.tags.mergeable:
        assert cls.tags.trains_backbone, f"{name}: only an adapter trained through the backbone merges into it"


def test_tags_refuse_what_cannot_be():
    with pytest.raises(ValueError, match="need uses_backbone"):
        MethodTags(uses_backbone=False, frozen_features=True)
    with pytest.raises(ValueError, match="takes a learning rate"):
        MethodTags(trains_backbone=True)
    with pytest.raises(ValueError, match="exclude each other"):
        MethodTags(frozen_features=True, trains_backbone=True, takes_lr=True)


def _numeric(hint) -> bool:
    """Whether a type hint admits numbers: int or float (not bool), alone, in a union or in a tuple."""
    import typing

    if hint in (int, float):
        return True
    return typing.get_origin(hint) is not typing.Literal and any(_numeric(arg) for arg in typing.get_args(hint))


@pytest.mark.parametrize("name", list(METHODS))
def test_every_numeric_hyperparameter_declares_its_range(name):
    # over the registry: a method added without ranges for its numbers fails here by name
    from rtsent.plan.sweeps import hyperparameters

    ranges = parameter_ranges(name)
    numeric = [key for key, hint in hyperparameters(name).items() if _numeric(hint)]
    assert [key for key in numeric if key not in ranges] == [], f"{name} declares no range for these"
    assert set(ranges) <= {*hyperparameters(name), "lr"}, f"{name} declares a range for no argument"
    defaults = {k: p.default for k, p in inspect.signature(METHODS[name].__init__).parameters.items() if k in ranges}
    assert all(value in ranges[key] for key, value in defaults.items() if key != "lr"), defaults
    assert ("lr" in ranges) == (name in TAKES_LR)


def test_every_numeric_recipe_field_declares_its_range():
    import dataclasses
    import typing

    hints = typing.get_type_hints(Recipe)
    numeric = [f.name for f in dataclasses.fields(Recipe) if _numeric(hints[f.name])]
    assert [key for key in numeric if key not in Recipe.ranges] == []
    assert all(getattr(Recipe(), key) in Recipe.ranges[key] for key in numeric)  # the defaults are valid
    for key, value in (("max_grad_norm", 0), ("max_grad_norm", -1.0), ("weight_decay", float("nan"))):
        with pytest.raises(ValueError, match=f"recipe {key}={value!r} is not a finite number"):
            Recipe(**{key: value})


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("svm", {"C": 0.0}, "C=0.0 for method 'svm' is not a finite number > 0"),
        ("lora", {"r": 0}, "r=0 for method 'lora' is not an integer >= 1"),
        ("dora", {"lora_dropout": 1.0}, r"lora_dropout=1.0 for method 'dora' is not a number in \[0, 1\)"),
        ("nbsvm", {"beta": 1.5}, r"beta=1.5 for method 'nbsvm' is not a number in \[0, 1\]"),
        ("tfidf", {"ngram_range": (2, 1)}, r"ngram_range=\(2, 1\) for method 'tfidf' is not a pair \(low, high\)"),
        ("prompt", {"num_virtual_tokens": 0}, "num_virtual_tokens=0 for method 'prompt' is not an integer >= 1"),
    ],
)
def test_a_grid_row_out_of_range_fails_before_any_work(name, params, message):
    # a profile's grid row becomes a CaseConfig when pytest starts (Session.grid): refused there, not mid-training
    from rtsent.plan.cases import CaseConfig

    entry = next(e for e in SMOKE.grid if e.method == name)
    with pytest.raises(ValueError, match=message):
        CaseConfig(
            profile="smoke",
            method=name,
            lr=entry.lr,
            precision="fp32",
            seed=0,
            model=SMOKE.model,
            data=SMOKE.data,
            max_train=SMOKE.max_train,
            recipe=SMOKE.recipe(name),
            params=tuple(params.items()),
        )


def test_every_profile_runs_every_registered_method():
    # A method added to the registry but to no grid would never be measured; `quick` (the CI gate) keeps
    # the study's methods and QUICK_OTHERS, the rest keep every one.
    study = {"svm", "head", "full", "lora"}
    for name, profile in PROFILES.items():
        expected = study | set(QUICK_OTHERS) if name == "quick" else set(METHODS)
        missing = sorted(expected - {entry.method for entry in profile.grid})
        assert not missing, f"profile {name!r} runs no {missing}: add a GridEntry in rtsent/plan/profiles.py"
        assert {entry.method for entry in profile.grid} <= expected, name
        unset = sorted(expected - set(profile.recipes))  # no method silently on Recipe()'s defaults
        assert not unset, f"profile {name!r} has no recipe for {unset}: add one to _TUNED in rtsent/plan/profiles.py"
    seed = [(e.method, e.lr, e.precision) for e in PROFILES["seed"].grid[:5]]  # the study's own grid, first
    assert seed == [
        ("svm", None, "fp32"),
        ("head", 2e-5, "fp32"),
        ("full", 2e-5, "fp32"),
        ("lora", 2e-5, "mixed"),
        ("lora", 2e-4, "mixed"),
    ]


@pytest.mark.parametrize("name", list(METHODS))
def test_estimator_contract(name, smoke_task):
    arguments = smoke_arguments(name)
    estimator = METHODS[name](**arguments)
    # __init__ stores its arguments as given and learns nothing (scikit-learn's check_no_attributes_set_in_init)
    assert all(getattr(estimator, key) is value for key, value in arguments.items())
    assert not [a for a in vars(estimator) if a.endswith("_")]
    defaults = method_params(estimator)
    snapshot = Snapshot(estimator)

    assert estimator.fit(smoke_task, callbacks=[snapshot]) is estimator
    assert method_params(estimator) == defaults  # fit leaves the hyperparameters alone
    assert {"parameter_counts_", "params_in_memory_", "train_info_"} <= set(vars(estimator))
    for split in ("validation", "test"):
        predictions = np.asarray(estimator.predict(smoke_task, split))
        assert predictions.shape == (len(smoke_task.labels(split)),)
        assert set(np.unique(predictions)) <= {0, 1}
    trainable, total = estimator.parameter_counts_
    assert 0 < trainable <= total <= estimator.params_in_memory_

    if name not in TAKES_LR:
        assert snapshot.before is None  # no gradient steps: the training hooks stay silent
        return
    module = snapshot.module()
    after = dict(module.named_parameters())
    frozen = [n for n, (_, grad) in snapshot.before.items() if not grad]
    trained = [n for n, (_, grad) in snapshot.before.items() if grad]
    assert all(torch.equal(snapshot.before[n][0], after[n].detach()) for n in frozen), "a frozen parameter moved"
    assert any(not torch.equal(snapshot.before[n][0], after[n].detach()) for n in trained), "nothing trained"
    # every parameter trains only where the counts say so (full, setfit); elsewhere the backbone (BERT's
    # pooler under the head method) stays as it was
    assert bool(frozen) == (trainable < total), (frozen[:3], trainable, total)


# DistilBERT without weights (hidden 768, feed-forward 3,072, 6 layers); its head (pre_classifier
# 768·768 + 768, classifier 768·2 + 2) is 592,130 parameters and the model 66,955,010.
HEAD, MODEL = 592_130, 66_955_010


@pytest.mark.parametrize(
    "name,params,trainable",
    [
        # the study's figure: 6 layers · 2 projections (q_lin, v_lin) · r·(768 + 768), r = 8: 147,456 + head
        ("lora", {}, 739_586),
        # + k_lin, out_lin: 6 · 4 · 8·(768 + 768) = 294,912 + head
        ("lora", {"target_modules": "attention"}, 887_042),
        # + lin1 8·(768 + 3,072) and lin2 8·(3,072 + 768) per layer: 6 · (49,152 + 61,440) = 663,552 + head
        ("lora", {"target_modules": "all-linear"}, 1_255_682),
        # LoRA's + one magnitude per output feature of q_lin and v_lin: 6 · 2 · 768 = 9,216
        ("dora", {}, 748_802),
        # k_lin (768) and v_lin (768) outputs and lin2's input (3,072): 6 · 4,608 = 27,648 + head
        ("ia3", {}, 619_778),
        # 20 virtual tokens · 768 = 15,360 + head
        ("prompt", {}, 607_490),
        # biases: embeddings' LayerNorm 768 + 6 · (4·768 attention + 768 LN + 3,072 + 768 feed-forward
        # + 768 LN) = 51,456 + head; nothing added, so total = the model
        ("bitfit", {}, 643_586),
    ],
)
def test_parameter_counts_on_distilbert(name, params, trainable):
    backbone = load_backbone("random:distilbert-base-uncased")
    estimator = METHODS[name](recipe=Recipe(), precision="fp32", seed=0, lr=1e-3, **params)
    added = 0 if name == "bitfit" else trainable - HEAD  # adapters add to the model; BitFit trains its own biases
    assert count_parameters(estimator.build_model(backbone)) == (trainable, MODEL + added)


def text_task(texts: dict[str, list[str]], labels: dict[str, list[int]]) -> SimpleNamespace:
    """What the bag-of-words methods read of a task: sentences and labels per split."""
    train = np.asarray(labels["train"])
    return SimpleNamespace(
        texts=lambda split: texts[split], labels=lambda split: np.asarray(labels[split]), num_labels=train.max() + 1
    )


def test_nbsvm_follows_wang_and_manning():
    train = ["good fun", "good film", "bad film", "dull bad", "fun fun film"]
    task = text_task({"train": train, "test": ["good", "bad", "dull film"]}, {"train": [1, 1, 0, 0, 1]})
    model = NBSVM(recipe=Recipe(), precision="fp32", seed=0).fit(task)
    vocabulary = model.vectorizer_.vocabulary_
    # r for "good": p = 1 + 2 (two positive sentences), q = 1 + 0; ‖p‖₁, ‖q‖₁ summed over the vocabulary
    counts = model.vectorizer_.transform(train).toarray()
    labels = np.array([1, 1, 0, 0, 1])
    p, q = 1 + counts[labels == 1].sum(0), 1 + counts[labels == 0].sum(0)
    good = vocabulary["good"]
    assert p[good] == 3 and q[good] == 1
    assert model.r_.shape == (1, len(vocabulary))  # one scorer, class 1's, for a binary task
    (r,) = model.r_
    assert np.isclose(r[good], np.log((3 / p.sum()) / (1 / q.sum())))
    assert r[good] > 0 > r[vocabulary["bad"]]
    assert list(model.predict(task, "test")[:2]) == [1, 0]
    # β = 1 is the SVM's own weights on the scaled features: the same as LinearSVC on r ∘ f̂
    plain = NBSVM(recipe=Recipe(), precision="fp32", seed=0, beta=1.0).fit(task)
    svm = LinearSVC(C=1.0, random_state=0, max_iter=10_000).fit(counts * plain.r_[0], labels)
    assert np.allclose(plain.coef_[0], svm.coef_.ravel())
    # β < 1 pulls every weight towards the mean magnitude w̄ = ‖w‖₁ / |V|
    mean = np.abs(plain.coef_).mean()
    assert np.allclose(model.coef_, 0.75 * mean + 0.25 * plain.coef_)
    assert model.parameter_counts_ == (len(vocabulary) + 1, 2 * len(vocabulary) + 1)
    # scale_intercept: b' = β·b, the weights unchanged
    scaled = NBSVM(recipe=Recipe(), precision="fp32", seed=0, scale_intercept=True).fit(task)
    assert np.allclose(scaled.coef_, model.coef_) and model.intercept_[0] != 0
    assert np.isclose(scaled.intercept_[0], 0.25 * model.intercept_[0])


def test_nbsvm_scores_each_of_k_classes_against_the_rest():
    """K > 2: one NB-SVM per class, its r from that class against all others; the highest score wins."""
    train = ["good fun", "good film", "bad film", "dull bad", "ok plot", "plain ok"]
    task = text_task({"train": train, "test": ["good fun", "dull bad", "ok ok"]}, {"train": [2, 2, 0, 0, 1, 1]})
    model = NBSVM(recipe=Recipe(), precision="fp32", seed=0).fit(task)
    vocabulary = model.vectorizer_.vocabulary_
    counts = model.vectorizer_.transform(train).toarray()
    labels = np.array([2, 2, 0, 0, 1, 1])
    assert model.r_.shape == model.coef_.shape == (3, len(vocabulary)) and model.intercept_.shape == (3,)
    for label in range(3):  # class c's ratios: c's counts against the other classes'
        p, q = 1 + counts[labels == label].sum(0), 1 + counts[labels != label].sum(0)
        assert np.allclose(model.r_[label], np.log((p / p.sum()) / (q / q.sum())))
    assert list(model.predict(task, "test")) == [2, 0, 1]
    assert model.parameter_counts_ == (3 * (len(vocabulary) + 1), 3 * (2 * len(vocabulary) + 1))


def test_tfidf_counts_its_vocabulary():
    task = text_task({"train": ["good fun", "bad film", "good film", "bad"]}, {"train": [1, 0, 1, 0]})
    model = TfidfLogistic(recipe=Recipe(), precision="fp32", seed=0).fit(task)
    words = len(model.pipeline_[0].vocabulary_)  # good, fun, bad, film + 3 bigrams
    assert words == 7 and model.train_info_["vocabulary"] == 7
    assert model.parameter_counts_ == (words + 1, 2 * words + 1)
    assert list(model.predict(SimpleNamespace(texts=lambda _: ["good", "bad"]), "x")) == [1, 0]


def test_every_row_of_the_ci_gate_has_a_floor():
    # a method added to the quick grid is gated: measure its floor (docs/extending.md, "Add a method")
    from rtsent.plan.floors import default_floors_path, floor_for, load_floors
    from rtsent.schema.caseid import CaseId

    floors = load_floors(default_floors_path("quick"))
    settings = set()
    for entry in PROFILES["quick"].grid:
        lr = entry.lr if entry.method in TAKES_LR else None
        row = CaseId(entry.method, lr, entry.params, "bf16", 0).row
        assert floor_for(floors, row) is not None, (
            f"quick row {row} has no floor in rtsent/plan/floors/quick.toml: measure 3 seeds and run "
            "`python -m rtsent.plan.floors RESULTS.json`"
        )
        settings |= {CaseId.parse_row(row).setting, entry.method}
    # and no floor is left for a row the gate no longer runs (it would read as gated)
    assert set(floors) <= settings, sorted(set(floors) - settings)


def test_setfit_trains_on_the_papers_pairs_and_caps_its_steps(smoke_task):
    """num_iterations pairs of each kind per example, batch_size pairs a step; max_steps a cap, not a length
    (setfit's own max_steps repeats the pairs to reach it)."""
    arguments = smoke_arguments("setfit")
    rows, batch = len(smoke_task.labels("train")), arguments["recipe"].batch_size
    uncapped = SetFit(**arguments, num_iterations=2).fit(smoke_task)
    assert uncapped.train_info_["steps"] == math.ceil(2 * 2 * rows / batch)
    capped = SetFit(**arguments, num_iterations=2, max_steps=3).fit(smoke_task)
    assert capped.train_info_["steps"] == 3 and capped.train_info_["pairs"] == 3 * batch
    trainable, total = capped.parameter_counts_
    assert trainable == total  # every weight of the body trains, and the head
