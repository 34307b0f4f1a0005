import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value
from transformers import AutoTokenizer

from rtsent.data.classes import CARVED_VALIDATION_SHARE
from rtsent.data.draws import stratified_range, stratified_sample
from rtsent.data.sources import (
    CANONICAL_SPLIT_HASHES,
    PACKAGED_DATA,
    DataSourceError,
    DataSpec,
    load_data,
    load_splits,
    noncanonical_splits,
    split_hash,
)
from rtsent.data.tokens import split_stats, tokenize
from rtsent.engine.backbones import _packaged_folder

# Computed once from the Cornell rt-polarity files with rtsent.data.sources.split_hash and pinned in rtsent.data.sources
# as the canonical splits: any change in reading, stripping, cutting or ordering changes them.
PINNED = CANONICAL_SPLIT_HASHES
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


def classes_drawn(labels, n: int, *, seeds: int) -> list[int | None]:
    """Per seed, how many classes scikit-learn's stratified draw of `n` rows holds (None: it refuses)."""
    from sklearn.model_selection import train_test_split

    drawn = []
    for seed in range(seeds):
        try:
            keep, _ = train_test_split(np.arange(len(labels)), train_size=n, stratify=labels, random_state=seed)
        except ValueError:
            drawn.append(None)
        else:
            drawn.append(len({labels[i] for i in keep}))
    return drawn


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


def test_sizes_the_stratified_draw_cannot_make_are_refused_with_the_range(splits):
    # 8529 leaves one row out: scikit-learn needs one of each class out, so it raised its own ValueError
    expected = (
        r"max_train_samples=8529 is out of range; the training split has 8530 rows \(4265 neg, 4265 pos\) "
        r"and a stratified draw can keep 2\.\.8528 of them or all 8530"
    )
    for n in (8529, 1, 0, -3):
        with pytest.raises(DataSourceError, match=expected.replace("8529", str(n))):
            stratified_sample(splits["train"], n, seed=0)
    assert len(stratified_sample(splits["train"], 8528, seed=0)) == 8528
    assert sorted(stratified_sample(splits["train"], 2, seed=0)["label"]) == [0, 1]
    assert len(stratified_sample(splits["train"], 8530, seed=0)) == 8530


@pytest.mark.parametrize(("neg", "pos"), [(2, 2), (2, 9), (3, 14), (5, 5), (2, 40), (7, 30), (1, 6)])
def test_stratified_range_is_exactly_what_the_draw_can_make(neg, pos):
    labels = [0] * neg + [1] * pos
    split = Dataset.from_dict({"text": [f"t{i}" for i in range(len(labels))], "label": labels})
    valid = stratified_range(labels)
    for n in range(1, len(labels)):
        if valid and valid[0] <= n <= valid[1]:
            for seed in range(4):  # every size in the range holds both labels, whatever the seed
                assert set(stratified_sample(split, n, seed=seed)["label"]) == {0, 1}, (n, seed)
            continue
        with pytest.raises(DataSourceError, match=f"max_train_samples={n} is out of range"):
            stratified_sample(split, n, seed=0)
        # and scikit-learn really cannot make it: it raises, or some seed draws a single class
        drawn = classes_drawn(labels, n, seeds=20)
        assert None in drawn or 1 in drawn, (n, drawn)


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
OTHER = pd.DataFrame({"text": ["great film", "dull film"], "label": [1, 0]})  # shares no text with GOOD


@pytest.mark.parametrize(
    ("frames", "expected"),
    [
        ({"train": GOOD, "validation": GOOD}, "has no 'test' split: expected one of test.parquet"),
        ({"train": GOOD[["text"]], "validation": GOOD, "test": GOOD}, r"lacks column\(s\) \['label'\]"),
        (
            {"train": GOOD.assign(label=[1, 2]), "validation": GOOD, "test": GOOD},
            r"label 0 never occurs in the training split, whose largest label is 2 \(1 id\(s\) missing\); integer",
        ),
        (
            {"train": GOOD, "validation": OTHER.assign(label=[2, 0]), "test": GOOD},
            r"validation.csv', data row 1 \(header not counted\): label 2 is not a class of the training split "
            r"\(ids 0..1\); the validation split may hold only the training split's classes",
        ),
        (  # a string in an integer-labelled split is not a class of it either
            {"train": GOOD, "validation": OTHER, "test": GOOD.assign(label=["pos", "neg"])},
            r"test.csv', data row 1 .*: label 'pos' is not a class of the training split \(ids 0..1\) \(1 more bad",
        ),
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
    # rtsent/data/rt-polaritydata/README.md pins these; a changed file would change every result.
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


def _folder(tmp_path, train_name, train_bytes):
    """A split-file folder whose train split is `train_bytes`; validation and test are good CSV files."""
    folder = tmp_path / "bad"
    _write_splits(folder, {"validation": GOOD, "test": GOOD})
    (folder / train_name).write_bytes(train_bytes)
    return folder


def _jsonl(*rows):
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


OK_ROWS = ({"text": "good film", "label": 1}, {"text": "bad film", "label": 0})


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        # null, NaN and empty texts: JSONL names the file's line (1-based)
        ("train.jsonl", _jsonl(*OK_ROWS, {"text": None, "label": 1}), "train.jsonl', line 3: text is null; every text"),
        ("train.jsonl", b'{"text": "a", "label": 1}\n{"text": NaN, "label": 0}\n', "line 2: text is null"),
        ("train.jsonl", _jsonl(*OK_ROWS, {"text": " \t ", "label": 0}), "line 3: text is empty after strip()"),
        ("train.jsonl", _jsonl(*OK_ROWS, {"text": "", "label": 0}), "line 3: text is empty; every text must"),
        ("train.jsonl", _jsonl(*OK_ROWS, {"label": 0}), "line 3: has no 'text'"),
        ("train.jsonl", _jsonl({"text": 5, "label": 0}, *OK_ROWS), r"line 1: text 5 is not a string \(int\)"),
        (
            "train.jsonl",
            _jsonl(*OK_ROWS) + b"\n" + _jsonl({"text": None, "label": 1}, {"text": None, "label": 0}),
            r"line 4: text is null \(1 more bad row\(s\) like it\)",  # the blank line 3 is counted, not read
        ),
        # CSV names the data row (1-based, header not counted); "NA" and "nan" are texts there, not nulls
        ("train.csv", b"text,label\ngood,1\n,0\n", r"data row 2 \(header not counted\): text is empty;"),
        ("train.csv", b"text,label\ngood,1\n   ,0\n", "data row 2 .*: text is empty after strip()"),
        # labels: null, float, string, boolean, out of range; refused by name, never converted
        ("train.jsonl", _jsonl(*OK_ROWS, {"text": "x", "label": None}), "line 3: label is null; labels must be"),
        # strings are class names, but not beside integers in one column
        (
            "train.jsonl",
            _jsonl({"text": "x", "label": "1"}, *OK_ROWS),
            r"labels mix integers and strings \(line 1: '1', ",
        ),
        ("train.jsonl", _jsonl(*OK_ROWS, {"text": "x", "label": -1}), "line 3: label -1 is negative; labels must be"),
        ("train.jsonl", _jsonl({"text": "x", "label": " pos"}), "line 1: label ' pos' has leading or trailing white"),
        ("train.jsonl", _jsonl({"text": "x", "label": ""}), "line 1: label '' is empty; labels must be class ids"),
        ("train.jsonl", _jsonl({"text": "x", "label": [1]}), r"line 1: label \[1\] is neither an integer nor a str"),
        ("train.jsonl", _jsonl({"text": "x", "label": 1.0}, *OK_ROWS), "line 1: label 1.0 is a float"),
        ("train.jsonl", _jsonl({"text": "x", "label": True}, *OK_ROWS), "line 1: label True is a boolean"),
        ("train.csv", b"text,label\ngood,1\nbad,\n", r"data row 2 \(header not counted\): label is null"),
        ("train.csv", b"text,label\ngood,1.0\nbad,0.0\n", r"data row 1 .*: label 1.0 is a float \(1 more"),
        (
            "train.csv",
            b"text,label\ngood,pos\nbad,0\n",
            r"labels mix integers and strings \(data row 1 \(header not counted\): 'pos', data row 2 .*: 0\); a label",
        ),
    ],
)
def test_bad_rows_name_the_file_and_the_row(tmp_path, name, content, expected):
    with pytest.raises(DataSourceError, match=expected) as caught:
        load_splits(str(_folder(tmp_path, name, content)))
    assert "\n" not in str(caught.value) and str(tmp_path / "bad" / name) in str(caught.value)


def test_bad_parquet_rows_name_the_row(tmp_path):
    folder = tmp_path / "bad"
    _write_splits(folder, {"validation": GOOD, "test": OTHER})
    cases = [
        # a nullable integer label column with a missing value (pandas raised "boolean value of NA is ambiguous")
        (
            pd.DataFrame({"text": ["a", "b", "c"], "label": pd.array([1, None, 0], dtype="Int64")}),
            "row 2: label is null",
        ),
        (pd.DataFrame({"text": ["a", "b"], "label": [1.0, 0.0]}), r"row 1: label 1.0 is a float \(1 more"),
        (pd.DataFrame({"text": ["a", None], "label": [1, 0]}), "row 2: text is null"),
        (pd.DataFrame({"text": ["a", np.nan], "label": [1, 0]}), "row 2: text is null"),
        (pd.DataFrame({"text": ["a", "  "], "label": [1, 0]}), "row 2: text is empty after strip()"),
    ]
    for frame, expected in cases:
        frame.to_parquet(folder / "train.parquet")
        with pytest.raises(DataSourceError, match=f"train.parquet', {expected}"):
            load_splits(str(folder))
    pd.DataFrame({"text": ["a", "b"], "label": pd.array([1, 0], dtype="Int64")}).to_parquet(folder / "train.parquet")
    assert load_splits(str(folder))["train"]["label"] == [1, 0]  # a nullable int column without nulls is fine


def test_blank_line_in_polarity_file_is_named(tmp_path, polarity_folder):
    folder = tmp_path / "rt"
    folder.mkdir()
    (folder / "rt-polarity.neg").write_bytes((polarity_folder / "rt-polarity.neg").read_bytes())
    lines = (polarity_folder / "rt-polarity.pos").read_bytes().splitlines(keepends=True)
    (folder / "rt-polarity.pos").write_bytes(b"".join(lines[:6] + [b"  \n"] + lines[6:]))
    with pytest.raises(DataSourceError, match=r"rt-polarity.pos', line 7: text is empty; every text must be"):
        load_splits(str(folder))


def test_csv_and_jsonl_with_a_byte_order_mark_are_read(tmp_path, splits):
    folder = tmp_path / "bom"
    folder.mkdir()
    for name, ext in (("train", "csv"), ("validation", "jsonl"), ("test", "csv")):
        frame = splits[name].to_pandas()
        if ext == "csv":
            frame.to_csv(folder / f"{name}.csv", index=False, encoding="utf-8-sig")
        else:
            frame.to_json(folder / f"{name}.jsonl", orient="records", lines=True, force_ascii=False)
            (folder / f"{name}.jsonl").write_bytes(b"\xef\xbb\xbf" + (folder / f"{name}.jsonl").read_bytes())
    assert (folder / "train.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    loaded = load_splits(str(folder))
    assert {name: split_hash(loaded[name]) for name in PINNED} == PINNED
    assert noncanonical_splits(loaded) == []  # the same texts in other files are still the canonical data


def test_every_split_must_hold_two_classes(tmp_path, polarity_folder):
    positive = pd.DataFrame({"text": [f"good film {i}" for i in range(6)], "label": [1] * 6})
    _write_splits(tmp_path / "one", {"train": positive, "validation": GOOD, "test": GOOD})
    with pytest.raises(DataSourceError) as caught:
        load_splits(str(tmp_path / "one"))
    assert str(caught.value) == (
        f"data {str(tmp_path / 'one')!r}: the train split holds only label 1 in its 6 rows; every split needs two "
        "classes or more, the training split all 2"
    )
    _write_splits(tmp_path / "two", {"train": GOOD, "validation": GOOD, "test": positive.assign(label=0)})
    with pytest.raises(DataSourceError, match=r"the test split holds only label 0 in its 6 rows; every split"):
        load_splits(str(tmp_path / "two"))
    named = pd.DataFrame({"text": [f"fine film {i}" for i in range(4)], "label": ["pos"] * 4})
    _write_splits(tmp_path / "three", {"train": GOOD.assign(label=["pos", "neg"]), "validation": named, "test": named})
    with pytest.raises(DataSourceError, match=r"the validation split holds only label 1 \(pos\) in its 4 rows"):
        load_splits(str(tmp_path / "three"))
    # one line per rt-polarity file: 80/10/10 cuts leave validation and test empty
    folder = tmp_path / "tiny"
    folder.mkdir()
    for name in ("rt-polarity.pos", "rt-polarity.neg"):
        (folder / name).write_bytes((polarity_folder / name).read_bytes().splitlines(keepends=True)[0])
    with pytest.raises(DataSourceError, match="the validation split has no rows; every split needs two classes"):
        load_splits(str(folder))


def test_canonical_splits_are_recognised_and_other_data_are_not(tmp_path, splits):
    assert noncanonical_splits(splits) == []
    folder = tmp_path / "other"
    folder.mkdir()
    for name in ("train", "validation", "test"):
        frame = splits[name].to_pandas()
        if name == "test":
            frame.loc[0, "text"] = frame.loc[0, "text"] + " !"
        frame.to_parquet(folder / f"{name}.parquet")
    assert noncanonical_splits(load_splits(str(folder))) == ["test"]
    # a stratified subsample of the canonical training split is not the canonical split by hash:
    # the workbench judges the full splits, before max_train (tests/test_runner.py)
    assert noncanonical_splits(load_splits(PACKAGED_DATA, max_train_samples=200)) == ["train"]


def test_hub_loader_checks_rows_and_labels_too(tmp_path, monkeypatch):
    import datasets

    from rtsent.data.sources import _from_hub

    # datasets.load_dataset reads a local folder of parquet files as it reads a hub dataset's
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "cache")
    folder = tmp_path / "hub"
    folder.mkdir()
    for name in ("train", "validation", "test"):
        texts = ["good film", None if name == "test" else "bad film"]
        pd.DataFrame({"text": texts, "label": [1, 0]}).to_parquet(folder / f"{name}.parquet")
    with pytest.raises(DataSourceError, match=f"hub dataset '{folder}', test split, row 2: text is null; every text"):
        _from_hub(str(folder))
    assert (tmp_path / "cache").is_dir()


def test_texts_shared_across_splits_are_counted_and_refused_above_one_percent(tmp_path, splits):
    # the canonical splits share no text: the threshold never refuses the packaged data
    assert load_data(PACKAGED_DATA).duplicates == {"train-validation": 0, "train-test": 0, "validation-test": 0}
    train = splits["train"].to_pandas()
    for copied, refused in ((10, False), (11, True)):  # 1% of the 1,066-row test split is 10.66 texts
        folder = tmp_path / f"leak{copied}"
        folder.mkdir()
        test = splits["test"].to_pandas()
        test.loc[: copied - 1, "text"] = train["text"][:copied].to_numpy()  # rows 0..copied-1 now train texts
        for name, frame in (("train", train), ("validation", splits["validation"].to_pandas()), ("test", test)):
            frame.to_parquet(folder / f"{name}.parquet")
        if refused:
            with pytest.raises(DataSourceError) as caught:
                load_data(str(folder))
            assert str(caught.value) == (
                f"data {str(folder)!r}: 11 texts are in both the train and the test split (1.0% of the smaller "
                "split's 1066 rows); at most 1% may be shared, as more leaks answers into evaluation: remove the "
                "duplicates from one split"
            )
        else:
            assert load_data(str(folder)).duplicates == {"train-validation": 0, "train-test": 10, "validation-test": 0}


def test_a_folder_with_two_files_for_a_split_is_refused(tmp_path, polarity_folder):
    folder = tmp_path / "two"
    _write_splits(folder, {"train": GOOD, "validation": OTHER, "test": GOOD.assign(text=["fine", "poor"])})
    GOOD.to_json(folder / "train.jsonl", orient="records", lines=True)
    with pytest.raises(DataSourceError) as caught:
        load_splits(str(folder))
    assert str(caught.value) == (
        f"data folder {str(folder)!r} holds the 'train' split in 2 files (train.csv, train.jsonl); "
        "keep one file per split"
    )
    (folder / "train.jsonl").unlink()
    for name in ("rt-polarity.pos", "rt-polarity.neg"):
        (folder / name).write_bytes((polarity_folder / name).read_bytes())
    with pytest.raises(DataSourceError) as caught:
        load_splits(str(folder))
    assert str(caught.value) == (
        f"data folder {str(folder)!r} holds both rt-polarity files (rt-polarity.pos, rt-polarity.neg) and split files "
        "(test.csv, train.csv, validation.csv); it must hold one or the other: move one set out"
    )


def test_polarity_files_decode_as_their_bytes_say(tmp_path, polarity_folder):
    lines = {
        "rt-polarity.pos": ["un café très fin .", "a fine film ."],
        "rt-polarity.neg": ["naïve and dull .", "bad ."],
    }
    for encoding, expected in (("utf-8", "utf-8"), ("utf-8-sig", "utf-8"), ("latin-1", "latin-1")):
        folder = tmp_path / encoding
        folder.mkdir()
        for name, texts in lines.items():
            rows = [f"{text} {i}" for i in range(10) for text in texts]  # distinct: no text in two splits
            (folder / name).write_bytes(("\n".join(rows) + "\n").encode(encoding))
        loaded = load_data(str(folder))
        assert loaded.encoding == expected
        assert loaded.splits["train"]["text"][0] == "un café très fin . 0"  # not 'un cafÃ© trÃ¨s fin .'
    # one file of each: both named
    (tmp_path / "utf-8" / "rt-polarity.neg").write_bytes((tmp_path / "latin-1" / "rt-polarity.neg").read_bytes())
    assert load_data(str(tmp_path / "utf-8")).encoding == "rt-polarity.pos: utf-8, rt-polarity.neg: latin-1"
    # the Cornell files are not valid UTF-8: Latin-1, as the hub reads them (their split hashes are pinned above)
    assert load_data(str(polarity_folder)).encoding == "latin-1"


# ---- any single-label task: K classes, named columns, string labels, carved validation ----


def _rows(labels, prefix):
    """A frame of distinct texts (`prefix` keeps splits from sharing any) with `labels`."""
    return pd.DataFrame({"text": [f"{prefix} sentence {i}" for i in range(len(labels))], "label": labels})


def _task(folder, train, test, validation=None, ext="csv", columns=("text", "label")):
    """A split-file folder of `ext` files; `columns` renames text and label."""
    folder.mkdir()
    frames = {"train": train, "test": test} | ({"validation": validation} if validation is not None else {})
    for name, frame in frames.items():
        frame = frame.rename(columns=dict(zip(("text", "label"), columns, strict=True)))
        if ext == "csv":
            frame.to_csv(folder / f"{name}.csv", index=False)
        elif ext == "parquet":
            frame.to_parquet(folder / f"{name}.parquet")
        else:
            frame.to_json(folder / f"{name}.jsonl", orient="records", lines=True, force_ascii=False)
    return folder


def test_three_integer_classes_load_with_their_ids_as_names(tmp_path):
    folder = _task(tmp_path / "d", _rows([0, 1, 2] * 4, "tr"), _rows([2, 0, 1], "te"), _rows([1, 2], "va"))
    loaded = load_data(str(folder))
    assert loaded.label_names == ("0", "1", "2") and loaded.carved_validation is None
    assert loaded.splits["train"]["label"][:] == [0, 1, 2] * 4 and loaded.splits["test"]["label"][:] == [2, 0, 1]
    assert loaded.splits["train"].features == Features(
        {"text": Value("string"), "label": ClassLabel(names=["0", "1", "2"])}
    )
    stats = split_stats(loaded.splits)
    assert stats[0] == {"split": "train", "rows": 12, "n:0": 4, "n:1": 4, "n:2": 4, "rarest_share": 4 / 12}
    # a plain source string is DataSpec(source=that)
    assert split_hash(load_data(DataSpec(source=str(folder))).splits["test"]) == split_hash(loaded.splits["test"])


def test_string_labels_are_names_with_ids_in_sorted_order(tmp_path):
    names = ["pos", "neg", "Neutral", "10", "9"]  # code-point order: '10' < '9' < 'Neutral' < 'neg' < 'pos'
    folder = _task(
        tmp_path / "d", _rows(names * 2, "tr"), _rows(["neg", "9"], "te"), _rows(["pos", "10"], "va"), "jsonl"
    )
    loaded = load_data(str(folder))
    assert loaded.label_names == ("10", "9", "Neutral", "neg", "pos")
    assert loaded.splits["train"]["label"][:5] == [4, 3, 2, 0, 1] and loaded.splits["test"]["label"][:] == [3, 1]
    assert loaded.splits["validation"].features["label"].names == ["10", "9", "Neutral", "neg", "pos"]
    # the classes are the training split's: an evaluation label it lacks is named with its split
    (folder / "test.jsonl").write_text(
        _jsonl({"text": "te 0", "label": "neg"}, {"text": "te 1", "label": "mixed"}).decode()
    )
    with pytest.raises(DataSourceError) as caught:
        load_data(str(folder))
    assert str(caught.value) == (
        f"split file {str(folder / 'test.jsonl')!r}, line 2: label 'mixed' is not a class of the training split "
        "(names '10', '9', 'Neutral', 'neg', 'pos'); the test split may hold only the training split's classes"
    )


@pytest.mark.parametrize("ext", ["csv", "jsonl", "parquet"])
def test_other_column_names_are_read_by_name(tmp_path, ext):
    columns = ("sentence", "y")
    folder = _task(
        tmp_path / "d", _rows(["b", "a"] * 3, "tr"), _rows(["a", "b"], "te"), _rows(["a", "b"], "va"), ext, columns
    )
    loaded = load_data(DataSpec(source=str(folder), text_column="sentence", label_column="y"))
    assert loaded.splits["train"].column_names == ["text", "label"]
    assert loaded.splits["train"]["text"][0] == "tr sentence 0" and loaded.splits["train"]["label"][:2] == [1, 0]
    with pytest.raises(DataSourceError) as caught:
        load_data(str(folder))
    assert str(caught.value) == (
        f"split file {str(folder / f'train.{ext}')!r} lacks column(s) ['text', 'label']; it has ['sentence', 'y']: "
        "set --rtsent-text-column to its text column and --rtsent-label-column to its label column"
    )
    with pytest.raises(
        DataSourceError, match=r"lacks column\(s\) \['label'\]; it has \['sentence', 'y'\]: set --rtsent-label"
    ):
        load_data(DataSpec(source=str(folder), text_column="sentence"))


def test_data_spec_refuses_bad_column_names_and_is_a_cache_key():
    assert DataSpec() == DataSpec(source="cornell-movie-review-data/rotten_tomatoes", text_column="text")
    assert len({DataSpec(), DataSpec(), DataSpec(config_name="x")}) == 2  # hashable, by value
    for kwargs, message in [
        ({"text_column": ""}, r"DataSpec text_column='' \(--rtsent-text-column\) must be a non-empty string"),
        ({"label_column": 3}, r"DataSpec label_column=3 \(--rtsent-label-column\) must be a non-empty string"),
        ({"text_column": "s", "label_column": "s"}, "text_column and label_column are both 's'"),
    ]:
        with pytest.raises(ValueError, match=message):
            DataSpec(**kwargs)
    with pytest.raises(TypeError):
        DataSpec("rt-polarity")  # keyword-only


def test_integer_ids_must_all_occur_in_training(tmp_path):
    folder = _task(tmp_path / "d", _rows([0, 2, 3, 0, 2, 3], "tr"), _rows([0, 2], "te"), _rows([3, 0], "va"))
    with pytest.raises(DataSourceError) as caught:
        load_data(str(folder))
    assert str(caught.value) == (
        f"data {str(folder)!r}: label 1 never occurs in the training split, whose largest label is 3 (1 id(s) "
        "missing); integer labels must be the ids 0..K-1 of K classes, every one of them in the training split"
    )


def test_unlabeled_test_splits_are_refused(tmp_path):
    train, validation = _rows([0, 1] * 3, "tr"), _rows([0, 1], "va")
    glue = _task(tmp_path / "glue", train, _rows([-1, -1, -1], "te"), validation, "jsonl")
    with pytest.raises(DataSourceError) as caught:
        load_data(str(glue))
    assert str(caught.value) == (
        f"split file {str(glue / 'test.jsonl')!r}: every label is -1 (3 rows): the test split has no labels, but it "
        "is the held-out judge of every method and needs them: give a labelled test split"
    )
    blank = _task(tmp_path / "blank", train, _rows([None, None], "te"), validation, "csv")
    assert (blank / "test.csv").read_text().splitlines()[1] == "te sentence 0,"
    with pytest.raises(DataSourceError, match=r"test.csv': every label is null \(2 rows\): the test split has no lab"):
        load_data(str(blank))
    # a -1 among labels is a bad row, named
    some = _task(tmp_path / "some", train, _rows([0, -1, 1], "te"), validation, "jsonl")
    with pytest.raises(DataSourceError, match=r"test.jsonl', line 2: label -1 is negative; labels must be class ids"):
        load_data(str(some))


def test_validation_is_carved_from_train_when_missing(tmp_path):
    labels = [0] * 30 + [1] * 20 + [2] * 10  # ordered by class, as the Cornell files are
    folder = _task(tmp_path / "d", _rows(labels, "tr"), _rows([0, 1, 2], "te"))
    first, again = load_data(str(folder)), load_data(str(folder))
    size = round(CARVED_VALIDATION_SHARE * 60)
    assert first.carved_validation == size == 6
    assert (len(first.splits["train"]), len(first.splits["validation"])) == (54, 6)
    for name in ("train", "validation"):  # the same rows every load (seed 0)
        assert split_hash(first.splits[name]) == split_hash(again.splits[name])
    assert sorted(first.splits["validation"]["label"]) == [0, 0, 0, 1, 1, 2]  # stratified: 30/20/10 in 6 rows
    kept, carved = first.splits["train"]["text"][:], first.splits["validation"]["text"][:]
    assert not set(kept) & set(carved) and sorted(kept + carved) == sorted(_rows(labels, "tr")["text"])
    position = {text: i for i, text in enumerate(_rows(labels, "tr")["text"])}
    assert [position[t] for t in kept] == sorted(position[t] for t in kept)  # original row order kept
    assert [position[t] for t in carved] == sorted(position[t] for t in carved)
    assert first.duplicates["train-validation"] == 0


def test_a_train_split_too_small_to_carve_from_is_refused(tmp_path):
    folder = _task(tmp_path / "d", _rows([0] * 20 + [1], "tr"), _rows([0, 1], "te"))
    with pytest.raises(DataSourceError) as caught:
        load_data(str(folder))
    assert str(caught.value) == (
        f"data {str(folder)!r} has no validation split and its training split is too small to carve one: 10% of "
        "its 21 rows is 2, for 2 classes, and class 1 has 1 row(s); a stratified carve needs 2 rows of every class "
        "and a row per class on each side: add a validation split"
    )
    tiny = _task(tmp_path / "tiny", _rows([0, 0, 1, 1], "tr"), _rows([0, 1], "te"))
    with pytest.raises(DataSourceError, match="10% of its 4 rows is 0, for 2 classes"):
        load_data(str(tiny))


def _hub(monkeypatch, dataset):
    """datasets.load_dataset returning `dataset`; the (path, config) it was called with are recorded."""
    import datasets

    calls = []

    def load_dataset(path, name=None, *args, **kwargs):
        calls.append((path, name))
        return dataset

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    return calls


def test_hub_class_label_names_config_and_carved_validation(monkeypatch):
    names = ["negative", "neutral", "positive"]
    features = Features({"sentence": Value("string"), "idx": Value("int32"), "y": ClassLabel(names=names)})

    def split(labels, prefix):
        texts = [f"{prefix} {i}" for i in range(len(labels))]
        return Dataset.from_dict({"sentence": texts, "idx": list(range(len(labels))), "y": labels}, features=features)

    calls = _hub(monkeypatch, DatasetDict({"train": split([0, 1, 2] * 10, "tr"), "test": split([2, 1, 0], "te")}))
    spec = DataSpec(source="someone/tweets", text_column="sentence", label_column="y", config_name="sentiment")
    loaded = load_data(spec)
    assert calls == [("someone/tweets", "sentiment")]
    assert loaded.label_names == ("negative", "neutral", "positive") and loaded.encoding is None
    assert loaded.carved_validation == 3 and sorted(loaded.splits["validation"]["label"]) == [0, 1, 2]
    assert loaded.splits["test"].features["label"].names == names and loaded.splits["test"]["label"][:] == [2, 1, 0]
    with pytest.raises(DataSourceError) as caught:
        load_data(DataSpec(source="someone/tweets", config_name="sentiment"))
    assert str(caught.value) == (
        "hub dataset 'someone/tweets' (configuration 'sentiment') train split lacks column(s) ['text', 'label']; "
        "it has ['sentence', 'idx', 'y']: set --rtsent-text-column to its text column and --rtsent-label-column to "
        "its label column"
    )
    # GLUE's test splits: every label -1
    _hub(monkeypatch, DatasetDict({"train": split([0, 1, 2] * 10, "tr"), "test": split([-1, -1], "te")}))
    with pytest.raises(DataSourceError, match=r"hub dataset 'someone/tweets' \(configuration 'sentiment'\), test "):
        load_data(spec)
    _hub(monkeypatch, DatasetDict({"train": split([0, 1, 2] * 10, "tr")}))
    with pytest.raises(DataSourceError, match=r"lacks split\(s\) \['test'\]; it has \['train'\]"):
        load_data(spec)


def test_a_folder_refuses_options_it_cannot_use(tmp_path, polarity_folder):
    with pytest.raises(DataSourceError, match=r"is a folder; a configuration name \('sst2', --rtsent-data-config\)"):
        load_data(DataSpec(source=str(polarity_folder), config_name="sst2"))
    with pytest.raises(DataSourceError, match="holds rt-polarity files, which have no columns; --rtsent-text-column"):
        load_data(DataSpec(source=PACKAGED_DATA, text_column="sentence"))


def test_packaged_data_keeps_its_names_and_hashes():
    loaded = load_data(PACKAGED_DATA)
    assert loaded.label_names == ("neg", "pos") and loaded.carved_validation is None
    assert {name: split_hash(loaded.splits[name]) for name in PINNED} == PINNED
    assert loaded.splits["test"].features["label"].names == ["neg", "pos"]
    assert load_data(DataSpec(source=PACKAGED_DATA)).label_names == ("neg", "pos")


@pytest.mark.parametrize("counts", [(2, 2, 2), (2, 3, 9), (5, 2, 30), (3, 3, 3, 20), (4, 7, 2, 2)])
def test_stratified_range_holds_every_class_for_k_classes(counts):
    labels = [label for label, count in enumerate(counts) for _ in range(count)]
    split = Dataset.from_dict({"text": [f"t{i}" for i in range(len(labels))], "label": labels})
    valid = stratified_range(labels)
    for n in range(1, len(labels)):
        if valid and valid[0] <= n <= valid[1]:
            for seed in range(4):
                assert set(stratified_sample(split, n, seed=seed)["label"]) == set(range(len(counts))), (n, seed)
            continue
        with pytest.raises(DataSourceError, match=f"max_train_samples={n} is out of range"):
            stratified_sample(split, n, seed=0)
        if valid and n < valid[0]:  # below the range, some seed misses a class (or scikit-learn refuses)
            drawn = classes_drawn(labels, n, seeds=40)
            assert None in drawn or min(drawn) < len(counts), (n, drawn)
    names = Dataset.from_dict(
        {"text": ["a", "b", "c"], "label": [0, 1, 2]},
        features=Features({"text": Value("string"), "label": ClassLabel(names=["x", "y", "z"])}),
    )
    with pytest.raises(
        DataSourceError, match=r"has 3 rows \(1 x, 1 y, 1 z\) and a stratified draw can keep only all 3"
    ):
        stratified_sample(names, 2, seed=0)
