"""Slow clients must not take the site down (issue: high availability). Each app server's
nginx (deploy/nginx.conf) buffers request bodies and responses and sends note files itself
(X-Accel-Redirect), so gunicorn's sync workers never wait on a client's link."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import User
from notes import services
from tests.pownce.availability import report
from tests.pownce.traffic import Browser
from tests.stack import PROFILE, run_dir, wait_until

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True, databases="__all__")]

FILE_BYTES = 20 * 1024 * 1024
RATE_CHUNK = 2048  # bytes every 0.1 s: 20 KB/s
HAPROXY_ADDRESS = ("127.0.0.1", int(PROFILE["HAPROXY_PORT"]))


class SlowClient(threading.Thread):
    """One connection through HAProxy that moves ``RATE_CHUNK`` bytes every 0.1 s until stopped:
    a download reads its response that slowly, an upload sends its body that slowly."""

    def __init__(self, head: bytes, *, upload: bool, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.head, self.upload, self.stop = head, upload, stop
        self.moved = 0

    def run(self) -> None:
        with socket.socket() as sock:
            # A small receive buffer, so the server really has to wait for this reader.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.settimeout(10)
            sock.connect(HAPROXY_ADDRESS)
            sock.sendall(self.head)
            while not self.stop.wait(0.1) and self.moved < FILE_BYTES:
                if self.upload:
                    sock.sendall(b"x" * RATE_CHUNK)
                    self.moved += RATE_CHUNK
                else:
                    chunk = sock.recv(RATE_CHUNK)
                    if not chunk:
                        return
                    self.moved += len(chunk)


def download_head(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()


def upload_head(cookie: str, length: int, path: str = "/notes/new/") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
        f"Content-Type: multipart/form-data; boundary=pownce\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


@pytest.fixture
def big_public_file():
    author = User.objects.create_user("uploader", password="correct-horse-9")
    upload = SimpleUploadedFile("big.bin", os.urandom(FILE_BYTES), content_type="application/octet-stream")
    note = services.note_create(author=author, kind="file", audience="public", body="20 MB", upload=upload)
    yield author, f"/notes/{note.pk}/file/big.bin"
    note.file.delete(save=False)


def test_eight_slow_downloads_and_eight_slow_uploads_leave_the_site_answering(web_stack, big_public_file):
    author, path = big_public_file
    cookie = f"{settings.SESSION_COOKIE_NAME}={Browser(author).cookies[settings.SESSION_COOKIE_NAME]}"
    stop = threading.Event()
    clients = [SlowClient(download_head(path), upload=False, stop=stop) for _ in range(8)]
    clients += [SlowClient(upload_head(cookie, FILE_BYTES + 200), upload=True, stop=stop) for _ in range(8)]
    for client in clients:
        client.start()
    probes = []
    try:
        wait_until(lambda: all(c.moved > 0 for c in clients), timeout=30, message="every slow client moving bytes")
        visitor = Browser()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            probes.append(visitor.request("/public/"))
            stop.wait(0.2)  # the probes' pace
        assert all(c.is_alive() for c in clients), "the slow clients were still going during the probes"
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=15)
    report(
        "8 slow downloads + 8 slow uploads (20 KB/s, 20 MB file)",
        probes=len(probes),
        failed=sum(1 for p in probes if p.status != 200),
        slowest_probe_s=round(max(p.seconds for p in probes), 2),
    )
    assert len(probes) >= 20
    assert [p.status for p in probes if p.status != 200] == []
    assert max(p.seconds for p in probes) < 2


def test_an_upload_over_the_limit_is_refused_before_any_worker_sees_it(web_stack):
    marker = uuid.uuid4().hex
    too_big = settings.MAX_UPLOAD_BYTES + 2 * 1024 * 1024
    with socket.create_connection(HAPROXY_ADDRESS, timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(upload_head("", too_big, f"/notes/new/?{marker}"))  # the body is never sent
        answer = sock.recv(65536).decode(errors="replace")
        seconds = time.monotonic() - started
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert "too large" in answer
    assert seconds < 2
    logs = run_dir().parent / "log"
    assert marker in "".join(path.read_text() for path in logs.glob("nginx-app*.access.log"))
    assert marker not in "".join(path.read_text() for path in logs.glob("app*.access.log"))
