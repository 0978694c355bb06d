"""`hmi-agent ask`, `watch`, `replay`: the operator's questions, re-answering on screen changes, session replay."""

from __future__ import annotations

import getpass
import json
import os
import time
import uuid
from pathlib import Path
from typing import Annotated

import typer

from agent.cli import UserError, database_error, settings_of
from agent.cli.progress import Progress


def _agent(settings, *, long_running: bool = False):
    """The agent with the model named by the settings; load/connection problems become one clear line.

    The agent never downloads: a hub id must already be in the local cache (`hmi-agent model pull` fetches it),
    so an offline plant gets the answer at once instead of minutes of hub retries. `long_running` (watch): the
    model is loaded as a service's is, GPU decode compiled and warmed up before the first question. A model that
    is not installed (or HMI_AGENT_BACKEND=none) is no dead end: the parser's draft answers, saying how to install one.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sqlalchemy.exc import SQLAlchemyError

    from agent.model_state import load_or_explain
    from agent.runner import HmiAgent
    from perception.vlm.types import ModelLoadError, ModelServerError

    try:
        model, note = load_or_explain(settings, long_running=long_running)
        return HmiAgent(settings, model=model, model_note=note)
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
        return
    if run.answer is not None:
        typer.echo(run.answer.text)
    typer.echo(f'\nthread: {run.thread_id}   (follow up: hmi-agent ask --thread {run.thread_id} "...")')
    if run.session_dir:
        typer.echo(f"session: {run.session_dir}   (hmi-agent replay {run.session_dir})")


def _check_thread(settings, thread: str) -> None:
    """--thread must name a conversation this data dir holds: a typo must not quietly start a new one."""
    from agent.runner import open_checkpointer

    path = settings.checkpoint_path
    known = False
    if path.is_file():
        saver = open_checkpointer(path)
        try:
            known = saver.get_tuple({"configurable": {"thread_id": thread}}) is not None
        finally:
            saver.conn.close()
    if not known:
        raise UserError(
            f"unknown thread {thread!r}: no conversation with that id in {path}; leave out --thread to start one"
        )


def _run_with_progress(agent, question: str, *, image, screen, thread: str, progress):
    """Streams the run, one progress line per event; live actions wait for the operator's y/N at the keyboard."""
    progress.say("observe: capturing and reading the screen")
    for _ in progress.follow(agent.stream(question, image=image, screen=screen, thread_id=thread)):
        pass
    run = agent.result(thread)
    while run.pending_action is not None:
        approved = typer.confirm(f"Approve live action: {run.pending_action.reason}?", default=False)
        decision = "approve" if approved else "reject"
        for _ in progress.follow(agent.resume_stream(thread, decision, operator=getpass.getuser())):
            pass
        run = agent.result(thread)
    return run


def _check_image(path: Path, settings) -> None:
    """A bad or oversized --image is a one-line error before the model loads (minutes on a CPU), not after."""
    from perception.capture import FrameSourceError, load_image
    from perception.images import ImageLimits

    try:
        load_image(path, ImageLimits.from_settings(settings))
    except FrameSourceError as e:
        raise UserError(str(e)) from None


def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="The operator's question, English or Chinese.")],
    image: Annotated[Path | None, typer.Option("--image", help="A screenshot or photo of the screen.")] = None,
    screen: Annotated[int | None, typer.Option("--screen", help="Monitor to capture (default 1).")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Qwen3-VL hub id or local directory.")] = None,
    thread: Annotated[
        str | None, typer.Option("--thread", help="Continue this conversation (the id `ask` printed).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the run (answer, thread, session) as JSON; no progress lines.")
    ] = False,
    profile: Annotated[
        str | None, typer.Option("--profile", help="Site profile the screen is read with (name or YAML file).")
    ] = None,
) -> None:
    """Ask about the screen: what an alarm means, whether it happened recently, what to do.

    Progress goes to stderr as it happens (observe, the parser's draft, each tool call, the answer); the answer, the
    thread id for follow-ups and the session recording go to stdout.
    """
    from perception.capture import FrameSourceError
    from perception.vlm.types import ModelServerError
    from tools.actions import LiveInputUnavailable

    if not question.strip():
        raise UserError("the question is empty")
    if image is not None and screen is not None:
        raise UserError("give --image or --screen, not both")
    settings = _settings(ctx, model)
    if profile is not None:
        from agent.cli.profile_cmds import load_site_profile

        load_site_profile(profile)  # a bad profile is a one-line error before anything starts
        settings = settings.model_copy(update={"site_profile": profile})
    if image is not None:
        _check_image(image, settings)
    if thread is not None:
        _check_thread(settings, thread)
    progress = Progress(enabled=not as_json)
    progress.say(f"starting the agent (backend {settings.backend}, model {settings.model})")
    agent = _agent(settings)
    follow_up, thread = thread is not None, thread or uuid.uuid4().hex
    progress.say(f"thread {thread} ({'follow-up' if follow_up else 'new'})")
    try:
        run = _run_with_progress(agent, question, image=image, screen=screen, thread=thread, progress=progress)
    except (FrameSourceError, ModelServerError, LiveInputUnavailable) as e:
        raise UserError(str(e)) from None
    finally:
        agent.close()
    _print_run(run, as_json)


def watch(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="The question to answer whenever the screen changes.")],
    screen: Annotated[int, typer.Option("--screen", help="Monitor to watch.")] = 1,
    interval: Annotated[float, typer.Option("--interval", min=0.05, help="Seconds between captures.")] = 1.0,
    max_answers: Annotated[
        int | None, typer.Option("--max-answers", min=1, help="Stop after this many answers.")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Qwen3-VL hub id or local directory.")] = None,
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


ASK_EXAMPLES = """Examples:

\b
  hmi-agent ask "What does the red alarm mean and has it happened recently?" --image examples/screens/demo.png
  hmi-agent ask "And what should I check first?" --thread 807e7c37d6fd405f89669f5fb4c87ddc
  hmi-agent ask "这个报警是什么意思？" --screen 1
  hmi-agent ask "Which alarm is unacknowledged?" --image photo.jpg --json | jq .answer.text
"""
WATCH_EXAMPLES = """Examples:

\b
  hmi-agent watch "Is anything critical unacknowledged?" --screen 1 --interval 2
  hmi-agent watch "What changed?" --max-answers 3 --json
"""
REPLAY_EXAMPLES = """Examples:

\b
  hmi-agent replay examples/sessions/alarm-meaning-en --strict
  hmi-agent replay 20261130-125006.570-993853        # a session id under the sessions directory
"""


def register(app: typer.Typer) -> None:
    app.command(epilog=ASK_EXAMPLES)(ask)
    app.command(epilog=WATCH_EXAMPLES)(watch)
    app.command(epilog=REPLAY_EXAMPLES)(replay)
