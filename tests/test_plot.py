"""The live training plot: the legend and the frame leave the curves visible; the figure is wide enough to read."""

from matplotlib.backends.backend_agg import FigureCanvasAgg

from d2lcnn.plot import LivePlot


def test_legend_and_frame_leave_the_curves_visible():
    plot = LivePlot(["train loss", "train acc", "test acc"], xlim=(0, 10), live=False)
    for epoch in range(10):
        plot.add(epoch + 0.5, [2.3 / (epoch + 1), 0.5 + epoch / 25, None])
        plot.add(epoch + 1, [2.0 / (epoch + 1), 0.52 + epoch / 25, 0.5 + epoch / 24])
    fig = plot.figure()
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    (ax,), (legend,) = fig.axes, fig.legends
    renderer = canvas.get_renderer()
    assert not legend.get_window_extent(renderer).overlaps(ax.get_window_extent(renderer))
    assert ax.get_xlim()[1] > 10  # the last point is inside the frame, not on it
    assert fig.get_size_inches()[0] * fig.dpi >= 600  # most of a notebook's output width


def test_empty_plot_draws():
    assert LivePlot(["train loss"], xlim=(0, 2), live=False).png().startswith(b"\x89PNG")
