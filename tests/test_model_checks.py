"""Model sources that would fail every case are refused once, at start, with one line; a saved head
of another size is replaced and the record says so."""

import json

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from rtsent.case.runner import run_case
from rtsent.engine.backbones import BackboneSourceError, check_backbone, check_max_length, load_backbone
from rtsent.engine.devices import pick_device
from rtsent.engine.workbench import Workbench
from rtsent.plan.cases import CaseConfig
from rtsent.plan.profiles import get_profile

TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)


def save_model(folder, *, tokenizer=None, **config):
    """A tiny BERT classifier saved as transformers saves it, with the packaged MiniLM's tokenizer."""
    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(**{**TINY, **config}))
    model.save_pretrained(folder)
    (tokenizer or load_backbone("minilm-l6").tokenizer).save_pretrained(folder)
    return model


def checked(folder):
    return check_backbone(load_backbone(str(folder)))


def test_head_with_three_labels_is_replaced_and_recorded(tmp_path, polarity_folder):
    saved = save_model(tmp_path / "m", num_labels=3)
    with pytest.warns(UserWarning, match="saved head has another size; replaced by a fresh 2-label head"):
        backbone = checked(tmp_path / "m")
    assert backbone.head_replaced == ("classifier.bias ((3,) -> (2,))", "classifier.weight ((3, 32) -> (2, 32))")
    model = backbone.new_model(seed=0)
    assert model.classifier.out_features == 2  # the encoder is the saved one; only the head is new
    assert torch.equal(model.bert.encoder.layer[1].output.dense.weight, saved.bert.encoder.layer[1].output.dense.weight)
    smoke = get_profile("smoke")
    config = CaseConfig(
        profile="smoke",
        method="head",
        lr=1e-3,
        precision="fp32",
        seed=0,
        model=str(tmp_path / "m"),
        data=str(polarity_folder),
        max_train=smoke.max_train,
        recipe=smoke.recipe("head"),
    )
    with pytest.warns(UserWarning, match="replaced by a fresh 2-label head"):
        result = run_case(config, workbench=Workbench(device=pick_device()))
    assert result.status == "passed", result.message
    assert result.record["head_replaced"] == list(backbone.head_replaced)


def _pickled_only(folder):
    save_model(folder)
    state = BertForSequenceClassification.from_pretrained(folder).state_dict()
    (folder / "model.safetensors").unlink()
    torch.save(state, folder / "pytorch_model.bin")


def _truncated(folder):
    save_model(folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:50_000])


def _encoder_of_another_shape(folder):
    save_model(folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "intermediate_size": 48}))


def _no_pad_token(folder):
    tokenizer = load_backbone("minilm-l6").tokenizer
    tokenizer.pad_token = None
    save_model(folder, tokenizer=tokenizer)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda f: (save_model(f), (f / "model.safetensors").unlink()), "has no weights (model.safetensors)"),
        (_pickled_only, "holds its weights as pytorch_model.bin only; rtsent loads safetensors only"),
        (_truncated, "its weights do not load: Error while deserializing header"),
        (_encoder_of_another_shape, "its weights do not fit its config.json (tensors of another shape: bert.encoder"),
        (
            lambda f: save_model(f, vocab_size=1000),
            "tokenizer has 30,522 tokens but the model's embedding table has 1,000",
        ),
        (_no_pad_token, "its tokenizer has no pad token"),
        (
            lambda f: save_model(f, max_position_embeddings=64),
            "cuts inputs at 512 tokens but the model has 64 positions",
        ),
    ],
    ids=["no-weights", "pickle-only", "truncated", "encoder-shape", "vocabulary", "no-pad", "positions"],
)
def test_model_source_problems_are_one_line(tmp_path, make, message):
    folder = tmp_path / "m"
    make(folder)
    with pytest.raises(BackboneSourceError) as caught:
        checked(folder)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_folder_without_tokenizer_files_is_refused(tmp_path):
    # weights and config but no tokenizer: transformers would build a 5-token BertTokenizer (every word [UNK])
    save_model(tmp_path / "m")
    for file in ("tokenizer.json", "vocab.txt", "tokenizer_config.json"):
        (tmp_path / "m" / file).unlink(missing_ok=True)
    for source in (str(tmp_path / "m"), f"random:{tmp_path / 'm'}"):
        with pytest.raises(BackboneSourceError) as caught:
            load_backbone(source)
        assert "has no tokenizer files (none of tokenizer.json, vocab.txt)" in str(caught.value)
        assert "\n" not in str(caught.value)
    # a built-in architecture takes the packaged vocabulary: still 30,522 word pieces, not [UNK] alone
    assert len(load_backbone("random:tiny-bert").tokenizer) == 30_522


def test_recipe_longer_than_the_positions_is_refused(tmp_path):
    save_model(tmp_path / "m", max_position_embeddings=600)
    backbone = checked(tmp_path / "m")
    check_max_length(backbone, 600)
    with pytest.raises(BackboneSourceError, match="recipe max_length=601 is longer than model .* takes \\(600"):
        check_max_length(backbone, 601)


def test_config_that_does_not_build_is_refused_without_weights(tmp_path):
    BertConfig(**{**TINY, "hidden_size": 33}).save_pretrained(tmp_path / "odd")  # 33 is not a multiple of 2 heads
    load_backbone("minilm-l6").tokenizer.save_pretrained(tmp_path / "odd")
    with pytest.raises(BackboneSourceError, match="its config does not build"):
        check_backbone(load_backbone(f"random:{tmp_path / 'odd'}"))


def test_bad_model_stops_the_run_at_start(pytester, polarity_folder):
    from pathlib import Path

    folder = pytester.path / "model"
    _pickled_only(folder)
    bench = Path(__file__).resolve().parents[1] / "bench" / "test_methods.py"
    pytester.makepyfile(test_methods=bench.read_text())
    result = pytester.runpytest_inprocess(
        "-p",
        "rtsent.plugin.hooks",
        "--rtsent-profile=smoke",
        f"--rtsent-data={polarity_folder}",
        f"--rtsent-model={folder}",
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if "rtsent:" in line]
    assert len(errors) == 1 and "holds its weights as pytorch_model.bin only" in errors[0], result.errlines
    assert "passed" not in result.stdout.str()
