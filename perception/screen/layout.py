"""Which equipment label an alarm badge belongs to, by layout rather than reading order.

An HMI designer places every indicator the same way relative to its label (right of the tag, above it, before it).
A badge between two labels is first given to the nearer one, with a badge left of a label counting as further away
(indicators usually follow their label); the badges with one clear nearest label then show the screen's placement
template (side and offset), and every badge goes to the label that fits that template best.
"""

from __future__ import annotations

import statistics

from perception.screen.ocr import TextBox

BBox = tuple[int, int, int, int]
MAX_GAP = 6.0  # text heights: a badge further than this from every label belongs to none
CLEAR = 0.6  # a nearest label this much closer than the next one is a clear pairing
LEFT_OF_LABEL = 1.6  # a badge before its label is less usual than after it


def _side(badge: BBox, label: BBox) -> str:
    """Where the badge sits relative to the label."""
    cy, ly = (badge[1] + badge[3]) / 2, (label[1] + label[3]) / 2
    if abs(cy - ly) <= max(label[3] - label[1], badge[3] - badge[1]):
        return "right" if badge[0] >= (label[0] + label[2]) / 2 else "left"
    return "below" if cy > ly else "above"


def _gap(badge: BBox, label: BBox) -> float:
    dx = max(0, max(badge[0], label[0]) - min(badge[2], label[2]))
    dy = max(0, max(badge[1], label[1]) - min(badge[3], label[3]))
    return (dx * dx + dy * dy) ** 0.5


def _offset(side: str, badge: BBox, label: BBox) -> tuple[float, float]:
    """The badge's position relative to the label's edge on `side`: the quantity a template keeps constant."""
    cy, ly = (badge[1] + badge[3]) / 2, (label[1] + label[3]) / 2
    if side == "right":
        return badge[0] - label[2], cy - ly
    if side == "left":
        return label[0] - badge[2], cy - ly
    if side == "above":
        return badge[0] - label[0], label[1] - badge[3]
    return badge[0] - label[0], badge[1] - label[3]


def associate_badges(badges: list[BBox], labels: list[TextBox]) -> list[TextBox | None]:
    """For each badge, the label (a text box naming a tag) it belongs to, or None when none is near."""
    if not labels:
        return [None] * len(badges)
    height = statistics.median(label.height for label in labels) or 1

    def first_cost(badge: BBox, label: TextBox) -> float:
        return _gap(badge, label.bbox) / height * (LEFT_OF_LABEL if _side(badge, label.bbox) == "left" else 1.0)

    near = []
    for badge in badges:
        ranked = sorted((first_cost(badge, label), i) for i, label in enumerate(labels))
        near.append([(cost, i) for cost, i in ranked if _gap(badge, labels[i].bbox) / height <= MAX_GAP])
    clear = [
        (badge, labels[n[0][1]])
        for badge, n in zip(badges, near, strict=False)
        if n and (len(n) == 1 or n[0][0] <= CLEAR * n[1][0])
    ]
    template = _template(clear)
    chosen = []
    for badge, candidates in zip(badges, near, strict=False):
        if not candidates:
            chosen.append(None)
        elif template is None:
            chosen.append(labels[candidates[0][1]])
        else:
            side, (tx, ty) = template
            misfit = [
                (
                    abs(_offset(side, badge, labels[i].bbox)[0] - tx)
                    + abs(_offset(side, badge, labels[i].bbox)[1] - ty)
                    + (0 if _side(badge, labels[i].bbox) == side else 3 * height),
                    i,
                )
                for _, i in candidates
            ]
            chosen.append(labels[min(misfit)[1]])
    return chosen


def _template(pairs: list[tuple[BBox, TextBox]]) -> tuple[str, tuple[float, float]] | None:
    """The usual side and offset of the clear pairs, when at least two agree on the side."""
    sides = [_side(badge, label.bbox) for badge, label in pairs]
    if len(sides) < 2:
        return None
    side = max(set(sides), key=sides.count)
    offsets = [_offset(side, badge, label.bbox) for (badge, label), s in zip(pairs, sides, strict=False) if s == side]
    if len(offsets) < 2:
        return None
    return side, (statistics.median(o[0] for o in offsets), statistics.median(o[1] for o in offsets))
