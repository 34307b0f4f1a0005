"""Live progress of a case: its phase, and while it trains epoch e/E, step s/S, loss, tokens/s and ETA.

On a terminal, one line rewritten in place after pytest's own text on that line (at most every
`LIVE_INTERVAL` s, a new phase at once) and erased when the case ends. Elsewhere (CI logs), plain
lines: one when a case starts, then at most one every `PLAIN_INTERVAL` s.

The loss tensor is read (which waits for a GPU) only when a line is actually written.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from rtsent.engine.callbacks import Callback

LIVE_INTERVAL = 0.5  # s between rewrites of the terminal line: fluid to the eye, ~2 loss reads a second
PLAIN_INTERVAL = 30.0  # s between plain lines: a CI log gets a sign of life without drowning in it
PROGRESS_MODES = ("auto", "on", "off")


def clock_text(seconds: float) -> str:
    """65.2 -> "1:05", 3725 -> "1:02:05"."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class TerminalSink:
    """Writes progress through pytest's terminal reporter, with pytest's output capture suspended.

    `reporter`: pytest's TerminalReporter. `suspend`: a context manager factory that lifts capture
    while writing (the capture manager's `global_and_fixture_disabled`, as pytest's live logging
    does). `live`: rewrite one line in place (a terminal with ANSI support) instead of plain lines.
    """

    def __init__(self, reporter: Any, *, suspend: Callable[[], Any] = contextlib.nullcontext, live: bool) -> None:
        self.reporter = reporter
        self.suspend = suspend
        self.live = live

    def _back(self) -> str:
        # pytest's public API has no cursor column; its terminal writer (`_tw`) keeps it. Go to that
        # column of the current line, so pytest's own text there ("bench/test_methods.py ..") stays.
        column = self.reporter._tw.width_of_current_line
        return f"\r\x1b[{column}C" if column else "\r"

    def show(self, text: str) -> None:
        with self.suspend():
            if self.live:
                writer = self.reporter._tw
                room = writer.fullwidth - writer.width_of_current_line - 1  # never wrap: \r must stay on the line
                writer.write_raw(f"{self._back()}{('  ' + text)[: max(room, 0)]}\x1b[K", flush=True)
            else:
                self.reporter.write_line(f"rtsent: {text}")
                self.reporter.flush()  # a pipe is block-buffered: the line would arrive minutes late

    def clear(self) -> None:
        if self.live:
            with self.suspend():
                self.reporter._tw.write_raw(f"{self._back()}\x1b[K", flush=True)


class Progress(Callback):
    """One case's progress, written to `sink` (anything with `show(text)`, `clear()` and `live`).

    On a live sink a new phase shows at once and step updates at most every `LIVE_INTERVAL` s; on
    a plain one the case's first event shows, then at most one line every `PLAIN_INTERVAL` s.
    `clock` gives seconds (monotonic). Call `close()` when the case ends.
    """

    def __init__(self, case: str, sink: Any, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.case = case
        self.sink = sink
        self.clock = clock
        self.interval = LIVE_INTERVAL if sink.live else PLAIN_INTERVAL
        self.started = clock()
        self.last_shown: float | None = None
        self.phase = "starting"
        self.detail = ""
        self.total_steps = self.steps_per_epoch = 0
        self.train_started = 0.0
        self.step = 0
        self.loss: Any = None
        self.tokens: int | None = None

    def on_phase(self, name: str) -> None:
        self.phase, self.detail = name, ""
        self._maybe_show(new_phase=True)

    def on_train_begin(self, *, total_steps: int, steps_per_epoch: int) -> None:
        self.total_steps, self.steps_per_epoch = total_steps, steps_per_epoch
        self.train_started = self.clock()
        self.step, self.loss, self.tokens = 0, None, None

    def on_step_end(self, step: int, loss: Any, tokens: int | None) -> None:
        self.step, self.loss, self.tokens = step + 1, loss, tokens  # keep the tensor; read it only to show it
        self._maybe_show()

    def on_predict_batch_end(self, batch: int, batches: int) -> None:
        self.detail = f"batch {batch}/{batches}"
        self._maybe_show()

    def close(self) -> None:
        self.sink.clear()

    def _maybe_show(self, *, new_phase: bool = False) -> None:
        now = self.clock()
        due = self.last_shown is None or now - self.last_shown >= self.interval
        if due or (new_phase and self.sink.live):
            self.last_shown = now
            self.sink.show(self.text(now))

    def text(self, now: float) -> str:
        """ "full-lr1e-3-fp32-seed0 | epoch 1/3 | step 12/117 | loss 0.6931 | 1,234 tok/s | ETA 0:42 | 0:15"."""
        parts = [self.case, self.phase]
        if self.phase == "training" and self.step:
            epochs = -(-self.total_steps // self.steps_per_epoch)
            epoch = min((self.step - 1) // self.steps_per_epoch + 1, epochs)
            elapsed = now - self.train_started
            parts[1:] = [f"epoch {epoch}/{epochs}", f"step {self.step}/{self.total_steps}"]
            if self.loss is not None:
                parts.append(f"loss {float(self.loss):.4f}")
            if self.tokens is not None and elapsed > 0:
                parts.append(f"{self.tokens / elapsed:,.0f} tok/s")
            parts.append(f"ETA {clock_text(elapsed / self.step * (self.total_steps - self.step))}")
        elif self.detail:
            parts.append(self.detail)
        parts.append(clock_text(now - self.started))
        return " | ".join(parts)
