"""Reading and writing crowd CSV files."""

from __future__ import annotations

import io

import pytest

from labelloop.core.consolidation import read_answers, read_truth, write_results


def write(tmp_path, text, name="answers.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_read_answers_any_column_order_extra_columns_and_blank_lines(tmp_path):
    path = write(tmp_path, "\ufeffworker, Question ,answer,note\nw1,q1,cat,x\n\nw2,q1,\"dog, big\",\n")
    assert read_answers(path) == [("q1", "w1", "cat"), ("q1", "w2", "dog, big")]


def test_read_truth(tmp_path):
    assert read_truth(write(tmp_path, "question,truth\nq1,cat\nq2,dog\n")) == {"q1": "cat", "q2": "dog"}


@pytest.mark.parametrize(
    "text, message",
    [
        ("", r"answers.csv:1: empty file"),
        ("q,w,a\n1,2,3\n", r"answers.csv:1: header .* lacks column\(s\) question, worker, answer"),
        ("question,worker,answer\nq1,w1,a\nq2,w2\n", r"answers.csv:3: expected 3 fields, got 2"),
        ("question,worker,answer\nq1,w1,a\nq2,,b\n", r"answers.csv:3: empty worker"),
        ("question,worker,answer\nq1,w1,\"a\n", r"answers.csv:\d+: .*"),
    ],
)
def test_bad_answers_name_file_and_line(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        read_answers(write(tmp_path, text))


def test_truth_question_twice(tmp_path):
    with pytest.raises(ValueError, match=r"truth.csv:4: question 'q1' already on line 2"):
        read_truth(write(tmp_path, "question,truth\nq1,a\nq2,b\nq1,a\n", name="truth.csv"))


def test_write_results():
    out = io.StringIO()
    write_results(out, [("q1", "cat", 0.876), ("q,2", "dog", 1.0)])
    assert out.getvalue() == 'question,label,confidence\nq1,cat,0.88\n"q,2",dog,1.00\n'
