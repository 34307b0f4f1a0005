"""Build a 3-class sentence folder from the packaged Rotten Tomatoes splits: negative, mixed, positive.

No other labelled text data are on the package registries, so the multi-class demonstration builds its
own task from the one it has. Every row joins two sentences of one split with "; " (drawn without
replacement, seed 0): two positive ones are "positive", two negative ones "negative", one of each (in
random order) "mixed". All rows are two sentences joined alike, so neither length nor a connective gives
the class away; every text stays inside its split (no leakage); the three classes are equally large
(a third of each split's sentence pairs); the labels are strings, which rtsent maps to ids in sorted
order (mixed=0, negative=1, positive=2).

    python docs/scripts/mixed_polarity_folder.py OUT_FOLDER
writes OUT_FOLDER/{train,validation,test}.jsonl and prints each split's class counts.
"""

import json
import random
import sys
from pathlib import Path

from rtsent.data.sources import load_data


def mixed_rows(texts: list[str], labels: list[int], rng: random.Random) -> list[dict[str, str]]:
    pos = [t for t, y in zip(texts, labels, strict=True) if y == 1]
    neg = [t for t, y in zip(texts, labels, strict=True) if y == 0]
    rng.shuffle(pos)
    rng.shuffle(neg)
    third = min(len(pos), len(neg)) // 3  # rows per class: each class row uses two sentences
    mixed = [(a, b) if rng.random() < 0.5 else (b, a) for a, b in zip(pos[:third], neg[:third], strict=True)]
    rows = [{"text": f"{a}; {b}", "label": "mixed"} for a, b in mixed]
    for label, sentences in (("positive", pos[third : 3 * third]), ("negative", neg[third : 3 * third])):
        rows += [{"text": f"{a}; {b}", "label": label} for a, b in zip(sentences[::2], sentences[1::2], strict=True)]
    rng.shuffle(rows)
    return rows


def main(out: Path) -> None:
    splits = load_data("rt-polarity").splits
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(0)
    for name in ("train", "validation", "test"):
        rows = mixed_rows(list(splits[name]["text"]), list(splits[name]["label"]), rng)
        with open(out / f"{name}.jsonl", "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(row) + "\n" for row in rows)
        counts = {label: sum(r["label"] == label for r in rows) for label in ("negative", "mixed", "positive")}
        print(name, len(rows), counts)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
