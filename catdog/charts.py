"""Plotly figures for the pages; pages only show them, tests read their data."""

from __future__ import annotations

import html
import math
import os
from typing import Mapping, Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

#: Colours per split and per class, kept the same on every page.
SPLIT_COLORS = {"train": "#4C78A8", "validation": "#F58518", "test": "#54A24B"}
#: Tableau 10 (Vega's ``tableau10`` scheme), one per run in a comparison; runs past the tenth get dashed lines.
CURVE_COLORS = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#EECA3B", "#B279A2", "#FF9DA6", "#9D755D",
                "#BAB0AC")
#: Plotly line dashes, one per round of :data:`CURVE_COLORS`: runs 1–10 solid, 11–20 dashed, and so on.
CURVE_DASHES = ("solid", "dash", "dot", "dashdot")
#: The history keys the comparison charts, one chart each (:func:`compare_figure`, :func:`hidden_runs`).
COMPARE_METRICS = ("val_accuracy", "val_loss")
#: A comparison's legend entry, at most (characters), and the end of a run's label it keeps: " · model4 · test 97.0%".
LEGEND_NAME_MAX, LEGEND_TAIL = 44, 22


def counts_figure(counts: Mapping[str, Mapping[str, int]]):
    """Grouped bar chart of images per class, one bar group per class, one colour per split.

    Args:
        counts: ``{split: {class_name: n}}`` as :meth:`catdog.data.Splits.counts` returns.

    Returns:
        A ``plotly.graph_objects.Figure`` with one ``Bar`` trace per split.
    """
    fig = go.Figure()
    for split, per_class in counts.items():
        fig.add_bar(  # class names as typed: plotly reads HTML tags in text ("<i>cats" in italics, QA L)
            name=split, x=[html.escape(name) for name in per_class], y=list(per_class.values()), texttemplate="%{y:,}",
            marker_color=SPLIT_COLORS.get(split), textangle=0,  # plotly turns labels sideways in short bars
            hovertemplate=f"{split} · %{{x}}: %{{y:,}} images<extra></extra>",  # not "validation(cats, 400)" (QA)
            textposition="outside", cliponaxis=False,
        )
    fig.update_layout(
        barmode="group", xaxis_title="class", yaxis_title="images", legend_title="split", yaxis_tickformat=",",
        legend=dict(orientation="h", y=-0.3),  # beside the bars, the hover label covered its "train" (QA)
        height=320, margin=dict(t=30, b=10, l=10, r=10),
        uniformtext=dict(minsize=11, mode="show"),  # plotly shrank "1000" to fit a narrow bar: 5 px at 1024 px (QA)
    )
    return fig


def _epoch_markers(history: Sequence[Mapping[str, float]], fine_tune_start: int | None = None) -> dict:
    """Scatter keywords marking special epochs, with why on hover: an open circle on an epoch that Stop cut short
    (a row with ``stopped_after_batch``, see :attr:`catdog.training.Progress.partial_epoch`) and the batch it
    ended after; a diamond on ``fine_tune_start``, the first fine-tuning epoch (``run.json``'s
    ``fine_tune_start_epoch``), where a comparison of several runs has no room for the live chart's dashed line
    per run; an open diamond where Stop cut that epoch short. ``{}`` when no epoch is special."""
    cut = [row.get("stopped_after_batch") is not None for row in history]
    tuned = [fine_tune_start is not None and row.get("epoch") == fine_tune_start for row in history]
    if not any(cut) and not any(tuned):
        return {}
    return dict(
        # both: Stop cut the first fine-tuning epoch short (QA: the open circle hid the diamond)
        marker=dict(symbol=["diamond-open" if c and t else "circle-open" if c else "diamond" if t else "circle"
                            for c, t in zip(cut, tuned)],
                    size=[11 if t else 10 if c else 6 for c, t in zip(cut, tuned)],
                    # outlined: in the line's own colour a diamond was easy to miss among the dots (QA)
                    line=dict(color="#31333F", width=[1.5 if t else 0 for t in tuned])),
        hovertext=[("<br>the first fine-tuning epoch" if t else "")
                   + (f"<br>stopped after batch {row['stopped_after_batch']:.0f} of {row.get('batches', 0):.0f}"
                      if c else "") for row, c, t in zip(history, cut, tuned)],
    )


def _hover(what: str, metric: str, markers: Mapping) -> dict:
    """Scatter keywords: ``markers`` (:func:`_epoch_markers`) and a hover text ``epoch 2 · validation accuracy:
    95.2%`` (loss to 3 decimals), then why an open marker is open.  Plotly's own read "(2, 95%)", rounding what
    the tables give as 95.2 %, and "0.1646658" (QA)."""
    value = "%{y:.1%}" if "accuracy" in metric else "%{y:.3f}"
    why = "%{hovertext}" if "hovertext" in markers else ""
    return dict(markers, hovertemplate=f"epoch %{{x}} · {what}: {value}{why}<extra></extra>")


#: Up to this many epochs the x axis labels every epoch; beyond, plotly picks the steps (20 labels ran together
#: into a smear on a half-width chart at 1024 px).
EPOCH_TICKS_MAX = 10
#: The first epoch's training loss is left off the top of a loss chart when it is over this many times every other
#: value: model1 on raw [0, 255] pixels starts at 12–58 (17–80 × its later losses), which flattened all later
#: points onto 0; fast model4's first epoch (0.5, 3 × the rest) is a plain learning curve and stays in.
FIRST_LOSS_OUTLIER = 10.0


def first_loss_off_top(history: Sequence[Mapping[str, float]]) -> tuple[float, float] | None:
    """``(first, top)`` when a loss chart of ``history`` leaves the first epoch's training loss ``first`` off its
    top, being over :data:`FIRST_LOSS_OUTLIER` × ``top``, the largest of the other losses (training from the second
    epoch, validation from the first); else ``None`` (fewer than two epochs, or no such outlier)."""
    finite = lambda v: v is not None and math.isfinite(v)  # noqa: E731
    if len(history) < 2 or not finite(first := history[0].get("loss")):
        return None
    rest = [v for i, row in enumerate(history) for key in ("loss", "val_loss")
            if (i or key == "val_loss") and finite(v := row.get(key))]
    top = max(rest, default=0.0)
    return (first, top) if top > 0 and first > FIRST_LOSS_OUTLIER * top else None


def _loss_axis(fig, history: Sequence[Mapping[str, float]]) -> None:
    """Fit a loss chart's y axis to the epochs after the first when the first epoch's training loss is an
    outlier (:func:`first_loss_off_top`), give its value in the title and mark it with a triangle on the chart's
    top edge (its value on hover); else leave plotly's range. The training line then starts at the second epoch:
    drawn from the point off the top, it fell as a near-vertical stroke onto the second epoch, read as a spike
    there (QA M)."""
    if (off := first_loss_off_top(history)) is None:
        return
    first, top = off
    epoch = history[0]["epoch"]
    fig.update_yaxes(range=[0, 1.15 * top])
    # in the title: a note inside the plot sat on the curves, which start at the top left and end at the top right
    fig.update_layout(title_text=f"{fig.layout.title.text}<br><sup>epoch {epoch:.0f} training: "
                                 f"{first:.3g}, off the top ▲</sup>")
    training = fig.data[0]
    training.y = (None, *training.y[1:])
    fig.add_scatter(x=[epoch], y=[1.12 * top], mode="markers", showlegend=False, cliponaxis=False,
                    marker=dict(symbol="triangle-up", size=11, color=training.line.color),
                    hovertemplate=f"epoch {epoch:.0f} · training loss: {first:.3f} (off the top)<extra></extra>")


def loss_outliers(values: Sequence[float | None]) -> tuple[float, int] | None:
    """Where a comparison's loss axis should end when a few losses dwarf the others: ``(top, points left off)``,
    ``top`` the largest of the finite ``values`` at most :data:`FIRST_LOSS_OUTLIER` × the larger of their median
    and ln 2 (the loss of a 50/50 answer); ``None`` when none is over that.

    A run stopped after its first batch still has its partial epoch validated, at a validation loss of 1,126
    (model2) or 14,689 (model1's retry) on raw pixels, which drew every other run of the comparison as a flat line
    on 0 (QA). ln 2 keeps the floor at ≈ 6.9, so that model1's and model2's losses (0.6–3 on the course data) stay
    on a chart beside model4's (0.03–0.1), whatever the mix of runs makes the median.
    """
    finite = sorted(v for v in values if v is not None and math.isfinite(v))
    if not finite:
        return None
    limit = FIRST_LOSS_OUTLIER * max(finite[len(finite) // 2], math.log(2))
    kept = [v for v in finite if v <= limit]
    if not kept or len(kept) == len(finite):
        return None
    return kept[-1], len(finite) - len(kept)


def _accuracy_axis(fig, values: Sequence[float | None], **where) -> None:
    """Set an accuracy y axis in percent from a round tick below the lowest of ``values`` to 100 %, as the
    TensorFlow tutorials plot accuracy (``plt.ylim([min(plt.ylim()), 1])``): a fixed 0–100 % axis drew model4's
    curves, 88–99 %, as two flat lines along the top, hiding the training/validation gap and what fine-tuning
    adds. 0–100 % with no values.

    The bottom is the 10 % step below the lowest value less a point, taken down to a multiple of the tick step
    (20, 10, 5 or 2 %), so that the ticks include 100 % and stop there: plotly's own read "102%" at the top of a
    90–100 % axis, and steps from an odd start lacked 100 %. The range reaches 2 % of its span past both ends, so
    that a marker on 0 % or 100 % is drawn whole. ``where`` picks a subplot's axis (``row=1, col=2``).
    """
    finite = [v for v in values if v is not None and math.isfinite(v)]
    low = max(0.0, math.floor((min(finite) - 0.01) * 10) / 10) if finite else 0.0
    step = 0.2 if low < 0.4 else 0.1 if low < 0.7 else 0.05 if low < 0.9 else 0.02
    low = math.floor(low / step + 1e-9) * step  # a tick at the bottom, and so one at 100 %
    span = 1.0 - low
    ticks = [round(low + k * step, 6) for k in range(round(span / step) + 1)]
    fig.update_yaxes(range=[low - 0.02 * span, 1.0 + 0.02 * span], tickvals=ticks, tickformat=".0%", **where)


def history_figure(
    history: Sequence[Mapping[str, float]],
    metric: str = "accuracy",
    *,
    fine_tune_start: int | None = None,
    title: str | None = None,
):
    """Training vs validation curve of one metric over epochs.

    Args:
        history: per-epoch dicts with ``epoch`` (1-based), ``metric`` and ``val_<metric>`` (accuracies as
            fractions in [0, 1], drawn in percent).
        metric: ``accuracy`` or ``loss``.
        fine_tune_start: first fine-tuning epoch; a dashed vertical line marks it.
        title: figure title (default: the metric).

    Returns:
        A figure with a ``training`` and a ``validation`` line trace (markers on
        each epoch, an open one on an epoch that Stop cut short); empty traces for an empty history.
    """
    epochs = [row["epoch"] for row in history]
    fig = go.Figure()
    for key, name, color in ((metric, "training", CURVE_COLORS[0]), (f"val_{metric}", "validation", CURVE_COLORS[1])):
        fig.add_scatter(
            x=epochs, y=[row.get(key) for row in history], mode="lines+markers", name=name,
            line=dict(color=color), **_hover(f"{name} {metric}", metric, _epoch_markers(history)),
        )
    if fine_tune_start is not None:
        # The x axis reaches the first fine-tuning epoch before it has ended, so that the line is not on the
        # chart's edge; the label goes on the side of the line with more room (the axis starts at 0.5), so that
        # it is never cut off ("fine-tuning st" at 1024 px, QA), and away from the curves: accuracy ends near
        # the top of its chart, loss near the bottom of its own.
        right = max([*epochs, fine_tune_start]) - fine_tune_start + 1 > fine_tune_start - 1
        fig.add_vline(x=fine_tune_start - 0.5, line_dash="dash", annotation_text="fine-tuning starts",
                      annotation_position=f"{'bottom' if metric == 'accuracy' else 'top'} "
                                          f"{'right' if right else 'left'}")
    fig.update_layout(
        title=title or metric, xaxis_title="epoch", yaxis_title=metric, height=300,
        # t=56: room for a second title line (the loss chart's "off the top" note) on both charts of a row, so
        # that their plots line up (QA 16 saw the note on the top tick label; QA 18 the charts out of line)
        margin=dict(t=56, b=10, l=10, r=10), legend=dict(orientation="h", y=-0.3),
    )
    if metric == "accuracy":
        _accuracy_axis(fig, [row.get(key) for row in history for key in (metric, f"val_{metric}")])
    elif metric == "loss":
        # a flat loss is drawn flat, not as plotly's zoom on its digits; a tiny one as 5×10⁻⁶, not "5μ" (QA 14)
        fig.update_yaxes(rangemode="tozero", exponentformat="power")
        _loss_axis(fig, history)
    fig.update_xaxes(range=_epoch_range([*epochs, fine_tune_start or 1]),
                     dtick=1 if len(epochs) <= EPOCH_TICKS_MAX else None)
    return fig


def _epoch_range(epochs: Sequence[float]) -> list[float] | None:
    """An epoch axis from half an epoch before the first (epoch 1) to half one after the last of ``epochs``:
    plotly's "tozero" drew an epoch 0, where there is none (QA). ``None`` (plotly's own) with no epochs."""
    return [0.5, max(epochs) + 0.5] if epochs else None


def legend_name(label: str, most: int = LEGEND_NAME_MAX) -> str:
    """``label`` cut in the middle to at most ``most`` characters, keeping its end (model and test score).

    Two legend entries then share a line at 1024 px, as :func:`compare_figure`'s height assumes: an
    80-character run name was cut off at the chart's right edge, with its score (QA)."""
    if len(label) <= most:
        return label
    tail = min(LEGEND_TAIL, most // 2)
    return f"{label[:most - tail - 1]}…{label[-tail:]}"


def legend_names(labels: Sequence[str], most: int = LEGEND_NAME_MAX) -> dict[str, str]:
    """:func:`legend_name` of each of ``labels`` (distinct), told apart where two cuts would read the same ("Ms
    Okafor's model4 try 18 (seed 5)" and "… try 34 …" both read "Ms Okafor's model4 tr… (seed 5) · test 96.0%"
    in a comparison of 149 runs, QA 17): such a label keeps its start up to 4 characters past where it first differs
    from the nearest of the others, or, when that would pass ``most`` characters, its first 8, a window of 12
    ending there and its end.

    Returns:
        ``{label: legend text}``, the texts distinct and at most ``most`` characters long.
    """
    cuts = {label: legend_name(label, most) for label in labels}
    groups: dict[str, list[str]] = {}
    for label, cut in cuts.items():
        groups.setdefault(cut, []).append(label)
    tail = min(LEGEND_TAIL, most // 2)
    for same in (group for group in groups.values() if len(group) > 1):
        for label in same:
            # the longest start it shares with another: with 3 or more, the group's common start is too short
            differs = max(len(os.path.commonprefix([label, other])) for other in same if other != label) + 4
            if differs + 1 + tail <= most:
                cuts[label] = f"{label[:max(differs, most - tail - 1)]}…{label[-tail:]}"
            else:
                window = most - tail - 8 - 2
                cuts[label] = f"{label[:8]}…{label[differs - window:differs]}…{label[-tail:]}"
    return cuts


def hidden_runs(curves: Mapping[str, Sequence[Mapping[str, float]]],
                metrics: Sequence[str] = COMPARE_METRICS) -> dict[str, str]:
    """The runs whose lines in :func:`compare_figure` lie wholly under a run's drawn after them, which hides them.

    Runs trained with the same data, settings and seed have the same curves, and a model4 run fine-tuned after
    its frozen phase repeats, epoch by epoch, a run of that frozen phase alone with the same seed (QA: on the
    course data "model4 (fast)" vanished under "model4 (fast, FT 10)", its legend entry drawing no line).

    Args:
        curves: ``{run label: history}`` in :func:`compare_figure`'s order, which draws each run over the ones
            before it.
        metrics: the history keys charted; a run is hidden when, in every epoch it has, each of them equals
            (within a relative 1e-9, or both missing) the later run's in the same epoch.

    Returns:
        ``{hidden run's label: the label of the run on top of it}`` (the last drawn, if several are), in
        ``curves``' order; ``{}`` when every run shows.
    """
    def same(a, b):
        return (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9))

    points = {label: {row["epoch"]: [row.get(metric) for metric in metrics] for row in history}
              for label, history in curves.items()}
    labels, hidden = list(curves), {}
    for i, label in enumerate(labels):
        mine = points[label]
        for later in reversed(labels[i + 1:]):
            theirs = points[later]
            if mine and all(epoch in theirs and all(map(same, values, theirs[epoch]))
                            for epoch, values in mine.items()):
                hidden[label] = later
                break
    return hidden


def compare_figure(curves: Mapping[str, Sequence[Mapping[str, float]]],
                   metrics: Sequence[str] = COMPARE_METRICS, styles: Mapping[str, int] | None = None,
                   fine_tune_starts: Mapping[str, int] | None = None):
    """Side by side, one chart per metric, one line per run over epochs, for the comparison view.

    One figure with one legend under both charts, not a figure per metric: two legends of the same runs, each
    half the page wide, cut labels such as "course model4-finetune (seed 42) · model4 · test 94.0%" at 1024 px.
    A run's lines share a legend entry, so that clicking it hides the run in every chart.

    Args:
        curves: ``{run label: history}`` (:meth:`catdog.training.RunInfo.history`; an epoch that Stop cut
            short gets an open marker); a long label is cut in the legend (:func:`legend_name`).
        metrics: history keys, one chart each from left to right, e.g. ``val_accuracy`` and ``val_loss``; an
            accuracy chart gets a percent axis (:func:`_accuracy_axis`).
        styles: ``{run label: n}``: the run's line gets colour ``n`` of :data:`CURVE_COLORS` and, past the tenth,
            a dash of :data:`CURVE_DASHES`; a number per run, not per position, keeps a run's colour whatever
            else is compared (QA: "the orange line" was another run in each tab). ``None``: the position in
            ``curves``.
        fine_tune_starts: ``{run label: first fine-tuning epoch}`` (1-based) of the fine-tuned runs: a diamond
            marks that epoch on the run's lines (:func:`_epoch_markers`).

    Returns:
        A ``plotly.graph_objects.Figure`` with one ``Scatter`` trace per run and metric, metric by metric; the
        first chart's axes are ``layout.xaxis``/``layout.yaxis``, the next ones' ``xaxis2``/``yaxis2``, ….
    """
    titles = [metric.replace("val_", "validation ").replace("_", " ") for metric in metrics]
    fig = make_subplots(rows=1, cols=len(metrics), subplot_titles=titles, horizontal_spacing=0.1)
    longest = max((len(h) for h in curves.values()), default=0)
    names = {label: html.escape(name) for label, name in legend_names(list(curves)).items()}
    for col, metric in enumerate(metrics, start=1):
        for i, (label, history) in enumerate(curves.items()):
            n = i if styles is None else styles[label]
            fig.add_scatter(
                x=[row["epoch"] for row in history], y=[row.get(metric) for row in history],
                mode="lines+markers", name=names[label], legendgroup=str(i), showlegend=col == 1,
                line=dict(color=CURVE_COLORS[n % len(CURVE_COLORS)],  # 11 runs: two of each colour told apart (QA)
                          dash=CURVE_DASHES[n // len(CURVE_COLORS) % len(CURVE_DASHES)]),
                **_hover(f"{names[label]}<br>{metric.replace('val_', 'validation ')}", metric,
                         _epoch_markers(history, (fine_tune_starts or {}).get(label))), row=1, col=col,
            )
        if "accuracy" in metric:
            _accuracy_axis(fig, [row.get(metric) for history in curves.values() for row in history], row=1, col=col)
        elif "loss" in metric:  # from 0: a stuck run's 0.693178 → 0.693172 was drawn as a steep fall (QA)
            fig.update_yaxes(rangemode="tozero", exponentformat="power", row=1, col=col)  # not "5μ" (QA 14)
            values = [row.get(metric) for history in curves.values() for row in history]
            if (cut := loss_outliers(values)) is not None:
                top, off = cut
                fig.update_yaxes(range=[0, 1.15 * top], row=1, col=col)
                title = fig.layout.annotations[col - 1]
                most = max(v for v in values if v is not None and math.isfinite(v))
                # "1,175", not "1.17e+03" on a class's screen (QA)
                title.text = (f"{title.text}<br><sup>{off} point{'s' if off > 1 else ''} off the top (up to "
                              f"{f'{most:,.0f}' if most >= 100 else f'{most:.3g}'})</sup>")
        fig.update_xaxes(title_text="epoch", dtick=1 if longest <= EPOCH_TICKS_MAX else None,
                         range=_epoch_range([row["epoch"] for history in curves.values() for row in history]),
                         row=1, col=col)
    # At 1024 px the legend takes a line per two runs; the figure grows by each line past the first, so that the
    # charts keep their height: with 12 runs the legend squeezed them to 150 px, over the axis titles (QA).
    extra_rows = max(math.ceil(len(curves) / 2) - 1, 0)
    fig.update_layout(height=400 + 24 * extra_rows, margin=dict(t=55, b=10, l=10, r=10),  # titles below the toolbar
                      legend=dict(orientation="h", y=-0.22, yanchor="top"))
    return fig
