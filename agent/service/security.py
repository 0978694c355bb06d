"""Who may talk to the service: a client-network allow-list (403) and a bearer token or basic-auth login (401).

Enforced as plain ASGI middleware in front of everything (API, metrics, the Gradio UI and its websockets/SSE),
so no route can forget it. A non-loopback bind without both an allow-list and credentials is refused at start-up.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
from dataclasses import dataclass, field

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from agent.settings import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
SHARED_TOKEN = "api-token"  # the approver recorded for the holder of the shared (unnamed) token
ANONYMOUS = "anonymous"  # ... and for a client of a service without credentials (loopback only)


class UnsafeBindError(ValueError):
    """The service would be reachable from the network without an allow-list and credentials."""


def parse_networks(cidrs: list[str]) -> list[Network]:
    """Parses CIDR strings; a bad one raises ValueError naming it."""
    networks = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr.strip(), strict=False))
        except ValueError:
            raise ValueError(f"allow network {cidr!r} is not a CIDR network like 10.0.0.0/8") from None
    return networks


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: treat as reachable from outside


@dataclass(frozen=True)
class AccessPolicy:
    """Allowed client networks (empty = any) and accepted credentials (none configured = no login)."""

    networks: list[Network] = field(default_factory=list)
    token: str | None = None  # a shared token: its holders approve as "api-token" (a body name is only a note)
    user: str | None = None
    password: str | None = None
    named_tokens: dict[str, str] = field(default_factory=dict)  # operator name -> token: approvals carry that name

    @classmethod
    def from_settings(cls, settings: Settings) -> AccessPolicy:
        return cls(
            networks=parse_networks(settings.allow_networks),
            token=settings.api_token.get_secret_value() if settings.api_token else None,
            user=settings.basic_auth_user,
            password=settings.basic_auth_password.get_secret_value() if settings.basic_auth_password else None,
            named_tokens=_named_tokens(settings),
        )

    @property
    def has_credentials(self) -> bool:
        return bool(self.token) or bool(self.user and self.password) or bool(self.named_tokens)

    def check_bind(self, host: str) -> None:
        """Raises UnsafeBindError when binding `host` would expose the service without an allow-list and login."""
        if is_loopback_host(host):
            return
        missing = [
            what
            for what, ok in (
                ("an allow-list (--allow CIDR)", self.networks),
                ("a token or user/password", self.has_credentials),
            )
            if not ok
        ]
        if missing:
            raise UnsafeBindError(f"refusing to bind {host}: a non-loopback address needs {' and '.join(missing)}")

    def client_allowed(self, client_host: str | None) -> bool:
        if not self.networks:
            return True
        try:
            address = ipaddress.ip_address(client_host or "")
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    def authorised(self, authorization: str | None) -> bool:
        """True when no credentials are configured, or the Authorization header carries a right one."""
        return self.identify(authorization) is not None

    def identify(self, authorization: str | None) -> str | None:
        """Who the Authorization header proves the client to be: the basic-auth user, a named token's operator,
        SHARED_TOKEN for the shared token, ANONYMOUS when no credentials are configured; None when refused."""
        if not self.has_credentials:
            return ANONYMOUS
        scheme, _, value = (authorization or "").partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer":
            return self._token_holder(value.strip())
        if scheme == "basic" and self._basic_ok(value):
            return self.user
        return None

    def _token_holder(self, given: str) -> str | None:
        # every token compared, always: the time taken does not tell which one (or how much of one) matched
        holders = [(name, _same(given, token)) for name, token in self.named_tokens.items()]
        if self.token:
            holders.append((SHARED_TOKEN, _same(given, self.token)))
        return next((name for name, matched in holders if matched), None)

    def _basic_ok(self, value: str) -> bool:
        if self.user and self.password:
            try:
                user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            # Both compared, always: no early exit that tells a right user name from a wrong one.
            return _same(user, self.user) & _same(password, self.password)
        return False


def _named_tokens(settings: Settings) -> dict[str, str]:
    """operator -> token; ValueError naming the operator for an empty token or one shared with someone else."""
    tokens = {name.strip(): token.get_secret_value() for name, token in settings.api_tokens.items()}
    shared = [settings.api_token.get_secret_value()] if settings.api_token else []
    for name, token in tokens.items():
        if not name or not token.strip():
            raise ValueError(f"named token {name!r}: both the operator name and the token must be non-empty")
        if [*tokens.values(), *shared].count(token) > 1:
            raise ValueError(
                f"named token {name!r}: the same token is given to someone else; each operator needs their own"
            )
    return tokens


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


class AccessMiddleware:
    """403 for clients outside the allow-list, 401 (with a basic-auth challenge for browsers) without credentials."""

    def __init__(self, app: ASGIApp, policy: AccessPolicy, on_refused=None) -> None:
        self.app = app
        self.policy = policy
        self.on_refused = on_refused or (lambda status: None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        client = scope.get("client")
        if not self.policy.client_allowed(client[0] if client else None):
            return await self._refuse(scope, receive, send, 403, "client address not in the allow-list")
        headers = dict(scope.get("headers") or [])
        authorization = headers.get(b"authorization", b"").decode("latin-1") or None
        identity = self.policy.identify(authorization)
        if identity is None:
            return await self._refuse(scope, receive, send, 401, "missing or wrong credentials")
        scope["hmi_user"] = identity  # who approves live actions, for the session record
        await self.app(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
        self.on_refused(status)
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        headers = {}
        if status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="hmi-agent", charset="UTF-8"'
        await JSONResponse({"detail": detail}, status_code=status, headers=headers)(scope, receive, send)
