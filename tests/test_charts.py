"""The digest's PNG charts: real matplotlib (Agg) output, decoded again to check what was drawn."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from matplotlib import image as mpimg

from analyzers import charts

DAYS = [datetime(2026, 11, 16, tzinfo=UTC) + timedelta(days=d) for d in range(7)]


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(mpimg.imread(io.BytesIO(png), format="png"))


def _red_pixels(pixels: np.ndarray) -> int:
    rgb = pixels[..., :3]
    return int(((rgb[..., 0] > 0.6) & (rgb[..., 1] < 0.35) & (rgb[..., 2] < 0.35)).sum())


def test_trend_chart_is_a_small_png_of_the_requested_size() -> None:
    """The trend chart is a PNG of 640x200 pixels and a few kilobytes (it travels inline in email)."""
    png = charts.trend_chart(DAYS, [3, 6, 3, 2, 6, 1, 0], [1, 0, 0, 2, 0, 0, 0])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert _pixels(png).shape[:2] == (200, 640)
    assert len(png) < 40_000


def test_trend_chart_draws_error_bars_from_the_data() -> None:
    """Errors draw red bars beyond the legend's red swatch; a window without errors draws none."""
    legend_only = _red_pixels(_pixels(charts.trend_chart(DAYS, [0] * 7, [2] * 7)))
    with_errors = _red_pixels(_pixels(charts.trend_chart(DAYS, [4] * 7, [2] * 7)))
    assert with_errors > legend_only + 1000


@pytest.mark.parametrize(
    "counts",
    [
        pytest.param([0, 0, 0, 0, 0, 0, 0], id="all-zero"),
        pytest.param([1, 5, 2, 9, 0, 3, 7], id="varied"),
        pytest.param([], id="no-buckets"),
    ],
)
def test_sparkline_renders_any_counts(counts: list[int]) -> None:
    """A sparkline is a 96x24 PNG for any counts, including none and all zeros."""
    pixels = _pixels(charts.sparkline(counts))
    assert pixels.shape[:2] == (24, 96)


def test_sparkline_marks_the_latest_bucket() -> None:
    """The last bucket is drawn in the error colour so "still happening" is visible at a glance."""
    assert _red_pixels(_pixels(charts.sparkline([5, 5, 5, 5]))) > 0
    assert _red_pixels(_pixels(charts.sparkline([5, 5, 5, 0]))) == 0
