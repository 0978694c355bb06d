"""`hmi-agent alarms follow opc.tcp://...`: OPC UA Alarms & Conditions events written to the journal as they arrive.

A condition event carries the condition's whole state (ActiveState, AckedState, SuppressedState, OutOfServiceState,
ShelvingState) with the moment each last changed. Each event is compared with what the journal last knew of that
condition, and the differences become journal transitions stamped with the server's transition times. Their keys
are made of (condition, transition, transition time), so an event seen twice (ConditionRefresh after every
connect, a reconnect after a server restart) writes nothing twice; the refresh also fills in what changed on
retained conditions while the connection was down. Lost connections are retried with exponential back-off.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from storage import queries
from storage.db import Database
from storage.journal import EventRow, _fill_from_definitions, _given_key, _known_alarms, write_events
from storage.models import EventState
from storage.rows import normalize_condition
from storage.timeutil import UTC, as_utc, now_utc

log = logging.getLogger(__name__)

# The event fields asked for, as browse paths from the event type.
FIELDS = (
    "SourceName", "ConditionName", "Severity", "Message", "Time", "ClientUserId",
    "ActiveState/Id", "ActiveState/TransitionTime", "AckedState/Id", "AckedState/TransitionTime",
    "SuppressedState/Id", "SuppressedState/TransitionTime", "OutOfServiceState/Id",
    "OutOfServiceState/TransitionTime", "ShelvingState/CurrentState/Id", "ShelvingState/LastTransition/TransitionTime",
)  # fmt: skip
UNSHELVED_STATE = 2930  # ShelvedStateMachineType_Unshelved: any other current state is shelved
# (flag, transition when it turns on, when it turns off, field holding its transition time)
_FLAGS = (
    (
        "suppressed",
        EventState.SUPPRESSED_BY_DESIGN,
        EventState.UNSUPPRESSED_BY_DESIGN,
        "SuppressedState/TransitionTime",
    ),
    ("out_of_service", EventState.OUT_OF_SERVICE, EventState.IN_SERVICE, "OutOfServiceState/TransitionTime"),
    ("shelved", EventState.SHELVED, EventState.UNSHELVED, "ShelvingState/LastTransition/TransitionTime"),
)
_FLAG_OF = {
    EventState.SUPPRESSED_BY_DESIGN: ("suppressed", True), EventState.UNSUPPRESSED_BY_DESIGN: ("suppressed", False),
    EventState.OUT_OF_SERVICE: ("out_of_service", True), EventState.IN_SERVICE: ("out_of_service", False),
    EventState.SHELVED: ("shelved", True), EventState.UNSHELVED: ("shelved", False),
}  # fmt: skip
BACKOFF_FIRST_S, BACKOFF_MAX_S = 0.5, 10.0
WATCHDOG_S = 1.0


def valid_endpoint(endpoint: str) -> str:
    """Raises ValueError naming `endpoint` unless it is an opc.tcp://host[:port][/path] URL."""
    parsed = urlparse(endpoint)
    if parsed.scheme != "opc.tcp" or not parsed.hostname:
        raise ValueError(f"{endpoint!r} is not an OPC UA endpoint (expected opc.tcp://host:4840)")
    return endpoint


@dataclass
class FollowStats:
    events: int = 0  # condition events received
    written: int = 0  # journal transitions written
    connects: int = 0
    latencies_s: deque = field(default_factory=lambda: deque(maxlen=100_000))  # transition time -> committed

    def p95_latency_s(self) -> float | None:
        ordered = sorted(self.latencies_s)
        return ordered[max(int(0.95 * len(ordered)) - 1, 0)] if ordered else None

    def summary(self) -> str:
        p95 = self.p95_latency_s()
        latency = f", p95 event -> journal {p95 * 1000:.0f} ms" if p95 is not None else ""
        return f"follow: {self.events} events, {self.written} transitions written, {self.connects} connect(s){latency}"


@dataclass
class _Known:
    """What the journal last knew of one condition."""

    active: bool = False
    active_at: datetime | None = None
    acked: bool = True
    flags: dict[str, bool] = field(default_factory=dict)


class _Journal:
    """Turns condition events into journal transitions against the last known state of each condition."""

    def __init__(self, db: Database, stats: FollowStats):
        self.db = db
        self.stats = stats
        self.known: dict[tuple[str, str], _Known] = {}
        self.definitions = _known_alarms(db)

    def transitions(self, fields: dict[str, Any]) -> list[EventRow]:
        tag = str(fields.get("SourceName") or "").strip()
        active = fields.get("ActiveState/Id")
        if not tag or active is None:
            return []  # not a condition event (RefreshStart/End, a plain event)
        condition = normalize_condition(str(fields.get("ConditionName") or ""))
        self.stats.events += 1
        known = self.known.get((tag, condition)) or self._from_journal(tag, condition)
        self.known[(tag, condition)] = known
        rows = []
        active_at = _moment(fields, "ActiveState/TransitionTime")
        if active and (not known.active or (known.active_at and active_at > known.active_at)):
            rows.append(self._row(fields, tag, condition, EventState.ACTIVE, active_at))
            known.active, known.active_at, known.acked = True, active_at, False
        acked = bool(fields.get("AckedState/Id"))
        if acked and not known.acked:
            acked_at = _moment(fields, "AckedState/TransitionTime")
            rows.append(self._row(fields, tag, condition, EventState.ACKNOWLEDGED, acked_at))
        known.acked = acked
        if not active and known.active:
            rows.append(self._row(fields, tag, condition, EventState.CLEARED, active_at))
            known.active = False
        for flag, on, off, time_field in _FLAGS:
            now = _flag_value(fields, flag)
            if now is not None and now != known.flags.get(flag, False):
                rows.append(self._row(fields, tag, condition, on if now else off, _moment(fields, time_field)))
                known.flags[flag] = now
        return rows

    def _row(self, fields: dict[str, Any], tag: str, condition: str, state: EventState, moment: datetime) -> EventRow:
        severity = fields.get("Severity")
        message = fields.get("Message")
        user = fields.get("ClientUserId") if state not in (EventState.ACTIVE, EventState.CLEARED) else None
        row = {
            "event_key": _given_key(f"opc:{tag}/{condition}/{state.value}/{moment.isoformat()}"),
            "event_time": moment,
            "tag": tag,
            "condition": condition,
            "state": state.value,
            "priority": _severity_priority(severity),
            "value": None,
            "message": (getattr(message, "Text", message) or None) if message else None,
            "operator": str(user) if user else None,
            "area": None,
        }
        return _fill_from_definitions(row, self.definitions)

    def _from_journal(self, tag: str, condition: str) -> _Known:
        """The condition's state by the journal: where this process (or an earlier run) left it."""
        until = now_utc()
        recent = queries.latest_events(self.db, tag, condition, until, 20)
        restricting = queries.latest_restriction_events(self.db, tag, condition, until, 20)
        known = _Known()
        for event in sorted(recent + restricting, key=lambda e: e.event_time):
            state = EventState(event.state)
            if state is EventState.ACTIVE:
                known.active, known.active_at, known.acked = True, event.event_time, False
            elif state is EventState.ACKNOWLEDGED:
                known.acked = True
            elif state is EventState.CLEARED:
                known.active = False
            elif state in _FLAG_OF:
                flag, on = _FLAG_OF[state]
                known.flags[flag] = on
        return known


def _moment(fields: dict[str, Any], name: str) -> datetime:
    value = fields.get(name) or fields.get("Time")
    return as_utc(value, UTC) if isinstance(value, datetime) else now_utc()


def _flag_value(fields: dict[str, Any], flag: str) -> bool | None:
    if flag == "shelved":
        state = fields.get("ShelvingState/CurrentState/Id")
        return None if state is None else getattr(state, "Identifier", state) != UNSHELVED_STATE
    value = fields.get("SuppressedState/Id" if flag == "suppressed" else "OutOfServiceState/Id")
    return None if value is None else bool(value)


def _severity_priority(severity: Any) -> int | None:
    """OPC UA severity 1..1000 (1000 most severe) in four bands -> our 1 (critical) .. 4 (low)."""
    if not isinstance(severity, int) or not 1 <= severity <= 1000:
        return None
    return 4 - min((severity - 1) // 250, 3)


def follow_alarms(
    db: Database,
    endpoint: str,
    *,
    seconds: float | None = None,
    stop: threading.Event | None = None,
    on_status: Callable[[str], None] | None = None,
    stats: FollowStats | None = None,
) -> FollowStats:
    """Follows `endpoint` until `seconds` pass or `stop` is set; returns the counts and latencies."""
    stats = stats or FollowStats()
    asyncio.run(_follow(db, valid_endpoint(endpoint), seconds, stop or threading.Event(), on_status or log.info, stats))
    return stats


async def _follow(db, endpoint, seconds, stop, say, stats) -> None:
    deadline = time.monotonic() + seconds if seconds else None
    journal = _Journal(db, stats)
    delay = BACKOFF_FIRST_S

    def finished() -> bool:
        return stop.is_set() or (deadline is not None and time.monotonic() >= deadline)

    while not finished():
        try:
            await _session(endpoint, journal, stats, finished, say)
            delay = BACKOFF_FIRST_S  # the connection held: start the back-off over
        except (TimeoutError, OSError, ConnectionError, _Lost) as e:
            say(f"{endpoint}: {type(e).__name__} {e}".strip() + f"; retrying in {delay:g} s")
        except Exception as e:  # noqa: BLE001 - asyncua raises its own UaError family for a dead server, too
            if type(e).__module__.split(".")[0] != "asyncua":
                raise
            say(f"{endpoint}: {e}; retrying in {delay:g} s")
        wait_until = time.monotonic() + delay
        while not finished() and time.monotonic() < wait_until:
            await asyncio.sleep(0.05)
        delay = min(delay * 2, BACKOFF_MAX_S)


class _Lost(Exception):
    """The server stopped answering."""


async def _session(endpoint: str, journal: _Journal, stats: FollowStats, finished, say) -> None:
    """One connection: subscribe, ConditionRefresh, then write events until finished or the connection drops."""
    from asyncua import Client, ua

    queue: asyncio.Queue = asyncio.Queue()
    lost = asyncio.Event()

    class Handler:
        def event_notification(self, event: Any) -> None:
            queue.put_nowait({name: variant.Value for name, variant in event.get_event_props_as_fields_dict().items()})

        def status_change_notification(self, status: Any) -> None:
            lost.set()

    client = Client(endpoint, timeout=4)

    async def on_lost(_: Exception) -> None:
        lost.set()

    client.connection_lost_callback = on_lost
    await client.connect()
    try:
        subscription = await client.create_subscription(50, Handler())
        await subscription.subscribe_events(ua.ObjectIds.Server, ua.ObjectIds.AlarmConditionType, _event_filter(ua))
        stats.connects += 1
        say(f"connected to {endpoint}; asking for the current conditions (ConditionRefresh)")
        condition_type = client.get_node(ua.ObjectIds.ConditionType)
        await condition_type.call_method(
            ua.NodeId.from_string(f"ns=0;i={ua.ObjectIds.ConditionType_ConditionRefresh}"),
            ua.Variant(subscription.subscription_id, ua.VariantType.UInt32),
        )
        writer = asyncio.create_task(_write_loop(queue, journal, stats))
        try:
            await _watch(client, lost, finished, writer)
        finally:
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
            await _drain(queue, journal, stats)
    finally:
        try:
            await asyncio.wait_for(client.disconnect(), 2)
        except Exception:  # noqa: BLE001 - the server may be gone already; nothing to close then
            pass


def _event_filter(ua) -> Any:
    """Select exactly FIELDS from every AlarmConditionType event."""
    event_filter = ua.EventFilter()
    for path in FIELDS:
        operand = ua.SimpleAttributeOperand()
        operand.TypeDefinitionId = ua.NodeId(ua.ObjectIds.BaseEventType)
        operand.BrowsePath = [ua.QualifiedName(part, 0) for part in path.split("/")]
        operand.AttributeId = ua.AttributeIds.Value
        event_filter.SelectClauses.append(operand)
    return event_filter


async def _watch(client, lost: asyncio.Event, finished, writer: asyncio.Task) -> None:
    """Returns when finished; raises _Lost when the server stops answering or the writer fails."""
    while not finished():
        if writer.done():
            writer.result()  # a writer failure is our bug: raise it
        if lost.is_set():
            raise _Lost("connection lost")
        try:
            await asyncio.wait_for(client.nodes.server_state.read_value(), WATCHDOG_S)
        except Exception as e:  # noqa: BLE001 - any failure to read the server state means the link is gone
            raise _Lost(f"server not answering ({type(e).__name__})") from None
        await asyncio.sleep(0.2)


async def _write_loop(queue: asyncio.Queue, journal: _Journal, stats: FollowStats) -> None:
    while True:
        first = await queue.get()
        await _write(journal, stats, [first] + _take_all(queue))


async def _drain(queue: asyncio.Queue, journal: _Journal, stats: FollowStats) -> None:
    pending = _take_all(queue)
    if pending:
        await _write(journal, stats, pending)


def _take_all(queue: asyncio.Queue) -> list:
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items


async def _write(journal: _Journal, stats: FollowStats, events: list[dict]) -> None:
    rows = [row for fields in events for row in journal.transitions(fields)]
    if not rows:
        return
    report = await asyncio.to_thread(write_events, journal.db, enumerate(rows), source="opcua", layout="opcua")
    done = now_utc()
    stats.written += report.imported
    stats.latencies_s.extend((done - row["event_time"]).total_seconds() for row in rows)


class BackgroundFollower:
    """`follow_alarms` in a daemon thread, for the service: start() when it starts, stop() when it stops."""

    def __init__(self, db: Database, endpoint: str):
        self.db, self.endpoint = db, valid_endpoint(endpoint)
        self.stats = FollowStats()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alarm-follow", daemon=True)

    def _run(self) -> None:
        follow_alarms(self.db, self.endpoint, stop=self._stop, stats=self.stats)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
