"""Greedy batch-1 decoding for Qwen3-VL with the decode step compiled once and replayed as a CUDA graph.

transformers' `generate` spends milliseconds of Python around every decode step (input preparation, Qwen3-VL's
M-RoPE bookkeeping with a GPU->CPU sync, logits processors, stopping criteria): eagerly the 4B decoded 15 tokens/s
on an H200 (bench/RESULTS.md). Here the whole step — embedding, all layers on a static KV cache, LM head, argmax —
is one `torch.compile(mode="reduce-overhead")` graph replayed as a CUDA graph, the next token stays on the GPU, the
new token attends with its query heads grouped over the shared key/value heads (`grouped_decode_attention`), and
the CPU looks at the tokens only every `CHECK_EVERY` steps to see whether a stop token came (figures in
bench/RESULTS.md).

The prefill (vision tower, the image's M-RoPE positions) stays transformers' own forward, uncompiled: its shapes
change with every screenshot and prompt. Without CUDA (tests, CPU) the same step runs eagerly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

CHECK_EVERY = 8  # decode steps between looks for a stop token: at most this many tokens computed in vain
# generation_config fields that change greedy choices; the decoder applies none of them (min_new_tokens aside), so a
# checkpoint that sets one decodes with transformers' generate
UNSUPPORTED_PROCESSORS = {"repetition_penalty": 1.0, "no_repeat_ngram_size": 0, "bad_words_ids": None,
                          "suppress_tokens": None, "begin_suppress_tokens": None, "sequence_bias": None,
                          "forced_bos_token_id": None, "forced_eos_token_id": None, "min_length": 0,
                          "exponential_decay_length_penalty": None}


GROUPED_DECODE = "hmi_grouped_decode"  # the attention implementation the decoder sets on the language model


def grouped_decode_attention(module, query, key, value, attention_mask, dropout: float = 0.0, scaling=None,
                             **kwargs):
    """Attention for one new token over a static KV cache: the query heads attend in groups over the key/value heads
    they share, as two batched matmuls. transformers' sdpa path instead copies the 8 key/value heads to 32 for every
    layer and token (`repeat_kv`: its copy-free path is off under torch.compile and with a mask) and hands one query
    row to the efficient-attention kernel: the 4B decoded 131 tokens/s that way and 191 this way on an H200, same
    run (bench/RESULTS.md). Scores come from a bf16 matmul and go through softmax in float32, as in transformers'
    eager attention. Prompts (more than one query token) and anything else go to transformers' sdpa."""
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if query.shape[2] != 1 or (attention_mask is not None and attention_mask.shape[1] != 1):
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      **kwargs)
    batch, heads, _, dim = query.shape
    kv_heads = key.shape[1]
    grouped = query.reshape(batch, kv_heads, heads // kv_heads, dim)  # query heads sharing a key/value head
    scores = torch.matmul(grouped, key.transpose(-1, -2)).float() * (scaling if scaling is not None else dim**-0.5)
    if attention_mask is not None:  # (batch, 1, 1, cache): True (or 0.0) where the slot may be attended
        scores = (scores.masked_fill(~attention_mask, float("-inf")) if attention_mask.dtype == torch.bool
                  else scores + attention_mask)
    output = torch.matmul(scores.softmax(-1).to(value.dtype), value)
    return output.reshape(batch, heads, 1, dim).transpose(1, 2).contiguous(), None


def register_grouped_decode_attention() -> None:
    """Makes GROUPED_DECODE an attention implementation transformers models can be set to (masks built as sdpa's)."""
    from transformers import AttentionInterface, AttentionMaskInterface
    from transformers.masking_utils import sdpa_mask

    AttentionInterface.register(GROUPED_DECODE, grouped_decode_attention)
    AttentionMaskInterface.register(GROUPED_DECODE, sdpa_mask)


def unsupported_generation_options(generation_config) -> list[str]:
    """generation_config fields set to something the decoder would ignore (they would change the answer)."""
    return [name for name, neutral in UNSUPPORTED_PROCESSORS.items()
            if getattr(generation_config, name, neutral) not in (neutral, None)]


class StaticDecoder:
    """Decodes on one preallocated KV cache of `max_cache_len` tokens; `compile=True` turns the step into a CUDA graph
    (built during the first generate: tens of seconds in a fresh process, seconds once torch's compile cache on disk
    is warm), False runs the same step eagerly (CPU, tests)."""

    def __init__(self, model: Any, max_cache_len: int, *, compile: bool = True):
        from transformers import StaticCache

        text = model.config.get_text_config(decoder=True)
        if text._attn_implementation != GROUPED_DECODE:
            # also replaces flash attention, which knows how much of a static cache is filled only from a 2-D
            # attention mask (the step passes none) and would attend to the empty slots
            logger.info("decoding with grouped-head attention (sdpa for prompts) instead of %s",
                        text._attn_implementation)
            register_grouped_decode_attention()
            model.set_attn_implementation({"text_config": GROUPED_DECODE})
        self.model = model
        self.max_cache_len = max_cache_len
        self.cache = StaticCache(config=model.config, max_cache_len=max_cache_len)
        self.compiled = compile
        # one graph for the whole step; should a torch/transformers pair break it somewhere, the step is compiled
        # again allowing breaks (several CUDA graphs, slower) rather than failing
        self._whole_graph = compile
        self._step = self._compile(fullgraph=True) if compile else self._decode_step

    def _compile(self, fullgraph: bool):
        import torch

        return torch.compile(self._decode_step, mode="reduce-overhead", fullgraph=fullgraph)

    def _decode_step(self, token, position, rope_delta, stops_from, stop_mask):
        """token (1, 1) at text position `position` (1, 1) -> the next token (1, 1); appends to the cache. Stop tokens
        (`stop_mask`, one flag per vocabulary entry) can't be chosen while `position` < `stops_from` (min_new_tokens,
        as transformers' MinNewTokensLengthLogitsProcessor does it)."""
        import torch

        mrope = position + rope_delta
        position_ids = torch.cat([position, mrope, mrope, mrope]).view(4, 1, 1)  # text row, then (t, h, w)
        hidden = self.model.model.language_model(input_ids=token, position_ids=position_ids, cache=self.cache,
                                                 use_cache=True).last_hidden_state
        logits = self.model.lm_head(hidden[:, -1:])
        blocked = stop_mask & (position < stops_from).view(1, 1, 1)
        return logits.masked_fill(blocked, float("-inf")).argmax(-1)

    def _run_step(self, *args):
        import torch

        if not self.compiled:
            return self._decode_step(*args)
        torch.compiler.cudagraph_mark_step_begin()
        try:
            return self._step(*args)
        except torch._dynamo.exc.Unsupported as e:
            if not self._whole_graph:
                raise
            logger.warning("the decode step does not compile as one graph (%s); compiling it in pieces",
                           (str(e).splitlines() or [""])[0])
            self._whole_graph, self._step = False, self._compile(fullgraph=False)
            torch.compiler.cudagraph_mark_step_begin()
            return self._step(*args)

    def generate(self, inputs: dict, *, max_new_tokens: int, stop_ids: set[int], min_new_tokens: int = 0,
                 on_first_token: Callable[[], None] | None = None) -> list[int]:
        """The new token ids (with the stop token, if one came), as `generate(do_sample=False)` gives them for a
        generation config without the processors in UNSUPPORTED_PROCESSORS."""
        import torch

        prompt_length = inputs["input_ids"].shape[1]
        if prompt_length + max_new_tokens > self.max_cache_len:
            raise ValueError(f"{prompt_length=} + {max_new_tokens=} does not fit the {self.max_cache_len}-token cache")
        with torch.inference_mode():
            self.cache.reset()
            self.model.model.rope_deltas = None  # the prefill computes this prompt's image positions afresh
            logits = self.model(**inputs, cache=self.cache, use_cache=True, logits_to_keep=1).logits
            stop_mask = torch.zeros(logits.shape[-1], dtype=torch.bool, device=logits.device)
            stop_mask[sorted(i for i in stop_ids if 0 <= i < logits.shape[-1])] = True
            if min_new_tokens >= 1:
                logits = logits.masked_fill(stop_mask, float("-inf"))
            token = logits[:, -1:].argmax(-1)
            new_tokens = [int(token)]
            if on_first_token is not None:
                on_first_token()
            if new_tokens[0] in stop_ids or max_new_tokens == 1:
                return new_tokens
            deltas = self.model.model.rope_deltas  # None after a text-only prompt: M-RoPE positions = text positions
            rope_delta = (deltas.to(token.device).view(1, 1) if deltas is not None
                          else torch.zeros((1, 1), dtype=torch.long, device=token.device))
            position = torch.full((1, 1), prompt_length, dtype=torch.long, device=token.device)
            # the step at position p picks new token number p - prompt_length + 2, blocked while that is <= the minimum
            stops_from = torch.full((1, 1), prompt_length + min_new_tokens - 1, dtype=torch.long, device=token.device)
            pending = []
            for _ in range(max_new_tokens - 1):
                # a graph's output is overwritten by its next replay: keep a copy
                token = self._run_step(token, position, rope_delta, stops_from, stop_mask).clone()
                position += 1
                pending.append(token)
                if len(pending) == CHECK_EVERY or len(new_tokens) + len(pending) == max_new_tokens:
                    for value in torch.cat(pending).flatten().tolist():  # the only GPU->CPU sync of the loop
                        new_tokens.append(value)
                        if value in stop_ids:
                            return new_tokens
                    pending = []
        return new_tokens
