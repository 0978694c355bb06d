"""The agent's own backend answering recorded requests: the screenshot -> grounded answer figures."""

from __future__ import annotations

import json
import time
from pathlib import Path

from bench.gpu.bandwidth import bandwidth_limit_tok_s, decode_weight_bytes
from bench.gpu.models import SCREEN
from bench.gpu.report import Row

ANSWER_DIR = Path(__file__).resolve().parents[1] / "answer_requests"  # written by bench/export_requests.py
ANSWER_SESSIONS = ("ack-simulated", "alarm-meaning-en")  # the first is the case: one grounded click + answer


def answer_row(size: str, mode: str, *, device: str, folder: Path, gbps: float | None) -> Row:
    """The agent's backend (TransformersQwen3VL: chat template, tool schemas, image processing, its decode path)
    answering the recorded requests of ANSWER_SESSIONS, each reply forced to its recorded length in tokens.
    Every session runs twice after warm-up; the row keeps the second run, the note both and the load/warm-up.
    `folder`: the size's checkpoint (models.answer_checkpoint); `mode`: "answer" or "answer+compile"."""
    import torch
    from PIL import Image

    from perception.vlm.transformers_backend import TransformersQwen3VL
    from perception.vlm.types import ModelOutputError

    compiled = mode == "answer+compile"
    started = time.perf_counter()
    vlm = TransformersQwen3VL.load(folder, device=device, compile="on" if compiled else "off")
    load_s = time.perf_counter() - started
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    warm_up_s = vlm.warm_up(SCREEN)
    document = json.loads((ANSWER_DIR / "requests.json").read_text(encoding="utf-8"))
    images = {path.name: Image.open(path).convert("RGB") for path in ANSWER_DIR.glob("*.png")}

    def with_images(value):
        if isinstance(value, dict) and "file" in value and value.get("type") == "image":
            return {"type": "image", "image": images[value["file"]]}
        if isinstance(value, dict):
            return {key: with_images(inner) for key, inner in value.items()}
        return [with_images(inner) for inner in value] if isinstance(value, list) else value

    def answer(session: str) -> tuple[float, list]:
        stats = []
        started = time.perf_counter()
        for call in document["sessions"][session]:
            new_tokens = max(2, len(vlm.processor.tokenizer(call["reply"])["input_ids"]))
            vlm.model.generation_config.min_new_tokens = new_tokens
            try:
                stats.append(vlm.generate(with_images(call["messages"]), call["tools"],
                                          max_new_tokens=new_tokens).stats)
            except ModelOutputError as e:  # random weights may well emit a broken <tool_call>
                stats.append(e.stats)
        return time.perf_counter() - started, stats

    runs = {session: [answer(session) for _ in range(2)] for session in ANSWER_SESSIONS}
    seconds, stats = runs[ANSWER_SESSIONS[0]][1]
    decode = [s.output_tokens / (s.total_s - s.time_to_first_token_s) for s in stats
              if s.total_s > s.time_to_first_token_s and s.output_tokens > 1]
    weight_bytes = decode_weight_bytes(vlm.model)
    limit = bandwidth_limit_tok_s(weight_bytes, gbps) if gbps else None
    rate = sum(decode) / len(decode) if decode else None
    note = "; ".join(
        f"{session} {len(run[1][1])} turns: {run[1][0]:.2f} s ("
        + "+".join(f"{s.total_s:.2f}" for s in run[1][1]) + f"), 1st run {run[0][0]:.2f} s, "
        f"agent {document['agent_seconds'][session]:.2f} s"
        for session, run in runs.items())
    note += f"; load {load_s:.0f} s, warm-up {warm_up_s:.0f} s" + ("" if vlm.compile_decode or not compiled
                                                                 else ", COMPILE FELL BACK TO EAGER")
    return Row(
        size=size, mode=mode, vision_tok=stats[0].vision_tokens,
        input_tok=max(s.input_tokens for s in stats), ttft_ms=stats[0].time_to_first_token_s * 1000,
        decode_tok_s=rate, limit_tok_s=limit, of_limit=rate / limit if rate and limit else None,
        weights_gb=sum(p.numel() * p.element_size() for p in vlm.model.parameters()) / 1e9,
        peak_gb=torch.cuda.max_memory_allocated() / 1e9 if device.startswith("cuda") else None,
        note=f"answer {seconds:.2f} s = " + note,
    )
