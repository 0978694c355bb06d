"""A session folder read back (replay, the service's session pages): every file a manifest names is resolved,
symlinks followed, and must lie inside the session's own folder; a manifest's shape is checked before replay uses
it, so a damaged or crafted one is a one-line error, never a traceback or a file from elsewhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from PIL import Image
from pydantic import BaseModel, ConfigDict, ValidationError

from perception.capture import FrameSourceError, load_image
from storage.safe_yaml import one_line


class ManifestError(ValueError):
    """A session manifest replay cannot use, or a file it names outside its folder; one line."""


def confined(root: Path, name: object) -> Path:
    """`root / name` resolved (symlinks followed); ManifestError unless it is a file inside `root`."""
    if not isinstance(name, str) or not name or "\0" in name:
        raise ManifestError(f"{root}: {name!r} is not a file name")
    base = Path(root).resolve()
    path = (base / name).resolve()
    if not path.is_relative_to(base) or path == base:
        raise ManifestError(f"{root}: {name!r} lies outside the session folder")
    if not path.is_file():
        raise ManifestError(f"{root}: {name!r} is missing")
    return path


def session_image(session_dir: Path, name: object) -> Image.Image:
    """A frame or action picture of a session, confined to its folder, as RGB."""
    try:
        return load_image(confined(session_dir, name))
    except FrameSourceError as e:
        raise ManifestError(str(e)) from None


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Geometry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    left: int
    top: int
    width: int
    height: int
    scale: float = 1.0


class _FrameFile(_Loose):
    file: str
    source: str = ""
    geometry: _Geometry | None = None


class _Event(_Loose):
    kind: str


class _ModelEvent(_Event):
    step: int
    request: dict[str, Any]
    request_sha256: str
    raw: str | None
    error: str | None = None
    stats: dict[str, Any] | None = None


class _FrameEvent(_Event):
    file: str


class _ToolEvent(_Event):
    name: str
    arguments: dict[str, Any]
    output: str | None = None
    error: str | None = None
    image: str | None = None
    planned: dict[str, Any] | None = None
    executed: bool = False
    step: int | None = None


class _ApprovalEvent(_Event):
    decision: Any
    operator: str


_EVENTS: dict[str, type[_Event]] = {
    "model": _ModelEvent,
    "frame": _FrameEvent,
    "tool": _ToolEvent,
    "approval": _ApprovalEvent,
}


class _AgentSettings(_Loose):
    screen_parse: bool
    max_steps: int
    max_seconds: float
    max_retries: int
    max_new_tokens: int
    change_threshold: float
    action_mode: Literal["simulated", "live"]
    screen_size: tuple[int, int] | None = None
    live_source: bool
    authorised: bool


class _AgentManifest(_Loose):
    id: str
    question: str
    model_id: str
    settings: _AgentSettings
    frames: list[_FrameFile]
    events: list[_Event]


class _RoutineInfo(_Loose):
    text: str
    mode: Literal["simulated", "live"]
    authorised: bool


class _RoutineManifest(_Loose):
    routine: _RoutineInfo
    frames: list[_FrameFile]
    events: list[_Event]


def _validate(model: type[BaseModel], data: Any, session_dir: Path) -> None:
    try:
        model.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top)"
        raise ManifestError(one_line(f"{session_dir}/manifest.json: {where}: {first['msg']}")) from None


def _check_common(manifest: dict[str, Any], session_dir: Path, model: type[BaseModel]) -> None:
    _validate(model, manifest, session_dir)
    for index, event in enumerate(manifest["events"]):
        _validate(_EVENTS.get(event["kind"], _Event), event, Path(f"{session_dir} event {index + 1}"))
        if event["kind"] == "tool" and event.get("image"):
            confined(session_dir, event["image"])
    frames = {frame["file"] for frame in manifest["frames"]}
    for frame in frames:
        confined(session_dir, frame)
    unknown = {e["file"] for e in manifest["events"] if e["kind"] == "frame"} - frames
    if unknown:
        raise ManifestError(f"{session_dir}/manifest.json: frame events name unlisted files {sorted(unknown)[:3]}")


def check_agent_manifest(manifest: dict[str, Any], session_dir: Path) -> None:
    """ManifestError unless an agent session's manifest has what replay reads, with every file inside its folder."""
    _check_common(manifest, session_dir, _AgentManifest)


def check_routine_manifest(manifest: dict[str, Any], session_dir: Path) -> None:
    """ManifestError unless a routine run's manifest has what replay reads, with every file inside its folder."""
    _check_common(manifest, session_dir, _RoutineManifest)
