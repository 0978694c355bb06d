"""The scenario file: the plant's tags and a timeline of process values and alarm raises/clears.

```yaml
title: Feed unit 100
tags:
  LT-101: {description: Feed drum level, unit: "%", kind: level, value: 45}
  P-101: {description: Feed pump, kind: pump, value: running}
timeline:
  - {at: 0, set: {LT-101: 45}}
  - {at: 30, set: {LT-101: 88}}      # numbers ramp linearly between the times they are set
  - {at: 20, alarm: {tag: LT-101, condition: HI, priority: 2, description: Feed drum level high}}
  - {at: 60, clear: {tag: LT-101, condition: HI}}
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

SCENARIOS_DIR = Path(__file__).parent / "scenarios"
DEFAULT_SCENARIO = SCENARIOS_DIR / "feed_unit.yaml"


class ScenarioError(ValueError):
    """A scenario file that can't be used; the message names the file and the bad entry."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TagSpec(_Strict):
    description: str
    unit: str = ""
    kind: Literal["level", "pump", "value"] = "value"
    value: float | Literal["running", "stopped", "tripped"]

    @model_validator(mode="after")
    def _value_fits_kind(self) -> TagSpec:
        if (self.kind == "pump") != isinstance(self.value, str):
            raise ValueError(
                f"a {self.kind} tag needs a {'pump state' if self.kind == 'pump' else 'number'}, got {self.value!r}"
            )
        return self


class AlarmSpec(_Strict):
    tag: str
    condition: str = Field(description="HI, HIHI, LO, TRIP, ...")
    priority: int = Field(ge=1, le=4, description="1 = most urgent (red) ... 4 = least (magenta)")
    description: str = ""
    latched: bool = False  # stays listed after it clears and is acknowledged, until RESET


class ClearSpec(_Strict):
    tag: str
    condition: str


class Event(_Strict):
    at: float = Field(ge=0, description="seconds after the start of the scenario")
    set: dict[str, float | Literal["running", "stopped", "tripped"]] | None = None
    alarm: AlarmSpec | None = None
    clear: ClearSpec | None = None

    @model_validator(mode="after")
    def _one_thing(self) -> Event:
        if sum(x is not None for x in (self.set, self.alarm, self.clear)) != 1:
            raise ValueError("each timeline entry needs exactly one of set, alarm, clear")
        return self


class Scenario(_Strict):
    title: str
    area: str | None = None  # written with each journal row
    tags: dict[str, TagSpec]
    timeline: list[Event] = []

    @model_validator(mode="after")
    def _known_tags(self) -> Scenario:
        for i, event in enumerate(self.timeline):
            named = list(event.set or {}) + [s.tag for s in (event.alarm, event.clear) if s is not None]
            for tag in named:
                if tag not in self.tags:
                    raise ValueError(f"timeline[{i}] names tag {tag!r}, which is not under tags")
        return self

    @property
    def events(self) -> list[Event]:
        """The timeline in time order (file order among equal times)."""
        return sorted(self.timeline, key=lambda e: e.at)

    @property
    def duration(self) -> float:
        return max((e.at for e in self.timeline), default=0.0)


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ScenarioError(f"can't read scenario {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"scenario {path} is not UTF-8 text") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ScenarioError(f"scenario {path} is not valid YAML: {problem}{where}") from None
    try:
        return Scenario.model_validate(raw)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(map(str, err["loc"])) or "top level"
        raise ScenarioError(f"scenario {path}: {where}: {err['msg']}") from None
