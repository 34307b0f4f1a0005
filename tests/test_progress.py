"""Live progress: what a case's line says, when it is written, and that the loss is read only then."""

import pytest

from rtsent.plugin.progress import LIVE_INTERVAL, PLAIN_INTERVAL, Progress, clock_text


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class Lines:
    """Where the lines go: a list instead of pytest's terminal (tests/test_bench.py runs the real one)."""

    def __init__(self, live):
        self.live = live
        self.shown = []
        self.cleared = 0

    def show(self, text):
        self.shown.append(text)

    def clear(self):
        self.cleared += 1


class Loss:
    """A loss that counts how often it is read (on a GPU each read waits for the device)."""

    def __init__(self, value):
        self.value = value
        self.reads = 0

    def __float__(self):
        self.reads += 1
        return self.value


def test_clock_text():
    assert [clock_text(s) for s in (0, 65.2, 3725)] == ["0:00", "1:05", "1:02:05"]


def test_training_line_says_epoch_step_loss_tokens_per_second_and_eta():
    clock, lines = Clock(), Lines(live=True)
    progress = Progress("full-lr5e-5-bf16-seed0", lines, clock=clock)
    progress.on_phase("training")
    progress.on_train_begin(total_steps=10, steps_per_epoch=4)
    clock.now += 6
    progress.on_step_end(5, Loss(0.6931), 3000)  # 6 of 10 steps done in 6 s: 4 s to go
    assert lines.shown[-1] == (
        "full-lr5e-5-bf16-seed0 | epoch 2/3 | step 6/10 | loss 0.6931 | 500 tok/s | ETA 0:04 | 0:06"
    )
    progress.on_phase("evaluating validation")
    assert lines.shown[-1] == "full-lr5e-5-bf16-seed0 | evaluating validation | 0:06"
    progress.close()
    assert lines.cleared == 1


@pytest.mark.parametrize(("live", "interval"), [(False, PLAIN_INTERVAL), (True, LIVE_INTERVAL)])
def test_lines_are_throttled_and_the_loss_is_read_only_when_shown(live, interval):
    clock, lines = Clock(), Lines(live=live)
    progress = Progress("lora-lr2e-4-bf16-seed0", lines, clock=clock)
    progress.on_phase("training")  # the case's first event: always shown
    progress.on_train_begin(total_steps=1000, steps_per_epoch=100)
    losses = []
    for step in range(1000):
        clock.now += interval / 8  # eight steps per interval (a binary fraction: exact sums)
        losses.append(Loss(0.5))
        progress.on_step_end(step, losses[-1], 10 * step)
    assert len(lines.shown) == 1 + 125  # the phase, then one line per interval
    assert sum(loss.reads for loss in losses) == 125  # read once per line written, never per step
    progress.on_phase("evaluating validation")
    # a new phase shows at once on a terminal; in a log it waits for its turn
    assert len(lines.shown) == (127 if live else 126)


def test_frozen_pass_shows_batches():
    clock, lines = Clock(), Lines(live=True)
    progress = Progress("svm-bf16-seed0", lines, clock=clock)
    progress.on_phase("frozen pass train")
    clock.now += 1
    progress.on_predict_batch_end(3, 14)
    assert lines.shown == [
        "svm-bf16-seed0 | frozen pass train | 0:00",
        "svm-bf16-seed0 | frozen pass train | batch 3/14 | 0:01",
    ]
