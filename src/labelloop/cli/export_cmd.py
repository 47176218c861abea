"""``labelloop export JOB --format spacy|conll|jsonl``: a job's consolidated labels, streamed to a file (a
folder of ``.spacy`` shards for spacy) with a progress bar on stderr."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from labelloop.core.errors import LabelloopError
from labelloop.core.exports import FORMATS

_FORMATS_HELP = "; ".join(f"{f.name}: {f.description}" for f in FORMATS.values())


def export(
    job: str = typer.Argument(..., help="The job whose consolidated labels to export."),
    format: str = typer.Option(..., "--format", "-f", help=f"Export format. {_FORMATS_HELP}."),
    output: Path | None = typer.Option(None, "--output", "-o", help="File to write (a folder for spacy); "
                                       "default: JOB.jsonl, JOB.conll or the folder JOB-spacy/. '-' writes to "
                                       "standard output (spacy: a tar of its shards)."),
    lang: str = typer.Option("xx", help="spaCy language code of the blank tokenizer (spacy format)."),
    shard_size: int = typer.Option(10_000, min=1, help="Documents per .spacy shard (spacy format)."),
    as_user: str | None = typer.Option(None, "--as", help="Act as this user (default: the first admin)."),
    database_url: str | None = typer.Option(None, "--database-url", envvar="LABELLOOP_DATABASE_URL",
                                            help="SQLAlchemy database URL."),
) -> None:
    """Export a job's consolidated labels, streaming (constant memory however large the job)."""
    from labelloop.cli.main import _admin, _ctx, _fail
    from labelloop.services.export import export_job

    err = Console(stderr=True)
    ctx = _ctx(database_url)
    try:
        exp = export_job(ctx, _admin(ctx, as_user), job, format, lang=lang, shard_size=shard_size)
        target = output or Path(f"{exp.job}-spacy" if exp.format.name == "spacy" else exp.filename)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=err, transient=not err.is_terminal) as progress:
            bar = progress.add_task(f"exporting {exp.job} as {exp.format.name}", total=exp.total)
            exp.on_record = lambda n: progress.update(bar, completed=n) if n % 500 == 0 or n == exp.total else None
            if str(target) == "-":
                for chunk in exp.chunks():
                    sys.stdout.buffer.write(chunk)
                sys.stdout.buffer.flush()
            elif exp.format.name == "spacy":
                target.mkdir(parents=True, exist_ok=True)
                for name, data in exp.shards():
                    (target / name).write_bytes(data)
            else:
                with open(target, "wb") as f:
                    for chunk in exp.chunks():
                        f.write(chunk)
            progress.update(bar, completed=exp.total)
    except LabelloopError as exc:
        _fail(exc)
    for w in exp.warnings:
        err.print(f"[yellow]warning:[/yellow] {w}")
    if str(target) != "-":
        err.print(f"exported {exp.total:,} labeled objects of '{exp.job}' as {exp.format.name} to {target}")
