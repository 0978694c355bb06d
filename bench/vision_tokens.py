"""Vision tokens and prefill time per pixel budget for typical HMI screenshots.

    .venv/bin/python bench/vision_tokens.py [--model DIR_OR_HUB_ID] [--device cpu|cuda]

Token counts are exact for every Qwen3-VL size (they depend only on the image processor). Prefill time is measured
on the tiny random-weight model by default: it shows how cost grows with the budget, not real-model seconds; pass
--model Qwen/Qwen3-VL-4B-Instruct on a GPU box for those.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image, ImageDraw  # noqa: E402

from perception.vlm.budget import FACTOR, smart_resize, vision_tokens  # noqa: E402

SCREENS = {"1920x1080": (1920, 1080), "1280x800": (1280, 800), "ROI 640x360": (640, 360)}
MAX_TOKENS = (256, 512, 1024, 1280, 2048, 4096)
MIN_PIXELS = 64 * FACTOR * FACTOR


def hmi_like(width: int, height: int) -> Image.Image:
    """Grey ISA-101-ish screen with some text rows and a red alarm badge, so the encoder sees real structure."""
    image = Image.new("RGB", (width, height), (200, 200, 200))
    draw = ImageDraw.Draw(image)
    for row in range(0, height, 28):
        draw.text((10, row + 6), f"12:0{row % 10}:33  TIC-{100 + row}  HIGH TEMPERATURE  ACTIVE", fill=(30, 30, 30))
    draw.rectangle((width - 120, 20, width - 80, 60), fill=(220, 0, 0))
    return image


def prefill_seconds(model, image: Image.Image, max_pixels: int) -> float:
    """One call with one new token: preprocessing + vision encoder + prompt prefill."""
    messages = [{"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": "Alarms?"}]}]
    started = time.perf_counter()
    model.generate(messages, max_new_tokens=1, max_pixels=max_pixels)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="checkpoint to time (default: a freshly built tiny random-weight Qwen3-VL)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from perception.vlm.tiny import build_tiny_qwen3vl
    from perception.vlm.transformers_backend import TransformersQwen3VL

    with tempfile.TemporaryDirectory() as scratch:
        source = args.model or build_tiny_qwen3vl(Path(scratch) / "tiny")
        model = TransformersQwen3VL.load(
            source, device=args.device, min_pixels=MIN_PIXELS, max_pixels=MAX_TOKENS[-1] * FACTOR**2
        )
        label = "tiny random-weight model (CPU; scaling only)" if args.model is None else args.model
        print(f"prefill = one generate() call with 1 new token, best of {args.repeats} rounds; model: {label}\n")
        cases = [(name, size, tokens) for name, size in SCREENS.items() for tokens in MAX_TOKENS]
        images = {name: hmi_like(*size) for name, size in SCREENS.items()}
        best = {case: float("inf") for case in cases}
        for _ in range(args.repeats):  # rounds over all cases, so a burst of load elsewhere hits them alike
            for case in cases:
                name, _, tokens = case
                best[case] = min(best[case], prefill_seconds(model, images[name], tokens * FACTOR**2))
        print(f"{'screen':<12} {'max_pixels':>12} {'resized to':>11} {'vision tok':>10} {'prefill s':>10}")
        for name, (width, height), tokens in cases:
            max_pixels = tokens * FACTOR**2
            w, h = smart_resize(width, height, MIN_PIXELS, max_pixels)
            count = vision_tokens(width, height, MIN_PIXELS, max_pixels)
            seconds = best[(name, (width, height), tokens)]
            print(f"{name:<12} {f'{tokens}*32*32':>12} {f'{w}x{h}':>11} {count:>10} {seconds:>10.3f}")


if __name__ == "__main__":
    main()
