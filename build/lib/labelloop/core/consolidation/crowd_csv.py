"""Crowd CSV files: ``question,worker,answer`` answers, ``question,truth`` truths, results out.

The format of the truth-inference benchmark (Zheng et al., PVLDB 2017). A header row is
required; its columns may come in any order and extra columns are ignored. Errors are
ValueErrors of the form ``<file>:<line>: <what is wrong>``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

ANSWER_COLUMNS = ("question", "worker", "answer")
TRUTH_COLUMNS = ("question", "truth")
RESULT_COLUMNS = ("question", "label", "confidence")


def read_answers(path: str | Path) -> list[tuple[str, str, str]]:
    """``(question, worker, answer)`` triples from an answers CSV, in file order."""
    return [(q, w, a) for _, (q, w, a) in _read(path, ANSWER_COLUMNS)]


def read_truth(path: str | Path) -> dict[str, str]:
    """``{question: true answer}`` from a truth CSV; a question listed twice is an error."""
    truth: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for line, (question, answer) in _read(path, TRUTH_COLUMNS):
        if question in truth:
            raise ValueError(f"{path}:{line}: question {question!r} already on line {first_line[question]}")
        truth[question] = answer
        first_line[question] = line
    return truth


def write_results(out: TextIO, rows: Iterable[tuple[str, str, float]]) -> None:
    """Write ``question,label,confidence`` rows (confidence with 2 decimals) to ``out``."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RESULT_COLUMNS)
    for question, label, confidence in rows:
        writer.writerow((question, label, f"{confidence:.2f}"))


def _read(path: str | Path, columns: tuple[str, ...]) -> Iterator[tuple[int, tuple[str, ...]]]:
    """Yield ``(line number, values of columns)`` for each data row; blank lines are skipped."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, strict=True)
        try:
            header = next(reader, None)
            if header is None:
                raise ValueError(f"{path}:1: empty file; expected a header {','.join(columns)}")
            names = [h.strip().lower() for h in header]
            missing = [c for c in columns if c not in names]
            if missing:
                raise ValueError(
                    f"{path}:{reader.line_num}: header {','.join(header)!r} lacks column(s) "
                    f"{', '.join(missing)}; expected {','.join(columns)}"
                )
            where = [names.index(c) for c in columns]
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                yield reader.line_num, _values(path, reader.line_num, row, header, columns, where)
        except csv.Error as exc:
            raise ValueError(f"{path}:{reader.line_num}: {exc}") from None


def _values(
    path: str | Path, line: int, row: list[str], header: list[str], columns: tuple[str, ...], where: list[int]
) -> tuple[str, ...]:
    if len(row) != len(header):
        raise ValueError(f"{path}:{line}: expected {len(header)} fields, got {len(row)}: {','.join(row)!r}")
    values = tuple(row[i].strip() for i in where)
    for name, value in zip(columns, values):
        if not value:
            raise ValueError(f"{path}:{line}: empty {name}")
    return values
