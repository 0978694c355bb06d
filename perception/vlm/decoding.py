"""Greedy batch-1 decoding for Qwen3-VL with the decode step compiled once and replayed as a CUDA graph.

transformers' `generate` spends milliseconds of Python around every decode step (input preparation, Qwen3-VL's
M-RoPE bookkeeping with a GPU->CPU sync, logits processors, stopping criteria), so eager decoding is far below the
memory-bandwidth limit (bench/RESULTS.md, GPU figures). Here the whole step — embedding, all layers on a static KV cache, LM head, argmax —
is one `torch.compile(mode="reduce-overhead")` graph replayed as a CUDA graph, the next token stays on the GPU, and
the CPU looks at the tokens only every `CHECK_EVERY` steps to see whether a stop token came.

The step runs the text layers itself ("fused" / "kernels" steps): each layer's q/k/v projections are one weight
tensor and gate/up another (the modules' weights become views of them: no extra memory), and on a CUDA GPU with
triton the matrix-vector products and the new token's attention are perception.vlm.kernels' Triton kernels, which
read the weights near memory bandwidth and only the filled part of the cache. A text model laid out otherwise
(biases, a mixture of experts) decodes through transformers' own layers ("modules" step) with the new token's query
heads grouped over the shared key/value heads (`grouped_decode_attention`). Figures in bench/RESULTS.md.

The prefill (vision tower, the image's M-RoPE positions) stays transformers' own forward, uncompiled: its shapes
change with every screenshot and prompt. Without CUDA (tests, CPU) the same step runs eagerly.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

CHECK_EVERY = 8  # decode steps between looks for a stop token: at most this many tokens computed in vain
# generation_config fields that change greedy choices; the decoder applies none of them (min_new_tokens aside), so a
# checkpoint that sets one decodes with transformers' generate
UNSUPPORTED_PROCESSORS = {
    "repetition_penalty": 1.0,
    "no_repeat_ngram_size": 0,
    "bad_words_ids": None,
    "suppress_tokens": None,
    "begin_suppress_tokens": None,
    "sequence_bias": None,
    "forced_bos_token_id": None,
    "forced_eos_token_id": None,
    "min_length": 0,
    "exponential_decay_length_penalty": None,
}


GROUPED_DECODE = "hmi_grouped_decode"  # the attention implementation the decoder sets on the language model


def grouped_decode_attention(module, query, key, value, attention_mask, dropout: float = 0.0, scaling=None, **kwargs):
    """Attention for one new token over a static KV cache: the query heads attend in groups over the key/value heads
    they share, as two batched matmuls. transformers' sdpa path instead copies the 8 key/value heads to 32 for every
    layer and token (`repeat_kv`: its copy-free path is off under torch.compile and with a mask) and hands one query
    row to the efficient-attention kernel, measurably slower than this (bench/RESULTS.md, GPU figures,
    decoder+sdpa vs decoder). Scores come from a bf16 matmul and go through softmax in float32, as in transformers'
    eager attention. Prompts (more than one query token) and anything else go to transformers' sdpa."""
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if query.shape[2] != 1 or (attention_mask is not None and attention_mask.shape[1] != 1):
        return sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs
        )
    batch, heads, _, dim = query.shape
    kv_heads = key.shape[1]
    grouped = query.reshape(batch, kv_heads, heads // kv_heads, dim)  # query heads sharing a key/value head
    scores = torch.matmul(grouped, key.transpose(-1, -2)).float() * (scaling if scaling is not None else dim**-0.5)
    if attention_mask is not None:  # (batch, 1, 1, cache): True (or 0.0) where the slot may be attended
        scores = (
            scores.masked_fill(~attention_mask, float("-inf"))
            if attention_mask.dtype == torch.bool
            else scores + attention_mask
        )
    output = torch.matmul(scores.softmax(-1).to(value.dtype), value)
    return output.reshape(batch, heads, 1, dim).transpose(1, 2).contiguous(), None


def register_grouped_decode_attention() -> None:
    """Makes GROUPED_DECODE an attention implementation transformers models can be set to (masks built as sdpa's)."""
    from transformers import AttentionInterface, AttentionMaskInterface
    from transformers.masking_utils import sdpa_mask

    AttentionInterface.register(GROUPED_DECODE, grouped_decode_attention)
    AttentionMaskInterface.register(GROUPED_DECODE, sdpa_mask)


STEPS = ("auto", "kernels", "fused", "modules")


@dataclass(frozen=True)
class FusedLayer:
    """One text layer's projections that read the same input, as one weight each (rows: q, k, v / gate, up)."""

    qkv: Any  # torch.Tensor (q + k + v rows, hidden)
    qkv_rows: tuple[int, int, int]
    gate_up: Any  # torch.Tensor (2 * intermediate, hidden)


# per language model: its fused weights, so a decoder rebuilt for a longer cache reuses them (fusing again would hold
# a second copy of most of the model while it runs)
_fused_weights: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


_ATTENTION_PARTS = ("q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm")
_MLP_PARTS = ("gate_proj", "up_proj", "down_proj", "act_fn")


def _dense(layer) -> bool:
    """A dense Qwen3-VL text layer: these parts, all seven projections bias-free nn.Linear."""
    import torch

    attention, mlp = getattr(layer, "self_attn", None), getattr(layer, "mlp", None)
    if not (
        all(hasattr(attention, name) for name in _ATTENTION_PARTS) and all(hasattr(mlp, name) for name in _MLP_PARTS)
    ):
        return False
    projections = [getattr(attention, name) for name in _ATTENTION_PARTS[:4]]
    projections += [getattr(mlp, name) for name in _MLP_PARTS[:3]]
    return all(type(m) is torch.nn.Linear and m.bias is None for m in projections)


def fusable(language_model) -> bool:
    """Whether the decoder can run these text layers itself (dense layers: no biases, no experts, plain weights)."""
    return all(_dense(layer) for layer in language_model.layers)


def fused_layers(language_model) -> list[FusedLayer]:
    """Each layer's q/k/v weights concatenated into one tensor and gate/up into another; the modules' weights become
    views into them, so the prefill and transformers' generate run as before on the same memory."""
    import torch

    cached = _fused_weights.get(language_model)
    if cached is not None and all(
        layer.self_attn.q_proj.weight.data_ptr() == fused.qkv.data_ptr()
        for layer, fused in zip(language_model.layers, cached, strict=True)
    ):
        return cached

    def fuse(modules) -> Any:
        fused = torch.cat([m.weight.detach() for m in modules])
        # a plain tensor the compiled step reads is an input the CUDA graph would copy into place at every replay
        # (run 6 in bench/RESULTS.md: 2.2 ms of a 6 ms step); weights never move, so the graph reads them in place
        torch._dynamo.mark_static_address(fused)
        for module, view in zip(modules, fused.split([m.weight.shape[0] for m in modules]), strict=True):
            module.weight = torch.nn.Parameter(view, requires_grad=False)
        return fused

    layers = []
    with torch.no_grad():
        for layer in language_model.layers:  # one layer at a time: the copy costs one layer's memory at most
            attention, mlp = layer.self_attn, layer.mlp
            rows = (attention.q_proj.out_features, attention.k_proj.out_features, attention.v_proj.out_features)
            layers.append(
                FusedLayer(
                    qkv=fuse([attention.q_proj, attention.k_proj, attention.v_proj]),
                    qkv_rows=rows,
                    gate_up=fuse([mlp.gate_proj, mlp.up_proj]),
                )
            )
    _fused_weights[language_model] = layers
    return layers


def choose_step(model, step: str = "auto") -> str:
    """ "auto": the Triton kernels where they run, else the fused layers in torch, else transformers' layers."""
    from perception.vlm import kernels

    if step not in STEPS:
        raise ValueError(f"{step=} is not one of {', '.join(STEPS)}")
    language_model = model.model.language_model
    fits = fusable(language_model)
    head_dim = model.config.get_text_config(decoder=True).head_dim
    devices = {p.device for p in language_model.parameters()}  # Triton launches on one GPU: no split models
    runs_kernels = len(devices) == 1 and kernels.available(model.device) and kernels.head_dim_fits(head_dim)
    if step == "auto":
        return "kernels" if fits and runs_kernels else "fused" if fits else "modules"
    if step != "modules" and not fits:
        first = language_model.layers[0]
        raise ValueError(
            f"{step=} needs dense text layers with bias-free nn.Linear projections; this model's first "
            f"layer has {type(getattr(first, 'mlp', None)).__name__} as its MLP"
        )
    if step == "kernels" and not runs_kernels:
        raise ValueError(
            f"{step=} needs triton, the text model on one CUDA GPU of compute capability 8.0+ (or the "
            f"CPU with TRITON_INTERPRET=1) and a power-of-two head_dim: {sorted(map(str, devices))=}, "
            f"{head_dim=}"
        )
    return step


def unsupported_generation_options(generation_config) -> list[str]:
    """generation_config fields set to something the decoder would ignore (they would change the answer)."""
    return [
        name
        for name, neutral in UNSUPPORTED_PROCESSORS.items()
        if getattr(generation_config, name, neutral) not in (neutral, None)
    ]


class StaticDecoder:
    """Decodes on one preallocated KV cache of `max_cache_len` tokens; `compile=True` turns the step into a CUDA graph
    (built during the first generate: tens of seconds in a fresh process, seconds once torch's compile cache on disk
    is warm), False runs the same step eagerly (CPU, tests). `step` picks how a step runs the text layers (see the
    module docstring and `choose_step`)."""

    def __init__(self, model: Any, max_cache_len: int, *, compile: bool = True, step: str = "auto"):
        from transformers import StaticCache

        self.step = choose_step(model, step)
        text = model.config.get_text_config(decoder=True)
        if text._attn_implementation != GROUPED_DECODE:
            # the prompt attends through it (sdpa) and the "modules" step's token too; it also replaces flash
            # attention, which knows how much of a static cache is filled only from a 2-D attention mask (a step
            # passes none) and would attend to the empty slots
            logger.info(
                "decoding with grouped-head attention (sdpa for prompts) instead of %s", text._attn_implementation
            )
            register_grouped_decode_attention()
            model.set_attn_implementation({"text_config": GROUPED_DECODE})
        self.model = model
        self.max_cache_len = max_cache_len
        self.cache = StaticCache(config=model.config, max_cache_len=max_cache_len)
        self.layers = fused_layers(model.model.language_model) if self.step != "modules" else None
        if self.step == "kernels":
            self._tune_kernels()
        self._decode_step = self._module_step if self.step == "modules" else self._fused_step
        self.compiled = compile
        # one graph for the whole step; should a torch/transformers pair break it somewhere, the step is compiled
        # again allowing breaks (several CUDA graphs, slower) rather than failing
        self._whole_graph = compile
        self._step = self._compile(fullgraph=True) if compile else self._decode_step

    def _compile(self, fullgraph: bool):
        import torch

        return torch.compile(self._decode_step, mode="reduce-overhead", fullgraph=fullgraph)

    def _tune_kernels(self) -> None:
        """Runs each kernel once on the step's shapes, so their autotuners measure now rather than while the compiler
        warms the CUDA graph up: the matrix-vector product per weight shape, the attention on a cache of this
        length a quarter filled."""
        import torch

        from perception.vlm import kernels

        text = self.model.config.get_text_config(decoder=True)
        weights = [
            w
            for layer, fused in zip(self.model.model.language_model.layers, self.layers, strict=True)
            for w in (fused.qkv, layer.self_attn.o_proj.weight, fused.gate_up, layer.mlp.down_proj.weight)
        ]
        place = {"dtype": weights[0].dtype, "device": weights[0].device}
        with torch.inference_mode():
            for (_, columns), weight in {tuple(w.shape): w for w in weights}.items():
                kernels.gemv(torch.zeros((1, 1, columns), **place), weight)
            cache = torch.zeros((1, text.num_key_value_heads, self.max_cache_len, text.head_dim), **place)
            query = torch.zeros((1, text.num_attention_heads, 1, text.head_dim), **place)
            filled = torch.tensor([max(self.max_cache_len // 4, 1)], device=place["device"])
            kernels.decode_attention(query, cache, cache, filled, text.head_dim**-0.5)

    def _module_step(self, token, position, rope_delta, stops_from, stop_mask):
        """token (1, 1) at text position `position` (1, 1) -> the next token (1, 1); appends to the cache. Stop tokens
        (`stop_mask`, one flag per vocabulary entry) can't be chosen while `position` < `stops_from` (min_new_tokens,
        as transformers' MinNewTokensLengthLogitsProcessor does it)."""
        import torch

        mrope = position + rope_delta
        position_ids = torch.cat([position, mrope, mrope, mrope]).view(4, 1, 1)  # text row, then (t, h, w)
        hidden = self.model.model.language_model(
            input_ids=token, position_ids=position_ids, cache=self.cache, use_cache=True
        ).last_hidden_state
        return self._next_token(hidden, position, stops_from, stop_mask)

    def _fused_step(self, token, position, rope_delta, stops_from, stop_mask):
        """The same step as `_module_step`, running the layers here: fused projections, and with step "kernels" the
        Triton matrix-vector products and attention (Qwen3's text layer: RMSNorm, q/k RMSNorm, M-RoPE, GQA, SwiGLU)."""
        import torch
        import torch.nn.functional as F
        from transformers.models.qwen3_vl.modeling_qwen3_vl import apply_rotary_pos_emb

        from perception.vlm import kernels

        linear = kernels.gemv if self.step == "kernels" else F.linear
        language_model = self.model.model.language_model
        hidden = language_model.embed_tokens(token)
        mrope = position + rope_delta
        cos, sin = language_model.rotary_emb(hidden, torch.cat([mrope, mrope, mrope]).view(3, 1, 1))
        slot, filled = position.view(1), position.view(1) + 1  # the new token's cache slot; slots filled after it
        visible = (
            None
            if self.step == "kernels"
            else (torch.arange(self.max_cache_len, device=token.device) < filled).view(1, 1, 1, -1)
        )
        for index, (layer, fused) in enumerate(zip(language_model.layers, self.layers, strict=True)):
            attention, cached = layer.self_attn, self.cache.layers[index]
            query, key, value = linear(layer.input_layernorm(hidden), fused.qkv).split(fused.qkv_rows, dim=-1)
            query = attention.q_norm(query.view(1, 1, -1, attention.head_dim)).transpose(1, 2)
            key = attention.k_norm(key.view(1, 1, -1, attention.head_dim)).transpose(1, 2)
            query, key = apply_rotary_pos_emb(query, key, cos, sin)
            cached.keys.index_copy_(2, slot, key)
            cached.values.index_copy_(2, slot, value.view(1, 1, -1, attention.head_dim).transpose(1, 2))
            if self.step == "kernels":
                mixed = kernels.decode_attention(query, cached.keys, cached.values, filled, attention.scaling)
            else:
                mixed = grouped_decode_attention(
                    attention, query, cached.keys, cached.values, visible, scaling=attention.scaling
                )[0].reshape(1, 1, -1)
            hidden = hidden + linear(mixed, attention.o_proj.weight)
            gate, up = linear(layer.post_attention_layernorm(hidden), fused.gate_up).chunk(2, dim=-1)
            hidden = hidden + linear(layer.mlp.act_fn(gate) * up, layer.mlp.down_proj.weight)
        return self._next_token(language_model.norm(hidden), position, stops_from, stop_mask)

    def _next_token(self, hidden, position, stops_from, stop_mask):
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
            logger.warning(
                "the decode step does not compile as one graph (%s); compiling it in pieces",
                (str(e).splitlines() or [""])[0],
            )
            self._whole_graph, self._step = False, self._compile(fullgraph=False)
            torch.compiler.cudagraph_mark_step_begin()
            return self._step(*args)

    def _prefill_after(self, prefix: list, inputs: dict):
        """The prompt's logits with its first tokens' KV (`prefix`: per layer (keys, values), perception/vlm/
        prefix_cache.py) copied into the cache instead of computed: only the rest is prefilled, at the positions the
        whole prompt gives it (text row, then M-RoPE t/h/w rows for the image)."""
        import torch

        for layer, (keys, values) in zip(self.cache.layers, prefix, strict=True):
            layer.update(keys, values)  # slots [0, P), the cache's fill mark at P
        length, ids = prefix[0][0].shape[2], inputs["input_ids"]
        mrope, deltas = self.model.model.get_rope_index(
            ids,
            image_grid_thw=inputs.get("image_grid_thw"),
            attention_mask=inputs.get("attention_mask"),
            mm_token_type_ids=inputs.get("mm_token_type_ids"),
        )
        self.model.model.rope_deltas = deltas  # the decode steps continue from the image's positions
        text = torch.arange(ids.shape[1], device=ids.device).view(1, 1, -1)
        positions = torch.cat([text, mrope.to(ids.device)])[:, :, length:]
        rest = {k: v[:, length:] if k in ("input_ids", "mm_token_type_ids") else v for k, v in inputs.items()}
        return self.model(**rest, position_ids=positions, cache=self.cache, use_cache=True, logits_to_keep=1).logits

    def generate(
        self,
        inputs: dict,
        *,
        max_new_tokens: int,
        stop_ids: set[int],
        min_new_tokens: int = 0,
        on_first_token: Callable[[], None] | None = None,
        deadline: float | None = None,
        prefix: list | None = None,
    ) -> list[int]:
        """The new token ids (with the stop token, if one came), as `generate(do_sample=False)` gives them for a
        generation config without the processors in UNSUPPORTED_PROCESSORS. Stops early at `deadline`
        (time.monotonic()), looked at with the stop tokens. `prefix`: the prompt's first tokens' KV, kept from an
        earlier prompt (perception/vlm/prefix_cache.py): only the rest is prefilled."""
        import torch

        prompt_length = inputs["input_ids"].shape[1]
        if prompt_length + max_new_tokens > self.max_cache_len:
            raise ValueError(f"{prompt_length=} + {max_new_tokens=} does not fit the {self.max_cache_len}-token cache")
        with torch.inference_mode():
            self.cache.reset()
            self.model.model.rope_deltas = None  # the prefill computes this prompt's image positions afresh
            logits = (
                self._prefill_after(prefix, inputs)
                if prefix is not None
                else self.model(**inputs, cache=self.cache, use_cache=True, logits_to_keep=1).logits
            )
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
            rope_delta = (
                deltas.to(token.device).view(1, 1)
                if deltas is not None
                else torch.zeros((1, 1), dtype=torch.long, device=token.device)
            )
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
                    if deadline is not None and time.monotonic() >= deadline:
                        return new_tokens
        return new_tokens
