"""/metrics after real runs, the Grafana dashboard's queries against what is exported, and many operators at once
against one (slow, scripted) model: FIFO service, a clear 503 past the queue bound, a session record per answer."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from agent.scripted import ScriptedModel, tool_call_text
from tests.hmi_picture import render_hmi
from tests.service.conftest import ASK_REPLIES, png_bytes
from tests.service.test_service_api import ask, client_of

pytestmark = pytest.mark.anyio
DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana-dashboard.json"


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_metrics_count_requests_steps_tools_and_model_timings(make_service):
    app, _ = make_service()
    async with client_of(app) as client:
        assert (await ask(client, "What does this alarm mean?", png_bytes(render_hmi()))).status_code == 200
        text = (await client.get("/metrics")).text
    found = samples(text)
    assert found[("hmi_agent_steps_total", ())] == 3
    assert found[("hmi_agent_tool_calls_total", (("outcome", "ok"), ("tool", "alarm_definition")))] == 1
    assert found[("hmi_agent_questions_total", (("outcome", "answered"),))] == 1
    assert found[("hmi_agent_model_latency_seconds_count", ())] == 3
    assert found[("hmi_agent_output_tokens_total", ())] > 0
    assert found[("hmi_agent_requests_total", (("route", "/api/ask"), ("status", "200")))] == 1
    assert found[("process_resident_memory_bytes", ())] > 10e6


async def test_refused_clients_are_counted_and_metrics_need_the_token_too(make_service):
    app, _ = make_service(allow_networks=["10.0.0.0/8"], api_token=SecretStr("tok"))
    async with client_of(app, "10.0.0.5") as inside, client_of(app, "8.8.8.8") as outside:
        assert (await outside.get("/metrics", headers={"Authorization": "Bearer tok"})).status_code == 403
        assert (await inside.get("/metrics")).status_code == 401
        text = (await inside.get("/metrics", headers={"Authorization": "Bearer tok"})).text
    found = samples(text)
    assert found[("hmi_agent_errors_total", (("kind", "http_403"),))] == 1
    assert found[("hmi_agent_errors_total", (("kind", "http_401"),))] == 1


async def test_every_metric_the_grafana_dashboard_queries_is_exported(make_service):
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(dashboard["panels"]) >= 12
    queried = {
        re.sub(r"_(bucket|sum|count)$", "", name)
        for expr in exprs
        for name in re.findall(r"\b((?:hmi_agent|process)_[a-z_]+)\b", expr)
    }
    app, _ = make_service()
    async with client_of(app) as client:
        text = (await client.get("/metrics")).text
    exported = {family.name for family in text_string_to_metric_families(text)}
    exported |= {f"{name}_total" for name in exported}  # counters are queried with their _total suffix
    assert {"hmi_agent_gpu_memory_allocated_bytes", "hmi_agent_capture_latency_seconds", "process_cpu_seconds_total"} <= queried
    assert queried <= exported, queried - exported


class SlowModel(ScriptedModel):
    """Scripted decisions that take a while, like a real model; counts how many run at once."""

    def __init__(self, replies, seconds: float):
        super().__init__(replies, repeat_last=True)
        self.seconds = seconds
        self.running = 0
        self.most_at_once = 0

    def generate(self, *args, **kwargs):
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        time.sleep(self.seconds)
        self.running -= 1
        return super().generate(*args, **kwargs)


async def test_many_operators_queue_fairly_and_the_overflow_is_told_busy(make_service):
    answer = tool_call_text("final_answer", {"on_screen": "alarm banner", "alarm_tag": "TI-101.HI"})
    model = SlowModel([answer], seconds=0.1)
    app, _ = make_service(model=model, queue_size=4)
    png = png_bytes(render_hmi())
    async with client_of(app) as client:
        responses = await asyncio.gather(*(ask(client, f"question {n}", png) for n in range(10)))
        statuses = sorted(r.status_code for r in responses)
        busy = [r for r in responses if r.status_code == 503]
        assert statuses.count(200) >= 5 and busy, statuses  # 1 running + 4 waiting get through; the rest are told
        assert re.fullmatch(r"busy, \d+ requests ahead; try again shortly", busy[0].json()["detail"])
        assert busy[0].headers["retry-after"] == "5" and busy[0].json()["ahead"] >= 4
        assert model.most_at_once == 1
        answered = [r.json() for r in responses if r.status_code == 200]
        listing = (await client.get("/api/sessions", params={"limit": 1000})).json()
        assert {Path(r["session_dir"]).name for r in answered} == {s["id"] for s in listing}  # none lost, none extra
        assert all(s["answer"] for s in listing)
        found = samples((await client.get("/metrics")).text)
    rejections = {labels: n for (name, labels), n in found.items() if name == "hmi_agent_queue_rejections_total"}
    assert sum(rejections.values()) == len(busy), rejections  # the model queue's and the upload/parse bound's 503s
    assert found[("hmi_agent_queue_depth", ())] == 0


async def test_a_parse_refused_by_the_cpu_work_bound_is_counted_as_a_rejection(make_service):
    release = threading.Event()
    app, _ = make_service(queue_size=1)
    real_parser = app.state.screen_parser
    app.state.screen_parser = lambda image: release.wait(10) and real_parser(image)
    work, files = app.state.cpu_work, {"image": ("hmi.png", png_bytes(render_hmi()), "image/png")}
    try:
        async with client_of(app) as client:
            held = [asyncio.create_task(client.post("/api/parse", files=files)) for _ in range(work.running + work.waiting)]
            while work._admitted < work.running + work.waiting:
                await asyncio.sleep(0.01)
            assert (await client.post("/api/parse", files=files)).status_code == 503
            release.set()
            assert [r.status_code for r in await asyncio.gather(*held)] == [200] * len(held)
            found = samples((await client.get("/metrics")).text)
    finally:
        release.set()
    assert found[("hmi_agent_queue_rejections_total", (("queue", "cpu_work"),))] == 1


async def test_a_failing_model_is_a_500_and_the_service_keeps_serving(make_service):
    model = ScriptedModel([ASK_REPLIES[-1]])  # one reply only: the second question makes the script run out
    app, _ = make_service(model=model)
    png = png_bytes(render_hmi())
    # as a real server answers: the app's exception becomes a 500 response instead of being re-raised here
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://hmi", timeout=30) as client:
        assert (await ask(client, "first", png)).status_code == 200
        assert (await ask(client, "second", png)).status_code == 500
        model.repeat_last = True
        assert (await ask(client, "third", png)).status_code == 200
        found = samples((await client.get("/metrics")).text)
    assert found[("hmi_agent_questions_total", (("outcome", "failed"),))] == 1
    assert found[("hmi_agent_errors_total", (("kind", "model"),))] == 1
