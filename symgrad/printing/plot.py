"""Pictures of plot data and descent paths: Unicode charts for a terminal, PNG/SVG/PDF files.

The terminal chart uses plotille (pure Python, no dependencies: braille dots, so a curve has
2x4 dots per character cell); files use matplotlib with the Agg backend, so that no window
ever opens. Both are imported by the functions that draw, never at import time: ``symgrad
--help`` loads neither. Lines are drawn piece by piece between the breaks of the data, so a
pole or a jump is never bridged; kinks are marked.
"""

from __future__ import annotations

import math
from pathlib import Path

from symgrad.errors import InputError
from symgrad.results import Descent, FieldData, PlotData

FILE_FORMATS = ("png", "svg", "pdf")
INSTALL_HINT = 'pip install "symgrad[plot]"'

# the y-axis labels plotille prints left of the chart, and its margins
_LEFT = 13
MIN_WIDTH = 30


def _plotille():
    try:
        import plotille
    except ImportError:  # pragma: no cover - a core dependency
        raise InputError("drawing in the terminal needs plotille: pip install plotille") from None
    return plotille


def _tick(value: float, chars: int = 10, delta=None, left: bool = False) -> str:
    """Short axis labels, ``chars`` wide: 0.25, -100, 1e-05 (plotille's own print 10 digits)."""
    if value == 0 or abs(value) < 1e-12 * (abs(delta or 0) or 1):
        text = "0"
    elif abs(value) >= 1e5 or abs(value) < 1e-3:
        text = f"{value:.2g}"
    else:
        text = f"{value:.4g}"
    return text.ljust(chars) if left else text.rjust(chars)


def _y_limits(series: list[list[float]]) -> tuple[float, float]:
    """Limits that fit the bulk of the values: a pole's huge samples do not flatten the rest."""
    values = sorted(v for ys in series for v in ys)
    if not values:
        return -1.0, 1.0
    n = len(values)
    lo, hi = values[int(0.1 * (n - 1))], values[int(0.9 * (n - 1))]
    span = max(hi - lo, 1e-12)
    # the extremes are part of the picture unless far out (near a pole): then a margin
    lo = values[0] if values[0] >= lo - 2 * span else lo - span
    hi = values[-1] if values[-1] <= hi + 2 * span else hi + span
    if hi - lo < 1e-12:
        lo, hi = lo - 1, hi + 1
    pad = 0.05 * (hi - lo)
    return lo - pad, hi + pad


def terminal_chart(data: PlotData, width: int = 80, height: int = 20, color: bool = False) -> str:
    """f and df/dx on one Unicode chart ``width`` columns wide; kinks marked with ``x``.

    With ``color``, plotille still leaves colours out when stdout is not a terminal or
    NO_COLOR is set (FORCE_COLOR forces them). Without ``color`` f is drawn as a line of
    braille dots and df/dx as ``·`` marks, so the two read apart without colour.
    """
    width = max(MIN_WIDTH, width)
    lines = _chart_lines(data, width - _LEFT - 10, height, color)
    overflow = max(len(line) for line in lines) - width
    if overflow > 0:  # the x axis' last label runs past the canvas: draw a narrower one
        lines = _chart_lines(data, width - _LEFT - 10 - overflow, height, color)
    lines += [f"note: {note}" for note in data.notes]
    return "\n".join(lines)


def _chart_lines(data: PlotData, canvas: int, height: int, color: bool) -> list[str]:
    plotille = _plotille()
    fig = plotille.Figure()
    fig.width = max(10, canvas)
    fig.height = max(6, height)
    fig.with_colors = color
    fig.color_mode = "names"
    fig.x_label = data.wrt[0].name
    fig.y_label = ", ".join(c.label for c in data.curves)
    fig.register_label_formatter(float, _tick)
    lo, hi = data.x[0], data.x[-1]
    fig.set_x_limits(min_=lo, max_=hi)
    pieces = [c.pieces(data.x) for c in data.curves]
    fig.set_y_limits(*_y_limits([ys for curve in pieces for _, ys in curve]))
    styles = [("blue", None), ("red", None if color else "·")]
    legend = []
    for curve, runs, (lc, marker) in zip(data.curves, pieces, styles):
        # one series per piece: plotille joins the points of a series, never two series
        for xs, ys in runs:
            if marker:
                fig.scatter(xs, ys, lc=lc, marker=marker)
            else:
                fig.plot(xs, ys, lc=lc)
        legend.append(f"{marker * 3 if marker else '⠤⠤⠤'} {curve.label}")
    shown = [k for k in data.kinks if k.value is not None]
    if shown:
        fig.scatter([k.x for k in shown], [k.value for k in shown], lc="yellow", marker="x")
        legend.append("x kink")
    text = fig.show(legend=False)
    lines = [line.rstrip() for line in text.split("\n")]
    lines.append("   ".join(legend))
    return lines


def descent_chart(result: Descent, width: int = 80, height: int = 16, color: bool = False) -> str:
    """f along the descent path (one variable: f over x with the path's points; several:
    f and |grad f| by step)."""
    plotille = _plotille()
    fig = plotille.Figure()
    fig.width = max(MIN_WIDTH, width) - _LEFT
    fig.height = max(6, height)
    fig.with_colors = color
    fig.register_label_formatter(float, _tick)
    steps = [float(s.step) for s in result.path]
    values = [s.value for s in result.path]
    keep = [(x, y) for x, y in zip(steps, values) if math.isfinite(y)]
    fig.x_label, fig.y_label = "step", "f"
    if keep:
        fig.plot([x for x, _ in keep], [y for _, y in keep], lc="blue")
    return "\n".join(line.rstrip() for line in fig.show(legend=False).split("\n"))


# ---------------------------------------------------------------- files


def load_matplotlib():
    """matplotlib.pyplot with the Agg backend; an InputError saying how to install it."""
    return _pyplot()


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise InputError(
            f"writing a picture needs matplotlib, which is not installed: {INSTALL_HINT} "
            "(or leave out -o to draw in the terminal)"
        ) from None
    matplotlib.use("Agg", force=True)  # files only: never a window, with or without a display
    import matplotlib.pyplot as plt

    matplotlib.rcParams["svg.hashsalt"] = "symgrad"

    return plt


def _save(fig, path, fmt: str) -> None:
    # the same picture gives the same bytes: no date, fixed SVG ids (docs are regenerated)
    metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}.get(fmt, {})
    fig.savefig(path, format=fmt, metadata=metadata)


def file_format(path: str | Path) -> str:
    """``png``, ``svg`` or ``pdf`` from the file's suffix."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FILE_FORMATS:
        raise InputError(
            f"cannot tell the picture format of {str(path)!r}: name the file .png, .svg or .pdf"
        )
    return suffix


def _nan_broken(runs) -> tuple[list[float], list[float]]:
    """One x/y list for matplotlib with NaN between pieces: it never joins across a NaN."""
    xs: list[float] = []
    ys: list[float] = []
    for k, (px, py) in enumerate(runs):
        if k:
            xs.append(math.nan)
            ys.append(math.nan)
        xs += px
        ys += py
    return xs, ys


def save_plot(data: PlotData | FieldData, path: str | Path) -> Path:
    """Draw ``data`` to ``path`` (PNG, SVG or PDF by suffix): a curve of f and df/dx with
    kinks marked, or contours of f with the gradient as arrows."""
    fmt = file_format(path)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5) if isinstance(data, PlotData) else (6.5, 5.5))
    try:
        if isinstance(data, PlotData):
            _draw_curves(ax, data)
        else:
            _draw_field(fig, ax, data)
        fig.tight_layout()
        _save(fig, path, fmt)
    except OSError as err:
        raise InputError(f"cannot write {str(path)!r}: {err.strerror or err}") from None
    finally:
        plt.close(fig)
    return Path(path)


def _draw_curves(ax, data: PlotData) -> None:
    from symgrad.notation import expr_text

    colors = ("tab:blue", "tab:red")
    all_y = []
    for curve, color in zip(data.curves, colors):
        runs = curve.pieces(data.x)
        xs, ys = _nan_broken(runs)
        label = f"f = {expr_text(curve.expression)}" if curve.label == "f" else curve.label
        ax.plot(xs, ys, color=color, label=label, linewidth=1.6)
        all_y += [y for _, py in runs for y in py]
    kinks = [k for k in data.kinks if k.value is not None]
    if kinks:
        ax.plot([k.x for k in kinks], [k.value for k in kinks], "kx", markersize=8, label="kink")
    ax.set_ylim(*_y_limits([all_y]))
    ax.axhline(0, color="0.8", linewidth=0.8, zorder=0)
    ax.set_xlabel(data.wrt[0].name)
    ax.legend(loc="best", fontsize=9)
    if data.notes:
        ax.set_title(data.notes[0], fontsize=8)


def _grid(values) -> list[list[float]]:
    return [[math.nan if v is None else v for v in row] for row in values]


def _draw_field(fig, ax, data: FieldData) -> None:
    import numpy as np

    from symgrad.notation import expr_text

    x, y = np.array(data.x), np.array(data.y)
    f = np.array(_grid(data.f))
    gx, gy = np.array(_grid(data.gradient[0])), np.array(_grid(data.gradient[1]))
    levels = 20
    finite = f[np.isfinite(f)]
    if finite.size and np.ptp(finite) > 0:
        filled = ax.contourf(x, y, f, levels=levels, cmap="viridis", alpha=0.85)
        ax.contour(x, y, f, levels=levels, colors="k", linewidths=0.3)
        fig.colorbar(filled, ax=ax, label="f")
    step = max(1, len(x) // 15)  # about 15 arrows a side
    sx, sy = np.meshgrid(x[::step], y[::step])
    u, v = gx[::step, ::step], gy[::step, ::step]
    norm = np.hypot(u, v)
    with np.errstate(invalid="ignore", divide="ignore"):
        # arrows of one length, the gradient's direction; their colour is its size
        ax.quiver(sx, sy, u / norm, v / norm, norm, cmap="autumn", pivot="mid", scale=25)
    ax.set_xlabel(data.wrt[0].name)
    ax.set_ylabel(data.wrt[1].name)
    ax.set_title(f"f = {expr_text(data.expression)}; arrows: the gradient", fontsize=9)


def save_descent(result: Descent, path: str | Path, field: FieldData | None = None,
                 curve: PlotData | None = None) -> Path:  # fmt: skip
    """Draw the descent path over f: on the curve of f (one variable) or over the contours of
    f (two variables, ``field``); with more variables, f by step."""
    fmt = file_format(path)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    try:
        # at most about 1,500 points: a path of 50,000 steps draws the same line
        stride = max(1, len(result.path) // 1500)
        shown = list(result.path[::stride])
        if shown[-1] is not result.path[-1]:
            shown.append(result.path[-1])
        points = [s.point for s in shown]
        values = [s.value for s in shown]
        if curve is not None:
            f = curve.curves[0]
            xs, ys = _nan_broken(f.pieces(curve.x))
            ax.plot(xs, ys, color="tab:blue", label="f")
            ax.plot([p[0] for p in points], values, "o-", color="tab:red", markersize=2,
                    linewidth=0.6, label=f"{result.optimizer} path")  # fmt: skip
            ax.set_xlabel(result.wrt[0].name)
        elif field is not None:
            _draw_field(fig, ax, field)
            ax.plot([p[0] for p in points], [p[1] for p in points], ".-", color="tab:red",
                    markersize=2, linewidth=0.8, label=f"{result.optimizer} path")  # fmt: skip
        else:
            ax.plot([s.step for s in shown], values, color="tab:blue", label="f")
            ax.set_xlabel("step")
        ax.plot([points[0][0]] if curve or field else [0], [values[0]] if curve else
                [points[0][1]] if field else [values[0]], "go", label="start")  # fmt: skip
        ax.legend(loc="best", fontsize=9)
        fig.tight_layout()
        _save(fig, path, fmt)
    except OSError as err:
        raise InputError(f"cannot write {str(path)!r}: {err.strerror or err}") from None
    finally:
        plt.close(fig)
    return Path(path)
