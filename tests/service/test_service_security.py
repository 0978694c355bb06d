"""Allow-list (403), token / basic-auth login (401) and the refusal to bind a public address unprotected."""

from __future__ import annotations

import base64

import httpx
import pytest
from fastapi import FastAPI

from agent.cli import main
from agent.service.security import AccessMiddleware, AccessPolicy, UnsafeBindError, parse_networks
from agent.settings import Settings


def _app(policy: AccessPolicy) -> FastAPI:
    app = FastAPI()

    @app.get("/ping")
    def ping() -> dict:
        return {"ok": True}

    app.add_middleware(AccessMiddleware, policy=policy)
    return app


async def _get(app, client_ip: str, headers: dict | None = None) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=(client_ip, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hmi") as client:
        return await client.get("/ping", headers=headers or {})


pytestmark = pytest.mark.anyio

POLICY = AccessPolicy(networks=parse_networks(["10.0.0.0/8", "192.168.5.0/24"]), token="s3cret-token", user="op", password="pw")
BEARER = {"Authorization": "Bearer s3cret-token"}


def _basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.mark.parametrize("client_ip", ["10.1.2.3", "192.168.5.77", "::ffff:10.9.9.9"])
async def test_allowed_network_with_token_or_login_gets_in(client_ip):
    app = _app(POLICY)
    assert (await _get(app, client_ip, BEARER)).json() == {"ok": True}
    assert (await _get(app, client_ip, _basic("op", "pw"))).status_code == 200


@pytest.mark.parametrize("client_ip", ["172.16.0.9", "192.168.6.1", "127.0.0.1", "not-an-ip"])
async def test_outside_the_allow_list_is_403_even_with_the_token(client_ip):
    response = await _get(_app(POLICY), client_ip, BEARER)
    assert response.status_code == 403
    assert "allow-list" in response.json()["detail"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, _basic("op", "nope"), _basic("root", "pw"), {"Authorization": "Basic !!!"}],
)
async def test_missing_or_bad_credentials_are_401_with_a_browser_challenge(headers):
    response = await _get(_app(POLICY), "10.1.2.3", headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic ")


async def test_loopback_default_needs_nothing():
    assert (await _get(_app(AccessPolicy()), "127.0.0.1")).status_code == 200


def test_public_bind_needs_allow_list_and_credentials():
    AccessPolicy().check_bind("127.0.0.1")
    AccessPolicy().check_bind("::1")
    with pytest.raises(UnsafeBindError, match="allow-list.*and a token"):
        AccessPolicy().check_bind("0.0.0.0")
    with pytest.raises(UnsafeBindError, match="token or user/password"):
        AccessPolicy(networks=parse_networks(["10.0.0.0/8"])).check_bind("0.0.0.0")
    with pytest.raises(UnsafeBindError, match="allow-list"):
        AccessPolicy(token="t").check_bind("192.168.1.10")
    POLICY.check_bind("0.0.0.0")


def test_serve_refuses_to_start_unprotected_with_one_line(capsys, monkeypatch):
    monkeypatch.delenv("HMI_AGENT_API_TOKEN", raising=False)
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--host", "0.0.0.0", "--allow", "10.0.0.0/8"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == "hmi-agent: error: refusing to bind 0.0.0.0: a non-loopback address needs a token or user/password"


def test_serve_names_a_bad_cidr(capsys, monkeypatch):
    monkeypatch.setenv("HMI_AGENT_API_TOKEN", "t")
    with pytest.raises(SystemExit):
        main(["serve", "--host", "0.0.0.0", "--allow", "10.0.0.0/33"])
    assert "'10.0.0.0/33' is not a CIDR network" in capsys.readouterr().err


def test_settings_carry_the_policy(monkeypatch):
    monkeypatch.setenv("HMI_AGENT_ALLOW_NETWORKS", '["10.0.0.0/8"]')
    monkeypatch.setenv("HMI_AGENT_API_TOKEN", "abc")
    policy = AccessPolicy.from_settings(Settings())
    assert policy.token == "abc" and policy.client_allowed("10.2.3.4") and not policy.client_allowed("11.0.0.1")
