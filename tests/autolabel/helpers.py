"""A digits job for the automated-labeling tests: scikit-learn's 1,797 8x8 digits written as PNG files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.conftest import write_labels, write_manifest

LABELS = [str(d) for d in range(10)]


def digits_job(tmp_path: Path, n: int | None = None) -> tuple[Path, Path, dict[str, str]]:
    """(manifest, label file, truth by file name) of the first ``n`` digits."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    images, target = digits.images, digits.target
    if n is not None:
        images, target = images[:n], target[:n]
    folder = tmp_path / "digits"
    folder.mkdir(parents=True, exist_ok=True)
    truth, lines = {}, []
    for i, (img, y) in enumerate(zip(images, target, strict=True)):
        name = f"d{i:04d}.png"
        Image.fromarray((img * 255 / 16).astype(np.uint8)).save(folder / name)
        truth[name] = str(int(y))
        lines.append({"source-ref": str(folder / name)})
    return write_manifest(tmp_path / "digits.manifest", lines), write_labels(tmp_path / "labels.json", LABELS), truth


def job_spec(manifest: Path, labels: Path, tmp_path: Path, name: str = "digits", **extra: object) -> dict:
    return {"name": name, "task_type": "image-classification", "label_attribute_name": "digit",
            "input_manifest_uri": str(manifest), "label_config_uri": str(labels), "output_uri": str(tmp_path / "out"),
            "team": "crew", "workers_per_object": 1, "max_concurrent_tasks": 1000, **extra}

