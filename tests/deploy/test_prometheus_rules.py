"""The alert rules (deploy/prometheus/alerts.yml) are valid Prometheus rules, their unit tests
(alerts_test.yml: series that fire each alert and series that must leave it silent) pass, and
deploy/prometheus.sh renders a configuration promtool accepts."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
RULES = ROOT / "deploy" / "prometheus"

pytestmark = pytest.mark.skipif(
    shutil.which("promtool") is None,
    reason="promtool is not installed (Debian's prometheus package: deploy/install-packages.sh prometheus)",
)


def promtool(*args: str | Path, cwd: Path = RULES) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_alert_rules_are_valid():
    result = promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_unit_tests_pass():
    result = promtool("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_case_that_fires_and_one_that_stays_silent():
    alerts = set(re.findall(r"^\s+- alert: (\w+)$", (RULES / "alerts.yml").read_text(), re.MULTILINE))
    cases = re.findall(r"alertname: (\w+)\n\s+exp_alerts:( \[\])?", (RULES / "alerts_test.yml").read_text())
    assert len(alerts) >= 5
    assert {name for name, empty in cases if not empty} == alerts
    assert {name for name, empty in cases if empty} == alerts


def test_a_broken_threshold_fails_the_unit_tests(tmp_path):
    """The unit tests can fail: with the hit-rate threshold lowered, its firing case does not fire."""
    shutil.copy(RULES / "alerts_test.yml", tmp_path)
    text = (RULES / "alerts.yml").read_text()
    assert "pownce:memcached_hit_ratio:rate5m < 0.9" in text
    (tmp_path / "alerts.yml").write_text(
        text.replace("pownce:memcached_hit_ratio:rate5m < 0.9", "pownce:memcached_hit_ratio:rate5m < 0.7")
    )
    result = promtool("test", "rules", "alerts_test.yml", cwd=tmp_path)
    assert result.returncode != 0 and "PownceMemcachedHitRateLow" in result.stdout + result.stderr


def test_prometheus_sh_renders_a_valid_configuration_with_every_target(tmp_path):
    result = subprocess.run(
        [
            "bash",
            str(ROOT / "deploy" / "prometheus.sh"),
            "config",
            "--dir",
            str(tmp_path),
            "--listen",
            "10.77.0.2:9090",
            "--app",
            "10.77.0.11:8080",
            "--app",
            "10.77.0.12:8080",
            "--app",
            "10.77.0.13:8080",
            "--haproxy",
            "10.77.0.2:8404",
            "--sampler",
            "10.77.0.31:9150",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    text = (tmp_path / "prometheus.yml").read_text()
    # Each job's targets are rendered as one flow list (JSON is a subset of YAML).
    jobs = re.findall(r"- job_name: ([\w-]+)\n(?:.*\n)*?\s+- targets: (\[.*\])", text)
    targets = {name: json.loads(found) for name, found in jobs}
    assert targets == {
        "pownce-app": ["10.77.0.11:8080", "10.77.0.12:8080", "10.77.0.13:8080"],
        "haproxy": ["10.77.0.2:8404"],
        "pownce-sampler": ["10.77.0.31:9150"],
        "prometheus": ["10.77.0.2:9090"],
    }
    assert f'- "{RULES / "alerts.yml"}"' in text
    assert promtool("check", "config", tmp_path / "prometheus.yml").returncode == 0


@pytest.mark.parametrize("bad", [["--app", '10.77.0.11:8080"]'], ["--app", "host"], [], ["--listen", "x"]])
def test_prometheus_sh_refuses_bad_targets(tmp_path, bad):
    args = bad if "--app" in bad else ["--app", "127.0.0.1:8001", *bad] if bad else []
    result = subprocess.run(
        ["bash", str(ROOT / "deploy" / "prometheus.sh"), "config", "--dir", str(tmp_path), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and not (tmp_path / "prometheus.yml").exists(), result.stderr
