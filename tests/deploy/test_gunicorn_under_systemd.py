"""gunicorn as deploy/systemd/pownce-app.service runs it: on a socket systemd holds (here
``systemd-socket-activate``, which passes a listening socket the way pownce-app.socket does),
with the unit's environment, and reloaded gracefully by SIGHUP (the unit's ExecReload): new
workers replace the old ones while every request keeps being answered."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.stack import ROOT, wait_until

pytestmark = [
    pytest.mark.stack,
    pytest.mark.skipif(
        shutil.which("systemd-socket-activate") is None,
        reason="systemd-socket-activate is not installed (Debian's systemd package has it)",
    ),
]

UNIT = ROOT / "deploy" / "systemd" / "pownce-app.service"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def unit_environment(run_dir: Path) -> dict[str, str]:
    """The unit's Environment= lines, its runtime directory moved to ``run_dir``."""
    values = {}
    for name, value in re.findall(r"^Environment=(\w+)=(.*)$", UNIT.read_text(), re.MULTILINE):
        values[name] = value.replace("/run/pownce-app", str(run_dir)).replace("%H", "unit-test")
    return values


def healthz(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def workers(master: int) -> set[int]:
    found = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
    return set(map(int, found))


@pytest.fixture
def socket_activated_gunicorn(tmp_path):
    port = free_port()
    environment = {name: value for name, value in os.environ.items() if name.startswith("POWNCE_")}
    environment.update(unit_environment(tmp_path), POWNCE_GUNICORN_WORKERS="2")
    # The unit's RuntimeDirectory= lines, made here.
    Path(environment["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True)
    command = ["systemd-socket-activate", "-l", f"127.0.0.1:{port}"]
    command += [f"--setenv={name}={value}" for name, value in environment.items()]
    command += [str(Path(sys.executable).parent / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py")]
    # systemd-socket-activate execs gunicorn in its own process on the first connection.
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    yield process, port
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_gunicorn_serves_on_the_socket_systemd_passes_and_reloads_without_failing_a_request(
    socket_activated_gunicorn,
):
    process, port = socket_activated_gunicorn
    wait_until(lambda: healthz(port) == 200, timeout=60, interval=0.2, message="gunicorn on the passed socket")
    wait_until(lambda: len(workers(process.pid)) == 2, timeout=30, message="two workers")
    before = workers(process.pid)

    answers: list[int] = []
    stop = threading.Event()

    def keep_asking() -> None:
        while not stop.is_set():
            answers.append(healthz(port))

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        wait_until(lambda: len(answers) >= 5, timeout=30, message="requests before the reload")
        process.send_signal(signal.SIGHUP)  # systemctl reload pownce-app
        wait_until(
            lambda: len(workers(process.pid) - before) == 2 and not workers(process.pid) & before,
            timeout=60,
            interval=0.2,
            message="new workers in place of the old ones",
        )
        served = len(answers)
        wait_until(lambda: len(answers) >= served + 5, timeout=30, message="requests after the reload")
    finally:
        stop.set()
        asker.join(timeout=30)
    assert answers and set(answers) == {200}, sorted(set(answers))
    assert process.poll() is None, "the master survived the reload"
    # systemctl stop: SIGTERM, the workers finish and the master exits; its log went to stderr
    # (POWNCE_LOG_DIR=-, the journal under systemd).
    process.send_signal(signal.SIGTERM)
    _, log = process.communicate(timeout=30)
    assert process.returncode == 0, log[-2000:]
    assert "handling signal: hup" in log.lower(), log[-2000:]
    assert log.lower().count("booting worker") >= 4, log[-2000:]
