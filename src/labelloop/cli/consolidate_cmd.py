"""``labelloop consolidate``: consolidate a crowd CSV offline, optionally scoring it against truth."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import cast

import numpy as np
import typer
from rich.console import Console

from labelloop.core.consolidation import (
    Answers,
    consolidator,
    consolidator_names,
    read_answers,
    read_truth,
    write_results,
)
from labelloop.core.consolidation.registry import DEFAULT

_ALGORITHM_HELP = f"Consolidation algorithm: {', '.join(consolidator_names())}."


def consolidate(
    answers: Path = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True,
        help="CSV with header question,worker,answer (one row per worker answer).",
    ),
    algorithm: str = typer.Option(DEFAULT, "--algorithm", help=_ALGORITHM_HELP),
    truth: Path | None = typer.Option(
        None, "--truth", exists=True, dir_okay=False, readable=True,
        help="CSV with header question,truth; prints the accuracy to stderr.",
    ),
    output: Path | None = typer.Option(None, "--output", "-o", help="CSV to write; default stdout"),
) -> None:
    """Consolidate worker answers into one label per question: CSV question,label,confidence.

    Confidence is round(max posterior, 2), or 0.00 for a question only one worker answered.
    """
    if algorithm not in consolidator_names():
        raise typer.BadParameter(f"{algorithm!r} is not one of {', '.join(consolidator_names())}",
                                 param_hint="'--algorithm'")
    try:
        triples = read_answers(answers)
        truths = read_truth(truth) if truth is not None else None
        # read_answers yields str keys, so the item and class keys are str
        data, questions, _, classes = cast("tuple[Answers, list[str], list[str], list[str]]",
                                           Answers.from_triples(triples))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    estimator = consolidator(algorithm).fit(data, questions)
    confidence = np.where(data.answers_per_item() > 1, estimator.confidence_, 0.0)
    labels = [classes[k] for k in estimator.labels_]
    rows = zip(questions, labels, confidence.tolist())
    if output is None:
        write_results(sys.stdout, rows)
    else:
        with open(output, "w", newline="", encoding="utf-8") as f:
            write_results(f, rows)
    if truths is not None:
        _report_accuracy(dict(zip(questions, labels)), truths)


def _report_accuracy(labels: dict[str, str], truths: dict[str, str]) -> None:
    scored = [q for q in truths if q in labels]
    console = Console(stderr=True, highlight=False)
    if not scored:
        console.print("accuracy: n/a (0 questions)")
        return
    right = sum(labels[q] == truths[q] for q in scored)
    console.print(f"accuracy: {right / len(scored):.3f} ({len(scored)} questions)")
