"""perception.vlm.kernels' Triton kernels, run on the CPU in Triton's interpreter (TRITON_INTERPRET=1, set before
triton is imported: test_vlm_kernels.py runs this file in its own pytest process). float32 and float16: the
interpreter's bf16 tl.dot is wrong (triton 3.7), bf16 is covered on a GPU by bench/gpu_model.py --kernels."""

from __future__ import annotations

import os

import pytest
import torch
import torch.nn.functional as F

assert os.environ.get("TRITON_INTERPRET") == "1", "run through test_vlm_kernels.py"

from perception.vlm import kernels  # noqa: E402
from perception.vlm.decoding import StaticDecoder, grouped_decode_attention  # noqa: E402
from perception.vlm.transformers_backend import TransformersQwen3VL  # noqa: E402
from tests.perception.test_vlm_decoding import MAX_PIXELS, MIN_PIXELS, reference, request  # noqa: E402

TOLERANCE = {torch.float32: {"atol": 1e-4, "rtol": 1e-4}, torch.float16: {"atol": 2e-2, "rtol": 1e-2}}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("config", kernels.GEMV_CONFIGS, ids=lambda c: "rows{BLOCK_N}-cols{BLOCK_K}".format(**c.kwargs))
@pytest.mark.parametrize("rows, columns", [(64, 4096), (300, 520)])  # multiples of every block; neither
def test_gemv_kernel_configurations_compute_x_times_weight(dtype, config, rows, columns):
    torch.manual_seed(rows)
    x, weight = torch.randn(columns, dtype=dtype), torch.randn(rows, columns, dtype=dtype)
    y = torch.empty(rows, dtype=dtype)
    even = rows % config.kwargs["BLOCK_N"] == 0 and columns % config.kwargs["BLOCK_K"] == 0
    blocks = -(-rows // config.kwargs["BLOCK_N"])
    kernels._gemv_body[(blocks,)](x, weight, y, rows, columns, EVEN=even, **config.kwargs)
    torch.testing.assert_close(y.float(), F.linear(x.float(), weight.float()), **TOLERANCE[dtype])


def test_gemv_op_keeps_the_leading_shape_and_refuses_a_batch():
    x, weight = torch.randn(1, 1, 96), torch.randn(40, 96)
    assert kernels.gemv(x, weight).shape == (1, 1, 40)
    with pytest.raises(ValueError, match="one row of 96 values"):
        kernels.gemv(torch.randn(2, 96), weight)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("heads, kv_heads, dim", [(32, 8, 128), (4, 2, 32), (8, 8, 64)])
@pytest.mark.parametrize("filled", [1, 255, 256, 257, 700, 1024])  # one slot; around a slice's end; all of it
def test_decode_attention_reads_only_the_filled_slots(dtype, heads, kv_heads, dim, filled):
    torch.manual_seed(filled)
    query = torch.randn(1, heads, 1, dim, dtype=dtype)
    keys, values = torch.randn(1, kv_heads, 1024, dim, dtype=dtype), torch.randn(1, kv_heads, 1024, dim, dtype=dtype)
    keys[:, :, filled:], values[:, :, filled:] = 1e4, float("nan")  # what an empty slot holds must not matter
    visible = (torch.arange(1024) < filled).view(1, 1, 1, -1)
    expected, _ = grouped_decode_attention(None, query.float(), keys[:, :, :filled].float(),
                                           values[:, :, :filled].float(), visible[..., :filled], scaling=dim**-0.5)
    output = kernels.decode_attention(query, keys, values, torch.tensor([filled]), dim**-0.5)
    assert output.shape == (1, 1, heads * dim) and output.dtype == dtype
    torch.testing.assert_close(output.float(), expected.reshape(1, 1, -1), **TOLERANCE[dtype])


@pytest.fixture(scope="module")
def vlm(tiny_qwen3vl_dir):
    return TransformersQwen3VL.load(tiny_qwen3vl_dir, min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS)


@pytest.mark.parametrize("compile", [False, True])
def test_kernels_step_gives_transformers_greedy_tokens(vlm, compile):
    decoder = StaticDecoder(vlm.model, 1024, compile=compile)
    assert decoder.step == "kernels"  # "auto" picks the kernels where they run
    for question, images in (("what does TIC-101.HH mean", 1), ("text only", 0)):
        inputs = request(vlm, question, images)
        assert decoder.generate(inputs, max_new_tokens=12, stop_ids=set()) == reference(vlm, inputs, 12)
    assert not compile or decoder._whole_graph  # the custom ops keep the step one graph
