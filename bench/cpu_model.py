"""One Qwen3-VL model turn on a CPU, measured by components and extrapolated to the real model: where the time goes,
and what the prefix KV cache (perception/vlm/prefix_cache.py) and a smaller image view save.

A real-size 2B turn on 2 shared cores takes minutes, so this builds the real-size architecture (random weights,
bench/gpu/models.py's SIZES) with only --layers text layers and --vision-layers vision blocks, times transformers'
generate on the agent's real prompt shape, and scales each part by the real layer count:

    vision encoder  x (real vision depth / --vision-layers)
    text prefill    x (real text layers / --layers)        (full prompt, or after the cached prefix)
    decode / token  = LM head + real text layers x (per-layer step)

Prompt shape: the agent's real first request (system prompt, tool schemas, observation text with the parser's
element hints for examples/screens/demo.png), tokenised with Qwen's own tokenizer (bench/qwen_tokenizer.py builds
it: see its docstring); images: the 1280x800 screenshot at native size (1000 tokens), or the agent's real region
view of it (perception/view.py: the crop around the parser's picked alarm + the downscaled overview, with the words
that say which image is which).

    .venv/bin/python bench/cpu_model.py --tokenizer /tmp/qwen-tokenizer [--size 2b] [--dtypes float32,bfloat16]
        [--threads 1,2] [--int8] [--rows full:cached,region:cached] [--budget-s 150]

Random weights: times are real, text is gibberish. Decode tokens/s is compared with the memory-bandwidth limit
(bytes of weights read per token / measured copy GB/s).
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REPLY_TOKENS = 60  # a short tool call or final answer
DECODE_SAMPLE = 8


def agent_prompt_tokens(tokenizer_dir: Path) -> tuple[int, int]:
    """(tokens before the first image: system + tools + user turn opening; tokens after it: observation text,
    element hints, generation prompt) of the agent's real first request on examples/screens/demo.png."""
    import tempfile

    from transformers import AutoTokenizer

    from agent.runner import HmiAgent
    from agent.scripted import ScriptedModel, tool_call_text
    from agent.settings import Settings

    with tempfile.TemporaryDirectory() as scratch:
        model = ScriptedModel([tool_call_text("final_answer", {"on_screen": "x"})])
        agent = HmiAgent(Settings(data_dir=Path(scratch), db_url=f"sqlite:///{scratch}/a.sqlite", record_sessions=False),
                         model=model, drafts=False)
        agent.ask("What does this alarm mean and has it happened recently?", image=ROOT / "examples/screens/demo.png")
        agent.close()
    request = model.requests[0]
    messages = [{**m, "content": [{"type": "image"} if c.get("type") == "image" else c for c in m["content"]]}
                if isinstance(m["content"], list) else m for m in request["messages"]]
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    text = tokenizer.apply_chat_template(messages, tools=request["tools"], add_generation_prompt=True, tokenize=False)
    ids = tokenizer(text)["input_ids"]
    start = ids.index(tokenizer.convert_tokens_to_ids("<|vision_start|>"))
    end = ids.index(tokenizer.convert_tokens_to_ids("<|vision_end|>"))
    return start, len(ids) - end - 1


def region_view(tokenizer_dir: Path) -> tuple[list[tuple[int, int]], int]:
    """(image sizes, extra text tokens) of the agent's region view of examples/screens/demo.png."""
    from PIL import Image
    from transformers import AutoTokenizer

    from agent import prompts
    from agent.draft import pick_alarm
    from perception.capture import FileSource
    from perception.screen import parse_screen
    from perception.view import ViewSetting
    from perception.vlm.budget import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS

    frame = FileSource(ROOT / "examples/screens/demo.png").grab()
    pick = pick_alarm("What does this alarm mean and has it happened recently?", parse_screen(frame.image), None)
    view = ViewSetting("region", DEFAULT_MIN_PIXELS, DEFAULT_MAX_PIXELS).choose(frame, pick.element)
    sizes = [Image.open(io.BytesIO(png)).size for png in view.images(frame)]
    words = AutoTokenizer.from_pretrained(str(tokenizer_dir))(prompts.region_view(view.box))["input_ids"]
    return sizes, len(words) + 3  # + the second image's vision start/end and the line break


def build(size: str, layers: int, vision_layers: int, dtype):
    import torch
    from transformers import Qwen3VLForConditionalGeneration

    from bench.gpu.models import SIZES, build_config

    config = build_config(size)
    real = (SIZES[size]["text"]["num_hidden_layers"], SIZES[size]["vision"]["depth"])
    config.text_config.num_hidden_layers = layers
    if getattr(config.text_config, "layer_types", None):
        config.text_config.layer_types = config.text_config.layer_types[:layers]
    config.vision_config.depth = vision_layers
    config.vision_config.deepstack_visual_indexes = list(range(min(3, vision_layers)))
    torch.manual_seed(0)
    model = Qwen3VLForConditionalGeneration._from_config(config, dtype=dtype, attn_implementation="sdpa").eval()
    model.generation_config.pad_token_id = config.text_config.pad_token_id
    model.generation_config.eos_token_id = config.text_config.eos_token_id  # min_new_tokens: no early stop
    return model, real


def grid_for(width: int, height: int, max_tokens: int) -> tuple[int, int]:
    """(grid_h, grid_w) in 16-px patches for an image at a token budget (Qwen3-VL's smart resize)."""
    from perception.vlm.budget import smart_resize

    w, h = smart_resize(width, height, 32 * 32, max_tokens * 32 * 32)
    return h // 16, w // 16


def inputs_for(model, prefix: int, grids: list[tuple[int, int]], rest: int):
    """Token ids shaped like the agent's prompt (random text ids, real special ids) with random pixels."""
    import torch

    cfg = model.config
    ids, types = [torch.randint(1000, 100000, (prefix,))], [torch.zeros(prefix, dtype=torch.long)]
    pixels, thw = [], []
    for gh, gw in grids:
        n = gh * gw // 4
        ids += [torch.tensor([cfg.vision_start_token_id]), torch.full((n,), cfg.image_token_id), torch.tensor([cfg.vision_end_token_id])]
        types += [torch.zeros(1, dtype=torch.long), torch.ones(n, dtype=torch.long), torch.zeros(1, dtype=torch.long)]
        pixels.append(torch.randn(gh * gw, 3 * 2 * 16 * 16, dtype=model.dtype))
        thw.append([1, gh, gw])
    ids.append(torch.randint(1000, 100000, (rest,)))
    types.append(torch.zeros(rest, dtype=torch.long))
    input_ids = torch.cat(ids)[None]
    return {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids), "mm_token_type_ids": torch.cat(types)[None],
            "pixel_values": torch.cat(pixels), "image_grid_thw": torch.tensor(thw)}


class TokenClock:
    """A generate() streamer that timestamps each put: the prompt, then every new token."""

    def __init__(self):
        self.started = time.perf_counter()
        self.times: list[float] = []

    def put(self, value) -> None:
        self.times.append(time.perf_counter())

    def end(self) -> None:
        pass


def seconds(call, repeats: int = 1) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def copy_gbps(gigabytes: float = 0.5) -> float:
    import torch

    source = torch.randn(int(gigabytes * 1e9 / 4))
    target = torch.empty_like(source)
    target.copy_(source)
    return 2 * gigabytes / seconds(lambda: target.copy_(source), 3)


def measure(model, real: tuple[int, int], layers: int, vision_layers: int, prompt: tuple[int, int], view: str, cached: bool,
            region: tuple[list[tuple[int, int]], int]) -> dict:
    """Extrapolated seconds: vision, text prefill, TTFT, decode per token; for one image view."""
    import torch

    from perception.vlm.budget import DEFAULT_MAX_PIXELS, FACTOR
    from perception.vlm.prefix_cache import PrefixCache

    prefix, rest = prompt
    sizes, words = ([(1280, 800)], 0) if view == "full" else region
    grids = [grid_for(w, h, DEFAULT_MAX_PIXELS // (FACTOR * FACTOR)) for w, h in sizes]
    rest += words
    inputs = inputs_for(model, prefix, grids, rest)
    prefixes = PrefixCache(model, model.config.vision_start_token_id)

    def generate() -> tuple[float, float]:
        """(seconds to the first new token, seconds per later token), from one generate."""
        clock = TokenClock()
        cache = {"cache": prefixes.cache_for(inputs)} if cached else {}
        model.model.rope_deltas = None
        model.generate(**inputs, max_new_tokens=1 + DECODE_SAMPLE, min_new_tokens=1 + DECODE_SAMPLE, do_sample=False,
                       streamer=clock, **cache)
        return clock.times[1] - clock.started, (clock.times[-1] - clock.times[1]) / DECODE_SAMPLE

    with torch.inference_mode():
        if cached:
            prefixes.cache_for(inputs)  # computed once, at the first question (or load time)
        vision = seconds(lambda: model.model.visual(inputs["pixel_values"], grid_thw=inputs["image_grid_thw"]))
        first, step = generate()
        head = seconds(lambda: model.lm_head(torch.zeros(1, 1, model.config.text_config.hidden_size, dtype=model.dtype)), 5)
    text_layers, vision_depth = real
    vision_real = vision * vision_depth / vision_layers
    prefill_real = (first - vision) * text_layers / layers
    step_real = head + (step - head) * text_layers / layers
    tokens = int(inputs["input_ids"].shape[1])
    return {"view": view, "cached": cached, "input_tok": tokens, "vision_tok": int(sum(h * w // 4 for h, w in grids)),
            "vision_s": vision_real, "prefill_s": prefill_real, "ttft_s": vision_real + prefill_real,
            "step_s": step_real, "turn_s": vision_real + prefill_real + step_real * (REPLY_TOKENS - 1)}


def weight_bytes_per_token(size: str, dtype_bytes: float) -> float:
    """Bytes the real model reads per decoded token: every text layer and the LM head (embeddings: one row)."""
    from bench.gpu.models import SIZES

    t = SIZES[size]["text"]
    kv = t["num_key_value_heads"] * t["head_dim"]
    q = t["num_attention_heads"] * t["head_dim"]
    per_layer = t["hidden_size"] * (q + 2 * kv) + q * t["hidden_size"] + 3 * t["hidden_size"] * t["intermediate_size"]
    return (t["num_hidden_layers"] * per_layer + t["vocab_size"] * t["hidden_size"]) * dtype_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokenizer", type=Path, required=True, help="Qwen's tokenizer folder (bench/qwen_tokenizer.py)")
    parser.add_argument("--size", default="2b", choices=("2b", "4b", "8b"))
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--vision-layers", type=int, default=2)
    parser.add_argument("--dtypes", default="float32", help="comma-separated: float32, bfloat16")
    parser.add_argument("--threads", default="2")
    parser.add_argument("--int8", action="store_true", help="also int8 weights (optimum-quanto, text layers)")
    parser.add_argument("--rows", default="full:full,full:cached,region:cached",
                        help="comma-separated view:prefix pairs (view full|region, prefix full|cached)")
    parser.add_argument("--budget-s", type=float, default=150, help="start no new measurement after this many seconds")
    args = parser.parse_args()

    import torch

    started = time.perf_counter()
    prompt = agent_prompt_tokens(args.tokenizer)
    region = region_view(args.tokenizer)
    gbps = copy_gbps()
    print(f"{args.size}, extrapolated from {args.layers} text layers / {args.vision_layers} vision blocks; agent prompt: "
          f"{prompt[0]} tokens before the image (system + tools), {prompt[1]} after it; region view images "
          f"{' + '.join(f'{w}x{h}' for w, h in region[0])}, {region[1]} more text tokens; copy bandwidth {gbps:.1f} GB/s")
    print(f"{'weights':9} {'thr':>3} {'view':6} {'prefix':7} {'in_tok':>6} {'vis_tok':>7} {'vision_s':>8} {'prefill_s':>9} "
          f"{'ttft_s':>7} {'tok/s':>6} {'limit':>6} {'of_lim':>6} {'turn_s':>7}")
    variants = [(d, False) for d in args.dtypes.split(",")] + ([("float32", True)] if args.int8 else [])
    for dtype_name, int8 in variants:
        model, real = build(args.size, args.layers, args.vision_layers, getattr(torch, dtype_name))
        if int8:
            from optimum.quanto import freeze, qint8, quantize

            quantize(model.model.language_model, weights=qint8)
            freeze(model.model.language_model)
        limit = gbps * 1e9 / weight_bytes_per_token(args.size, 1 if int8 else torch.finfo(model.dtype).bits / 8)
        for threads in (int(t) for t in args.threads.split(",")):
            torch.set_num_threads(threads)
            for view, cached in ((v, p == "cached") for v, p in (row.split(":") for row in args.rows.split(","))):
                if time.perf_counter() - started > args.budget_s:
                    print(f"stopped: past --budget-s {args.budget_s:.0f}")
                    return
                r = measure(model, real, args.layers, args.vision_layers, prompt, view, cached, region)
                name = "int8" if int8 else dtype_name
                print(f"{name:9} {threads:>3} {view:6} {'cached' if cached else 'full':7} {r['input_tok']:>6} {r['vision_tok']:>7} "
                      f"{r['vision_s']:>8.2f} {r['prefill_s']:>9.2f} {r['ttft_s']:>7.2f} {1 / r['step_s']:>6.2f} {limit:>6.2f} "
                      f"{(1 / r['step_s']) / limit:>6.0%} {r['turn_s']:>7.1f}", flush=True)
        del model


if __name__ == "__main__":
    main()
