"""Output that diffs clean against Ground Truth's (spec §2-3): compact lines, the lowercased job name, the
confidences it writes (at most 0.95, 0.00 for one answer) while the database keeps the raw posterior, its
identity shape, file names without fractions of a second, ``iteration-N`` and ``annotations/intermediate``."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update

from labelloop.core.manifest import compact_json
from labelloop.core.output_confidence import written_metadata, written_metadata_json
from labelloop.db.models import DataObject, User
from labelloop.services.background import run_background_once
from labelloop.services.background.consolidate import _chosen_order
from labelloop.services.output import consolidation_name, file_stamp
from tests.conftest import write_labels, write_manifest


@pytest.mark.parametrize(("metadata", "answers", "written"), [
    ({"class-name": "dog", "confidence": 0.999}, 3, {"class-name": "dog", "confidence": 0.95}),
    ({"class-name": "dog", "confidence": 0.71}, 3, {"class-name": "dog", "confidence": 0.71}),
    ({"class-name": "dog", "confidence": 0.7786}, 3, {"class-name": "dog", "confidence": 0.78}),  # two decimals
    ({"class-name": "dog", "confidence": 0.949}, 3, {"class-name": "dog", "confidence": 0.95}),
    ({"class-name": "dog", "confidence": 0.8}, 1, {"class-name": "dog", "confidence": 0.0}),
    ({"confidence-map": {"0": 1.0, "2": 0.4}}, 5, {"confidence-map": {"0": 0.95, "2": 0.4}}),
    ({"confidence-map": {"0": 1.0}}, 1, {"confidence-map": {"0": 0.0}}),
    ({"objects": [{"confidence": 0.99}, {"confidence": 0.5}]}, 2, {"objects": [{"confidence": 0.95}, {"confidence": 0.5}]}),
    ({"entities": [{"confidence": 1}]}, 1, {"entities": [{"confidence": 0.0}]}),
    ({"internal-color-map": {"0": {"class-name": "bg", "confidence": 0.97}}}, 0,
     {"internal-color-map": {"0": {"class-name": "bg", "confidence": 0.95}}}),  # machine-labeled (0 answers)
    ({"human-annotated": "yes", "confidence": True}, 3, {"human-annotated": "yes", "confidence": True}),
])
def test_written_confidences_follow_ground_truth(metadata, answers, written):
    assert written_metadata(metadata, answers=answers) == written


def test_multi_label_values_keep_the_order_chosen():
    answers = ((("1", {"c": {"labels": ["bird", "cat"]}})), ("2", {"c": {"labels": ["cat", "dog"]}}))
    value, meta = _chosen_order([0, 1, 2], {"class-map": {"0": "cat", "1": "dog", "2": "bird"},
                                            "confidence-map": {"0": 0.9, "1": 0.3, "2": 0.6}}, answers)
    assert value == [2, 0, 1]
    assert list(meta["class-map"]) == ["2", "0", "1"] and list(meta["confidence-map"]) == ["2", "0", "1"]


def test_consolidation_files_of_the_same_second_never_overwrite(ctx, tmp_path):
    job = type("J", (), {"output_uri": str(tmp_path / "out" / "j")})()
    at = datetime(2026, 1, 5, 9, 0, 0, 123456)
    first = consolidation_name(ctx, job, 1, at)
    assert first == "2026-01-05_09:00:00.json" == f"{file_stamp(at)}.json"
    folder = Path(job.output_uri) / "annotations/consolidated-annotation/consolidation-request/iteration-1"
    folder.mkdir(parents=True)
    (folder / first).write_text("[]")
    assert consolidation_name(ctx, job, 1, at) == "2026-01-05_09:00:01.json"


def _run(api, ctx, clock, name: str, per_object: int, answers: dict[int, list[str]]) -> None:
    """Each worker answers what ``answers`` gives it; an object with fewer answers stays open (its lease held)."""
    run_background_once(ctx, force_output=True)
    for w, worker in enumerate(["w1", "w2", "w3"][:per_object]):
        client = api(worker)
        while (r := client.post(f"/api/v1/worker/jobs/{name}/next-task")).status_code == 200:
            task = r.json()
            clock.advance(3)
            if len(answers[task["dataset_object_id"]]) <= w:
                break
            label = answers[task["dataset_object_id"]][w]
            s = client.post(f"/api/v1/worker/tasks/{task['task_id']}/submit",
                            json={"answer": {"crowd-classifier": {"label": label}}})
            assert s.status_code == 200, s.text
    for _ in range(5):
        run_background_once(ctx, force_output=True)
        clock.advance(1)


def _create(api, tmp_path, name: str, per_object: int, n: int = 2) -> None:
    manifest = write_manifest(tmp_path / f"{name}.manifest", [f'{{"source": "text {i}", "k": [1, 2.50]}}' for i in range(n)])
    spec = {"name": name, "task_type": "text-classification", "label_attribute_name": "animal",
            "input_manifest_uri": str(manifest), "label_config_uri": str(write_labels(tmp_path / "l.json", ["cat", "dog"])),
            "output_uri": str(tmp_path / "out"), "team": "crew", "workers_per_object": per_object,
            "task_time_limit_s": 300, "task_availability_lifetime_s": 3600}
    r = api("req").post("/api/v1/jobs", json=spec)
    assert r.status_code == 201, r.text


def test_output_of_a_job_diffs_clean_against_ground_truth(ctx, api, clock, people, tmp_path):
    ctx.settings.public_url = "https://label.example.com"
    _create(api, tmp_path, "Pets-Job", 3, n=3)
    _run(api, ctx, clock, "Pets-Job", 3, {0: ["cat", "cat", "cat"], 1: ["dog", "dog", "cat"], 2: ["cat", "cat"]})
    out = tmp_path / "out" / "Pets-Job"
    text = (out / "manifests/output/output.manifest").read_text()
    assert text.startswith('{"source":"text 0","k":[1,2.50],"animal":0,"animal-metadata":{"confidence":0.95,'
                           '"job-name":"labeling-job/pets-job","class-name":"cat","human-annotated":"yes",'
                           '"creation-date":"2026-01-05T09:00:')  # Ground Truth's key order
    lines = [json.loads(x) for x in text.splitlines()]
    assert all(x["animal-metadata"]["job-name"] == "labeling-job/pets-job" for x in lines[:2])
    assert lines[0]["animal-metadata"]["confidence"] == 0.95, "Ground Truth's ceiling"
    with ctx.engine.connect() as conn:
        raw = [json.loads(m) for (m,) in conn.execute(select(DataObject.label_metadata).where(
            DataObject.label_metadata.is_not(None)).order_by(DataObject.position))]
        subs = dict(conn.execute(select(User.username, User.sub)).all())
    assert raw[0]["confidence"] > 0.95, "the database keeps the raw posterior"

    [response] = (out / "annotations/worker-response/iteration-1/0").glob("*.json")
    assert len(response.stem) == len("2026-01-05_09:00:00")
    identity = json.loads(response.read_text())["answers"][0]["workerMetadata"]["identityData"]
    assert identity["identityProviderType"] == "Cognito" and identity["issuer"] == "https://label.example.com"
    assert identity["sub"] in {subs["w1"], subs["w2"], subs["w3"]} and identity["sub"] not in subs
    [request] = (out / "annotations/consolidated-annotation/consolidation-request/iteration-1").glob("*.json")
    workers = [a["workerId"] for a in json.loads(request.read_text())[0]["annotations"]]
    assert all(w.startswith("private.us-east-1.") and len(w) == len("private.us-east-1.") + 16 for w in workers)
    [resp] = (out / "annotations/consolidated-annotation/consolidation-response/iteration-1").glob("*.json")
    assert resp.name == request.name
    inter = [json.loads(x) for x in (out / "annotations/intermediate/1/annotations.json").read_text().splitlines()]
    assert [(x["datasetObjectId"], x["inputAttribute"]) for x in inter] == [("0", "text 0"), ("1", "text 1")]
    assert "animal" not in lines[2], "object 2 is still open"
    assert json.loads(inter[0]["manifestLine"]) == {"source": "text 0", "k": [1, 2.5]}

    # an object consolidated again (its answers changed) goes to iteration-2, beside the first
    with ctx.engine.begin() as conn:
        conn.execute(update(DataObject).where(DataObject.position == 1).values(status="ready"))
    clock.advance(5)
    run_background_once(ctx, force_output=True)
    assert list((out / "annotations/worker-response/iteration-2").iterdir()) == [
        out / "annotations/worker-response/iteration-2/1"]
    assert len(list((out / "annotations/consolidated-annotation/consolidation-request/iteration-2").glob("*"))) == 1


def test_one_worker_per_object_writes_confidence_zero(ctx, api, clock, people, tmp_path):
    _create(api, tmp_path, "solo", 1)
    _run(api, ctx, clock, "solo", 1, {0: ["cat"], 1: ["dog"]})
    lines = [json.loads(x) for x in (tmp_path / "out/solo/manifests/output/output.manifest").read_text().splitlines()]
    assert [x["animal-metadata"]["confidence"] for x in lines] == [0.0, 0.0]


_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                       | st.text(max_size=8), lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4),
                                                                                                 c, max_size=3),
                       max_leaves=10)


@given(st.dictionaries(st.text(max_size=6), _values, max_size=5), st.booleans(), st.sampled_from([None, 2]))
def test_compact_json_is_the_compact_dump_of_any_json(obj, ascii_only, indent):
    text = json.dumps(obj, ensure_ascii=ascii_only, indent=indent)
    assert compact_json(text) == json.dumps(obj, ensure_ascii=ascii_only, separators=(",", ":"))


_metadata = st.fixed_dictionaries({"confidence": st.floats(0, 1)}, optional={
    "class-name": st.text(max_size=6), "confidence-map": st.dictionaries(st.sampled_from(["0", "1", "12"]),
                                                                         st.floats(0, 1) | st.just(1)),
    "objects": st.lists(st.fixed_dictionaries({"confidence": st.floats(0, 1)}), max_size=2),
    "type": st.just("groundtruth/x")})


@given(_metadata, st.sampled_from([0, 1, 3]), st.booleans())
def test_the_in_place_rewrite_equals_the_parsed_one(metadata, answers, spaced):
    text = json.dumps(metadata, ensure_ascii=False, **({} if spaced else {"separators": (",", ":")}))
    assert json.loads(written_metadata_json(text, answers=answers)) == written_metadata(metadata, answers=answers)
