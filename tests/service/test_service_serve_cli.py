"""`hmi-agent serve` for real: a subprocess on a free port with the tiny random-weight Qwen3-VL, bound to 0.0.0.0
behind an allow-list and a token; plain HTTP from this machine."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_serve_starts_behind_the_allow_list_and_token(tiny_qwen3vl_dir, tmp_path):
    port = _free_port()
    env = {
        **os.environ, "HMI_AGENT_API_TOKEN": "tok-123", "HMI_AGENT_DATA_DIR": str(tmp_path / "data"),
        "HMI_AGENT_SCREEN_PARSE": "false", "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
    }
    command = [str(Path(sys.executable).with_name("hmi-agent")), "--db", f"sqlite:///{tmp_path / 'alarms.sqlite'}",
               "--model", str(tiny_qwen3vl_dir), "serve", "--host", "0.0.0.0", "--port", str(port), "--allow", "127.0.0.0/8"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(240):
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 401:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
            assert server.poll() is None, server.stdout.read()
        token = {"Authorization": "Bearer tok-123"}
        health = httpx.get(f"{url}/healthz", headers=token, timeout=5).json()
        assert health["ok"] and health["queue_depth"] == 0
        # the allow-list judges the TCP peer, never a header any client can write (else 127.x could claim 10.x)
        spoofed = httpx.get(f"{url}/healthz", headers={**token, "X-Forwarded-For": "203.0.113.9"}, timeout=5)
        assert spoofed.status_code == 200, spoofed.text
        assert "hmi_agent_queue_depth" in httpx.get(f"{url}/metrics", headers=token, timeout=5).text
        page = httpx.get(f"{url}/", headers=token, timeout=10)
        assert page.status_code == 200 and "gradio" in page.text.lower()
        assert httpx.get(f"{url}/", timeout=5).headers["www-authenticate"].startswith("Basic")
    finally:
        server.terminate()
        server.wait(timeout=30)
