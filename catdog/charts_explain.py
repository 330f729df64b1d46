"""Plotly figures for the explanations in :mod:`catdog.explain`.

Kept apart from :mod:`catdog.charts` (training and data figures); pages only
show what these functions return.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from catdog.explain import Evaluation


def confusion_figure(evaluation: Evaluation, title: str | None = None):
    """Confusion matrix heatmap: counts and row rates of an evaluation.

    Cells are coloured by the row rate (share of the true class's images
    predicted as each class, so classes of different sizes compare fairly) and
    labelled ``"count<br>rate %"``.  Rows are true classes (first class on
    top), columns predicted classes; axes titled "true class" and "predicted
    class".  The hover text spells out the cell.

    Args:
        evaluation: from :func:`catdog.explain.evaluate_split`.
        title: figure title; ``None`` shows the accuracy and image count.

    Returns:
        ``plotly.graph_objects.Figure`` with one ``Heatmap`` trace whose ``z``
        is the (classes, classes) row-rate matrix in [0, 1] and whose
        ``customdata`` holds the int counts.
    """
    import plotly.graph_objects as go

    names = [html.escape(name) for name in evaluation.class_names]  # a class "<i>cats" drew in italics (QA L)
    counts = np.asarray(evaluation.confusion, dtype=np.int64)
    rates = evaluation.row_rates()
    text = [[f"{counts[t, p]}<br>{rates[t, p]:.1%}" for p in range(len(names))] for t in range(len(names))]
    heatmap = go.Heatmap(
        z=rates,
        x=names,
        y=names,
        customdata=counts,
        text=text,
        texttemplate="%{text}",
        textfont={"size": 16},
        zmin=0.0,
        zmax=1.0,
        colorscale="Blues",
        colorbar={"title": {"text": "share of<br>true class"}, "tickformat": ".0%"},
        hovertemplate="true %{y}, predicted %{x}<br>%{customdata} images (%{z:.1%} of true %{y})<extra></extra>",
    )
    if title is None:
        # two lines: on one, a half-width chart at 1024 px cut it after "correct of 200"
        title = f"Confusion matrix<br><sup>{evaluation.accuracy:.1%} correct of {evaluation.size} images</sup>"
    figure = go.Figure(heatmap)
    figure.update_layout(
        title=title,
        xaxis={"title": {"text": "predicted class"}, "side": "bottom", "type": "category"},
        yaxis={"title": {"text": "true class"}, "autorange": "reversed", "type": "category"},
        margin={"l": 80, "r": 20, "t": 60, "b": 60},
    )
    return figure
