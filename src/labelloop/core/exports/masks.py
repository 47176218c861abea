"""Label-map PNGs (``masks``): ``SegmentationClass/<image stem>.png`` per image, the consolidated label map as
the job wrote it (palette mode: pixel index = class id of ``internal-color-map``, palette colour = its
``hex-color``; the layout of Pascal VOC's ``SegmentationClass`` and of CVAT's "Segmentation mask" export), and
``labelmap.txt`` (CVAT's and VOC's ``# label:color_rgb:parts:actions`` lines, class id order, ``background``
first)."""

from __future__ import annotations

from typing import Any

__all__ = ["labelmap_txt"]


def labelmap_txt(color_map: dict[str, Any]) -> str:
    lines = ["# label:color_rgb:parts:actions"]
    for key in sorted(color_map, key=lambda k: int(k) if str(k).isdigit() else 1 << 30):
        entry = color_map[key]
        if not isinstance(entry, dict):
            continue
        hexc = str(entry.get("hex-color", "#000000")).lstrip("#")
        rgb = ",".join(str(int(hexc[i:i + 2], 16)) for i in (0, 2, 4))
        name = "background" if key == "0" else str(entry.get("class-name", key))
        lines.append(f"{name}:{rgb}::")
    return "\n".join(lines) + "\n"
