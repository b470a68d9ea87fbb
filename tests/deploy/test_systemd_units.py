"""The systemd units of deploy/systemd/ are valid units whose commands exist.

The units name the production paths (/srv/pownce, /etc/pownce/pownce.env). ``systemd-analyze
verify`` checks each unit's syntax and that every Exec command is an executable file, so the
units are rendered with this checkout's paths into a temporary directory first: the gunicorn
and python of this checkout's virtualenv must be what they start.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
UNITS = ROOT / "deploy" / "systemd"
UNIT_NAMES = ["pownce-app.socket", "pownce-app.service", "pownce-worker@.service", "pownce-sampler.service"]

needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze is not installed (Debian's systemd package has it)",
)


def render(target: Path) -> list[Path]:
    """The units with this checkout's paths, and the sample environment file beside them."""
    env_file = target / "pownce.env"
    shutil.copy(UNITS / "pownce.env.sample", env_file)
    rendered = []
    for name in UNIT_NAMES:
        text = (UNITS / name).read_text()
        text = text.replace("/etc/pownce/pownce.env", str(env_file)).replace("/srv/pownce", str(ROOT))
        (target / name).write_text(text)
        rendered.append(target / name)
    # A template is verified through an instance of it.
    shutil.copy(target / "pownce-worker@.service", target / "pownce-worker@1.service")
    return [*rendered, target / "pownce-worker@1.service"]


def verify(paths: list[Path]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["systemd-analyze", "verify", *(path.name for path in paths)],
        cwd=paths[0].parent,
        capture_output=True,
        text=True,
        timeout=60,
    )


@needs_systemd_analyze
def test_units_verify_with_this_checkouts_paths(tmp_path):
    paths = render(tmp_path)
    result = verify(paths)
    # verify only warns (exit 0) about unknown keys or sections: any word from it is a fault.
    assert result.returncode == 0 and result.stdout + result.stderr == "", result.stdout + result.stderr


@needs_systemd_analyze
def test_verify_catches_a_command_that_does_not_exist(tmp_path):
    paths = render(tmp_path)
    unit = tmp_path / "pownce-app.service"
    unit.write_text(unit.read_text().replace(".venv/bin/gunicorn", ".venv/bin/no-such-gunicorn"))
    result = verify(paths)
    assert result.returncode != 0 and "no-such-gunicorn" in result.stderr


def test_every_setting_in_the_sample_environment_file_is_read_by_pownce():
    read = (ROOT / "pownce" / "settings.py").read_text() + (ROOT / "deploy" / "gunicorn.conf.py").read_text()
    names = re.findall(r"^#? ?(POWNCE_[A-Z_]+)=", (UNITS / "pownce.env.sample").read_text(), re.MULTILINE)
    assert len(names) > 15
    assert [name for name in names if f'"{name}"' not in read] == []


def test_units_read_the_environment_file_and_run_the_checkouts_code():
    for name in UNIT_NAMES[1:]:
        text = (UNITS / name).read_text()
        assert "EnvironmentFile=/etc/pownce/pownce.env" in text, name
        assert "WorkingDirectory=/srv/pownce" in text, name
    app = (UNITS / "pownce-app.service").read_text()
    assert "ExecReload=/bin/kill -s HUP $MAINPID" in app
    assert "-c /srv/pownce/deploy/gunicorn.conf.py" in app
    assert "task_worker --worker-id %H-%i" in (UNITS / "pownce-worker@.service").read_text()
