"""The benchmark harness itself: gpu_model runs end to end on the tiny model on CPU, its bandwidth arithmetic is right,
and run_all keeps going when one section breaks. No timing is asserted (numbers belong in bench/, not tests)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from bench.gpu.bandwidth import bandwidth_limit_tok_s, decode_weight_bytes, hbm_gbps
from bench.gpu.models import build_model
from bench.gpu.report import COLUMNS
from perception.vlm.budget import vision_tokens

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}_under_test", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gpu_model():
    return load("gpu_model")


@pytest.fixture(scope="module")
def run_all():
    return load("run_all")


@pytest.mark.slow  # every mode on the tiny model, the agent's backend answering the recorded sessions: minutes
def test_gpu_model_tiny_on_cpu_prints_the_table_and_appends_results(gpu_model, tmp_path, capsys):
    results = tmp_path / "RESULTS.md"
    results.write_text("# Results\n")
    rows = gpu_model.main(["--sizes", "tiny", "--quick", "--device", "cpu", "--new-tokens", "3", "--prompt-tokens", "8",
                           "--repeats", "1", "--budget", "128", "--sweep", "64", "--hbm-gbps", "100",
                           "--results", str(results)])
    out = capsys.readouterr().out
    for column in COLUMNS:
        assert column in out
    measured, compiled = [r for r in rows if r.mode == "sdpa"], [r for r in rows if r.mode == "static+compile"]
    # the image processor's token count agrees with our own budget arithmetic
    assert [r.vision_tok for r in measured] == [vision_tokens(1280, 800, 64 * 32 * 32, b * 32 * 32) for b in (128, 64)]
    assert all(r.ttft_ms > 0 and r.input_tok == 8 + 2 + r.vision_tok + 5 for r in measured)
    assert measured[0].decode_tok_s > 0 and measured[1].decode_tok_s is None  # decode only at the main budget
    assert measured[0].limit_tok_s is not None  # --hbm-gbps given: the limit column is filled (arithmetic: the 4B test)
    assert compiled[0].note == "needs CUDA"
    decoder = next(r for r in rows if r.mode == "decoder")  # the backend's decode path, eager on CPU
    assert decoder.decode_tok_s > 0 and decoder.vision_tok == measured[0].vision_tok
    answer = next(r for r in rows if r.mode == "answer")  # the backend on the recorded sessions' requests
    assert answer.note.startswith("answer ") and "ack-simulated 2 turns" in answer.note
    assert answer.vision_tok == 1000 and answer.input_tok > 2000  # a 1280x800 screenshot; two in the second turn
    assert next(r for r in rows if r.mode == "answer+compile").note == "needs CUDA"
    section = results.read_text()
    assert section.startswith("# Results\n") and "## GPU figures: CPU (no GPU)" in section
    assert "tiny  sdpa" in section and "fastest decode" in section


@pytest.mark.slow  # five decoders built and run on the tiny model
def test_gpu_model_decoder_variants_and_profile(gpu_model, tmp_path):
    """Every decoder variant runs from the command line; --profile writes each one's step breakdown."""
    profile = tmp_path / "profile.md"
    modes = "decoder,decoder+sdpa,decoder+fused,decoder+modules,decoder@1024"
    rows = gpu_model.main(["--sizes", "tiny", "--device", "cpu", "--modes", modes,
                           "--new-tokens", "4", "--prompt-tokens", "8", "--repeats", "1", "--budget", "128",
                           "--sweep", "", "--profile", str(profile)])
    assert [r.mode for r in rows] == ["decoder", "decoder+fused", "decoder+modules", "decoder+sdpa", "decoder@1024"]
    assert all(r.decode_tok_s > 0 for r in rows), [r.note for r in rows]
    text = profile.read_text()
    assert text.count("32 decode steps: ") == 5 and "### tiny decoder@1024, 112 vision tokens" in text
    with pytest.raises(SystemExit):
        gpu_model.parse_args(["--modes", "sdpa@1024"])  # only decoder modes take a cache length


def test_bandwidth_limit_for_qwen3_vl_4b_on_h100():
    import torch

    model = build_model("4b", "meta", torch.bfloat16)  # shapes only, no memory
    hidden, inter, layers, heads, kv, head_dim, vocab = 2560, 9728, 36, 32, 8, 128, 151936
    per_layer = (hidden * heads * head_dim * 2 + hidden * kv * head_dim * 2  # q, o; k, v
                 + 3 * hidden * inter + 2 * head_dim + 2 * hidden)  # MLP; q/k norms; two RMS norms
    params = layers * per_layer + hidden + vocab * hidden  # final norm; tied LM head (read once, embedding not again)
    assert decode_weight_bytes(model) == 2 * params == 8_044_936_192
    assert hbm_gbps("NVIDIA H100 80GB HBM3") == 3350
    assert hbm_gbps("NVIDIA H100 PCIe") == 2000
    assert hbm_gbps("NVIDIA H200") == 4800
    assert hbm_gbps("NVIDIA A100-SXM4-80GB") == 2000
    assert hbm_gbps("Some Future GPU") is None
    assert bandwidth_limit_tok_s(8_044_936_192, 3350) == pytest.approx(416.4, abs=0.1)


def test_gpu_model_rejects_unknown_size(gpu_model, capsys):
    with pytest.raises(SystemExit) as exit_info:
        gpu_model.main(["--sizes", "70b"])
    assert exit_info.value.code == 2
    assert "--sizes 70b" in capsys.readouterr().err


def test_run_all_reports_a_failing_section_and_runs_the_rest(run_all, capsys):
    def broken(full: bool):
        raise ValueError("broken on purpose")

    sections = [
        run_all.Section("first", lambda full: [("a figure", "1 ms")]),
        run_all.Section("broken", broken),
        run_all.Section("last", lambda full: [("another", "full" if full else "quick")]),
    ]
    results = run_all.main([], sections=sections)
    assert [(r.section, r.figure) for r in results] == [("first", "a figure"), ("broken", "ERROR"), ("last", "another")]
    assert "ValueError: broken on purpose" in results[1].value
    out = capsys.readouterr().out
    assert "broken on purpose" in out and "quick" in out and "1 ms" in out


def test_run_all_sections_load_only_on_request(run_all):
    names = [s.name for s in run_all.default_sections(with_load=False)]
    assert names == ["vision tokens", "change gate", "screen parser", "alarm history", "agent overhead", "model (GPU)"]
    assert "load" in [s.name for s in run_all.default_sections(with_load=True)]


def test_answer_requests_are_what_the_agent_sends_now(tmp_path):
    """bench/answer_requests/ must follow prompt and tool-schema changes (re-export: python -m bench.export_requests)."""
    import json

    from bench.export_requests import OUT_DIR, export

    document = json.loads(json.dumps(export(tmp_path), ensure_ascii=False))
    committed = json.loads((OUT_DIR / "requests.json").read_text(encoding="utf-8"))
    assert document == committed, "the agent's requests changed: run `.venv/bin/python -m bench.export_requests`"
    assert sorted(p.name for p in tmp_path.glob("*.png")) == sorted(p.name for p in OUT_DIR.glob("*.png"))
    first_turn = committed["sessions"]["ack-simulated"][0]
    assert [m["role"] for m in first_turn["messages"]] == ["system", "user"]
    screenshot = next(item for item in first_turn["messages"][1]["content"] if item["type"] == "image")
    assert (OUT_DIR / screenshot["file"]).is_file() and screenshot["file"].startswith("screen-")
    assert "click" in [tool["function"]["name"] for tool in first_turn["tools"]]


def test_qwen_tokenizer_from_bpe_ranks(tmp_path, monkeypatch):
    """The tiktoken -> tokenizer.json conversion on a 260-token vocabulary (the real one has 151,643)."""
    import base64

    from transformers import AutoTokenizer

    from bench import qwen_tokenizer

    merges = [b"us", b"er", b"user", b" a"]
    ranks = [bytes([i]) for i in range(256)] + merges
    source = tmp_path / "small.tiktoken"
    source.write_text("".join(f"{base64.b64encode(t).decode()} {rank}\n" for rank, t in enumerate(ranks)))
    monkeypatch.setattr(qwen_tokenizer, "FIRST_ADDED_ID", len(ranks))
    tokenizer = AutoTokenizer.from_pretrained(qwen_tokenizer.build(source, tmp_path / "out"))
    assert tokenizer("user").input_ids == [258]  # merged as the ranks say
    assert tokenizer("<|im_start|>user<tool_call>").input_ids == [len(ranks) + 1, 258, len(ranks) + 14]
    assert tokenizer.decode(tokenizer("报警 TIC-101.HH").input_ids) == "报警 TIC-101.HH"
    text = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
    assert text.startswith("<|im_start|>user\nhi<|im_end|>") and text.endswith("<|im_start|>assistant\n")
    with pytest.raises(ValueError, match="has 260 tokens; Qwen's vocabulary has 151643"):
        monkeypatch.setattr(qwen_tokenizer, "FIRST_ADDED_ID", 151643)
        qwen_tokenizer.build(source, tmp_path / "again")

