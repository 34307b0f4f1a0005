"""Cases end to end on the smoke profile (a 2-layer random BERT, 200 training sentences)."""

import math

import numpy as np
import pytest
import torch

from rtsent import methods
from rtsent.case.runner import run_case
from rtsent.engine.devices import pick_device
from rtsent.engine.recipe import Recipe
from rtsent.engine.training import train_batches
from rtsent.engine.workbench import Workbench
from rtsent.plan.cases import CaseConfig
from rtsent.plan.profiles import get_profile
from rtsent.schema.caseid import format_number

SMOKE = get_profile("smoke")


@pytest.fixture(scope="module")
def workbench():
    return Workbench(device=pick_device())


def smoke_config(polarity_folder, method="full", lr=1e-3, **changes):
    fields = dict(
        profile="smoke",
        method=method,
        lr=lr,
        precision="fp32",
        seed=0,
        model=SMOKE.model,
        data=str(polarity_folder),
        max_train=SMOKE.max_train,
        recipe=SMOKE.recipe(method),
    )
    return CaseConfig(**{**fields, **changes})


@pytest.mark.parametrize("method,lr", [("svm", None), ("head", 1e-3), ("full", 1e-3), ("lora", 1e-3)])
def test_each_method_records_everything(polarity_folder, workbench, method, lr):
    result = run_case(smoke_config(polarity_folder, method, lr), workbench=workbench)
    record = result.record
    assert result.status == "passed", result.message
    assert record["accuracy_meaningful"] is False  # random weights: no floor, marked as such
    for key in (
        "val_accuracy",
        "val_f1",
        "test_accuracy",
        "test_f1",
        "train_time_s",
        "eval_time_s",
        "trainable_params",
        "total_params",
        "train_peak_rss_bytes",
        "model_identity",
        "split_hashes",
    ):
        assert record[key] is not None, key
    assert len(record["val_predictions"]) == len(record["val_labels"]) == 1066
    # judged on the full splits: the 200-row training sample alone would not hash as the canonical split
    assert record["data_canonical"] is True and record["train_rows"] == 200
    assert set(record["val_predictions"]) <= {"0", "1"}
    accuracy = np.mean([p == t for p, t in zip(record["val_predictions"], record["val_labels"], strict=True)])
    assert math.isclose(accuracy, record["val_accuracy"])
    assert 0 < record["trainable_params"] <= record["total_params"]
    # total_params: the model as served; params_in_memory adds LoRA's frozen copy of the head (32·2 + 2)
    head_copy = 66 if method == "lora" else 0
    assert record["params_in_memory"] == record["total_params"] + head_copy
    if method in ("svm", "head"):
        assert record["feature_time_s"] > 0
    else:
        assert record["train_tokens_per_s"] > 0 and 0 <= record["train_padding_share"] < 0.5


def test_same_seed_same_metrics_and_predictions(polarity_folder):
    # serving off: its figures are timings, and its label check is tested in tests/test_serving.py
    runs = [
        run_case(
            smoke_config(polarity_folder, "lora", 1e-3), workbench=Workbench(device=pick_device()), serving="off"
        ).record
        for _ in range(2)
    ]

    def measured(record):
        """Everything but times, memory and rates (a curve point's own times included)."""
        timing = ("_s", "_ms", "_bytes", "_flops", "per_s", "utilization")
        out = {k: v for k, v in record.items() if not k.endswith(timing)}
        out["curve"] = [{k: v for k, v in p.items() if not k.endswith(timing)} for p in record["curve"]]
        return out

    assert measured(runs[0]) == measured(runs[1])
    other = run_case(
        smoke_config(polarity_folder, "lora", 1e-3, seed=1), workbench=Workbench(device=pick_device()), serving="off"
    ).record
    assert other["train_info"]["final_loss"] != runs[0]["train_info"]["final_loss"]


def test_nan_loss_is_diverged_with_its_step(polarity_folder, workbench):
    result = run_case(smoke_config(polarity_folder, "full", 1e30), workbench=workbench)
    assert result.status == "diverged", result.message
    assert isinstance(result.record["diverged_step"], int) and "at step" in result.message


def test_error_inside_training_is_recorded(polarity_folder, workbench, monkeypatch):
    class Exploding(methods.FullFineTune):
        def fit(self, task, *, callbacks=()):
            raise RuntimeError("injected failure after 3 steps")

    monkeypatch.setitem(methods.METHODS, "full", Exploding)
    result = run_case(smoke_config(polarity_folder), workbench=workbench)
    assert result.status == "error" and result.message == "RuntimeError: injected failure after 3 steps"
    assert "train_time_s" in result.record and "Traceback" in result.record["traceback"]


def test_out_of_memory_is_recorded_with_batch_size(polarity_folder, workbench, monkeypatch):
    def no_memory(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr("rtsent.methods.finetune.train", no_memory)
    result = run_case(smoke_config(polarity_folder), workbench=workbench)
    assert result.status == "oom" and "batch size 32" in result.message


def test_below_floor_names_value_floor_and_gap(polarity_folder, workbench):
    config = smoke_config(polarity_folder, model="random:tiny-bert", floor=0.99)
    result = run_case(config, workbench=workbench, serving="off")  # the verdict comes before serving
    assert result.status == "passed"  # random weights carry no floor
    result = run_case(
        smoke_config(polarity_folder, model="minilm-l6", method="svm", lr=None, floor=0.99, max_train=200),
        workbench=workbench,
        serving="off",
    )
    assert result.status == "below_floor"
    assert f"val accuracy {result.record['val_accuracy']:.4f} < floor 0.9900 (gap" in result.message


def test_fp16_without_cuda_is_skipped_with_reason(polarity_folder, workbench):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = run_case(smoke_config(polarity_folder, precision="fp16"), workbench=workbench)
    assert result.status == "skipped" and "needs CUDA" in result.message


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"method": "qlora"}, "unknown method 'qlora'; valid methods: svm, head, full, lora"),
        ({"lr": -1.0}, "lr=-1.0 for method 'full' is not a finite number > 0"),
        ({"precision": "fp8"}, "unknown precision 'fp8'; valid: fp32, fp16, bf16"),
        ({"floor": 1.5}, r"floor=1.5 is outside \[0, 1\]"),
    ],
)
def test_bad_case_configs(polarity_folder, changes, expected):
    with pytest.raises(ValueError, match=expected):
        smoke_config(polarity_folder, **changes)
    with pytest.raises(ValueError, match="epochs=0"):
        Recipe(epochs=0)


def test_case_ids_read_like_table_rows(polarity_folder):
    assert smoke_config(polarity_folder, "lora", 2e-4, precision="bf16").case_id == "lora-lr2e-4-bf16-seed0"
    assert smoke_config(polarity_folder, "svm", None, seed=2).case_id == "svm-fp32-seed2"
    assert [format_number(x) for x in (5e-5, 1e-3, 2e-5, 3.5e-4)] == ["5e-5", "1e-3", "2e-5", "0.00035"]


def test_length_grouped_batches_cover_each_row_once_and_cut_padding():
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 80, size=1000)
    grouped = train_batches(lengths, 32, seed=0, epoch=0, grouped=True)
    plain = train_batches(lengths, 32, seed=0, epoch=0, grouped=False)
    assert sorted(np.concatenate(grouped).tolist()) == list(range(1000))

    def padding(batches):
        return 1 - sum(lengths[b].sum() for b in batches) / sum(lengths[b].max() * len(b) for b in batches)

    assert padding(grouped) < 0.1 < padding(plain)
    assert [b.tolist() for b in grouped] == [
        b.tolist() for b in train_batches(lengths, 32, seed=0, epoch=0, grouped=True)
    ]
    assert [b.tolist() for b in grouped] != [
        b.tolist() for b in train_batches(lengths, 32, seed=0, epoch=1, grouped=True)
    ]


def test_record_marks_other_data(tmp_path, polarity_folder, workbench):
    folder = tmp_path / "rt"
    folder.mkdir()
    for name in ("rt-polarity.pos", "rt-polarity.neg"):
        lines = (polarity_folder / name).read_bytes().splitlines(keepends=True)
        (folder / name).write_bytes(b"".join(lines[:-1]) + b"an edited last sentence .\n")  # in the test split
    record = run_case(smoke_config(folder, "svm", None), workbench=workbench).record
    assert record["status"] == "passed" and record["data_canonical"] is False
    assert workbench.noncanonical_splits(str(folder)) == ["test"]


@pytest.mark.parametrize(("method", "lr"), [("lora", 2e-3), ("head", 1e-2)])
def test_learning_curve_every_epoch_and_the_same_training_without_it(polarity_folder, workbench, method, lr):
    from dataclasses import replace

    config = smoke_config(polarity_folder, method, lr)
    config = replace(config, recipe=replace(config.recipe, epochs=2.5))  # a fractional last epoch
    record = run_case(config, workbench=workbench).record
    assert record["status"] == "passed", record.get("message")
    curve = record["curve"]
    per_epoch = math.ceil(200 / config.recipe.batch_size)  # smoke: 200 training rows
    assert [p["epoch"] for p in curve] == [1.0, 2.0, round(2.5 * per_epoch) / per_epoch]
    assert [p["step"] for p in curve][-1] == record["train_info"]["steps"]
    for point in curve:
        assert 0 <= point["val_accuracy"] <= 1 and len(point["test_predictions"]) == 1066 and point["eval_time_s"] > 0
    assert [p["train_time_s"] for p in curve] == sorted(p["train_time_s"] for p in curve)
    assert curve[-1]["train_time_s"] <= record["train_time_s"]  # evaluation is out of the training time
    # the headline is the last epoch's
    assert (record["val_predictions"], record["val_accuracy"]) == (
        curve[-1]["val_predictions"],
        curve[-1]["val_accuracy"],
    )
    # evaluating after each epoch changes nothing in training: the same fit without the curve predicts the same
    task = workbench.task(
        model=config.model, data=config.data, max_train=config.max_train, max_length=config.recipe.max_length
    )
    plain = methods.METHODS[method](recipe=config.recipe, precision="fp32", seed=0, lr=lr).fit(task)
    assert "".join(map(str, plain.predict(task, "validation"))) == record["val_predictions"]


def test_svm_has_no_curve(polarity_folder, workbench):
    record = run_case(smoke_config(polarity_folder, "svm", None), workbench=workbench).record
    assert record["status"] == "passed" and "curve" not in record
