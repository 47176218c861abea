"""``labelloop demo``: sample data from packaged real data, demo users and jobs, then the server."""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
from pathlib import Path

import typer
from rich.console import Console

from labelloop.settings import Settings

out = Console(soft_wrap=True)  # URLs and commands stay on one line, copyable
WORKER_PASSWORD = "worker-password"
ADMIN_PASSWORD = "admin-password"
REVIEWS = [
    ("A warm, funny film with a cast that clearly loves every scene.", "positive"),
    ("The plot collapses halfway and never recovers.", "negative"),
    ("Beautifully shot, patiently told, and worth every minute.", "positive"),
    ("Two hours of noise pretending to be an action movie.", "negative"),
    ("I laughed, I cried, and I want to see it again.", "positive"),
    ("The dialogue is so wooden you could build a house with it.", "negative"),
    ("A small story told with enormous heart.", "positive"),
    ("Predictable from the first frame to the last.", "negative"),
    ("The lead gives the performance of her career.", "positive"),
    ("Even the soundtrack seems bored.", "negative"),
    ("Smart, tender and never once condescending.", "positive"),
    ("A sequel nobody asked for, made by people who did not care.", "negative"),
    ("Un film magnifique, drôle et émouvant.", "positive"),
    ("فيلم ممل جدا ولا أنصح به", "negative"),
    ("映像も音楽も素晴らしい、心に残る作品。", "positive"),
    ("The twist is obvious and the ending is worse.", "negative"),
]


def make_sample_data(root: Path, n_images: int = 300) -> dict[str, Path]:
    """Write PNG digits from scikit-learn's packaged data set and a text manifest; reuse them if present."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    images, manifests = root / "images", root / "manifests"
    images.mkdir(parents=True, exist_ok=True)
    manifests.mkdir(parents=True, exist_ok=True)
    digits = load_digits()
    lines, truth = [], ["question,truth"]
    for i in range(n_images):
        path = images / f"digit-{i:04d}.png"
        if not path.exists():
            pixels = (digits.images[i] * (255 / 16)).astype(np.uint8)
            Image.fromarray(255 - pixels).resize((128, 128), Image.Resampling.NEAREST).save(path)
        lines.append(json.dumps({"source-ref": path.resolve().as_uri(), "sample-index": i}))
        truth.append(f"{path.name},{int(digits.target[i])}")
    files = {
        "digits_manifest": manifests / "digits.manifest",
        "digits_labels": manifests / "digits-labels.json",
        "digits_truth": manifests / "digits-truth.csv",
        "reviews_manifest": manifests / "reviews.manifest",
        "reviews_labels": manifests / "reviews-labels.json",
        "reviews_truth": manifests / "reviews-truth.csv",
    }
    files["digits_manifest"].write_text("\n".join(lines) + "\n")
    files["digits_labels"].write_text(json.dumps(
        {"document-version": "2018-11-28", "labels": [{"label": str(d), "key": str(d)} for d in range(10)]}, indent=2))
    files["digits_truth"].write_text("\n".join(truth) + "\n")
    files["reviews_manifest"].write_text(
        "\n".join(json.dumps({"source": t, "review-id": i}, ensure_ascii=False) for i, (t, _) in enumerate(REVIEWS)) + "\n")
    files["reviews_labels"].write_text(json.dumps(
        {"document-version": "2018-11-28", "labels": [{"label": "positive", "key": "p"}, {"label": "negative", "key": "n"}]}))
    files["reviews_truth"].write_text("question,truth\n" + "\n".join(f"{i},{y}" for i, (_, y) in enumerate(REVIEWS)) + "\n")
    return files


def setup_demo(ctx, files: dict[str, Path]) -> list[str]:
    """Create the demo admin, requester, three workers, a team and two jobs, unless they exist."""
    from labelloop.core.errors import ResourceInUse
    from labelloop.services import jobs, users

    made = []
    for name, role, pw in [("admin", "admin", ADMIN_PASSWORD), ("requester", "requester", "requester-password"),
                           ("worker1", "worker", WORKER_PASSWORD), ("worker2", "worker", WORKER_PASSWORD),
                           ("worker3", "worker", WORKER_PASSWORD)]:
        try:
            users.create_user(ctx, name, pw, role, actor="demo")
            made.append(name)
        except ResourceInUse:
            pass
    admin = users.check_password(ctx, "admin", ADMIN_PASSWORD)
    requester = users.check_password(ctx, "requester", "requester-password")
    with contextlib.suppress(ResourceInUse):
        users.create_team(ctx, admin, "demo-team", "The demo's three workers")
    users.add_members(ctx, admin, "demo-team", ["worker1", "worker2", "worker3"])
    out_uri = str((ctx.settings.data_dir / "output").resolve())
    for spec in [
        jobs.JobSpec(name="digits", task_type="image-classification", label_attribute_name="digit",
                     input_manifest_uri=str(files["digits_manifest"]), label_config_uri=str(files["digits_labels"]),
                     output_uri=out_uri, team="demo-team", title="Which digit is this?",
                     description="Pick the digit shown in a small handwritten image.", keywords=["images", "digits"],
                     short_instruction="<p>Press the digit's number key, then Enter.</p>", price_per_task_usd=0.012),
        jobs.JobSpec(name="reviews", task_type="text-classification", label_attribute_name="sentiment",
                     input_manifest_uri=str(files["reviews_manifest"]), label_config_uri=str(files["reviews_labels"]),
                     output_uri=out_uri, team="demo-team", title="Is this review positive or negative?",
                     description="Read a one-line movie review and pick its sentiment.", keywords=["text", "sentiment"],
                     price_per_task_usd=0.012),
    ]:
        try:
            jobs.create_job(ctx, requester, spec)
            made.append(spec.name)
        except ResourceInUse:
            pass
    return made


def demo(
    data_dir: Path = typer.Option(Path("demo-data"), help="Where the demo keeps its database, data and output."),
    port: int = typer.Option(8080, help="Port to serve on."),
    serve: bool = typer.Option(True, help="Start the server after setting up (Ctrl-C to stop)."),
):
    """Set up a demo (real digits from scikit-learn, short texts, users, a team, two jobs) and serve it."""
    from labelloop.cli.main import _context

    data_dir = data_dir.resolve()  # absolute paths in the manifests: the server never resolves relative ones
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(database_url=f"sqlite:///{(data_dir / 'labelloop.db').resolve()}", data_dir=data_dir, port=port)
    ctx = _context(settings)
    with out.status("writing sample data ..."):
        files = make_sample_data(data_dir / "sample")
    made = setup_demo(ctx, files)
    reserved = None
    if serve:  # say so before printing URLs that would lead to someone else's server
        from labelloop.web.server import PortInUse, reserve_port

        try:
            reserved = reserve_port(settings.host, port)
        except PortInUse as exc:
            Console(stderr=True).print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from None
    base = f"http://127.0.0.1:{port}"
    out.print(f"[bold]labelloop demo[/bold] ({'created ' + ', '.join(made) if made else 'reusing earlier setup'})")
    out.print(f"  API docs:      {base}/docs")
    out.print(f"  Worker portal: {base}/portal   sign in as worker1 / {WORKER_PASSWORD} (also worker2, worker3)")
    out.print(f"  Console:       {base}/console  sign in as requester / requester-password (admin / {ADMIN_PASSWORD})")
    out.print(f"  Output:        {(data_dir / 'output').resolve()}/<job>/manifests/output/output.manifest")
    out.print(f"  Try: {_labelloop_command()} simulate digits --url {base} --truth {files['digits_truth']} --accuracy 0.8 "
              f"--database-url {settings.database_url}")
    if serve:
        from labelloop.web.server import serve as serve_processes

        ctx.engine.dispose()
        serve_processes(settings, reserved=reserved)


def _labelloop_command() -> str:
    """How to call this installation's ``labelloop`` from the current folder (``make demo`` does not
    put .venv/bin on the PATH)."""
    exe = Path(sys.executable).parent / "labelloop"
    if shutil.which("labelloop") == str(exe) or not exe.exists():
        return "labelloop"
    try:
        return str(exe.relative_to(Path.cwd()))
    except ValueError:
        return str(exe)
