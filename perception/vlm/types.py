"""What every vision-language backend returns, whichever engine runs the model."""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel, Field


class ToolCall(BaseModel):
    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class GenerationStats(BaseModel):
    input_tokens: int
    vision_tokens: int
    output_tokens: int
    time_to_first_token_s: float
    total_s: float
    tokens_per_s: float  # decode speed after the first token

    @classmethod
    def timed(
        cls,
        *,
        input_tokens: int,
        vision_tokens: int,
        output_tokens: int,
        started: float,
        first_token_at: float | None,
        finished: float,
    ) -> GenerationStats:
        """Stats from `time.perf_counter()` readings; without a first-token time the speed is over the whole call."""
        if first_token_at is None:
            rate = output_tokens / (finished - started) if finished > started else 0.0
        else:
            later_tokens, decode_time = output_tokens - 1, finished - first_token_at
            rate = later_tokens / decode_time if later_tokens > 0 and decode_time > 0 else 0.0
        return cls(
            input_tokens=input_tokens,
            vision_tokens=vision_tokens,
            output_tokens=output_tokens,
            time_to_first_token_s=(first_token_at or finished) - started,
            total_s=finished - started,
            tokens_per_s=rate,
        )

    def summary(self) -> str:
        return (
            f"{self.input_tokens} in ({self.vision_tokens} vision), {self.output_tokens} out, "
            f"ttft {self.time_to_first_token_s:.2f}s, total {self.total_s:.2f}s, {self.tokens_per_s:.1f} tok/s"
        )


class VLMReply(BaseModel):
    text: str  # the model's content with tool-call blocks (and any <think> section) removed
    tool_calls: list[ToolCall] = Field(default_factory=list)
    raw: str  # exact model output, for session records and debugging
    stats: GenerationStats


class ModelOutputError(ValueError):
    """The model's output could not be parsed; the message says what was wrong in words fit to hand back to it.

    Raised by a backend's `generate`, it also carries the exact output and the call's stats for the session record.
    """

    raw: str | None = None
    stats: GenerationStats | None = None


class ModelServerError(ConnectionError):
    """The OpenAI-compatible model server is unreachable, timed out or refused the request; one line naming its URL."""


class ModelDeadlineError(TimeoutError):
    """A model call ran past its deadline and was cancelled there (a server trickling bytes, a model generating
    too long); the question ends as limited by time. Carries the call's stats when it has any."""

    stats: GenerationStats | None = None


class ModelLoadError(ValueError):
    """The model cannot be loaded or reached (bad path, not cached offline, missing package, server down);
    one line naming what to fix."""


class ModelNotInstalled(ModelLoadError):
    """The configured hub model is not in the local cache: the agent answers with the parser's draft meanwhile."""


class VisionLanguageModel(Protocol):
    """Messages are HF/OpenAI-shaped dicts (images as PIL in `{"type": "image", "image": ...}` items); tools are
    OpenAI function schemas."""

    model_id: str

    def generate(
        self,
        messages: list[dict],
        tools: list[dict] | None = None,
        *,
        max_new_tokens: int = 512,
        time_limit_s: float | None = None,
    ) -> VLMReply:
        """One model turn; with `time_limit_s`, cancelled at that many seconds (ModelDeadlineError)."""
        ...
