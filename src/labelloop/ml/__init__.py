"""Optional extra ``labelloop[ml]``: the models automated data labeling trains, and the featurizers they read.

A *featurizer* turns data objects into fixed-length vectors (computed once per object and cached by the
service); a *classifier* is fitted on the vectors of the human-labeled objects and gives a probability per
class. A bring-your-own model (``byom.RemoteModel``) does both behind an HTTP contract. Everything heavy
(scikit-learn, Pillow, torch, sentence-transformers) is imported only when used, so importing this package
never fails; ``MissingExtra`` says what to install."""

from labelloop.ml.base import Classifier, Featurizer, MissingExtra, ModelSpec, parse_model_spec

__all__ = ["Classifier", "Featurizer", "MissingExtra", "ModelSpec", "parse_model_spec"]
