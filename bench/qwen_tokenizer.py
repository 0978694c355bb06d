"""Builds Qwen's own tokenizer (tokenizer.json) from its BPE ranks, for benchmarks on machines without the hub.

The GPU benchmark's answer measurement sends the agent's real prompts; with the tiny test tokenizer (1,030 tokens)
their text costs about 2.8 times the tokens it costs Qwen, which inflates prefill. Qwen2/2.5/3(-VL) share one
151,643-token byte-level BPE vocabulary: `qwen.tiktoken` (base64 token, rank per line), which the Apache-2.0
`dashscope` wheel ships. This turns it into the HF tokenizer with Qwen's pre-tokenizer pattern (single digits), the
special tokens at Qwen3-VL's ids (151643...) and our Qwen3-VL chat template.

    pip download --no-deps dashscope -d /tmp/ds && unzip -o -q /tmp/ds/dashscope-*.whl 'dashscope/resources/qwen.tiktoken' -d /tmp/ds
    .venv/bin/python -m bench.qwen_tokenizer /tmp/ds/dashscope/resources/qwen.tiktoken /tmp/qwen-tokenizer
"""

from __future__ import annotations

import argparse
import base64
from pathlib import Path

# Qwen2's pre-tokenizer split (numbers one digit at a time, unlike cl100k's three).
PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
           r"|\s+(?!\S)|\s+")
# Added tokens from id 151643 on, in order, as in Qwen/Qwen3-VL-*-Instruct's tokenizer.json. The tool and think
# tags are not "special": they survive skip_special_tokens, so the tool-call parser sees them.
ADDED_TOKENS = [
    ("<|endoftext|>", True), ("<|im_start|>", True), ("<|im_end|>", True), ("<|object_ref_start|>", True),
    ("<|object_ref_end|>", True), ("<|box_start|>", True), ("<|box_end|>", True), ("<|quad_start|>", True),
    ("<|quad_end|>", True), ("<|vision_start|>", True), ("<|vision_end|>", True), ("<|vision_pad|>", True),
    ("<|image_pad|>", True), ("<|video_pad|>", True), ("<tool_call>", False), ("</tool_call>", False),
    ("<|fim_prefix|>", False), ("<|fim_middle|>", False), ("<|fim_suffix|>", False), ("<|fim_pad|>", False),
    ("<|repo_name|>", False), ("<|file_sep|>", False), ("<tool_response>", False), ("</tool_response>", False),
    ("<think>", False), ("</think>", False),
]
FIRST_ADDED_ID = 151643


def _ranks(tiktoken_file: Path) -> dict[bytes, int]:
    ranks = {}
    for line in tiktoken_file.read_text(encoding="ascii").splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def build(tiktoken_file: Path, out_dir: Path) -> Path:
    """Writes tokenizer.json, tokenizer_config.json and chat_template.jinja into out_dir; returns it."""
    from tokenizers import AddedToken
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    from perception.vlm.chat_template import QWEN3_VL_INSTRUCT_TEMPLATE

    ranks = _ranks(tiktoken_file)
    if len(ranks) != FIRST_ADDED_ID:
        raise ValueError(f"{tiktoken_file} has {len(ranks)} tokens; Qwen's vocabulary has {FIRST_ADDED_ID}")

    class _Converter(TikTokenConverter):  # reads the ranks itself: no tiktoken package needed
        @staticmethod
        def load_tiktoken_bpe(tiktoken_url):
            return ranks

    tokenizer = _Converter(vocab_file=str(tiktoken_file), pattern=PATTERN).converted()
    tokenizer.add_tokens([AddedToken(text, special=special, normalized=False) for text, special in ADDED_TOKENS])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        additional_special_tokens=[text for text, special in ADDED_TOKENS[3:] if special],
        chat_template=QWEN3_VL_INSTRUCT_TEMPLATE, model_max_length=262144,
    )
    wrong = [text for offset, (text, _) in enumerate(ADDED_TOKENS) if fast.convert_tokens_to_ids(text) != FIRST_ADDED_ID + offset]
    if wrong:
        raise ValueError(f"added tokens landed on the wrong ids: {wrong}")
    out_dir.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(out_dir)
    (out_dir / "chat_template.jinja").write_text(QWEN3_VL_INSTRUCT_TEMPLATE, encoding="utf-8")
    return out_dir


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tiktoken_file", type=Path, help="qwen.tiktoken (from the dashscope wheel)")
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args()
    print(f"written to {build(args.tiktoken_file, args.out_dir)}")
