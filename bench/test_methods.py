"""The comparison: the benchmark case (rtsent/plugin/benchmark.py), collected from the repository.

pytest bench/ --rtsent-profile=quick --benchmark-json=out.json
"""

from rtsent.plugin.benchmark import test_method  # noqa: F401  (pytest collects it here)
