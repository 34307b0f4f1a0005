"""The pytest layer: options and fixtures (hooks, session), pytest-xdist workers and controller
(distributed), live progress (progress), and the output files (outputs). It wires pytest to the
library calls below and decides nothing about a case itself.

May import: every other part of rtsent.
"""
