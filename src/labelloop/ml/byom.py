"""Bring your own model: a predictor behind a small HTTP contract (docs/automated-labeling.md), so any
framework can serve it.

- ``GET  <url>/health`` -> 200 (any body): the predictor is up.
- ``POST <url>/predict`` ``{"labels": [...], "instances": [{"id": "7", "source": "..."} or
  {"id": "7", "source-ref": "s3://..."}]}`` -> ``{"predictions": [{"id": "7", "probabilities":
  {"cat": 0.9, "dog": 0.1}}]}`` (or the probabilities as a list in the order of ``labels``).
- ``POST <url>/train`` (optional) the same instances each with ``"label"`` -> 2xx; 404, 405 or 501: the model
  is not trained by the job (it predicts as it is).

The HTTP calls are injected (``post``, ``get``): the service passes the storage policy's own, so the URL is
subject to the host policy like every hook."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["PredictorError", "RemoteModel"]

Post = Callable[[str, Any], tuple[int, bytes]]
Get = Callable[[str], bytes]
NOT_TRAINABLE = {404, 405, 501}
BATCH = 256


class PredictorError(Exception):
    """The predictor broke the contract or failed; the message says how (shown in the job's events)."""


class RemoteModel:
    def __init__(self, url: str, labels: Sequence[str], *, post: Post, get: Get):
        self.url, self.labels, self._post, self._get = url.rstrip("/"), list(labels), post, get
        self.trainable: bool | None = None

    def health(self) -> None:
        try:
            self._get(f"{self.url}/health")
        except Exception as exc:  # noqa: BLE001 (any failure of the call is the predictor's)
            raise PredictorError(f"{self.url}/health: {exc}") from None

    def train(self, instances: Sequence[dict[str, Any]]) -> bool:
        """Send the human-labeled instances; False when the predictor does not train."""
        if self.trainable is False:
            return False
        status, body = self._call("train", {"labels": self.labels, "instances": list(instances)})
        if status in NOT_TRAINABLE:
            self.trainable = False
            return False
        if not 200 <= status < 300:
            raise PredictorError(f"{self.url}/train answered {status}: {body[:200]!r}")
        self.trainable = True
        return True

    def predict_proba(self, instances: Sequence[dict[str, Any]]) -> np.ndarray:
        out = np.zeros((len(instances), len(self.labels)))
        for start in range(0, len(instances), BATCH):
            chunk = list(instances[start:start + BATCH])
            status, body = self._call("predict", {"labels": self.labels, "instances": chunk})
            if status != 200:
                raise PredictorError(f"{self.url}/predict answered {status}: {body[:200]!r}")
            out[start:start + len(chunk)] = self._parse(body, chunk)
        return out

    def _call(self, path: str, payload: Any) -> tuple[int, bytes]:
        try:
            return self._post(f"{self.url}/{path}", payload)
        except Exception as exc:  # noqa: BLE001
            raise PredictorError(f"{self.url}/{path}: {exc}") from None

    def _parse(self, body: bytes, chunk: list[dict[str, Any]]) -> np.ndarray:
        try:
            predictions = json.loads(body)["predictions"]
        except (ValueError, KeyError, TypeError):
            raise PredictorError(f"{self.url}/predict: the answer must be JSON with \"predictions\"") from None
        if not isinstance(predictions, list) or len(predictions) != len(chunk):
            raise PredictorError(f"{self.url}/predict: {len(chunk)} instances sent, "
                                 f"{len(predictions) if isinstance(predictions, list) else 'no'} predictions back")
        rows = np.zeros((len(chunk), len(self.labels)))
        index = {label: i for i, label in enumerate(self.labels)}
        by_id = {str(p.get("id", i)) if isinstance(p, dict) else str(i): p for i, p in enumerate(predictions)}
        for i, inst in enumerate(chunk):
            p = by_id.get(str(inst["id"]), predictions[i])
            probs = p.get("probabilities") if isinstance(p, dict) else None
            if isinstance(probs, dict):
                for label, value in probs.items():
                    if label not in index:
                        raise PredictorError(f"{self.url}/predict: '{label}' is not a label of this job")
                    rows[i, index[label]] = float(value)
            elif isinstance(probs, list) and len(probs) == len(self.labels):
                rows[i] = [float(v) for v in probs]
            else:
                raise PredictorError(f"{self.url}/predict: prediction {i} has no \"probabilities\" per label")
        if (rows < 0).any() or (np.abs(rows.sum(axis=1) - 1) > 0.01).any():
            raise PredictorError(f"{self.url}/predict: probabilities must be in [0, 1] and sum to 1 per instance")
        return rows
