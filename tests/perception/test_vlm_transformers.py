"""The real transformers Qwen3-VL path on a tiny random-weight checkpoint: template -> processor -> generate -> parse.

The tiny model's words are noise; these tests check shapes, token counts, stats and parsing, never its text.
"""

import importlib.util

import pytest
import transformers
from PIL import Image

from perception.vlm.budget import vision_tokens
from perception.vlm.processor import ImageOnlyProcessor, load_processor
from perception.vlm.transformers_backend import TransformersQwen3VL
from perception.vlm.types import ModelLoadError, ModelOutputError

MIN_PIXELS, MAX_PIXELS = 16 * 32 * 32, 256 * 32 * 32
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "alarm_history",
            "description": "Past occurrences of an alarm.",
            "parameters": {"type": "object", "properties": {"tag": {"type": "string"}}, "required": ["tag"]},
        },
    }
]


@pytest.fixture(scope="module")
def vlm(tiny_qwen3vl_dir):
    return TransformersQwen3VL.load(tiny_qwen3vl_dir, min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS)


def screen(width=1280, height=800) -> Image.Image:
    return Image.new("RGB", (width, height), (90, 90, 90))


def ask(image, question="What does this alarm mean?"):
    return [
        {"role": "system", "content": "You are an HMI assistant."},
        {"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": question}]},
    ]


def test_end_to_end_call_with_tools_reports_tokens_and_timing(vlm):
    reply = vlm.generate(ask(screen()), TOOLS, max_new_tokens=5)
    stats = reply.stats
    assert stats.vision_tokens == vision_tokens(1280, 800, MIN_PIXELS, MAX_PIXELS) == 240
    assert stats.input_tokens > stats.vision_tokens
    assert 1 <= stats.output_tokens <= 5
    assert 0 < stats.time_to_first_token_s <= stats.total_s
    decode_s = stats.total_s - stats.time_to_first_token_s  # the speed is of the tokens after the first
    assert stats.tokens_per_s == pytest.approx((stats.output_tokens - 1) / decode_s if stats.output_tokens > 1 else 0.0)


def test_prompt_carries_tools_block_and_one_pad_token_per_vision_token(vlm):
    inputs = vlm.prepare_inputs(ask(screen()), TOOLS)
    prompt = vlm.processor.decode(inputs["input_ids"][0])
    assert "<tools>" in prompt and '"name": "alarm_history"' in prompt and "<tool_call>" in prompt
    image_pad_id = vlm.processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert int((inputs["input_ids"] == image_pad_id).sum()) == 240
    assert int((inputs["mm_token_type_ids"] == 1).sum()) == 240
    assert tuple(inputs["image_grid_thw"][0].tolist()) == (1, 24, 40)  # 384x640 pixels in 16-px patches


def test_per_request_pixel_budget_and_region_crop_change_the_cost(vlm):
    small = vlm.generate(ask(screen()), max_new_tokens=1, max_pixels=64 * 32 * 32).stats.vision_tokens
    assert small == vision_tokens(1280, 800, MIN_PIXELS, 64 * 32 * 32) < 240
    crop = screen().crop((0, 0, 320, 200))  # what Frame.crop hands over for a region of interest
    cost = vlm.generate(ask(crop), max_new_tokens=1).stats.vision_tokens
    assert cost == vision_tokens(320, 200, MIN_PIXELS, MAX_PIXELS)


def test_two_images_each_get_their_own_tokens(vlm):
    messages = ask(screen())
    messages[1]["content"].insert(1, {"type": "image", "image": screen(640, 480)})
    stats = vlm.generate(messages, max_new_tokens=1).stats
    assert stats.vision_tokens == vision_tokens(1280, 800, MIN_PIXELS, MAX_PIXELS) + vision_tokens(
        640, 480, MIN_PIXELS, MAX_PIXELS
    )


def test_tool_call_history_renders_with_tool_responses(vlm):
    messages = ask(screen(320, 200)) + [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "alarm_history", "arguments": {"tag": "P-7"}}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "3 occurrences in 7 days"},
    ]
    prompt = vlm.processor.apply_chat_template(messages, tools=TOOLS, add_generation_prompt=True, tokenize=False)
    assert '<tool_call>\n{"name": "alarm_history", "arguments": {"tag": "P-7"}}\n</tool_call>' in prompt
    assert "<|im_start|>user\n<tool_response>\n3 occurrences in 7 days\n</tool_response><|im_end|>" in prompt
    assert prompt.endswith("<|im_start|>assistant\n")
    assert vlm.generate(messages, TOOLS, max_new_tokens=2).stats.output_tokens >= 1


def test_output_is_parsed_into_tool_calls(vlm, monkeypatch):
    scripted = 'Checking.\n<tool_call>\n{"name": "alarm_history", "arguments": {"tag": "TIC-101"}}\n</tool_call>'
    monkeypatch.setattr(vlm.processor, "decode", lambda *a, **k: scripted)  # script the model's decision only
    reply = vlm.generate(ask(screen(320, 200)), TOOLS, max_new_tokens=2)
    assert reply.text == "Checking." and reply.raw == scripted
    assert [(c.name, c.arguments) for c in reply.tool_calls] == [("alarm_history", {"tag": "TIC-101"})]


def test_malformed_tool_call_raises_with_raw_output_and_stats(vlm, monkeypatch):
    monkeypatch.setattr(vlm.processor, "decode", lambda *a, **k: "<tool_call>{'name': 'x'}</tool_call>")
    with pytest.raises(ModelOutputError, match="double quotes") as error:
        vlm.generate(ask(screen(320, 200)), TOOLS, max_new_tokens=2)
    assert error.value.raw == "<tool_call>{'name': 'x'}</tool_call>" and error.value.stats.output_tokens >= 1


def test_stock_processor_is_tried_first(tiny_qwen3vl_dir, monkeypatch):
    calls = []
    sentinel = object()
    monkeypatch.setattr(
        transformers.AutoProcessor, "from_pretrained", lambda path, **kw: calls.append((path, kw)) or sentinel
    )
    assert load_processor(tiny_qwen3vl_dir, local_files_only=True) is sentinel
    assert calls == [(str(tiny_qwen3vl_dir), {"local_files_only": True})]


def test_falls_back_to_image_only_processor_when_stock_one_fails(tiny_qwen3vl_dir, monkeypatch):
    def no_torchvision(*args, **kwargs):
        raise ImportError("Qwen2VLVideoProcessor requires the Torchvision library")

    monkeypatch.setattr(transformers.AutoProcessor, "from_pretrained", no_torchvision)
    processor = load_processor(tiny_qwen3vl_dir, local_files_only=True)
    assert isinstance(processor, ImageOnlyProcessor)
    assert processor.chat_template and processor.image_processor.merge_size == 2


@pytest.mark.skipif(importlib.util.find_spec("torchvision") is not None, reason="stock processor works here")
def test_without_torchvision_the_loaded_backend_uses_the_fallback(vlm):
    assert isinstance(vlm.processor, ImageOnlyProcessor)


def test_image_only_processor_matches_the_stock_qwen3vl_processor(vlm, monkeypatch):
    """Same prompt, ids, token types, pixels and grids as transformers' own processor, built here without the
    torchvision-only video processor by lifting its class check."""
    from transformers import Qwen3VLProcessor
    from transformers.processing_utils import ProcessorMixin

    mine = vlm.processor
    monkeypatch.setattr(ProcessorMixin, "check_argument_for_proper_class", lambda self, name, argument: None)
    stock = Qwen3VLProcessor(mine.image_processor, mine.tokenizer, None, chat_template=mine.chat_template)
    messages = ask(screen())
    messages[1]["content"].append({"type": "image", "image": screen(300, 500)})
    images = [screen(), screen(300, 500)]
    size = {"shortest_edge": MIN_PIXELS, "longest_edge": MAX_PIXELS}
    prompt = stock.apply_chat_template(messages, tools=TOOLS, add_generation_prompt=True, tokenize=False)
    assert prompt == mine.apply_chat_template(messages, tools=TOOLS, add_generation_prompt=True)
    expected = stock(text=[prompt], images=images, size=size, return_tensors="pt")
    actual = mine(text=[prompt], images=images, size=size)
    assert sorted(actual.keys()) == sorted(expected.keys())
    for key in expected:
        assert actual[key].equal(expected[key]), key


def test_image_only_processor_rejects_placeholder_mismatch(vlm):
    with pytest.raises(ValueError, match="more images"):
        vlm.processor(text=["no placeholder"], images=[screen(64, 64)])


def test_load_errors_are_clear(tmp_path, tiny_qwen3vl_dir):
    with pytest.raises(ModelLoadError, match="cannot load Qwen3-VL from 'no-such-org/no-such-model'"):
        TransformersQwen3VL.load("no-such-org/no-such-model")
    with pytest.raises(ModelLoadError, match="needs a CUDA GPU"):
        TransformersQwen3VL.load(tiny_qwen3vl_dir, device="cpu", quantization="8bit")
    with pytest.raises(ModelLoadError, match="quantization='2bit' is not one of"):
        TransformersQwen3VL.load(tiny_qwen3vl_dir, device="cpu", quantization="2bit")
    with pytest.raises(ModelLoadError, match="dtype='fp8' is not one of"):
        TransformersQwen3VL.load(tiny_qwen3vl_dir, dtype="fp8")


def test_int8_cpu_without_optimum_quanto_names_the_package(tiny_qwen3vl_dir, monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name.startswith("optimum") else real_find_spec(name, *a)
    )
    with pytest.raises(ModelLoadError, match="optimum.quanto.*hmi-agent\\[quant\\]"):
        TransformersQwen3VL.load(tiny_qwen3vl_dir, device="cpu", quantization="int8-cpu")


def test_int8_cpu_loads_quantized_linear_layers_and_generates(tiny_qwen3vl_dir):
    from optimum.quanto import QLinear

    quantized = TransformersQwen3VL.load(
        tiny_qwen3vl_dir, device="cpu", quantization="int8-cpu", min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS
    )
    layer = quantized.model.model.language_model.layers[0]
    assert isinstance(layer.mlp.gate_proj, QLinear) and isinstance(layer.self_attn.q_proj, QLinear)
    reply = quantized.generate(ask(screen()), TOOLS, max_new_tokens=3)
    assert reply.stats.vision_tokens == 240 and 1 <= reply.stats.output_tokens <= 3
