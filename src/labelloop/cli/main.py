"""The ``labelloop`` command. Admin and requester commands work on the database directly (embedded or
PostgreSQL, from LABELLOOP_DATABASE_URL); ``simulate`` drives a running server over HTTP."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from labelloop.core.errors import LabelloopError
from labelloop.settings import Settings
from labelloop.web import render

app = typer.Typer(help="labelloop: self-hosted data labeling compatible with SageMaker Ground Truth.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="Users (admin, requester, worker).", no_args_is_help=True)
teams_app = typer.Typer(help="Work teams.", no_args_is_help=True)
jobs_app = typer.Typer(help="Labeling jobs.", no_args_is_help=True)
tokens_app = typer.Typer(help="Credentials: session and API tokens (list, revoke).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(teams_app, name="teams")
app.add_typer(jobs_app, name="jobs")
app.add_typer(tokens_app, name="tokens")
storage_app = typer.Typer(help="The storage access policy: local folders, S3 buckets and prefixes, http(s) hosts "
                               "jobs may read and write (docs/security.md).", no_args_is_help=True)
app.add_typer(storage_app, name="storage")
WIDE = 1000  # columns of a table when the output is not a terminal (a pipe, a file): never cut
out = Console(width=None if sys.stdout.isatty() else WIDE)
err = Console(stderr=True)

DbOpt = typer.Option(None, "--database-url", envvar="LABELLOOP_DATABASE_URL", help="SQLAlchemy database URL.")


def _context(settings: Settings):
    from labelloop.db.migrate import upgrade
    from labelloop.services.context import build_context

    ctx = build_context(settings)
    upgrade(ctx.engine)
    return ctx


def _ctx(database_url: str | None):
    overrides: dict[str, Any] = {"database_url": database_url} if database_url else {}
    return _context(Settings(**overrides))


def _admin(ctx: Any, username: str | None) -> Any:
    """The principal the CLI acts as: --as USER, else the first admin."""
    from labelloop.services.users import acting_principal

    return acting_principal(ctx, username)


def _fail(exc: LabelloopError) -> None:
    err.print(f"[red]error:[/red] {escape(exc.message)}")
    for d in exc.details[:20]:
        err.print(f"  line {d['line']}: {d['reason']}" if "line" in d else f"  {d}")
    raise typer.Exit(2)


@db_app.command("upgrade")
def db_upgrade(database_url: str | None = DbOpt):
    """Create or migrate the database schema to the latest version."""
    from labelloop.db.migrate import current_revision, upgrade
    from labelloop.services.context import build_context

    overrides: dict[str, Any] = {"database_url": database_url} if database_url else {}
    ctx = build_context(Settings(**overrides))
    before = current_revision(ctx.engine)
    upgrade(ctx.engine)
    after = current_revision(ctx.engine)
    if before is None:
        out.print(f"created the database schema (revision {after})")
    elif before != after:
        out.print(f"upgraded the database schema from revision {before} to {after}")
    else:
        out.print(f"the database schema is already up to date (revision {after})")


@db_app.command("backup")
def db_backup(path: Path = typer.Argument(..., help="The backup file to write (must not exist)."),
              database_url: str | None = DbOpt):
    """Back up the database while servers run: SQLite's online backup (a consistent copy), or pg_dump -Fc for
    PostgreSQL (docs/deployment.md)."""
    from labelloop.db.backup import BackupError, backup

    url = database_url or Settings().database_url
    try:
        out.print(escape(backup(url, path)))
    except BackupError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None


@users_app.command("create")
def users_create(
    username: str, role: str = typer.Option("worker", help="admin, requester or worker"),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True,
                                 envvar="LABELLOOP_PASSWORD"),
    team: list[str] = typer.Option([], help="Work team(s) to add the user to."),
    database_url: str | None = DbOpt,
):
    """Create a user (password hashed with argon2)."""
    from labelloop.services import users

    ctx = _ctx(database_url)
    try:
        user = users.create_user(ctx, username, password, role, actor="cli")
        for t in team:
            users.add_members(ctx, _admin(ctx, None), t, [username])
    except LabelloopError as exc:
        _fail(exc)
    out.print(f"created {user.role} '{user.username}'")


@users_app.command("token")
def users_token(username: str, name: str | None = typer.Option(None, help="What the token is for (listed)."),
                database_url: str | None = DbOpt):
    """Print a new API token for a user."""
    from labelloop.services import users

    ctx = _ctx(database_url)
    try:
        print(users.issue_token(ctx, _admin(ctx, username), name=name))
    except LabelloopError as exc:
        _fail(exc)


@tokens_app.command("list")
def tokens_list(user: str | None = typer.Option(None, help="Whose credentials (default: the first admin's)."),
                database_url: str | None = DbOpt):
    """List a user's unexpired credentials (session and API tokens), never the secrets."""
    from labelloop.services import users

    ctx = _ctx(database_url)
    table = Table("id", "kind", "name", "user", "created", "expires")
    try:
        for c in users.list_credentials(ctx, _admin(ctx, None), user=user):
            table.add_row(str(c.id), c.kind, c.name or "", c.username, render.v1_time(c.created_at),
                          render.v1_time(c.expires_at) if c.expires_at else "never")
    except LabelloopError as exc:
        _fail(exc)
    out.print(table)


@tokens_app.command("revoke")
def tokens_revoke(credential_id: int, database_url: str | None = DbOpt):
    """Revoke a credential by its id (from `tokens list`); it stops working at once."""
    from labelloop.services import users

    ctx = _ctx(database_url)
    try:
        users.revoke_credential(ctx, _admin(ctx, None), credential_id)
    except LabelloopError as exc:
        _fail(exc)
    out.print(f"revoked credential {credential_id}")


@teams_app.command("create")
def teams_create(name: str, description: str = "",
                 owner: str | None = typer.Option(None, help="The requester it belongs to (default: shared)."),
                 database_url: str | None = DbOpt):
    """Create a work team (as the first admin: shared, so any requester may send jobs to it, unless --owner)."""
    from labelloop.services import users

    ctx = _ctx(database_url)
    try:
        users.create_team(ctx, _admin(ctx, None), name, description, owner=owner)
    except LabelloopError as exc:
        _fail(exc)
    out.print(f"created work team '{name}'")


@teams_app.command("add")
def teams_add(team: str, usernames: list[str], database_url: str | None = DbOpt):
    """Add users to a work team."""
    from labelloop.services import users

    ctx = _ctx(database_url)
    try:
        t = users.add_members(ctx, _admin(ctx, None), team, usernames)
    except LabelloopError as exc:
        _fail(exc)
    out.print(f"{team}: {', '.join(t.members or [])}")


@teams_app.command("remove")
def teams_remove(team: str, username: str, database_url: str | None = DbOpt):
    """Take a user off a work team."""
    from labelloop.services import users

    ctx = _ctx(database_url)
    try:
        t = users.remove_member(ctx, _admin(ctx, None), team, username)
    except LabelloopError as exc:
        _fail(exc)
    out.print(f"{team}: {', '.join(t.members or [])}")


@teams_app.command("list")
def teams_list(database_url: str | None = DbOpt):
    """List work teams and their members."""
    from labelloop.services import users

    table = Table("team", "members", "description")
    ctx = _ctx(database_url)
    for t in users.list_teams(ctx, _admin(ctx, None)):
        table.add_row(t.name, ", ".join(t.members or []), t.description)
    out.print(table)


def _operator(ctx: Any, username: str | None) -> Any:
    """Who changes the storage policy: --as USER, else the first admin, else the installation's operator
    (whoever runs the CLI against the database, before any admin exists)."""
    from labelloop.core.access import Principal, Role
    from labelloop.core.errors import NotFound

    try:
        return _admin(ctx, username)
    except NotFound:
        if username:
            raise
        return Principal(0, "cli", Role.ADMIN)


def _entry_arg(entry: str) -> str:
    """A relative path typed in the shell means the shell's folder; URIs and networks stay as they are."""
    import ipaddress

    if "://" in entry or Path(entry).is_absolute():
        return entry
    try:
        ipaddress.ip_network(entry, strict=False)
        return entry
    except ValueError:
        return str(Path(entry).resolve())


@storage_app.command("allow")
def storage_allow(
    entry: str = typer.Argument(..., help="An absolute PATH, s3://bucket[/prefix], http(s)://host[:port] "
                                          "or an address network such as 10.0.0.0/8."),
    as_user: str | None = typer.Option(None, "--as", help="Admin to act as (default: the first admin)."),
    database_url: str | None = DbOpt,
):
    """Allow jobs to read and write ENTRY (kept in the database: every process of the installation sees it)."""
    from labelloop.services import storage_policy

    ctx = _ctx(database_url)
    try:
        added = storage_policy.allow(ctx, _operator(ctx, as_user), _entry_arg(entry))
    except LabelloopError as exc:
        _fail(exc)
    out.print(f"allowed {added}")


@storage_app.command("disallow")
def storage_disallow(
    entry: str = typer.Argument(..., help="An entry listed by `labelloop storage list` (source: database)."),
    as_user: str | None = typer.Option(None, "--as", help="Admin to act as (default: the first admin)."),
    database_url: str | None = DbOpt,
):
    """Remove an entry the database keeps (settings entries and the data folder stay)."""
    from labelloop.services import storage_policy

    ctx = _ctx(database_url)
    try:
        removed = storage_policy.disallow(ctx, _operator(ctx, as_user), _entry_arg(entry))
    except LabelloopError as exc:
        _fail(exc)
    out.print(f"removed {removed}")


@storage_app.command("list")
def storage_list(database_url: str | None = DbOpt):
    """List what jobs may read and write, and where each entry comes from (data_dir, settings, database)."""
    from labelloop.services import storage_policy

    ctx = _ctx(database_url)
    for view in storage_policy.list_entries(ctx):
        print(f"{view.entry}\t{view.source}")  # plain lines, never truncated, for scripts too


def _local_arg(value: str | None) -> str | None:
    """A relative path typed on the command line is the shell's: made absolute here (the server never
    resolves a path against its own working directory)."""
    if value is None or "://" in value or Path(value).is_absolute():
        return value
    return str(Path(value).resolve())


@jobs_app.command("create")
def jobs_create(
    name: str = typer.Option(..., help="Job name (letters, digits, hyphens)."),
    manifest: str = typer.Option(..., help="Input manifest: path, file://, s3:// or http(s):// URI."),
    labels: str = typer.Option(..., help="Label category configuration file (Ground Truth format)."),
    task_type: str = typer.Option(..., "--task-type", help="image-classification, text-classification, ...-multilabel"),
    label_attribute_name: str = typer.Option(..., "--label-attribute-name", help="Output key (LAN)."),
    team: str = typer.Option(..., help="Work team whose workers take the tasks."),
    output: str | None = typer.Option(None, help="Output path (S3OutputPath); default: <data dir>/output."),
    workers_per_object: int = typer.Option(3, help="Workers per data object (1-9)."),
    task_time_limit_s: int = typer.Option(300, help="Seconds a worker has for a task."),
    task_availability_lifetime_s: int = typer.Option(864000, help="Seconds tasks stay available."),
    max_concurrent_tasks: int = typer.Option(1000, help="Most tasks leased at once."),
    price_per_task_usd: float = typer.Option(0.0, help="Price paid per task, USD."),
    title: str = "", description: str = "", short_instruction: str = "", full_instruction: str = "",
    keyword: list[str] = typer.Option([], help="Task keyword (repeat, up to 5)."),
    algorithm: str | None = typer.Option(None, help="Consolidation algorithm the task type allows "
                                                    "(shrunk-dawid-skene, dawid-skene, ground-truth or majority-vote; default: the type's own)."),
    template: Path | None = typer.Option(None, help="Custom Liquid task template file."),
    min_workers_per_object: int | None = typer.Option(
        None, help="Adaptive consensus: the fewest workers per object (then more, up to --workers-per-object, while "
                   "the posterior is below --confidence-target)."),
    confidence_target: float | None = typer.Option(None, help="Adaptive consensus: the posterior to stop at."),
    gold: str | None = typer.Option(None, help='Gold manifest: lines with "labelloop-gold": "<label>".'),
    gold_rate: float = typer.Option(0.1, help="Share of each worker's tasks that are gold objects."),
    qualification_tasks: int = typer.Option(0, help="Gold objects a worker answers before real tasks."),
    qualification_min_accuracy: float = typer.Option(0.8, help="Share of them a worker must get right."),
    block_below_accuracy: float | None = typer.Option(None, help="Block workers below this estimated accuracy."),
    as_user: str | None = typer.Option(None, "--as", help="Requester to create the job as (default: first admin)."),
    database_url: str | None = DbOpt,
):
    """Create a labeling job from an input manifest; a bad line creates nothing and is reported."""
    from pydantic import ValidationError as PydanticError

    from labelloop.services import jobs

    ctx = _ctx(database_url)
    try:
        spec = jobs.JobSpec(
            name=name, task_type=task_type, label_attribute_name=label_attribute_name,
            input_manifest_uri=_local_arg(manifest), label_config_uri=_local_arg(labels), output_uri=_local_arg(output),
            team=team, workers_per_object=workers_per_object,
            task_time_limit_s=task_time_limit_s, task_availability_lifetime_s=task_availability_lifetime_s,
            max_concurrent_tasks=max_concurrent_tasks, price_per_task_usd=price_per_task_usd, title=title,
            description=description, keywords=keyword, short_instruction=short_instruction,
            full_instruction=full_instruction, consolidation_algorithm=algorithm,
            ui_template=template.read_text(encoding="utf-8") if template else None,
            min_workers_per_object=min_workers_per_object, confidence_target=confidence_target,
            gold_manifest_uri=_local_arg(gold), gold_rate=gold_rate, qualification_tasks=qualification_tasks,
            qualification_min_accuracy=qualification_min_accuracy, block_below_accuracy=block_below_accuracy,
        )
        with out.status(f"importing {manifest} ..."):
            job = jobs.create_job(ctx, _admin(ctx, as_user), spec)
    except PydanticError as exc:
        first = exc.errors()[0]
        err.print(f"[red]error:[/red] {'.'.join(map(str, first['loc']))}: {first['msg']}")
        raise typer.Exit(2) from None
    except LabelloopError as exc:
        _fail(exc)
    out.print(f"created job '{job.name}' with {job.object_count} data objects; output: {job.output_manifest_uri}")


def _counters(c: Any) -> str:
    return f"{c.total_labeled} labeled ({c.human_labeled} human, {c.machine_labeled} machine), " \
           f"{c.failed_non_retryable_error} failed, {c.unlabeled} unlabeled"


@jobs_app.command("list")
def jobs_list(status: str | None = None, database_url: str | None = DbOpt):
    """List labeling jobs with their state and counters."""
    from labelloop.services import jobs

    ctx = _ctx(database_url)
    table = Table("name", "status", "type", "objects", "counters", "created")
    for j in jobs.list_jobs(ctx, _admin(ctx, None), status=status):
        table.add_row(j.name, j.status, j.task_type, str(j.object_count), _counters(j.label_counters),
                      j.created_at.isoformat()[:19])
    out.print(table)


@jobs_app.command("describe")
def jobs_describe(name: str, database_url: str | None = DbOpt):
    """Print a job as JSON (status, LabelCounters, output location)."""
    from labelloop.services import jobs

    ctx = _ctx(database_url)
    try:
        described = render.job(jobs.describe_job(ctx, _admin(ctx, None), name))
        from labelloop.services.autolabel import describe_autolabel
        from labelloop.web.autolabel_api import autolabel_json

        auto = describe_autolabel(ctx, _admin(ctx, None), name)
        if auto is not None:  # automated labeling: its settings and every round (docs/automated-labeling.md)
            described["automated_labeling"] = autolabel_json(auto)
        print(json.dumps(described, indent=2))
    except LabelloopError as exc:
        _fail(exc)


@jobs_app.command("stop")
def jobs_stop(name: str, database_url: str | None = DbOpt):
    """Stop a job: open leases end, labels made so far are written."""
    from labelloop.services import jobs
    from labelloop.services.background import run_background_once

    ctx = _ctx(database_url)
    try:
        jobs.stop_job(ctx, _admin(ctx, None), name)
        run_background_once(ctx, force_output=True)
        job = jobs.describe_job(ctx, _admin(ctx, None), name)
    except LabelloopError as exc:
        _fail(exc)
    out.print(f"job '{name}' is {job.status}: {_counters(job.label_counters)}")


@app.command("events")
def events_cmd(
    job: str | None = None, worker: str | None = None, object: int | None = typer.Option(None, "--object"),
    kind: str | None = None, limit: int = typer.Option(100, help="How many of the newest events (up to 1000)."),
    as_json: bool = typer.Option(False, "--json"),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new events as they come (Ctrl-C stops)."),
    interval_s: float = typer.Option(1.0, help="Seconds between polls with --follow."),
    max_events: int | None = typer.Option(None, help="With --follow: stop after this many events in all."),
    database_url: str | None = DbOpt,
):
    """Show the audit trail, the newest events (oldest of them first), filtered by job, worker, data object or
    kind; --follow keeps printing new ones."""
    import time

    from labelloop.services.events import list_events

    ctx = _ctx(database_url)
    admin = _admin(ctx, None)

    def fetch(after_id: int, newest: bool) -> list[dict[str, Any]]:
        try:
            return [render.event(e) for e in list_events(ctx, admin, job=job, worker=worker, dataset_object_id=object,
                                                         kind=kind, limit=limit, after_id=after_id, newest=newest)]
        except LabelloopError as exc:
            _fail(exc)
            raise AssertionError("unreachable") from None

    def show(rows: list[dict[str, Any]], header: bool) -> None:
        if as_json:
            for r in rows:
                print(json.dumps(r), flush=True)
            return
        table = Table("id", "at", "kind", "actor", "job", "object", "task", "detail", show_header=header)
        for r in rows:
            table.add_row(str(r["id"]), r["at"][:23], r["kind"], r["actor"], r["job"] or "",
                          "" if r["dataset_object_id"] is None else str(r["dataset_object_id"]),
                          "" if r["task_id"] is None else str(r["task_id"]), json.dumps(r["detail"])[:60])
        out.print(table)

    rows = fetch(0, True)
    if max_events is not None:
        rows = rows[-max_events:] if max_events else []
    show(rows, True)
    shown, last = len(rows), rows[-1]["id"] if rows else 0
    with contextlib.suppress(KeyboardInterrupt):
        while follow and (max_events is None or shown < max_events):
            time.sleep(interval_s)
            new = fetch(last, False)
            if max_events is not None:
                new = new[:max_events - shown]
            if new:
                show(new, False)
                shown, last = shown + len(new), new[-1]["id"]


@app.command("serve")
def serve(
    host: str | None = typer.Option(None, help="Bind address (default 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default 8080)."),
    database_url: str | None = DbOpt,
    background: bool = typer.Option(True, help="Also run a background process: lease expiry, consolidation, "
                                               "output writing (off: run `labelloop background` elsewhere)."),
    workers: int = typer.Option(1, min=1, help="Server processes sharing the port."),
):
    """Run the server (API, worker API, portal) and its background process."""
    overrides: dict[str, Any] = {k: v for k, v in {"host": host, "port": port, "database_url": database_url}.items() if v}
    settings = Settings(**overrides, run_background=background)
    from labelloop.web.server import PortInUse, reserve_port
    from labelloop.web.server import serve as serve_processes

    try:
        reserved = reserve_port(settings.host, settings.port)  # before saying "serving on"
    except PortInUse as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from None
    _context(settings).engine.dispose()  # create or upgrade the database once, before the processes start
    out.print(f"labelloop serving on http://{settings.host}:{settings.port} (API docs at /docs)"
              + (f" in {workers} processes" if workers > 1 else ""))
    serve_processes(settings, workers, reserved=reserved)


@app.command("background")
def background_cmd(
    database_url: str | None = DbOpt,
    interval_s: float = typer.Option(1.0, help="Seconds between passes."),
    once: bool = typer.Option(False, help="Run one pass and exit."),
):
    """Run consolidation, lease expiry and output writing in a process of its own (for `serve --no-background`)."""
    import time

    from labelloop.services.background import run_background_once

    ctx = _ctx(database_url)
    while True:
        done = run_background_once(ctx, force_output=once)
        if once:
            out.print(f"{done['consolidated']} objects consolidated, {done['manifests']} manifests written")
            return
        time.sleep(interval_s)


@app.command("simulate")
def simulate(
    job: str,
    url: str = typer.Option("http://127.0.0.1:8080", help="Server base URL."),
    workers: int = typer.Option(3, help="How many simulated workers."),
    truth: Path | None = typer.Option(None, help="CSV question,truth (question = datasetObjectId, source-ref or source)."),
    accuracy: float = typer.Option(1.0, min=0.0, max=1.0, help="Chance a worker gives the true label."),
    password: str = typer.Option("simulated-worker", help="Password of the simulated workers."),
    seed: int = 0,
    wait_s: float | None = typer.Option(None, "--wait-s", min=0, help="Longest wait, in seconds, for objects "
                                        "leased to other workers to be answered or to expire (default: no limit)."),
    database_url: str | None = DbOpt,
):
    """Label a job with simulated workers through the real worker HTTP API; objects leased to other workers
    are waited for until they are answered or their leases expire (the server's background process ends them)."""
    from rich.progress import Progress

    from labelloop import sim
    from labelloop.services import jobs, users

    ctx = _ctx(database_url)
    admin = _admin(ctx, None)
    try:
        info = jobs.describe_job(ctx, admin, job)
        adaptive = info.quality is not None and info.quality.min_workers_per_object < info.quality.max_workers_per_object
        if adaptive and info.quality is not None and workers < info.quality.max_workers_per_object:
            workers = info.quality.max_workers_per_object
            out.print(f"adaptive consensus asks up to {workers} workers per object: simulating {workers} workers")
        names = [f"sim-{info.team}-{i + 1}".lower() for i in range(workers)]
        for n in names:
            with contextlib.suppress(LabelloopError):
                users.create_user(ctx, n, password, "worker", actor="simulate")
        users.add_members(ctx, admin, info.team, names)
        oracle = sim.Oracle.from_csv(truth, accuracy, seed) if truth else sim.Oracle(accuracy=accuracy, seed=seed)
    except (LabelloopError, ValueError, OSError) as exc:
        _fail(exc if isinstance(exc, LabelloopError) else LabelloopError(str(exc)))
    if info.status != "InProgress":
        out.print(f"job '{job}' is {info.status}: nothing to label")
        return
    total = info.object_count * info.workers_per_object
    credentials = [(n, password) for n in names]
    stats = sim.Stats()

    def held_by_others() -> list[sim.HeldLease]:
        leases = jobs.describe_job(ctx, admin, job).open_leases or []
        return [sim.HeldLease(x.worker, x.lease_expires_at) for x in leases if x.worker not in names]

    progress_seen = {"unlabeled": -1, "submitted": -1, "at": time.monotonic()}

    def more_may_come() -> bool:
        """Adaptive consensus: answered objects wait for consolidation, which may re-open them for another
        worker; keep going while the job runs with objects unlabeled and something moved in the last 60 s."""
        if not adaptive:
            return False
        now_info = jobs.describe_job(ctx, admin, job)
        unlabeled = now_info.label_counters.unlabeled
        if now_info.status != "InProgress" or not unlabeled:
            return False
        if (unlabeled, stats.submitted) != (progress_seen["unlabeled"], progress_seen["submitted"]):
            progress_seen.update(unlabeled=unlabeled, submitted=stats.submitted, at=time.monotonic())
        return time.monotonic() - progress_seen["at"] < 60

    with Progress(console=err) as progress:
        bar = progress.add_task(f"labeling {job}", total=total)
        tokens = [sim.sign_in(url, n, p) for n, p in credentials]
        left = sim.label_until_done(
            lambda: sim.run_workers(url, job, credentials, oracle, tokens=tokens, stats=stats,
                                    on_submit=lambda: progress.advance(bar)),
            held_by_others, wait_s=wait_s, on_wait=lambda held: progress.console.print(sim.waiting_message(held)),
            more_may_come=more_may_come)
    out.print(f"{stats.submitted} answers submitted by {workers} simulated workers ({stats.errors} rejected)")
    if left:
        err.print(f"[red]stopped waiting after {wait_s:g} s:[/red] {sim.waiting_message(left).split(';')[0]}")
        raise typer.Exit(1)


from labelloop.cli.consolidate_cmd import consolidate  # noqa: E402
from labelloop.cli.demo import demo  # noqa: E402
from labelloop.cli.export_cmd import export  # noqa: E402

app.command("consolidate")(consolidate)
app.command("export")(export)
app.command("demo")(demo)

from labelloop.cli.keys_cmd import keys_app  # noqa: E402
from labelloop.cli.quality_cmd import jobs_block, jobs_quality, jobs_unblock  # noqa: E402

jobs_app.command("quality")(jobs_quality)
jobs_app.command("block")(jobs_block)
jobs_app.command("unblock")(jobs_unblock)

app.add_typer(keys_app, name="keys")

from labelloop.cli.autolabel_cmd import jobs_autolabel, jobs_rounds  # noqa: E402

jobs_app.command("autolabel")(jobs_autolabel)
jobs_app.command("rounds")(jobs_rounds)

from labelloop.cli.hooks_cmd import hooks_app  # noqa: E402

app.add_typer(hooks_app, name="hooks")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
