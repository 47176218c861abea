"""``labelloop consolidate`` through Typer's CliRunner, on generated CSV files."""

from __future__ import annotations

import csv
import io
import random
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from labelloop.cli.consolidate_cmd import consolidate

app = typer.Typer()
app.command("consolidate")(consolidate)


@app.callback()
def _root() -> None:
    """Keep `consolidate` a sub-command, as in the real app."""


runner = CliRunner(env={"COLUMNS": "400", "TERMINAL_WIDTH": "400"})


@pytest.fixture
def crowd(tmp_path):
    """300 questions, 3 classes, 3 answers each from 8 workers of mixed quality."""
    rng = random.Random(0)
    quality = [0.9, 0.85, 0.8, 0.8, 0.7, 0.6, 0.5, 0.4]
    classes = ["cat", "dog", "fox"]
    answers, truth = [("question", "worker", "answer")], [("question", "truth")]
    for q in range(300):
        t = rng.choice(classes)
        truth.append((f"img-{q}", t))
        for w in rng.sample(range(8), 3):
            answers.append((f"img-{q}", f"w{w}", t if rng.random() < quality[w] else rng.choice(classes)))
    answers.append(("lonely", "w0", "fox"))  # a question with one answer
    for name, rows in (("answers.csv", answers), ("truth.csv", truth)):
        with open(tmp_path / name, "w", newline="") as f:
            csv.writer(f).writerows(rows)
    return tmp_path


def plain(text):
    """Rich's error box without its frame and line wrapping."""
    return " ".join(text.replace("│", " ").split())


def parse(text):
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("algorithm", ["dawid-skene", "majority-vote"])
def test_writes_csv_to_stdout_and_accuracy_to_stderr(crowd, algorithm):
    result = runner.invoke(app, ["consolidate", str(crowd / "answers.csv"), "--algorithm", algorithm,
                                 "--truth", str(crowd / "truth.csv")])
    assert result.exit_code == 0, result.output
    rows = parse(result.stdout)
    assert [r["question"] for r in rows[:2]] == ["img-0", "img-1"] and len(rows) == 301
    assert {r["label"] for r in rows} <= {"cat", "dog", "fox"}
    assert all(0 <= float(r["confidence"]) <= 1 and len(r["confidence"].split(".")[1]) == 2 for r in rows)
    assert rows[-1] == {"question": "lonely", "label": "fox", "confidence": "0.00"}
    line = result.stderr.strip()
    assert line.startswith("accuracy: ") and line.endswith("(300 questions)")
    assert float(line.split()[1]) > 0.75


def test_output_file_and_default_algorithm(crowd):
    out = crowd / "labels.csv"
    result = runner.invoke(app, ["consolidate", str(crowd / "answers.csv"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and result.stderr == ""
    assert len(parse(out.read_text())) == 301


def test_unknown_algorithm_is_a_bad_parameter(crowd):
    result = runner.invoke(app, ["consolidate", str(crowd / "answers.csv"), "--algorithm", "mode"])
    assert result.exit_code == 2
    assert "'mode' is not one of dawid-skene, ground-truth, majority-vote, shrunk-dawid-skene" in plain(
        result.stderr)


def test_bad_row_is_reported_with_file_and_line(tmp_path):
    path = tmp_path / "answers.csv"
    path.write_text("question,worker,answer\nq1,w1,a\nq2,w2\n")
    result = runner.invoke(app, ["consolidate", str(path)])
    assert result.exit_code == 2
    assert "answers.csv:3: expected 3 fields, got 2" in plain(result.stderr)


def test_missing_file(tmp_path):
    result = runner.invoke(app, ["consolidate", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2


def test_core_consolidation_imports_only_numpy_and_stdlib():
    code = (
        "import sys, labelloop.core.consolidation\n"
        "bad = {'fastapi', 'starlette', 'sqlalchemy', 'httpx', 'boto3', 'typer', 'rich', 'pydantic'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
