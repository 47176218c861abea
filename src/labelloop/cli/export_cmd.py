"""``labelloop export JOB --format spacy|conll|jsonl|coco|yolo|yolo-seg|yolo-pose|voc|masks``: a job's consolidated
labels, streamed to a file (a folder for spacy's ``.spacy`` shards and for the files of yolo*, voc and masks) with a
progress bar on stderr."""

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
    output: Path | None = typer.Option(None, "--output", "-o", help="File to write (a folder for spacy, yolo, "
                                       "yolo-seg, yolo-pose, voc and masks); default: JOB.jsonl, JOB.conll, "
                                       "JOB.json (coco) or the folder JOB-FORMAT/. '-' writes to standard output "
                                       "(folder formats: a tar of their files)."),
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
        folder = exp.format.suffix == "/"  # spacy's shards, the files of yolo, voc, masks
        target = output or Path(f"{exp.job}-{exp.format.name}" if folder else exp.filename)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=err, transient=not err.is_terminal) as progress:
            bar = progress.add_task(f"exporting {exp.job} as {exp.format.name}", total=exp.total)
            exp.on_record = lambda n: progress.update(bar, completed=n) if n % 500 == 0 or n == exp.total else None
            if str(target) == "-":
                for chunk in exp.chunks():
                    sys.stdout.buffer.write(chunk)
                sys.stdout.buffer.flush()
            elif folder:
                target.mkdir(parents=True, exist_ok=True)
                for name, data in exp.shards():
                    (target / name).parent.mkdir(parents=True, exist_ok=True)
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
