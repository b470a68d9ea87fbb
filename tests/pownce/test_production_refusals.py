"""gunicorn refuses DEBUG, the development key, and several workers each with its own
in-process cache (issue 10, items 12 and 13); `make run` stays a development server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")
SECRET = "a-test-secret-that-is-long-and-random-enough-0123456789abcdefghijklmnop"


def check_config(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """``gunicorn --check-config`` with our configuration: it loads deploy/gunicorn.conf.py and
    the app, then exits, binding nothing."""
    (tmp_path / "run").mkdir(exist_ok=True)
    base = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "POWNCE_RUN_DIR": str(tmp_path / "run"),
        "POWNCE_SQLITE_PATH": str(tmp_path / "db.sqlite3"),
    }
    return subprocess.run(
        [str(GUNICORN), "-c", "deploy/gunicorn.conf.py", "--check-config"],
        cwd=ROOT,
        env=base | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_nothing_set_is_refused_with_every_reason(tmp_path):
    result = check_config(tmp_path)
    assert result.returncode != 0
    assert "DEBUG is on" in result.stderr
    assert "development key" in result.stderr
    assert "in-process cache" in result.stderr


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"POWNCE_DEBUG": "1", "POWNCE_SECRET_KEY": SECRET, "POWNCE_GUNICORN_WORKERS": "1"}, "DEBUG is on"),
        ({"POWNCE_SECRET_KEY": SECRET, "POWNCE_GUNICORN_WORKERS": "1"}, "DEBUG is on"),
        ({"POWNCE_DEBUG": "0", "POWNCE_SECRET_KEY": SECRET}, "3 workers with the in-process cache"),
    ],
)
def test_each_unsafe_setting_is_refused(tmp_path, env, reason):
    result = check_config(tmp_path, **env)
    assert result.returncode != 0 and reason in result.stderr


def test_production_settings_start(tmp_path):
    one_worker = check_config(tmp_path, POWNCE_DEBUG="0", POWNCE_SECRET_KEY=SECRET, POWNCE_GUNICORN_WORKERS="1")
    assert one_worker.returncode == 0, one_worker.stderr
    with_memcached = check_config(tmp_path, POWNCE_DEBUG="0", POWNCE_SECRET_KEY=SECRET, POWNCE_MEMCACHED="127.0.0.1:1")
    assert with_memcached.returncode == 0, with_memcached.stderr
