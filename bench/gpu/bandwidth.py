"""At batch 1 every decoded token reads every weight of the language model once: the decode speed limit is the
memory bandwidth over the weight bytes."""

from __future__ import annotations

# Peak HBM bandwidth, GB/s (vendors' data sheets), by words in torch.cuda.get_device_name(); first match wins.
HBM_GBPS = (
    (("h200",), 4800.0),
    (("h100", "nvl"), 3900.0),
    (("h100", "pcie"), 2000.0),
    (("h100",), 3350.0),  # SXM, reports as "NVIDIA H100 80GB HBM3"
    (("a100", "80gb"), 2000.0),
    (("a100",), 1555.0),  # 40 GB
    (("l40s",), 864.0),
)


def decode_weight_bytes(model) -> int:
    """Bytes of weights one decoded token reads: the language model and LM head, not the vision tower, and not the
    input-embedding table unless it is the (tied) LM head. Counts storage, so int8/4-bit weights count as such."""
    head = model.get_output_embeddings().weight
    total, seen = 0, set()
    for name, param in model.named_parameters(remove_duplicate=False):
        if id(param) in seen or ".visual." in f".{name}" or (("embed_tokens" in name) and param is not head):
            continue
        seen.add(id(param))
        total += param.numel() * param.element_size()
    return total


def hbm_gbps(device_name: str) -> float | None:
    name = device_name.lower()
    return next((gbps for words, gbps in HBM_GBPS if all(word in name for word in words)), None)


def measured_copy_gbps(gigabytes: float = 4.0, repeats: int = 10) -> float:
    """Device-to-device copy rate, counting bytes read plus bytes written (the practical HBM ceiling)."""
    import torch

    source = torch.randn(int(gigabytes * 1e9 / 4), device="cuda")
    target = torch.empty_like(source)
    target.copy_(source)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(repeats):
        target.copy_(source)
    end.record()
    torch.cuda.synchronize()
    seconds = start.elapsed_time(end) / 1000 / repeats
    del source, target
    torch.cuda.empty_cache()
    return 2 * gigabytes / seconds


def bandwidth_limit_tok_s(weight_bytes: int, gbps: float) -> float:
    """Decode tokens/s if every token had to stream all weights once from HBM at peak bandwidth (batch 1)."""
    return gbps * 1e9 / weight_bytes
