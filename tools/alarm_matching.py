"""Finding the alarm a tag read off a screen refers to: OCR and the VLM drop separators, change case and
confuse O/0 and I/1 (`TIC1O1` for `TIC-101.HH`). Matching works on a skeleton of the spelling and says how sure
it is."""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher
from typing import Literal

from pydantic import BaseModel, Field

from storage.rows import CONDITION_SPELLINGS

MatchKind = Literal["exact", "ocr_confusion", "tag_only", "fuzzy"]

FUZZY_THRESHOLD = 0.75  # below this similarity a spelling is not offered as the match
SUGGESTION_THRESHOLD = 0.5  # ... but still suggested when nothing matches
TIE_MARGIN = 0.03  # candidates this close to the best are reported as ambiguous
MAX_CANDIDATES = 5

_CONFUSABLE = str.maketrans({"O": "0", "I": "1"})
_LOOP_NUMBER = re.compile(r"\d[\dOI]*")  # TIC-1O1 -> 1O1 (-> 101); starts at a digit so AI-106 gives 106


def alarm_name(tag: str, condition: str) -> str:
    return f"{tag}.{condition}" if condition else tag


def _plain(text: str) -> str:
    """Upper case, letters and digits only (full-width OCR output folded to ASCII)."""
    return re.sub(r"[^0-9A-Z]", "", unicodedata.normalize("NFKC", text).upper())


def _skeleton(text: str) -> str:
    return _plain(text).translate(_CONFUSABLE)


_CONDITION_BY_PLAIN = {
    _plain(spelling): code for code, spellings in CONDITION_SPELLINGS.items() for spelling in (code, *spellings)
}


def _loop_number(text: str) -> tuple[str | None, str]:
    """The first number of a tag as read (O/I in it taken as 0/1) and the plain text after it."""
    plain = _plain(text)
    found = _LOOP_NUMBER.search(plain)
    return (found.group().translate(_CONFUSABLE), plain[found.end() :]) if found else (None, plain)


def _contradicts(query: str, tag: str, condition: str) -> bool:
    """A close spelling that is still another alarm: another loop number (TIC-110 and TIC-1011 are other
    instruments, not a misread TIC-101; O/I confusions are already folded) or another condition code (TIC-101.L is
    not TIC-101.H). Explaining the wrong loop to an operator is worse than asking which one is meant."""
    number, rest = _loop_number(query)
    tag_number, _ = _loop_number(tag)
    if number and tag_number and number != tag_number:
        return True
    asked = _CONDITION_BY_PLAIN.get(rest) if number else None
    return bool(asked and condition and asked != condition)


class Candidate(BaseModel):
    tag: str
    condition: str
    score: float = Field(description="similarity of the spelling, 0..1")

    @property
    def name(self) -> str:
        return alarm_name(self.tag, self.condition)


class TagMatch(BaseModel):
    """Which alarm(s) a spelling was taken to mean, and how sure that is."""

    query: str
    matches: list[Candidate] = Field(description="the alarm(s) taken to be meant, best first")
    how: MatchKind
    confidence: float
    ambiguous: bool = Field(description="several different alarms fit about equally well")
    others: list[Candidate] = Field(default_factory=list, description="further close spellings")

    @property
    def tags(self) -> set[str]:
        return {m.tag for m in self.matches}

    def as_text(self) -> str:
        names = ", ".join(m.name for m in self.matches)
        reason = {
            "exact": "exact spelling (ignoring case and separators)",
            "ocr_confusion": "same spelling once O/0 and I/1 are treated alike",
            "tag_only": "tag matches; no condition given",
            "fuzzy": "closest spelling",
        }[self.how]
        text = f"{self.query!r} matched {names} (confidence {self.confidence:.2f}: {reason})"
        if self.ambiguous:
            text += "; several alarms fit about equally well, say which one is on screen"
        if self.others:
            text += "; other close spellings: " + ", ".join(f"{c.name} ({c.score:.2f})" for c in self.others)
        return text


class TagMatcher:
    """Matches spellings against a fixed list of (tag, condition) alarms."""

    def __init__(self, alarms: list[tuple[str, str]]):
        self.alarms = sorted(set(alarms))
        self._literal: dict[str, list[tuple[str, str]]] = {}
        self._by_plain_tag: dict[str, list[tuple[str, str]]] = {}
        self._by_skeleton_tag: dict[str, list[tuple[str, str]]] = {}
        self._full_plain: dict[str, list[tuple[str, str]]] = {}
        self._full_skeleton: dict[str, list[tuple[str, str]]] = {}
        self._spellings: list[tuple[str, tuple[str, str]]] = []
        for tag, condition in self.alarms:
            for literal in {tag.casefold(), alarm_name(tag, condition).casefold()}:
                self._literal.setdefault(literal, []).append((tag, condition))
            self._by_plain_tag.setdefault(_plain(tag), []).append((tag, condition))
            self._by_skeleton_tag.setdefault(_skeleton(tag), []).append((tag, condition))
            self._spellings.append((_skeleton(tag), (tag, condition)))
            for spelling in {condition, *CONDITION_SPELLINGS.get(condition, [])} - {""}:
                for table, fold in ((self._full_plain, _plain), (self._full_skeleton, _skeleton)):
                    keys = table.setdefault(fold(tag) + fold(spelling), [])
                    if (tag, condition) not in keys:
                        keys.append((tag, condition))
                self._spellings.append((_skeleton(tag) + _skeleton(spelling), (tag, condition)))

    def match(self, query: str) -> TagMatch | None:
        """The best reading of `query`, or None when nothing is close enough (see `suggestions`).

        The spelling as written (ignoring case) wins over folded spellings; two alarms whose spellings fold alike
        (`TIC-101` and `TIC 101`) are reported as ambiguous, never resolved silently to one of them."""
        plain, skeleton = _plain(query), _skeleton(query)
        if not plain:
            return None
        if literal := self._literal.get(query.strip().casefold()):
            how: MatchKind = "exact" if len(literal) == 1 and literal[0][1] else "tag_only"
            return self._certain(query, literal, how, 1.0 if how == "exact" else 0.9)
        for table, key, how, confidence in (
            (self._full_plain, plain, "exact", 1.0),
            (self._by_plain_tag, plain, "tag_only", 0.9),
            (self._full_skeleton, skeleton, "ocr_confusion", 0.95),
            (self._by_skeleton_tag, skeleton, "tag_only", 0.85),
        ):
            if key in table:
                return self._certain(query, table[key], how, confidence)
        return self._fuzzy(query, skeleton)

    def suggestions(self, query: str, limit: int = 3) -> list[Candidate]:
        scored = self._scores(_skeleton(query), SUGGESTION_THRESHOLD)
        return scored[:limit]

    def _certain(self, query: str, keys: list[tuple[str, str]], how: MatchKind, confidence: float) -> TagMatch:
        # A bare tag with several conditions names all of them; the screen context decides. Several *tags* folding
        # to one spelling are a collision: ambiguous, with every candidate named.
        matches = [Candidate(tag=t, condition=c, score=1.0) for t, c in keys]
        ambiguous = len({t for t, _ in keys}) > 1
        return TagMatch(query=query, matches=matches, how=how, confidence=confidence, ambiguous=ambiguous)

    def _scores(self, skeleton: str, threshold: float) -> list[Candidate]:
        best: dict[tuple[str, str], float] = {}
        for spelling, key in self._spellings:
            matcher = SequenceMatcher(None, skeleton, spelling, autojunk=False)
            if matcher.real_quick_ratio() < threshold or matcher.quick_ratio() < threshold:
                continue
            score = matcher.ratio()
            if score >= threshold and score > best.get(key, 0.0):
                best[key] = score
        ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))
        return [Candidate(tag=t, condition=c, score=round(s, 2)) for (t, c), s in ranked]

    def _fuzzy(self, query: str, skeleton: str) -> TagMatch | None:
        scored = [c for c in self._scores(skeleton, FUZZY_THRESHOLD) if not _contradicts(query, c.tag, c.condition)]
        if not scored:
            return None
        top = scored[0].score
        close = [c for c in scored if c.score >= top - TIE_MARGIN][:MAX_CANDIDATES]
        others = [c for c in scored if c not in close][:MAX_CANDIDATES]
        ambiguous = len({c.tag for c in close}) > 1
        return TagMatch(
            query=query, matches=close, how="fuzzy", confidence=round(top * 0.9, 2), ambiguous=ambiguous, others=others
        )
