"""The one list of Ground Truth's Crowd HTML Elements (spec §6.3): the ones labelloop builds
(``web/static/crowd/<name>.js``) and the ones AWS documents that it does not build yet. A template that uses
one of the latter, or a ``crowd-*`` element AWS does not document, is refused at job creation with the
element's name, rather than shown to workers and submitting ``{}``.

>>> unbuilt_elements('<crowd-form><crowd-polygon name="p"></crowd-polygon><crowd-polgon></crowd-polgon></crowd-form>')
['crowd-polgon']
"""

from __future__ import annotations

import re

__all__ = ["BUILT", "NOT_BUILT", "element_problem", "unbuilt_elements"]

BUILT: frozenset[str] = frozenset({
    "crowd-alert", "crowd-badge", "crowd-bounding-box", "crowd-button", "crowd-card", "crowd-checkbox",
    "crowd-classifier", "crowd-classifier-multi-select", "crowd-entity-annotation", "crowd-fab", "crowd-form",
    "crowd-icon-button", "crowd-image-classifier", "crowd-instance-segmentation", "crowd-keypoint", "crowd-line",
    "crowd-polygon", "crowd-polyline", "crowd-semantic-segmentation",
    "crowd-image-classifier-multi-select", "crowd-input", "crowd-instructions", "crowd-modal",
    "crowd-radio-button", "crowd-radio-group", "crowd-slider", "crowd-tab", "crowd-tabs", "crowd-text-area",
    "crowd-toast", "crowd-toggle-button",
    "crowd-instructions-panel",  # labelloop's own: the task page's instructions panel
})

# documented by AWS, not built yet: name -> what it is (for the error message)
NOT_BUILT: dict[str, str] = {
    "crowd-textract-analyze-document": "Amazon A2I's Textract review",
    "crowd-rekognition-detect-moderation-labels": "Amazon A2I's Rekognition review",
}

_TAG = re.compile(r"<(crowd-[a-z0-9-]+)", re.I)


def unbuilt_elements(html: str) -> list[str]:
    """The ``crowd-*`` elements of a template labelloop does not build, in order of first use."""
    seen: dict[str, None] = {}
    for m in _TAG.finditer(html):
        name = m.group(1).lower()
        if name not in BUILT:
            seen.setdefault(name, None)
    return list(seen)


def element_problem(name: str) -> str:
    """Why a template with element ``name`` cannot run here."""
    if name in NOT_BUILT:
        return f"<{name}> ({NOT_BUILT[name]}) is a Ground Truth element labelloop does not build yet"
    return f"<{name}> is not a Crowd HTML Element Ground Truth documents"
