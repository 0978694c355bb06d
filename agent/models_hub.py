"""The Qwen3-VL checkpoints we know, which of them sit in the local Hugging Face cache, fetching one, and whether
the hub has a newer revision than the cached one. Everything here works offline except `pull` (and says so)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

SIZES = ("2B", "4B", "8B")


def model_id(size: str = "4B", *, thinking: bool = False) -> str:
    """`2b`/`4B` + Instruct or Thinking → the hub id, e.g. Qwen/Qwen3-VL-4B-Instruct."""
    size = size.upper()
    if size not in SIZES:
        raise ValueError(f"model size {size!r} is not one of {', '.join(s.lower() for s in SIZES)}")
    return f"Qwen/Qwen3-VL-{size}-{'Thinking' if thinking else 'Instruct'}"


KNOWN_MODELS = [model_id(size, thinking=thinking) for size in SIZES for thinking in (False, True)]


class CachedModel(BaseModel):
    repo_id: str
    known: bool  # one of the Qwen3-VL choices above
    cached: bool
    revision: str | None = None  # commit sha of the cached snapshot ("main" ref, else the newest)
    size_bytes: int = 0


class UpdateCheck(BaseModel):
    repo_id: str
    local_revision: str | None
    remote_revision: str | None
    status: Literal["up-to-date", "update-available", "not-cached", "could-not-check"]
    reason: str = ""

    def line(self) -> str:
        local = (self.local_revision or "-")[:12]
        if self.status == "could-not-check":
            return f"{self.repo_id}: could not check ({self.reason}); local {local}"
        if self.status == "not-cached":
            return f"{self.repo_id}: not cached locally; hub {(self.remote_revision or '-')[:12]}"
        return f"{self.repo_id}: {self.status} (local {local}, hub {(self.remote_revision or '-')[:12]})"


def cache_dir() -> Path:
    """The HF hub cache, honouring HF_HUB_CACHE / HF_HOME as set now (not at import time)."""
    from huggingface_hub import constants

    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]) / "hub"
    return Path(constants.HF_HUB_CACHE)


def _cached_repos(cache: Path) -> dict[str, CachedModel]:
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:
        info = scan_cache_dir(cache)
    except CacheNotFound:
        return {}
    found = {}
    for repo in info.repos:
        if repo.repo_type != "model" or not repo.revisions:
            continue
        main = [r for r in repo.revisions if "main" in r.refs]
        revision = (main or sorted(repo.revisions, key=lambda r: r.last_modified))[-1]
        found[repo.repo_id] = CachedModel(
            repo_id=repo.repo_id,
            known=repo.repo_id in KNOWN_MODELS,
            cached=True,
            revision=revision.commit_hash,
            size_bytes=repo.size_on_disk,
        )
    return found


def list_models(cache: Path | None = None) -> list[CachedModel]:
    """The known Qwen3-VL choices (cached or not) followed by any other cached Qwen3-VL repos."""
    cached = _cached_repos(cache or cache_dir())
    rows = [cached.get(repo_id) or CachedModel(repo_id=repo_id, known=True, cached=False) for repo_id in KNOWN_MODELS]
    rows += [
        m for repo_id, m in sorted(cached.items()) if repo_id not in KNOWN_MODELS and "qwen3-vl" in repo_id.lower()
    ]
    return rows


def local_revision(repo_id: str, cache: Path | None = None) -> str | None:
    model = _cached_repos(cache or cache_dir()).get(repo_id)
    return model.revision if model else None


def remote_revision(repo_id: str) -> str:
    """The hub's latest commit sha of `repo_id`; raises when the hub can't be reached (or offline mode is on)."""
    from huggingface_hub import HfApi

    sha = HfApi().model_info(repo_id).sha
    if sha is None:
        raise ValueError(f"the hub gave no revision for {repo_id!r}")
    return sha


def check_update(repo_id: str, cache: Path | None = None) -> UpdateCheck:
    local = local_revision(repo_id, cache)
    try:
        remote = remote_revision(repo_id)
    except Exception as e:  # offline mode, DNS, proxy, HTTP errors...: all mean "could not check", never a crash
        return UpdateCheck(
            repo_id=repo_id, local_revision=local, remote_revision=None, status="could-not-check", reason=_short(e)
        )
    if local is None:
        status = "not-cached"
    else:
        status = "up-to-date" if local == remote else "update-available"
    return UpdateCheck(repo_id=repo_id, local_revision=local, remote_revision=remote, status=status)


def pull(repo_id: str, cache: Path | None = None) -> Path:
    """Downloads (or completes) the snapshot into the local cache; returns its folder. Raises ConnectionError
    with one readable line when the hub can't be reached."""
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id, cache_dir=cache or cache_dir()))
    except Exception as e:  # the hub client raises a different type per failure (offline, DNS, 401, 404, ...)
        raise ConnectionError(f"could not download {repo_id}: {_short(e)}") from e


def _short(error: Exception) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}"[:200]
