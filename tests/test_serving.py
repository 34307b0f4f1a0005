"""The cost after training (rtsent.case.serving) on the smoke profile: every method's record carries
latency, throughput and stored bytes; merged adapters predict as unmerged ones; saved artifacts load
back with the standard calls and predict the same."""

import json

import numpy as np
import pytest
import torch

from rtsent.case.runner import run_case
from rtsent.case.serving import LATENCY_SAMPLE, MERGE_TOLERANCE, latency_rows, merge_check, merged_copy
from rtsent.engine.backbones import count_parameters
from rtsent.engine.devices import pick_device, resolve_precision
from rtsent.engine.workbench import Workbench
from rtsent.methods import METHODS
from rtsent.plan.cases import CaseConfig
from rtsent.plan.profiles import get_profile

SMOKE = get_profile("smoke")


@pytest.fixture(scope="module")
def workbench():
    return Workbench(device=pick_device())


@pytest.fixture(scope="module")
def task(workbench, polarity_folder):
    return workbench.task(model=SMOKE.model, data=str(polarity_folder), max_train=SMOKE.max_train, max_length=32)


def config(polarity_folder, name: str, **changes) -> CaseConfig:
    entry = next(e for e in SMOKE.grid if e.method == name)
    fields = dict(
        profile="smoke",
        method=name,
        lr=entry.lr,
        precision=resolve_precision(entry.precision, pick_device())[0],
        seed=0,
        model=SMOKE.model,
        data=str(polarity_folder),
        max_train=SMOKE.max_train,
        recipe=SMOKE.recipe(name),
    )
    return CaseConfig(**{**fields, **changes})


@pytest.mark.parametrize("name", list(METHODS))
def test_every_method_records_its_serving_cost(polarity_folder, workbench, name, tmp_path):
    result = run_case(config(polarity_folder, name), workbench=workbench, save_to=tmp_path / "case")
    record = result.record
    assert result.status == "passed", result.message
    assert 0 < record["latency_p50_ms"] <= record["latency_p95_ms"]
    assert record["throughput_sent_per_s"] > 0
    assert record["served_matches_eval"] is True  # text in, label out: the labels evaluation recorded
    saved = tmp_path / "case"
    # what method.save wrote, sub-folders included (setfit's body); the case's tokenizer and record beside it
    artifacts = [
        f
        for f in saved.rglob("*")
        if f.is_file() and not f.relative_to(saved).parts[0].startswith(("tokenizer", "record"))
    ]
    assert record["stored_bytes"] == sum(f.stat().st_size for f in artifacts) > 0
    assert json.loads((saved / "record.json").read_text())["case"] == record["case"]
    if METHODS[name].tags.uses_backbone:
        # the random tiny BERT serialized: 4 bytes per float32 parameter plus the safetensors header
        base = count_parameters(workbench.backbone(SMOKE.model).new_model(seed=0))[1]
        assert 4 * base < record["base_model_bytes"] < 4 * base + 100_000
        assert record["stored_share"] == record["stored_bytes"] / record["base_model_bytes"]
        assert (saved / "tokenizer_config.json").is_file()
    else:
        assert record["base_model_bytes"] is None and record["stored_share"] is None
    if METHODS[name].tags.mergeable:
        assert record["merged_latency_p50_ms"] > 0 and record["merged_throughput_sent_per_s"] > 0
        within = record["merged_max_logit_diff"] <= record["merged_logit_tolerance"]
        assert record["merged_equal"] is (record["merged_label_mismatches"] == 0 and within)
        assert within  # (exact label equality in fp32: test_merged_adapters_predict_as_unmerged)
    else:
        assert "merged_latency_p50_ms" not in record
    if name == "full":  # the whole model; an adapter is a sliver of it
        assert record["stored_share"] > 0.99


def test_latency_sample_is_fixed_and_shared(task):
    rows = latency_rows(task)
    assert len(rows) == LATENCY_SAMPLE == len(set(rows)) and np.array_equal(rows, latency_rows(task))


@pytest.mark.parametrize("name", [n for n, cls in METHODS.items() if cls.tags.mergeable])
def test_merged_adapters_predict_as_unmerged(task, name):
    method = METHODS[name](recipe=SMOKE.recipe(name), precision="fp32", seed=0, lr=1e-2).fit(task)
    merged = merged_copy(method)
    assert not hasattr(merged.model_, "peft_config")  # a plain transformers model: nothing applied on the fly
    assert hasattr(method.model_, "peft_config")  # the method itself keeps its adapters
    check = merge_check(method, merged, task, batch_size=64, precision="fp32")
    assert check["merged_equal"] and check["merged_label_mismatches"] == 0
    assert check["merged_max_logit_diff"] <= MERGE_TOLERANCE["fp32"]
    # and the check can fail: a merged model whose classifier moved disagrees
    with torch.no_grad():
        merged.model_.classifier.bias += torch.tensor([5.0, -5.0])
    assert not merge_check(method, merged, task, batch_size=64, precision="fp32")["merged_equal"]


def test_saved_artifacts_load_back_with_the_standard_calls(task, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from rtsent.engine.training import predict_logits

    texts = task.texts("validation")
    for name, load in (
        # the base is the same random architecture (seeded); with real weights, from_pretrained(base folder)
        ("lora", lambda folder: PeftModel.from_pretrained(task.backbone.new_model(seed=0), folder)),
        ("full", lambda folder: AutoModelForSequenceClassification.from_pretrained(folder, use_safetensors=True)),
    ):
        method = METHODS[name](recipe=SMOKE.recipe(name), precision="fp32", seed=0, lr=1e-2).fit(task)
        folder = tmp_path / name
        folder.mkdir()
        method.save(folder)
        task.backbone.tokenizer.save_pretrained(folder)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        ids = tokenizer(texts, truncation=True, max_length=32)["input_ids"]
        loaded = predict_logits(load(folder), ids, batch_size=64, precision="fp32", device=task.device, pad_id=0)
        assert np.array_equal(loaded.argmax(-1), method.predict(task, "validation")), name


def test_bitfit_trained_tensors_load_over_the_base(task, tmp_path):
    import safetensors.torch

    from rtsent.engine.training import predict_logits

    method = METHODS["bitfit"](recipe=SMOKE.recipe("bitfit"), precision="fp32", seed=0, lr=1e-2).fit(task)
    method.save(tmp_path)
    base = task.backbone.new_model(seed=0)  # the shared base: same random architecture and seed
    missing, unexpected = base.load_state_dict(
        safetensors.torch.load_file(tmp_path / "trained.safetensors"), strict=False
    )
    assert not unexpected and all(not key.endswith("bias") for key in missing)  # every bias came back
    logits = predict_logits(
        base, task.input_ids("validation"), batch_size=64, precision="fp32", device=task.device, pad_id=0
    )
    assert np.array_equal(logits.argmax(-1), method.predict(task, "validation"))


def test_stored_bytes_are_the_same_when_the_folder_is_reused(task, tmp_path):
    from rtsent.case.serving import publish, save_artifacts, stored_bytes

    method = METHODS["lora"](recipe=SMOKE.recipe("lora"), precision="fp32", seed=0, lr=1e-2).fit(task)
    for _ in range(2):  # the second save replaces the first case folder, nothing of it adds up
        save_artifacts(tmp_path / "staging", method, None)
        publish(tmp_path / "staging", tmp_path / "case")
    saved = sum(f.stat().st_size for f in (tmp_path / "case").rglob("*") if f.is_file())
    assert stored_bytes(method) == stored_bytes(method) == saved > 0
    assert sorted(f.name for f in tmp_path.iterdir()) == ["case"]


def test_a_serving_failure_keeps_the_case_and_its_metrics(polarity_folder, workbench, monkeypatch):
    import rtsent.case.runner

    def broken(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(rtsent.case.runner, "measure_serving", broken)
    result = run_case(config(polarity_folder, "full"), workbench=workbench)
    assert result.status == "passed" and result.record["val_accuracy"] is not None
    assert result.record["serving_error"] == "OSError: No space left on device"


def test_prompt_longer_than_the_positions_fails_before_training(task):
    method = METHODS["prompt"](recipe=SMOKE.recipe("prompt"), precision="fp32", seed=0, lr=1e-2, num_virtual_tokens=490)
    with pytest.raises(ValueError, match=r"num_virtual_tokens=490 \+ the longest input \(32 tokens\) exceeds"):
        method.fit(task)
    assert not hasattr(method, "model_")


SPEED = ("latency_p50_ms", "latency_p95_ms", "throughput_sent_per_s")


def test_serving_speed_is_timed_once_per_shape_and_the_checks_run_per_case(polarity_folder):
    """--rtsent-serving=once: a second LoRA case of the same shape (another lr and seed) reuses the first
    one's latency and throughput, and says so; its own served-labels and merge checks still ran; a case
    of another shape (r) is timed again."""
    workbench = Workbench(device=pick_device())  # a fresh session: nothing timed yet
    first = run_case(config(polarity_folder, "lora", lr=1e-3), workbench=workbench).record
    second = run_case(config(polarity_folder, "lora", lr=1e-2, seed=1), workbench=workbench).record
    other = run_case(config(polarity_folder, "lora", lr=1e-2, params=(("r", 4),)), workbench=workbench).record
    assert first["serving_reused"] is False and first["serving_measured_in"] == first["case"]
    assert second["serving_reused"] is True and second["serving_measured_in"] == first["case"]
    for key in (*SPEED, *(f"merged_{k}" for k in SPEED)):
        assert second[key] == first[key], key  # the figures of the case that timed them
    # its own weights checked on their own: the merged-vs-unmerged difference the same case gives when it times
    # everything itself (two cases' differences are a few float32 steps and may coincide, so "differs from
    # the first case's" would not say whose it is)
    alone = run_case(
        config(polarity_folder, "lora", lr=1e-2, seed=1), workbench=Workbench(device=pick_device()), serving="every"
    ).record
    assert alone["serving_reused"] is False and second["merged_max_logit_diff"] == alone["merged_max_logit_diff"]
    assert second["served_matches_eval"] is True and second["merged_equal"] is True
    assert other["serving_reused"] is False and other["latency_p50_ms"] != first["latency_p50_ms"]
    assert 0 < second["serving_time_s"] and 0 < first["serving_time_s"]
    again = run_case(config(polarity_folder, "lora", lr=1e-2, seed=2), workbench=workbench, serving="every").record
    assert again["serving_reused"] is False and again["serving_measured_in"] == again["case"]
    off = run_case(config(polarity_folder, "lora", lr=1e-2, seed=3), workbench=workbench, serving="off").record
    assert off["serving_mode"] == "off" and not any(k in off for k in (*SPEED, "served_matches_eval"))
    assert off["status"] == "passed"


def test_a_reused_case_still_checks_its_own_served_labels(task, monkeypatch):
    """The reused speed figures never stand in for the per-case check: a serving path that disagrees with
    the evaluation is caught in a case that times nothing."""
    from rtsent.case.serving import measure_serving
    from rtsent.schema.records import encode_labels

    method = METHODS["full"](recipe=SMOKE.recipe("full"), precision="fp32", seed=0, lr=1e-2).fit(task)
    evaluated = encode_labels(method.predict(task, "validation"))
    timed = {"latency_p50_ms": 1.0, "latency_p95_ms": 2.0, "throughput_sent_per_s": 3.0}
    good = measure_serving(method, task, precision="fp32", batch_size=64, evaluated=evaluated, measured=timed)
    assert good["served_matches_eval"] is True and {k: good[k] for k in SPEED} == timed
    monkeypatch.setattr(
        type(method),
        "logits_texts",
        lambda self, task, texts, batch_size: -self._logits(task, task.encode(texts), batch_size),
    )  # a serving path that flips every label
    bad = measure_serving(method, task, precision="fp32", batch_size=64, evaluated=evaluated, measured=timed)
    assert bad["served_matches_eval"] is False


def test_serving_shape_names_what_sets_the_speed(task, workbench, polarity_folder):
    from rtsent.case.serving import serving_shape

    def shape(name, on=task, **kw):
        entry = next(e for e in SMOKE.grid if e.method == name)
        recipe = kw.pop("recipe", SMOKE.recipe(name))
        seed, lr = kw.pop("seed", 0), kw.pop("lr", entry.lr)
        return serving_shape(METHODS[name](recipe=recipe, precision="fp32", seed=seed, lr=lr, **kw), on)

    assert shape("lora", lr=1e-3, seed=0) == shape("lora", lr=1e-2, seed=4, lora_alpha=32, lora_dropout=0.0)
    assert shape("lora") != shape("lora", r=4) != shape("lora", target_modules="all-linear")
    assert shape("lora") != shape("dora") and shape("svm", C=0.1) == shape("svm", C=10.0)
    from dataclasses import replace

    assert shape("full") != shape("full", recipe=replace(SMOKE.recipe("full"), eval_batch_size=8))
    # a class that names no shape is keyed by every hyperparameter and by its training data
    assert shape("tfidf", C=0.1) != shape("tfidf", C=1.0)
    smaller = workbench.task(model=SMOKE.model, data=str(polarity_folder), max_train=100, max_length=32)
    assert shape("tfidf") != shape("tfidf", on=smaller) and shape("full") == shape("full", on=smaller)
