"""Routine files: YAML validated by pydantic. Errors name the file, the line and the field (steps numbered from 1).

A routine is a schedule plus a list of steps. Each step is a mapping with exactly one *kind* key (`goal`, `capture`,
`find`, `click`, `type`, `press`, `wait_until`, `assert`) and optional common keys (`name`, `timeout`, `retries`,
`poll`); `find` also takes `as:` (the target name later steps click).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from storage import safe_yaml
from storage.safe_yaml import BoundedSafeLoader

ElementKind = Literal["text", "button", "alarm_indicator", "alarm_row", "banner"]
STEP_KINDS = ("goal", "capture", "find", "read", "click", "type", "press", "wait_until", "assert")
ACTION_KINDS = frozenset({"click", "type", "press"})
_COMMON_KEYS = ("name", "timeout", "retries", "poll")
MAX_ROUTINE_BYTES = 1024 * 1024  # routines are a few dozen lines; anything near this is not a routine
_NAME = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$"
_EVERY = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*(?:(\d+)\s*s)?\s*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _as_text(value: Any) -> Any:
    """YAML reads `priority: 4` as an int; elements carry it as text."""
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


Text = Annotated[str, BeforeValidator(_as_text)]


class ElementQuery(_Strict):
    """Which parsed screen element: every given field must match; `nth` picks among matches in reading order."""

    text: Text | None = Field(None, description="Case-insensitive substring of the element's text.")
    description: str | None = Field(
        None, description="Words matched against the element's text, kind, tag, priority and state (most shared wins)."
    )
    kind: ElementKind | None = None
    priority: Text | None = None
    state: Text | None = None
    tag: Text | None = None
    nth: int = Field(1, ge=1, description="1 = first match top-to-bottom, left-to-right.")

    @model_validator(mode="after")
    def _says_something(self) -> ElementQuery:
        if not any((self.text, self.description, self.kind, self.priority, self.state, self.tag)):
            raise ValueError("give at least one of text, description, kind, priority, state, tag")
        return self

    def summary(self) -> str:
        fields = self.model_dump(exclude_none=True, exclude_defaults=True)
        return ", ".join(f"{k}={v!r}" for k, v in fields.items())


def _condition_shorthand(value: Any) -> Any:
    """`wait_until: "Alarm list"` means that text becomes visible."""
    return {"visible": {"text": value}} if isinstance(value, str) else value


class Condition(_Strict):
    """Exactly one of: an element matching `visible` is on screen, or no element matches `absent`."""

    visible: ElementQuery | None = None
    absent: ElementQuery | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Condition:
        if (self.visible is None) == (self.absent is None):
            raise ValueError("give exactly one of visible: {...} or absent: {...}")
        return self

    @property
    def query(self) -> ElementQuery:
        return self.visible or self.absent  # type: ignore[return-value]

    def summary(self) -> str:
        return f"{'visible' if self.visible else 'absent'}({self.query.summary()})"


class BaseStep(_Strict):
    name: str | None = Field(None, description="Label used in reports; defaults to the step's own summary.")
    timeout: float | None = Field(None, gt=0, le=3600, description="Seconds; default from the routine.")
    retries: int | None = Field(None, ge=0, le=10, description="Extra attempts after a failure; default from routine.")
    poll: float | None = Field(None, gt=0, le=60, description="Seconds between looks while waiting.")

    kind: ClassVar[str]  # the step's key in YAML

    def describe(self) -> str:
        return self.name or self.summary()

    def summary(self) -> str:
        raise NotImplementedError


class GoalStep(BaseStep):
    kind: ClassVar[str] = "goal"
    goal: str = Field(min_length=3, description="A task for the agent, in plain words.")

    def summary(self) -> str:
        return f"goal {self.goal!r}"


class CaptureStep(BaseStep):
    kind: ClassVar[str] = "capture"
    capture: Annotated[None, BeforeValidator(lambda v: None if v in ({}, True) else v)] = None

    def summary(self) -> str:
        return "capture"


class FindStep(BaseStep):
    kind: ClassVar[str] = "find"
    find: ElementQuery
    as_: str = Field(alias="as", pattern=_NAME, description="Target name for later click steps.")

    def summary(self) -> str:
        return f"find {self.find.summary()} as {self.as_}"


class ReadStep(BaseStep):
    """Writes every element matching the query into the run's record (e.g. the unacknowledged alarms at shift start)."""

    kind: ClassVar[str] = "read"
    read: ElementQuery

    def summary(self) -> str:
        return f"read {self.read.summary()}"


class Point(_Strict):
    x: int = Field(ge=0, description="Screen pixels (logical, as pyautogui counts them).")
    y: int = Field(ge=0)


class ClickStep(BaseStep):
    kind: ClassVar[str] = "click"
    click: Annotated[str, Field(pattern=_NAME)] | Point = Field(description="A find target's name, or {x, y}.")
    button: Literal["left", "right", "middle"] = "left"
    double: bool = False

    def summary(self) -> str:
        where = self.click if isinstance(self.click, str) else f"({self.click.x}, {self.click.y})"
        return f"{'double-' if self.double else ''}click {where}"


class TypeStep(BaseStep):
    kind: ClassVar[str] = "type"
    type: str = Field(min_length=1)

    def summary(self) -> str:
        return f"type {self.type!r}"


class PressStep(BaseStep):
    kind: ClassVar[str] = "press"
    press: str = Field(min_length=1, description='A key or chord: "enter", "f5", "ctrl+a".')

    def summary(self) -> str:
        return f"press {self.press}"


class WaitUntilStep(BaseStep):
    kind: ClassVar[str] = "wait_until"
    wait_until: Annotated[Condition, BeforeValidator(_condition_shorthand)]

    def summary(self) -> str:
        return f"wait until {self.wait_until.summary()}"


class AssertStep(BaseStep):
    kind: ClassVar[str] = "assert"
    assert_: Annotated[Condition, BeforeValidator(_condition_shorthand)] = Field(alias="assert")

    @property
    def condition(self) -> Condition:
        return self.assert_

    def summary(self) -> str:
        return f"assert {self.assert_.summary()}"


def _step_kind(value: Any) -> str | None:
    if isinstance(value, BaseStep):
        return value.kind
    found = [k for k in STEP_KINDS if isinstance(value, dict) and k in value]
    return found[0] if len(found) == 1 else None


def _check_step_shape(value: Any) -> Any:
    """Turns 'no kind' / 'two kinds' / a typo'd kind into one clear message instead of a union error dump."""
    if isinstance(value, BaseStep):
        return value
    if not isinstance(value, dict):
        raise ValueError(f"a step is a mapping like `- click: target`, got {value!r}")
    kinds = [k for k in STEP_KINDS if k in value]
    if len(kinds) > 1:
        raise ValueError(f"one step, one kind: found {', '.join(kinds)}")
    if not kinds:
        unknown = [k for k in value if k not in _COMMON_KEYS and k != "as"]
        what = f"unknown step kind {unknown[0]!r}" if unknown else "step has no kind"
        raise ValueError(f"{what}; expected one of {', '.join(STEP_KINDS)}")
    return value


Step = Annotated[
    Annotated[GoalStep, Tag("goal")]
    | Annotated[CaptureStep, Tag("capture")]
    | Annotated[FindStep, Tag("find")]
    | Annotated[ReadStep, Tag("read")]
    | Annotated[ClickStep, Tag("click")]
    | Annotated[TypeStep, Tag("type")]
    | Annotated[PressStep, Tag("press")]
    | Annotated[WaitUntilStep, Tag("wait_until")]
    | Annotated[AssertStep, Tag("assert")],
    Discriminator(_step_kind),
    BeforeValidator(_check_step_shape),
]


def parse_every(text: str) -> timedelta:
    """'8h', '1h30m', '45s', '2d' → timedelta."""
    m = _EVERY.match(str(text))
    if not m or not any(m.groups()):
        raise ValueError(f"bad interval {text!r}: use e.g. 45s, 30m, 8h, 1d or 1h30m")
    d, h, mins, s = (int(g or 0) for g in m.groups())
    delta = timedelta(days=d, hours=h, minutes=mins, seconds=s)
    if delta.total_seconds() <= 0:
        raise ValueError(f"bad interval {text!r}: must be longer than 0 seconds")
    return delta


class Schedule(_Strict):
    """When to run: a 5-field crontab line (`"0 6,14,22 * * *"`) or an interval (`every: 8h`)."""

    cron: str | None = None
    every: str | None = None
    timezone: str | None = Field(None, description="IANA zone for cron, e.g. Europe/Berlin; default: local time.")

    @model_validator(mode="before")
    @classmethod
    def _crontab_shorthand(cls, value: Any) -> Any:
        return {"cron": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _valid(self) -> Schedule:
        if (self.cron is None) == (self.every is None):
            raise ValueError("give exactly one of cron: '<5 fields>' or every: <interval>")
        self.trigger()  # raises ValueError naming the bad expression
        return self

    def trigger(self):
        """The APScheduler trigger for this schedule."""
        from apscheduler.triggers.cron import CronTrigger
        from apscheduler.triggers.interval import IntervalTrigger

        if self.every is not None:
            return IntervalTrigger(seconds=parse_every(self.every).total_seconds(), timezone=self.timezone)
        try:
            return CronTrigger.from_crontab(self.cron, timezone=self.timezone)
        except (ValueError, LookupError) as e:
            raise ValueError(f"bad cron expression {self.cron!r}: {e}") from None

    def summary(self) -> str:
        return f"cron {self.cron!r}" if self.cron else f"every {self.every}"


class Notify(_Strict):
    webhook: str = Field(pattern=r"^https?://", description="URL that gets a JSON POST.")
    on_status: list[Literal["failed", "aborted", "skipped", "passed"]] = Field(
        default_factory=lambda: ["failed", "aborted"], description="Which run outcomes are sent."
    )


Region = tuple[int, int, int, int]


class Routine(_Strict):
    name: str = Field(description="Unique; the scheduler's job id and the history key.")
    description: str = ""
    schedule: Schedule | None = None
    screen: int = Field(1, ge=0, description="mss monitor number (1 = primary, 0 = all monitors).")
    mode: Literal["simulated", "live"] | None = Field(None, description="Default: the action_mode setting.")
    pre_authorised: bool = Field(
        False, description="Live actions may run with nobody to approve them (scheduled runs need this)."
    )
    allowed_regions: list[Region] = Field(default_factory=list, description="(x1, y1, x2, y2) screen rectangles.")
    timeout: float = Field(30.0, gt=0, le=3600, description="Default per-step timeout in seconds.")
    retries: int = Field(0, ge=0, le=10, description="Default extra attempts per step.")
    poll: float = Field(1.0, gt=0, le=60, description="Default seconds between looks while waiting.")
    notify: Notify | None = None
    profile: str | None = Field(
        None, description="Site profile the screen is read with (shipped name or YAML file); default: the setting."
    )
    steps: list[Step] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name_is_an_id(cls, name: str) -> str:
        if not re.match(_NAME, name):
            raise ValueError(f"{name!r} may use only letters, digits, '_', '.', '-' (it names files and jobs)")
        return name

    @field_validator("profile")
    @classmethod
    def _readable_profile(cls, profile: str | None) -> str | None:
        if profile is None:
            return profile
        from perception.screen.profile import ProfileError, load_profile

        try:
            load_profile(profile)
        except ProfileError as e:
            raise ValueError(str(e)) from None
        return profile

    @field_validator("allowed_regions")
    @classmethod
    def _regions_ordered(cls, regions: list[Region]) -> list[Region]:
        for x1, y1, x2, y2 in regions:
            if x2 <= x1 or y2 <= y1:
                raise ValueError(f"region {(x1, y1, x2, y2)} must have x1 < x2 and y1 < y2")
        return regions

    @model_validator(mode="after")
    def _targets_found_before_clicked(self) -> Routine:
        known: list[str] = []
        for number, step in enumerate(self.steps, start=1):
            if isinstance(step, FindStep):
                known.append(step.as_)
            elif isinstance(step, ClickStep) and isinstance(step.click, str) and step.click not in known:
                raise PydanticCustomError(
                    "unknown_target",
                    "click target '{target}' is not named by an earlier `find ... as:` (known: {known})",
                    {"step": number, "target": step.click, "known": ", ".join(known) or "none"},
                )
        return self

    @property
    def has_actions(self) -> bool:
        return any(s.kind in ACTION_KINDS or s.kind == "goal" for s in self.steps)

    def step_timeout(self, step: BaseStep) -> float:
        return step.timeout if step.timeout is not None else self.timeout

    def step_retries(self, step: BaseStep) -> int:
        return step.retries if step.retries is not None else self.retries

    def step_poll(self, step: BaseStep) -> float:
        return step.poll if step.poll is not None else self.poll


# --- loading with file:line errors


class Problem(BaseModel):
    line: int | None
    field: str
    message: str

    def render(self, path: Path | str) -> str:
        where = f"{path}:{self.line}" if self.line else str(path)
        return f"{where}: {self.field + ': ' if self.field else ''}{self.message}"


class RoutineFileError(ValueError):
    """A routine file that cannot be used; `problems` lists every error found, each with line and field."""

    def __init__(self, path: Path | str, problems: list[Problem]):
        self.path = Path(path)
        self.problems = problems
        super().__init__("\n".join(p.render(path) for p in problems))


def _line_of(node: yaml.Node | None, loc: tuple) -> int | None:
    """1-based line of the deepest YAML node reachable along a pydantic error location."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is not None:
            node, line = child, child.start_mark.line + 1
    return line


def _without_union_tags(loc: tuple) -> tuple:
    """Drops the step-kind tag pydantic inserts after a step's index: ('steps', 2, 'find', 'as') → ('steps', 2, 'as')."""
    if len(loc) >= 4 and loc[0] == "steps" and isinstance(loc[1], int) and loc[2] in STEP_KINDS:
        return loc[:2] + loc[3:]
    return loc


def _field_of(loc: tuple) -> str:
    """('steps', 2, 'find', 'kind') → 'steps[3].find.kind' (steps numbered from 1)."""
    out: list[str] = []
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool) and out:
            out[-1] += f"[{part + 1}]"
        else:
            out.append(str(part))
    return ".".join(out)


def _problems(error: ValidationError, root: yaml.Node | None) -> list[Problem]:
    problems = []
    for err in error.errors():
        loc = tuple(err["loc"])
        if err["type"] == "unknown_target":
            loc = ("steps", err["ctx"]["step"] - 1, "click")
        else:
            loc = _without_union_tags(loc)
        message = safe_yaml.one_line(err["msg"].removeprefix("Value error, "))
        problems.append(Problem(line=_line_of(root, loc), field=_field_of(loc), message=message))
    return problems


def parse_routine(text: str, path: Path | str = "<routine>") -> Routine:
    """Validates routine YAML text; raises RoutineFileError listing every problem with its line."""
    if len(text) > MAX_ROUTINE_BYTES:
        raise RoutineFileError(
            path, [Problem(line=None, field="", message=f"{len(text)} characters: too big for a routine")]
        )
    try:
        root = yaml.compose(text, Loader=BoundedSafeLoader)  # a SafeLoader subclass
        data = safe_yaml.load(text)
    except yaml.YAMLError as e:
        line, problem = safe_yaml.yaml_problem(e)
        raise RoutineFileError(path, [Problem(line=line, field="", message=f"not valid YAML: {problem}")]) from None
    if not isinstance(data, dict):
        raise RoutineFileError(
            path, [Problem(line=1, field="", message="a routine file is a YAML mapping (name:, steps:, ...)")]
        )
    try:
        return Routine.model_validate(data)
    except ValidationError as e:
        raise RoutineFileError(path, _problems(e, root)) from None


def load_routine(path: Path | str) -> Routine:
    path = Path(path)
    try:
        text = safe_yaml.read_text(path, MAX_ROUTINE_BYTES)
    except OSError as e:
        raise RoutineFileError(
            path, [Problem(line=None, field="", message=f"cannot read: {e.strerror or e}")]
        ) from None
    except safe_yaml.UnusableText as e:
        raise RoutineFileError(path, [Problem(line=e.line, field="", message=str(e))]) from None
    return parse_routine(text, path)
