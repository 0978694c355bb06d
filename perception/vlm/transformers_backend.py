"""Qwen3-VL in process with transformers: load (hub id or local dir, dtype, quantization), prompt, generate, parse."""

from __future__ import annotations

import gc
import importlib.util
import logging
import threading
import time
from pathlib import Path
from typing import Any

from PIL import Image

from perception.vlm.budget import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS, MERGE_SIZE
from perception.vlm.parsing import parse_tool_calls
from perception.vlm.prefix_cache import PrefixCache
from perception.vlm.processor import load_processor
from perception.vlm.types import GenerationStats, ModelDeadlineError, ModelLoadError, ModelOutputError, VLMReply

logger = logging.getLogger(__name__)

QUANTIZATIONS = ("none", "8bit", "4bit", "int8-cpu")
DTYPES = ("auto", "bfloat16", "float16", "float32")
COMPILE_MODES = ("auto", "on", "off")
# KV-cache length the compiled decode step is built for. A static cache has one shape, so prompts up to this many
# tokens (system + tools + two screenshots + history, plus the reply) never recompile; a longer one grows it once, in
# steps of CACHE_STEP. The decoder's Triton attention reads only the filled slots; its torch fallback reads the whole
# cache every token (8192 tokens of 4B KV are ~1.2 GB against ~8 GB of weights), the price of never recompiling in
# front of an operator.
STATIC_CACHE_TOKENS = 8192
CACHE_STEP = 2048


def images_in(messages: list[dict]) -> list[Image.Image]:
    """PIL images in the order the chat template emits their `<|image_pad|>` placeholders."""
    images = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            for item in content:
                if isinstance(item, dict) and (item.get("type") == "image" or "image" in item):
                    image = item.get("image")
                    if not isinstance(image, Image.Image):
                        raise TypeError(f"image items must carry a PIL image, got {type(image).__name__}")
                    images.append(image)
    return images


def _resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelLoadError(f"{device=} requested but this machine has no CUDA GPU (use device='cpu')")
    return device


def _resolve_dtype(dtype: str, device: str):
    import torch

    if dtype not in DTYPES:
        raise ModelLoadError(f"{dtype=} is not one of {', '.join(DTYPES)}")
    if dtype == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    return getattr(torch, dtype)


def _require(module: str, for_what: str) -> None:
    try:
        found = importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # the parent package (e.g. `optimum`) is missing
        found = False
    if not found:
        raise ModelLoadError(f"{for_what} needs the `{module}` package: pip install 'hmi-agent[quant]'")


def _quantization_config(quantization: str, device: str, dtype):
    if quantization not in QUANTIZATIONS:
        raise ModelLoadError(f"{quantization=} is not one of {', '.join(QUANTIZATIONS)}")
    if quantization == "none":
        return None
    if quantization in ("8bit", "4bit"):
        if not device.startswith("cuda"):
            raise ModelLoadError(f"{quantization=} (bitsandbytes) needs a CUDA GPU; on CPU use quantization='int8-cpu'")
        _require("bitsandbytes", f"{quantization=}")
        _require("accelerate", f"{quantization=}")
        from transformers import BitsAndBytesConfig

        if quantization == "8bit":
            return BitsAndBytesConfig(load_in_8bit=True)
        return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=dtype)
    _require("optimum.quanto", f"{quantization=}")
    _require("accelerate", f"{quantization=}")  # transformers' quanto loader needs it
    from transformers import QuantoConfig

    return QuantoConfig(weights="int8")


def _attention(attn_implementation: str | None, device: str) -> str:
    if attn_implementation:
        return attn_implementation
    if device.startswith("cuda") and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


class _FirstTokenTimer:
    """A generate() streamer that only timestamps: its first `put` is the prompt, the second the first new token.
    The static decoder calls `mark` instead."""

    def __init__(self):
        self._puts = 0
        self.first_token_at: float | None = None

    def put(self, value) -> None:
        self._puts += 1
        if self._puts == 2:
            self.mark()

    def mark(self) -> None:
        self.first_token_at = time.perf_counter()

    def end(self) -> None:
        pass


def _compile_decode(compile_mode: str, device: str, quantization: str) -> bool:
    """ "auto" compiles on CUDA with unquantized weights: bitsandbytes layers don't compile, and CPU gains nothing."""
    if compile_mode not in COMPILE_MODES:
        raise ModelLoadError(f"compile={compile_mode!r} is not one of {', '.join(COMPILE_MODES)}")
    if compile_mode == "on" and not device.startswith("cuda"):
        raise ModelLoadError(
            f"compile={compile_mode!r} needs a CUDA GPU (the decode step becomes a CUDA graph) and "
            f"this model runs on {device!r}: use 'auto' or 'off'"
        )
    if compile_mode == "on" and quantization in ("8bit", "4bit"):
        raise ModelLoadError(
            f"compile={compile_mode!r} cannot compile bitsandbytes {quantization=} weights: use "
            "'auto' or 'off' (quantized models decode eagerly)"
        )
    if compile_mode == "auto":
        return device.startswith("cuda") and quantization == "none"
    return compile_mode == "on"


class TransformersQwen3VL:
    """Qwen3-VL (2B/4B/8B, Instruct or Thinking) running in this process.

    With `compile_decode` the decode runs in `StaticDecoder` (static KV cache, the step one CUDA graph): at batch 1
    transformers' eager decode loop is bound by Python and kernel launches, the compiled step by memory bandwidth
    (bench/RESULTS.md). The first generate (or `warm_up`) pays the compile; if compiling fails, the model falls back
    to transformers' eager decode and logs why.
    """

    def __init__(
        self,
        model: Any,
        processor: Any,
        *,
        model_id: str,
        min_pixels: int = DEFAULT_MIN_PIXELS,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        compile_decode: bool = False,
        static_cache_tokens: int = STATIC_CACHE_TOKENS,
        prefix_cache: bool = True,
    ):
        if not 0 < min_pixels <= max_pixels:
            raise ValueError(f"pixel budget needs 0 < min_pixels <= max_pixels, got {min_pixels=} {max_pixels=}")
        self.model = model
        self.processor = processor
        self.model_id = model_id
        self.min_pixels = min_pixels
        self.max_pixels = max_pixels
        self.compile_decode = compile_decode
        self.static_cache_tokens = static_cache_tokens
        self._decoder = None  # StaticDecoder, built on the first compiled generate
        # one request at a time: the decoder has one KV cache, and batch-1 requests gain nothing from overlapping
        self._busy = threading.Lock()
        # the prompt's fixed start (system prompt + tools), prefilled once (perception/vlm/prefix_cache.py)
        self.prefix_cache = PrefixCache(model, model.config.vision_start_token_id) if prefix_cache else None

    @classmethod
    def load(
        cls,
        model: str | Path,
        *,
        device: str = "auto",
        dtype: str = "auto",
        quantization: str = "none",
        min_pixels: int = DEFAULT_MIN_PIXELS,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        attn_implementation: str | None = None,
        compile: str = "auto",
    ) -> TransformersQwen3VL:
        """Loads a hub id from the local cache (`hmi-agent model pull` fetches it) or a local checkpoint directory;
        never touches the hub.

        dtype "auto" is bfloat16 on CUDA and float32 on CPU; quantization "8bit"/"4bit" use bitsandbytes (CUDA),
        "int8-cpu" optimum-quanto int8 weights; attention is flash-attention 2 on CUDA when installed, else sdpa.
        compile "auto" compiles the decode step on CUDA for unquantized weights (see the class docstring).
        """
        from transformers import Qwen3VLForConditionalGeneration

        local = Path(model).expanduser().is_dir()
        source = str(Path(model).expanduser()) if local else str(model)
        if local and not (Path(source) / "config.json").is_file():
            raise ModelLoadError(f"{source!r} is not a model checkpoint folder: it has no config.json")
        if not local and str(model).startswith(("/", "./", "../", "~")):  # a path, not a hub id like Qwen/...
            raise ModelLoadError(f"model folder {str(model)!r} does not exist (or is not a folder)")
        resolved_device = _resolve_device(device)
        torch_dtype = _resolve_dtype(dtype, resolved_device)
        compile_decode = _compile_decode(compile, resolved_device, quantization)
        kwargs: dict[str, Any] = {
            "dtype": torch_dtype,
            "attn_implementation": _attention(attn_implementation, resolved_device),
            "local_files_only": True,  # never the hub: an offline plant would wait minutes on its retries
        }
        quantization_config = _quantization_config(quantization, resolved_device, torch_dtype)
        if quantization_config is not None:
            kwargs["quantization_config"] = quantization_config
        if resolved_device.startswith("cuda"):
            # "auto" spreads a model too big for one GPU (needs accelerate); a plain device string loads straight in
            auto_map = device == "auto" and importlib.util.find_spec("accelerate") is not None
            kwargs["device_map"] = "auto" if auto_map else resolved_device
        try:
            processor = load_processor(source, local_files_only=True)
            qwen = Qwen3VLForConditionalGeneration.from_pretrained(source, **kwargs)
        except OSError as e:  # not a directory, not in the offline cache, or incomplete files
            raise ModelLoadError(f"cannot load Qwen3-VL from {source!r}: {str(e).splitlines()[0]}") from e
        return cls(
            qwen.eval(),
            processor,
            model_id=source,
            min_pixels=min_pixels,
            max_pixels=max_pixels,
            compile_decode=compile_decode,
        )

    def generate(
        self,
        messages: list[dict],
        tools: list[dict] | None = None,
        *,
        max_new_tokens: int = 512,
        min_pixels: int | None = None,
        max_pixels: int | None = None,
        time_limit_s: float | None = None,
    ) -> VLMReply:
        """One model turn. `min_pixels`/`max_pixels` override the loaded pixel budget for this request.

        Raises ModelOutputError (with `.raw` and `.stats` set) when the output has a malformed tool call, and
        ModelDeadlineError when the turn takes more than `time_limit_s` (generation stops there).
        """
        import torch

        started = time.perf_counter()
        deadline = time.monotonic() + time_limit_s if time_limit_s is not None else None
        inputs = self.prepare_inputs(messages, tools, min_pixels=min_pixels, max_pixels=max_pixels)
        prompt_length = inputs["input_ids"].shape[1]
        timer = _FirstTokenTimer()
        with self._busy, torch.inference_mode():
            new_tokens = self._generate(inputs, max_new_tokens, timer, deadline=deadline)
        finished = time.perf_counter()
        stats = _stats(inputs, prompt_length, len(new_tokens), started, timer.first_token_at, finished)
        if deadline is not None and time.monotonic() >= deadline:
            error = ModelDeadlineError(
                f"the model did not finish within {time_limit_s:.1f} s "
                f"({len(new_tokens)} tokens generated); generation was stopped"
            )
            error.stats = stats
            raise error
        raw = self.processor.decode(new_tokens, skip_special_tokens=True)
        try:
            text, tool_calls = parse_tool_calls(raw)
        except ModelOutputError as e:
            e.raw, e.stats = raw, stats
            raise
        return VLMReply(text=text, tool_calls=tool_calls, raw=raw, stats=stats)

    def _generate(
        self,
        inputs,
        max_new_tokens: int,
        timer: _FirstTokenTimer | None = None,
        min_new_tokens: int | None = None,
        deadline: float | None = None,
    ) -> list[int]:
        """Greedy new token ids: the static decoder when compiling, else transformers' generate. `min_new_tokens`
        defaults to the model's generation config, as generate() has it. Decoding stops at `deadline`
        (time.monotonic())."""
        import torch

        from perception.vlm.decoding import unsupported_generation_options

        if min_new_tokens is None:
            min_new_tokens = self.model.generation_config.min_new_tokens or 0
        if self.compile_decode and not unsupported_generation_options(self.model.generation_config):
            try:
                return self._static_decoder(inputs["input_ids"].shape[1] + max_new_tokens).generate(
                    inputs,
                    max_new_tokens=max_new_tokens,
                    stop_ids=self._stop_ids(),
                    min_new_tokens=min_new_tokens,
                    on_first_token=timer.mark if timer else None,
                    deadline=deadline,
                    prefix=self.prefix_cache.layers_for(inputs) if self.prefix_cache is not None else None,
                )
            except torch.OutOfMemoryError:  # this request (say, two big screenshots) did not fit: not the compiler's
                logger.warning("out of GPU memory in the compiled decoder; this request decodes eagerly")
                torch.cuda.empty_cache()
            except Exception as e:  # a compiler failure must cost speed, not the operator's answer
                logger.warning(
                    "compiled decode failed (%s: %s); decoding with transformers' eager generate from now on",
                    type(e).__name__,
                    (str(e).splitlines() or [""])[0],
                )
                self.compile_decode, self._decoder = False, None
                gc.collect()  # frees the static cache now (see _static_decoder) for generate's own
        time_left = {"max_time": max(deadline - time.monotonic(), 0.0)} if deadline is not None else {}
        prefix = self.prefix_cache.cache_for(inputs) if self.prefix_cache is not None else None
        output = self.model.generate(
            **inputs,
            max_new_tokens=max_new_tokens,
            min_new_tokens=min_new_tokens,
            do_sample=False,
            streamer=timer,
            **time_left,
            **({"cache": prefix} if prefix is not None else {}),
        )
        return output[0, inputs["input_ids"].shape[1] :].tolist()

    def _static_decoder(self, tokens_needed: int):
        """The decoder whose cache holds `tokens_needed`; a longer request than ever before grows it (one recompile)."""
        from perception.vlm.decoding import StaticDecoder

        if self._decoder is None or tokens_needed > self._decoder.max_cache_len:
            length = max(self.static_cache_tokens, -(-tokens_needed // CACHE_STEP) * CACHE_STEP)
            if self._decoder is not None:
                logger.info(
                    "a %d-token request outgrew the %d-token KV cache: rebuilding it at %d (recompiles)",
                    tokens_needed,
                    self._decoder.max_cache_len,
                    length,
                )
                self._decoder = None
                gc.collect()  # the old decoder is a reference cycle (its step is its own bound method): free its cache
                if self.device_is_cuda():
                    import torch

                    torch._dynamo.reset()  # the old step's graphs hold the old cache
                    torch.cuda.empty_cache()
            self._decoder = StaticDecoder(self.model, length, compile=self.device_is_cuda())
        return self._decoder

    def _stop_ids(self) -> set[int]:
        eos = self.model.generation_config.eos_token_id
        return set(eos) if isinstance(eos, list) else {eos} if eos is not None else set()

    def device_is_cuda(self) -> bool:
        return self.model.device.type == "cuda"

    def warm_up(self, image_size: tuple[int, int] = (1920, 1080), max_new_tokens: int = 8) -> float:
        """One throwaway generate on a blank screenshot at the loaded pixel budget, so a long-running service pays
        kernel loading (and, with compile_decode, the compile) at start instead of on the first question.
        Returns its seconds."""
        import torch

        started = time.perf_counter()
        messages = [
            {
                "role": "user",
                "content": [
                    {"type": "image", "image": Image.new("RGB", image_size, "grey")},
                    {"type": "text", "text": "warm-up"},
                ],
            }
        ]
        inputs = self.prepare_inputs(messages)
        with self._busy, torch.inference_mode():
            self._generate(inputs, max_new_tokens, min_new_tokens=max_new_tokens)
        return time.perf_counter() - started

    def prepare_inputs(
        self,
        messages: list[dict],
        tools: list[dict] | None = None,
        *,
        min_pixels: int | None = None,
        max_pixels: int | None = None,
    ):
        """Chat template (with the tools block) -> token ids, pixel values and image grids on the model's device."""
        prompt = self.processor.apply_chat_template(messages, tools=tools, add_generation_prompt=True, tokenize=False)
        images = images_in(messages)
        kwargs: dict[str, Any] = {}
        if images:
            size = {"shortest_edge": min_pixels or self.min_pixels, "longest_edge": max_pixels or self.max_pixels}
            kwargs = {"images": images, "size": size}
        return self.processor(text=[prompt], return_tensors="pt", **kwargs).to(self.model.device)


def _stats(inputs, prompt_length: int, output_tokens: int, started, first_token_at, finished) -> GenerationStats:
    grid = inputs.get("image_grid_thw")
    vision_tokens = int((grid.prod(dim=-1) // MERGE_SIZE**2).sum()) if grid is not None else 0
    return GenerationStats.timed(
        input_tokens=prompt_length,
        vision_tokens=vision_tokens,
        output_tokens=output_tokens,
        started=started,
        first_token_at=first_token_at,
        finished=finished,
    )
