"""The benchmark case: one per grid entry (method, lr, swept values, precision, seed), trained once,
evaluated, recorded. Collected from the repository (`pytest bench/`, whose test_methods.py imports it)
or from an installed rtsent anywhere (`pytest --pyargs rtsent.plugin.benchmark --rtsent-profile=quick`).
"""

import pytest


def test_method(benchmark, rtsent, case):
    # rounds=1, iterations=1: a case trains once; the benchmark's time is the whole case.
    result = benchmark.pedantic(rtsent.run, args=(case,), rounds=1, iterations=1)
    benchmark.extra_info.update(result.record)  # recorded before any verdict, so a failing case keeps its record
    if result.status == "skipped":
        pytest.skip(result.message)
    if result.status not in ("passed", "pruned"):  # a pruned trial did what the search asked of it
        pytest.fail(f"{result.status}: {result.message}", pytrace=False)
