"""The reporter: results JSON in, tables, statistics, selection on validation, plots and HTML out
(`rtsent-report`, cli). Reads records through rtsent.schema and never imports torch (an import-linter
contract in pyproject.toml checks both).

May import: rtsent.schema.
"""
