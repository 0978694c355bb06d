"""Where the GPU time goes: the Triton kernels against torch's ops, shape by shape, and a decode step kernel by
kernel."""

from __future__ import annotations

import time

from bench.gpu.models import build_config
from bench.gpu.timing import _sync


def kernel_report(size: str, device: str, dtype, cache_len: int, filled: tuple[int, ...] = (2600, 8192)) -> str:
    """perception.vlm.kernels against torch on one layer's shapes of `size`, each timed as a CUDA graph of 20 calls
    (so launch gaps count as in the decoder): the matrix-vector products next to cuBLAS's (F.linear), in us and GB/s
    of weights read, with the configuration the autotuner picked; the attention over a `cache_len` cache at the
    `filled` lengths next to the decoder's torch attention. Max errors against float32 references."""
    import torch
    import torch.nn.functional as F
    from triton.testing import do_bench_cudagraph

    from perception.vlm import kernels
    from perception.vlm.decoding import grouped_decode_attention

    text = build_config(size).text_config
    hidden, inner = text.hidden_size, text.intermediate_size
    heads, kv_heads, dim = text.num_attention_heads, text.num_key_value_heads, text.head_dim
    shapes = {"q+k+v": ((heads + 2 * kv_heads) * dim, hidden), "o": (hidden, heads * dim),
              "gate+up": (2 * inner, hidden), "down": (hidden, inner)}
    lines = [f"### kernels, {size} ({str(dtype).removeprefix('torch.')})", "",
             "| op | shape | torch us | torch GB/s | kernel us | kernel GB/s | kernel config | max error (ref. max) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]

    def timed_us(call) -> float:
        return do_bench_cudagraph(lambda: [call() for _ in range(20)], rep=200) * 1000 / 20

    with torch.inference_mode():
        for name, (rows, columns) in shapes.items():
            weight = torch.randn(rows, columns, device=device, dtype=dtype) * columns**-0.5
            x = torch.randn(1, 1, columns, device=device, dtype=dtype)
            y = kernels.gemv(x, weight)  # autotunes this shape
            reference = F.linear(x.float(), weight.float())
            error = f"{(y.float() - reference).abs().max().item():.3g} ({reference.abs().max().item():.3g})"
            gigabytes = weight.numel() * weight.element_size() / 1e9
            torch_us, kernel_us = timed_us(lambda: F.linear(x, weight)), timed_us(lambda: kernels.gemv(x, weight))
            best = kernels._gemv_kernel.best_config
            config = (f"{best.kwargs['BLOCK_N']}x{best.kwargs['BLOCK_K']} w{best.num_warps} s{best.num_stages}"
                      if best else "?")
            lines.append(f"| gemv {name} | {rows}x{columns} | {torch_us:.1f} | {gigabytes / torch_us * 1e6:.0f} | "
                         f"{kernel_us:.1f} | {gigabytes / kernel_us * 1e6:.0f} | {config} | {error} |")
        query = torch.randn(1, heads, 1, dim, device=device, dtype=dtype)
        keys = torch.randn(1, kv_heads, cache_len, dim, device=device, dtype=dtype)
        values = torch.randn(1, kv_heads, cache_len, dim, device=device, dtype=dtype)
        for length in filled:
            length = min(length, cache_len)
            visible = (torch.arange(cache_len, device=device) < length).view(1, 1, 1, -1)
            filled_now = torch.tensor([length], device=device)
            output = kernels.decode_attention(query, keys, values, filled_now, dim**-0.5)
            reference, _ = grouped_decode_attention(None, query.float(), keys.float(), values.float(), visible,
                                                    scaling=dim**-0.5)
            error = f"{(output.float() - reference.reshape(1, 1, -1)).abs().max().item():.3g}"
            torch_us = timed_us(lambda: grouped_decode_attention(None, query, keys, values, visible,
                                                                 scaling=dim**-0.5))
            kernel_us = timed_us(lambda: kernels.decode_attention(query, keys, values, filled_now, dim**-0.5))
            gigabytes = 2 * kv_heads * length * dim * keys.element_size() / 1e9  # the filled keys and values
            lines.append(f"| attention | {length} of {cache_len} slots | {torch_us:.1f} | "
                         f"{gigabytes / torch_us * 1e6:.0f} | {kernel_us:.1f} | {gigabytes / kernel_us * 1e6:.0f} | "
                         f"{kernels.SPLIT_SLOTS}-slot slices | {error} |")
    return "\n".join(lines) + "\n\n(GB/s: bytes the op must read (weights; filled cache) / time; torch attention "\
        "reads the whole cache)\n"


def profile_decode_steps(decoder, vocab_size: int, device: str, title: str, steps: int = 32) -> str:
    """Kernel time of `steps` decode steps replayed on the decoder's cache as the timed decode left it (values don't
    matter, shapes do): the busiest kernels, and per step the wall time, the time kernels kept the GPU busy and their
    count. Wall minus busy is the gap between kernels; busy over the weight-read time is what the kernels waste."""
    import torch
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile

    filled = int(decoder.cache.get_seq_length())
    steps = min(steps, decoder.max_cache_len - filled)  # the steps append to the cache
    if steps < 1:
        return f"### {title}\n\nnot profiled: the {decoder.max_cache_len}-token cache is full\n"
    state = {"device": device, "dtype": torch.long}
    token, position = torch.zeros((1, 1), **state), torch.full((1, 1), filled, **state)
    rope_delta, stops_from = torch.zeros((1, 1), **state), torch.zeros((1, 1), **state)
    stop_mask = torch.zeros(vocab_size, dtype=torch.bool, device=device)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.startswith("cuda") else [])
    with torch.inference_mode(), profile(activities=activities) as trace:
        _sync(device)
        started = time.perf_counter()
        for _ in range(steps):
            token = decoder._run_step(token, position, rope_delta, stops_from, stop_mask).clone()
            position += 1
        _sync(device)
        wall_ms = (time.perf_counter() - started) * 1000 / steps
    kernels = [e for e in trace.events() if e.device_type == DeviceType.CUDA]
    busy_ms = sum(e.time_range.elapsed_us() for e in kernels) / 1000 / steps
    sort = "self_device_time_total" if kernels else "self_cpu_time_total"
    table = trace.key_averages().table(sort_by=sort, row_limit=25, max_name_column_width=80)
    return (f"### {title}\n\n{steps} decode steps: {wall_ms:.2f} ms per step (profiler on), kernels busy "
            f"{busy_ms:.2f} ms, {len(kernels) / steps:.0f} kernels per step\n\n```\n{table}\n```\n")
