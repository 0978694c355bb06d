"""`hmi-agent model list|check-update|pull` against a hand-made HF cache, with the hub unreachable (offline)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent import models_hub
from agent.cli import _register_commands, app

SHA = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"


def _fake_snapshot(cache: Path, repo_id: str, sha: str = SHA) -> None:
    """The layout huggingface_hub writes: blobs/, refs/main holding the sha, snapshots/<sha>/ linking to blobs."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "blobs").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(sha)
    (repo / "blobs" / "cfgblob").write_text('{"model_type": "qwen3_vl"}')
    snapshot = repo / "snapshots" / sha
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").symlink_to(repo / "blobs" / "cfgblob")


@pytest.fixture
def hub_cache(tmp_path, monkeypatch) -> Path:
    cache = tmp_path / "hub"
    cache.mkdir()
    _fake_snapshot(cache, "Qwen/Qwen3-VL-2B-Instruct")
    _fake_snapshot(cache, "someone/Qwen3-VL-2B-Instruct-GGUF", sha="f" * 40)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


def _cli(*args: str):
    _register_commands()
    return CliRunner().invoke(app, list(args))


def test_list_shows_known_choices_and_which_are_cached(hub_cache):
    rows = {m.repo_id: m for m in models_hub.list_models()}
    assert set(models_hub.KNOWN_MODELS) <= set(rows)
    assert len(models_hub.KNOWN_MODELS) == 6
    assert rows["Qwen/Qwen3-VL-2B-Instruct"].cached and rows["Qwen/Qwen3-VL-2B-Instruct"].revision == SHA
    assert not rows["Qwen/Qwen3-VL-8B-Thinking"].cached
    assert rows["someone/Qwen3-VL-2B-Instruct-GGUF"].known is False

    result = _cli("model", "list")
    assert result.exit_code == 0, result.output
    line = next(l for l in result.output.splitlines() if l.startswith("Qwen/Qwen3-VL-2B-Instruct "))
    assert "yes" in line and SHA[:12] in line
    assert f"cache: {hub_cache}" in result.output


def test_check_update_offline_says_could_not_check_and_exits_0(hub_cache):
    check = models_hub.check_update("Qwen/Qwen3-VL-2B-Instruct")
    assert check.status == "could-not-check" and check.local_revision == SHA

    result = _cli("model", "check-update", "2b")
    assert result.exit_code == 0
    assert result.output.startswith("Qwen/Qwen3-VL-2B-Instruct: could not check (")
    assert SHA[:12] in result.output


def test_check_update_compares_with_the_hub_revision(hub_cache, monkeypatch):
    monkeypatch.setattr(models_hub, "remote_revision", lambda repo_id: SHA)
    assert models_hub.check_update("Qwen/Qwen3-VL-2B-Instruct").status == "up-to-date"
    monkeypatch.setattr(models_hub, "remote_revision", lambda repo_id: "0" * 40)
    assert models_hub.check_update("Qwen/Qwen3-VL-2B-Instruct").status == "update-available"
    assert models_hub.check_update("Qwen/Qwen3-VL-8B-Instruct").status == "not-cached"


def test_pull_offline_is_one_clear_line(hub_cache):
    result = _cli("model", "pull", "8b", "--thinking")
    assert result.exit_code != 0
    assert "could not download Qwen/Qwen3-VL-8B-Thinking" in str(result.exception or result.output)


def test_pull_of_a_cached_model_works_offline(hub_cache):
    path = models_hub.pull("Qwen/Qwen3-VL-2B-Instruct")
    assert (path / "config.json").exists() and path.name == SHA


def test_bad_size_is_named():
    with pytest.raises(ValueError, match="'3B'"):
        models_hub.model_id("3b")
