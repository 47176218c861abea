"""Pre- and post-annotation Lambdas written as AWS's samples write them (our own code, in their style): the
post-annotation one reads ``payload.s3Uri`` with boto3 through a helper module beside it."""

PRE = '''
import json


def lambda_handler(event, context):
    print("pre-annotation event:", json.dumps(event))
    data_object = event["dataObject"]
    task_object = data_object.get("source") or data_object.get("source-ref")
    return {
        "taskInput": {"taskObject": task_object, "labels": ["yes", "no"],
                      "functionName": context.function_name, "requestId": context.aws_request_id},
        "isHumanAnnotationRequired": "true",
    }
'''

S3_HELPER = '''
from urllib.parse import urlparse

import boto3


class S3Client(object):
    def __init__(self):
        self.s3 = boto3.client("s3")

    def get_object_from_s3(self, s3_url):
        parsed = urlparse(s3_url)
        return self.s3.get_object(Bucket=parsed.netloc, Key=parsed.path[1:])["Body"].read().decode("utf-8")
'''

POST = '''
import json
import os

from s3_helper import S3Client


def lambda_handler(event, context):
    print("consolidation event:", json.dumps(event))
    annotations = json.loads(S3Client().get_object_from_s3(event["payload"]["s3Uri"]))
    label_attribute_name = event["labelAttributeName"]
    consolidated_labels = []
    for dataset in annotations:
        answers = [json.loads(a["annotationData"]["content"]) for a in dataset["annotations"]]
        consolidated_labels.append({
            "datasetObjectId": dataset["datasetObjectId"],
            "consolidatedAnnotation": {"content": {label_attribute_name: {
                "answers": answers,
                "workerIds": [a["workerId"] for a in dataset["annotations"]],
                "eventKeys": sorted(event),
                "roleArn": event["roleArn"],
                "outputConfig": event["outputConfig"],
                "maxHumanWorkersPerDataObject": event["maxHumanWorkersPerDataObject"],
                "remainingMs": context.get_remaining_time_in_millis(),
                "serverEnvironment": sorted(k for k in os.environ if k.startswith("LABELLOOP")),
            }}},
        })
    return consolidated_labels
'''

FAILING = '''
def lambda_handler(event, context):
    raise ValueError("the consolidation failed on purpose")
'''

SLOW = '''
import time


def lambda_handler(event, context):
    time.sleep(30)
'''

BAD_ANSWER = '''
def lambda_handler(event, context):
    return {"not": "a list"}
'''
