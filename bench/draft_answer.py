"""The draft answer (agent/draft.py, no model): time per question, parse included, and whether it names the right
alarm, on the labelled example screens and photos (examples/screens/*.json; truth: the label's banner tag, and for
questions naming a tag, that tag).

    .venv/bin/python bench/draft_answer.py [--dir examples/screens] [--limit N]

Per screen: one warm-up parse first (OCR model loading, reported apart), then three questions, each parsed afresh
(as a question is): generic English, generic Chinese, and one naming the label's second alarm row by its tag.
Alarm data: the demo plant (definitions + 5 days of journal) in a temporary SQLite file. Targets (issue 16): p50
<= 1.5 s per question on 2 cores, >= 95% right alarm.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GENERIC = {"en": "What does this alarm mean and has it happened recently?", "zh": "这个报警是什么意思？最近发生过吗？"}


def demo_lookup(directory: Path):
    from storage.db import open_database
    from storage.definitions import upsert_definitions
    from storage.demo import demo_definitions, demo_events
    from storage.journal import write_events
    from tools.alarms import AlarmTools

    db = open_database(f"sqlite:///{directory / 'plant.sqlite'}")
    upsert_definitions(db, demo_definitions(42))
    write_events(db, ((0, row) for row in demo_events(5, 1, tags=42)), source="demo", layout="demo")
    tools = {t.name: t for t in AlarmTools(db).tools()}
    return lambda name, arguments: tools[name](arguments)


def names_alarm(drafted: str | None, truth: str) -> bool:
    """The draft's alarm is the labelled one: same tag, and same condition when the label shows one."""
    from agent.draft import plain

    if not drafted:
        return False
    if "." in truth:
        return plain(drafted) == plain(truth)
    return plain(drafted.split(".", 1)[0]) == plain(truth)


def questions(label: dict) -> list[tuple[str, str, str]]:
    """(kind, question, the alarm it is about) for one labelled screen."""
    banner = label["banner"]["tag"]
    asked = [("generic en", GENERIC["en"], banner), ("generic zh", GENERIC["zh"], banner)]
    rows = [r["tag"] for r in label.get("alarm_rows", []) if r["tag"] != banner]
    if rows:
        asked.append(("names a row", f"What does {rows[0]} mean?", rows[0]))
    return asked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=ROOT / "examples" / "screens")
    parser.add_argument("--limit", type=int, default=0, help="only the first N labelled screens (0: all)")
    args = parser.parse_args()

    from PIL import Image

    from agent.answer import detect_language
    from agent.draft import compose_draft
    from perception.screen import parse_screen

    labels = sorted(args.dir.glob("*.json"))
    labels = [p for p in labels if "banner" in json.loads(p.read_text())][: args.limit or None]
    with tempfile.TemporaryDirectory() as scratch:
        lookup = demo_lookup(Path(scratch))
        first = Image.open(args.dir / json.loads(labels[0].read_text())["image"])
        started = time.perf_counter()
        parse_screen(first)
        warm_up = time.perf_counter() - started
        seconds, cpu_seconds, right, wrong = [], [], {}, []
        for path in labels:
            label = json.loads(path.read_text())
            image = Image.open(args.dir / label["image"])
            image.load()
            for kind, question, truth in questions(label):
                started, cpu_started = time.perf_counter(), time.process_time()
                answer, _ = compose_draft(question, parse_screen(image), lookup, language=detect_language(question))
                seconds.append(time.perf_counter() - started)
                cpu_seconds.append(time.process_time() - cpu_started)
                ok = names_alarm(answer.alarm_tag, truth)
                right.setdefault(kind, []).append(ok)
                right.setdefault(label["variant"], []).append(ok)
                if not ok:
                    wrong.append(f"{label['image']} {kind}: drafted {answer.alarm_tag}, labelled {truth}")
    everything = [ok for kind in ("generic en", "generic zh", "names a row") for ok in right.get(kind, [])]
    print(f"draft answer on {len(labels)} labelled screens, {len(seconds)} questions (parse included)")
    print(f"  first parse (OCR models loading)      {warm_up:.2f} s")
    print(f"  seconds per question p50 / p95 / max  {statistics.median(seconds):.2f} / "
          f"{sorted(seconds)[int(0.95 * (len(seconds) - 1))]:.2f} / {max(seconds):.2f}")
    print(f"  CPU seconds per question p50 / max    {statistics.median(cpu_seconds):.2f} / {max(cpu_seconds):.2f}"
          "  (all threads; wall time is what the operator waits)")
    print(f"  right alarm, all questions            {sum(everything)}/{len(everything)} ({100 * sum(everything) / len(everything):.0f}%)")
    for kind, oks in right.items():
        print(f"    {kind:34s}  {sum(oks)}/{len(oks)}")
    for line in wrong:
        print(f"  WRONG {line}")


if __name__ == "__main__":
    main()
