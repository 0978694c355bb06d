"""Qwen3-VL backends (in-process transformers, OpenAI-compatible server), output parsing and pixel budgets."""

from perception.vlm.types import (
    GenerationStats,
    ModelLoadError,
    ModelOutputError,
    ModelServerError,
    ToolCall,
    VisionLanguageModel,
    VLMReply,
)

__all__ = [
    "GenerationStats",
    "ModelLoadError",
    "ModelOutputError",
    "ModelServerError",
    "ToolCall",
    "VLMReply",
    "VisionLanguageModel",
]
