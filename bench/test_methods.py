"""The comparison: one case per grid entry (method, lr, swept values, precision, seed), trained once,
evaluated, recorded.

pytest bench/ --rtsent-profile=quick --benchmark-json=out.json
"""

import pytest


def test_method(benchmark, rtsent, case):
    # rounds=1, iterations=1: a case trains once; the benchmark's time is the whole case.
    result = benchmark.pedantic(rtsent.run, args=(case,), rounds=1, iterations=1)
    benchmark.extra_info.update(result.record)  # recorded before any verdict, so a failing case keeps its record
    if result.status == "skipped":
        pytest.skip(result.message)
    if result.status != "passed":
        pytest.fail(f"{result.status}: {result.message}", pytrace=False)
