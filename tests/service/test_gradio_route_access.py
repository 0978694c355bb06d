"""Auditor's check: the access policy holds on the real app's Gradio routes, not only on a toy app: upload, queue
join and data (the UI's event stream), file routes and the config, from outside the allow-list (403) and without
or with wrong credentials (401). With the token, the same routes are reached."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

pytestmark = pytest.mark.anyio

TOKEN = "t0ken-for-the-auditor"
ROUTES = [
    ("GET", "/"),
    ("GET", "/config"),
    ("GET", "/gradio_api/info"),
    ("POST", "/gradio_api/upload"),
    ("POST", "/gradio_api/queue/join"),
    ("GET", "/gradio_api/queue/data?session_hash=abc"),
    ("GET", "/gradio_api/file=/etc/passwd"),
    ("GET", "/gradio_api/file/etc/passwd"),
    ("POST", "/gradio_api/call/ask"),
    ("POST", "/gradio_api/run/ask"),
    ("GET", "/gradio_api/heartbeat/abc"),
    ("GET", "/gradio_api/upload_progress?upload_id=abc"),
    ("GET", "/api/sessions"),
]
REACHABLE_WITH_TOKEN = ["/", "/config", "/gradio_api/info"]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """One real app (API + Gradio UI) for the module: building the UI costs seconds."""
    from agent.scripted import ScriptedModel
    from agent.service.app import create_app
    from agent.settings import Settings
    from agent.web.mount import mount_ui
    from tests.service.conftest import ASK_REPLIES, seed_alarm_db

    folder = tmp_path_factory.mktemp("gradio-access")
    settings = Settings(data_dir=folder / "data", db_url=seed_alarm_db(folder), screen_parse=False,
                        allow_networks=["10.0.0.0/8"], api_token=SecretStr(TOKEN))
    app = create_app(settings, model=ScriptedModel(ASK_REPLIES, repeat_last=True))
    yield mount_ui(app)
    app.state.service.agent.close()
    app.state.service.queue.close()


async def _call(app, method: str, path: str, ip: str, headers: dict) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=(ip, 40000), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://hmi", timeout=10) as client:
        return await client.request(method, path, headers=headers)


@pytest.mark.parametrize("method, path", ROUTES)
async def test_gradio_routes_refuse_clients_outside_the_allow_list(app, method, path):
    response = await _call(app, method, path, "172.16.0.9", {"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 403, (path, response.text[:200])


@pytest.mark.parametrize("method, path", ROUTES)
@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "Basic b3A6cHc="])
async def test_gradio_routes_refuse_missing_or_bad_credentials(app, method, path, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = await _call(app, method, path, "10.1.2.3", headers)
    assert response.status_code == 401, (path, response.text[:200])
    assert "passwd" not in response.text and "root:" not in response.text


@pytest.mark.parametrize("path", REACHABLE_WITH_TOKEN)
async def test_the_token_reaches_the_ui(app, path):
    response = await _call(app, "GET", path, "10.1.2.3", {"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, (path, response.text[:200])
