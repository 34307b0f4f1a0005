import os
import subprocess
import sys

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification, DistilBertConfig, ViTConfig

from rtsent.engine.backbones import (
    BackboneSourceError,
    check_cls,
    count_parameters,
    freeze_encoder,
    load_backbone,
    parameters_in_memory,
    vector_head,
)


def test_distilbert_without_weights_has_the_study_parameter_counts():
    from peft import LoraConfig, get_peft_model

    backbone = load_backbone("random:distilbert-base-uncased")
    assert not backbone.has_weights and backbone.identity.startswith("config:")
    assert backbone.lora_targets == ("q_lin", "v_lin")
    model = backbone.new_model(seed=0)
    assert count_parameters(model) == (66_955_010, 66_955_010) and parameters_in_memory(model) == 66_955_010
    lora = get_peft_model(
        model,
        LoraConfig(
            r=8,
            lora_alpha=16,
            lora_dropout=0.1,
            target_modules=list(backbone.lora_targets),
            modules_to_save=list(backbone.head_modules),
        ),
    )
    # the model as served: 66,955,010 + 147,456 adapters; peft's frozen copy of the head (592,130) only in memory
    assert count_parameters(lora) == (739_586, 67_102_466)
    assert parameters_in_memory(lora) == 67_694_596
    frozen = backbone.new_model(seed=0)
    freeze_encoder(frozen, backbone.head_modules)
    assert count_parameters(frozen)[0] == 592_130  # pre_classifier + classifier


def test_packaged_minilm_loads_with_bert_targets():
    backbone = load_backbone("minilm-l6")
    assert backbone.has_weights and backbone.model_type == "bert"
    assert backbone.lora_targets == ("query", "value")
    assert backbone.identity.startswith("sha256:")
    model = backbone.new_model(seed=0)
    assert count_parameters(model)[1] == 22_713_986  # 22.7M encoder + 770 head
    batch = backbone.tokenizer(["a fine film .", "dull"], padding=True, return_tensors="pt")
    cls = check_cls(model, batch["input_ids"], batch["attention_mask"])
    assert cls.shape == (2, 384)


def test_check_cls_is_the_first_position_of_last_hidden_state():
    model = BertForSequenceClassification(
        BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    ).eval()
    ids = torch.randint(1, 50, (3, 7))
    mask = torch.ones_like(ids)
    cls = check_cls(model, ids, mask)
    hidden = model.bert(input_ids=ids, attention_mask=mask).last_hidden_state
    assert hidden.shape == (3, 7, 16) and torch.equal(cls, hidden[:, 0].detach())


@pytest.mark.parametrize(
    "config",
    [
        DistilBertConfig(vocab_size=50, dim=16, n_layers=1, n_heads=2, hidden_dim=32),
        BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32),
    ],
)
def test_vector_head_on_cls_gives_the_model_logits(config):
    # The head method trains on cached [CLS] vectors: that must be the model's own forward, split in two.
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_config(config).eval()
    ids = torch.randint(1, 50, (4, 9))
    mask = torch.ones_like(ids)
    with torch.inference_mode():
        cls = model.base_model(input_ids=ids, attention_mask=mask).last_hidden_state[:, 0]
        assert torch.allclose(vector_head(model)(cls), model(input_ids=ids, attention_mask=mask).logits, atol=1e-6)


def test_folder_errors_are_one_line(tmp_path):
    with pytest.raises(BackboneSourceError, match="model folder '.*nowhere' does not exist"):
        load_backbone(str(tmp_path / "nowhere"))
    with pytest.raises(BackboneSourceError, match="has no config.json"):
        load_backbone(str(tmp_path))
    # an image model: transformers has no sequence-classification head for it
    ViTConfig(num_hidden_layers=1, hidden_size=16, num_attention_heads=2).save_pretrained(tmp_path / "vit")
    with pytest.raises(BackboneSourceError, match="is a 'vit', which AutoModelForSequenceClassification does not"):
        load_backbone("random:" + str(tmp_path / "vit"))


def test_local_folder_round_trip(tmp_path):
    backbone = load_backbone("random:tiny-bert")
    model = backbone.new_model(seed=3)
    model.save_pretrained(tmp_path / "m", safe_serialization=True)
    backbone.tokenizer.save_pretrained(tmp_path / "m")
    loaded = load_backbone(str(tmp_path / "m"))
    assert loaded.has_weights and loaded.identity.startswith("sha256:")
    again = loaded.new_model(seed=0)
    assert torch.equal(again.bert.embeddings.word_embeddings.weight, model.bert.embeddings.word_embeddings.weight)


def test_unreachable_hub_gives_one_clear_error():
    # A subprocess, so HF_HUB_OFFLINE is read at import: the same failure as no network, without 50 s of retries.
    code = (
        "from rtsent.engine.backbones import load_backbone, BackboneSourceError\n"
        "from rtsent.data.sources import load_splits, DataSourceError\n"
        "for call in (lambda: load_backbone('distilbert-base-uncased'), lambda: load_splits()):\n"
        "    try:\n        call()\n    except (BackboneSourceError, DataSourceError) as e:\n        print(e)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": "/nonexistent-rtsent-cache"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 2, out.stdout + out.stderr
    assert "cannot load model 'distilbert-base-uncased'" in lines[0] and "minilm-l6" in lines[0]
    assert "cannot load data 'cornell-movie-review-data/rotten_tomatoes'" in lines[1] and "--rtsent-data" in lines[1]
