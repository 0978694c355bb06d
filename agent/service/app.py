"""The service: FastAPI app with the JSON API, /metrics, and the Gradio operator UI mounted at `/`.

    app = create_app(settings)                         # production: the agent is built from settings
    app = create_app(settings, agent=HmiAgent(settings, model=ScriptedModel([...])))   # tests, benches
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from agent.service.api import MAX_IMAGE_BYTES, router
from agent.service.metrics import ServiceMetrics
from agent.service.queue import ModelQueue, QueueFull
from agent.service.runs import AgentService, MeteredModel, MeteredSource, ParseTap
from agent.service.security import AccessMiddleware, AccessPolicy
from agent.service.sessions import SessionStore
from agent.settings import Settings


def create_app(
    settings: Settings,
    *,
    agent: Any = None,
    model: Any = None,
    alarm_tools: Any = None,
    screen_parser: Callable[[Any], Any] | None = None,
    with_ui: bool = True,
) -> FastAPI:
    """Builds the service. Without `agent`, an HmiAgent is built from settings around `model` (a
    VisionLanguageModel; loaded from settings when None), metered for /metrics. A ready `agent` is used as given
    (then only its events feed the metrics). `alarm_tools`: tools.alarms.AlarmTools (settings.db_url when None);
    `screen_parser`: image -> ScreenParse (perception.screen.parse_screen when None)."""
    policy = AccessPolicy.from_settings(settings)
    policy.check_bind(settings.host)
    metrics = ServiceMetrics()
    if alarm_tools is None:
        alarm_tools = getattr(agent, "alarm_tools", None) or _open_alarm_tools(settings)
    parse_tap = None
    if agent is None:
        from agent.runner import HmiAgent, load_vlm
        from perception.capture import ScreenSource

        if settings.screen_parse:
            parse_tap = ParseTap(screen_parser or _default_parser())
        agent = HmiAgent(
            settings,
            model=MeteredModel(model if model is not None else load_vlm(settings, long_running=True), metrics),
            alarm_tools=alarm_tools,
            screen_source=MeteredSource(ScreenSource(monitor=1), metrics),
            screen_parser=parse_tap,
        )

    queue = ModelQueue(settings.queue_size, on_depth=metrics.queue_depth.set)
    app = FastAPI(
        title="hmi-agent",
        version="0.1.0",
        summary="Ask about alarms on an operator screen; a local Qwen3-VL answers with evidence.",
        docs_url="/docs",
        lifespan=_closing(queue),
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.service = AgentService(agent, queue, metrics, parse_tap)
    app.state.alarm_tools = alarm_tools
    app.state.screen_parser = screen_parser or _default_parser()
    app.state.sessions = SessionStore(settings.sessions_dir)
    app.include_router(router)

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", tags=["service"])
    def health() -> dict:
        return {"ok": True, "queue_depth": queue.depth, "model": getattr(getattr(agent, "vlm", None), "model_id", None)}

    @app.exception_handler(QueueFull)
    async def busy(request: Request, error: QueueFull) -> JSONResponse:
        return JSONResponse({"detail": str(error), "ahead": error.ahead}, status_code=503, headers={"Retry-After": "5"})

    @app.middleware("http")
    async def count_requests(request: Request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        name = getattr(route, "path", None) or ("/ui" if not request.url.path.startswith("/api") else "other")
        metrics.requests.labels(name, str(response.status_code)).inc()
        metrics.request_seconds.labels(name).observe(time.perf_counter() - started)
        return response

    if with_ui:
        import gradio as gr

        from agent.web.ui import build_ui

        # the same upload cap as the API: Gradio's own default is no limit at all
        app = gr.mount_gradio_app(app, build_ui(app.state), path="/", footer_links=["api"], max_file_size=MAX_IMAGE_BYTES)
    # Outermost, so it guards everything above: API, metrics, docs and the UI with its queue/websocket routes.
    app.add_middleware(AccessMiddleware, policy=policy, on_refused=lambda status: metrics.errors.labels(f"http_{status}").inc())
    return app


def _closing(queue: ModelQueue):
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        queue.close()

    return lifespan


def _open_alarm_tools(settings: Settings) -> Any:
    from storage.db import open_database
    from tools.alarms import AlarmTools

    return AlarmTools(open_database(settings.db_url))


def _default_parser() -> Callable[[Any], Any]:
    from perception.screen import parse_screen

    return parse_screen
