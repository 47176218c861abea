"""The SageMaker API under test: the app served by uvicorn on loopback (sharing the test's database and clock),
access keys made by ``services.keys``, boto3's own ``sagemaker`` client, and a moto S3 server on loopback."""

from __future__ import annotations

import json

import pytest

boto3 = pytest.importorskip("boto3")
from botocore.config import Config  # noqa: E402

from labelloop.services.keys import create_key  # noqa: E402
from tests.servers import uvicorn_thread  # noqa: E402

REGION = "us-east-1"
ACCOUNT = "000000000000"
TEAM_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:workteam/private-crowd/crew"
ROLE_ARN = "arn:aws:iam::111122223333:role/gt-exec"


def lambda_arn(name: str, region: str = "us-west-2", account: str = "081040173940") -> str:
    return f"arn:aws:lambda:{region}:{account}:function:{name}"


@pytest.fixture
def server(app):
    with uvicorn_thread(app) as base:
        yield base


@pytest.fixture
def endpoint(server):
    return server + "/aws/sagemaker"


@pytest.fixture
def key_of(ctx, people):
    """``key_of(username)``: a fresh access key pair of that user (a requester or admin)."""
    return lambda username: create_key(ctx, people["admin"], user=username)


@pytest.fixture
def client_for(endpoint, key_of):
    """``client_for(username)``: boto3's sagemaker client signing with a key of that user."""

    def make(username: str = "req", *, secret: str | None = None):
        key = key_of(username)
        return boto3.client("sagemaker", endpoint_url=endpoint, region_name=REGION,
                            aws_access_key_id=key.access_key_id,
                            aws_secret_access_key=secret or key.secret_access_key,
                            config=Config(retries={"max_attempts": 1, "mode": "standard"}))

    return make


@pytest.fixture
def sm(client_for):
    return client_for("req")


@pytest.fixture(scope="session")
def moto_url():
    """One moto S3 server on loopback for these tests (each test starts from an empty server, see ``s3``)."""
    pytest.importorskip("moto.server")
    from tests.servers import moto_s3

    with moto_s3() as url:
        yield url


@pytest.fixture
def s3(monkeypatch, ctx, moto_url):
    """Bucket ``acme`` on the moto server; the labelloop server finds it as AWS tools do, through
    AWS_ENDPOINT_URL_S3 (no labelloop setting)."""
    import httpx

    s3fs = pytest.importorskip("s3fs")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_url)
    ctx.storage.s3_endpoint_url = None
    s3fs.S3FileSystem.clear_instance_cache()
    client = boto3.client("s3", endpoint_url=moto_url, region_name=REGION)
    client.create_bucket(Bucket="acme")
    yield client
    s3fs.S3FileSystem.clear_instance_cache()
    httpx.post(f"{moto_url}/moto-api/reset").raise_for_status()


def put_json_lines(s3, key: str, lines: list[dict]) -> str:
    s3.put_object(Bucket="acme", Key=key, Body="".join(json.dumps(x) + "\n" for x in lines).encode())
    return f"s3://acme/{key}"


def job_request(name: str, manifest: str, *, labels: str | None = None, template: str | None = None,
                workers: int = 3, kind: str = "TextMultiClass", **human) -> dict:
    """A CreateLabelingJob request as a Ground Truth script writes it (built-in Lambdas of another region)."""
    ht = {
        "WorkteamArn": TEAM_ARN,
        "UiConfig": {"UiTemplateS3Uri": template or "s3://acme/in/template.liquid.html"},
        "PreHumanTaskLambdaArn": lambda_arn(f"PRE-{kind}"),
        "TaskKeywords": ["Text", "Sentiment"], "TaskTitle": "Sentiment", "TaskDescription": "Is it positive?",
        "NumberOfHumanWorkersPerDataObject": workers, "TaskTimeLimitInSeconds": 300,
        "TaskAvailabilityLifetimeInSeconds": 21600, "MaxConcurrentTaskCount": 100,
        "AnnotationConsolidationConfig": {"AnnotationConsolidationLambdaArn": lambda_arn(f"ACS-{kind}")},
        **human,
    }
    req = {"LabelingJobName": name, "LabelAttributeName": "sentiment",
           "InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": manifest}}},
           "OutputConfig": {"S3OutputPath": "s3://acme/out/"}, "RoleArn": ROLE_ARN,
           "StoppingConditions": {"MaxPercentageOfInputDatasetLabeled": 100}, "HumanTaskConfig": ht}
    if labels:
        req["LabelCategoryConfigS3Uri"] = labels
    return req


TEMPLATE = """<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form>
  <crowd-classifier name="sentiment" categories="{{ task.input.labels | to_json | escape }}" header="Is it positive?">
    <classification-target>{{ task.input.taskObject }}</classification-target>
  </crowd-classifier>
</crowd-form>
"""


@pytest.fixture
def bucket_job(s3, allow_storage):
    """Manifest, label categories and template in the bucket (allowed by the storage policy)."""
    allow_storage("s3://acme")
    manifest = put_json_lines(s3, "in/reviews.manifest",
                              [{"source": f"review {i}", "review-id": f"r{i}"} for i in range(3)])
    s3.put_object(Bucket="acme", Key="in/labels.json", Body=json.dumps(
        {"document-version": "2018-11-28", "labels": [{"label": "positive"}, {"label": "negative"}]}).encode())
    s3.put_object(Bucket="acme", Key="in/template.liquid.html", Body=TEMPLATE.encode())
    return {"manifest": manifest, "labels": "s3://acme/in/labels.json"}
