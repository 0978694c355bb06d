"""What to measure, in order of importance, and the measurements themselves: one Job (a size in a mode) -> rows."""

from __future__ import annotations

import gc
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.gpu.answers import answer_row
from bench.gpu.bandwidth import bandwidth_limit_tok_s, decode_weight_bytes
from bench.gpu.models import MAIN_BUDGET, SWEEP_BUDGETS, answer_checkpoint, build_model, load_quantized
from bench.gpu.profiling import profile_decode_steps
from bench.gpu.report import Row
from bench.gpu.timing import ImageInputs, timed_decoder, timed_generate


@dataclass
class Job:
    """A size in a mode: ttft and decode at `budget`, ttft alone at each of `extra_budgets`."""

    size: str
    mode: str
    budget: int = MAIN_BUDGET
    extra_budgets: tuple[int, ...] = ()


MODE_OPTIONS = {
    "sdpa": ("sdpa", {}),
    "eager": ("eager", {}),
    "static": ("sdpa", {"cache_implementation": "static", "disable_compile": True}),
    "static+compile": ("sdpa", {"cache_implementation": "static"}),  # transformers compiles the decode step on CUDA
    # the agent backend's StaticDecoder, the whole step one CUDA graph (eager on CPU), its step as "auto" picks it
    # (Triton kernels on a GPU); then forced to each of its steps; "decoder+sdpa" is the "modules" step attending
    # through transformers' sdpa (the decoder before its grouped-head attention)
    "decoder": ("sdpa", {}),
    "decoder+kernels": ("sdpa", {}),
    "decoder+fused": ("sdpa", {}),
    "decoder+modules": ("sdpa", {}),
    "decoder+sdpa": ("sdpa", {}),
    "8bit": ("sdpa", {}),
    "4bit": ("sdpa", {}),
    "answer": ("sdpa", {}),  # the agent's backend, compile off (what the CPU/one-shot path runs)
    "answer+compile": ("sdpa", {}),  # the agent's backend with its compiled decode (static cache + CUDA graphs)
}


def base_mode(mode: str) -> str:
    """"decoder+fused@3072" (a decoder mode on a 3072-token cache instead of the backend's) -> "decoder+fused"."""
    return mode.partition("@")[0]


def skip_reason(mode: str, device: str) -> str | None:
    import importlib.util

    if mode in ("static+compile", "8bit", "4bit", "answer+compile") and not device.startswith("cuda"):
        return "needs CUDA"
    if mode.startswith("answer") and importlib.util.find_spec("pydantic") is None:
        return "skipped: pydantic not installed (the agent's backend needs it; carry its wheels)"
    if mode in ("8bit", "4bit"):
        missing = [m for m in ("bitsandbytes", "accelerate") if importlib.util.find_spec(m) is None]
        if missing:
            return f"skipped: {' and '.join(missing)} not installed (carry wheels, see bench/RESULTS.md)"
    return None


def plan(sizes: list[str], quick: bool, modes: list[str] | None, sweep: tuple[int, ...] = SWEEP_BUDGETS,
         budget: int = MAIN_BUDGET) -> list[Job]:
    """Most important first: the main size's default path with its budget sweep and its fastest candidate, the
    agent's backend answering recorded requests with and without compiled decode, then the other attention/cache
    modes and quantization of the main size, then the other sizes (compiling last)."""
    main, others = sizes[0], sizes[1:]
    jobs = [Job(main, "sdpa", budget, extra_budgets=sweep), Job(main, "decoder", budget),
            Job(main, "answer+compile"), Job(main, "answer"), Job(main, "static+compile", budget)]
    if not quick:
        jobs += [Job(main, mode, budget) for mode in ("decoder+fused", "decoder+modules", "decoder+sdpa")]
        jobs += [Job(main, "eager", budget), Job(main, "static", budget)]
        jobs += [Job(main, "8bit", budget), Job(main, "4bit", budget)]
        jobs += [Job(size, "sdpa", budget) for size in others]
        jobs += [Job(size, "decoder", budget) for size in others]
        jobs += [Job(size, "static+compile", budget) for size in others]
    jobs = [job for job in jobs if modes is None or job.mode in modes]
    return jobs + [Job(main, mode, budget) for mode in modes or () if "@" in mode]  # decoder on another cache length


class _JobTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise _JobTimeout()


class Bench:
    def __init__(self, args, device: str, dtype, gbps: float | None):
        self.args, self.device, self.dtype, self.gbps = args, device, dtype, gbps
        self.inputs = ImageInputs(args.prompt_tokens)
        self.loaded: tuple[str, str] | None = None  # (size, "bf16"|"8bit"|"4bit") of self.model
        self.model = None
        self._scratch: tempfile.TemporaryDirectory | None = None  # bf16 checkpoints for the quantized loads

    def scratch(self) -> Path:
        """Checkpoints saved for from_pretrained loads: in memory when /dev/shm has room for the largest (8B)."""
        import shutil

        if self._scratch is None:
            shm = Path("/dev/shm")
            in_memory = shm.is_dir() and shutil.disk_usage(shm).free > 40e9
            self._scratch = tempfile.TemporaryDirectory(prefix="qwen3vl-bench-", dir=shm if in_memory else None)
        return Path(self._scratch.name)

    def release(self) -> None:
        """Drops the loaded model and whatever compiled graphs hold on to it."""
        import torch

        self.model, self.loaded = None, None
        gc.collect()  # a StaticDecoder is a reference cycle holding the model and its cache
        if self.device.startswith("cuda"):
            torch._dynamo.reset()
            torch.cuda.empty_cache()

    def close(self) -> None:
        self.model = None
        if self._scratch is not None:
            self._scratch.cleanup()

    def model_for(self, job: Job):
        weights = job.mode if job.mode in ("8bit", "4bit") else "bf16"
        if self.loaded != (job.size, weights):
            self.release()  # compiled graphs of the previous model hold on to its weights
            self.model = (load_quantized(job.size, int(weights[0]), self.dtype, self.scratch(), self.args.tokenizer)
                          if weights != "bf16"
                          else build_model(job.size, self.device, self.dtype))
            self.loaded = (job.size, weights)
        self.model.set_attn_implementation(MODE_OPTIONS[base_mode(job.mode)][0])
        return self.model

    def run(self, job: Job) -> list[Row]:
        import torch

        if job.mode.startswith("answer"):
            self.release()
            folder = answer_checkpoint(job.size, self.device, self.dtype, self.scratch(), self.args.tokenizer)
            return [answer_row(job.size, job.mode, device=self.device, folder=folder, gbps=self.gbps)]
        model = self.model_for(job)
        mode = base_mode(job.mode)
        options = MODE_OPTIONS[mode][1]
        if mode.startswith("decoder"):
            from perception.vlm.decoding import StaticDecoder
            from perception.vlm.transformers_backend import STATIC_CACHE_TOKENS

            torch._dynamo.reset()  # each decoder compiles afresh: several in one process would hit the recompile limit
            cache_tokens = int(job.mode.partition("@")[2] or STATIC_CACHE_TOKENS)
            compiled = self.device.startswith("cuda")
            step = {"decoder": "auto", "decoder+sdpa": "modules"}.get(mode, mode.removeprefix("decoder+"))
            decoder = StaticDecoder(model, cache_tokens, compile=compiled, step=step)
            if mode == "decoder+sdpa":
                model.set_attn_implementation({"text_config": "sdpa"})
        weight_bytes = decode_weight_bytes(model)
        all_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
        limit = bandwidth_limit_tok_s(weight_bytes, self.gbps) if self.gbps else None
        rows = []
        for budget in (job.budget, *job.extra_budgets):
            inputs, vision_tokens = self.inputs.build(model.config, budget, self.device)
            if self.device.startswith("cuda"):
                torch.cuda.reset_peak_memory_stats()
            if mode.startswith("decoder"):
                timed_decoder(decoder, inputs, 8)  # compiles the step and records its CUDA graph
                ttft = min(timed_decoder(decoder, inputs, 1)[0] for _ in range(self.args.repeats))
                decode = timed_decoder(decoder, inputs, self.args.new_tokens)[1] if budget == job.budget else None
                if self.args.profile and budget == job.budget:
                    with self.args.profile.open("a", encoding="utf-8") as out:
                        out.write(profile_decode_steps(decoder, model.config.text_config.vocab_size, self.device,
                                                       f"{job.size} {job.mode}, {vision_tokens} vision tokens"))
            else:
                timed_generate(model, inputs, 2, self.device)  # warm-up: kernels, allocator, vision rope tables
                ttft = min(timed_generate(model, inputs, 1, self.device, **options)[0]
                           for _ in range(self.args.repeats))
                decode = None
                if budget == job.budget:
                    if job.mode == "static+compile":  # the first call compiles (cache shape must match the timed one)
                        timed_generate(model, inputs, self.args.new_tokens, self.device, **options)
                    decode = timed_generate(model, inputs, self.args.new_tokens, self.device, **options)[1]
            peak = torch.cuda.max_memory_allocated() / 1e9 if self.device.startswith("cuda") else None
            rows.append(Row(
                size=job.size, mode=job.mode, vision_tok=vision_tokens, input_tok=int(inputs["input_ids"].shape[1]),
                ttft_ms=ttft * 1000, decode_tok_s=decode, limit_tok_s=limit,
                of_limit=decode / limit if decode and limit else None, weights_gb=all_bytes / 1e9, peak_gb=peak,
            ))
        return rows



def run_job(bench: Bench, job: Job, seconds_left: float, timeout_s: int) -> list[Row]:
    """The job's rows, or one row saying why it has none: skipped, out of budget, timed out, failed."""
    import torch

    if reason := skip_reason(job.mode, bench.device):
        return [Row(job.size, job.mode, note=reason)]
    if seconds_left <= 0:
        return [Row(job.size, job.mode, note="not run: past --budget-s")]
    started = time.perf_counter()
    # a timer of our own for this job; an outer one (pytest-timeout, say) is put back afterwards with what it had left
    outer_handler = signal.signal(signal.SIGALRM, _on_alarm)
    outer_left, _ = signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        rows = bench.run(job)
    except _JobTimeout:
        rows = [Row(job.size, job.mode, note=f"timed out after {timeout_s} s")]
    except Exception as error:  # one mode failing (OOM, unsupported cache) must not lose the others
        first_line = (str(error).splitlines() or [""])[0][:120]
        rows = [Row(job.size, job.mode, note=f"error: {type(error).__name__}: {first_line}")]
        if bench.device.startswith("cuda"):
            torch.cuda.empty_cache()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, outer_handler)
        if outer_left:
            signal.setitimer(signal.ITIMER_REAL, max(outer_left - (time.perf_counter() - started), 0.001))
    rows[0].note = rows[0].note or f"{time.perf_counter() - started:.0f} s"
    return rows
