"""Triton kernels for the decoder's step at batch 1: a matrix-vector product and one token's attention over a static
KV cache that reads only the filled part of it.

Why: at batch 1 every decode step reads all the weights once, so a step can't be faster than weight bytes / memory
bandwidth. cuBLAS's GEMV kernels took about twice the time reading a layer's weights takes (bench/RESULTS.md run 5),
and attention over a static cache read all its 8192 slots every step, filled or not. The figures for these kernels
against torch's ops, shape by shape, are in bench/RESULTS.md (runs 7 and 8). Both
are small kernels: each program of `_gemv_kernel` streams a band of weight rows; `_decode_attention_kernel` splits
the cache in slices of SPLIT_SLOTS, skips the slices past the filled length (read from the GPU, so one CUDA graph
serves every position) and leaves the per-slice partial results to be merged by `merge_slices`.

They are torch custom ops (`hmi_agent::gemv`, `hmi_agent::decode_attention`) so the compiled decode step keeps
them as calls in one graph. Without triton (or a CUDA GPU of compute capability 8.0 or more) `available` is False
and the decoder uses torch's matmuls. With TRITON_INTERPRET=1 set before the first import they run on the CPU in
Triton's interpreter: that is how the tests check them.
"""

from __future__ import annotations

import importlib.util
import os

import torch

SPLIT_SLOTS = 256  # cache slots per attention program: 32 programs per key/value head on an 8192-token cache
INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
HAS_TRITON = importlib.util.find_spec("triton") is not None


def available(device: torch.device | str) -> bool:
    """Whether the kernels can run on `device` (CUDA, compute capability >= 8.0 for bf16, triton installed; or the
    interpreter on the CPU)."""
    device = torch.device(device)
    if not HAS_TRITON:
        return False
    if INTERPRETED:
        return device.type == "cpu"
    return device.type == "cuda" and torch.cuda.get_device_capability(device) >= (8, 0)


def head_dim_fits(head_dim: int) -> bool:
    """The attention kernel loads a head's vector as one power-of-two block (Qwen3-VL: 128)."""
    return head_dim >= 16 and head_dim & (head_dim - 1) == 0


if HAS_TRITON:
    import triton
    import triton.language as tl

    # (rows, columns) per program and iteration, warps, pipeline stages. Many small programs keep enough loads in
    # flight to fill the memory bus on every projection shape; the autotuner measures each shape once per process.
    GEMV_CONFIGS = [
        triton.Config({"BLOCK_N": rows, "BLOCK_K": columns}, num_warps=warps, num_stages=stages)
        for rows, columns, warps, stages in (
            (1, 2048, 8, 1),
            (2, 2048, 8, 1),
            (2, 1024, 4, 1),
            (4, 1024, 8, 1),
            (4, 512, 4, 1),
            (8, 512, 4, 1),
            (8, 512, 8, 2),
            (8, 256, 4, 3),
            (16, 256, 8, 1),
            (4, 1024, 4, 3),
        )
    ]

    @triton.jit
    def _gemv_body(x_ptr, w_ptr, y_ptr, N, K, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, EVEN: tl.constexpr):
        rows = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)
        row_starts = w_ptr + rows.to(tl.int64)[:, None] * K
        accumulated = tl.zeros((BLOCK_N, BLOCK_K), dtype=tl.float32)
        for start in range(0, K, BLOCK_K):
            columns = start + tl.arange(0, BLOCK_K)
            if EVEN:
                x = tl.load(x_ptr + columns)
                w = tl.load(row_starts + columns[None, :])
            else:
                x = tl.load(x_ptr + columns, mask=columns < K, other=0.0)
                w = tl.load(row_starts + columns[None, :], mask=(rows[:, None] < N) & (columns[None, :] < K), other=0.0)
            accumulated += w.to(tl.float32) * x.to(tl.float32)[None, :]
        tl.store(y_ptr + rows, tl.sum(accumulated, axis=1).to(y_ptr.dtype.element_ty), mask=rows < N)

    # the interpreter runs programs one by one in Python: there, one configuration, the one with the fewest programs
    _INTERPRETER_CONFIGS = [max(GEMV_CONFIGS, key=lambda c: c.kwargs["BLOCK_N"])]
    _gemv_kernel = triton.autotune(configs=_INTERPRETER_CONFIGS if INTERPRETED else GEMV_CONFIGS, key=["N", "K"])(
        triton.heuristics({"EVEN": lambda a: a["N"] % a["BLOCK_N"] == 0 and a["K"] % a["BLOCK_K"] == 0})(_gemv_body)
    )

    # cache slots read per iteration, warps: measured per cache length (each tried on a quarter-filled cache)
    ATTENTION_CONFIGS = [
        triton.Config({"BLOCK_L": slots}, num_warps=warps)
        for slots, warps in ((32, 4), (64, 4), (64, 8), (128, 4), (128, 8))
    ]

    @triton.jit
    def _decode_attention_body(
        q_ptr,
        k_ptr,
        v_ptr,
        length_ptr,
        out_ptr,
        lse_ptr,
        scale,
        cache_len,
        groups,
        SPLITS: tl.constexpr,
        SPLIT: tl.constexpr,
        BLOCK_L: tl.constexpr,
        BLOCK_G: tl.constexpr,
        D: tl.constexpr,
    ):
        kv_head = tl.program_id(0)
        piece = tl.program_id(1)
        group = tl.arange(0, BLOCK_G)
        dims = tl.arange(0, D)
        # the query heads sharing this key/value head, padded to a block tl.dot accepts
        query = tl.load(
            q_ptr + (kv_head * groups + group)[:, None] * D + dims[None, :], mask=(group < groups)[:, None], other=0.0
        )
        start = piece * SPLIT
        end = tl.minimum(start + SPLIT, tl.load(length_ptr).to(tl.int32))  # slots past the filled length: skipped
        keys = k_ptr + kv_head.to(tl.int64) * cache_len * D
        values = v_ptr + kv_head.to(tl.int64) * cache_len * D
        best = tl.full((BLOCK_G,), float("-inf"), dtype=tl.float32)
        total = tl.zeros((BLOCK_G,), dtype=tl.float32)
        accumulated = tl.zeros((BLOCK_G, D), dtype=tl.float32)
        for block in range(start, end, BLOCK_L):
            slots = block + tl.arange(0, BLOCK_L)
            filled = slots < end
            k = tl.load(keys + slots[:, None] * D + dims[None, :], mask=filled[:, None], other=0.0)
            scores = tl.dot(query, tl.trans(k)) * scale
            scores = tl.where(filled[None, :], scores, float("-inf"))
            new_best = tl.maximum(best, tl.max(scores, axis=1))
            weights = tl.exp(scores - new_best[:, None])
            rescale = tl.exp(best - new_best)
            total = total * rescale + tl.sum(weights, axis=1)
            v = tl.load(values + slots[:, None] * D + dims[None, :], mask=filled[:, None], other=0.0)
            accumulated = accumulated * rescale[:, None] + tl.dot(weights.to(v.dtype), v)
            best = new_best
        row = (kv_head * SPLITS + piece) * groups + group
        tl.store(
            out_ptr + row[:, None] * D + dims[None, :],
            accumulated / tl.maximum(total, 1e-30)[:, None],
            mask=(group < groups)[:, None],
        )
        # a skipped slice: best = -inf, so its log-sum-exp is -inf and it weighs nothing in merge_slices
        tl.store(lse_ptr + row, best + tl.log(tl.maximum(total, 1e-30)), mask=group < groups)

    _decode_attention_kernel = triton.autotune(
        configs=ATTENTION_CONFIGS[1:2] if INTERPRETED else ATTENTION_CONFIGS, key=["cache_len"]
    )(_decode_attention_body)


@torch.library.custom_op("hmi_agent::gemv", mutates_args=())
def gemv(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """x (..., K) holding one row, weight (N, K) contiguous -> x @ weight.T (..., N), accumulated in float32."""
    n, k = weight.shape
    if x.numel() != k or not weight.is_contiguous():
        raise ValueError(
            f"gemv takes one row of {k} values and a contiguous weight: {tuple(x.shape)=}, {weight.is_contiguous()=}"
        )
    y = torch.empty(n, dtype=x.dtype, device=x.device)
    _gemv_kernel[lambda meta: (triton.cdiv(n, meta["BLOCK_N"]),)](x.contiguous(), weight, y, n, k)
    return y.view(*x.shape[:-1], n)


@gemv.register_fake
def _(x, weight):
    return x.new_empty((*x.shape[:-1], weight.shape[0]))


def _slice_shape(query: torch.Tensor, keys: torch.Tensor) -> tuple[int, int, int, int]:
    """(kv_heads, slices, groups, D) of decode_attention_slices' outputs, for the op and its fake alike."""
    _, kv_heads, cache_len, dim = keys.shape
    return kv_heads, -(-cache_len // SPLIT_SLOTS), query.shape[1] // kv_heads, dim


@torch.library.custom_op("hmi_agent::decode_attention", mutates_args=())
def decode_attention_slices(
    query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, length: torch.Tensor, scale: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """One token's attention, per cache slice. query (1, heads, 1, D); keys, values (1, kv_heads, cache, D) with the
    first `length` (a 1-element GPU tensor) slots filled -> per slice the normalised output (kv_heads, slices,
    groups, D) and log-sum-exp (kv_heads, slices, groups), float32; merge_slices combines them."""
    kv_heads, splits, groups, dim = shape = _slice_shape(query, keys)
    out = torch.empty(shape, dtype=torch.float32, device=query.device)
    lse = torch.empty(shape[:3], dtype=torch.float32, device=query.device)
    _decode_attention_kernel[(kv_heads, splits)](
        query.contiguous(),
        keys,
        values,
        length,
        out,
        lse,
        scale,
        keys.shape[2],
        groups,
        SPLITS=splits,
        SPLIT=SPLIT_SLOTS,
        BLOCK_G=max(16, triton.next_power_of_2(groups)),
        D=dim,
    )
    return out, lse


@decode_attention_slices.register_fake
def _(query, keys, values, length, scale):
    shape = _slice_shape(query, keys)
    return query.new_empty(shape, dtype=torch.float32), query.new_empty(shape[:3], dtype=torch.float32)


def merge_slices(out: torch.Tensor, lse: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The slices' outputs weighted by their share of the softmax -> (1, 1, heads * D) in `dtype` (torch code: the
    compiler fuses it into one kernel)."""
    weights = lse.softmax(dim=1).unsqueeze(-1)  # skipped slices (-inf) weigh 0
    return (weights * out).sum(dim=1).reshape(1, 1, -1).to(dtype)


def decode_attention(query, keys, values, length, scale: float) -> torch.Tensor:
    """query (1, heads, 1, D) over the first `length` slots of keys/values (1, kv_heads, cache, D)
    -> (1, 1, heads * D)."""
    return merge_slices(*decode_attention_slices(query, keys, values, length, scale), query.dtype)
