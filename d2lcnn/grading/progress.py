"""Progress of a grading batch: a live bar on a terminal, plain lines elsewhere (CI logs).

The bar (tqdm) shows submissions done / total, the rate, the time left and how many
submissions had a problem so far; the grader's own lines are printed above it. Off a
terminal each line starts with the same figures instead.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

from tqdm import tqdm

TROUBLE = ("error", "timeout", "forbidden")


def troubled(record: dict) -> bool:
    """Whether a result has an exercise that errored, timed out or is forbidden.

    Example::

        >>> troubled({"exercises": {"corr2d": {"status": "timeout"}}})
        True
    """
    return any(r.get("status") in TROUBLE for r in record.get("exercises", {}).values())


class Progress:
    """Counts graded submissions and shows them; ``log`` prints one of the grader's lines.

    Args:
        stream: where to write (default stdout).
        bar: a live bar; default: when ``stream`` is a terminal.

    Example::

        >>> import io
        >>> out = io.StringIO()
        >>> p = Progress(out)
        >>> p.start(2)
        >>> p.done({"exercises": {"corr2d": {"status": "passed"}}})
        >>> p.log("graded a.py")
        >>> out.getvalue().startswith("[1/2, ")
        True
    """

    def __init__(self, stream: TextIO | None = None, bar: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.bar_wanted = self.stream.isatty() if bar is None else bar
        self.total = self.count = self.trouble = 0
        self.started: float | None = None
        self.bar: tqdm | None = None

    def start(self, total: int) -> None:
        """``total`` submissions are about to be graded."""
        self.total, self.started = total, time.monotonic()
        if self.bar_wanted and total:
            size = shutil.get_terminal_size()
            self.bar = tqdm(
                total=total,
                file=self.stream,
                unit="submission",
                # a pty without a window size reports 0 x 0, where tqdm would draw nothing
                ncols=min(120, size.columns or 100),
                nrows=size.lines or 24,
                bar_format="{l_bar}{bar}| {n}/{total} [{elapsed}<{remaining}, {rate_fmt}{postfix}]",
            )
            self.bar.set_postfix_str("problems: 0")

    def done(self, record: dict) -> None:
        """One submission is graded (``record``: its result)."""
        self.count += 1
        self.trouble += troubled(record)
        if self.bar:
            self.bar.set_postfix_str(f"problems: {self.trouble}", refresh=False)
            self.bar.update(1)

    def figures(self) -> str:
        """``done/total, rate, time left, problems`` as plain text."""
        spent = time.monotonic() - (self.started or time.monotonic())
        rate = self.count / spent if spent > 0 else 0.0
        left = (self.total - self.count) / rate if rate else 0.0
        return (
            f"{self.count}/{self.total}, {rate * 60:.0f}/min, {left:.0f} s left, "
            f"problems: {self.trouble}"
        )

    def log(self, line: str) -> None:
        """Print one line of the grader's output above the bar, or after the figures."""
        if self.bar:
            self.bar.write(line, file=self.stream)
        elif self.started is not None and self.total:
            print(f"[{self.figures()}] {line}", file=self.stream, flush=True)
        else:
            print(line, file=self.stream, flush=True)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """End the bar (its last state stays on the terminal)."""
        if self.bar:
            self.bar.close()
            self.bar = None
