"""The session: rtsent's options (`OPTIONS`: name, environment variable, default, help), parsed and
checked once (`parse_options`, a one-line ValueError per bad value), the shared workbench, the grid to
run (rtsent.plan.cases.build_grid) and the records written as cases finish.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from rtsent.plugin.plans import listed_once as _listed_once
from rtsent.plugin.plans import split as _split

OPTIONS = {
    # option: (environment variable, default, help)
    "profile": ("RTSENT_PROFILE", "seed", "profile: seed (the study, GPU), offline, quick (CI gate), smoke"),
    "seeds": ("RTSENT_SEEDS", "0", "comma-separated seeds, e.g. 0,1,2"),
    "methods": ("RTSENT_METHODS", "", "comma-separated methods to run (default: the profile's grid)"),
    "precisions": ("RTSENT_PRECISIONS", "", "comma-separated precisions fp32,fp16,bf16 (default: the profile's)"),
    "model": (
        "RTSENT_MODEL",
        "",
        "model source: hub id, folder, minilm-l6, mpnet-base, random:NAME (default: the profile's)",
    ),
    "data": ("RTSENT_DATA", "", "data source: rt-polarity (packaged), a folder or a hub id (default: the profile's)"),
    "text-column": ("RTSENT_TEXT_COLUMN", "text", "the data's column holding the sentence"),
    "label-column": (
        "RTSENT_LABEL_COLUMN",
        "label",
        "the data's column holding the class: integers 0..K-1, or names (ids in sorted order)",
    ),
    "data-config": (
        "RTSENT_DATA_CONFIG",
        "",
        "a hub dataset's configuration name (datasets.load_dataset's second argument)",
    ),
    "target-modules": (
        "RTSENT_TARGET_MODULES",
        "",
        "comma-separated module-name suffixes LoRA/DoRA adapt as query/value (default: peft's table for the "
        "architecture, else rtsent's), e.g. query,value",
    ),
    "max-train": ("RTSENT_MAX_TRAIN", "", "stratified training-subset size (default: the profile's)"),
    "per-class": (
        "RTSENT_PER_CLASS",
        "",
        "labelled-set sizes, examples per class, each case run at each, e.g. 8,32,128,all (all: the whole "
        "training split); every seed draws its own examples",
    ),
    "min-steps": (
        "RTSENT_MIN_STEPS",
        "100",
        "with --rtsent-per-class: optimizer steps a gradient-trained case takes at least (more epochs on few examples)",
    ),
    "validation": (
        "RTSENT_VALIDATION",
        "full",
        "with --rtsent-per-class: full (the source's validation split) or drawn (cut to the same size per class, "
        "the true few-shot setting)",
    ),
    "sweep": (
        "RTSENT_SWEEP",
        "",
        "sweep TOML: value lists per method for recipe fields and hyperparameters (a file, a packaged name such as "
        "'tune', or selected:RESULTS.json for the configurations selected on validation there)",
    ),
    "stop": (
        "RTSENT_STOP",
        "schedule",
        "with --rtsent-sweep=selected:RESULTS.json: schedule (train each configuration's whole schedule) or selected "
        "(stop at the epoch the selection chose, at the whole schedule's learning rates: that epoch's model for less)",
    ),
    "search": (
        "RTSENT_SEARCH",
        "",
        "budgeted search instead of a grid: a search-space TOML (distributions per method) or a packaged name such "
        "as 'tune'; Optuna's TPE with a pruner over epochs, --rtsent-trials cases per method row",
    ),
    "trials": (
        "RTSENT_TRIALS",
        "20",
        "with --rtsent-search: trials per method row, precision and seed (one budget for all)",
    ),
    "study": (
        "RTSENT_STUDY",
        "",
        "with --rtsent-search: the Optuna storage of the studies, a journal FILE (or FILE.db for SQLite); reruns "
        "resume from it, xdist workers and hosts share it",
    ),
    "pruner": ("RTSENT_PRUNER", "hyperband", "with --rtsent-search: hyperband, halving, median or none"),
    "floors": ("RTSENT_FLOORS", "", "floors TOML file (default: the profile's packaged file; 'none' for no gate)"),
    "records": (
        "RTSENT_RECORDS",
        "",
        "also write every case's record here, atomically after each case (survives kills); records of cases this "
        "run does not run stay in the file, those it runs again are replaced",
    ),
    "resume": (
        "RTSENT_RESUME",
        "",
        "results file of an earlier run: reuse each passed case whose model, data, recipe and versions match",
    ),
    "save": (
        "RTSENT_SAVE",
        "",
        "keep each case's artifacts in DIR/CASE_ID (adapter or head or model as safetensors, tokenizer, record.json)",
    ),
    "serving": (
        "RTSENT_SERVING",
        "once",
        "serving figures (latency, throughput): once per serving shape (model, method, adapter shape, precision, "
        "device) and reused by the session's other cases of that shape, every (timed in each case), off (none)",
    ),
    "devices": (
        "RTSENT_DEVICES",
        "",
        "under pytest-xdist (-n N): comma-separated CUDA device indices, worker i takes the i-th (mod the list)",
    ),
    "progress": (
        "RTSENT_PROGRESS",
        "auto",
        "live progress of each case: auto (unless -q), on, off; one updating line on a terminal, "
        "else a line per case and every 30 s",
    ),
}


@dataclass
class Session:
    """The options, parsed and checked once; the shared workbench; the grid to run."""

    profile: Any
    seeds: list[int]
    methods: list[str]
    precisions: list[str]
    model: str
    data: Any  # rtsent.data.sources.DataSpec: the source and its columns
    max_train: int | None
    floors: dict[str, float]
    device: Any
    lora_targets: tuple[str, ...] = ()  # --rtsent-target-modules
    sweep: dict[str, list[Any]] = field(default_factory=dict)  # method -> SweepPoints (rtsent.plan.sweeps)
    sweep_exact: bool = False  # selected:FILE: each point is one configuration that ran, not values to cross
    search: Any = None  # --rtsent-search: rtsent.plan.space.Search; None: the grid (and sweep) alone
    sizes: Any = None  # --rtsent-per-class: rtsent.plan.cases.TrainSizes; None: the training split as it is
    records_path: str = ""
    progress: str = "auto"
    progress_sink: Any = field(default=None, repr=False)  # set when pytest's terminal is up; None: silent
    save_dir: str = ""  # --rtsent-save: each case's artifacts in save_dir/case_id
    serving: str = "once"  # --rtsent-serving: rtsent.case.serving.SERVING_MODES
    devices: list[int] = field(default_factory=list)  # --rtsent-devices: one per xdist worker
    pinned_device: str | None = None  # what this worker's CUDA_VISIBLE_DEVICES was set to
    resume_path: str = ""
    resume: dict[str, dict[str, Any]] = field(default_factory=dict)
    workbench: Any = field(default=None, repr=False)
    records: list[dict[str, Any]] = field(default_factory=list)  # every case's record, in the order run
    kept_records: list[dict[str, Any]] = field(default_factory=list)  # the records file's, from before this run
    benchmark_json: str = ""  # --benchmark-json, which rtsent writes (atomically, kept when that fails)
    problems: list[str] = field(default_factory=list)  # one line per output not written, shown at the end

    def grid(self) -> list[Any]:
        """Every case's `CaseConfig` (rtsent.plan.cases.build_grid); a ValueError names case ids that come
        out twice."""
        from rtsent.plan.cases import build_grid

        return build_grid(
            profile=self.profile,
            methods=self.methods,
            precisions=self.precisions,
            seeds=self.seeds,
            model=self.model,
            data=self.data,
            max_train=self.max_train,
            floors=self.floors,
            device=self.device,
            sweep=self.sweep,
            sweep_exact=self.sweep_exact,
            lora_targets=self.lora_targets,
            trials={method: self.search.trials for method in self.search.spaces} if self.search else None,
            sizes=self.sizes,
        )

    def open(self) -> None:
        """Load the model source and the data once, now: a bad source stops the run before any training."""
        import torch

        from rtsent.data.draws import Draw, DrawError
        from rtsent.data.sources import DataSourceError
        from rtsent.engine.backbones import BackboneSourceError, check_max_length
        from rtsent.engine.devices import configure_threads
        from rtsent.engine.workbench import Workbench
        from rtsent.plugin.distributed import threads_per_worker, worker_id
        from rtsent.plugin.outputs import check_save_folder
        from rtsent.schema.records import RecordsError

        if self.workbench is not None:
            return
        from transformers.utils import logging as transformers_logging

        # transformers draws a "Loading weights" bar whenever a model loads: noise among pytest's lines
        transformers_logging.disable_progress_bar()
        cores = configure_threads()
        if worker_id() is not None:  # xdist workers split the cores between them
            torch.set_num_threads(threads_per_worker(cores))
        self.workbench = Workbench(device=self.device)
        try:
            _, hashes = self.workbench.splits(self.data, self.max_train)  # the data first: they give the classes
            if self.sizes is not None:  # every size drawable from every class, before any training
                for n in filter(None, self.sizes.per_class):
                    self.workbench.splits(
                        self.data, self.max_train, Draw(per_class=n, seed=0, validation=self.sizes.validation)
                    )
            # loaded and checked: weights, head (sized to the data's classes), tokenizer
            backbone = self.workbench.task_backbone(self.model, self.data, lora_targets=self.lora_targets)
            for method in self.methods:
                recipe = self.profile.recipe(method)
                for point in self.sweep.get(method, [None]):
                    check_max_length(backbone, (recipe if point is None else point.recipe(recipe)).max_length)
            self.check_methods(backbone)
            if self.save_dir:  # another model's artifacts in the folder would be overwritten case by case
                current = {"model": self.model, "data": self.data.source, "model_identity": backbone.identity}
                check_save_folder(self.save_dir, {**current, "split_hashes": hashes})
        except (BackboneSourceError, DataSourceError, DrawError, RecordsError) as error:
            message = f"--rtsent-per-class: {error}" if isinstance(error, DrawError) else str(error)
            raise pytest.UsageError(f"rtsent: {message}") from None

    def check_methods(self, backbone: Any) -> None:
        """Each case's method, with its hyperparameters, checked against the architecture once, before any
        training (`Method.check_backbone`: e.g. LoRA on a model no table names query/value projections for)."""
        from rtsent.methods import get_method

        seen = set()
        for config in self.grid():
            if (config.method, config.params) not in seen:
                seen.add((config.method, config.params))
                method = get_method(config.method)(
                    recipe=config.recipe, precision=config.precision, seed=0, lr=config.lr, **dict(config.params)
                )
                method.check_backbone(backbone)

    def run(self, config: Any) -> Any:
        """A case's result: reused from --rtsent-resume when everything that decides it matches (the
        record says why not otherwise, as `resume_rejected`), else run."""
        from rtsent.case.runner import CaseResult, case_inputs, judge, run_case
        from rtsent.plugin.distributed import worker_facts, worker_id
        from rtsent.plugin.progress import Progress
        from rtsent.schema.records import resume_mismatch

        old = None if config.trial is not None else self.resume.get(config.case_id)  # a trial resumes from its study
        rejected = None if old is None else resume_mismatch(old, case_inputs(config, self.workbench))
        if old is not None and rejected is None:
            record = {**old, "floor": config.floor, "resumed_from": self.resume_path}
            result = CaseResult(*judge(record, config), record)
            record.update(status=result.status, message=result.message)
        else:
            progress = Progress(config.case_id, self.progress_sink) if self.progress_sink else None
            try:
                save_to = Path(self.save_dir) / config.case_id if self.save_dir else None
                kwargs = {"callbacks": [progress] if progress else [], "save_to": save_to, "serving": self.serving}
                if config.trial is not None:
                    from rtsent.case.trials import run_trial

                    result = run_trial(config, search=self.search, workbench=self.workbench, **kwargs)
                else:
                    result = run_case(config, workbench=self.workbench, **kwargs)
            finally:
                if progress:
                    progress.close()
            if rejected:
                result.record["resume_rejected"] = rejected
            if worker_id() is not None:  # run here, now (a resumed record keeps where it ran)
                result.record.update(worker_facts(self.workbench.device, self.devices, self.pinned_device))
        self.records.append(result.record)
        if worker_id() is None:  # under xdist the controller writes the merged file
            self.save_records({"rtsent": self.workbench.facts})
        return result

    def save_records(self, machine_info: dict[str, Any]) -> None:
        """--rtsent-records rewritten: the file's earlier records that this run did not replace (same
        profile, model and case), then this run's."""
        if not self.records_path:
            return
        from rtsent.schema.records import record_key, records_text

        replaced = {record_key(record) for record in self.records}
        kept = [record for record in self.kept_records if record_key(record) not in replaced]
        self.write_output("--rtsent-records", self.records_path, records_text(kept + self.records, machine_info))

    def write_output(self, option: str, path: str, text: str) -> None:
        """`text` written to `path` atomically; when that fails, kept in the temp folder, and the one line
        saying where is shown at the end of the run (once, however many cases hit it)."""
        from rtsent.plugin.outputs import write_kept

        line = write_kept(option, path, text)
        if line is not None and line not in self.problems:
            self.problems.append(line)


def parse_devices(text: str) -> list[int]:
    try:
        devices = [int(part) for part in _split(text or "")]
    except ValueError:
        raise ValueError(f"--rtsent-devices={text!r} does not parse; expected device indices like 0,1,2,3") from None
    if any(d < 0 for d in devices) or len(set(devices)) != len(devices):
        raise ValueError(f"--rtsent-devices={text!r} must list distinct non-negative device indices like 0,1")
    return devices


def parse_options(get: Any, *, pinned: str | None = None) -> Session:
    """Build the session from `get(name)` -> option string; one-line ValueError on a bad value."""
    from rtsent.engine.devices import MIXED, pick_device, resolve_precision
    from rtsent.methods import METHODS
    from rtsent.plan.floors import default_floors_path, load_floors
    from rtsent.plan.profiles import get_profile
    from rtsent.plugin.distributed import worker_device
    from rtsent.plugin.plans import load_search, load_sizes, load_sweep_option
    from rtsent.plugin.progress import PROGRESS_MODES
    from rtsent.schema.caseid import PRECISIONS

    profile = get_profile(get("profile"))

    def given(name: str) -> str:  # a caller building the options itself may leave some out: their defaults
        return get(name) or OPTIONS[name][1]

    try:
        seeds = [int(part) for part in _split(get("seeds"))]
    except ValueError:
        raise ValueError(f"--rtsent-seeds={get('seeds')!r} does not parse; expected integers like 0,1,2") from None
    if not seeds or min(seeds) < 0:
        raise ValueError(f"--rtsent-seeds={get('seeds')!r} must list non-negative integers like 0,1,2")
    _listed_once("seeds", get("seeds"), _split(get("seeds")), seeds, "seed")
    methods = _split(get("methods")) or sorted({entry.method for entry in profile.grid}, key=list(METHODS).index)
    for method in methods:
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r} in --rtsent-methods; valid methods: {', '.join(METHODS)}")
    _listed_once("methods", get("methods"), methods, methods, "method")
    precisions = _split(get("precisions"))
    for precision in precisions:
        if precision not in (*PRECISIONS, MIXED):
            raise ValueError(
                f"unknown precision {precision!r} in --rtsent-precisions; valid: {', '.join(PRECISIONS)}, {MIXED}"
            )
    devices = parse_devices(get("devices"))
    device = worker_device(pick_device(), pinned)
    resolved = [resolve_precision(precision, device)[0] for precision in precisions]
    mixed_is = f", which is {resolve_precision(MIXED, device)[0]} on this {device.type}"
    _listed_once("precisions", get("precisions"), precisions, resolved, "precision", mixed_is)
    from rtsent.data.sources import DataSpec

    data = DataSpec(
        source=get("data") or profile.data,
        text_column=get("text-column") or "text",
        label_column=get("label-column") or "label",
        config_name=get("data-config") or None,
    )
    lora_targets = tuple(_split(get("target-modules") or ""))
    _listed_once("target-modules", get("target-modules"), list(lora_targets), list(lora_targets), "module")
    max_train_text = get("max-train")
    try:
        max_train = int(max_train_text) if max_train_text else profile.max_train
    except ValueError:
        raise ValueError(f"--rtsent-max-train={max_train_text!r} is not an integer") from None
    if max_train is not None and max_train < 2:
        raise ValueError(f"--rtsent-max-train={max_train} must be at least 2")
    floors_text = get("floors")
    floors = (
        {}
        if floors_text == "none"
        else load_floors(Path(floors_text) if floors_text else default_floors_path(profile.name))
    )
    stop = given("stop")  # "schedule" (the default) or "selected"
    if get("per-class") and stop != OPTIONS["stop"][1]:
        raise ValueError(
            f"--rtsent-stop={stop} does not go with --rtsent-per-class: the epochs were chosen on the whole "
            f"training split, and a drawn set trains many short epochs"
        )
    sweep = {}
    if get("sweep") or stop != OPTIONS["stop"][1]:
        sweep = load_sweep_option(get("sweep") or "", stop=stop)
        unknown = [m for m in sweep if m not in {e.method for e in profile.grid}]
        if unknown:
            raise ValueError(f"--rtsent-sweep names {unknown}, which profile {profile.name!r} does not run")
    search = load_search(given, profile, sweep) if get("search") else None
    sizes = load_sizes(given) if get("per-class") else None
    for option in ("min-steps", "validation"):  # said, and unheard without a size axis: refused
        if sizes is None and get(option) and get(option) != OPTIONS[option][1]:
            raise ValueError(
                f"--rtsent-{option}={get(option)!r} needs --rtsent-per-class (it sets the size axis's rule)"
            )
    from rtsent.plugin.outputs import check_writable

    # found wanting now, not after the training
    for option, as_folder in (("records", False), ("save", True), ("study", False)):
        if get(option):
            check_writable(f"--rtsent-{option}", get(option), folder=as_folder)
    from rtsent.case.serving import SERVING_MODES

    serving = get("serving") or "once"  # a caller that builds the options itself may leave it out
    if serving not in SERVING_MODES:
        raise ValueError(f"--rtsent-serving={serving!r} is not one of {', '.join(SERVING_MODES)}")
    if get("progress") not in PROGRESS_MODES:
        raise ValueError(f"--rtsent-progress={get('progress')!r} is not one of {', '.join(PROGRESS_MODES)}")
    resume = {}
    if get("resume"):
        from rtsent.schema.records import RecordsError, read_document, records_of

        try:
            resume = {r["case"]: r for r in records_of(read_document(get("resume")))}
        except RecordsError as error:
            raise ValueError(f"--rtsent-resume: {error}") from None
    return Session(
        profile=profile,
        seeds=seeds,
        methods=methods,
        precisions=precisions,
        model=get("model") or profile.model,
        data=data,
        max_train=max_train,
        floors=floors,
        device=device,
        lora_targets=lora_targets,
        records_path=get("records"),
        save_dir=get("save"),
        serving=serving,
        devices=devices,
        pinned_device=pinned,
        progress=get("progress"),
        resume_path=get("resume"),
        resume=resume,
        sweep=sweep,
        sweep_exact=get("sweep").startswith("selected:"),
        search=search,
        sizes=sizes,
    )
