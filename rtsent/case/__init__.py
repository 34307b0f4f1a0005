"""One case, run: train, evaluate with learning curves, time serving, judge against the floor, and
return a record (runner, curves, serving).

May import: rtsent.plan, rtsent.methods, rtsent.engine, rtsent.data, rtsent.schema. Never the reporter.
"""
