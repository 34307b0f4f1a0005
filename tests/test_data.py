import hashlib

import numpy as np
import pandas as pd
import pytest
from transformers import AutoTokenizer

from rtsent.backbones import _packaged_folder
from rtsent.data import (
    PACKAGED_DATA,
    DataSourceError,
    load_splits,
    split_hash,
    split_stats,
    stratified_sample,
    tokenize,
)

# Computed once from the shared rt-polarity files with rtsent.data.split_hash and pinned: any change
# in reading, stripping, cutting or ordering changes them.
PINNED = {
    "train": "481cc37ac8fd5b4e5beeb346cb07c2a990b08a5604140b40392fbee2318ab2fd",
    "validation": "2c4346f80b46f5724d4e050224202647c08295bd2c38a5c2107218e0f0c778c5",
    "test": "4c10d03359ea7ad9160c3d929d58c11f97dc01f754b92157e160da4c1237eb09",
}
# First and last texts of each split as the hub dataset cornell-movie-review-data/rotten_tomatoes has them.
ENDS = {
    "train": (
        "the rock is destined to be the 21st century's new \" conan \" and that he's going to make a splash even "
        "greater than arnold schwarzenegger , jean-claud van damme or steven segal .",
        "things really get weird , though not particularly scary : the movie is all portent and no content .",
    ),
    "validation": (
        "compassionately explores the seemingly irreconcilable situation between conservative christian "
        "parents and their estranged gay and lesbian children .",
        "the feature-length stretch . . . strains the show's concept .",
    ),
    "test": (
        "lovingly photographed in the manner of a golden book sprung to life , stuart little 2 manages sweetness "
        "largely without stickiness .",
        "enigma is well-made , but it's just too dry and too placid .",
    ),
}


@pytest.fixture(scope="module")
def splits(polarity_folder):
    return load_splits(str(polarity_folder))


def test_polarity_files_rebuild_the_hub_splits(splits):
    for name, rows in (("train", 8530), ("validation", 1066), ("test", 1066)):
        split = splits[name]
        assert len(split) == rows
        labels = np.asarray(split["label"])
        assert labels.sum() == rows // 2
        # positives first, then negatives, as the hub script concatenates them
        assert labels[: rows // 2].all() and not labels[rows // 2 :].any()
        assert (split[0]["text"], split[-1]["text"]) == ENDS[name]
        assert split_hash(split) == PINNED[name]
    assert splits["train"].features["label"].names == ["neg", "pos"]
    # Latin-1 control characters stay inside texts, as on the hub
    assert any("\x96" in text or "\x97" in text for text in splits["train"]["text"])


def test_split_files_in_three_formats_match(splits, tmp_path):
    for ext in ("parquet", "csv", "jsonl"):
        folder = tmp_path / ext
        folder.mkdir()
        for name in ("train", "validation", "test"):
            frame = splits[name].to_pandas()
            if ext == "parquet":
                frame.to_parquet(folder / f"{name}.parquet")
            elif ext == "csv":
                frame.to_csv(folder / f"{name}.csv", index=False)
            else:
                frame.to_json(folder / f"{name}.jsonl", orient="records", lines=True, force_ascii=False)
        loaded = load_splits(str(folder))
        for name in ("validation", "test"):
            assert split_hash(loaded[name]) == PINNED[name], ext


def test_stratified_sample_is_balanced_seeded_and_ordered(splits):
    first = stratified_sample(splits["train"], 2000, seed=0)
    again = stratified_sample(splits["train"], 2000, seed=0)
    other = stratified_sample(splits["train"], 2000, seed=1)
    assert len(first) == 2000 and sum(first["label"]) == 1000
    assert split_hash(first) == split_hash(again) != split_hash(other)
    texts = list(splits["train"]["text"])
    positions = [texts.index(t) for t in first["text"][:50]]
    assert positions == sorted(positions)
    with pytest.raises(DataSourceError, match="max_train_samples=9000 is out of range; the training split has 8530"):
        stratified_sample(splits["train"], 9000, seed=0)


def test_split_stats_and_tokenize_do_not_pad(splits):
    tokenizer = AutoTokenizer.from_pretrained(str(_packaged_folder()))
    small = splits.map(lambda b: b, batched=True).filter(lambda _, i: i % 100 == 0, with_indices=True)
    rows = split_stats(small, tokenizer)
    assert [r["rows"] for r in rows] == [len(small[s]) for s in ("train", "validation", "test")]
    lengths = [len(tokenizer(t)["input_ids"]) for t in small["train"]["text"]]
    assert rows[0]["max"] == max(lengths) and rows[0]["p50"] == np.percentile(lengths, 50)
    tokenized = tokenize(small, tokenizer, max_length=12)
    ids = tokenized["train"]["input_ids"]
    assert max(len(row) for row in ids) == 12  # truncated
    assert min(len(row) for row in ids) < 12  # and not padded
    assert tokenized["train"]["length"] == [len(row) for row in ids]


def _write_splits(folder, frames, ext="csv"):
    folder.mkdir(exist_ok=True)
    for name, frame in frames.items():
        frame.to_csv(folder / f"{name}.{ext}", index=False)


GOOD = pd.DataFrame({"text": ["good film", "bad film"], "label": [1, 0]})


@pytest.mark.parametrize(
    ("frames", "expected"),
    [
        ({"train": GOOD, "validation": GOOD}, "has no 'test' split: expected one of test.parquet"),
        ({"train": GOOD[["text"]], "validation": GOOD, "test": GOOD}, r"lacks column\(s\) \['label'\]"),
        ({"train": GOOD.assign(label=[1, 2]), "validation": GOOD, "test": GOOD}, "has labels 2; labels must be 0"),
    ],
)
def test_bad_split_files_get_one_line_errors(tmp_path, frames, expected):
    _write_splits(tmp_path / "d", frames)
    with pytest.raises(DataSourceError, match=expected) as caught:
        load_splits(str(tmp_path / "d"))
    assert "\n" not in str(caught.value)


def test_non_utf8_and_polarity_folder_errors(tmp_path, polarity_folder):
    folder = tmp_path / "latin"
    _write_splits(folder, {"validation": GOOD, "test": GOOD})
    (folder / "train.csv").write_bytes("text,label\ncaf\xe9,1\n".encode("latin-1"))
    with pytest.raises(DataSourceError, match="is not UTF-8"):
        load_splits(str(folder))
    half = tmp_path / "half"
    half.mkdir()
    (half / "rt-polarity.pos").write_bytes((polarity_folder / "rt-polarity.pos").read_bytes())
    with pytest.raises(DataSourceError, match="lacks 'rt-polarity.neg'"):
        load_splits(str(half))
    (half / "rt-polarity.neg").write_bytes(b"")
    with pytest.raises(DataSourceError, match="rt-polarity.neg' is empty"):
        load_splits(str(half))
    with pytest.raises(DataSourceError, match="does not exist"):
        load_splits(str(tmp_path / "nowhere"))


def test_packaged_polarity_files_unchanged(polarity_folder):
    # rtsent/rt-polaritydata/README.md pins these; a changed file would change every result.
    pinned = {
        "rt-polarity.pos": "d79ef14009bbf87cd6be21f91c3ea1a3cbcb73b34dfb4231aef7bbcd7677abc4",
        "rt-polarity.neg": "4af43bf489620b498a0852c5a8c6a535155dec7985fdfea782b8f7756b957ccc",
    }
    for name, digest in pinned.items():
        assert hashlib.sha256((polarity_folder / name).read_bytes()).hexdigest() == digest, name
        assert digest in (polarity_folder / "README.md").read_text()


def test_packaged_source_needs_no_path():
    splits = load_splits(PACKAGED_DATA)
    assert {name: split_hash(splits[name]) for name in PINNED} == PINNED
