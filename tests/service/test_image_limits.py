"""Issue 13 item 5: one pixel cap, checked from the header before decoding, and EXIF orientation, on every entry
point: `/api/parse` and `/api/ask`, the UI upload, `hmi-agent parse`, `ask --image`; /api/parse is bounded like
/api/ask (503 when too many wait)."""

from __future__ import annotations

import asyncio
import io
import threading

import httpx
import pytest
from PIL import Image

from perception.images import ImageLimits, ImageRejected, open_image
from tests.cli_runner import run
from tests.hmi_bombs import png_claiming

BOMBS = {
    "12000x12000": (png_claiming(12000, 12000), "12000x12000 = 144000000 pixels, more than the 40000000 allowed"),
    "40000x40000": (png_claiming(40000, 40000), "more than the 40000000 allowed"),
    "65000x2": (png_claiming(65000, 2), "65000x2 pixels: sides more than 20 to 1"),
}


def portrait_photo() -> bytes:
    """A 40x20 JPEG whose EXIF says "rotate 90 degrees to display": upright it is 20x40."""
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), "white").save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_pixel_bombs_are_refused_from_the_header(name):
    data, message = BOMBS[name]
    assert len(data) < 300_000
    with pytest.raises(ImageRejected, match=message.replace("(", r"\(")):
        open_image(data)


def test_the_cap_is_configurable():
    data = png_claiming(3000, 2000)
    with pytest.raises(ImageRejected, match="more than the 5000000 allowed"):
        open_image(data, ImageLimits(max_pixels=5_000_000))


@pytest.mark.parametrize("name", sorted(BOMBS))
@pytest.mark.parametrize("command", ["parse", "ask"])
def test_cli_refuses_bombs_in_one_line(capsys, tmp_path, name, command):
    path = tmp_path / "bomb.png"
    path.write_bytes(BOMBS[name][0])
    argv = ["parse", str(path)] if command == "parse" else ["ask", "what is this?", "--image", str(path)]
    code, _, err = run(capsys, *argv)
    assert code == 2 and BOMBS[name][1] in err and len(err.strip().splitlines()) == 1


def test_cli_applies_exif_orientation(capsys, tmp_path):
    path = tmp_path / "phone.jpg"
    path.write_bytes(portrait_photo())
    code, out, _ = run(capsys, "parse", str(path), "--json")
    assert code == 0 and '"width": 20' in out and '"height": 40' in out


def _client(app) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://hmi", timeout=30)


def _sizes_parser(image):
    from perception.screen import ScreenParse

    return ScreenParse(width=image.width, height=image.height, elements=[])


@pytest.mark.anyio
@pytest.mark.parametrize("route", ["/api/parse", "/api/ask"])
async def test_api_refuses_bombs_with_400_and_applies_exif(service_settings, route):
    from agent.scripted import ScriptedModel
    from agent.service.app import create_app
    from tests.service.conftest import ASK_REPLIES

    app = create_app(service_settings, model=ScriptedModel(ASK_REPLIES, repeat_last=True), screen_parser=_sizes_parser)
    try:
        async with _client(app) as client:
            for data, message in BOMBS.values():
                files = {"image": ("bomb.png", data, "image/png")}
                response = await client.post(route, data={"question": "what?"}, files=files)
                assert response.status_code == 400 and message in response.json()["detail"], response.text
            if route == "/api/parse":
                files = {"image": ("phone.jpg", portrait_photo(), "image/jpeg")}
                parsed = (await client.post(route, files=files)).json()
                assert (parsed["width"], parsed["height"]) == (20, 40)
    finally:
        app.state.service.agent.close()
        app.state.service.queue.close()


@pytest.mark.anyio
async def test_api_parse_is_bounded_like_ask(service_settings):
    """With every slot busy and the waiting line full, the next /api/parse is a 503 at once, not another thread."""
    from agent.scripted import ScriptedModel
    from agent.service.app import create_app

    release = threading.Event()

    def slow_parser(image):
        release.wait(10)
        return _sizes_parser(image)

    settings = service_settings.model_copy(update={"queue_size": 1})
    app = create_app(settings, model=ScriptedModel(["done"], repeat_last=True), screen_parser=slow_parser)
    work = app.state.cpu_work
    png = io.BytesIO()
    Image.new("RGB", (64, 48)).save(png, format="PNG")
    files = {"image": ("a.png", png.getvalue(), "image/png")}
    try:
        async with _client(app) as client:
            busy = [
                asyncio.create_task(client.post("/api/parse", files=files)) for _ in range(work.running + work.waiting)
            ]
            while work._admitted < work.running + work.waiting:
                await asyncio.sleep(0.01)
            refused = await client.post("/api/parse", files=files)
            assert refused.status_code == 503 and "busy" in refused.text
            release.set()
            assert [r.status_code for r in await asyncio.gather(*busy)] == [200] * len(busy)
    finally:
        release.set()
        app.state.service.agent.close()
        app.state.service.queue.close()


def test_ui_upload_refuses_a_bomb_with_a_message(tmp_path):
    """The Gradio upload goes through the same loader: a 1 KB file claiming 144 MP is refused in words."""
    import socket
    import time

    import uvicorn
    from gradio_client import Client, handle_file

    from agent.scripted import ScriptedModel
    from agent.service.app import create_app
    from agent.settings import Settings
    from agent.web.mount import mount_ui
    from tests.service.conftest import ASK_REPLIES, seed_alarm_db

    settings = Settings(data_dir=tmp_path / "data", db_url=seed_alarm_db(tmp_path), screen_parse=False)
    app = create_app(settings, model=ScriptedModel(ASK_REPLIES, repeat_last=True))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(mount_ui(app), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        bomb = tmp_path / "bomb.png"
        bomb.write_bytes(BOMBS["12000x12000"][0])
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        outputs = client.predict(handle_file(str(bomb)), False, "what is this?", None, [], api_name="/ask")
        # shown in the UI's status box (one message where the operator looks), not raised as a Gradio error
        assert any("The picture cannot be used: it is 12000x12000 = 144000000 pixels" in str(o) for o in outputs)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.service.agent.close()
        app.state.service.queue.close()
