"""SetFit (Tunstall et al. 2022, "Efficient Few-Shot Learning Without Prompts"): the encoder, pooled as a
sentence-transformer, is first fine-tuned contrastively on pairs drawn from the training set (same class:
cosine target 1, different classes: 0), then a logistic regression is fitted on its embeddings.

Built on the `setfit` package (a dependency of rtsent): its `Trainer` samples the pairs
(`num_iterations` positive and negative pairs per example, the paper's 20) and trains the body with
sentence-transformers' trainer and `CosineSimilarityLoss`, then fits the head. Nothing of it reaches the
hub: the model is built here from the case's backbone, the data set is in memory, its `evaluate`-based
`Trainer.evaluate` is never called, and no checkpoint, log or model card is written.

The pairs grow with the training set (2 · num_iterations · rows), so `max_steps` caps the body's
optimizer steps (of `batch_size` pairs): at the defaults, 1,000 steps = 16,000 pairs, which the paper's
40 pairs per example (20 of each kind) reach at 400 examples; a larger set sees fewer pairs per example
(recorded). The recipe's `epochs` (rounded up), `batch_size`, `warmup_ratio`, `max_length` and `pooling`
are used; its weight decay, gradient clipping and head lr are setfit's own (0.01, 1.0, none: the head is
a logistic regression).
Precision: fp32 only (`tags.precisions`): setfit turns on fp16 autocast alone, and only on CUDA; a case
in another precision is skipped with that reason.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np

from rtsent.engine.backbones import Backbone, BackboneSourceError, count_parameters
from rtsent.engine.callbacks import Callback, as_callback
from rtsent.engine.recipe import Recipe
from rtsent.engine.workbench import Task
from rtsent.methods.base import MethodTags
from rtsent.schema.ranges import POSITIVE, POSITIVE_INT, Constraint


class SetFit:
    # trained through the backbone by its own loop (sentence-transformers'), evaluated once at the end:
    # the per-epoch learning curve needs a head that exists only after the body's training
    tags = MethodTags(takes_lr=True, serving_shape=(), precisions=("fp32",))
    parameter_ranges: ClassVar[dict[str, Constraint]] = {
        "num_iterations": POSITIVE_INT,
        "max_steps": POSITIVE_INT,
        "C": POSITIVE,
    }

    def __init__(
        self,
        *,
        recipe: Recipe,
        precision: str,
        seed: int,
        lr: float,
        num_iterations: int = 20,  # pairs of each kind drawn per training example (the paper's 20)
        max_steps: int = 1000,  # at most this many body steps of recipe.batch_size pairs
        C: float = 1.0,  # the logistic-regression head's inverse regularisation (scikit-learn's default)
    ) -> None:
        self.recipe = recipe
        self.precision = precision
        self.seed = seed
        self.lr = lr  # the body's learning rate (setfit's body_learning_rate; the paper: 2e-5)
        self.num_iterations = num_iterations
        self.max_steps = max_steps
        self.C = C

    def check_backbone(self, backbone: Backbone) -> None:
        """`BackboneSourceError` when `setfit` is not installed; any encoder transformers builds pools."""
        try:
            import setfit  # noqa: F401
        except ImportError:
            raise BackboneSourceError("method 'setfit' needs the setfit package: pip install 'setfit>=1.2'") from None

    def _body(self, backbone: Backbone, folder: str) -> Any:
        """(sentence-transformer) the backbone's encoder with `recipe.pooling` over its tokens: read from the
        backbone's folder, or (random weights, a hub id) built by the backbone (seeded) and saved to `folder`."""
        from sentence_transformers import SentenceTransformer

        try:  # sentence-transformers 5.4 and later; the old path warns there
            from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
        except ImportError:
            from sentence_transformers.models import Pooling, Transformer

        location = backbone.location
        if not (backbone.has_weights and Path(location).is_dir()):  # built here: no hub id reaches ST's loader
            encoder = backbone.new_model(seed=self.seed).base_model
            encoder.save_pretrained(folder, safe_serialization=True)
            backbone.tokenizer.save_pretrained(folder)
            location = folder
        transformer = Transformer(
            location,
            max_seq_length=self.recipe.max_length or backbone.max_tokens,
            model_kwargs={"use_safetensors": True, "trust_remote_code": False},
        )
        # renamed in sentence-transformers 6 (the old name warns there)
        dimension = getattr(transformer, "get_embedding_dimension", None) or transformer.get_word_embedding_dimension
        pooling = Pooling(dimension(), pooling_mode=self.recipe.pooling)
        return SentenceTransformer(modules=[transformer, pooling], device="cpu")

    def fit(self, task: Task, *, callbacks: Sequence[Callback] = ()) -> Self:
        """Contrastive body training, then the head; `callbacks` hear on_train_begin, each body step
        (loss None: the trainer keeps it) and on_train_end; no on_epoch_end (no head yet to evaluate)."""
        import torch
        from datasets import Dataset
        from setfit import SetFitModel, Trainer, TrainingArguments
        from sklearn.linear_model import LogisticRegression

        if task.device.type == "cuda" and torch.cuda.device_count() > 1:
            # transformers' Trainer picks its own device and wraps several GPUs in DataParallel (a batch per
            # GPU): neither the case's device nor its recorded batch would hold
            raise RuntimeError(
                f"setfit sees {torch.cuda.device_count()} GPUs; pin one (--rtsent-devices or CUDA_VISIBLE_DEVICES)"
            )
        rows, passes = len(task.labels("train")), math.ceil(self.recipe.epochs)
        pairs = 2 * self.num_iterations * rows * passes  # num_iterations of each kind per example, each pass
        # setfit's max_steps is the exact length (it repeats the pairs to reach it), so it is passed only
        # when the pairs would take longer: a cap, as this method's `max_steps` promises
        planned = passes * math.ceil(2 * self.num_iterations * rows / self.recipe.batch_size)
        with tempfile.TemporaryDirectory() as scratch:
            body = self._body(task.backbone, str(Path(scratch) / "body")).to(task.device)
            head = LogisticRegression(C=self.C, max_iter=1000, random_state=self.seed)
            model = SetFitModel(model_body=body, model_head=head)
            self.model_ = body  # the torch module trained (the contract test and callbacks read it)
            args = TrainingArguments(
                output_dir=str(Path(scratch) / "checkpoints"),
                batch_size=self.recipe.batch_size,
                num_epochs=passes,  # passes over the pairs (setfit's: 1)
                num_iterations=self.num_iterations,
                max_steps=self.max_steps if planned > self.max_steps else -1,
                body_learning_rate=self.lr,
                warmup_proportion=self.recipe.warmup_ratio,
                seed=self.seed,
                show_progress_bar=False,
                report_to="none",
                logging_strategy="no",
                save_strategy="no",
            )
            train = Dataset.from_dict({"text": task.texts("train"), "label": task.labels("train").tolist()})
            trainer = Trainer(model=model, args=args, train_dataset=train, callbacks=[_relay(as_callback(callbacks))])
            trainer.train()
        self.setfit_ = model
        steps = int(trainer.st_trainer.state.global_step)
        learned = head.coef_.size + head.intercept_.size
        _, encoder = count_parameters(body)
        self.parameter_counts_ = (encoder + learned, encoder + learned)  # every body weight trains, and the head
        self.params_in_memory_ = encoder + learned
        seen = min(steps * self.recipe.batch_size, pairs)  # the last batch of a pass may be partial
        self.train_info_ = {
            "steps": steps,
            "pairs": seen,
            "pairs_per_example": seen / rows,
            "head_iterations": int(np.max(head.n_iter_)),
        }
        return self

    def predict(self, task: Task, split: str) -> np.ndarray:
        return self.predict_texts(task, task.texts(split), batch_size=self.recipe.eval_batch_size)

    def predict_texts(self, task: Task, texts: Sequence[str], *, batch_size: int) -> np.ndarray:
        """(rows,) labels of new sentences: the body embeds them, the logistic regression classifies."""
        predicted = self.setfit_.predict(list(texts), batch_size=batch_size, as_numpy=True, show_progress_bar=False)
        return np.asarray(predicted, dtype=np.int64)

    def save(self, folder: Path) -> None:
        """The fine-tuned body as a sentence-transformer (`body/`, model.safetensors; every weight changed,
        so the base model is not shared) and the head's coefficients (`head.safetensors`)."""
        from safetensors.numpy import save_file

        self.setfit_.model_body.save(str(Path(folder) / "body"), create_model_card=False, safe_serialization=True)
        head = self.setfit_.model_head
        arrays = {"coef": head.coef_, "intercept": head.intercept_}
        save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(Path(folder) / "head.safetensors"))


def _relay(hooks: Callback) -> Any:
    """A transformers `TrainerCallback` telling `hooks` the trainer's steps (transformers imported here, late)."""
    from transformers import TrainerCallback

    class Relay(TrainerCallback):
        """transformers' trainer hooks told to rtsent's callbacks (rtsent.engine.callbacks)."""

        def __init__(self, hooks: Callback) -> None:
            self.hooks = hooks

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.hooks.on_train_begin(total_steps=state.max_steps, steps_per_epoch=state.max_steps)

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.hooks.on_step_end(state.global_step - 1, None, None)

        def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.hooks.on_train_end(state.global_step)

    return Relay(hooks)
