"""Named tokens (issue 13 item 4): each token proves one operator's name, which the service records as the approver."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from agent.cli import main
from agent.service.security import ANONYMOUS, SHARED_TOKEN, AccessPolicy
from agent.settings import Settings


def _policy(**settings) -> AccessPolicy:
    return AccessPolicy.from_settings(Settings(**settings))


def test_each_named_token_identifies_its_operator_and_a_wrong_one_nobody():
    policy = _policy(api_tokens={"alice": SecretStr("tok-alice-1234"), "bob": SecretStr("tok-bob-5678")},
                     api_token=SecretStr("shared-9999"))
    assert policy.identify("Bearer tok-alice-1234") == "alice"
    assert policy.identify("Bearer tok-bob-5678") == "bob"
    assert policy.identify("Bearer shared-9999") == SHARED_TOKEN
    for wrong in ("Bearer tok-alice-123", "Bearer alice", "Bearer ", None, "Basic YWxpY2U6dG9r"):
        assert policy.identify(wrong) is None, wrong


def test_without_credentials_every_client_is_anonymous():
    assert _policy().identify(None) == ANONYMOUS


def test_named_tokens_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("HMI_AGENT_API_TOKENS", '{"carol": "tok-carol-1111"}')
    policy = AccessPolicy.from_settings(Settings())
    assert policy.has_credentials and policy.identify("Bearer tok-carol-1111") == "carol"


@pytest.mark.parametrize(
    ("tokens", "shared", "problem"),
    [({"alice": "same-token", "bob": "same-token"}, None, "'alice': the same token is given to someone else"),
     ({"alice": "shared-1"}, "shared-1", "'alice': the same token"),
     ({"alice": "  "}, None, "'alice': both the operator name and the token must be non-empty")],
)
def test_serve_refuses_shared_or_empty_named_tokens_with_one_line(tokens, shared, problem, monkeypatch, capsys):
    import json

    monkeypatch.setenv("HMI_AGENT_API_TOKENS", json.dumps(tokens))
    if shared:
        monkeypatch.setenv("HMI_AGENT_API_TOKEN", shared)
    else:
        monkeypatch.delenv("HMI_AGENT_API_TOKEN", raising=False)
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--host", "127.0.0.1"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert problem in err and len(err.splitlines()) == 1
