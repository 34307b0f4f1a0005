"""What trains and measures a model (torch): the device and precision (devices), the training recipe
(recipe), loading and checking a backbone and counting its parameters (backbones), the training loop
(training) and its callbacks, timers, peak memory and FLOP/s (measuring), and the per-task cache of
tokenized splits and frozen features every method shares (workbench).

May import: rtsent.data, rtsent.schema.
"""
