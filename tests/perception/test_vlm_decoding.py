"""The static decoder (the GPU decode path, run eagerly here) gives exactly transformers' greedy tokens, and the
backend uses it, grows its cache, and falls back to transformers' generate when it fails."""

from __future__ import annotations

import contextlib
import logging
import shutil
import weakref

import pytest
import torch
from PIL import Image

from perception.vlm import decoding, transformers_backend
from perception.vlm.decoding import GROUPED_DECODE, StaticDecoder, grouped_decode_attention
from perception.vlm.transformers_backend import TransformersQwen3VL
from perception.vlm.types import ModelLoadError

MIN_PIXELS, MAX_PIXELS = 16 * 32 * 32, 96 * 32 * 32


@pytest.fixture(scope="module")
def vlm(tiny_qwen3vl_dir):
    return TransformersQwen3VL.load(tiny_qwen3vl_dir, min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS)


def request(vlm, question: str, images: int = 1):
    content = [{"type": "image", "image": Image.new("RGB", (1280, 800), (40 * i, 90, 90))} for i in range(images)]
    return vlm.prepare_inputs([{"role": "user", "content": [*content, {"type": "text", "text": question}]}])


@contextlib.contextmanager
def transformers_sdpa(vlm):
    """transformers' own attention for the reference answers: a decoder sets its grouped-head decode attention on the
    (shared) model, and the comparison must be against what transformers computes without it."""
    text = vlm.model.config.get_text_config(decoder=True)
    before = text._attn_implementation
    vlm.model.set_attn_implementation({"text_config": "sdpa"})
    try:
        yield
    finally:
        vlm.model.set_attn_implementation({"text_config": before})


def reference(vlm, inputs, new_tokens: int) -> list[int]:
    with torch.inference_mode(), transformers_sdpa(vlm):
        output = vlm.model.generate(**inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False)
    return output[0, inputs["input_ids"].shape[1]:].tolist()


def reference_reply(vlm, messages, new_tokens: int) -> str:
    with transformers_sdpa(vlm):
        return vlm.generate(messages, max_new_tokens=new_tokens).raw


@pytest.mark.parametrize("step", ["fused", "modules"])  # "kernels": tests/perception/interpreted_kernels.py
@pytest.mark.parametrize("question, images", [("what does TIC-101.HH mean", 1), ("compare the two screens", 2),
                                              ("text only, no screenshot", 0)])
def test_static_decoder_gives_transformers_greedy_tokens(vlm, question, images, step):
    decoder = StaticDecoder(vlm.model, 1024, compile=False, step=step)
    for prompt in (question, question + " and has it happened recently?"):  # one cache, two prompt lengths
        inputs = request(vlm, prompt, images)
        expected = reference(vlm, inputs, 21)
        assert decoder.generate(inputs, max_new_tokens=21, stop_ids=set()) == expected


def test_static_decoder_stops_like_generate(vlm):
    inputs = request(vlm, "stop tokens")
    tokens = reference(vlm, inputs, 20)
    decoder = StaticDecoder(vlm.model, 1024, compile=False)
    stop = tokens[5]
    assert decoder.generate(inputs, max_new_tokens=20, stop_ids={stop}) == tokens[: tokens.index(stop) + 1]
    assert decoder.generate(inputs, max_new_tokens=1, stop_ids=set()) == tokens[:1]


@pytest.mark.parametrize("minimum", [1, 3, 12])
def test_static_decoder_keeps_stop_tokens_out_until_min_new_tokens(vlm, minimum):
    """As transformers' MinNewTokensLengthLogitsProcessor: the stop token can't be picked, the next best is."""
    inputs = request(vlm, "stop tokens")
    stop = reference(vlm, inputs, 20)[0]  # the very first pick: blocked whatever the minimum
    with torch.inference_mode(), transformers_sdpa(vlm):
        output = vlm.model.generate(**inputs, max_new_tokens=20, min_new_tokens=minimum, eos_token_id=stop,
                                    do_sample=False)[0, inputs["input_ids"].shape[1]:].tolist()
    expected = output[: output.index(stop) + 1] if stop in output else output
    decoder = StaticDecoder(vlm.model, 1024, compile=False)
    assert decoder.generate(inputs, max_new_tokens=20, stop_ids={stop}, min_new_tokens=minimum) == expected
    assert stop not in expected[:minimum]


@pytest.mark.skipif(not (shutil.which("cc") or shutil.which("gcc")), reason="torch.compile on CPU needs a C compiler")
@pytest.mark.parametrize("step", ["fused", "modules"])
def test_compiled_step_gives_the_same_tokens_and_compiles_once(vlm, step):
    """The shipped GPU path compiles the step as one graph (fullgraph): a transformers change that breaks that, or
    makes the compiled step differ, fails here on CPU (where the CUDA-graph replay is left out)."""
    decoder = StaticDecoder(vlm.model, 1024, compile=True, step=step)
    for prompt in ("what does TIC-101.HH mean", "and has it happened recently, in the last 30 days?"):
        inputs = request(vlm, prompt)
        assert decoder.generate(inputs, max_new_tokens=12, stop_ids=set()) == reference(vlm, inputs, 12)
    assert decoder._whole_graph  # no fallback to a compile in pieces


def test_static_decoder_refuses_a_prompt_longer_than_its_cache(vlm):
    inputs = request(vlm, "long")
    with pytest.raises(ValueError, match="does not fit the 32-token cache"):
        StaticDecoder(vlm.model, 32, compile=False).generate(inputs, max_new_tokens=8, stop_ids=set())


def compiled_backend(vlm, **kwargs) -> TransformersQwen3VL:
    """The backend on the decoder path (on CPU the decoder runs its step eagerly)."""
    return TransformersQwen3VL(vlm.model, vlm.processor, model_id=vlm.model_id, min_pixels=MIN_PIXELS,
                               max_pixels=MAX_PIXELS, compile_decode=True, **kwargs)


def ask(question="what does this alarm mean?"):
    return [{"role": "user", "content": [{"type": "image", "image": Image.new("RGB", (1280, 800), "grey")},
                                         {"type": "text", "text": question}]}]


def test_backend_decoder_path_answers_as_generate_does(vlm):
    fast = compiled_backend(vlm)
    with transformers_sdpa(vlm):
        expected = vlm.generate(ask(), max_new_tokens=16)
    reply = fast.generate(ask(), max_new_tokens=16)
    assert reply.raw == expected.raw
    assert reply.stats.output_tokens == expected.stats.output_tokens
    assert 0 < reply.stats.time_to_first_token_s <= reply.stats.total_s
    assert fast.compile_decode and fast._decoder.max_cache_len == transformers_backend.STATIC_CACHE_TOKENS


def test_backend_grows_the_static_cache_for_a_longer_request(vlm):
    fast = compiled_backend(vlm, static_cache_tokens=64)
    fast.generate(ask(), max_new_tokens=8)  # ~100 image + text tokens: more than 64
    assert fast._decoder.max_cache_len == transformers_backend.CACHE_STEP  # rounded up to one step
    first = fast._decoder
    fast.generate(ask("again"), max_new_tokens=8)
    assert fast._decoder is first  # no rebuild (no recompile) while requests fit
    old_cache = weakref.ref(first.cache)
    del first
    fast.generate(ask("a longer question " * 200), max_new_tokens=8)
    assert fast._decoder.max_cache_len == 2 * transformers_backend.CACHE_STEP
    assert old_cache() is None  # freed before the bigger one is allocated, not whenever the garbage collector runs


def test_backend_falls_back_to_generate_when_the_decoder_fails(vlm, monkeypatch, caplog):
    def broken(self, *args, **kwargs):
        raise RuntimeError("CUDA graph capture failed")

    monkeypatch.setattr(StaticDecoder, "generate", broken)
    fast = compiled_backend(vlm)
    with caplog.at_level(logging.WARNING, logger="perception.vlm.transformers_backend"):
        reply = fast.generate(ask(), max_new_tokens=8)
    assert reply.raw == reference_reply(vlm, ask(), 8)
    assert not fast.compile_decode
    assert "compiled decode failed (RuntimeError: CUDA graph capture failed)" in caplog.text


def test_warm_up_runs_one_throwaway_request(vlm):
    fast = compiled_backend(vlm)
    assert fast.warm_up(image_size=(640, 400)) > 0
    assert fast.compile_decode and fast._decoder is not None


def test_backend_leaves_unsupported_generation_options_to_generate(vlm, monkeypatch):
    """A checkpoint asking for a repetition penalty gets it: the decoder would ignore it, so generate decodes."""
    fast = compiled_backend(vlm)
    monkeypatch.setattr(vlm.model.generation_config, "repetition_penalty", 1.3)
    with torch.inference_mode(), transformers_sdpa(vlm):
        expected = vlm.model.generate(**fast.prepare_inputs(ask()), max_new_tokens=10, do_sample=False)
    reply = fast.generate(ask(), max_new_tokens=10)
    assert fast._decoder is None and fast.compile_decode  # not used, not given up
    assert reply.raw == vlm.processor.decode(expected[0, -reply.stats.output_tokens:], skip_special_tokens=True)


def test_static_decoder_swaps_flash_attention_for_its_own(vlm, monkeypatch):
    """Flash attention would attend to the empty slots of a static cache in the mask-less decode step."""
    text = vlm.model.config.get_text_config(decoder=True)
    monkeypatch.setattr(text, "_attn_implementation_internal", "flash_attention_2")
    StaticDecoder(vlm.model, 64, compile=False)
    assert text._attn_implementation == GROUPED_DECODE


@pytest.mark.parametrize("mask", ["bool", "additive", "none"])
def test_grouped_decode_attention_matches_sdpa(mask):
    """One query token, 8 query heads over 2 key/value heads, a cache of 40 slots of which 29 are filled."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    torch.manual_seed(0)
    module = torch.nn.Module()
    module.num_key_value_groups, module.is_causal = 4, True
    query, key, value = torch.randn(1, 8, 1, 16), torch.randn(1, 2, 40, 16), torch.randn(1, 2, 40, 16)
    visible = (torch.arange(40) < 29).view(1, 1, 1, 40)
    attention_mask = {"bool": visible, "none": None,
                      "additive": torch.zeros(1, 1, 1, 40).masked_fill(~visible, float("-inf"))}[mask]
    expected, _ = sdpa_attention_forward(module, query, key, value, attention_mask, scaling=0.25)
    output, _ = grouped_decode_attention(module, query, key, value, attention_mask, scaling=0.25)
    assert output.shape == expected.shape == (1, 1, 8, 16)
    torch.testing.assert_close(output, expected)


@pytest.mark.parametrize("mode, device, quantization, compiled", [
    ("auto", "cpu", "none", False), ("auto", "cuda", "none", True), ("auto", "cuda", "8bit", False),
    ("off", "cuda", "none", False), ("on", "cuda", "none", True)])
def test_compile_modes(mode, device, quantization, compiled):
    assert transformers_backend._compile_decode(mode, device, quantization) is compiled


def test_compile_mode_errors_name_the_value():
    with pytest.raises(ModelLoadError, match="compile='on' needs a CUDA GPU .* runs on 'cpu'"):
        transformers_backend._compile_decode("on", "cpu", "none")
    with pytest.raises(ModelLoadError, match="compile='fast' is not one of auto, on, off"):
        transformers_backend._compile_decode("fast", "cpu", "none")
    with pytest.raises(ModelLoadError, match="cannot compile bitsandbytes quantization='4bit' weights"):
        transformers_backend._compile_decode("on", "cuda", "4bit")


def test_concurrent_requests_take_turns_on_the_one_kv_cache(vlm):
    """Routines on two screens can ask the shared model at once; each must get its own answer, not a mixed cache."""
    from concurrent.futures import ThreadPoolExecutor

    fast = compiled_backend(vlm)
    questions = [f"question {i} about TIC-10{i}" for i in range(4)]
    expected = [reference_reply(vlm, ask(q), 12) for q in questions]
    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda q: fast.generate(ask(q), max_new_tokens=12).raw, questions))
    assert replies == expected


def test_fused_weights_are_views_shared_by_every_decoder(vlm):
    """Fusing costs no memory: the modules' weights become views of one tensor per layer, and a decoder rebuilt for
    a longer cache reuses those tensors instead of copying the model again."""
    first = StaticDecoder(vlm.model, 64, compile=False, step="fused")
    layer, fused = vlm.model.model.language_model.layers[0], first.layers[0]
    attention = layer.self_attn
    assert attention.q_proj.weight.data_ptr() == fused.qkv.data_ptr()
    assert attention.k_proj.weight.data_ptr() == fused.qkv[attention.q_proj.out_features:].data_ptr()
    assert layer.mlp.up_proj.weight.data_ptr() == fused.gate_up[layer.mlp.gate_proj.out_features:].data_ptr()
    second = StaticDecoder(vlm.model, 128, compile=False)
    assert second.step == "fused"  # "auto" on a CPU without Triton's interpreter
    assert all(a.qkv is b.qkv and a.gate_up is b.gate_up for a, b in zip(first.layers, second.layers, strict=True))


def test_step_choice_falls_back_and_names_what_is_missing(vlm):
    """A layer with a projection bias (or experts) can't be fused: "auto" uses transformers' layers, an explicit
    fused step says why; the kernels need triton on a GPU (here: the CPU, no interpreter)."""
    import copy
    from types import SimpleNamespace

    layer = copy.deepcopy(vlm.model.model.language_model.layers[0])
    assert decoding.fusable(SimpleNamespace(layers=[layer]))
    layer.self_attn.q_proj.bias = torch.nn.Parameter(torch.zeros(layer.self_attn.q_proj.out_features))
    assert not decoding.fusable(SimpleNamespace(layers=[layer]))
    del layer.mlp.gate_proj
    assert not decoding.fusable(SimpleNamespace(layers=[layer]))
    biased = SimpleNamespace(model=SimpleNamespace(language_model=SimpleNamespace(layers=[layer],
                                                                                  parameters=layer.parameters)),
                             config=vlm.model.config, device=torch.device("cpu"))
    assert decoding.choose_step(biased) == "modules"
    with pytest.raises(ValueError, match="step='fused' needs dense text layers .* has Qwen3VLTextMLP as its MLP"):
        decoding.choose_step(biased, "fused")
    with pytest.raises(ValueError, match=r"step='kernels' needs triton, .*\['cpu'\]"):
        decoding.choose_step(vlm.model, "kernels")
    with pytest.raises(ValueError, match="step='fast' is not one of auto, kernels, fused, modules"):
        decoding.choose_step(vlm.model, "fast")
