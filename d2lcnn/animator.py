"""The book's ``Animator``: curves that grow point by point, drawn with the course's live plot.

Book code such as its own ``train_ch6`` builds one with
``d2l.Animator(xlabel='epoch', xlim=[1, num_epochs], legend=[...])`` and calls
``animator.add(x, y)`` as points arrive. In Jupyter the figure redraws in place
(one display handle, no flicker, the cell's printed lines kept); in a script it
is saved as PNG to ``plot_path`` or ``$D2LCNN_PLOT`` after every point when one
is set, and not drawn otherwise.
"""

import os
from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure

from .plot import LivePlot, in_notebook

__all__ = ["Animator"]


class Animator(LivePlot):
    """For plotting data in animation, with the book's constructor and ``add``.

    Args:
        xlabel, ylabel: axis labels.
        legend: one name per curve (none: no legend).
        xlim, ylim: (low, high) axis limits (none: automatic).
        xscale, yscale: ``'linear'`` or ``'log'``.
        fmts: matplotlib format string of each curve, in order.
        nrows, ncols: the grid of axes; the curves go in the first, as in the book.
        figsize: (width, height) in inches.
        plot_path: keyword-only; outside Jupyter, save the figure there as PNG
            after every ``add`` (default: ``$D2LCNN_PLOT`` if set).

    Example::

        >>> animator = Animator(xlabel="epoch", xlim=[1, 2], legend=["loss", "acc"])
        >>> animator.add(1, (0.9, 0.5)); animator.add(2, (0.4, None))
        >>> animator.xs, animator.ys
        ([[1, 2], [1]], [[0.9, 0.4], [0.5]])
    """

    def __init__(
        self,
        xlabel: str | None = None,
        ylabel: str | None = None,
        legend: Sequence[str] | None = None,
        xlim: Sequence[float] | None = None,
        ylim: Sequence[float] | None = None,
        xscale: str = "linear",
        yscale: str = "linear",
        fmts: Sequence[str] = ("-", "m--", "g-.", "r:"),
        nrows: int = 1,
        ncols: int = 1,
        figsize: tuple[float, float] = (3.5, 2.5),
        *,
        plot_path: str | os.PathLike[str] | None = None,
    ) -> None:
        # The book redraws at every point (six per epoch in train_ch6): no throttling.
        super().__init__(legend or [], xlim, live=in_notebook(), min_interval=0.0)
        self.axis_settings = {
            "xlabel": xlabel,
            "ylabel": ylabel,
            "ylim": ylim,
            "xscale": xscale,
            "yscale": yscale,
        }
        self.fmts, self.grid, self.figsize = tuple(fmts), (nrows, ncols), figsize
        self.plot_path = plot_path or os.environ.get("D2LCNN_PLOT")

    def add(self, x: Any, y: Any) -> None:
        """Add a point to each curve and redraw.

        Args:
            x: one x for every curve, or one per curve.
            y: one value per curve (or a single value); ``None`` skips that curve.
        """
        ys = list(y) if hasattr(y, "__len__") else [y]
        xs = list(x) if hasattr(x, "__len__") else [x] * len(ys)
        while len(self.xs) < len(ys):  # as many curves as values, legend or not
            self.xs.append([])
            self.ys.append([])
        for curve_x, curve_y, a, b in zip(self.xs, self.ys, xs, ys):
            if a is not None and b is not None:
                curve_x.append(a)
                curve_y.append(b)
        if self.live:
            self.show()
        elif self.plot_path:
            self.save(self.plot_path)

    def figure(self) -> Figure:
        """The curves drawn the book's way (its ``set_axes``), on the first axes of the grid."""
        fig = Figure(figsize=self.figsize, dpi=100)
        ax = fig.subplots(*self.grid, squeeze=False)[0][0]
        for xs, ys, fmt in zip(self.xs, self.ys, self.fmts):
            ax.plot(xs, ys, fmt)
        ax.set(xlim=self.xlim, **self.axis_settings)
        if self.legend:
            ax.legend(self.legend)
        ax.grid(True)
        fig.tight_layout()
        return fig
