"""TF-IDF word 1-2-grams + logistic regression (scikit-learn): no transformer at all, the
bag-of-words baseline the transformer methods must beat.

Parameters: trainable = the logistic regression's coefficients + intercept (vocabulary + 1);
total adds the idf weights (one per vocabulary entry) the vectorizer learned from the training split.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from rtsent.engine.backbones import Backbone
from rtsent.engine.callbacks import Callback
from rtsent.engine.recipe import Recipe
from rtsent.engine.workbench import Task
from rtsent.methods.base import MethodTags
from rtsent.schema.ranges import POSITIVE, POSITIVE_INT, Constraint, Span


class TfidfLogistic:
    tags = MethodTags(uses_backbone=False)  # reads the sentences' words: no tokenizer ids, no transformer
    parameter_ranges: ClassVar[dict[str, Constraint]] = {
        "C": POSITIVE,
        "ngram_range": Span(POSITIVE_INT),
        "min_df": POSITIVE_INT,  # a count of sentences: 0 would mean the same as 1
    }

    def __init__(
        self,
        *,
        recipe: Recipe,
        precision: str,
        seed: int,
        lr: float | None = None,
        C: float = 1.0,  # scikit-learn's name: inverse L2 regularisation strength
        ngram_range: tuple[int, int] = (1, 2),  # word n-grams, TfidfVectorizer's name
        min_df: int = 1,  # n-grams in fewer training sentences are dropped
        sublinear_tf: bool = False,  # 1 + log(tf) instead of tf
    ) -> None:
        self.recipe = recipe  # unused: no tokenizer, no batches
        self.precision = precision  # unused: float64 throughout (scikit-learn)
        self.seed = seed
        self.lr = lr  # unused: kept so every method takes the same arguments
        self.C = C
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.sublinear_tf = sublinear_tf

    def check_backbone(self, backbone: Backbone) -> None:
        """Nothing to refuse: no transformer: the sentences' words."""

    def fit(self, task: Task, *, callbacks: Sequence[Callback] = ()) -> Self:
        """Vectorize the training sentences and fit; `callbacks` hear nothing: no gradient steps."""
        vectorizer = TfidfVectorizer(
            ngram_range=tuple(self.ngram_range), min_df=self.min_df, sublinear_tf=self.sublinear_tf
        )
        classifier = LogisticRegression(C=self.C, max_iter=1000, random_state=self.seed)
        self.pipeline_ = make_pipeline(vectorizer, classifier).fit(task.texts("train"), task.labels("train"))
        learned = classifier.coef_.size + classifier.intercept_.size
        self.parameter_counts_ = (learned, learned + vectorizer.idf_.size)
        self.params_in_memory_ = self.parameter_counts_[1]
        self.train_info_ = {"vocabulary": len(vectorizer.vocabulary_), "iterations": int(classifier.n_iter_.max())}
        return self

    def predict(self, task: Task, split: str) -> np.ndarray:
        return self.predict_texts(task, task.texts(split), batch_size=len(task.texts(split)))

    def predict_texts(self, task: Task, texts: Sequence[str], *, batch_size: int) -> np.ndarray:
        """(rows,) labels of sentences; `batch_size` is moot (scikit-learn takes all at once)."""
        return self.pipeline_.predict(list(texts))

    def save(self, folder: Path) -> None:
        """idf weights and the classifier (`tfidf.safetensors`) and the vocabulary (`vocabulary.json`)."""
        from safetensors.numpy import save_file

        vectorizer, classifier = self.pipeline_[0], self.pipeline_[-1]
        arrays = {"idf": vectorizer.idf_, "coef": classifier.coef_, "intercept": classifier.intercept_}
        save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(Path(folder) / "tfidf.safetensors"))
        save_vocabulary(vectorizer.vocabulary_, Path(folder) / "vocabulary.json")


def save_vocabulary(vocabulary: dict[str, Any], path: Path) -> None:
    """n-gram -> column index, as JSON (plain ints: numpy's do not serialize)."""
    path.write_text(json.dumps({k: int(v) for k, v in vocabulary.items()}, ensure_ascii=False), encoding="utf-8")
