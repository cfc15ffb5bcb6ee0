"""An unreachable MLflow tracking store fails a command at once, before any work, with one line that names the
store (password masked) and leaves the store untouched; a reachable server passes the check."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from flows.runtime import TrackingUnreachableError, check_tracking_reachable

BON = str(Path(sys.executable).parent / "bon")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Health(BaseHTTPRequestHandler):
    status = 200
    seen: list[tuple[str, str | None]] = []

    def do_GET(self):  # noqa: N802 - http.server's naming
        type(self).seen.append((self.path, self.headers.get("Authorization")))
        self.send_response(self.status)
        self.end_headers()
        self.wfile.write(b"OK")

    def log_message(self, *args):
        pass


@pytest.fixture
def health_server():
    def serve(status: int):
        handler = type("Handler", (_Health,), {"status": status, "seen": []})
        server = HTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}", handler

    servers: list[HTTPServer] = []
    yield serve
    for server in servers:
        server.shutdown()


def test_a_server_that_answers_health_passes_and_credentials_travel_as_basic_auth(health_server):
    url, handler = health_server(200)
    check_tracking_reachable(url)
    check_tracking_reachable(url.replace("http://", "http://alice:s3cret@") + "/prefix/")
    assert handler.seen[0] == ("/health", None)
    assert handler.seen[1][0] == "/prefix/health" and handler.seen[1][1].startswith("Basic ")


def test_a_server_that_answers_an_error_is_refused(health_server):
    url, _ = health_server(503)
    with pytest.raises(TrackingUnreachableError, match=r"GET /health answered 503"):
        check_tracking_reachable(url)


@pytest.mark.parametrize("scheme", ["http", "postgresql"])
def test_a_closed_port_fails_within_seconds_with_the_password_masked(scheme):
    uri = f"{scheme}://bon:hunter2@127.0.0.1:{_closed_port()}/mlflow"
    started = time.monotonic()
    with pytest.raises(TrackingUnreachableError) as caught:
        check_tracking_reachable(uri, timeout_s=2)
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert "hunter2" not in message and "bon:***@127.0.0.1" in message and "unreachable" in message


def test_local_stores_are_not_probed(tmp_path):
    check_tracking_reachable(f"sqlite:///{tmp_path}/mlflow.db")
    check_tracking_reachable(str(tmp_path / "mlruns"))
    check_tracking_reachable(f"file://{tmp_path}/mlruns")


@pytest.mark.slow
def test_the_demo_refuses_at_once_and_writes_nothing(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{_closed_port()}"}
    subprocess.run([BON, "init"], cwd=tmp_path, env={**env, "MLFLOW_TRACKING_URI": ""}, check=True,
                   capture_output=True)  # fmt: skip
    db = tmp_path / ".bon" / "bon.db"

    def rows() -> dict[str, int]:
        with sqlite3.connect(db) as connection:
            return {t: connection.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("runs", "candidates")}

    before = rows()
    started = time.monotonic()
    result = subprocess.run([BON, "demo", "--quick"], cwd=tmp_path, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines() + result.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: MLflow tracking server http://127.0.0.1:"), lines
    assert seconds < 60  # MLflow's own client retries for about four minutes
    assert rows() == before
    assert not (tmp_path / ".bon" / "models").exists()  # no policy trained
