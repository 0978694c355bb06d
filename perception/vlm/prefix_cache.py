"""The prompt's fixed start, computed once: every question's prompt begins with the same tokens (system prompt, tool
schemas, the user turn's opening) up to its first image. Their KV cache is kept after the first question that has
them, and each later question's prefill starts after them, paying only for its image and words.

Reuse is exact: the kept tensors are what the full prefill computes for those positions (text before the first
image has plain positions in all three M-RoPE rows), and transformers' generate continues from a prefilled cache,
new image included, with the same greedy tokens (tests/perception/test_prefix_cache.py). The kept tensors are never
written: each question wraps them in a fresh DynamicCache, whose first update concatenates into new tensors.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

MIN_PREFIX_TOKENS = 32  # shorter starts (a bare user turn) are not worth a cache entry
KEPT_PREFIXES = 4  # e.g. the English and the Chinese system prompt, each with the agent's tools


class PrefixCache:
    """Per distinct prompt start (its token ids), the KV tensors of every layer; the least recently used go first."""

    def __init__(self, model: Any, boundary_token_id: int, kept: int = KEPT_PREFIXES):
        self.model = model
        self.boundary_token_id = boundary_token_id  # <|vision_start|>: the first token that differs per question
        self.kept = kept
        self._entries: OrderedDict[tuple[int, ...], list[tuple[Any, Any]]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def prefix_length(self, input_ids: Any) -> int:
        """Tokens before the first image (0 when there is none, or too few to be worth keeping)."""
        found = (input_ids[0] == self.boundary_token_id).nonzero()
        length = int(found[0, 0]) if len(found) else 0
        return length if length >= MIN_PREFIX_TOKENS else 0

    def cache_for(self, inputs: Any) -> Any:
        """A DynamicCache already holding this prompt's start (computed now on a miss), or None when it has none."""
        from transformers import DynamicCache

        layers = self.layers_for(inputs)
        return DynamicCache(ddp_cache_data=layers, config=self.model.config) if layers is not None else None

    def layers_for(self, inputs: Any) -> list[tuple[Any, Any]] | None:
        """Per layer (keys, values) of this prompt's start (computed now on a miss), or None when it has none."""
        input_ids = inputs["input_ids"]
        length = self.prefix_length(input_ids)
        if not length:
            return None
        key = tuple(input_ids[0, :length].tolist())
        layers = self._entries.get(key)
        if layers is None:
            self.misses += 1
            layers = self._compute(input_ids[:, :length])
            self._entries[key] = layers
            while len(self._entries) > self.kept:
                self._entries.popitem(last=False)
        else:
            self.hits += 1
        self._entries.move_to_end(key)
        return layers

    def _compute(self, prefix_ids: Any) -> list[tuple[Any, Any]]:
        from transformers import DynamicCache

        cache = DynamicCache(config=self.model.config)
        self.model.model.rope_deltas = None  # text only: plain positions
        self.model(input_ids=prefix_ids, cache=cache, use_cache=True, logits_to_keep=1)
        self.model.model.rope_deltas = None  # the question's prefill computes its image positions afresh
        return [(layer.keys, layer.values) for layer in cache.layers]
