"""Charts drawn on the server as SVG: no script, no CDN, they work offline and print."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT, FOOT, TOP = 560, 180, 24, 12
COLOURS = ("#79aec8", "#417690")


def bars(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[Decimal]]]) -> SafeString:
    """Grouped bars: one group per label, one bar per series (at most two), a legend under the title."""
    top = max((value for _, values in series for value in values), default=Decimal(0)) or Decimal(1)
    group = (WIDTH - 20) / max(len(labels), 1)
    bar = group * 0.8 / max(len(series), 1)
    plot = HEIGHT - FOOT - TOP
    rects = []
    for index, label in enumerate(labels):
        x0 = 10 + index * group + group * 0.1
        for which, (_, values) in enumerate(series):
            height = float(values[index] / top) * plot
            rects.append(
                (
                    _n(x0 + which * bar),
                    _n(TOP + plot - height),
                    _n(bar - 1),
                    _n(height),
                    COLOURS[which],
                    label,
                    f"{values[index]:,.2f}",
                )
            )
    shapes = format_html_join(
        "", '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {}</title></rect>', rects
    )
    names = format_html_join(
        "",
        '<text x="{}" y="{}" font-size="10" text-anchor="middle">{}</text>',
        ((_n(10 + i * group + group / 2), HEIGHT - 8, label) for i, label in enumerate(labels)),
    )
    legend = format_html_join(
        " ", '<span style="color:{}">■</span> {}', ((COLOURS[i], name) for i, (name, _) in enumerate(series))
    )
    return format_html(
        '<figure class="chart"><figcaption><strong>{}</strong> {}</figcaption>'
        '<svg viewBox="0 0 {} {}" width="{}" height="{}" role="img" aria-label="{}">{}{}</svg></figure>',
        title,
        legend,
        WIDTH,
        HEIGHT,
        WIDTH,
        HEIGHT,
        title,
        shapes,
        names,
    )


def line(title: str, labels: Sequence[str], values: Sequence[Decimal]) -> SafeString:
    """A line through the values, each point with its value on hover."""
    if not values:
        return mark_safe("")
    low, high = min(min(values), Decimal(0)), max(values) or Decimal(1)
    span = (high - low) or Decimal(1)
    step = (WIDTH - 40) / max(len(values) - 1, 1)
    plot = HEIGHT - FOOT - TOP
    points = [(20 + i * step, TOP + plot - float((v - low) / span) * plot) for i, v in enumerate(values)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    dots = format_html_join(
        "",
        '<circle cx="{}" cy="{}" r="3" fill="{}"><title>{}: {}</title></circle>',
        (
            (_n(x), _n(y), COLOURS[1], label, f"{value:,.2f}")
            for (x, y), label, value in zip(points, labels, values, strict=True)
        ),
    )
    names = format_html_join(
        "",
        '<text x="{}" y="{}" font-size="10" text-anchor="middle">{}</text>',
        ((_n(x), HEIGHT - 8, label) for (x, _), label in zip(points, labels, strict=True)),
    )
    return format_html(
        '<figure class="chart"><figcaption><strong>{}</strong></figcaption>'
        '<svg viewBox="0 0 {} {}" width="{}" height="{}" role="img" aria-label="{}">'
        '<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>{}{}</svg></figure>',
        title,
        WIDTH,
        HEIGHT,
        WIDTH,
        HEIGHT,
        title,
        path,
        COLOURS[1],
        dots,
        names,
    )


def _n(number: float) -> str:
    """A coordinate as SVG wants it (format_html escapes what it is given, so numbers go in as text)."""
    return f"{number:.1f}"
