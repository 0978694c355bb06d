"""Calibration: a site profile learned from the plant's own alarm database (`hmi-agent profile learn`).

The tags read on a few screens are looked up in the alarm definitions (their configured priority) and in the journal
(their state, where the row's time matches an activation). Each pairing of what the screen shows (a colour, the text
of the priority column, the text of the state column) with what the database says is evidence; a screen convention
that every piece of evidence agrees on is learned, one with contradicting evidence is reported as ambiguous.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import yaml

from perception.screen.model import Element, ScreenParse
from perception.screen.profile import SiteProfile, normalise, parse_profile
from perception.screen.reading import combine_states
from perception.screen.vocabulary import Matcher
from storage import queries
from storage.db import Database
from storage.models import EventState
from storage.timeutil import now_utc
from tools.alarm_matching import TagMatcher

AGREEMENT = 0.8  # share of the evidence a convention needs to be learned
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?!.*\d{1,2}:\d{2})")
_NUMBER = re.compile(r"^\d{1,4}$")
JOURNAL_EVENTS = 50  # recent transitions of one alarm searched for the row's activation


@dataclass
class Evidence:
    """What the screen showed for one alarm, and what the database says about it."""

    screen: str
    tag: str  # the alarm as the database names it
    shown_priority: str | None
    priority_source: str | None
    configured_priority: str | None
    colour: str | None
    priority_cell: str | None
    shown_state: str | None
    state_cell: str | None
    journal_state: str | None  # None when no activation in the journal matches the row's time


@dataclass
class Finding:
    what: str  # colours | priority_words | priority_numbers | state_words
    key: str
    value: str
    tags: list[str]


@dataclass
class Calibration:
    evidence: list[Evidence] = field(default_factory=list)
    learned: list[Finding] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)  # tags read on screen that the database does not know
    own_colours_only: bool = False  # a learned colour contradicts the generic map: drop the generic colours

    def profile_yaml(self, name: str, extends: str) -> str:
        """The learned conventions as a site profile (YAML with the evidence as comments)."""
        screens = sorted({e.screen for e in self.evidence})
        lines = [
            f"# Learned by `hmi-agent profile learn` from {len(screens)} screen(s) ({', '.join(screens)}):",
            f"# {len(self.evidence)} alarm(s) matched to the alarm database; see docs/site-profiles.md.",
            f"name: {_quote(name)}",
            f"extends: {_quote(extends)}",
        ]
        if self.own_colours_only:
            lines.append("own_colours_only: true  # the site's colours differ from the generic map: only these count")
        for what in ("colours", "priority_words", "priority_numbers", "state_words"):
            found = [f for f in self.learned if f.what == what]
            if not found:
                continue
            lines.append(f"{what}:")
            if what == "priority_numbers":
                lines += [f"  - [{f.key}, {f.value}]  # {_evidence(f.tags)}" for f in found]
            elif what == "colours":
                lines += [f"  {_quote(f.key)}: {f.value}  # {_evidence(f.tags)}" for f in found]
            else:
                for value in sorted({f.value for f in found}):
                    lines.append(f"  {_quote(value)}:")
                    lines += [f"    - {_quote(f.key)}  # {_evidence(f.tags)}" for f in found if f.value == value]
        return "\n".join(lines) + "\n"

    def report(self) -> str:
        """What was learned, with evidence, and what stayed ambiguous or unknown."""
        out = [
            f"{len(self.evidence)} alarm(s) on screen matched to the alarm database"
            + (f"; {len(self.unmatched)} tag(s) not in it: {', '.join(self.unmatched[:10])}" if self.unmatched else "")
        ]
        with_state = sum(e.journal_state is not None for e in self.evidence)
        out.append(f"{with_state} of them matched to a journal activation by time (for state words)")
        out += ["learned:"] + [f"  {f.what}: {f.key!r} -> {f.value}  ({_evidence(f.tags)})" for f in self.learned]
        if not self.learned:
            out.append("  nothing new: the screens agree with the base profile")
        if self.own_colours_only:
            out.append(
                "the site's colours differ from the generic map: colours not seen here mean no priority "
                "(learn from more screens to add them)"
            )
        if self.ambiguous:
            out += ["ambiguous (not learned):"] + [f"  {a}" for a in self.ambiguous]
        return "\n".join(out)


def _quote(text: str) -> str:
    return yaml.safe_dump(text, allow_unicode=True, default_flow_style=True).strip().removesuffix("\n...").strip()


def _evidence(tags: list[str]) -> str:
    shown = ", ".join(tags[:4]) + (f", +{len(tags) - 4}" if len(tags) > 4 else "")
    return f"{len(tags)} alarm(s): {shown}"


# ---- evidence from the database ---------------------------------------------------------------------------------


def _clock(text: str | None) -> tuple[str, str] | None:
    """(minutes, seconds) of the last clock time in `text`: compared across time zones (whole-hour offsets)."""
    match = _CLOCK.search(text or "")
    return (match.group(2), match.group(3) or "00") if match else None


def journal_state(db: Database, tag: str, condition: str, shown_time: str | None, until: datetime) -> str | None:
    """The alarm's state since the journal activation whose time matches the time shown on screen."""
    clock = _clock(shown_time)
    if clock is None:
        return None
    events = queries.latest_events(db, tag, condition, until, JOURNAL_EVENTS)
    starts = [
        i
        for i, e in enumerate(events)
        if e.state == EventState.ACTIVE and (f"{e.event_time:%M}", f"{e.event_time:%S}") == clock
    ]
    if not starts:
        return None
    acked = cleared = False
    for event in events[starts[-1] + 1 :]:
        if event.state == EventState.ACTIVE:
            break
        acked |= event.state == EventState.ACKNOWLEDGED
        cleared |= event.state == EventState.CLEARED
    return {(False, False): "unacked", (True, False): "acked", (False, True): "rtn_unacked", (True, True): "normal"}[
        (acked, cleared)
    ]


def gather(parses: dict[str, ScreenParse], db: Database, until: datetime | None = None) -> Calibration:
    """Pairs every alarm row, banner and tagged badge on the screens with the database's facts about it."""
    matcher = TagMatcher(queries.known_alarms(db))
    until = until or now_utc()
    calibration = Calibration()
    for screen, parse in parses.items():
        for element in parse.of_kind("alarm_row", "banner", "alarm_indicator"):
            if not element.tag:
                continue
            match = matcher.match(element.tag)
            if match is None or match.ambiguous or match.how == "fuzzy":
                if element.tag not in calibration.unmatched:
                    calibration.unmatched.append(element.tag)
                continue
            calibration.evidence.append(_evidence_of(screen, element, match.matches[0], db, until))
    return calibration


def _evidence_of(screen: str, element: Element, alarm, db: Database, until: datetime) -> Evidence:
    keys = [(alarm.tag, alarm.condition)] if alarm.condition or element.kind != "alarm_indicator" else []
    definitions = queries.definitions(db, keys) if keys else []
    if not definitions:  # a badge names only the equipment: any of its conditions with one priority
        defined = queries.definitions(db, [(alarm.tag, c) for c in queries.conditions_of(db, alarm.tag)])
        definitions = defined if len({d.priority for d in defined}) == 1 else []
    configured = str(definitions[0].priority) if definitions and definitions[0].priority else None
    cells = element.cells or {}
    is_row = element.kind != "alarm_indicator"
    return Evidence(
        screen=screen,
        tag=alarm.name,
        shown_priority=element.priority,
        priority_source=element.priority_source,
        configured_priority=configured,
        colour=element.colour,
        priority_cell=cells.get("priority") or None,
        shown_state=element.state if is_row else None,
        state_cell=cells.get("state") or None,
        journal_state=journal_state(db, alarm.tag, alarm.condition, element.time, until) if is_row else None,
    )


# ---- learning ---------------------------------------------------------------------------------------------------


def learn(calibration: Calibration, base: SiteProfile) -> Calibration:
    """Fills `calibration.learned` / `.ambiguous` from its evidence."""
    with_priority = [e for e in calibration.evidence if e.configured_priority]
    _learn_map(calibration, "colours", [(e.colour, e.configured_priority, e.tag) for e in with_priority if e.colour])
    calibration.own_colours_only = any(
        f.what == "colours" and f.key in base.colours and base.colours[f.key].meaning != f.value
        for f in calibration.learned
    )
    # a priority cell's words are learned where the base profile did not read them right
    _learn_map(
        calibration,
        "priority_words",
        [
            (normalise(e.priority_cell), e.configured_priority, e.tag)
            for e in with_priority
            if e.priority_cell
            and not _NUMBER.match(e.priority_cell.strip())
            and len(e.priority_cell.split()) <= 2
            and (e.shown_priority != e.configured_priority or e.priority_source not in ("word", "profile"))
        ],
    )
    _learn_numbers(
        calibration,
        base,
        [
            (int(e.priority_cell), e.configured_priority, e.tag)
            for e in with_priority
            if e.priority_cell and _NUMBER.match(e.priority_cell.strip())
        ],
    )
    states = [
        (normalise(e.state_cell), e.journal_state, e.tag)
        for e in calibration.evidence
        if e.state_cell and e.journal_state and len(e.state_cell.split()) <= 3
    ]
    # learned where the base profile misreads the cell or knows only half of it ("Passive": cleared, acked or not?)
    _learn_map(calibration, "state_words", [s for s in states if _base_state(base, s[0]) != (s[1], True)])
    return calibration


def _learn_map(calibration: Calibration, what: str, pairs: list[tuple[str, str, str]]) -> None:
    by_key: dict[str, Counter] = defaultdict(Counter)
    tags: dict[tuple[str, str], list[str]] = defaultdict(list)
    for key, value, tag in pairs:
        by_key[key][value] += 1
        tags[(key, value)].append(tag)
    for key, counts in sorted(by_key.items()):
        value, count = counts.most_common(1)[0]
        if count >= AGREEMENT * sum(counts.values()):
            calibration.learned.append(Finding(what, key, value, tags[(key, value)]))
        else:
            split = ", ".join(f"{v} on {n}" for v, n in counts.most_common())
            calibration.ambiguous.append(f"{what}: {key!r} means different things ({split} alarm(s))")


def _base_state(base: SiteProfile, phrase: str) -> tuple[str, bool] | None:
    """The state the base profile reads from a state cell (and whether as a whole state), or None."""
    matcher = Matcher(base.state_words)
    facts = [matcher.vocabulary[p].meaning for _, _, p in matcher.spans(phrase)]
    return combine_states(facts) if facts else None


def _learn_numbers(calibration: Calibration, base: SiteProfile, pairs: list[tuple[int, str, str]]) -> None:
    """A numeric priority column the base scale misreads: bands between the numbers seen per priority."""
    if not pairs or all((e := base.number_priority(n)) is not None and e.meaning == p for n, p, _ in pairs):
        return
    ranges = {
        p: (min(n for n, q, _ in pairs if q == p), max(n for n, q, _ in pairs if q == p))
        for p in {p for _, p, _ in pairs}
    }
    ordered = sorted(ranges.items(), key=lambda kv: kv[1])
    if any(a[1][1] >= b[1][0] for a, b in zip(ordered, ordered[1:], strict=False)):
        calibration.ambiguous.append(
            "priority_numbers: the numbers of different priorities overlap: "
            + ", ".join(f"{p}: {lo}-{hi}" for p, (lo, hi) in ordered)
        )
        return
    bounds = (
        [0] + [(a[1][1] + b[1][0]) // 2 for a, b in zip(ordered, ordered[1:], strict=False)] + [10 * ordered[-1][1][1]]
    )
    for i, (priority, _) in enumerate(ordered):
        low, high = bounds[i] + (1 if i else 0), bounds[i + 1]
        calibration.learned.append(
            Finding("priority_numbers", f"{low}, {high}", priority, [t for n, p, t in pairs if p == priority])
        )


def calibrate(
    parses: dict[str, ScreenParse], db: Database, base: SiteProfile, until: datetime | None = None
) -> Calibration:
    return learn(gather(parses, db, until), base)


def learned_profile(calibration: Calibration, name: str, extends: str) -> SiteProfile:
    """The learned profile, validated as any profile file is (a learned word that breaks a profile is our bug)."""
    return parse_profile(calibration.profile_yaml(name, extends), f"<learned {name}>")
