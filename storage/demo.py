"""A demo plant: six areas, ~40 instrument tags with English/Chinese definitions, and a seeded alarm journal with
ordinary alarms plus the nuisances ISA-18.2 cares about: a chattering level alarm (later shelved), a stale
temperature alarm, a compressor-trip alarm flood and a suppressed pump. Scales to millions of events (benchmarks)
and streams them, one alarm at a time.

The example screens (examples/screens/) show this plant at 10:45 UTC: STANDING lists the alarms standing then, and
the journal ends each of them in the state, with the time and value, that the screens show."""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml

from storage.demo_manuals import MANUAL_EN, PROCEDURE_PAGES
from storage.journal import EventRow, event_key
from storage.models import PRIORITY_NAMES, EventState
from storage.timeutil import now_utc

AREAS = (
    ("Reactor", "反应区", "R-{n}01 reactor", "R-{n}01反应器"),
    ("Distillation", "精馏区", "C-{n}01 column", "C-{n}01精馏塔"),
    ("Boiler", "锅炉房", "B-{n}01 boiler", "B-{n}01锅炉"),
    ("Tank Farm", "罐区", "T-{n}01 tank", "T-{n}01储罐"),
    ("Compressor", "压缩机房", "K-{n}01 compressor", "K-{n}01压缩机"),
    ("Utilities", "公用工程", "U-{n}01 cooling water", "U-{n}01循环水系统"),
)


@dataclass(frozen=True)
class _Kind:
    prefix: str
    quantity: str
    quantity_zh: str
    units: str
    normal: float
    limits: dict[str, float]  # condition -> alarm limit


KINDS = (
    _Kind("TIC", "temperature", "温度", "°C", 80.0, {"HH": 90.0, "H": 85.0}),
    _Kind("PIC", "pressure", "压力", "bar", 12.0, {"HH": 16.0, "L": 7.0}),
    _Kind("LIC", "level", "液位", "%", 50.0, {"H": 85.0, "LL": 10.0}),
    _Kind("FIC", "flow", "流量", "m³/h", 40.0, {"L": 15.0}),
    _Kind("VI", "vibration", "振动", "mm/s", 3.0, {"H": 7.1, "HH": 11.0}),
    _Kind("AI", "combustible gas", "可燃气体", "%LEL", 0.0, {"H": 20.0, "HH": 40.0}),
    _Kind("P", "pump", "泵", "", 0.0, {"TRIP": 0.0}),
)

_WORDS = {
    "HH": ("high-high", "高高"),
    "H": ("high", "高"),
    "L": ("low", "低"),
    "LL": ("low-low", "低低"),
    "TRIP": ("trip", "跳车"),
}

# (quantity, direction) -> (cause, cause_zh, consequence, consequence_zh, action, action_zh)
_GUIDANCE = {
    ("temperature", "high"): (
        "Cooling water loss, fouled exchanger or controller left in manual.",
        "冷却水中断、换热器结垢或控制器处于手动。",
        "Off-spec product; at high-high the interlock cuts the feed.",
        "产品不合格；高高报警时联锁切断进料。",
        "Check cooling water pump and valve, put the controller in AUTO, reduce feed if rising.",
        "检查冷却水泵和阀门，将控制器切回自动，温度继续上升时降低进料。",
    ),
    ("pressure", "high"): (
        "Blocked outlet, relief valve passing, or upstream pressure surge.",
        "出口堵塞、安全阀内漏或上游压力波动。",
        "Relief valve lifts; at high-high the unit trips.",
        "安全阀起跳；高高报警时装置联锁停车。",
        "Open the outlet/bypass, check downstream valves, prepare for a controlled shutdown.",
        "打开出口或旁路阀，检查下游阀门，准备有序停车。",
    ),
    ("pressure", "low"): (
        "Leak, supply failure or controller output saturated.",
        "泄漏、供气中断或控制器输出饱和。",
        "Loss of driving pressure; downstream users starve.",
        "动力压力不足，下游用户供应中断。",
        "Check the supply header and for leaks; start the standby supply.",
        "检查供气总管及泄漏点，启动备用气源。",
    ),
    ("level", "high"): (
        "Outlet pump stopped or level valve stuck closed.",
        "出口泵停运或液位调节阀卡关。",
        "Overfill and liquid carry-over to the next unit.",
        "满罐溢流，液体夹带至下游设备。",
        "Check the outlet pump and level valve; reduce inflow.",
        "检查出口泵和液位阀，减少进料。",
    ),
    ("level", "low"): (
        "Inflow lost or drain valve open.",
        "进料中断或排放阀未关。",
        "Pump cavitation and dry running; at low-low the pump trips.",
        "泵汽蚀和干转；低低报警时泵联锁停运。",
        "Confirm inflow, close drains, stop the pump before it runs dry.",
        "确认进料，关闭排放阀，防止泵干转必要时停泵。",
    ),
    ("flow", "low"): (
        "Pump trip, filter plugged or valve closed.",
        "泵跳车、过滤器堵塞或阀门关闭。",
        "Downstream unit starved; possible overheating.",
        "下游装置缺料，可能过热。",
        "Check the pump status and filter differential pressure; switch to the standby pump.",
        "检查泵运行状态和过滤器压差，切换备用泵。",
    ),
    ("vibration", "high"): (
        "Bearing wear, misalignment or surge.",
        "轴承磨损、对中不良或喘振。",
        "Bearing damage; at high-high the machine trips.",
        "轴承损坏；高高报警时设备联锁停机。",
        "Check bearing temperature and lube oil; reduce load; call the machinery engineer.",
        "检查轴承温度和润滑油，降低负荷，通知设备工程师。",
    ),
    ("combustible gas", "high"): (
        "Flange or seal leak near the detector.",
        "探头附近法兰或密封泄漏。",
        "Fire and explosion risk.",
        "存在火灾和爆炸风险。",
        "Evacuate the area, isolate the leak source, verify with a portable detector.",
        "撤离现场人员，隔离泄漏源，用便携式检测仪复核。",
    ),
    ("pump", "trip"): (
        "Motor overload, low suction pressure or emergency stop pressed.",
        "电机过载、入口压力低或急停按钮被按下。",
        "Loss of flow to the downstream unit.",
        "下游装置断流。",
        "Start the standby pump, then check the motor protection relay and suction strainer.",
        "启动备用泵，然后检查电机保护继电器和入口过滤器。",
    ),
}

_PRIORITY = {"HH": 1, "LL": 1, "TRIP": 2, "H": 3, "L": 3}
# Some alarms rank differently from their condition: gas detection is urgent early, a low flow or a first
# vibration warning is only advisory (ISA-18.2 spreads alarms over all four priorities).
_PRIORITY_BY_KIND = {("AI", "HH"): 1, ("AI", "H"): 2, ("VI", "HH"): 2, ("VI", "H"): 4, ("FIC", "L"): 4}
_RESPONSE_S = {1: 300, 2: 600, 3: 900, 4: 1800}
OPERATORS = ("li.wei", "zhang.min", "j.smith", "a.kumar", "wang.fang")


@dataclass(frozen=True)
class DemoAlarm:
    tag: str
    condition: str
    area: str
    priority: int
    limit: float
    normal: float
    message: str


def _priority(kind: _Kind, condition: str) -> int:
    return _PRIORITY_BY_KIND.get((kind.prefix, condition), _PRIORITY[condition])


def hmi_priority(alarm: StandingAlarm) -> str:
    """The priority digit the HMI shows, "1" (critical) .. "4" (low)."""
    return str(_priority(_kind_of(alarm.tag), alarm.condition))


def _direction(condition: str) -> str:
    return {"HH": "high", "H": "high", "L": "low", "LL": "low"}.get(condition, "trip")


def demo_tags(count: int = 42) -> list[tuple[str, int, _Kind]]:
    """(tag, area index, kind): areas in turn, each area cycling through the instrument kinds."""
    tags = []
    for i in range(count):
        area, k = i % len(AREAS), i // len(AREAS)
        kind = KINDS[k % len(KINDS)]
        tags.append((f"{kind.prefix}-{area + 1}{k + 1:02d}", area, kind))
    return tags


def demo_definitions(tags: int = 42) -> list[dict[str, Any]]:
    """Definition rows (AlarmDefinition columns) for the demo plant, in English and Chinese."""
    rows = []
    for tag, area, kind in demo_tags(tags):
        area_name, area_zh, equipment, equipment_zh = AREAS[area]
        equipment, equipment_zh = equipment.format(n=area + 1), equipment_zh.format(n=area + 1)
        for condition, limit in kind.limits.items():
            words, words_zh = _WORDS[condition]
            guidance = _GUIDANCE[(kind.quantity, _direction(condition))]
            priority = _priority(kind, condition)
            rows.append(
                {
                    "tag": tag,
                    "condition": condition,
                    "description": f"{equipment} {kind.quantity} {words}".replace("pump trip", f"pump {tag} trip"),
                    "description_zh": f"{equipment_zh}{kind.quantity_zh}{words_zh}",
                    "priority": priority,
                    "area": area_name,
                    "equipment": equipment,
                    "probable_cause": guidance[0],
                    "probable_cause_zh": guidance[1],
                    "consequence": guidance[2],
                    "consequence_zh": guidance[3],
                    "corrective_action": guidance[4],
                    "corrective_action_zh": guidance[5],
                    "response_time_s": _RESPONSE_S[priority],
                    "setpoint": limit if kind.units else None,
                    "units": kind.units or None,
                    "procedure_document": MANUAL_EN,
                    "procedure_page": PROCEDURE_PAGES[(kind.quantity, _direction(condition))],
                }
            )
    return rows


def demo_alarms(tags: int = 42) -> list[DemoAlarm]:
    alarms = []
    for row in demo_definitions(tags):
        kind = _kind_of(row["tag"])
        alarms.append(
            DemoAlarm(
                row["tag"],
                row["condition"],
                row["area"],
                row["priority"],
                row["setpoint"] or 1.0,
                kind.normal,
                row["description"],
            )
        )
    return alarms


SCREEN_TIME = time(10, 45)  # the time of day (UTC) the example screens show

# How an HMI alarm list names each area's equipment in its short texts: "High temperature reactor R1".
_HMI_EQUIPMENT = ("reactor R", "column C", "boiler B", "tank T", "compressor K", "cooling water U")
_HMI_EQUIPMENT_ZH = ("反应器R", "精馏塔C", "锅炉B", "储罐T", "压缩机K", "循环水U")


@dataclass(frozen=True)
class StandingAlarm:
    """An alarm standing at the screen moment, as the example screens show it."""

    tag: str
    condition: str
    state: str  # as the screens label it: "unacked", "acked" (both still active), "rtn_unacked" (cleared, not acked)
    clock: str  # activation time of day, HH:MM:SS UTC
    value: float | None  # process value at activation; a pump trip has none
    days_before: int = 0  # activated this many days before the screen moment's day

    @property
    def name(self) -> str:
        return f"{self.tag}.{self.condition}"


STANDING = (
    StandingAlarm("PIC-602", "L", "unacked", "10:44:30", 6.2),
    StandingAlarm("TIC-101", "HH", "unacked", "10:42:07", 92.4),
    StandingAlarm("TIC-201", "H", "unacked", "10:39:17", 86.1),
    StandingAlarm("PIC-302", "HH", "unacked", "10:36:34", 16.8),
    StandingAlarm("LIC-403", "H", "unacked", "10:33:51", 87.9),
    StandingAlarm("PIC-102", "L", "acked", "10:31:44", 6.6),
    StandingAlarm("VI-505", "HH", "unacked", "10:30:08", 11.9),
    StandingAlarm("FIC-204", "L", "unacked", "10:27:33", 12.4),
    StandingAlarm("PIC-502", "HH", "acked", "10:24:29", 16.4),
    StandingAlarm("P-407", "TRIP", "acked", "10:21:16", None),
    StandingAlarm("LIC-103", "H", "rtn_unacked", "10:18:52", 86.3),
    StandingAlarm("AI-506", "H", "unacked", "10:15:02", 22.8),
    StandingAlarm("LIC-303", "LL", "acked", "10:12:05", 8.7),
    StandingAlarm("AI-306", "H", "rtn_unacked", "10:08:40", 21.5),
    StandingAlarm("FIC-104", "L", "acked", "10:05:10", 13.2),
    StandingAlarm("FIC-604", "L", "rtn_unacked", "10:02:47", 14.1),
    StandingAlarm("VI-205", "H", "rtn_unacked", "09:58:21", 7.6),
    StandingAlarm("TIC-601", "H", "acked", "09:54:13", 85.9),
    StandingAlarm("P-507", "TRIP", "rtn_unacked", "09:49:55", None),
    StandingAlarm("TIC-401", "HH", "acked", "08:45:00", 91.2, days_before=3),  # the stale alarm
)


def screen_moment(end: datetime) -> datetime:
    """The last SCREEN_TIME at or before `end`: the moment the example screens show."""
    end = end.astimezone(UTC)
    moment = datetime.combine(end.date(), SCREEN_TIME, tzinfo=UTC)
    return moment if moment <= end else moment - timedelta(days=1)


def activation_time(alarm: StandingAlarm, moment: datetime) -> datetime:
    day = moment.date() - timedelta(days=alarm.days_before)
    return datetime.combine(day, time.fromisoformat(alarm.clock), tzinfo=UTC)


def _kind_of(tag: str) -> _Kind:
    return next(k for k in KINDS if tag.startswith(k.prefix + "-"))


def hmi_text(alarm: StandingAlarm, language: str) -> str:
    """The short description an HMI alarm list prints for this alarm, in "en" or "zh"."""
    kind, area = _kind_of(alarm.tag), int(alarm.tag.split("-")[1][0]) - 1
    n = area + 1
    if language == "zh":
        return f"{_HMI_EQUIPMENT_ZH[area]}{n}{kind.quantity_zh}{_WORDS[alarm.condition][1]}"
    if alarm.condition == "TRIP":
        return f"Pump trip {_HMI_EQUIPMENT[area]}{n}"
    return f"{_direction(alarm.condition).title()} {kind.quantity} {_HMI_EQUIPMENT[area]}{n}"


def hmi_value(alarm: StandingAlarm) -> str:
    """The value cell of the alarm list: the value at activation with its units (ASCII "m3/h", as HMIs print it)."""
    if alarm.value is None:
        return ""
    return f"{alarm.value:.1f} {_kind_of(alarm.tag).units.replace('³', '3')}"


class _Journal:
    """Collects the transitions of one alarm as journal rows."""

    def __init__(self, alarm: DemoAlarm, end: datetime):
        self.alarm, self.end, self.rows = alarm, end, []

    def add(self, moment: datetime, state: EventState, value: float | None = None, operator: str | None = None) -> None:
        if moment > self.end:
            return
        a = self.alarm
        self.rows.append(
            {
                "event_key": event_key(moment.isoformat(), a.tag, a.condition, state.value),
                "event_time": moment,
                "tag": a.tag,
                "condition": a.condition,
                "state": state.value,
                "priority": a.priority,
                "value": value,
                "message": a.message if state is EventState.ACTIVE else None,
                "operator": operator,
                "area": a.area,
            }
        )

    def occurrence(self, rng: random.Random, start: datetime, active_s: float, ack_s: float | None) -> None:
        a = self.alarm
        overshoot = abs(a.limit - a.normal) * rng.uniform(0.01, 0.08) or 0.1
        value = round(a.limit + (overshoot if _direction(a.condition) == "high" else -overshoot), 2)
        self.add(start, EventState.ACTIVE, value if a.condition != "TRIP" else None)
        if ack_s is not None:
            self.add(start + timedelta(seconds=ack_s), EventState.ACKNOWLEDGED, operator=rng.choice(OPERATORS))
        self.add(start + timedelta(seconds=active_s), EventState.CLEARED)


def _ordinary(journal: _Journal, rng: random.Random, start: datetime, end: datetime, per_day: float) -> None:
    """A renewal process: activations at `per_day`, each acknowledged (usually) and cleared."""
    moment = start + timedelta(days=rng.expovariate(per_day))
    while moment < end:
        active_s = min(max(rng.lognormvariate(math.log(480), 1.0), 10), 6 * 3600)
        ack_s = min(max(rng.lognormvariate(math.log(45 if journal.alarm.priority <= 2 else 90), 0.8), 3), 1800)
        if rng.random() < 0.1:  # cleared before anyone acknowledged it
            ack_s = active_s + rng.uniform(20, 600)
        journal.occurrence(rng, moment, active_s, ack_s)
        moment += timedelta(seconds=active_s) + timedelta(days=rng.expovariate(per_day))


def _chattering(journal: _Journal, rng: random.Random, start: datetime, end: datetime) -> None:
    """Bursts of 4-8 activations a few seconds apart; operators acknowledge only the last of each burst."""
    day = start
    while day < end - timedelta(hours=6):
        if rng.random() < 0.6:
            moment = day + timedelta(hours=rng.uniform(0, 20))
            burst = rng.randint(4, 8)
            for i in range(burst):
                active_s = rng.uniform(2, 6)
                journal.occurrence(rng, moment, active_s, active_s + 25 if i == burst - 1 else None)
                moment += timedelta(seconds=active_s + rng.uniform(5, 15))
        day += timedelta(days=1)
    journal.add(end - timedelta(hours=6), EventState.SHELVED, operator="zhang.min")


def _stand(journal: _Journal, rng: random.Random, shown: StandingAlarm, moment: datetime) -> None:
    """The occurrence the screens show: active at its clock time, acknowledged or cleared before the screen moment,
    and standing like that until the journal ends."""
    activated = activation_time(shown, moment)
    journal.add(activated, EventState.ACTIVE, shown.value)
    settled = activated + (moment - activated) / 2
    if shown.state == "acked":
        acked = min(settled, activated + timedelta(seconds=rng.uniform(20, 120)))
        journal.add(acked, EventState.ACKNOWLEDGED, operator=rng.choice(OPERATORS))
    elif shown.state == "rtn_unacked":
        journal.add(settled, EventState.CLEARED)


def _flood_moment(end: datetime) -> datetime:
    return (end - timedelta(days=2)).replace(hour=3, minute=17, second=0, microsecond=0)


def demo_events(
    days: float = 30,
    seed: int = 1,
    *,
    tags: int = 42,
    end: datetime | None = None,
    events: int | None = None,
) -> Iterator[EventRow]:
    """Journal rows for `days` up to `end` (default now), grouped by alarm and time-ordered within each alarm.

    Args:
        days: Length of the history.
        seed: Same seed, same `end`: same journal.
        tags: Number of instrument tags (about 1.8 alarm conditions each).
        end: Last moment of the history.
        events: Approximate total to generate (scales the ordinary alarm rates); None: a realistic ~0.5/day per alarm.
    """
    end = end or now_utc()
    start = end - timedelta(days=days)
    rng = random.Random(seed)
    alarms = demo_alarms(tags)
    rates = [min(max(rng.lognormvariate(math.log(0.5), 0.9), 0.05), 6.0) for _ in alarms]
    if events:
        scale = events / (3 * sum(rates) * days)
        rates = [r * scale for r in rates]
    chatter = next((a for a in alarms if a.tag.startswith("LIC-2")), None)
    suppressed = next((a for a in alarms if a.tag.startswith("P-6")), None)
    flood_at = _flood_moment(end)
    moment = screen_moment(end)
    standing = {(s.tag, s.condition): s for s in STANDING if activation_time(s, moment) >= start}
    for alarm, per_day in zip(alarms, rates, strict=True):
        journal = _Journal(alarm, end)
        shown = standing.get((alarm.tag, alarm.condition))
        # ordinary occurrences last up to 6 h: they end before the one the screens show begins
        _ordinary(journal, rng, start, activation_time(shown, moment) - timedelta(hours=7) if shown else end, per_day)
        if alarm == chatter:
            _chattering(journal, rng, start, end)
        if shown:
            _stand(journal, rng, shown, moment)
        if alarm == suppressed and days > 5:
            journal.add(end - timedelta(days=5), EventState.SUPPRESSED, operator="maintenance")
            journal.add(end - timedelta(days=4), EventState.UNSUPPRESSED, operator="maintenance")
        if alarm.area == "Compressor" and start < flood_at:
            # The compressor trips: every alarm in its house fires within four minutes.
            journal.occurrence(
                rng, flood_at + timedelta(seconds=rng.uniform(0, 240)), rng.uniform(600, 1800), rng.uniform(120, 500)
            )
        journal.rows.sort(key=lambda r: r["event_time"])
        yield from journal.rows


NATIVE_HEADER = ["event_time", "tag", "condition", "state", "priority", "value", "message", "operator", "area"]
SCADA_HEADER = ["EventId", "Source", "DisplayPath", "EventTime", "EventState", "Priority", "EventValue", "AckUser"]
_SCADA_ALARM_NAMES = {"HH": "High High", "H": "High", "L": "Low", "LL": "Low Low", "TRIP": "Trip"}


def write_journal_csv(path: Path, rows: Iterable[EventRow], layout: str = "native") -> int:
    """Writes journal rows as CSV in our layout or the SCADA export layout; returns the number of rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        if layout == "native":
            writer.writerow(NATIVE_HEADER)
            for r in rows:
                writer.writerow(
                    [r["event_time"].isoformat(), r["tag"], r["condition"], r["state"], r["priority"] or "",
                     "" if r["value"] is None else r["value"], r["message"] or "", r["operator"] or "", r["area"] or ""]
                )  # fmt: skip
                count += 1
        else:
            writer.writerow(SCADA_HEADER)
            for row in _scada_rows(rows):
                writer.writerow(row)
                count += 1
    return count


def _scada_rows(rows: Iterable[EventRow]) -> Iterator[list[Any]]:
    """Our transitions in the SCADA layout: one EventId per activation, EventState = the state after the row."""
    current: dict[tuple[str, str], list] = {}  # (tag, condition) -> [event id, acked, cleared]
    counter = 0
    for r in rows:
        key = (r["tag"], r["condition"])
        if r["state"] == EventState.ACTIVE:
            counter += 1
            current[key] = [f"{counter:08x}-demo", False, False]
        elif key not in current or r["state"] not in (EventState.ACKNOWLEDGED, EventState.CLEARED):
            continue  # shelving and suppression are not in this export
        status = current[key]
        status[1] |= r["state"] == EventState.ACKNOWLEDGED
        status[2] |= r["state"] == EventState.CLEARED
        state = ("Clear" if status[2] else "Active") + ("Acked" if status[1] else "Unacked")
        source = (
            f"prov:default:/tag:{r['area']}/{r['tag']}:/alm:{_SCADA_ALARM_NAMES.get(r['condition'], r['condition'])}"
        )
        acked_by = r["operator"] if r["state"] == EventState.ACKNOWLEDGED else None
        yield [
            status[0],
            source,
            f"{r['area']}/{r['tag']} {r['condition']}",
            r["event_time"].strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
            state,
            PRIORITY_NAMES[r["priority"]].title() if r["priority"] else "",
            "" if r["value"] is None else r["value"],
            f"usr-prov:default:/usr:{acked_by}" if acked_by else "",
        ]


def write_definitions(path: Path, rows: list[dict[str, Any]]) -> None:
    """Definitions as YAML (`.yaml`/`.yml`) or CSV, in the import format."""
    path.parent.mkdir(parents=True, exist_ok=True)
    records = [
        {("response_time" if k == "response_time_s" else k): v for k, v in row.items() if v is not None} for row in rows
    ]
    if path.suffix.lower() in (".yaml", ".yml"):
        path.write_text(yaml.safe_dump({"alarms": records}, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return
    columns = list(dict.fromkeys(k for r in records for k in r))
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(records)
