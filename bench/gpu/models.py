"""Real-size Qwen3-VL architectures with random weights, built straight on the device, and checkpoints of them
that the agent's own backend loads like downloaded ones."""

from __future__ import annotations

from pathlib import Path

SCREEN = (1280, 800)
FACTOR = 32  # one vision token per 32x32 pixels (patch 16, merge 2)
MIN_PIXELS = 64 * FACTOR * FACTOR
SWEEP_BUDGETS = (256, 512, 768)  # max vision tokens; 1280x800 is 1000 tokens at native size
MAIN_BUDGET = 1024  # the budget decode and the mode comparison run at (1000 tokens for 1280x800)

# Qwen's tokenizer ids (Qwen/Qwen3-VL-*-Instruct config.json / tokenizer_config.json): only these ids matter to the
# model code (image placement, mrope positions); prompt text is random ids. Vocabulary 151936 in all three sizes.
QWEN_SPECIAL_IDS = {
    "endoftext": 151643,
    "im_start": 151644,
    "im_end": 151645,
    "vision_start": 151652,
    "vision_end": 151653,
    "image_pad": 151655,
    "video_pad": 151656,
}

_VISION_COMMON = {"patch_size": 16, "spatial_merge_size": 2, "temporal_patch_size": 2, "in_channels": 3,
                  "hidden_act": "gelu_pytorch_tanh", "num_position_embeddings": 2304}
_TEXT_COMMON = {"vocab_size": 151936, "head_dim": 128, "num_key_value_heads": 8, "rms_norm_eps": 1e-6,
                "max_position_embeddings": 262144, "rope_theta": 5_000_000.0, "mrope_section": [24, 20, 20]}
# Sizes from the published Qwen/Qwen3-VL-{2B,4B,8B}-Instruct config.json files, as copied into public re-implementations
# (found with the code search: transformers-style configs, mlx-vlm tests, InfiniCore/vLLM notes), checked against each
# other. "tiny" has the dimensions of perception/vlm/tiny.py (vocabulary 2048, its special ids mapped to 1000+).
SIZES: dict[str, dict] = {
    "2b": {"text": {**_TEXT_COMMON, "hidden_size": 2048, "intermediate_size": 6144, "num_hidden_layers": 28,
                    "num_attention_heads": 16},
           "vision": {**_VISION_COMMON, "depth": 24, "hidden_size": 1024, "intermediate_size": 4096, "num_heads": 16,
                      "out_hidden_size": 2048, "deepstack_visual_indexes": [5, 11, 17]},
           "tie_word_embeddings": True},
    "4b": {"text": {**_TEXT_COMMON, "hidden_size": 2560, "intermediate_size": 9728, "num_hidden_layers": 36,
                    "num_attention_heads": 32},
           "vision": {**_VISION_COMMON, "depth": 24, "hidden_size": 1024, "intermediate_size": 4096, "num_heads": 16,
                      "out_hidden_size": 2560, "deepstack_visual_indexes": [5, 11, 17]},
           "tie_word_embeddings": True},
    "8b": {"text": {**_TEXT_COMMON, "hidden_size": 4096, "intermediate_size": 12288, "num_hidden_layers": 36,
                    "num_attention_heads": 32},
           "vision": {**_VISION_COMMON, "depth": 27, "hidden_size": 1152, "intermediate_size": 4304, "num_heads": 16,
                      "out_hidden_size": 4096, "deepstack_visual_indexes": [8, 16, 24]},
           "tie_word_embeddings": False},
    "tiny": {"text": {**_TEXT_COMMON, "vocab_size": 2048, "hidden_size": 128, "intermediate_size": 256,
                      "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 32,
                      "max_position_embeddings": 32768, "mrope_section": [6, 5, 5]},
             "vision": {**_VISION_COMMON, "depth": 2, "hidden_size": 64, "intermediate_size": 128, "num_heads": 2,
                        "out_hidden_size": 128, "deepstack_visual_indexes": [0, 1]},
             "tie_word_embeddings": False},
}


def special_ids(vocab_size: int) -> dict[str, int]:
    """Qwen's ids in the real vocabulary; in a small test vocabulary the same ids shifted down to 1000+."""
    if vocab_size > max(QWEN_SPECIAL_IDS.values()):
        return dict(QWEN_SPECIAL_IDS)
    return {name: value - QWEN_SPECIAL_IDS["endoftext"] + 1000 for name, value in QWEN_SPECIAL_IDS.items()}


def build_config(size: str, ids: dict[str, int] | None = None, vocab_size: int | None = None):
    """The size's Qwen3VLConfig; `ids` (special token ids by name) default to Qwen's own."""
    from transformers import Qwen3VLConfig

    spec = SIZES[size]
    text = {k: v for k, v in spec["text"].items() if k not in ("rope_theta", "mrope_section")}
    text["vocab_size"] = vocab_size or text["vocab_size"]
    ids = ids or special_ids(text["vocab_size"])
    text["rope_parameters"] = {"rope_type": "default", "rope_theta": spec["text"]["rope_theta"],
                               "mrope_section": spec["text"]["mrope_section"], "mrope_interleaved": True}
    text.update(pad_token_id=ids["endoftext"], bos_token_id=ids["endoftext"], eos_token_id=ids["im_end"],
                tie_word_embeddings=spec["tie_word_embeddings"])
    return Qwen3VLConfig(
        text_config=text,
        vision_config=spec["vision"],
        image_token_id=ids["image_pad"],
        video_token_id=ids["video_pad"],
        vision_start_token_id=ids["vision_start"],
        vision_end_token_id=ids["vision_end"],
        tie_word_embeddings=spec["tie_word_embeddings"],
    )


def build_model(size: str, device: str, dtype, attn: str = "sdpa", ids: dict[str, int] | None = None,
                vocab_size: int | None = None):
    """Random-weight model allocated and initialised directly on `device` (no CPU copy, no checkpoint)."""
    import torch
    from transformers import Qwen3VLForConditionalGeneration

    torch.manual_seed(0)
    with torch.device(device):
        model = Qwen3VLForConditionalGeneration._from_config(build_config(size, ids, vocab_size), dtype=dtype,
                                                             attn_implementation=attn)
    model.generation_config.pad_token_id = model.config.text_config.pad_token_id
    model.generation_config.eos_token_id = model.config.text_config.eos_token_id
    return model.eval()


def load_quantized(size: str, bits: int, dtype, scratch: Path, tokenizer: Path | None = None):
    """bitsandbytes needs from_pretrained: save the random bf16 weights once, reload them quantized."""
    from transformers import BitsAndBytesConfig, Qwen3VLForConditionalGeneration

    folder = answer_checkpoint(size, "cuda", dtype, scratch, tokenizer)
    quantization = (BitsAndBytesConfig(load_in_8bit=True) if bits == 8 else
                    BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=dtype))
    model = Qwen3VLForConditionalGeneration.from_pretrained(
        folder, dtype=dtype, quantization_config=quantization, device_map="cuda", attn_implementation="sdpa")
    return model.eval()


def answer_checkpoint(size: str, device: str, dtype, scratch: Path, tokenizer: Path | None = None) -> Path:
    """A checkpoint folder the agent's own backend loads like a downloaded one, saved once per size: real-size random
    weights, a tokenizer (`tokenizer`: a folder with Qwen's, see bench/qwen_tokenizer.py; else the tiny test model's,
    whose text costs ~2.8x Qwen's tokens) with its special ids written into the config, Qwen's image-processor
    settings and our chat template. The vocabulary stays real-size (151936: the LM head is a real share of the bytes
    read per token); rows past the tokenizer get zero weights so greedy decoding stays inside it."""
    import shutil

    import torch
    from transformers import AutoTokenizer

    from perception.vlm.tiny import SPECIAL_TOKENS, build_tiny_qwen3vl

    folder = scratch / f"{size}-checkpoint"
    if (folder / "config.json").is_file():
        return folder
    tiny = build_tiny_qwen3vl(scratch / "tiny")
    sources = [tiny] + ([tokenizer] if tokenizer else [])  # later files win: the real tokenizer over the tiny one
    text_tokenizer = AutoTokenizer.from_pretrained(sources[-1])
    ids = {token.strip("<|>"): text_tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS}
    model = build_model(size, device, dtype, ids=ids,
                        vocab_size=max(SIZES[size]["text"]["vocab_size"], len(text_tokenizer)))
    with torch.no_grad():
        model.get_output_embeddings().weight[len(text_tokenizer):] = 0
    model.save_pretrained(folder)
    del model
    for source in sources:  # tokenizer, chat template, preprocessor config: everything but weights and configs
        for item in source.iterdir():
            if item.is_file() and item.suffix != ".safetensors" and item.name not in ("config.json",
                                                                                      "generation_config.json"):
                shutil.copy(item, folder / item.name)
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return folder
