"""Screen-parser accuracy and speed on the labelled screens in examples/screens/.

    .venv/bin/python bench/screen_parser.py [--dir examples/screens]

Prints alarm-row tag accuracy, row recall/precision, priority/state accuracy and indicator recall/precision per
category (variant clean/jpeg/blur/photo, theme, language), and parse time p50 per resolution, wall and CPU seconds
(one warm-up parse first).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=ROOT / "examples" / "screens")
    args = parser.parse_args()

    from PIL import Image

    from perception.screen import parse_screen
    from perception.screen.scoring import Score, score_parse

    truths = [json.loads(p.read_text()) for p in sorted(args.dir.glob("*.json")) if p.stem != "blink_off"]
    if not truths:
        sys.exit(f"no ground-truth *.json in {args.dir}: run examples/screens/generate.py")
    parse_screen(Image.open(args.dir / truths[0]["image"]))  # warm-up: loads the OCR models

    groups: dict[str, Score] = defaultdict(Score)
    times: dict[str, list[float]] = defaultdict(list)
    cpu_times: dict[str, list[float]] = defaultdict(list)
    misreads = []
    for truth in truths:
        image = Image.open(args.dir / truth["image"]).convert("RGB")
        started, cpu_started = time.perf_counter(), time.process_time()
        parse = parse_screen(image)
        size = f"{truth['width']}x{truth['height']}"
        times[size].append(time.perf_counter() - started)
        cpu_times[size].append(time.process_time() - cpu_started)
        score = score_parse(parse, truth)
        misreads += [(truth["image"], *m) for m in score.misread_tags]
        for key in ("all", f"variant={truth['variant']}", f"theme={truth['theme']}", f"lang={truth['language']}"):
            groups[key] += score

    print(f"{len(truths)} screens from {args.dir.relative_to(ROOT) if args.dir.is_relative_to(ROOT) else args.dir}\n")
    print(f"{'category':16} {'rows':>5} {'tag acc':>8} {'row rec':>8} {'row prec':>9} {'prio acc':>9} "
          f"{'state acc':>9} {'ind':>5} {'ind rec':>8} {'ind prec':>9} {'banner':>7} {'buttons':>8}")
    order = ["all"] + sorted(k for k in groups if k.startswith("variant")) + sorted(
        k for k in groups if k.startswith("theme")) + sorted(k for k in groups if k.startswith("lang"))
    for key in order:
        s = groups[key]
        found = max(s.rows_found, 1)
        print(f"{key:16} {s.rows:5d} {s.tag_accuracy:8.1%} {s.row_recall:8.1%} {s.row_precision:9.1%} "
              f"{s.priorities_right / found:9.1%} {s.states_right / found:9.1%} {s.indicators:5d} "
              f"{s.indicator_recall:8.1%} {s.indicator_precision:9.1%} "
              f"{s.banner_tags_right}/{s.banners:<5} {s.buttons_found}/{s.buttons}")
    # CPU seconds (all threads) next to wall time: on a shared box the wall time includes waiting for the cores
    print(f"\nparse time (s), {os.cpu_count()} CPUs   wall p50   wall max   CPU p50   screens")
    for size, values in sorted(times.items(), key=lambda kv: int(kv[0].split("x")[0])):
        cpu = statistics.median(cpu_times[size])
        print(f"{size:24} {statistics.median(values):8.2f} {max(values):10.2f} {cpu:9.2f}   {len(values)}")
    if misreads:
        print("\nmissed or misread alarm-row tags (image: expected -> read):")
        for image, expected, read in misreads:
            print(f"  {image}: {expected} -> {read}")


if __name__ == "__main__":
    main()
