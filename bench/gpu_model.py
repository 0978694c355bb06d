"""Qwen3-VL 2B/4B/8B on a GPU: time to first token per pixel budget, decode speed against the memory-bandwidth limit.

Real-size architectures with random weights (timing does not depend on weight values), built straight on the GPU in
bfloat16, fed one 1280x800 screenshot (real image preprocessing, random prompt token ids around the real special
tokens) and forced to decode a fixed number of new tokens (min_new_tokens = max_new_tokens, so no early end).

    python3 bench/gpu_model.py --tokenizer DIR                  # about 5 min on one H200: 4B first, then 2B, 8B
    python3 bench/gpu_model.py --quick                          # about 2 min: 4B sdpa, decoder, answers
    python3 bench/gpu_model.py --results bench/RESULTS.md --json gpu_model.json
    .venv/bin/python bench/gpu_model.py --sizes tiny            # CPU smoke run, seconds

Modes: sdpa and eager attention (dynamic KV cache); static KV cache without and with torch.compile (transformers
compiles the decode step itself when the cache is static on CUDA); "decoder", this project's StaticDecoder (the whole
decode step one CUDA graph: what the agent runs on a GPU) with the step it picks (the Triton kernels on a GPU), and
forced to its other steps: "decoder+kernels", "decoder+fused" (fused projections, torch's matmuls and attention),
"decoder+modules" (transformers' layers, grouped-head attention) and "decoder+sdpa" (transformers' layers and sdpa);
a decoder mode with "@N" decodes on an N-token cache instead of the backend's (--profile: where a decode step's time
goes, kernel by kernel; --kernels: the Triton kernels against torch's, op by op); 8-bit/4-bit bitsandbytes
weights (skipped with a note when bitsandbytes is missing); "answer"/"answer+compile", the agent's backend answering
the recorded requests in bench/answer_requests/ (--tokenizer: a folder with Qwen's real tokenizer, see
bench/qwen_tokenizer.py). Decode is also given as a fraction of the memory-bandwidth limit: at batch 1 every decoded
token reads every weight of the language model once, so limit tokens/s = HBM bytes/s / weight bytes (vision tower and
input-embedding table excluded: the first runs once per image, the second reads one row per token).

Needs torch, transformers >= 5.24 and pillow; the decoder and answer rows also import this project's perception
package (which needs pydantic), nothing else of ours, so a GPU image's own python3 runs it. The parts are in
bench/gpu/: models, bandwidth, timing, profiling, runs (the measurements), answers and report.
Measurements run in order of importance and stop starting new ones after --budget-s.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script (python3 bench/gpu_model.py): bench.gpu and perception are here
    sys.path.insert(0, str(ROOT))

from bench.gpu.bandwidth import hbm_gbps, measured_copy_gbps  # noqa: E402
from bench.gpu.models import MAIN_BUDGET, SCREEN, SIZES, SWEEP_BUDGETS  # noqa: E402
from bench.gpu.profiling import kernel_report  # noqa: E402
from bench.gpu.report import Row, render, summary, write_results  # noqa: E402
from bench.gpu.runs import MODE_OPTIONS, Bench, plan, run_job  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="4b,2b,8b", help="comma list of 2b,4b,8b,tiny; the first is the main size")
    parser.add_argument("--modes", help=f"comma list to keep, of {','.join(MODE_OPTIONS)}; decoder modes take "
                                        "@TOKENS to decode on a cache of that many tokens (decoder+fused@3072)")
    parser.add_argument("--quick", action="store_true", help="main size only: sdpa budget sweep + static/compile")
    parser.add_argument("--new-tokens", type=int, help="decoded tokens per decode measurement (default 128, quick 64)")
    parser.add_argument("--prompt-tokens", type=int, default=1500,
                        help="text tokens around the image (system prompt + tool schemas + element list)")
    parser.add_argument("--budget", type=int, default=MAIN_BUDGET,
                        help="vision-token budget (max_pixels / 32 / 32) that decode and the mode comparison run at")
    parser.add_argument("--sweep", default=",".join(map(str, SWEEP_BUDGETS)),
                        help="more vision-token budgets for the main size's ttft sweep")
    parser.add_argument("--repeats", type=int, default=3, help="time-to-first-token: best of this many")
    parser.add_argument("--hbm-gbps", type=float, help="memory bandwidth in GB/s (default: looked up by device name)")
    parser.add_argument("--budget-s", type=float, default=300, help="start no new measurement after this many seconds")
    parser.add_argument("--job-timeout-s", type=int, default=150, help="give up one measurement after this long")
    parser.add_argument("--device", default="auto", help="auto (cuda when available), cuda, cpu")
    parser.add_argument("--tokenizer", type=Path,
                        help="folder with Qwen's real tokenizer for the answer rows (bench/qwen_tokenizer.py builds one)")
    parser.add_argument("--results", type=Path, help="append a dated section with the table to this Markdown file")
    parser.add_argument("--json", type=Path, help="write the rows as JSON here")
    parser.add_argument("--profile", type=Path, help="decoder modes: append a kernel-time profile of decode steps here")
    parser.add_argument("--kernels", type=Path, help="CUDA: append perception.vlm.kernels vs torch per --sizes here")
    args = parser.parse_args(argv)
    args.sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in args.sizes if s not in SIZES]
    if unknown or not args.sizes:
        parser.error(f"--sizes {','.join(unknown) or '(empty)'}: choose from {', '.join(SIZES)}")
    args.modes = [m.strip() for m in args.modes.split(",")] if args.modes else None

    def known(mode: str) -> bool:
        base, at, cache = mode.partition("@")
        return base in MODE_OPTIONS and (not at or (base.startswith("decoder") and cache.isdigit() and int(cache) > 0))

    if args.modes and (bad := [m for m in args.modes if not known(m)]):
        parser.error(f"--modes {','.join(bad)}: choose from {', '.join(MODE_OPTIONS)} "
                     f"(decoder modes take @TOKENS for another cache length, e.g. decoder@4096)")
    try:
        args.sweep = tuple(int(b) for b in args.sweep.split(",") if b.strip())
    except ValueError:
        parser.error(f"--sweep {args.sweep!r}: expected comma-separated token counts, e.g. 256,512")
    args.new_tokens = args.new_tokens or (64 if args.quick else 128)
    if args.new_tokens < 2:
        parser.error(f"--new-tokens {args.new_tokens}: need at least 2 to measure decode speed")
    return args


def main(argv: list[str] | None = None) -> list[Row]:
    args = parse_args(argv)
    import torch
    import transformers

    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    device_name = torch.cuda.get_device_name() if device.startswith("cuda") else "CPU (no GPU)"
    gbps = args.hbm_gbps or (hbm_gbps(device_name) if device.startswith("cuda") else None)
    copy = f" (data sheet; a device-to-device copy measured {measured_copy_gbps():.0f} GB/s)" if device.startswith(
        "cuda") else ""
    header = [
        f"device: {device_name}; HBM {f'{gbps:.0f} GB/s' if gbps else 'unknown (pass --hbm-gbps)'}{copy}; "
        f"torch {torch.__version__}, transformers {transformers.__version__}; {str(dtype).removeprefix('torch.')}",
        f"input: one {SCREEN[0]}x{SCREEN[1]} screenshot + {args.prompt_tokens} prompt tokens; ttft = best of "
        f"{args.repeats} (vision encoder + prefill + 1 token, inputs already on the device); decode = "
        f"{args.new_tokens} forced new tokens at batch 1; limit = HBM bandwidth / decode weight bytes",
        f"answer rows: the agent's backend on the recorded requests in bench/answer_requests/, tokenizer "
        f"{'Qwen3-VL (' + str(args.tokenizer) + ')' if args.tokenizer else 'tiny test tokenizer (text ~2.8x Qwen tokens)'}",
        f"command: {' '.join(['bench/gpu_model.py', *(argv if argv is not None else sys.argv[1:])])}",
    ]
    print("\n".join(header) + "\n\n" + render([]), flush=True)
    if args.kernels and device.startswith("cuda"):
        from perception.vlm.transformers_backend import STATIC_CACHE_TOKENS

        for size in args.sizes:
            try:
                report = kernel_report(size, device, dtype, STATIC_CACHE_TOKENS)
            except Exception as error:  # the model rows still run
                report = f"### kernels, {size}\n\nerror: {type(error).__name__}: {error}\n"
            print(report, flush=True)
            with args.kernels.open("a", encoding="utf-8") as out:
                out.write(report + "\n")
    bench = Bench(args, device, dtype, gbps)
    rows: list[Row] = []
    started = time.perf_counter()
    try:
        for job in plan(args.sizes, args.quick, args.modes, args.sweep, args.budget):
            new_rows = run_job(bench, job, args.budget_s - (time.perf_counter() - started), args.job_timeout_s)
            rows += new_rows
            print("\n".join(render(new_rows).splitlines()[1:]), flush=True)
    finally:
        bench.close()
    table = render(rows)
    prep = ", ".join(f"{b} tok {ms:.0f} ms" for b, ms in sorted(bench.inputs.preprocess_ms.items()))
    lines = summary(rows) + ([f"image preprocessing on the CPU (not in ttft): {prep}"] if prep else [])
    print(f"\n{table}\n" + "\n".join(lines))
    if args.results:
        write_results(args.results, device_name, header, table, lines)
    if args.json:
        args.json.write_text(json.dumps({"header": header, "rows": [asdict(r) for r in rows], "summary": lines},
                                        indent=1))
    return rows


if __name__ == "__main__":
    main()
