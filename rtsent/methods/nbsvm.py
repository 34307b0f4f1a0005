"""NB-SVM (Wang & Manning 2012, "Baselines and Bigrams: Simple, Good Sentiment and Topic
Classification", §2.3): a linear SVM on binarized word n-gram features scaled by their naive-Bayes
log-count ratios, its weights interpolated towards their mean magnitude. The paper reports 79.4%
(NBSVM-bi, 10-fold cross-validation) on this very sentence polarity data.

With f̂ the binarized n-gram counts of a sentence (vocabulary V) and α the smoothing:
    p = α + Σ_{y=1} f̂,  q = α + Σ_{y=0} f̂,  r = log((p / ‖p‖₁) / (q / ‖q‖₁))        (V,)
    x = r ∘ f̂;  (w, b) = LinearSVC(C) on x (L2-regularised squared hinge, liblinear: the paper's)
    w' = (1 − β) · w̄ + β · w,  w̄ = ‖w‖₁ / |V|;  ŷ = 1{w'ᵀx + b' > 0}
    b' = b, or β · b with `scale_intercept`: the paper leaves the bias implicit; scaling it with the β·w
    part of w' is the other reading (issue 23: 0.784 against 0.767 val in one plain run), so validation chooses
Defaults are the paper's: α = 1, C = 1, β = 0.25, uni- and bigrams, b unscaled.

With K > 2 classes, one such scorer per class against the rest (the paper's one-vs-rest for its topic
tasks): r, w', b of class c from y = c against y ≠ c, ŷ = argmax_c w'_cᵀx_c + b_c. A binary task has the
one scorer of class 1 (y ≠ 1 is y = 0): exactly the formulas above.

Parameters: S scorers (1, or K): trainable = w and b (S·(|V| + 1)); total adds r (S·|V|).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Self

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.svm import LinearSVC

from rtsent.engine.backbones import Backbone
from rtsent.engine.callbacks import Callback
from rtsent.engine.recipe import Recipe
from rtsent.engine.workbench import Task
from rtsent.methods.base import MethodTags
from rtsent.methods.tfidf import save_vocabulary
from rtsent.schema.ranges import POSITIVE, POSITIVE_INT, Constraint, Interval, Span


class NBSVM:
    tags = MethodTags(uses_backbone=False)  # reads the sentences' words: no tokenizer ids, no transformer
    parameter_ranges: ClassVar[dict[str, Constraint]] = {
        "C": POSITIVE,
        "alpha": POSITIVE,  # α = 0 divides by a zero count
        "beta": Interval(float, 0, 1),  # an interpolation weight
        "ngram_range": Span(POSITIVE_INT),
    }

    def __init__(
        self,
        *,
        recipe: Recipe,
        precision: str,
        seed: int,
        lr: float | None = None,
        C: float = 1.0,  # scikit-learn's name (LinearSVC)
        alpha: float = 1.0,  # the paper's α: count smoothing
        beta: float = 0.25,  # the paper's β: interpolation weight of the SVM's own w
        ngram_range: tuple[int, int] = (1, 2),
        scale_intercept: bool = False,  # b' = β·b (True) or b (False, the committed results' rule)
    ) -> None:
        self.recipe = recipe  # unused: no tokenizer, no batches
        self.precision = precision  # unused: float64 throughout (scikit-learn)
        self.seed = seed
        self.lr = lr  # unused: kept so every method takes the same arguments
        self.C = C
        self.alpha = alpha
        self.beta = beta
        self.ngram_range = ngram_range
        self.scale_intercept = scale_intercept

    def check_backbone(self, backbone: Backbone) -> None:
        """Nothing to refuse: no transformer: the sentences' words."""

    def fit(self, task: Task, *, callbacks: Sequence[Callback] = ()) -> Self:
        """Count, scale and fit; `callbacks` hear nothing: no gradient steps."""
        self.vectorizer_ = CountVectorizer(ngram_range=tuple(self.ngram_range), binary=True)
        counts = self.vectorizer_.fit_transform(task.texts("train"))  # (rows, |V|) 0/1
        labels = task.labels("train")
        scored = range(task.num_labels) if task.num_labels > 2 else [1]  # the classes with a scorer
        ratios, weights, intercepts, iterations = [], [], [], 0
        for label in scored:
            p = self.alpha + np.asarray(counts[labels == label].sum(axis=0)).ravel()
            q = self.alpha + np.asarray(counts[labels != label].sum(axis=0)).ravel()
            r = np.log((p / p.sum()) / (q / q.sum()))  # (|V|,)
            svm = LinearSVC(C=self.C, random_state=self.seed, max_iter=10_000).fit(
                counts.multiply(r).tocsr(), (labels == label).astype(np.int64)
            )
            w = svm.coef_.ravel()
            ratios.append(r)
            weights.append((1 - self.beta) * np.abs(w).mean() + self.beta * w)  # (|V|,) the interpolated w'
            intercepts.append(float(svm.intercept_[0]) * (self.beta if self.scale_intercept else 1.0))
            iterations = max(iterations, int(svm.n_iter_))
        self.r_, self.coef_, self.intercept_ = (
            np.stack(ratios),
            np.stack(weights),
            np.array(intercepts),
        )  # (S, |V|), (S,)
        self.parameter_counts_ = (
            self.coef_.size + self.intercept_.size,
            self.coef_.size + self.intercept_.size + self.r_.size,
        )
        self.params_in_memory_ = self.parameter_counts_[1]
        self.train_info_ = {"vocabulary": int(self.r_.shape[1]), "iterations": iterations}
        return self

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        """(rows, S) w'_cᵀx_c + b_c per scorer; binary: one column, positive means label 1."""
        binary = self.vectorizer_.transform(list(texts))  # (rows, |V|) 0/1
        return np.stack(
            [binary.multiply(r).tocsr() @ w + b for r, w, b in zip(self.r_, self.coef_, self.intercept_, strict=True)],
            axis=1,
        )

    def predict(self, task: Task, split: str) -> np.ndarray:
        return self.predict_texts(task, task.texts(split), batch_size=len(task.texts(split)))

    def predict_texts(self, task: Task, texts: Sequence[str], *, batch_size: int) -> np.ndarray:
        """(rows,) labels of sentences; `batch_size` is moot (scikit-learn takes all at once)."""
        scores = self.decision_function(texts)
        if scores.shape[1] == 1:
            return (scores[:, 0] > 0).astype(np.int64)
        return scores.argmax(1).astype(np.int64)

    def save(self, folder: Path) -> None:
        """r, w' and b (`nbsvm.safetensors`) and the vocabulary (`vocabulary.json`)."""
        from safetensors.numpy import save_file

        arrays = {"r": self.r_, "coef": self.coef_, "intercept": self.intercept_}  # (S, |V|), (S, |V|), (S,)
        save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(Path(folder) / "nbsvm.safetensors"))
        save_vocabulary(self.vectorizer_.vocabulary_, Path(folder) / "vocabulary.json")
