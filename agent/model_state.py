"""Whether the model can answer: ready, loading (the service loads it in the background), or unavailable with the
reason and the command that fixes it. Without a model the agent answers with the screen parser's draft
(agent/draft.py, docs/two-speeds.md) — never a dead end."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.settings import Settings
from perception.vlm.types import ModelLoadError, ModelNotInstalled, VisionLanguageModel

logger = logging.getLogger(__name__)

NO_BACKEND = "HMI_AGENT_BACKEND=none: answers come from the screen parser and the alarm database alone"


INSTALL_HINT = (
    "meanwhile this answer is the screen parser's draft. On a CPU-only PC use the 2B (`hmi-agent model pull 2b`, "
    "HMI_AGENT_MODEL=Qwen/Qwen3-VL-2B-Instruct), with a GPU the 4B (`hmi-agent model pull 4b`)"
)

# put before the (English) reason in a Chinese answer: the operator reads what to do; the reason stays as logged
INSTALL_HINT_ZH = (
    "未使用模型，本回答为屏幕解析器的草稿。仅有 CPU 的电脑请安装 2B 模型（hmi-agent model pull 2b），"
    "有 GPU 的请安装 4B 模型（hmi-agent model pull 4b）。详情："
)


def load_vlm(settings: Settings, *, long_running: bool = False) -> VisionLanguageModel:
    """The model named by the settings; ModelLoadError (one line saying what to do) when it can't be had.

    `long_running` (service, scheduler): compile the GPU decode step when settings say "auto", and warm the model
    up now, so the first operator's question doesn't pay for kernel loading and compiling."""
    if settings.backend == "openai":
        from perception.vlm.openai_backend import OpenAICompatibleVLM

        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        return OpenAICompatibleVLM(settings.openai_base_url, settings.model, api_key=key)
    from perception.vlm.transformers_backend import TransformersQwen3VL

    compile_mode = settings.model_compile if settings.model_compile != "auto" or long_running else "off"
    try:
        model = TransformersQwen3VL.load(
            settings.model,
            device=settings.device,
            dtype=settings.dtype,
            quantization=settings.quantization,
            min_pixels=settings.min_pixels,
            max_pixels=settings.max_pixels,
            compile=compile_mode,
        )
    except ModelLoadError as e:
        local = Path(settings.model).expanduser().exists() or settings.model.startswith(("/", "./", "../", "~"))
        if local or not isinstance(e.__cause__, OSError):  # only a failed hub-cache lookup means "pull it first"
            raise
        from agent.models_hub import cache_dir

        raise ModelNotInstalled(  # the loader's own words (a hub URL it never tried) would only confuse
            f"model {settings.model!r} is not in the local cache ({cache_dir()}): pull it with `hmi-agent model pull` "
            "on a connected machine, or pass --model DIR"
        ) from e
    if long_running and model.device_is_cuda():  # on a CPU the warm-up prefill costs more than it saves
        try:
            seconds = model.warm_up()
            logger.info("model warmed up in %.1f s (decode compiled: %s)", seconds, model.compile_decode)
        except Exception as e:  # the questions will say what is wrong; starting the service must not fail here
            logger.warning(
                "model warm-up failed (%s: %s); the first question pays for loading instead",
                type(e).__name__,
                (str(e).splitlines() or [""])[0],
            )
    return model


def load_or_explain(settings: Settings, *, long_running: bool = False) -> tuple[Any, str | None]:
    """(the model, None), or (None, why there is none) when the backend is "none" or the configured hub model is not
    installed. Other load errors (a wrong folder, a bad dtype) still raise: they are the operator's to fix."""
    if settings.backend == "none":
        return None, NO_BACKEND
    try:
        return load_vlm(settings, long_running=long_running), None
    except ModelNotInstalled as e:
        return None, f"{e}; {INSTALL_HINT}"


class BackgroundModel:
    """Loads the model on a thread so the service answers (with drafts) at once; `state` says how far it got:
    "loading", "ready", "none" (HMI_AGENT_BACKEND=none) or "unavailable: <reason and the fixing command>"."""

    def __init__(
        self, settings: Settings, on_ready: Callable[[Any], None], on_unavailable: Callable[[str], None]
    ) -> None:
        self.state = "none" if settings.backend == "none" else "loading"
        self._on_ready, self._on_unavailable = on_ready, on_unavailable
        self._load = lambda: load_or_explain(settings, long_running=True)
        self.thread = threading.Thread(target=self._run, name="model-loader", daemon=True)

    def start(self) -> BackgroundModel:
        if self.state == "loading":
            self.thread.start()
        else:
            self._on_unavailable(NO_BACKEND)
        return self

    def _run(self) -> None:
        try:
            model, reason = self._load()
        except Exception as e:  # a wrong folder or setting: the service stays up, /healthz says what to fix
            model, reason = None, (str(e).splitlines() or [type(e).__name__])[0]
        if model is None:
            self.state = f"unavailable: {reason}"
            self._on_unavailable(reason)
            logger.warning("no model, answering with the parser's drafts: %s", reason)
            return
        self._on_ready(model)
        self.state = "ready"
        logger.info("model ready: %s", getattr(model, "model_id", model))
