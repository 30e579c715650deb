"""Training curves that redraw in place in Jupyter and save as PNG anywhere, and
the progress bar shown under them.

The figure is a plain ``matplotlib.figure.Figure`` (no pyplot state), rendered
to PNG bytes and shown through one IPython display handle that is updated in
place, so the cell never flickers and no stray copy is shown when it ends.
"""

import io
import os
import time
from collections.abc import Sequence
from typing import Any, cast

from matplotlib.figure import Figure


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where live display works), False in scripts."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


class LivePlot:
    """Curves of named series against epoch, e.g. train loss / train acc / test acc.

    Args:
        legend: one name per series.
        xlim: (first, last) epoch shown on the x axis.
        live: draw in a Jupyter display handle as points arrive.
        min_interval: seconds between two live redraws (rendering costs CPU
            that training would otherwise get); the last point always shows.

    Example::

        >>> plot = LivePlot(["train loss", "test acc"], xlim=(1, 2), live=False)
        >>> plot.add(1, [0.9, None]); plot.add(2, [0.5, 0.8])
        >>> plot.ys
        [[0.9, 0.5], [0.8]]
    """

    def __init__(
        self,
        legend: Sequence[str],
        xlim: Sequence[float] | None,
        live: bool,
        min_interval: float = 0.5,
    ) -> None:
        self.legend, self.xlim, self.live = list(legend), xlim, live
        self.xs: list[list[float]] = [[] for _ in self.legend]
        self.ys: list[list[float]] = [[] for _ in self.legend]
        self.min_interval, self.last_draw = min_interval, 0.0
        self.handle: Any = None  # IPython's DisplayHandle, once shown
        self.title = ""

    def set_title(self, title: str) -> None:
        """Show ``title`` above the curves from the next redraw on (e.g. an ETA)."""
        self.title = title

    def add(self, x: float, values: Sequence[float | None]) -> None:
        """Append ``values[i]`` at epoch ``x`` to series ``i`` (``None`` skips a series)."""
        for xs, ys, v in zip(self.xs, self.ys, values):
            if v is not None:
                xs.append(x)
                ys.append(v)
        if self.live and time.perf_counter() - self.last_draw >= self.min_interval:
            self.show()

    def figure(self) -> Figure:
        # 6 inches at 100 dpi fill most of a notebook's default output width; the legend
        # sits above the axes, outside them, so it never hides a curve.
        fig = Figure(figsize=(6.0, 3.4), dpi=100, layout="constrained")
        ax = fig.add_subplot()
        for xs, ys, name, style in zip(self.xs, self.ys, self.legend, ("-", "m--", "g-.", "r:")):
            ax.plot(xs, ys, style, label=name)
        ax.set(xlabel="epoch")
        if self.xlim is not None:
            lo, hi = self.xlim
            # A little room after the last epoch keeps the last point clear of the frame.
            ax.set(xlim=(lo, hi + 0.02 * (hi - lo)))
        ax.grid(True)
        if self.title:
            ax.set_title(self.title, fontsize=10)
        fig.legend(loc="outside upper center", ncols=len(self.legend), frameon=False)
        return fig

    def png(self) -> bytes:
        buf = io.BytesIO()
        self.figure().savefig(buf, format="png")
        return buf.getvalue()

    def show(self) -> None:
        """Draw the current curves into the display handle (made on first use)."""
        from IPython.display import Image, display

        image = Image(data=self.png(), format="png")
        if self.handle is None:
            self.handle = display(image, display_id=True)
        else:
            self.handle.update(image)
        self.last_draw = time.perf_counter()

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the curves to ``path`` as PNG."""
        self.figure().savefig(path, format="png")


class ProgressBar:
    """A tqdm bar over batches, shown in Jupyter only; closing it leaves its final line as text.

    A saved notebook keeps only a widget's first state (and the widget itself is
    gone once the kernel stops), so the bar lives in a display handle that
    ``close`` turns into the bar's last text line.

    Args:
        total: the number of batches.
        live: show the bar (in Jupyter); otherwise every call does nothing.
    """

    def __init__(self, total: int, live: bool) -> None:
        from tqdm.auto import tqdm

        self.handle: Any = None  # IPython's DisplayHandle in Jupyter
        if not live:
            self.bar = tqdm(total=total, disable=True)
            return
        from tqdm.notebook import tqdm as notebook_tqdm

        if issubclass(tqdm, notebook_tqdm):
            from IPython.display import display

            self.bar = tqdm(total=total, unit="batch", display=False)
            self.handle = display(cast(notebook_tqdm, self.bar).container, display_id=True)
        else:  # no ipywidgets: tqdm's own text bar
            self.bar = tqdm(total=total, unit="batch")

    def update(self) -> None:
        self.bar.update()

    def set_postfix(self, **values: Any) -> None:
        self.bar.set_postfix(**values)

    def set_description(self, text: str) -> None:
        """Show ``text`` before the bar (e.g. an ETA)."""
        self.bar.set_description(text)

    def close(self) -> None:
        self.bar.close()
        if self.handle is not None:
            from IPython.display import Pretty

            self.handle.update(Pretty(str(self.bar)))
