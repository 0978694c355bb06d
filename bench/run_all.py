"""Every benchmark in one command, one table: where the time goes around the model, and the model itself on a GPU.

    .venv/bin/python bench/run_all.py            # quick sizes, about 1-2 minutes on 2 cores
    .venv/bin/python bench/run_all.py --full     # real sizes: 10M-event alarm journal (~4 GB disk, many minutes)
    .venv/bin/python bench/run_all.py --load     # also the HTTP load test (N operators, scripted model)

Sections: vision tokens per screenshot by pixel budget; change-gate skip rate on a 1 fps recording; screen-parser
accuracy and time; alarm-history latency; agent overhead per step without the model; load (--load); model figures
(only when torch sees a CUDA GPU: bench/gpu_model.py --quick). A section that fails prints its error in the table and
the others still run. Each section's own script (bench/*.py) gives the full breakdown.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

Figure = tuple[str, str]  # (what, value)


@dataclass(frozen=True)
class Section:
    name: str
    run: Callable[[bool], list[Figure]]  # argument: full sizes (True) or quick (False)


@dataclass(frozen=True)
class Result:
    section: str
    figure: str
    value: str
    seconds: float


def bench_module(name: str):
    """A sibling bench script as a module (bench/ is a folder of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def vision_tokens_section(full: bool) -> list[Figure]:
    from perception.vlm.budget import FACTOR, vision_tokens

    budgets = (256, 512, 1024, 1280)
    min_pixels = 64 * FACTOR * FACTOR
    return [
        (f"{w}x{h} tokens at max {'/'.join(map(str, budgets))}",
         " / ".join(str(vision_tokens(w, h, min_pixels, b * FACTOR * FACTOR)) for b in budgets))
        for w, h in ((1920, 1080), (1280, 800), (1024, 768))
    ]


def recording_frames(folder: Path, scenes: int, frames_per_scene: int) -> list[str]:
    """Writes a 1 fps recording of 1280x800 HMI screens: unacknowledged alarms blink every second, the clock ticks,
    the mouse drifts; every `frames_per_scene` frames the operator switches screen. Returns each frame's screen name."""
    from PIL import ImageDraw

    from examples.screens.generate import render, screen_specs

    specs = [s for s in screen_specs() if s["size"] == (1280, 800) and s["variant"] == "clean"]
    names = []
    for scene in range(scenes):
        spec = specs[scene % len(specs)]
        phases = [render(spec, blink_on=True)[0], render(spec, blink_on=False)[0]]
        for second in range(frames_per_scene):
            image = phases[second % 2].copy()
            draw = ImageDraw.Draw(image)
            draw.rectangle((1150, 4, 1270, 24), fill=(40, 40, 40))
            draw.text((1156, 8), f"10:{scene:02d}:{second % 60:02d}", fill=(240, 240, 240))
            x, y = 400 + 7 * second, 300 + 3 * second  # mouse pointer
            draw.polygon([(x, y), (x, y + 16), (x + 11, y + 11)], fill=(255, 255, 255), outline=(0, 0, 0))
            image.save(folder / f"frame-{len(names):04d}.png", compress_level=1)
            names.append(spec["name"])
    return names


def change_gate_section(full: bool) -> list[Figure]:
    from perception.capture import ChangeGate, DirectorySource

    scenes, per_scene = (10, 30) if full else (4, 15)
    gate, gate_seconds = ChangeGate(), 0.0
    caught, by_screen = 0, {}  # screen -> [frames, skipped]
    with tempfile.TemporaryDirectory() as scratch:
        names = recording_frames(Path(scratch), scenes, per_scene)
        for number, frame in enumerate(DirectorySource(scratch)):
            started = time.perf_counter()
            new = gate.is_new(frame)
            gate_seconds += time.perf_counter() - started
            counts = by_screen.setdefault(names[number], [0, 0])
            counts[0] += 1
            counts[1] += not new
            caught += new and number % per_scene == 0
    stats = gate.stats
    figures = [
        (f"{stats.frames} frames at 1 fps, {scenes} screen switches (blink, clock, mouse)",
         f"{stats.skip_fraction:.0%} skipped, {stats.frames - stats.skipped} sent to the model"),
        ("screen switches caught", f"{caught}/{scenes}"),
    ]
    figures += [(f"skipped on screen {name}", f"{skipped}/{frames}") for name, (frames, skipped) in by_screen.items()]
    figures.append(("gate cost per frame", f"{gate_seconds / stats.frames * 1000:.1f} ms"))
    return figures


def screen_parser_section(full: bool) -> list[Figure]:
    import json
    import statistics

    from PIL import Image

    from perception.screen import parse_screen
    from perception.screen.scoring import Score, score_parse

    folder = ROOT / "examples" / "screens"
    truths = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json")) if p.stem not in ("blink_off", "demo")]
    if not full:  # one screen per size/theme/language mix and one of each degraded variant
        truths = [t for t in truths if t["image"].startswith(("clean_0", "jpeg_00", "blur_00", "photo_00"))][:10]
    parse_screen(Image.open(folder / truths[0]["image"]).convert("RGB"))  # warm-up: loads the OCR models
    total, seconds = Score(), {}
    for truth in truths:
        image = Image.open(folder / truth["image"]).convert("RGB")
        started = time.perf_counter()
        parse = parse_screen(image)
        seconds.setdefault(f"{truth['width']}x{truth['height']}", []).append(time.perf_counter() - started)
        total += score_parse(parse, truth)
    figures = [(f"{len(truths)} labelled screens: alarm-row tag accuracy / row recall / indicator recall",
                f"{total.tag_accuracy:.0%} / {total.row_recall:.0%} / {total.indicator_recall:.0%}")]
    for size, values in sorted(seconds.items(), key=lambda kv: int(kv[0].split("x")[0])):
        figures.append((f"parse time {size} (p50 of {len(values)})", f"{statistics.median(values):.2f} s"))
    return figures


def alarm_history_section(full: bool) -> list[Figure]:
    """bench/alarm_history.py in a subprocess (its owner may still change it), its printed figures picked out."""
    events = 10_000_000 if full else 200_000
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run(
            [sys.executable, str(BENCH / "alarm_history.py"), "--events", str(events), "--workdir", scratch,
             "--repeat", "50" if full else "20"],
            capture_output=True, text=True, timeout=3 * 3600, cwd=ROOT,
        )
    if done.returncode != 0:
        raise RuntimeError((done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1])
    lines = done.stdout.splitlines()
    journal = next((line for line in lines if line.startswith("journal:")), f"journal: ~{events:,} events")
    figures = [("journal", journal.removeprefix("journal: ").split(" (")[0])]
    figures += [("CSV import", line.split(":", 1)[1].strip()) for line in lines if line.startswith("import CSV")]
    for line in lines:
        if line.startswith(("typical", "chattering")):
            label = " ".join(line.split()[:2])
            p50, p95 = (re.findall(r"(\d+(?:\.\d+)?) ms", line) + ["?", "?"])[:2]
            figures.append((f"alarm_history({label}, 30d) p50 / p95", f"{p50} / {p95} ms"))
    if len(figures) < 3:
        raise RuntimeError(f"no latency rows in bench/alarm_history.py output: {lines[-1] if lines else '(none)'}")
    return figures


def agent_overhead_section(full: bool) -> list[Figure]:
    overhead = bench_module("agent_overhead")
    from storage.db import open_database
    from storage.importing import import_file

    questions = 10 if full else 3
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        db = open_database(f"sqlite:///{scratch / 'plant.sqlite'}")
        import_file(db, overhead.PLANT / "definitions.csv")
        import_file(db, overhead.PLANT / "journal.csv")
        configs = [("bare (memory checkpointer, no recording)", dict(record=False, sqlite=False, parse=False)),
                   ("default (SQLite checkpointer + session recording)", dict(record=True, sqlite=True, parse=False))]
        figures = []
        for index, (label, options) in enumerate(configs):
            row = overhead.run_config(f"c{index}", questions, scratch, db, **options)
            figures.append((f"overhead per step, {label}", f"{row['overhead'] * 1000:.1f} ms"))
        db.close()
    return figures


def load_section(full: bool) -> list[Figure]:
    load = bench_module("load")
    settings = argparse.Namespace(operators=20 if full else 10, questions=3 if full else 2, model_seconds=0.1)
    figures = []
    with tempfile.TemporaryDirectory() as scratch:
        for queue in (8, 40) if full else (8,):
            row = load.measure(queue, settings, Path(scratch))
            figures.append((
                f"{settings.operators} operators x {settings.questions} questions, queue {queue}, model 0.1 s",
                f"{row['answers/s']:.1f} answers/s, p50 {row['p50_s']:.2f} s, p95 {row['p95_s']:.2f} s, "
                f"{row['busy_503']} busy, sessions {row['sessions']}",
            ))
    return figures


def gpu_model_section(full: bool) -> list[Figure]:
    import torch

    if not torch.cuda.is_available():
        return [("model figures", f"skipped: torch {torch.__version__} sees no CUDA GPU "
                                  "(on a GPU machine: python3 bench/gpu_model.py --results bench/RESULTS.md)")]
    gpu_model = bench_module("gpu_model")
    rows = gpu_model.main([] if full else ["--quick"])
    return [
        (f"{r.size} {r.mode} @ {r.vision_tok} vision tokens" if r.vision_tok else f"{r.size} {r.mode}",
         r.note if r.ttft_ms is None else
         f"ttft {r.ttft_ms:.0f} ms" + (f", decode {r.decode_tok_s:.1f} tok/s" if r.decode_tok_s else "")
         + (f" ({r.of_limit:.0%} of bandwidth limit)" if r.of_limit else "")
         + (f"; {r.note.split(' = ')[0]} for the recorded session" if r.mode.startswith("answer") else ""))
        for r in rows
    ]


def default_sections(with_load: bool) -> list[Section]:
    sections = [
        Section("vision tokens", vision_tokens_section),
        Section("change gate", change_gate_section),
        Section("screen parser", screen_parser_section),
        Section("alarm history", alarm_history_section),
        Section("agent overhead", agent_overhead_section),
    ]
    if with_load:
        sections.append(Section("load", load_section))
    sections.append(Section("model (GPU)", gpu_model_section))
    return sections


def run_sections(sections: list[Section], full: bool, progress=sys.stderr) -> list[Result]:
    """Runs every section; one that raises becomes an ERROR row (with its last traceback line) and the rest go on."""
    results = []
    for section in sections:
        started = time.perf_counter()
        try:
            figures = section.run(full)
        except Exception as error:  # a broken benchmark must not hide the others' numbers
            where = traceback.extract_tb(error.__traceback__)[-1]
            figures = [("ERROR", f"{type(error).__name__}: {error} ({Path(where.filename).name}:{where.lineno})")]
        seconds = time.perf_counter() - started
        results += [Result(section.name, what, value, seconds) for what, value in figures]
        print(f"[{section.name}] {seconds:.1f} s", file=progress, flush=True)
    return results


def render(results: list[Result]) -> str:
    width = max([len(r.figure) for r in results] + [6])
    lines = [f"{'section':<22} {'figure':<{width}}  value", f"{'-' * 22} {'-' * width}  {'-' * 5}"]
    previous = None
    for r in results:
        name = f"{r.section} ({r.seconds:.0f} s)" if r.section != previous else ""
        lines.append(f"{name:<22} {r.figure:<{width}}  {r.value}")
        previous = r.section
    return "\n".join(lines)


def main(argv: list[str] | None = None, sections: list[Section] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="real sizes (10M alarm events, all screens, 300 frames)")
    parser.add_argument("--load", action="store_true", help="also run the HTTP load benchmark")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    results = run_sections(sections if sections is not None else default_sections(args.load), args.full)
    print(f"hmi-agent benchmarks, {'full' if args.full else 'quick'} sizes, {os.cpu_count()} CPUs, "
          f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {time.perf_counter() - started:.0f} s in all\n")
    print(render(results))
    return results


if __name__ == "__main__":
    main()
