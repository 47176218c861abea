"""The SageMaker API (JSON 1.1, ``X-Amz-Target: SageMaker.<Operation>``, SigV4) at ``/aws/sagemaker``: boto3's
``sagemaker`` client and the AWS CLI work against ``--endpoint-url http://HOST:PORT/aws/sagemaker``
(docs/aws-api.md)."""

from labelloop.web.aws.routes import PATH, install

__all__ = ["PATH", "install"]
