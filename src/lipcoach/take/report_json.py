"""``lipcoach.takereport`` versions: the upgrade of older reports (registered with :mod:`lipcoach.schema`).

Version 2 (issue 17) changed what ``lines[i].coverable`` means: a line of a ``cant_confirm``
take is coverable (the edit cuts it in marked unconfirmed), and each line carries the verdict
of the performer who sings it (``lines[i].verdict``). ``placement.unsure`` marks a silent
take whose place the mouth found with a confidence under the bar.
"""

from __future__ import annotations

import copy

from lipcoach import schema

NAME = "lipcoach.takereport"
#: The bar of version 2 (:data:`lipcoach.take.score.MOUTH_PLACEMENT_BAR`), repeated here so the upgrade needs no numpy.
MOUTH_PLACEMENT_BAR = 0.5


@schema.register_upgrade(NAME, 1)
def upgrade_v1(doc: dict) -> dict:
    """``/1`` → ``/2``: each line gets the take's verdict; a ``cant_confirm`` take's lines with every
    word seen become coverable; ``placement.unsure`` from the placement's method and confidence."""
    out = copy.deepcopy(doc)
    verdict = out.get("verdict")
    for line in out.get("lines", []):
        line.setdefault("verdict", verdict)
        if verdict == "cant_confirm" and not line.get("hidden") and not line.get("n_hidden"):
            line["coverable"] = True
    placement = out.get("placement") or {}
    if placement:
        by_mouth = placement.get("method") == "mouth"
        placement.setdefault("unsure", bool(by_mouth and float(placement.get("confidence", 0.0)) < MOUTH_PLACEMENT_BAR))
        placement.setdefault("unsure_bar", MOUTH_PLACEMENT_BAR if by_mouth else None)
    return out


def validate_report(doc: dict, *, source=None) -> dict:
    """Upgrade a take report to the current version and validate it (importing this module
    is what registers the upgraders, so readers go through here)."""
    return schema.validate(doc, NAME, source=source)


def load_report(path) -> dict:
    """Read, upgrade and validate a take report JSON file."""
    return schema.load_document(path, NAME)
