"""Inputs for one screenshot under a vision-token budget, and time to first token / decode speed of generate() and
of the agent backend's StaticDecoder."""

from __future__ import annotations

import time

from bench.gpu.models import FACTOR, MIN_PIXELS, SCREEN, special_ids


class TokenClock:
    """generate() streamer that only takes timestamps: put #0 is the prompt, put #1 the first new token."""

    def __init__(self):
        self.times: list[float] = []

    def put(self, value) -> None:
        self.times.append(time.perf_counter())

    def end(self) -> None:
        pass


class ImageInputs:
    """Model inputs for one 1280x800 screenshot under a vision-token budget (real Qwen preprocessing)."""

    def __init__(self, prompt_tokens: int):
        from PIL import Image, ImageDraw
        from transformers import Qwen2VLImageProcessor

        self.processor = Qwen2VLImageProcessor(patch_size=16, merge_size=2, temporal_patch_size=2,
                                               image_mean=[0.5] * 3, image_std=[0.5] * 3)
        self.image = Image.new("RGB", SCREEN, (192, 192, 192))
        draw = ImageDraw.Draw(self.image)
        for y in range(60, SCREEN[1], 28):  # alarm-list-like rows, so the processor sees ordinary content
            draw.rectangle((20, y, 1260, y + 20), fill=(210, 210, 210), outline=(90, 90, 90))
        draw.rectangle((1140, 10, 1180, 50), fill=(220, 0, 0))
        self.prompt_tokens = prompt_tokens
        self.preprocess_ms: dict[int, float] = {}

    def build(self, config, budget: int, device: str):
        import torch

        started = time.perf_counter()
        pixels = self.processor(images=[self.image], size={"shortest_edge": MIN_PIXELS,
                                                           "longest_edge": budget * FACTOR * FACTOR},
                                return_tensors="pt")
        self.preprocess_ms[budget] = (time.perf_counter() - started) * 1000
        grid = pixels["image_grid_thw"]
        vision_tokens = int(grid.prod()) // 4
        ids = special_ids(config.text_config.vocab_size)
        generator = torch.Generator().manual_seed(budget)
        text = torch.randint(100, min(ids.values()), (self.prompt_tokens + 2,), generator=generator).tolist()
        # <|im_start|>user\n{prompt} <|vision_start|><|image_pad|>*n<|vision_end|><|im_end|>\n<|im_start|>assistant\n
        input_ids = ([ids["im_start"], *text[:-2], ids["vision_start"], *[ids["image_pad"]] * vision_tokens,
                      ids["vision_end"], ids["im_end"], ids["im_start"], *text[-2:]])
        input_ids = torch.tensor([input_ids], device=device)
        inputs = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids),
                  "mm_token_type_ids": (input_ids == ids["image_pad"]).long(),  # 1 = image token, for M-RoPE
                  "pixel_values": pixels["pixel_values"].to(device), "image_grid_thw": grid.to(device)}
        return inputs, vision_tokens


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed_generate(model, inputs: dict, new_tokens: int, device: str, **options) -> tuple[float, float | None]:
    """(seconds to the first new token, decode tokens/s after it or None for one token); asserts the token count."""
    import torch

    clock = TokenClock()
    _sync(device)
    started = time.perf_counter()
    with torch.inference_mode():
        output = model.generate(**inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                                streamer=clock, **options)
    _sync(device)
    produced = output.shape[1] - inputs["input_ids"].shape[1]
    if produced != new_tokens:
        raise RuntimeError(f"generate produced {produced} tokens, expected exactly {new_tokens}")
    first = clock.times[1] - started
    later = clock.times[-1] - clock.times[1]
    return first, (new_tokens - 1) / later if new_tokens > 1 and later > 0 else None


def timed_decoder(decoder, inputs: dict, new_tokens: int) -> tuple[float, float | None]:
    """timed_generate for perception.vlm.decoding.StaticDecoder (the agent backend's compiled decode)."""
    marks: list[float] = []
    started = time.perf_counter()
    produced = decoder.generate(inputs, max_new_tokens=new_tokens, stop_ids=set(), min_new_tokens=new_tokens,
                                on_first_token=lambda: marks.append(time.perf_counter()))
    finished = time.perf_counter()  # generate() ends on a GPU->CPU copy of the last tokens: nothing left queued
    if len(produced) != new_tokens:
        raise RuntimeError(f"the decoder produced {len(produced)} tokens, expected exactly {new_tokens}")
    later = finished - marks[0]
    return marks[0] - started, (new_tokens - 1) / later if new_tokens > 1 and later > 0 else None
