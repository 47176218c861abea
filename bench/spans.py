"""Named entities: consolidation quality and speed, export at 1M texts, and keystroke-to-paint in Chromium.

No small public NER set ships offline in a package this project can install (spaCy ships no corpora; NLTK's
and Hugging Face's are downloads), so the texts are real sentences, the rt-polarity movie reviews in
``../shared/data/rt-polarity`` (or ``LABELLOOP_BENCH_DATA``), and the entity truth comes from a gazetteer of
people, places and organisations built here (longest match, whole words; ambiguous common words left out).

    python bench/spans.py                  # everything (about three minutes)
    python bench/spans.py --only quality   # or export, paint

* **quality**: 3 simulated workers per text from a pool of 30, fixed seeds; each entity is missed with 10%
  chance, gets a boundary one token short or long with 20%, and is mislabeled with 10%; 10% of the workers are
  careless, with three times those rates. Entity-level precision, recall and F1 (exact span and label) of
  our consolidation (``span-consensus``) and of exact-span majority vote; time per 1,000 texts. PASS when
  ours beats majority vote's F1.
* **export**: a 1M-object job (SQLite, rows written directly) exported through ``services.export`` as
  JSONL, CoNLL and spaCy shards, each in a child process: wall time and the child's peak RSS. PASS when
  every peak is under 500 MB (constant memory: the same at 100k, printed too).
* **paint**: a 5,000-word text with 400 entities in ``crowd-entity-annotation`` in headless Chromium; 300
  keystrokes (arrows, Shift+arrows, label keys, Delete), each one after the previous one is on screen; the time
  from the key event to the next frame painted, p50/p95. PASS when p95 < 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from labelloop.core.consolidation.spans import ExactMajority, SpanConsensus, SpanObject
from labelloop.core.exports import tokenize

DATA = Path(os.environ.get("LABELLOOP_BENCH_DATA", Path(__file__).resolve().parents[2] / "shared/data"))
PEOPLE = """steven spielberg|woody allen|robert de niro|al pacino|jack nicholson|tom hanks|tom cruise|brad pitt|
julia roberts|meryl streep|nicole kidman|denzel washington|harrison ford|mel gibson|jackie chan|adam sandler|
eddie murphy|robin williams|jim carrey|ben affleck|matt damon|george clooney|sandra bullock|jennifer lopez|
jennifer aniston|kevin costner|bruce willis|arnold schwarzenegger|sylvester stallone|steven seagal|steven segal|
jean-claud van damme|martin scorsese|quentin tarantino|stanley kubrick|alfred hitchcock|francis ford coppola|
ridley scott|steven soderbergh|spike lee|spike jonze|wes anderson|todd solondz|david mamet|spielberg|scorsese|
hitchcock|kubrick|tarantino|soderbergh|de niro|pacino|nicholson|hanks|sandler|carrey|affleck|clooney|bullock|
costner|schwarzenegger|stallone|seagal|peter jackson|tolkien|shakespeare|dickens|jane austen|austen|hugh grant|
kevin spacey|spacey|michael caine|anthony hopkins|samuel l . jackson|john woo|ang lee|zhang yimou|chen kaige|
wong kar-wai|eric rohmer|rohmer|godard|truffaut|fellini|bergman|kurosawa|miyazaki|almodovar|kieslowski|
david lynch|cronenberg|roman polanski|polanski|oliver stone|michael moore|jennifer love hewitt|drew barrymore|
barrymore|cameron diaz|reese witherspoon|witherspoon|gwyneth paltrow|paltrow|kate winslet|leonardo dicaprio|
dicaprio|johnny depp|nicolas cage|john travolta|travolta|sean connery|pierce brosnan|brosnan|james bond|
harry potter|frodo|hannibal lecter|austin powers|madonna|britney spears|mariah carey|eminem|jimmy fallon|
chris rock|ice cube|mike myers|ben stiller|stiller|owen wilson|vin diesel|heath ledger|orlando bloom|elvis|
hitler|jesus|freud|picasso|mozart|beethoven|nixon|clinton|kennedy"""
PLACES = """new york|los angeles|hollywood|paris|london|france|england|britain|america|china|japan|hong kong|india|
iran|italy|germany|spain|mexico|brazil|africa|europe|asia|russia|ireland|scotland|australia|canada|texas|chicago|
boston|brooklyn|manhattan|harlem|las vegas|vegas|miami|new jersey|california|san francisco|seattle|rome|venice|
berlin|tokyo|beijing|afghanistan|vietnam|iraq|israel|cuba|hawaii|alaska|egypt|korea|taiwan|bollywood|cannes|
broadway|middle-earth|new orleans|detroit|philadelphia"""
ORGS = """disney|pixar|dreamworks|miramax|warner bros|paramount|mgm|hbo|mtv|nbc|cbs|fbi|cia|nasa|nazis|
the beatles|monty python|saturday night live|the simpsons|star trek|star wars|imax|sony|lucasfilm|merchant ivory|
dogme|kkk|mafia|yakuza"""
GAZETTEER = sorted(((n.strip(), label) for names, label in ((PEOPLE, "person"), (PLACES, "place"), (ORGS, "org"))
                    for n in names.split("|") if n.strip()), key=lambda x: -len(x[0]))
LABELS = ["person", "place", "org"]
NOISE = {"miss": 0.10, "boundary": 0.20, "mislabel": 0.10}


def load_texts(limit_plain: int = 1000) -> list[tuple[str, list[tuple[int, int, str]]]]:
    folder = DATA / "rt-polarity"
    if not folder.is_dir():
        sys.exit(f"no rt-polarity sentences in {folder} (set LABELLOOP_BENCH_DATA)")
    sentences = []
    for name in ("rt-polarity.pos", "rt-polarity.neg"):
        sentences += (folder / name).read_text(encoding="latin-1").splitlines()
    pattern = re.compile("|".join(r"(?<![\w'-])" + re.escape(n) + r"(?![\w-])" for n, _ in GAZETTEER))
    kinds = dict(GAZETTEER)
    with_ents, plain = [], []
    for s in sentences:
        s = s.strip()
        spans = [(m.start(), m.end(), kinds[m.group(0)]) for m in pattern.finditer(s)]
        (with_ents if spans else plain).append((s, spans))
    return with_ents + plain[:limit_plain]


def _worker_answer(text: str, truth: list[tuple[int, int, str]], rng: random.Random, scale: float) -> tuple:
    tokens = tokenize(text)
    out = set()
    for s, e, label in truth:
        if rng.random() < NOISE["miss"] * scale:
            continue
        if rng.random() < NOISE["boundary"] * scale:
            inside = [i for i, (a, b) in enumerate(tokens) if a >= s and b <= e]
            first, last = inside[0], inside[-1]
            options = []
            if last > first:  # one token short, at either end
                options += [(tokens[first + 1][0], e), (s, tokens[last - 1][1])]
            if first > 0:
                options.append((tokens[first - 1][0], e))
            if last + 1 < len(tokens):
                options.append((s, tokens[last + 1][1]))
            s, e = rng.choice(options)
        if rng.random() < NOISE["mislabel"] * scale:
            label = rng.choice([x for x in LABELS if x != label])
        out.add((s, e, label))
    return tuple(sorted(out))


def simulate(texts, seed: int = 7) -> list[SpanObject]:
    rng = random.Random(seed)
    pool = [f"w{i:02d}" for i in range(30)]
    careless = set(rng.sample(pool, 3))
    objects = []
    for key, (text, truth) in enumerate(texts):
        workers = rng.sample(pool, 3)
        objects.append(SpanObject(key, tuple((w, _worker_answer(text, truth, rng, 3.0 if w in careless else 1.0))
                                             for w in workers)))
    return objects


def prf(predicted: dict, texts) -> tuple[float, float, float]:
    tp = fp = fn = 0
    for key, (_text, truth) in enumerate(texts):
        got = {(e.start, e.end, e.label) for e in predicted[key]}
        want = set(truth)
        tp, fp, fn = tp + len(got & want), fp + len(got - want), fn + len(want - got)
    p, r = tp / max(1, tp + fp), tp / max(1, tp + fn)
    return p, r, 2 * p * r / max(1e-9, p + r)


def quality() -> bool:
    texts = load_texts()
    n_ents = sum(len(t) for _, t in texts)
    objects = simulate(texts)
    print(f"quality: {len(texts):,} rt-polarity sentences, {n_ents:,} gazetteer entities, 3 workers each "
          f"(10% careless)")
    print(f"  {'algorithm':<16} {'precision':>9} {'recall':>7} {'F1':>7} {'ms/1k texts':>12}")
    f1s = {}
    for name, model in (("span-consensus", SpanConsensus()), ("majority-vote", ExactMajority())):
        t0 = time.perf_counter()
        result = model.fit(objects, LABELS).entities_
        ms = (time.perf_counter() - t0) * 1000 / len(texts) * 1000
        p, r, f1 = prf(result, texts)
        f1s[name] = f1
        print(f"  {name:<16} {p:>9.3f} {r:>7.3f} {f1:>7.3f} {ms:>12.1f}")
    ok = f1s["span-consensus"] > f1s["majority-vote"]
    print(f"  F1 ours / majority vote = {f1s['span-consensus'] / f1s['majority-vote']:.3f}: {'PASS' if ok else 'FAIL'}")
    return ok


# ---- export of a 1M-object job ------------------------------------------------------------------------------

def _make_job(db: Path, n: int) -> None:
    """A labeled NER job of ``n`` objects, rows written directly (the import path has its own benchmark)."""
    from sqlalchemy import insert

    from labelloop.core.lifecycle import ObjectStatus
    from labelloop.db.migrate import upgrade
    from labelloop.db.models import DataObject
    from labelloop.services import jobs
    from labelloop.services.context import build_context
    from labelloop.services.users import check_password, create_team, create_user
    from labelloop.settings import Settings

    tmp = db.parent
    ctx = build_context(Settings(database_url=f"sqlite:///{db}", data_dir=tmp / "data", run_background=False,
                                 storage_allow=[str(tmp)]))
    upgrade(ctx.engine)
    create_user(ctx, "admin", "admin-password-1", "admin")
    admin = check_password(ctx, "admin", "admin-password-1")
    create_team(ctx, admin, "crew")
    texts = load_texts()
    (tmp / "m.manifest").write_text(json.dumps({"source": texts[0][0]}) + "\n")
    (tmp / "labels.json").write_text(json.dumps({"document-version": "2018-11-28",
                                                 "labels": [{"label": x} for x in LABELS]}))
    jobs.create_job(ctx, admin, jobs.JobSpec(name="big", task_type="named-entity-recognition",
                                             label_attribute_name="ents", input_manifest_uri=str(tmp / "m.manifest"),
                                             label_config_uri=str(tmp / "labels.json"), team="crew",
                                             output_uri=str(tmp / "out")))
    with ctx.engine.begin() as conn:
        job_id = conn.exec_driver_sql("SELECT id FROM jobs WHERE name = 'big'").scalar()
        conn.exec_driver_sql("DELETE FROM data_objects WHERE job_id = ?", (job_id,))
        rows = []
        for i in range(n):
            text, spans = texts[i % len(texts)]
            ents = [{"label": lb, "startOffset": s, "endOffset": e} for s, e, lb in spans]
            rows.append({"job_id": job_id, "position": i, "line": json.dumps({"source": text}), "source_ref": None,
                         "status": ObjectStatus.LABELED, "active_count": 0, "answer_count": 3,
                         "human_annotated": True,
                         "label": json.dumps({"annotations": {"labels": [{"label": x} for x in LABELS],
                                                              "entities": ents}}),
                         "label_metadata": json.dumps({"entities": [{"confidence": 0.9}] * len(ents)})})
            if len(rows) == 50_000:
                conn.execute(insert(DataObject), rows)
                rows = []
        if rows:
            conn.execute(insert(DataObject), rows)
    ctx.engine.dispose()


def _export_child(db: str, fmt: str, out: str) -> None:
    from labelloop.services.context import build_context
    from labelloop.services.export import export_job
    from labelloop.services.users import acting_principal
    from labelloop.settings import Settings

    ctx = build_context(Settings(database_url=f"sqlite:///{db}", run_background=False))
    t0 = time.perf_counter()
    exp = export_job(ctx, acting_principal(ctx, None), "big", fmt)
    if fmt == "spacy":
        Path(out).mkdir()
        for name, data in exp.shards():
            (Path(out) / name).write_bytes(data)
    else:
        with open(out, "wb") as f:
            for chunk in exp.chunks():
                f.write(chunk)
    seconds = time.perf_counter() - t0
    print(json.dumps({"objects": exp.total, "s": seconds,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def export(sizes=(100_000, 1_000_000)) -> bool:
    ok = True
    print(f"export: {'objects':>9} {'format':<6} {'seconds':>8} {'objects/s':>10} {'peak RSS MB':>12} {'output MB':>10}")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "big.db"
            _make_job(db, n)
            for fmt in ("jsonl", "conll", "spacy"):
                out = Path(tmp) / f"out-{fmt}"
                r = subprocess.run([sys.executable, __file__, "--export-child", str(db), fmt, str(out)],
                                   capture_output=True, text=True, check=True)
                got = json.loads(r.stdout.strip().splitlines()[-1])
                size = sum(p.stat().st_size for p in out.iterdir()) if out.is_dir() else out.stat().st_size
                ok &= got["peak_mb"] < 500
                print(f"        {got['objects']:>9,} {fmt:<6} {got['s']:>8.1f} {got['objects'] / got['s']:>10,.0f} "
                      f"{got['peak_mb']:>12.0f} {size / 1e6:>10.0f}")
    print(f"  every peak RSS under 500 MB: {'PASS' if ok else 'FAIL'}")
    return ok


# ---- keystroke to paint ---------------------------------------------------------------------------------------

MEASURE = """() => {
  window.__lat = [];
  document.addEventListener('keydown', (e) => {
    const t0 = e.timeStamp;
    requestAnimationFrame(() => { const ch = new MessageChannel();
      ch.port1.onmessage = () => window.__lat.push(performance.now() - t0); ch.port2.postMessage(0); });
  }, true);
}"""


WORK = """(keys) => {
  const el = document.querySelector('crowd-entity-annotation'), box = el.shadowRoot.querySelector('.text'), out = [];
  for (const k of keys) {
    const [key, shiftKey] = k.startsWith('Shift+') ? [k.slice(6), true] : [k, false];
    const t0 = performance.now();
    document.dispatchEvent(new KeyboardEvent('keydown', {key, shiftKey, bubbles: true, composed: true, cancelable: true}));
    box.getBoundingClientRect(); document.body.offsetHeight;
    out.push(performance.now() - t0);
  }
  return out;
}"""


def paint() -> bool:
    import http.server
    import threading

    from playwright.sync_api import sync_playwright

    static = Path(__file__).resolve().parents[1] / "src/labelloop/web/static"
    texts = [t for t, _ in load_texts()]
    rng = random.Random(1)
    words: list[str] = []
    while len(words) < 5000:
        words += rng.choice(texts).split()
    text = " ".join(words[:5000])
    tokens = tokenize(text)
    ents = [{"label": rng.choice(LABELS), "startOffset": tokens[i][0], "endOffset": tokens[i + 1][1]}
            for i in sorted(rng.sample(range(0, len(tokens) - 2, 3), 400))]
    esc = lambda s: s.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")  # noqa: E731
    page_html = (f'<!doctype html><meta charset=utf-8><script type=module src="/crowd/index.js"></script>'
                 f'<crowd-entity-annotation name=e labels="{esc(json.dumps([{"label": x} for x in LABELS]))}" '
                 f'text="{esc(text)}" initial-value="{esc(json.dumps(ents))}"></crowd-entity-annotation>').encode()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(static), **kw)

        def do_GET(self):  # noqa: N802
            if self.path != "/bench.html":
                return super().do_GET()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page_html)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    keys = ["ArrowRight", "ArrowRight", "Shift+ArrowRight", "1", "ArrowRight", "2", "Delete", "ArrowLeft",
            "Shift+ArrowRight", "3"] * 30
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/bench.html")
        page.wait_for_function("() => document.querySelector('crowd-entity-annotation')?.shadowRoot?.querySelector('.text span')")
        page.evaluate(MEASURE)
        page.evaluate("() => document.querySelector('crowd-entity-annotation').focus()")
        for n, key in enumerate(keys, start=1):  # one at a time, as a person types: each painted before the next
            page.keyboard.press(key)
            page.wait_for_function(f"() => window.__lat.length >= {n}", polling="raf")
        lat = sorted(page.evaluate("window.__lat"))
        work = sorted(page.evaluate(WORK, keys))
        browser.close()
    server.shutdown()
    p50, p95 = lat[len(lat) // 2], lat[int(len(lat) * 0.95)]
    print(f"  the element's own work per keystroke (handler + style + layout, no frame wait): "
          f"p50 {work[len(work) // 2]:.1f} ms, p95 {work[int(len(work) * 0.95)]:.1f} ms; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    ok = p95 < 50
    print(f"paint: 5,000 words, 400 entities, {len(lat)} keystrokes: key -> painted p50 {p50:.1f} ms, "
          f"p95 {p95:.1f} ms, max {lat[-1]:.1f} ms (p95 / 50 ms = {p95 / 50:.2f}): {'PASS' if ok else 'FAIL'}")
    return ok


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--export-child":
        _export_child(*sys.argv[2:5])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["quality", "export", "paint"])
    ap.add_argument("--sizes", default="100000,1000000", help="export: job sizes (objects)")
    args = ap.parse_args()
    ok = True
    if args.only in (None, "quality"):
        ok &= quality()
    if args.only in (None, "paint"):
        ok &= paint()
    if args.only in (None, "export"):
        ok &= export(tuple(int(x) for x in args.sizes.split(",")))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
