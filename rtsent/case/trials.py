"""One trial of the budgeted search (`--rtsent-search`): ask the row's Optuna study for a configuration, run
it as an ordinary case (rtsent.case.runner.run_case) with a pruner fed by the learning curve, and tell the
study how it ended.

Study: one per (profile, model, data, training-subset size, grid row without its lr, precision, seed,
search-space digest), named by those, in the storage `--rtsent-study` names: an Optuna journal file
(`optuna.storages.JournalStorage` over `JournalFileBackend`, which locks the file for each write) or SQLite
for a path ending in .db, .sqlite or .sqlite3. pytest-xdist workers, or hosts that share the file, share
the study: each trial is asked for given every trial finished so far, wherever it ran. Nothing else
coordinates them.

Sampler: TPE (Bergstra et al. 2011, "Algorithms for hyper-parameter optimization"; Optuna's `TPESampler`,
multivariate, with the constant liar for trials asked while others run), whose first
`startup_trials(trials)` trials are random draws. It is seeded from the case's seed and trial index, so
the same command on the same machine asks the same configurations.
Pruner (`--rtsent-pruner`), over epochs of the profile's recipe: `hyperband` (Li et al. 2018, Optuna's
`HyperbandPruner`, reduction factor 3, from 1 epoch to the recipe's), `halving` (asynchronous successive
halving, Li et al. 2020, `SuccessiveHalvingPruner`), `median` (`MedianPruner` after the startup trials), or
`none`. It hears the validation accuracy after each epoch (the curve's `on_evaluate`); test accuracy never
reaches the study.

Objective: the best validation accuracy over the curve's epochs (the selection on validation may pick any
of them, rtsent.report.selection), or the final one for a method without a curve (svm, tfidf, nbsvm).
Sampled floats are rounded to 3 significant digits before training (what the record and the case trains),
so that a selected configuration re-runs under a readable case id.

How a trial ends in the study: COMPLETE (the case passed; its record), PRUNED (status `pruned`: the curve up
to the stop and its training seconds), FAIL (diverged, oom, error, skipped). The record is kept on the trial
(user attribute `rtsent_record`), so the same command run again reuses each finished trial
(`resumed_from: "study NAME"`) and asks anew only for the cases that have none; a trial that a killed run
left running is told FAIL first.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rtsent.case.runner import CaseResult, run_case
from rtsent.engine.callbacks import Callback, Pruned
from rtsent.engine.workbench import Workbench
from rtsent.plan.cases import CaseConfig
from rtsent.plan.space import Choice, Search
from rtsent.schema.caseid import CaseId

CASE_ATTR = "rtsent_case"  # the trial's case id
RECORD_ATTR = "rtsent_record"  # the finished trial's record
SIGNIFICANT = 3  # digits a sampled float keeps


def startup_trials(trials: int) -> int:
    """Random trials before TPE models the results: a third of the budget, 2 to 10 (Optuna's default is 10)."""
    return min(10, max(2, trials // 3))


def study_name(config: CaseConfig, search: Search) -> str:
    """The study a trial belongs to: everything that makes its trials comparable, in one readable line."""
    row = CaseId(config.method, None, config.swept, config.precision).row  # the grid row, lr and trial aside
    subset = "full" if config.max_train is None else f"max_train{config.max_train}"
    if config.per_class is not None:  # a draw per seed: the seed is in the key already
        subset += f"-per_class{config.per_class}-validation={config.validation}"
    return " | ".join(
        (config.profile, config.model, config.data.source, subset, row, f"seed{config.seed}", search.digest)
    )


def storage(path: str) -> Any:
    """The Optuna storage at `path`: SQLite for .db/.sqlite/.sqlite3, else a journal file (created if absent)."""
    import optuna

    file = Path(path)
    if file.suffix in (".db", ".sqlite", ".sqlite3"):
        return optuna.storages.RDBStorage(f"sqlite:///{file.resolve()}")
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(str(file)))


def distributions(search: Search, method: str) -> dict[str, Any]:
    """The method's space as Optuna distributions."""
    import optuna.distributions as dist

    out = {}
    for key, dimension in search.spaces[method].dimensions:
        if isinstance(dimension, Choice):
            out[key] = dist.CategoricalDistribution([list(v) if isinstance(v, tuple) else v for v in dimension.values])
        elif dimension.integer:
            out[key] = dist.IntDistribution(dimension.low, dimension.high, log=dimension.log, step=dimension.step or 1)
        else:
            out[key] = dist.FloatDistribution(dimension.low, dimension.high, log=dimension.log, step=dimension.step)
    return out


def pruner(search: Search, config: CaseConfig) -> Any:
    import optuna.pruners as pruners

    epochs = max(1, math.ceil(config.recipe.epochs))
    if search.pruner == "hyperband":
        return pruners.HyperbandPruner(min_resource=1, max_resource=epochs, reduction_factor=3)
    if search.pruner == "halving":
        return pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    if search.pruner == "median":
        return pruners.MedianPruner(n_startup_trials=startup_trials(search.trials), n_warmup_steps=0)
    return pruners.NopPruner()


def rounded(value: Any) -> Any:
    """A sampled float to SIGNIFICANT digits (3.1622e-4 -> 3.16e-4); anything else as it is."""
    if isinstance(value, float) and value != 0 and math.isfinite(value):
        return float(f"{value:.{SIGNIFICANT - 1}e}")
    return value


class Pruning(Callback):
    """Reports each epoch's validation accuracy to the trial and stops the case when the pruner says so."""

    def __init__(self, trial: Any) -> None:
        self.trial = trial

    def on_evaluate(self, metrics: dict[str, Any]) -> None:
        epoch = metrics["epoch"]
        self.trial.report(metrics["val_accuracy"], step=metrics.get("resource") or max(1, math.ceil(epoch - 1e-9)))
        if self.trial.should_prune():
            raise Pruned(f"pruned after epoch {epoch:g}: val accuracy {metrics['val_accuracy']:.4f}", epoch=epoch)


def trial_config(config: CaseConfig, search: Search, params: dict[str, Any]) -> CaseConfig:
    """The case a trial trains: the grid row's configuration with the sampled values (`params`) in place."""
    from dataclasses import replace

    point = search.spaces[config.method].point({key: rounded(value) for key, value in params.items()})
    merged = dict(config.params) | dict(point.params)
    return replace(
        config,
        lr=config.lr if point.lr is None else point.lr,
        recipe=point.recipe(config.recipe),
        params=tuple(merged.items()),
        swept=tuple((dict(config.swept) | dict(point.swept)).items()),
    )


def objective(record: dict[str, Any]) -> float:
    """What the study maximises: the best validation accuracy over the curve, else the final one."""
    values = [p["val_accuracy"] for p in record.get("curve") or [] if p.get("val_accuracy") is not None]
    return max(values) if values else record["val_accuracy"]


def run_trial(
    config: CaseConfig,
    *,
    search: Search,
    workbench: Workbench,
    callbacks: Sequence[Callback] = (),
    save_to: Path | None = None,
    serving: str = "once",
) -> CaseResult:
    """Ask, run, tell (above). The record is run_case's, its case id the trial's, plus `trial` (the index)
    and `search` (space, digest, budget, sampler, pruner, study, Optuna's trial number and raw values)."""
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial would drown pytest's output
    name = study_name(config, search)
    study = optuna.create_study(
        study_name=name,
        storage=storage(search.storage),
        direction="maximize",
        load_if_exists=True,
        # constant_liar: a trial asked while others run (xdist workers, hosts) avoids their configurations
        sampler=optuna.samplers.TPESampler(
            n_startup_trials=startup_trials(search.trials),
            multivariate=True,
            constant_liar=True,
            seed=config.seed * 100_003 + config.trial,
        ),
        pruner=pruner(search, config),
    )
    mine = [t for t in study.get_trials(deepcopy=False) if t.user_attrs.get(CASE_ATTR) == config.case_id]
    for earlier in mine:
        if earlier.state in (TrialState.COMPLETE, TrialState.PRUNED) and RECORD_ATTR in earlier.user_attrs:
            record = {**earlier.user_attrs[RECORD_ATTR], "resumed_from": f"study {name}"}
            return CaseResult(record["status"], record.get("message", ""), record)
        if earlier.state == TrialState.RUNNING:  # a run killed mid-trial: not a result
            study.tell(earlier.number, state=TrialState.FAIL)
    trial = study.ask(distributions(search, config.method))
    trial.set_user_attr(CASE_ATTR, config.case_id)
    concrete = trial_config(config, search, trial.params)
    result = run_case(
        concrete,
        workbench=workbench,
        callbacks=[*callbacks, Pruning(trial)],
        save_to=save_to,
        serving=serving,
    )
    record = result.record
    if record.get("serving_measured_in") == concrete.case_id:  # this trial timed them
        record["serving_measured_in"] = config.case_id
    record.update(
        case=config.case_id,
        row=config.row,
        trial=config.trial,
        search={
            "space": search.name,
            "space_digest": search.digest,
            "trials": search.trials,  # the budget every searched row gets
            "sampler": "TPESampler(multivariate=True, constant_liar=True, "
            f"n_startup_trials={startup_trials(search.trials)})",
            "pruner": search.pruner,
            "study": name,
            "storage": str(search.storage),
            "number": trial.number,  # Optuna's trial number in the study: the order it was asked in
            "params": dict(trial.params),  # as sampled, before rounding
        },
    )
    kept = json.loads(json.dumps(record, default=str))  # as a results file holds it (numpy numbers as JSON)
    if result.status in ("passed", "below_floor"):
        trial.set_user_attr(RECORD_ATTR, kept)
        study.tell(trial, objective(record))
    elif result.status == "pruned":
        trial.set_user_attr(RECORD_ATTR, kept)
        study.tell(trial, state=TrialState.PRUNED)
    else:
        study.tell(trial, state=TrialState.FAIL)
    return result
