"""Server-drawn SVG charts (pygal), served as images from our own URLs.

pygal's default tooltips load a script from a CDN; `js=[]` turns that off, so
every byte of a chart comes from us. Charts are <img> sources, which keeps the
page's Content-Security-Policy strict (no inline styles in the HTML).
"""

import pygal
from pygal.style import Style

STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#1f2328",
    foreground_strong="#1f2328",
    foreground_subtle="#5b636b",
    colors=("#a4161a", "#e5989b", "#6d597a", "#b5838d", "#355070", "#eaac8b", "#52796f", "#84a98c"),
    font_family="Noto Sans, Segoe UI, Roboto, Arial, sans-serif",
    label_font_size=13,
    major_label_font_size=13,
    value_font_size=13,
    legend_font_size=13,
    title_font_size=16,
)

COMMON = dict(
    style=STYLE,
    js=[],
    width=640,
    height=360,
    show_legend=True,
    print_values=False,
    disable_xml_declaration=False,
    no_data_text="–",
)


def bar(title: str, rows: list[tuple[str, int]], *, horizontal: bool = False) -> bytes:
    chart = (pygal.HorizontalBar if horizontal else pygal.Bar)(
        title=title,
        show_legend=False,
        print_values=True,
        **{k: v for k, v in COMMON.items() if k not in ("show_legend", "print_values")},
    )
    chart.x_labels = [label for label, _ in rows]
    chart.add(title, [value for _, value in rows])
    return chart.render()


def pie(title: str, rows: list[tuple[str, int]]) -> bytes:
    chart = pygal.Pie(title=title, inner_radius=0.45, legend_at_bottom=True, **COMMON)
    for label, value in rows:
        chart.add(f"{label} ({value})", value)
    return chart.render()


def line(title: str, rows: list[tuple[str, int]]) -> bytes:
    chart = pygal.Line(
        title=title,
        show_legend=False,
        x_label_rotation=30,
        fill=True,
        **{k: v for k, v in COMMON.items() if k != "show_legend"},
    )
    chart.x_labels = [label for label, _ in rows]
    chart.add(title, [value for _, value in rows])
    return chart.render()
