"""Scores a parse against the ground truth written by examples/screens/generate.py (used by bench/ and tests/)."""

from __future__ import annotations

from dataclasses import dataclass, field

from perception.screen.indicators import iou
from perception.screen.model import ScreenParse


@dataclass
class Score:
    """Counts for one or more screens; add them up with `+=`."""

    rows: int = 0  # ground-truth alarm rows
    rows_found: int = 0  # matched by position
    tags_right: int = 0  # matched and the tag read exactly
    priorities_right: int = 0
    states_right: int = 0
    rows_predicted: int = 0
    indicators: int = 0
    indicators_found: int = 0
    indicators_predicted: int = 0
    indicators_matched: int = 0  # predictions that hit a ground-truth badge (for precision)
    indicators_tagged: int = 0  # ground-truth badges that belong to a labelled piece of equipment
    indicators_tag_right: int = 0  # ... found, and given that equipment's tag
    banners: int = 0
    banner_tags_right: int = 0
    buttons: int = 0
    buttons_found: int = 0
    misread_tags: list[tuple[str, str | None]] = field(default_factory=list)

    def __iadd__(self, other: Score) -> Score:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self

    @staticmethod
    def _ratio(part: int, whole: int) -> float:
        return part / whole if whole else 1.0

    @property
    def tag_accuracy(self) -> float:
        return self._ratio(self.tags_right, self.rows)

    @property
    def row_recall(self) -> float:
        return self._ratio(self.rows_found, self.rows)

    @property
    def row_precision(self) -> float:
        return self._ratio(self.rows_found, self.rows_predicted)

    @property
    def indicator_recall(self) -> float:
        return self._ratio(self.indicators_found, self.indicators)

    @property
    def indicator_precision(self) -> float:
        return self._ratio(self.indicators_matched, self.indicators_predicted)

    @property
    def badge_association(self) -> float:
        return self._ratio(self.indicators_tag_right, self.indicators_tagged)


def _centre_inside(box, area) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return area[0] <= cx <= area[2] and area[1] <= cy <= area[3]


def score_parse(parse: ScreenParse, truth: dict) -> Score:
    score = Score()
    rows = parse.of_kind("alarm_row")
    score.rows, score.rows_predicted = len(truth["alarm_rows"]), len(rows)
    unclaimed = list(rows)
    for expected in truth["alarm_rows"]:
        # photos tilt rows, so their boxes overlap: among rows centred in the box, prefer the same tag, then the closest
        candidates = [r for r in unclaimed if _centre_inside(r.bbox, expected["bbox"])]
        centre_y = (expected["bbox"][1] + expected["bbox"][3]) / 2
        match = min(
            candidates,
            default=None,
            key=lambda r: (r.tag != expected["tag"], abs((r.bbox[1] + r.bbox[3]) / 2 - centre_y)),
        )
        if match is None:
            score.misread_tags.append((expected["tag"], None))
            continue
        unclaimed.remove(match)
        score.rows_found += 1
        score.tags_right += match.tag == expected["tag"]
        score.priorities_right += match.priority == expected["priority"]
        score.states_right += match.state == expected["state"]
        if match.tag != expected["tag"]:
            score.misread_tags.append((expected["tag"], match.tag))
    badges = parse.of_kind("alarm_indicator")
    score.indicators, score.indicators_predicted = len(truth["indicators"]), len(badges)
    hits = [
        [b for b in badges if iou(b.bbox, t["bbox"]) >= 0.3 and b.priority == t["priority"]]
        for t in truth["indicators"]
    ]
    score.indicators_found = sum(bool(h) for h in hits)
    score.indicators_matched = len({id(b) for h in hits for b in h})
    for expected, found in zip(truth["indicators"], hits, strict=False):
        if expected.get("tag"):
            score.indicators_tagged += 1
            score.indicators_tag_right += any((b.tag or "").split(".")[0] == expected["tag"] for b in found)
    if truth.get("banner"):
        score.banners = 1
        score.banner_tags_right = any(b.tag == truth["banner"]["tag"] for b in parse.of_kind("banner"))
    buttons = parse.of_kind("button")
    score.buttons = len(truth["buttons"])
    score.buttons_found = sum(
        any(iou(b.bbox, t["bbox"]) >= 0.5 and b.text == t["text"] for b in buttons) for t in truth["buttons"]
    )
    return score
