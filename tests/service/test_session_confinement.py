"""Issue 13 item 9: every file a session names is resolved and confined to its folder. A symlink in a session
folder serves nothing from outside (API), a crafted manifest cannot make `replay` open files elsewhere, and crafted
manifests are one-line errors (exit 2), never tracebacks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest

from tests.cli_runner import run

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sessions" / "alarm-meaning-en"


def crafted(tmp_path: Path, change) -> Path:
    session = tmp_path / "session"
    shutil.copytree(EXAMPLE, session)
    manifest = json.loads((session / "manifest.json").read_text())
    change(manifest, session)
    (session / "manifest.json").write_text(json.dumps(manifest))
    return session


def _frame_file(name):
    def change(manifest, session):
        manifest["frames"][0]["file"] = name
        for event in manifest["events"]:
            if event["kind"] == "frame":
                event["file"] = name

    return change


def _symlinked_frame(manifest, session):
    (session / "frame-001.png").unlink()
    (session / "frame-001.png").symlink_to("/etc/passwd")


def _tool_image_outside(manifest, session):
    next(e for e in manifest["events"] if e["kind"] == "tool")["image"] = "../../../../etc/hostname"


CRAFTED = {
    "frame up the tree": (_frame_file("../../../../etc/passwd"), "lies outside the session folder"),
    "absolute frame path": (_frame_file("/etc/passwd"), "lies outside the session folder"),
    "frame symlinked out": (_symlinked_frame, "lies outside the session folder"),
    "tool image outside": (_tool_image_outside, "lies outside the session folder"),
    "events not a list": (lambda m, s: m.update(events={"kind": "frame"}), "events"),
    "event without kind": (lambda m, s: m["events"].insert(0, {"file": "x"}), "kind"),
    "model event without reply": (lambda m, s: next(e for e in m["events"] if e["kind"] == "model").pop("raw"), "raw"),
    "settings missing": (lambda m, s: m.pop("settings"), "settings"),
    "junk geometry": (lambda m, s: m["frames"][0].update(geometry={"left": "x"}), "geometry"),
    "frame event names unlisted file": (
        lambda m, s: next(e for e in m["events"] if e["kind"] == "frame").update(file="frame-999.png"),
        "unlisted",
    ),
    "frame not an image": (lambda m, s: (s / "frame-001.png").write_text("not a png"), "not a readable PNG"),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_crafted_manifests_are_one_line_errors_and_open_nothing_outside(capsys, tmp_path, case):
    change, expected = CRAFTED[case]
    session = crafted(tmp_path, change)
    code, out, err = run(capsys, "replay", str(session))
    assert code == 2 and expected in err, err
    assert len(err.strip().splitlines()) == 1 and "root:" not in out + err


def test_the_untouched_example_passes_the_checks_and_replays(capsys, tmp_path):
    session = crafted(tmp_path, lambda m, s: None)
    code, out, _ = run(capsys, "replay", str(session))
    assert code in (0, 1) and out.startswith(("OK", "MISMATCH"))  # compared (prompts may have moved on), not refused


@pytest.mark.anyio
async def test_api_serves_no_file_through_a_symlink(make_service, service_settings, tmp_path):
    app, _ = make_service()
    sessions = service_settings.sessions_dir
    shutil.copytree(EXAMPLE, sessions / "s1")
    (sessions / "s1" / "evil.png").symlink_to("/etc/passwd")
    outside = crafted(tmp_path, lambda m, s: m.update(id="outside-id"))  # a valid session outside the folder
    (sessions / "s2").symlink_to(outside)
    (sessions / "s3").mkdir()
    (sessions / "s3" / "manifest.json").symlink_to(outside / "manifest.json")
    (sessions / "s3" / "frame-001.png").symlink_to(outside / "frame-001.png")
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hmi") as client:
        assert (await client.get("/api/sessions/s1/files/frame-001.png")).status_code == 200
        assert (await client.get("/api/sessions/s1/files/evil.png")).status_code == 404
        for linked in ("s2", "s3"):
            assert (await client.get(f"/api/sessions/{linked}")).status_code == 404
            assert (await client.get(f"/api/sessions/{linked}/files/frame-001.png")).status_code == 404
        listed = [s["id"] for s in (await client.get("/api/sessions")).json()]
        assert listed == [json.loads((EXAMPLE / "manifest.json").read_text())["id"]]
