"""The service: FastAPI app with the JSON API and /metrics; agent.web.mount.mount_ui puts the operator UI at `/`.

app = create_app(settings)                         # production: the agent is built from settings
app = create_app(settings, agent=HmiAgent(settings, model=ScriptedModel([...])))   # tests, benches
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from agent.service.alarm_follow import following_alarms
from agent.service.api import router
from agent.service.api_stream import router as stream_router
from agent.service.approvals import ApprovalStore
from agent.service.cpu_work import CPU_JOBS, CpuWork
from agent.service.docs_api import router as docs_router
from agent.service.metrics import ServiceMetrics
from agent.service.queue import ModelQueue, QueueFull
from agent.service.runs import AgentService, MeteredModel, MeteredSource
from agent.service.security import AccessMiddleware, AccessPolicy
from agent.service.sessions import SessionStore
from agent.settings import Settings

if TYPE_CHECKING:
    from agent.interfaces import ScreenParser
    from agent.service.served_agent import ServedAgent
    from perception.vlm.types import VisionLanguageModel
    from tools.alarms import AlarmTools


def create_app(
    settings: Settings,
    *,
    agent: ServedAgent | None = None,
    model: VisionLanguageModel | None = None,
    alarm_tools: AlarmTools | None = None,
    screen_parser: ScreenParser | None = None,
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
    loader = None
    if agent is None:
        agent, loader = _metered_agent(settings, model, alarm_tools, screen_parser, metrics)

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
    approvals = ApprovalStore(settings.data_dir / "approvals", settings.approval_timeout_s)
    app.state.service = AgentService(agent, queue, metrics, approvals)
    app.state.approvals = approvals
    app.state.access_policy = policy  # who is asking: the approver recorded for a UI decision
    app.state.alarm_tools = alarm_tools
    app.state.screen_parser = screen_parser or _default_parser(settings)
    app.state.cpu_work = CpuWork(running=CPU_JOBS, waiting=settings.queue_size)  # uploads decoded, screens parsed
    app.state.sessions = SessionStore(settings.sessions_dir)
    app.state.model_state = _model_state(agent, loader)
    app.include_router(router)
    app.include_router(stream_router)
    app.include_router(docs_router)
    _add_service_routes(app, metrics, queue, agent)

    # Outermost, so it guards every route: API, metrics, docs, and the UI with its queue/websocket routes once mounted.
    app.add_middleware(
        AccessMiddleware, policy=policy, on_refused=lambda status: metrics.errors.labels(f"http_{status}").inc()
    )
    return app


def _metered_agent(
    settings: Settings,
    model: VisionLanguageModel | None,
    alarm_tools: AlarmTools,
    screen_parser: ScreenParser | None,
    metrics: ServiceMetrics,
) -> tuple[ServedAgent, Any]:
    """An HmiAgent whose model calls and captures feed /metrics, and the background loader of its model (None when
    `model` is given)."""
    from agent.runner import HmiAgent
    from perception.capture import ScreenSource

    agent = HmiAgent(
        settings,
        model=MeteredModel(model, metrics) if model is not None else None,
        model_note=None if model is not None else LOADING_NOTE,
        alarm_tools=alarm_tools,
        screen_source=MeteredSource(ScreenSource(monitor=1), metrics),
        screen_parser=screen_parser if settings.screen_parse else None,  # None: the default parser, if on
    )
    if model is not None:
        return agent, None
    return agent, _background_model(settings, agent, metrics).start()  # drafts answer while the model loads


def _model_state(agent: ServedAgent, loader: Any) -> Callable[[], str]:
    def model_state() -> str:
        """ "ready", "loading", "none" (HMI_AGENT_BACKEND=none) or "unavailable: <why and the fixing command>"."""
        if loader is not None:
            return loader.state
        return (
            "ready" if getattr(agent, "vlm", None) is not None else f"unavailable: {getattr(agent, 'model_note', None)}"
        )

    return model_state


def _add_service_routes(app: FastAPI, metrics: ServiceMetrics, queue: ModelQueue, agent: ServedAgent) -> None:
    """/metrics, /healthz, 503 for a full queue, and the request counters."""

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", tags=["service"])
    def health() -> dict:
        return {
            "ok": True,
            "queue_depth": queue.depth,
            "model": getattr(getattr(agent, "vlm", None), "model_id", None),
            "model_state": app.state.model_state(),
        }

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


def _closing(queue: ModelQueue):
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with following_alarms(app.state.settings):  # HMI_AGENT_ALARM_FOLLOW_URL, when set
            yield
        queue.close()

    return lifespan


LOADING_NOTE = "the model is still loading: this answer is the screen parser's draft"


def _background_model(settings: Settings, agent: Any, metrics: ServiceMetrics) -> Any:
    """Loads the model on a thread; questions meanwhile get drafts saying why (see agent.model_state)."""
    from agent.model_state import BackgroundModel

    def unavailable(reason: str) -> None:
        agent.model_note = reason

    return BackgroundModel(
        settings, on_ready=lambda vlm: agent.attach_model(MeteredModel(vlm, metrics)), on_unavailable=unavailable
    )


def _open_alarm_tools(settings: Settings) -> AlarmTools:
    from storage.db import open_database
    from tools.alarms import AlarmTools

    return AlarmTools(open_database(settings.db_url))


def _default_parser(settings: Settings) -> ScreenParser:
    from perception.screen import parser_for

    return parser_for(settings.site_profile)
