"""Work teams (by group), human task UIs, tags and the listings with boto3's own paginators; a key sees only
what its requester may see."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from labelloop.services.jobs import JobSpec, create_job
from labelloop.services.users import create_user, describe_team
from tests.aws.conftest import ACCOUNT, REGION, TEAM_ARN
from tests.conftest import write_labels, write_manifest

GROUP = [{"CognitoMemberDefinition": {"UserPool": "us-east-1_abc", "UserGroup": "crew", "ClientId": "client"}}]


def _jobs(ctx, owner, tmp_path, names):
    manifest = write_manifest(tmp_path / "m.manifest", [{"source": f"text {i}"} for i in range(2)])
    labels = write_labels(tmp_path / "labels.json", ["a", "b"])
    for name in names:
        create_job(ctx, owner, JobSpec(name=name, task_type="text-classification", label_attribute_name="lab",
                                       input_manifest_uri=str(manifest), label_config_uri=str(labels),
                                       output_uri=str(tmp_path / "out"), team="crew", workers_per_object=1))


def test_workteams_by_group_and_their_paginator(ctx, sm, people):
    for i in range(5):
        arn = sm.create_workteam(WorkteamName=f"yard-{i}", Description=f"yard team {i}", MemberDefinitions=GROUP,
                                 Tags=[{"Key": "site", "Value": "yard"}])["WorkteamArn"]
        assert arn == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:workteam/private-crowd/yard-{i}"
    assert describe_team(ctx, "yard-0").members == ["w1", "w2", "w3", "w4"]  # the members of group 'crew'
    team = sm.describe_workteam(WorkteamName="yard-0")["Workteam"]
    assert team["MemberDefinitions"] == GROUP and team["Description"] == "yard team 0"
    pages = list(sm.get_paginator("list_workteams").paginate(NameContains="yard",
                                                             PaginationConfig={"PageSize": 2}))
    assert [len(p["Workteams"]) for p in pages] == [2, 2, 1]
    assert [t["WorkteamName"] for p in pages for t in p["Workteams"]] == [f"yard-{i}" for i in range(5)]
    with pytest.raises(sm.exceptions.ResourceInUse):
        sm.create_workteam(WorkteamName="YARD-0", Description="again", MemberDefinitions=GROUP)
    with pytest.raises(ClientError) as info:
        sm.create_workteam(WorkteamName="nobody", Description="d", MemberDefinitions=[
            {"OidcMemberDefinition": {"Groups": ["no-such-group"]}}])
    assert "no-such-group" in info.value.response["Error"]["Message"]

    updated = sm.update_workteam(WorkteamName="yard-1", Description="moved", MemberDefinitions=[
        {"OidcMemberDefinition": {"Groups": ["others"]}}])["Workteam"]
    assert updated["Description"] == "moved" and describe_team(ctx, "yard-1").members == ["outsider"]
    assert sm.delete_workteam(WorkteamName="yard-4")["Success"] is True
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_workteam(WorkteamName="yard-4")
    tags = sm.list_tags(ResourceArn=team["WorkteamArn"])["Tags"]
    assert tags == [{"Key": "site", "Value": "yard"}]


def test_human_task_uis_tags_and_the_job_listings_paginate(ctx, sm, people, tmp_path):
    for i in range(3):
        sm.create_human_task_ui(HumanTaskUiName=f"ui-{i}", UiTemplate={"Content": f"<crowd-form>{i}</crowd-form>"})
    ui = sm.describe_human_task_ui(HumanTaskUiName="ui-1")
    assert ui["HumanTaskUiStatus"] == "Active" and ui["UiTemplate"]["ContentSha256"]
    import httpx

    assert httpx.get(ui["UiTemplate"]["Url"]).text == "<crowd-form>1</crowd-form>"
    uis = [u["HumanTaskUiName"] for p in sm.get_paginator("list_human_task_uis").paginate(
        PaginationConfig={"PageSize": 2}) for u in p["HumanTaskUiSummaries"]]
    assert uis == ["ui-0", "ui-1", "ui-2"]
    with pytest.raises(sm.exceptions.ResourceInUse):
        sm.create_human_task_ui(HumanTaskUiName="ui-1", UiTemplate={"Content": "<p>x</p>"})
    sm.delete_human_task_ui(HumanTaskUiName="ui-2")
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_human_task_ui(HumanTaskUiName="ui-2")

    _jobs(ctx, people["req"], tmp_path, [f"job-{i}" for i in range(5)])
    pages = list(sm.get_paginator("list_labeling_jobs").paginate(SortBy="Name", SortOrder="Descending",
                                                                 PaginationConfig={"PageSize": 2}))
    names = [j["LabelingJobName"] for p in pages for j in p["LabelingJobSummaryList"]]
    assert names == ["job-4", "job-3", "job-2", "job-1", "job-0"] and len(pages) == 3
    assert [j["LabelingJobName"] for j in sm.list_labeling_jobs(NameContains="JOB-3")["LabelingJobSummaryList"]] \
        == ["job-3"]
    team_jobs = [j["LabelingJobName"] for p in sm.get_paginator("list_labeling_jobs_for_workteam").paginate(
        WorkteamArn=TEAM_ARN, PaginationConfig={"PageSize": 3}) for j in p["LabelingJobSummaryList"]]
    assert sorted(team_jobs) == [f"job-{i}" for i in range(5)]
    described = sm.describe_labeling_job(LabelingJobName="job-0")  # made through the services, not the API
    assert described["HumanTaskConfig"]["WorkteamArn"] == TEAM_ARN and "RoleArn" not in described
    with pytest.raises(ClientError) as info:
        sm.list_labeling_jobs(NextToken=pages[0]["NextToken"], SortBy="Status")
    assert info.value.response["Error"]["Code"] == "ValidationException"

    job_arn = described["LabelingJobArn"]
    sm.add_tags(ResourceArn=job_arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    sm.add_tags(ResourceArn=job_arn, Tags=[{"Key": "a", "Value": "3"}])
    sm.delete_tags(ResourceArn=job_arn, TagKeys=["b"])
    assert sm.list_tags(ResourceArn=job_arn)["Tags"] == [{"Key": "a", "Value": "3"}]


def test_a_key_sees_only_what_its_requester_may_see(ctx, people, client_for, tmp_path):
    create_user(ctx, "bob", "bob-password", "requester")
    _jobs(ctx, people["req"], tmp_path, ["alices-job"])
    alice, bob = client_for("req"), client_for("bob")
    arn = alice.describe_labeling_job(LabelingJobName="alices-job")["LabelingJobArn"]
    alice.create_human_task_ui(HumanTaskUiName="alices-ui", UiTemplate={"Content": "<crowd-form></crowd-form>"})
    assert bob.list_labeling_jobs()["LabelingJobSummaryList"] == []
    assert bob.list_human_task_uis()["HumanTaskUiSummaries"] == []
    for call, kwargs in [(bob.describe_labeling_job, {"LabelingJobName": "alices-job"}),
                         (bob.stop_labeling_job, {"LabelingJobName": "alices-job"}),
                         (bob.list_tags, {"ResourceArn": arn}),
                         (bob.add_tags, {"ResourceArn": arn, "Tags": [{"Key": "k", "Value": "v"}]}),
                         (bob.describe_human_task_ui, {"HumanTaskUiName": "alices-ui"})]:
        with pytest.raises(ClientError) as info:
            call(**kwargs)
        assert info.value.response["Error"]["Code"] == "ResourceNotFound", call
    assert alice.describe_labeling_job(LabelingJobName="alices-job")["LabelingJobStatus"] == "InProgress"
    assert bob.list_labeling_jobs_for_workteam(WorkteamArn=TEAM_ARN)["LabelingJobSummaryList"] == []
    bob_team = bob.create_workteam(WorkteamName="bobs", Description="b", MemberDefinitions=GROUP)["WorkteamArn"]
    with pytest.raises(ClientError) as info:
        alice.update_workteam(WorkteamName="bobs", Description="mine now")
    assert info.value.response["Error"]["Code"] in ("ResourceNotFound", "AccessDeniedException")
    assert bob.describe_workteam(WorkteamName="bobs")["Workteam"]["WorkteamArn"] == bob_team
