"""`hmi-agent ask`, `watch`, `replay`: the operator's questions, re-answering on screen changes, session replay."""

from __future__ import annotations

import getpass
import json
import os
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from agent.cli import UserError, database_error, settings_of


def _agent(settings, *, long_running: bool = False):
    """The agent with the model named by the settings; load/connection problems become one clear line.

    The agent never downloads: a hub id must already be in the local cache (`hmi-agent model pull` fetches it),
    so an offline plant gets the answer at once instead of minutes of hub retries. `long_running` (watch): the
    model is loaded as a service's is, GPU decode compiled and warmed up before the first question.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sqlalchemy.exc import SQLAlchemyError

    from agent.runner import HmiAgent, load_vlm
    from perception.vlm.types import ModelLoadError, ModelServerError

    try:
        return HmiAgent(settings, model=load_vlm(settings, long_running=long_running))
    except (ModelLoadError, ModelServerError, ValueError) as e:  # ValueError: e.g. min_pixels above max_pixels
        raise UserError(str(e)) from None
    except SQLAlchemyError as e:  # the alarm database: server down, file unreadable
        raise database_error(settings.db_url, e) from None
    except OSError as e:  # the data dir (sessions, thread checkpoints) cannot be created or written
        raise UserError(f"cannot write {e.filename or settings.data_dir}: {e.strerror or e}") from None


def _settings(ctx: typer.Context, model: str | None):
    settings = settings_of(ctx)
    return settings.model_copy(update={"model": model}) if model else settings


def _print_run(run, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(run.model_dump(mode="json"), ensure_ascii=False, indent=1))
    elif run.answer is not None:
        typer.echo(run.answer.text)


def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="The operator's question, English or Chinese.")],
    image: Annotated[Optional[Path], typer.Option("--image", help="A screenshot or photo of the screen.")] = None,
    screen: Annotated[Optional[int], typer.Option("--screen", help="Monitor to capture (default 1).")] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="Qwen3-VL hub id or local directory.")] = None,
    thread: Annotated[Optional[str], typer.Option("--thread", help="Continue this conversation thread.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run (answer, thread, session) as JSON.")] = False,
) -> None:
    """Ask about the screen: what an alarm means, whether it happened recently, what to do."""
    from perception.capture import FrameSourceError
    from perception.vlm.types import ModelServerError

    if not question.strip():
        raise UserError("the question is empty")
    if image is not None and screen is not None:
        raise UserError("give --image or --screen, not both")
    if image is not None and not image.is_file():
        raise UserError(f"image file not found: {image}")
    agent = _agent(_settings(ctx, model))
    try:
        run = agent.ask(question, image=image, screen=screen, thread_id=thread)
        while run.pending_action is not None:  # live mode: the operator at the keyboard approves each action
            approved = typer.confirm(f"Approve live action: {run.pending_action.reason}?", default=False)
            run = agent.resume(run.thread_id, "approve" if approved else "reject", operator=getpass.getuser())
    except (FrameSourceError, ModelServerError) as e:
        raise UserError(str(e)) from None
    finally:
        agent.close()
    _print_run(run, as_json)


def watch(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="The question to answer whenever the screen changes.")],
    screen: Annotated[int, typer.Option("--screen", help="Monitor to watch.")] = 1,
    interval: Annotated[float, typer.Option("--interval", min=0.05, help="Seconds between captures.")] = 1.0,
    max_answers: Annotated[Optional[int], typer.Option("--max-answers", min=1, help="Stop after this many answers.")] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="Qwen3-VL hub id or local directory.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON run per line.")] = False,
) -> None:
    """Watch a monitor and re-answer the question each time the screen changes (Ctrl-C to stop)."""
    from agent.settings import Settings
    from perception.capture import ChangeGate, ScreenSource

    settings: Settings = _settings(ctx, model)
    source = ScreenSource(monitor=screen)
    gate = ChangeGate(settings.change_threshold)
    agent = _agent(settings, long_running=True)
    answers = 0
    try:
        while max_answers is None or answers < max_answers:
            try:
                frame = source.grab()
            except ValueError as e:  # no such monitor
                raise UserError(str(e)) from None
            if gate.is_new(frame):
                run = agent.ask(question, image=frame.image)  # a snapshot: watching answers, it never acts
                answers += 1
                if as_json:
                    typer.echo(json.dumps(run.model_dump(mode="json"), ensure_ascii=False))
                else:
                    typer.echo(f"--- {frame.captured_at:%H:%M:%S} screen changed\n{run.answer.text}")
            time.sleep(interval)
    except KeyboardInterrupt:
        pass
    finally:
        agent.close()


def replay(
    ctx: typer.Context,
    session: Annotated[str, typer.Argument(help="Session folder, or a session id under the sessions directory.")],
    strict: Annotated[bool, typer.Option("--strict", help="Fail at the first drifted prompt, with a diff.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the replay report as JSON.")] = False,
) -> None:
    """Run a recorded session (a question or a routine run) again and compare it with the recording."""
    from agent.recording import load_manifest
    from agent.replay import replay_session
    from agent.routines.replay import replay_run

    path = Path(session)
    if not path.is_dir():
        path = settings_of(ctx).sessions_dir / session
    if not (path / "manifest.json").is_file():
        raise UserError(f"no recorded session at {session!r} (looked for {path / 'manifest.json'})")
    try:
        if load_manifest(path).get("kind") == "routine":
            report = replay_run(path)
            ok = report.matches
        else:
            report = replay_session(path, strict=strict)
            ok = report.ok
    except ValueError as e:  # an unsupported manifest version
        raise UserError(str(e)) from None
    typer.echo(report.model_dump_json(indent=1) if as_json else report.text())
    if not ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(ask)
    app.command()(watch)
    app.command()(replay)
