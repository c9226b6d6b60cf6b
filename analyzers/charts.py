"""Small PNG charts for the digest: the trend of the window and one sparkline per group.

matplotlib's object API with the Agg canvas (no pyplot, no global figure state, no display), so
charts can be drawn from any thread. Images are a few kilobytes: they travel inline in email.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

ERROR_COLOUR: Final = "#c0392b"
WARNING_COLOUR: Final = "#e8a33d"
EVENT_COLOUR: Final = "#8da5c4"
INK: Final = "#333333"


def _png(figure: Figure, dpi: int) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def trend_chart(
    starts: Sequence[datetime],
    errors: Sequence[int],
    warnings: Sequence[int],
    *,
    hourly: bool = False,
    width_px: int = 640,
    height_px: int = 200,
) -> bytes:
    """Stacked bars of errors and warnings per bucket of the window."""
    dpi = 100
    figure = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    axes = figure.add_axes((0.07, 0.17, 0.91, 0.73))
    positions = list(range(len(starts)))
    axes.bar(positions, errors, color=ERROR_COLOUR, width=0.7, label="errors")
    axes.bar(positions, warnings, bottom=errors, color=WARNING_COLOUR, width=0.7, label="warnings")
    step = max(1, len(starts) // 8)
    axes.set_xticks(positions[::step])
    axes.set_xticklabels([f"{s:%H:%M}" if hourly else f"{s:%a %d}" for s in starts][::step], fontsize=8)
    axes.tick_params(axis="y", labelsize=8, colors=INK)
    axes.tick_params(axis="x", colors=INK, length=0)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.spines["left"].set_color("#bbbbbb")
    axes.spines["bottom"].set_color("#bbbbbb")
    axes.grid(axis="y", color="#eeeeee")
    axes.set_axisbelow(True)
    axes.set_ylim(bottom=0, top=max([e + w for e, w in zip(errors, warnings, strict=True)] + [1]) * 1.15)
    axes.legend(loc="upper left", fontsize=8, frameon=False, ncols=2, bbox_to_anchor=(0, 1.16))
    return _png(figure, dpi)


def sparkline(counts: Sequence[int], *, width_px: int = 96, height_px: int = 24) -> bytes:
    """A tiny bar sparkline of a group's counts per bucket; the last bucket is drawn darker."""
    dpi = 100
    figure = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    axes = figure.add_axes((0, 0, 1, 1))
    values = list(counts) or [0]
    colours = [EVENT_COLOUR] * (len(values) - 1) + [ERROR_COLOUR]
    axes.bar(range(len(values)), values, color=colours, width=0.8)
    axes.set_ylim(0, max([*values, 1]) * 1.05)
    axes.set_xlim(-0.6, len(values) - 0.4)
    axes.axis("off")
    return _png(figure, dpi)
