"""Pascal VOC XML, one ``Annotations/<image stem>.xml`` per image (the layout of the VOC devkit and of the
importers of CVAT, Label Studio and torchvision's ``VOCDetection``): ``folder``, ``filename``, ``path`` (the
``source-ref``), ``source``, ``size`` (``width``, ``height``, ``depth``), ``segmented`` and an ``object`` per
box with ``name``, ``pose`` (``Unspecified``), ``truncated``, ``difficult`` (0) and ``bndbox``. Box corners
are 1-based whole pixels, as VOC's: ``xmin = left + 1``, ``xmax = left + width`` (rounded). Objects without a
box (none of labelloop's types) are skipped. ``labels.txt`` lists the label names, one a line.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from labelloop.core.exports.base import ImageObjects
from labelloop.core.exports.coco import file_name

__all__ = ["voc_xml"]


def voc_xml(rec: ImageObjects) -> str:
    name = file_name(rec.source_ref)
    out = ["<annotation>", "  <folder>images</folder>", f"  <filename>{escape(name)}</filename>",
           f"  <path>{escape(rec.source_ref)}</path>", "  <source><database>labelloop</database></source>",
           f"  <size><width>{rec.width}</width><height>{rec.height}</height><depth>3</depth></size>",
           f"  <segmented>{1 if any(s.polygons for s in rec.shapes) else 0}</segmented>"]
    for s in rec.shapes:
        if s.box is None:
            continue
        left, top, w, h = s.box
        xmin, ymin = round(left) + 1, round(top) + 1
        xmax, ymax = max(xmin, round(left + w)), max(ymin, round(top + h))
        out += ["  <object>", f"    <name>{escape(s.label)}</name>", "    <pose>Unspecified</pose>",
                "    <truncated>0</truncated>", "    <difficult>0</difficult>",
                f"    <bndbox><xmin>{xmin}</xmin><ymin>{ymin}</ymin><xmax>{xmax}</xmax><ymax>{ymax}</ymax></bndbox>",
                "  </object>"]
    out.append("</annotation>")
    return "\n".join(out) + "\n"
