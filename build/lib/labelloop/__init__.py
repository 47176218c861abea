"""labelloop: self-hosted data labeling compatible with Amazon SageMaker Ground Truth."""

__version__ = "0.1.0"
