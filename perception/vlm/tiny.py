"""A tiny random-weight Qwen3-VL saved like a hub checkpoint, so tests and benches run the real transformers code path.

Same architecture family, processor settings, special tokens and chat template as Qwen/Qwen3-VL-*-Instruct; only the
sizes are shrunk (builds in about a second, generates on CPU). Its text is gibberish: test shapes and counts, not words.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from perception.vlm.chat_template import QWEN3_VL_INSTRUCT_TEMPLATE

# As in Qwen's tokenizer: control tokens are "special" (skipped when decoding), the tool/think tags are plain added
# tokens so they survive `skip_special_tokens=True` and the tool-call parser sees them.
SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]
TAG_TOKENS = ["<tool_call>", "</tool_call>", "<think>", "</think>", "<tool_response>", "</tool_response>"]
PATCH_SIZE = 16
MERGE_SIZE = 2
TEMPORAL_PATCH_SIZE = 2
TEXT_HIDDEN = 128
HEAD_DIM = 32

_WORDS = (
    "alarm tag pump valve tank level pressure flow temperature high low critical warning acknowledged active cleared "
    "return to normal operator screen click button overview trend setpoint motor tripped running stopped open closed "
    "the a of and is in on at has been since what does this mean recently history definition priority state time "
    "报警 液位 压力 温度 高 低 确认 泵 阀门 画面"
).split()


def _training_lines() -> list[str]:
    """A few hundred deterministic lines mixing words, numbers, JSON and tool-call text, so BPE learns useful merges."""
    lines = []
    for i, (a, b, c) in enumerate(itertools.islice(itertools.product(_WORDS, repeat=3), 0, 40000, 97)):
        lines.append(f"{a} {b} {c} TIC-{100 + i % 900} {i * 7 % 1000}.{i % 10}")
        lines.append(json.dumps({"name": "click", "arguments": {"x": i % 1000, "y": (i * 3) % 1000, "label": a}}))
        lines.append(json.dumps([{"bbox_2d": [i % 1000, 2 * i % 1000, 3 * i % 1000, 4 * i % 1000], "label": b}]))
    return lines


def _build_tokenizer():
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1024,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(_training_lines(), trainer=trainer)
    bpe.add_tokens([AddedToken(tag, special=False, normalized=False) for tag in TAG_TOKENS])
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=SPECIAL_TOKENS[3:],
        chat_template=QWEN3_VL_INSTRUCT_TEMPLATE,
        model_max_length=32768,
    )


def _config(tokenizer):
    from transformers import Qwen3VLConfig

    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS}
    return Qwen3VLConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": TEXT_HIDDEN,
            "intermediate_size": 256,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "head_dim": HEAD_DIM,
            "max_position_embeddings": 32768,
            # mrope splits head_dim/2 rotary frequencies over (time, height, width); Qwen's 4B uses [24, 20, 20] of 64.
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 5_000_000.0,
                "mrope_section": [6, 5, 5],
                "mrope_interleaved": True,
            },
            "pad_token_id": ids["<|endoftext|>"],
            "bos_token_id": ids["<|endoftext|>"],
            "eos_token_id": ids["<|im_end|>"],
        },
        vision_config={
            "depth": 2,
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_heads": 2,
            "patch_size": PATCH_SIZE,
            "spatial_merge_size": MERGE_SIZE,
            "temporal_patch_size": TEMPORAL_PATCH_SIZE,
            "out_hidden_size": TEXT_HIDDEN,
            "num_position_embeddings": 2304,
            "deepstack_visual_indexes": [0, 1],
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=False,
    )


def _preprocessor_config() -> dict:
    return {
        "image_processor_type": "Qwen2VLImageProcessor",
        "processor_class": "Qwen3VLProcessor",
        "do_resize": True,
        "do_rescale": True,
        "do_normalize": True,
        "do_convert_rgb": True,
        "image_mean": [0.5, 0.5, 0.5],
        "image_std": [0.5, 0.5, 0.5],
        "patch_size": PATCH_SIZE,
        "merge_size": MERGE_SIZE,
        "temporal_patch_size": TEMPORAL_PATCH_SIZE,
        "size": {"shortest_edge": 64 * 32 * 32, "longest_edge": 1280 * 32 * 32},
    }


def build_tiny_qwen3vl(directory: Path) -> Path:
    """Builds the tiny checkpoint into `directory` (config, safetensors, tokenizer, chat template, image processor)."""
    import torch
    from transformers import GenerationConfig, Qwen3VLForConditionalGeneration

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = _build_tokenizer()
    config = _config(tokenizer)
    torch.manual_seed(0)
    model = Qwen3VLForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(
        eos_token_id=config.text_config.eos_token_id, pad_token_id=config.text_config.pad_token_id, do_sample=False
    )
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    (directory / "preprocessor_config.json").write_text(json.dumps(_preprocessor_config(), indent=2))
    (directory / "chat_template.jinja").write_text(QWEN3_VL_INSTRUCT_TEMPLATE)
    return directory
