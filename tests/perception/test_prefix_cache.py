"""The prefix KV cache (perception/vlm/prefix_cache.py) gives the same greedy tokens as prefilling the whole prompt,
on the real transformers code path with the tiny random-weight Qwen3-VL."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from perception.vlm.transformers_backend import TransformersQwen3VL
from perception.vlm.types import ModelOutputError

TOOLS = [{"type": "function", "function": {
    "name": "alarm_definition", "description": "Looks up what an alarm means in the plant's alarm database.",
    "parameters": {"type": "object", "properties": {"tag": {"type": "string", "description": "The alarm tag."}},
                   "required": ["tag"]}}}]
NEW_TOKENS = 16


@pytest.fixture(scope="module")
def vlm(tiny_qwen3vl_dir):
    return TransformersQwen3VL.load(tiny_qwen3vl_dir, device="cpu", min_pixels=64 * 32 * 32, max_pixels=128 * 32 * 32)


def _screen(colour: str, text: str) -> Image.Image:
    image = Image.new("RGB", (640, 400), colour)
    ImageDraw.Draw(image).text((20, 20), text, fill="white")
    return image


def _messages(system: str, image: Image.Image, question: str) -> list[dict]:
    return [{"role": "system", "content": system},
            {"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": question}]}]


def _greedy(vlm: TransformersQwen3VL, messages: list[dict], *, cached: bool):
    """(new token ids, their logits) from transformers' generate, continuing from the kept prefix when `cached`."""
    import torch

    inputs = vlm.prepare_inputs(messages, TOOLS)
    prefix = {"cache": vlm.prefix_cache.cache_for(inputs)} if cached else {}
    vlm.model.model.rope_deltas = None
    with torch.inference_mode():
        out = vlm.model.generate(**inputs, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, do_sample=False,
                                 output_logits=True, return_dict_in_generate=True, **prefix)
    return out.sequences[0, inputs["input_ids"].shape[1]:].tolist(), torch.stack(out.logits)


@pytest.mark.slow
def test_prefix_cache_gives_the_same_tokens_and_logits_as_the_full_prefill_across_questions_and_prompts(vlm):
    system_en = "You assist a control-room operator. Answer in English. " * 4
    system_zh = "你协助控制室操作员。请用中文回答。" * 4
    questions = [
        _messages(system_en, _screen("navy", "TIC-101.HH"), "What does this alarm mean?"),  # miss: computes the prefix
        _messages(system_en, _screen("darkred", "PT-910.L"), "Has it happened recently?"),  # hit: another screenshot
        _messages(system_zh, _screen("darkgreen", "FV-439"), "这个报警是什么意思？"),  # another start: a second entry
    ]
    for messages in questions:
        (cached, cached_logits), (full, full_logits) = _greedy(vlm, messages, cached=True), _greedy(vlm, messages, cached=False)
        assert cached == full
        # float32 rounding only: a prefix kept at shifted positions differs by ~4e-2 on this model
        assert (cached_logits - full_logits).abs().max() < 1e-5
    assert (vlm.prefix_cache.misses, vlm.prefix_cache.hits) == (2, 1)


def test_the_backend_answers_from_the_kept_prefix(vlm):
    messages = _messages("You assist a control-room operator. Answer in English. " * 4, _screen("olive", "LT-165"), "Why?")
    hits = vlm.prefix_cache.hits
    try:
        stats = vlm.generate(messages, TOOLS, max_new_tokens=4).stats
    except ModelOutputError as e:  # random weights may emit a broken tool call: the turn still ran
        stats = e.stats
    assert vlm.prefix_cache.hits == hits + 1 and stats.output_tokens >= 1


def test_a_prompt_without_an_image_or_with_a_short_start_is_not_cached(vlm):
    inputs = vlm.prepare_inputs([{"role": "user", "content": "hello"}])
    assert vlm.prefix_cache.prefix_length(inputs["input_ids"]) == 0
    bare = vlm.prepare_inputs([{"role": "user", "content": [{"type": "image", "image": _screen("grey", "")},
                                                           {"type": "text", "text": "hi"}]}])
    assert vlm.prefix_cache.cache_for(bare) is None


def test_the_static_decoder_prefills_after_the_kept_prefix_with_the_same_logits_and_tokens(vlm):
    """The GPU path (StaticDecoder, run eagerly here): same first-token logits and greedy tokens with the prefix."""
    import torch

    from perception.vlm.decoding import StaticDecoder

    messages = _messages("You assist a control-room operator. Answer in English. " * 4, _screen("navy", "PT-1"), "What?")
    inputs = vlm.prepare_inputs(messages, TOOLS)
    decoder = StaticDecoder(vlm.model, 2048, compile=False)
    prefix = vlm.prefix_cache.layers_for(inputs)
    with torch.inference_mode():
        decoder.cache.reset()
        vlm.model.model.rope_deltas = None
        full = vlm.model(**inputs, cache=decoder.cache, use_cache=True, logits_to_keep=1).logits
        decoder.cache.reset()
        after_prefix = decoder._prefill_after(prefix, inputs)
    assert (full - after_prefix).abs().max() < 1e-5
    greedy = {"max_new_tokens": NEW_TOKENS, "stop_ids": vlm._stop_ids(), "min_new_tokens": NEW_TOKENS}
    assert decoder.generate(inputs, prefix=prefix, **greedy) == decoder.generate(inputs, **greedy)
