"""The one settings object. Built once at the edge (CLI, service) and passed in; nothing below reads the environment.

Every field can be set by an environment variable `HMI_AGENT_<FIELD>` (e.g. `HMI_AGENT_DB_URL`) or a `.env`
file; CLI flags override both.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Literal

from platformdirs import user_data_dir
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DATA_DIR = Path(user_data_dir("hmi-agent", appauthor=False))


def _default_db_url() -> str:
    return f"sqlite:///{DATA_DIR / 'hmi-agent.sqlite'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HMI_AGENT_", env_file=".env", extra="ignore")

    # --- storage
    db_url: str = Field(default_factory=_default_db_url, description="SQLAlchemy URL of the alarm database.")
    data_dir: Path = Field(default=DATA_DIR, description="Where sessions, checkpoints and caches are kept.")
    alarm_follow_url: str | None = Field(
        default=None,
        pattern=r"^opc\.tcp://[^/:\s]+",
        description="OPC UA server (opc.tcp://host:4840) whose alarms `hmi-agent serve` follows into the journal.",
    )

    # --- model
    model: str = Field(
        default="Qwen/Qwen3-VL-4B-Instruct",
        description="Hub id or local directory of a Qwen3-VL checkpoint (2B/4B/8B, Instruct or Thinking).",
    )
    backend: Literal["transformers", "openai", "none"] = Field(
        default="transformers",
        description="In-process transformers, an OpenAI-compatible server (vLLM, ...), or none: the screen parser's "
        "draft answers alone (docs/two-speeds.md).",
    )
    openai_base_url: str = Field(default="http://127.0.0.1:8000/v1", description="Base URL of the model server.")
    openai_api_key: SecretStr | None = Field(default=None, description="API key for the model server, if any.")
    device: str = Field(default="auto", description='"auto", "cpu", "cuda", "cuda:1", ...')
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = "auto"
    quantization: Literal["none", "8bit", "4bit", "int8-cpu"] = Field(
        default="none", description="bitsandbytes 8/4-bit on GPU, optimum-quanto int8 weights on CPU."
    )
    min_pixels: int = Field(default=256 * 32 * 32, ge=32 * 32, description="Lower pixel budget per image.")
    max_pixels: int = Field(
        default=1280 * 32 * 32, ge=32 * 32, description="Upper pixel budget per image (about one token per 32x32)."
    )
    view: Literal["auto", "full", "region"] = Field(
        default="auto",
        description='What the model sees: "full" screen, or a "region" around the picked alarm plus a '
        'small overview (docs/two-speeds.md); "auto": region on a CPU or when the pixel budget is below the screen\'s.',
    )
    max_new_tokens: int = Field(default=512, ge=1, le=8192)
    max_image_pixels: int = Field(
        default=40_000_000,
        ge=1_000_000,
        description="Largest image accepted anywhere (upload, CLI, routine), in "
        "pixels, checked from the file's header before decoding; 40 MP holds three 4K monitors or a phone photo.",
    )
    max_image_aspect: float = Field(default=20.0, ge=4.0, description="Longest to shortest side an image may have.")
    model_compile: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="Compile the GPU decode step into a CUDA graph (about 3x faster answers, bench/RESULTS.md). "
        '"auto": in long-running processes (serve, watch, routine schedule), which compile it when they load the '
        "model; one-shot commands skip the compile (tens of seconds) that a single question would not pay back.",
    )

    # --- agent loop
    max_steps: int = Field(default=8, ge=1, le=100, description="Model turns per question before a forced answer.")
    max_seconds: float = Field(default=120.0, gt=0, description="Wall-clock limit per question.")
    change_threshold: float = Field(
        default=0.01, ge=0, le=1, description="Fraction of changed pixels below which a frame counts as unchanged."
    )
    record_sessions: bool = Field(default=True, description="Record every run as a replayable session.")
    screen_parse: bool = Field(default=True, description="OCR/parse the screen into numbered element hints.")
    site_profile: str = Field(
        default="generic",
        description="Site profile the screen parser reads with: a shipped name or a YAML file (docs/site-profiles.md).",
    )

    @field_validator("site_profile")
    @classmethod
    def _readable_profile(cls, value: str) -> str:
        """A bad profile is reported when the settings are made (FILE:LINE: problem), not at the first screen."""
        if value == "generic":
            return value  # shipped, and checked by the tests: no need to import the parser here
        from perception.screen.profile import ProfileError, load_profile

        try:
            load_profile(value)
        except ProfileError as e:
            raise ValueError(str(e)) from None
        return value

    max_retries: int = Field(default=2, ge=0, le=10, description="Model mistakes in a row told back before giving up.")

    # --- actions
    action_mode: Literal["simulated", "live"] = Field(
        default="simulated", description="simulated: validate and record clicks only; live: drive the real screen."
    )
    allowed_regions: list[tuple[int, int, int, int]] = Field(
        default_factory=list,
        description="Screen rectangles (x1, y1, x2, y2) where live actions may land; empty = whole screen.",
    )
    min_action_interval: float = Field(default=0.5, ge=0, description="Seconds between two live actions.")
    approval_timeout_s: float = Field(
        default=900.0, gt=0, description="A live action waiting longer than this for approval can only be rejected."
    )

    # --- routines
    routine_webhook: str | None = Field(
        default=None, description="URL that gets a JSON POST when a routine run fails (a routine's notify overrides)."
    )
    screen_lock_dir: Path = Field(
        default=Path(tempfile.gettempdir()) / "hmi-agent-screens",
        description="Where routine runs lock the screen they drive: one folder for the whole machine, so runs with "
        "different data dirs (or users) still take turns on one display.",
    )
    routine_misfire_grace_s: int = Field(
        default=300, ge=1, description="A scheduled run missed by more than this many seconds is skipped, not run late."
    )

    # --- service (web UI + JSON API; see agent/service)
    host: str = Field(default="127.0.0.1", description="Address `hmi-agent serve` binds; non-loopback needs auth.")
    port: int = Field(default=7860, ge=1, le=65535)
    allow_networks: list[str] = Field(
        default_factory=list,
        description='Client networks (CIDR) allowed to connect, e.g. ["10.0.0.0/8"]; empty = everyone (loopback only).',
    )
    api_token: SecretStr | None = Field(default=None, description="Bearer token for the API and UI.")
    api_tokens: dict[str, SecretStr] = Field(
        default_factory=dict,
        description='Named bearer tokens, operator name -> token, e.g. {"alice": "..."}: the name is recorded as the '
        "approver of live actions (a name in a request body is only a note).",
    )
    basic_auth_user: str | None = Field(default=None, description="User name for browser (HTTP basic) login.")
    basic_auth_password: SecretStr | None = Field(default=None, description="Password for browser login.")
    queue_size: int = Field(default=8, ge=1, le=1000, description="Requests that may wait for the model; more get 503.")

    @property
    def sessions_dir(self) -> Path:
        return self.data_dir / "sessions"

    @property
    def checkpoint_path(self) -> Path:
        return self.data_dir / "threads.sqlite"
