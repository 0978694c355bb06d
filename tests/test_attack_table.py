"""The attack table of issue 13: each row is an input an attacker or a careless user gave, and the outcome that
must hold — a one-line refusal (exit code and message, or HTTP status and detail), never a traceback, a 500, or
data from elsewhere. Rows run in CI like any test; to add one, append an `Attack` to CLI_ATTACKS or API_ATTACKS
(the files it needs are written into the test's folder first; `{dir}` in arguments and paths names that folder).
Deeper checks of each item live next to the code they test; docs/security.md lists both."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from agent.cli import main
from tests.hmi_bombs import png_claiming, yaml_alias_bomb
from tests.service.conftest import alarm_db_url, anyio_backend, make_service, service_settings  # noqa: F401 - fixtures

EXAMPLE_SESSION = Path(__file__).resolve().parent.parent / "examples" / "sessions" / "alarm-meaning-en"
Files = dict[str, Callable[[Path], bytes | str | None]]  # name -> content (or None: made on disk by the callable)


@dataclass(frozen=True)
class Attack:
    item: str  # the issue item it belongs to, e.g. "13.5"
    name: str
    argv: list[str] | None = None  # CLI: the command (after --db); earlier commands in `before`
    request: tuple[str, str] | None = None  # API: (method, path)
    upload: str | None = None  # API: name of a file in `files` sent as the form's `image`
    form: dict[str, str] = field(default_factory=dict)
    files: Files = field(default_factory=dict)
    before: list[list[str]] = field(default_factory=list)  # CLI commands that must succeed first
    status: int = 2  # CLI exit code, or HTTP status
    expect: str = ""  # in the one-line error (CLI stderr, or the response body)

    def __str__(self) -> str:
        return f"{self.item} {self.name}"


def _text(text: str) -> Callable[[Path], str]:
    return lambda _: text


def _bytes(data: bytes) -> Callable[[Path], bytes]:
    return lambda _: data


def _crafted_session(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        session = folder / "session"
        shutil.copytree(EXAMPLE_SESSION, session)
        manifest = json.loads((session / "manifest.json").read_text())
        change(manifest)
        (session / "manifest.json").write_text(json.dumps(manifest))

    return make


def _frame_named(name: str) -> Callable[[dict], None]:
    def change(manifest: dict) -> None:
        manifest["frames"][0]["file"] = name
        for event in manifest["events"]:
            if event["kind"] == "frame":
                event["file"] = name

    return change


def _journal_row(tag: str) -> Callable[[Path], str]:
    return _text(f'event_time,tag,condition,state\n2026-01-01T00:00:00Z,"{tag}",HH,active\n')


BOMB_YAML = yaml_alias_bomb()
WINCC_HEADER = (
    '"Time_ms";"MsgProc";"StateAfter";"MsgClass";"MsgNumber";"Var1";"Var2";"Var3";"Var4";"Var5";"Var6";"Var7";'
    '"Var8";"TimeString";"MsgText";"PLC"\n'
)
WINCC_ROW = (
    '45715661988.4028;1;1;1;1001;"223.01";"";"";"";"";"";"";"";"27.02.2025 15:53:15";'
    '"TIC-101 R-101 reactor temperature high-high";"PLC_Reactor"\n'
)
CLI_ATTACKS = [
    Attack("13.1", "a tag that folds like TIC-101 does not take its history", files={"j.csv": _journal_row("TIC 101")},
           before=[["alarms", "demo-data"], ["alarms", "import", "{dir}/j.csv"]],
           argv=["alarms", "history", "TIC-101.HH", "--since", "30d"], status=0, expect="TIC-101.HH"),
    Attack("13.1", "NUL in an imported tag", files={"j.csv": _journal_row("TIC-101\0")},
           argv=["alarms", "import", "{dir}/j.csv"], expect="line 2: tag 'TIC-101\\x00' holds an invisible"),
    Attack("13.1", "zero-width space in a tag", files={"j.csv": _journal_row("TIC-\u200b101")},
           argv=["alarms", "import", "{dir}/j.csv"], expect="ZERO WIDTH SPACE"),
    Attack("13.1", "bidi override in a tag", files={"j.csv": _journal_row("\u202eTIC-101")},
           argv=["alarms", "import", "{dir}/j.csv"], expect="RIGHT-TO-LEFT OVERRIDE"),
    Attack("13.1", "a 10 000-character tag", files={"j.csv": _journal_row("T" * 10_000)},
           argv=["alarms", "import", "{dir}/j.csv"], expect="10000 characters long"),
    Attack("13.5", "12000x12000 PNG of 1 KB to parse", files={"b.png": _bytes(png_claiming(12000, 12000))},
           argv=["parse", "{dir}/b.png"], expect="more than the 40000000 allowed"),
    Attack("13.5", "40000x40000 PNG to parse", files={"b.png": _bytes(png_claiming(40000, 40000))},
           argv=["parse", "{dir}/b.png"], expect="more than the 40000000 allowed"),
    Attack("13.5", "65000x2 PNG to parse", files={"b.png": _bytes(png_claiming(65000, 2))},
           argv=["parse", "{dir}/b.png"], expect="sides more than 20 to 1"),
    Attack("13.5", "pixel bomb to ask --image", files={"b.png": _bytes(png_claiming(40000, 40000))},
           argv=["ask", "what is this?", "--image", "{dir}/b.png"], expect="more than the 40000000 allowed"),
    Attack("13.11", "text file to ask --image", files={"b.png": _text("not an image")},
           argv=["ask", "what is this?", "--image", "{dir}/b.png"], expect="not a readable PNG or JPEG image"),
    Attack("13.6", "YAML alias bomb as definitions", files={"d.yaml": _text(BOMB_YAML)},
           argv=["alarms", "import", "{dir}/d.yaml"], expect="aliases expand the document"),
    Attack("13.6", "YAML alias bomb as a routine", files={"r.yaml": _text("name: r\nsteps: []\n" + BOMB_YAML)},
           argv=["routine", "validate", "{dir}/r.yaml"], expect="aliases expand the document"),
    Attack("13.9", "replay of a manifest whose frame is ../../etc/passwd",
           files={"session": _crafted_session(_frame_named("../../../../../etc/passwd"))},
           argv=["replay", "{dir}/session"], expect="lies outside the session folder"),
    Attack("13.9", "replay of a manifest without events",
           files={"session": _crafted_session(lambda m: m.pop("events"))},
           argv=["replay", "{dir}/session"], expect="events: Field required"),
    Attack("13.11", "a 1M-character CSV field",
           files={"j.csv": _text('event_time,tag,state,message\n2026-01-01T00:00:00Z,T-1,active,"' + "x" * 1_000_000 + '"\n')},
           argv=["alarms", "import", "{dir}/j.csv"], expect="line 2: unreadable CSV: field larger than field limit"),
    Attack("13.11", "a non-UTF-8 byte on line 4 of a journal",
           files={"j.csv": _bytes(b"event_time,tag,state\n" + b"2026-01-01T00:00:00Z,T-1,active\n" * 2
                                  + b"2026-01-01T00:00:00Z,caf\xe9,active\n")},
           argv=["alarms", "import", "{dir}/j.csv"], expect="line 4: not UTF-8 text"),
    Attack("13.11", "a 1M-character field in a WinCC alarm log",
           files={"w.csv": _text(WINCC_HEADER + WINCC_ROW + WINCC_ROW.replace("PLC_Reactor", "x" * 1_000_000))},
           argv=["alarms", "import", "{dir}/w.csv"], expect="line 3: unreadable CSV: field larger than field limit"),
    Attack("13.11", "a non-UTF-8 byte on line 4 of a WinCC alarm log",
           files={"w.csv": _bytes((WINCC_HEADER + WINCC_ROW * 2).encode() + b'"caf\xe9"\n')},
           argv=["alarms", "import", "{dir}/w.csv"], expect="line 4: not UTF-8 text"),
]

API_ATTACKS = [
    Attack("13.5", "12000x12000 PNG to /api/parse", request=("POST", "/api/parse"), upload="b.png",
           files={"b.png": _bytes(png_claiming(12000, 12000))}, status=400, expect="more than the 40000000 allowed"),
    Attack("13.5", "40000x40000 PNG to /api/parse", request=("POST", "/api/parse"), upload="b.png",
           files={"b.png": _bytes(png_claiming(40000, 40000))}, status=400, expect="more than the 40000000 allowed"),
    Attack("13.5", "65000x2 PNG to /api/ask", request=("POST", "/api/ask"), upload="b.png", form={"question": "what?"},
           files={"b.png": _bytes(png_claiming(65000, 2))}, status=400, expect="sides more than 20 to 1"),
    Attack("13.9", "session path traversal by name", request=("GET", "/api/sessions/..%2F..%2Fetc/files/passwd"),
           status=404),
    Attack("13.9", "a symlink in a session folder to /etc/passwd", request=("GET", "/api/sessions/s1/files/evil.png"),
           files={"sessions/s1": lambda d: shutil.copytree(EXAMPLE_SESSION, d / "sessions" / "s1") and None,
                  "sessions/s1/evil.png": lambda d: (d / "sessions" / "s1" / "evil.png").symlink_to("/etc/passwd")},
           status=404),
    Attack("13.3", "approve an action nobody asked for", request=("POST", f"/api/approvals/{'a' * 24}/approve"),
           status=404, expect="is waiting for approval"),
    Attack("13.3", "an approval id that walks up the tree", request=("POST", "/api/approvals/..%2F..%2Fetc%2Fpasswd/approve"),
           status=404),
    Attack("13.3", "approve whatever a thread waits on, without naming it", request=("POST", "/api/threads/t-1/approve"),
           status=422, expect="an approval must name the action"),
]


def _write(folder: Path, files: Files) -> None:
    for name, make in files.items():
        content = make(folder)
        if content is None:
            continue
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)


def _cli(capsys, db_url: str, argv: list[str], folder: Path) -> tuple[int, str, str]:
    try:
        main(["--db", db_url, *(a.replace("{dir}", str(folder)) for a in argv)])
        code = 0
    except SystemExit as e:
        code = e.code or 0
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("attack", CLI_ATTACKS, ids=str)
def test_cli_attack(attack: Attack, capsys, sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("HMI_AGENT_DATA_DIR", str(tmp_path / "data"))
    _write(tmp_path, attack.files)
    for argv in attack.before:
        code, _, err = _cli(capsys, sqlite_url, argv, tmp_path)
        assert code == 0, err
    code, out, err = _cli(capsys, sqlite_url, attack.argv, tmp_path)
    assert code == attack.status, (out, err)
    assert attack.expect in (err if code else out)
    assert "Traceback" not in out + err and "root:x:" not in out + err
    if code:
        assert len(err.strip().splitlines()) == 1 and len(err) < 1000


@pytest.mark.anyio
@pytest.mark.parametrize("attack", API_ATTACKS, ids=str)
async def test_api_attack(attack: Attack, make_service, service_settings):  # noqa: F811 - the imported fixtures
    app, _ = make_service()
    folder = service_settings.data_dir
    _write(folder, attack.files)
    files = {"image": (attack.upload, (folder / attack.upload).read_bytes(), "image/png")} if attack.upload else None
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hmi", timeout=30) as client:
        method, path = attack.request
        response = await client.request(method, path.replace("{dir}", str(folder)), data=attack.form or None, files=files)
    assert response.status_code == attack.status, response.text[:300]
    assert attack.expect in response.text and "root:x:" not in response.text
