"""`hmi-agent serve` (web UI + JSON API) and `hmi-agent model list|pull|check-update`."""

from __future__ import annotations

import re
from typing import Annotated

import typer

from agent.cli import UserError, open_db, settings_of

model_app = typer.Typer(help="Qwen3-VL checkpoints in the local Hugging Face cache.", no_args_is_help=True)


def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option(help="Bind address (default 127.0.0.1; others need --allow and a login).")
    ] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="TCP port (default 7860).")] = None,
    allow: Annotated[
        list[str] | None,
        typer.Option("--allow", help="Client network allowed in (CIDR), repeatable: --allow 10.0.0.0/8."),
    ] = None,
    queue_size: Annotated[
        int | None, typer.Option(min=1, max=1000, help="Requests that may wait for the model before 503 busy.")
    ] = None,
) -> None:
    """Serve the operator web UI and the JSON API (OpenAPI at /docs) with Prometheus metrics at /metrics.

    Token and login come from HMI_AGENT_API_TOKEN, HMI_AGENT_BASIC_AUTH_USER and HMI_AGENT_BASIC_AUTH_PASSWORD
    (or .env), never from the command line where other users could read them.
    """
    from agent.service.security import AccessPolicy, UnsafeBindError

    overrides = {"host": host, "port": port, "allow_networks": allow, "queue_size": queue_size}
    settings = settings_of(ctx).model_copy(update={k: v for k, v in overrides.items() if v is not None})
    try:
        AccessPolicy.from_settings(settings).check_bind(settings.host)
    except (UnsafeBindError, ValueError) as e:
        raise UserError(str(e)) from None

    import uvicorn

    from agent.service.app import create_app
    from agent.web.mount import mount_ui

    open_db(settings.db_url).engine.dispose()  # an unusable --db fails here, before the model loads
    try:
        app = mount_ui(create_app(settings))  # up at once: /healthz says "loading" until the model is ready
    except OSError as e:  # the data dir (sessions, thread checkpoints) cannot be created or written
        raise UserError(f"cannot write {e.filename or settings.data_dir}: {e.strerror or e}") from None
    # proxy_headers off: uvicorn would otherwise take the client address from X-Forwarded-For sent from 127.0.0.1,
    # letting any local process pass the allow-list as whatever address it names
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", proxy_headers=False)


def _resolve(model: str, thinking: bool) -> str:
    from agent.models_hub import SIZES, model_id

    looks_like_size = re.fullmatch(r"[\d.]+b", model, flags=re.IGNORECASE)  # 3b, 0.5B: a size, never a hub id
    return model_id(model, thinking=thinking) if model.upper() in SIZES or looks_like_size else model


@model_app.command("list")
def list_models() -> None:
    """Known Qwen3-VL checkpoints and which of them are in the local cache."""
    from agent.models_hub import cache_dir, list_models

    print(f"{'MODEL':36} {'CACHED':7} {'REVISION':13} SIZE")
    for m in list_models():
        size = f"{m.size_bytes / 1e9:.1f} GB" if m.cached else ""
        print(f"{m.repo_id:36} {'yes' if m.cached else 'no':7} {(m.revision or '-')[:12]:13} {size}")
    print(f"cache: {cache_dir()}")


@model_app.command("pull")
def pull(
    model: Annotated[str, typer.Argument(help="Hub id (Qwen/Qwen3-VL-4B-Instruct) or a size: 2b, 4b, 8b.")],
    thinking: Annotated[bool, typer.Option(help="With a size: the Thinking variant instead of Instruct.")] = False,
) -> None:
    """Download a checkpoint into the local Hugging Face cache (resumes a partial download)."""
    from agent import models_hub

    try:
        repo_id = _resolve(model, thinking)
        path = models_hub.pull(repo_id)
    except (ValueError, ConnectionError) as e:
        raise UserError(str(e)) from None
    print(f"{repo_id}: cached at {path}")


@model_app.command("check-update")
def check_update(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Argument(help="Hub id or size; default: the configured model.")] = None,
    thinking: Annotated[bool, typer.Option(help="With a size: the Thinking variant.")] = False,
) -> None:
    """Compare the cached revision with the hub's latest commit (says "could not check" when offline; exit 0)."""
    from agent import models_hub

    try:
        repo_id = _resolve(model or settings_of(ctx).model, thinking)
    except ValueError as e:
        raise UserError(str(e)) from None
    print(models_hub.check_update(repo_id).line())


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(model_app, name="model")
