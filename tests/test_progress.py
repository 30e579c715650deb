"""Grading progress: a live bar on a terminal, plain lines in a log."""

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

from d2lcnn.grading.progress import Progress

ROOT = Path(__file__).resolve().parents[1]
OK = {"exercises": {"corr2d": {"status": "passed"}}}
BAD = {"exercises": {"corr2d": {"status": "timeout"}, "pool2d": {"status": "passed"}}}


def test_bar_counts_done_total_and_problems():
    out = io.StringIO()
    with Progress(out, bar=True) as p:
        p.start(3)
        p.done(OK)
        p.log("graded a.py")
        p.done(BAD)
        p.done(OK)
    text = out.getvalue()
    assert "graded a.py\n" in text and "3/3" in text and "problems: 1" in text
    assert "\r" in text  # redrawn in place


def test_plain_lines_off_a_terminal():
    out = io.StringIO()
    p = Progress(out)
    p.log("unreadable x.ipynb")  # before the batch starts: as it is
    p.start(2)
    p.done(BAD)
    p.log("graded b.py")
    lines = out.getvalue().splitlines()
    assert lines[0] == "unreadable x.ipynb"
    assert lines[1].startswith("[1/2, ") and "s left, problems: 1] graded b.py" in lines[1]
    assert "\r" not in out.getvalue()


def test_grade_on_a_terminal_shows_the_bar(tmp_path):
    (tmp_path / "a.py").write_text("def corr2d(X, K):\n    return X\n")
    main, child = pty.openpty()
    env = dict(os.environ, COLUMNS="100", D2LCNN_SANDBOX_UID=str(220_000 + os.getpid() % 1000 * 4))
    proc = subprocess.Popen(
        [sys.executable, "-m", "d2lcnn.cli", "grade", tmp_path / "a.py", "--out", tmp_path / "g"],
        stdout=child,
        stderr=child,
        cwd=ROOT,
        env=env,
    )
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    assert proc.wait(timeout=120) == 0
    text = b"".join(chunks).decode()
    assert "1/1" in text and "submission/s" in text and "problems: 0" in text
    assert "graded a.py" in text
