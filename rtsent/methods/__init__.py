"""The methods compared, one module each, in one registry (a plain dict: name -> class); what each
method is, its `tags` (rtsent.methods.base.MethodTags).

Each follows scikit-learn's estimator contract: hyperparameters stored in `__init__` (no work there),
`fit(task, callbacks=...)` returns self, learned state ends in `_`, `predict(task, split)` gives labels.
"""

from __future__ import annotations

import inspect
from typing import Any

from rtsent.methods.base import Method, MethodTags
from rtsent.methods.bitfit import BitFit
from rtsent.methods.dora import DoRA
from rtsent.methods.full import FullFineTune
from rtsent.methods.head import FrozenHead
from rtsent.methods.ia3 import IA3
from rtsent.methods.lora import LoRA
from rtsent.methods.nbsvm import NBSVM
from rtsent.methods.prompt import PromptTuning
from rtsent.methods.setfit import SetFit
from rtsent.methods.svm import FrozenSVM
from rtsent.methods.tfidf import TfidfLogistic
from rtsent.schema.ranges import POSITIVE, Constraint, out_of_range

__all__ = ["METHODS", "Method", "MethodTags", "TAKES_LR", "get_method"]

METHODS: dict[str, type] = {
    "svm": FrozenSVM,
    "head": FrozenHead,
    "full": FullFineTune,
    "lora": LoRA,
    "dora": DoRA,
    "ia3": IA3,
    "prompt": PromptTuning,
    "bitfit": BitFit,
    "setfit": SetFit,
    "tfidf": TfidfLogistic,
    "nbsvm": NBSVM,
}
# Methods trained by gradient descent (`tags.takes_lr`) require a learning rate; the others take `lr=None`
# only so that every method takes the same arguments.
TAKES_LR = {name for name, cls in METHODS.items() if cls.tags.takes_lr}


# Arguments every method takes; each case's record states them apart (recipe, precision, seed, lr).
CASE_ARGUMENTS = ("recipe", "precision", "seed", "lr")
LR_RANGE = POSITIVE  # the learning rate of the methods in TAKES_LR


def parameter_ranges(name: str) -> dict[str, Constraint]:
    """The valid range of each numeric argument of a method: its learning rate (TAKES_LR) and the
    hyperparameters its class declares in `parameter_ranges`, beside its `__init__` (as scikit-learn's
    `_parameter_constraints`); tests/test_method_contract.py checks that no numeric hyperparameter lacks one."""
    declared = getattr(get_method(name), "parameter_ranges", {})
    return {**({"lr": LR_RANGE} if name in TAKES_LR else {}), **declared}


def check_params(name: str, values: dict[str, Any]) -> None:
    """ValueError "NAME=VALUE for method 'M' is not RANGE" for the first of `values` (lr and
    hyperparameters) outside its declared range: before any work, not once training has begun."""
    bad = out_of_range(parameter_ranges(name), values)
    if bad is not None:
        key, value, constraint = bad
        raise ValueError(f"{key}={value!r} for method {name!r} is not {constraint}")


def method_params(estimator: Any) -> dict[str, Any]:
    """The estimator's other hyperparameters (scikit-learn's get_params convention: each `__init__`
    argument is an attribute of the same name), e.g. LoRA's {"r": 8, "lora_alpha": 16, "lora_dropout": 0.1}."""
    names = inspect.signature(type(estimator).__init__).parameters
    return {name: getattr(estimator, name) for name in names if name not in ("self", *CASE_ARGUMENTS)}


def get_method(name: str) -> type:
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; valid methods: {', '.join(METHODS)}")
    return METHODS[name]
