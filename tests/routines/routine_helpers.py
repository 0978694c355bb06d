"""Routine test helpers: frames that sit on a (virtual) screen, parses standing in for the parser, a webhook stub."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from PIL import Image

from perception.frames import Frame, ScreenGeometry
from perception.screen.model import Element, ScreenParse


class StillScreen:
    """A 1280x800 grey screen; each grab differs in one pixel (like a ticking clock) so every grab is parsed anew."""

    def __init__(self):
        self.grabs = 0

    def grab(self) -> Frame:
        self.grabs += 1
        image = Image.new("RGB", (1280, 800), (43, 43, 43))
        image.putpixel((0, 0), (self.grabs % 256, 0, 0))
        return Frame(image, "screen:1", datetime.now(timezone.utc), ScreenGeometry(0, 0, 1280, 800))


class ScreenStates:
    """Stands in for the screen parser on StillScreen frames: returns the given parses in turn, then the last."""

    def __init__(self, *parses: ScreenParse):
        self.parses = list(parses)
        self.calls = 0

    def __call__(self, image) -> ScreenParse:
        self.calls += 1
        return self.parses[min(self.calls, len(self.parses)) - 1]


def element(id: int, kind: str, bbox, text: str = "", **fields) -> Element:
    return Element(id=id, kind=kind, bbox=bbox, text=text, confidence=0.9, **fields)


def alarm_page(*, p4_unacked: bool) -> ScreenParse:
    return ScreenParse(
        width=1280,
        height=800,
        elements=[
            element(1, "button", (908, 6, 1052, 42), "ALARMS"),
            element(2, "alarm_row", (11, 149, 1271, 181), "PT-101 HIHI", tag="PT-101", priority="1", state="unacked"),
            element(3, "alarm_row", (11, 183, 1271, 215), "AT-101 HI", tag="AT-101", priority="4",
                    state="unacked" if p4_unacked else "acked"),
            element(4, "button", (38, 730, 222, 790), "ACK"),
            element(5, "button", (238, 730, 422, 790), "ACK ALL"),
        ],
    )


def write_routine(directory: Path, name: str, body: str) -> Path:
    path = Path(directory) / f"{name}.yaml"
    path.write_text(f"name: {name}\n{body}", encoding="utf-8")
    return path


class WebhookStub:
    """A local HTTP endpoint on 127.0.0.1 that keeps every JSON body POSTed to it."""

    def __init__(self):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
