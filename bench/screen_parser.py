"""Screen-parser accuracy and speed on labelled screens: examples/screens/ (default) or the vendor-style screens.

    .venv/bin/python bench/screen_parser.py [--dir examples/screens]
    .venv/bin/python bench/screen_parser.py --dir bench/screens/vendors [--style packed] [--profile FILE]

Prints alarm-row tag accuracy, row recall/precision, priority/state accuracy, indicator recall/precision and badge
association (badge given its equipment's tag) per category (style, variant clean/jpeg/blur/photo, theme, language),
and parse time p50 per resolution, wall and CPU seconds (one warm-up parse first). The --dir folder and its
subfolders are searched for labels. Screens are read with --profile (default: generic); with --site-profiles, a
`profile.yaml` beside a screen's labels is used for it instead (bench/screens/vendors/learn_profiles.sh calibrates
them, each from its style's first screen).
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
    parser.add_argument("--style", help="only the screens of this style (a subfolder of --dir)")
    parser.add_argument("--profile", help="site profile (shipped name or YAML file) to read the screens with")
    parser.add_argument("--site-profiles", action="store_true", help="use the profile.yaml beside each screen")
    args = parser.parse_args()

    from PIL import Image

    from perception.screen import parse_screen
    from perception.screen.profile import ProfileError, load_profile
    from perception.screen.scoring import Score, score_parse

    labels = [p for p in sorted(args.dir.rglob("*.json")) if p.stem != "blink_off" and "image" in p.read_text()[:200]]
    labels = [p for p in labels if args.style is None or p.parent.name == args.style]
    truths = [{**json.loads(p.read_text()), "folder": p.parent} for p in labels]
    if not truths:
        sys.exit(f"no ground-truth *.json in {args.dir}: run examples/screens/generate.py")
    try:
        default_profile = load_profile(args.profile)
        profiles = {t["folder"]: load_profile(t["folder"] / "profile.yaml")
                    if args.site_profiles and (t["folder"] / "profile.yaml").is_file() else default_profile
                    for t in truths}
    except ProfileError as e:
        sys.exit(str(e))
    parse_screen(Image.open(truths[0]["folder"] / truths[0]["image"]))  # warm-up: loads the OCR models

    groups: dict[str, Score] = defaultdict(Score)
    times: dict[str, list[float]] = defaultdict(list)
    cpu_times: dict[str, list[float]] = defaultdict(list)
    misreads = []
    for truth in truths:
        image = Image.open(truth["folder"] / truth["image"]).convert("RGB")
        started, cpu_started = time.perf_counter(), time.process_time()
        parse = parse_screen(image, profile=profiles[truth["folder"]])
        size = f"{truth['width']}x{truth['height']}"
        times[size].append(time.perf_counter() - started)
        cpu_times[size].append(time.process_time() - cpu_started)
        score = score_parse(parse, truth)
        misreads += [(truth["image"], *m) for m in score.misread_tags]
        keys = ["all", f"variant={truth['variant']}", f"theme={truth['theme']}", f"lang={truth['language']}"]
        for key in keys + ([f"style={truth['style']}"] if "style" in truth else []):
            groups[key] += score

    print(f"{len(truths)} screens from {args.dir.relative_to(ROOT) if args.dir.is_relative_to(ROOT) else args.dir}\n")
    print(f"{'category':16} {'rows':>5} {'tag acc':>8} {'row rec':>8} {'row prec':>9} {'prio acc':>9} "
          f"{'state acc':>9} {'ind':>5} {'ind rec':>8} {'ind prec':>9} {'badge tag':>9} {'banner':>7} {'buttons':>8}")
    order = ["all"] + [k for prefix in ("style", "variant", "theme", "lang")
                       for k in sorted(k for k in groups if k.startswith(prefix))]
    for key in order:
        s = groups[key]
        found = max(s.rows_found, 1)
        print(f"{key:16} {s.rows:5d} {s.tag_accuracy:8.1%} {s.row_recall:8.1%} {s.row_precision:9.1%} "
              f"{s.priorities_right / found:9.1%} {s.states_right / found:9.1%} {s.indicators:5d} "
              f"{s.indicator_recall:8.1%} {s.indicator_precision:9.1%} {_ratio(s):>9} "
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


def _ratio(score) -> str:
    return f"{score.badge_association:.1%}" if score.indicators_tagged else "-"


if __name__ == "__main__":
    main()
