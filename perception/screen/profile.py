"""Site profiles: one plant's (or one HMI product's) screen conventions, as YAML — which colour means which priority,
its priority words and number scales, its state vocabulary (English and Chinese), its column-header synonyms and
time formats. The shipped `generic` profile holds the common conventions; a site profile extends it, and every
reading made with the site's own entries is marked `profile` (the generic ones `word` / `colour`).

A profile file (all keys optional; see docs/site-profiles.md):

    name: boiler-house
    extends: generic            # or "none": only this file's entries
    colours: {red: 1, yellow: 2, grey: 4}
    own_colours_only: true      # colours not listed here mean nothing (not the generic map's meaning)
    priority_words: {"1": [Urgent], "2": [High], "3": [Medium], "4": [Low]}
    priority_numbers: [[1, 250, 4], [251, 500, 3], [501, 750, 2], [751, 1000, 1]]
    state_words: {unacked: [Active], acked: [Active-ACK], rtn_unacked: [Passive]}
    columns: {priority: [Sev], state: [Condition]}
    time_formats: ["%d.%m.%Y %H:%M:%S"]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

PROFILES_DIR = Path(__file__).resolve().parent / "profiles"
PRIORITIES = ("1", "2", "3", "4")
# What a state word says. unacked/acked/rtn_unacked/normal are whole states; active/cleared say only whether the
# condition is still present, and combine with an acknowledgement word ("Cleared" + "Unacked" = rtn_unacked).
STATES = ("unacked", "acked", "rtn_unacked", "normal")
STATE_FACTS = STATES + ("active", "cleared")
COLUMN_KINDS = ("time", "tag", "description", "priority", "state", "value", "area")
COLOUR_NAMES = ("red", "orange", "yellow", "green", "cyan", "blue", "purple", "magenta", "grey", "white", "black")
_KEYS = (
    "name",
    "description",
    "extends",
    "colours",
    "own_colours_only",
    "priority_words",
    "priority_numbers",
    "state_words",
    "columns",
    "time_formats",
)


class ProfileError(ValueError):
    """A profile file that cannot be used; the message starts with file:line."""


@dataclass(frozen=True)
class Entry:
    """One vocabulary entry and where it came from: the generic profile ("generic") or a site profile ("site")."""

    meaning: str
    origin: str


@dataclass
class SiteProfile:
    name: str = "generic"
    colours: dict[str, Entry] = field(default_factory=dict)  # colour name (see COLOUR_NAMES, "pale red") -> priority
    priority_words: dict[str, Entry] = field(default_factory=dict)  # normalised phrase -> priority
    priority_numbers: list[tuple[int, int, Entry]] = field(default_factory=list)  # inclusive bands, first match
    state_words: dict[str, Entry] = field(default_factory=dict)  # normalised phrase -> STATE_FACTS value
    columns: dict[str, Entry] = field(default_factory=dict)  # normalised header word -> COLUMN_KINDS value
    time_formats: list[str] = field(default_factory=list)
    source: str = ""  # the file it was read from

    def number_priority(self, number: int) -> Entry | None:
        return next((entry for low, high, entry in self.priority_numbers if low <= number <= high), None)

    def time_patterns(self) -> list[re.Pattern]:
        return _time_patterns(tuple(self.time_formats))


def normalise(text: str) -> str:
    """Lower case, separators (_ - / , :) as spaces, single spaces: how words are compared."""
    return " ".join(re.sub(r"[_\-/,;:|]+", " ", text.lower()).split())


_FORMAT_PARTS = {
    "%Y": r"\d{4}",
    "%y": r"\d{2}",
    "%m": r"\d{1,2}",
    "%d": r"\d{1,2}",
    "%H": r"\d{1,2}",
    "%I": r"\d{1,2}",
    "%M": r"\d{2}",
    "%S": r"\d{2}",
    "%p": r"[AaPp][Mm]",
    "%b": r"[A-Za-z]{3}",
    "%f": r"\d{1,6}",
}


@lru_cache(maxsize=32)
def _time_patterns(formats: tuple[str, ...]) -> list[re.Pattern]:
    patterns = []
    for fmt in formats:
        regex = "".join(
            _FORMAT_PARTS.get(part, re.escape(part).replace(r"\ ", r"\s*"))
            for part in re.split(r"(%[A-Za-z])", fmt)
            if part
        )
        patterns.append(re.compile(rf"(?<![\d.:]){regex}(?![\d])"))
    return patterns


# ---- loading and validation -----------------------------------------------------------------------------------


def _fail(source: str, node: yaml.Node, message: str) -> ProfileError:
    return ProfileError(f"{source}:{node.start_mark.line + 1}: {message}")


def _scalar(source: str, node: yaml.Node, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
        raise _fail(source, node, f"{what} must be a plain value")
    return str(node.value).strip()


def _mapping(source: str, node: yaml.Node, what: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        raise _fail(source, node, f"{what} must be a mapping (key: value)")
    return [(_scalar(source, k, f"a key of {what}"), k, v) for k, v in node.value]


def _words(source: str, node: yaml.Node, what: str) -> list[str]:
    items = node.value if isinstance(node, yaml.SequenceNode) else [node]
    words = [normalise(_scalar(source, item, f"a word of {what}")) for item in items]
    if not all(words):
        raise _fail(source, node, f"{what}: a word made of separators only")
    return words


def _choice(source: str, node: yaml.Node, value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise _fail(source, node, f"{what} {value!r} is not one of {', '.join(allowed)}")
    return value


def _integer(source: str, node: yaml.Node, what: str) -> int:
    value = _scalar(source, node, what)
    if not re.fullmatch(r"-?\d+", value):
        raise _fail(source, node, f"{what} {value!r} is not a whole number")
    return int(value)


def _read_vocabulary(
    source: str, node: yaml.Node, what: str, allowed: tuple[str, ...], origin: str
) -> dict[str, Entry]:
    """`meaning: [word, ...]` → {normalised word: Entry(meaning)}."""
    vocabulary = {}
    for meaning, key, words in _mapping(source, node, what):
        _choice(source, key, meaning, allowed, f"{what}:")
        vocabulary.update({word: Entry(meaning, origin) for word in _words(source, words, f"{what}.{meaning}")})
    return vocabulary


def _read_colours(source: str, node: yaml.Node, origin: str) -> dict[str, Entry]:
    colours = {}
    for name, key, value in _mapping(source, node, "colours"):
        base = name.removeprefix("pale ").strip()
        _choice(source, key, base, COLOUR_NAMES, "colour")
        priority = _choice(source, value, _scalar(source, value, f"colours.{name}"), PRIORITIES, f"colours.{name}:")
        colours[name] = Entry(priority, origin)
    return colours


def _read_numbers(source: str, node: yaml.Node, origin: str) -> list[tuple[int, int, Entry]]:
    if not isinstance(node, yaml.SequenceNode):
        raise _fail(source, node, "priority_numbers must be a list of [low, high, priority] bands")
    bands = []
    for band in node.value:
        if not isinstance(band, yaml.SequenceNode) or len(band.value) != 3:
            raise _fail(source, band, "a priority_numbers band must be [low, high, priority]")
        low, high = (_integer(source, n, "band limit") for n in band.value[:2])
        if low > high:
            raise _fail(source, band, f"band [{low}, {high}]: low is above high")
        priority = _choice(
            source, band.value[2], _scalar(source, band.value[2], "band priority"), PRIORITIES, "band priority"
        )
        bands.append((low, high, Entry(priority, origin)))
    return bands


def _read_time_formats(source: str, node: yaml.Node) -> list[str]:
    items = node.value if isinstance(node, yaml.SequenceNode) else [node]
    formats = [_scalar(source, item, "a time format") for item in items]
    for item, fmt in zip(items, formats, strict=False):
        if not re.search(r"%[HI]", fmt):
            raise _fail(source, item, f"time format {fmt!r} has no hour (%H or %I)")
        unknown = [p for p in re.findall(r"%[A-Za-z]", fmt) if p not in _FORMAT_PARTS]
        if unknown:
            raise _fail(
                source, item, f"time format {fmt!r}: {', '.join(unknown)} not supported (use {' '.join(_FORMAT_PARTS)})"
            )
    return formats


def parse_profile(text: str, source: str = "<profile>") -> SiteProfile:
    """A profile from YAML text; errors name `source`:line. Extends the generic profile unless `extends: none`."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f"{mark.line + 1}" if mark else "1"
        raise ProfileError(f"{source}:{line}: not valid YAML: {getattr(e, 'problem', None) or e}") from None
    if root is None:
        raise ProfileError(f"{source}:1: the profile is empty")
    fields = {key: (key_node, value) for key, key_node, value in _mapping(source, root, "the profile")}
    for key, (key_node, _) in fields.items():
        _choice(source, key_node, key, _KEYS, "key")
    extends = _scalar(source, fields["extends"][1], "extends") if "extends" in fields else "generic"
    if extends == "none":
        profile = SiteProfile()
    elif extends in shipped_profiles():
        profile = _copy(load_profile(extends))
    else:
        raise _fail(
            source,
            fields["extends"][1],
            f"extends {extends!r}: no such shipped profile ({', '.join(shipped_profiles())} or none)",
        )
    origin = "generic" if source == str(PROFILES_DIR / "generic.yaml") else "site"
    profile.name = _scalar(source, fields["name"][1], "name") if "name" in fields else Path(source).stem
    profile.source = source
    if "own_colours_only" in fields:
        value = _scalar(source, fields["own_colours_only"][1], "own_colours_only").lower()
        if _choice(source, fields["own_colours_only"][1], value, ("true", "false"), "own_colours_only") == "true":
            profile.colours = {}
    if "colours" in fields:
        profile.colours.update(_read_colours(source, fields["colours"][1], origin))
    if "priority_words" in fields:
        profile.priority_words.update(
            _read_vocabulary(source, fields["priority_words"][1], "priority_words", PRIORITIES, origin)
        )
    if "priority_numbers" in fields:  # a site's scale replaces the generic one: bands are tried first to last
        profile.priority_numbers = _read_numbers(source, fields["priority_numbers"][1], origin)
    if "state_words" in fields:
        profile.state_words.update(
            _read_vocabulary(source, fields["state_words"][1], "state_words", STATE_FACTS, origin)
        )
    if "columns" in fields:
        profile.columns.update(_read_vocabulary(source, fields["columns"][1], "columns", COLUMN_KINDS, origin))
    if "time_formats" in fields:
        profile.time_formats = _read_time_formats(source, fields["time_formats"][1]) + profile.time_formats
    return profile


def _copy(profile: SiteProfile) -> SiteProfile:
    return SiteProfile(
        profile.name,
        dict(profile.colours),
        dict(profile.priority_words),
        list(profile.priority_numbers),
        dict(profile.state_words),
        dict(profile.columns),
        list(profile.time_formats),
        profile.source,
    )


def shipped_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))


@lru_cache(maxsize=16)
def _load_shipped(name: str) -> SiteProfile:
    path = PROFILES_DIR / f"{name}.yaml"
    return parse_profile(path.read_text(encoding="utf-8"), str(path))


def load_profile(name_or_path: str | Path | None = None) -> SiteProfile:
    """A shipped profile by name ("generic", ...) or a profile file; None → generic. Raises ProfileError."""
    if name_or_path is None or str(name_or_path) == "":
        return _load_shipped("generic")
    if str(name_or_path) in shipped_profiles():
        return _load_shipped(str(name_or_path))
    path = Path(name_or_path)
    if not path.is_file():
        raise ProfileError(f"{path}: no such profile file (shipped profiles: {', '.join(shipped_profiles())})")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ProfileError(f"{path}: cannot read the profile: {e}") from None
    return parse_profile(text, str(path))
