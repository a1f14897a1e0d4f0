"""The weekly trend as inline SVG, drawn on the server: no JavaScript, nothing fetched.

Bars per week: follow-ups due (light) and done within their window (dark); a line with
dots: the 7-day FUM rate (0-100 %, right-hand scale). Each week is a link to the
follow-ups due that week, with a tooltip giving the numbers.
"""

from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 36, 40, 12, 28


def _n(value) -> str:
    return f"{value:.1f}"


def trend_svg(weeks, *, link) -> str:
    """SVG markup for `weeks` (metrics.programme.TrendWeek); `link(week)` is its URL."""
    if not weeks:
        return ""
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    top_count = max([w.due for w in weeks] + [1])
    slot = plot_w / len(weeks)
    bar = max(slot * 0.35, 1)

    def y_count(n):
        return TOP + plot_h - plot_h * n / top_count

    def y_rate(rate):
        return TOP + plot_h - plot_h * rate

    groups, points = [], []
    for i, week in enumerate(weeks):
        x = LEFT + i * slot + slot * 0.15
        rate = _("no rate") if week.fum_rate is None else f"{week.fum_rate:.0%}"
        tip = _(
            "Week of %(week)s: %(due)s due, %(done)s done within window, 7-day FUM %(rate)s "
            "(%(numerator)s of %(denominator)s)"
        ) % {
            # The week's first day: "Mar 3" in English (a date format, translatable).
            "week": date_format(week.week_start, pgettext("week in the chart's tooltips", "M j")),
            "due": week.due,
            "done": week.done_within_window,
            "rate": rate,
            "numerator": week.fum_numerator,
            "denominator": week.fum_denominator - week.fum_pending,
        }
        groups.append(
            format_html(
                '<a href="{}"><title>{}</title>'
                '<rect class="due" x="{}" y="{}" width="{}" height="{}"/>'
                '<rect class="done" x="{}" y="{}" width="{}" height="{}"/>'
                '<text x="{}" y="{}" text-anchor="middle">{}</text></a>',
                link(week),
                tip,
                _n(x),
                _n(y_count(week.due)),
                _n(bar),
                _n(TOP + plot_h - y_count(week.due)),
                _n(x + bar),
                _n(y_count(week.done_within_window)),
                _n(bar),
                _n(TOP + plot_h - y_count(week.done_within_window)),
                _n(x + bar),
                HEIGHT - 10,
                # The week's first day on the axis: "3/14" (month/day) in English.
                _("%(month)s/%(day)s")
                % {"month": week.week_start.month, "day": week.week_start.day},
            )
        )
        if week.fum_rate is not None:
            points.append((_n(x + bar), _n(y_rate(week.fum_rate))))

    line = ""
    if points:
        line = format_html(
            '<polyline class="rate" points="{}"/>{}',
            " ".join(f"{x},{y}" for x, y in points),
            format_html_join("", '<circle class="rate" cx="{}" cy="{}" r="3"/>', points),
        )
    axes = format_html(
        '<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"/>'
        '<text x="{}" y="{}" text-anchor="end">{}</text>'
        '<text x="{}" y="{}" text-anchor="end">0</text>'
        '<text x="{}" y="{}">100%</text><text x="{}" y="{}">0%</text>',
        LEFT,
        TOP + plot_h,
        WIDTH - RIGHT,
        TOP + plot_h,
        LEFT - 4,
        TOP + 10,
        top_count,
        LEFT - 4,
        TOP + plot_h,
        WIDTH - RIGHT + 4,
        TOP + 10,
        WIDTH - RIGHT + 4,
        TOP + plot_h,
    )
    return format_html(
        # A group, not an image: an image's parts are hidden from assistive technology,
        # and each week here is a link (axe's nested-interactive).
        '<svg class="trend-chart" viewBox="0 0 {} {}" role="group" '
        'aria-labelledby="trend-title" preserveAspectRatio="xMidYMid meet">'
        '<title id="trend-title">{}</title>'
        # Its colours are in casebook.css: the Content-Security-Policy refuses inline styles.
        "{}{}{}</svg>",
        WIDTH,
        HEIGHT,
        _("Weekly follow-ups due, done within window, and the 7-day FUM rate"),
        axes,
        format_html_join("", "{}", ((group,) for group in groups)),
        line,
    )
