"""The HTML report as a person sees it: rendered by headless Chromium (Debian's `chromium`, which
`.ci/run` installs), screenshotted, and its layout read back from the browser."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from test_reporting import record, write

from rtsent.report.cli import COLUMNS, main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# tab:blue, matplotlib's first colour: the plot's markers and error bars; nothing else on the page is this blue.
PLOT_BLUE = np.array([31, 119, 180])


@pytest.fixture
def chromium(tmp_path):
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs Debian's chromium package")
        pytest.skip("needs Debian's chromium (apt-get install chromium); CI installs it")

    def run(page: Path, *args: str) -> subprocess.CompletedProcess:
        # Flags as for any headless run on a closed network: no sandbox as root, no background traffic.
        flags = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
        ]
        return subprocess.run([CHROMIUM, *flags, *args, page.as_uri()], capture_output=True, text=True, timeout=120)

    return run


@pytest.fixture
def report(tmp_path):
    benches = [
        record(row, seed, correct, time_s=t, peak=peak, trainable=n)
        for row, correct, t, peak, n in [
            ("svm-bf16", 74, 1.0, 1.4 * 2**30, 385),
            ("head-lr1e-2-bf16", 73, 12.0, 1.4 * 2**30, 770),
            ("full-lr5e-5-bf16", 83, 160.0, 2.5 * 2**30, 22_713_986),
            ("lora-lr2e-4-bf16", 79, 118.0, 2.4 * 2**30, 74_498),
        ]
        for seed in (0, 1)
    ]
    page = tmp_path / "report.html"
    assert main([write(tmp_path / "r.json", benches), "--format", "html", "--output", str(page)]) == 0
    return page


def _blue_pixels(png: Path) -> int:
    from PIL import Image

    pixels = np.asarray(Image.open(png).convert("RGB")).astype(int)
    return int((np.abs(pixels - PLOT_BLUE).max(axis=-1) < 40).sum())


def test_report_renders_with_its_plot(chromium, report, tmp_path):
    from PIL import Image

    shot = tmp_path / "shot.png"
    result = chromium(report, "--window-size=1280,1400", f"--screenshot={shot}")
    assert shot.is_file(), result.stderr[-2000:]
    gray = np.asarray(Image.open(shot).convert("L")).astype(float)
    assert gray.std() > 20 and (gray < 200).mean() > 0.01  # text, rules and a plot: not a blank page
    assert _blue_pixels(shot) > 200  # the plot's markers are drawn: the image loaded

    # The same page with the image's data cut: the check above must then fail.
    broken = tmp_path / "broken.html"
    broken.write_text(re.sub(r"base64,[^']+", "base64,AAAA", report.read_text()))
    chromium(broken, "--window-size=1280,1400", f"--screenshot={tmp_path / 'broken.png'}")
    assert _blue_pixels(tmp_path / "broken.png") == 0


def test_plot_fits_the_window_and_numbers_align_right(chromium, report, tmp_path):
    # Read the layout back from the browser: a probe script appended to a copy of the page writes its
    # measurements into the DOM, which --dump-dom prints.
    probe = tmp_path / "probe.html"
    probe.write_text(
        report.read_text().replace(
            "</main>",
            "</main><script>const i = document.querySelector('figure img');"
            "const td = document.querySelector('td.num');"
            "document.body.dataset.probe = [i.naturalWidth, Math.round(i.getBoundingClientRect().right),"
            " window.innerWidth, getComputedStyle(td).textAlign].join(',');</script>",
        )
    )
    result = chromium(probe, "--window-size=800,1000", "--virtual-time-budget=5000", "--dump-dom")
    found = re.search(r'data-probe="(\d+),(\d+),(\d+),(\w+)"', result.stdout)
    assert found, result.stdout[-2000:] + result.stderr[-2000:]
    natural, right, window, align = int(found[1]), int(found[2]), int(found[3]), found[4]
    assert natural > window  # the PNG is wider than this window ...
    assert right <= window  # ... and is scaled down to fit it
    assert align == "right"


def test_every_column_is_explained(report):
    from rtsent.report.html import COLUMN_HELP

    assert set(COLUMNS) <= set(COLUMN_HELP)
    text = report.read_text()
    assert "What the columns mean" in text and COLUMN_HELP["train s"] in text
