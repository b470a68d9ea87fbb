"""The production samples of deploy/production/ are configurations their programs accept:
HAProxy's (several app hosts, TLS on :443, the health checks and the Prometheus exporter of the
loopback template) and nginx's site for an app host."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
PRODUCTION = ROOT / "deploy" / "production"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.skipif(
    shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists(),
    reason="HAProxy is not installed (deploy/install-packages.sh)",
)
@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is needed to make a test certificate")
def test_haproxy_sample_is_valid_with_a_certificate(tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            key,
            "-out",
            cert,
            "-days",
            "1",
            "-subj",
            "/CN=pownce.example",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    (tmp_path / "pownce.pem").write_text(cert.read_text() + key.read_text())
    text = (
        (PRODUCTION / "haproxy.cfg")
        .read_text()
        .replace("/etc/haproxy/certs/pownce.example.pem", str(tmp_path / "pownce.pem"))
    )
    (tmp_path / "haproxy.cfg").write_text(text)
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    result = subprocess.run([haproxy, "-c", "-f", tmp_path / "haproxy.cfg"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    # Without the certificate HAProxy refuses it: the check reads the TLS line.
    (tmp_path / "pownce.pem").unlink()
    assert subprocess.run([haproxy, "-c", "-f", tmp_path / "haproxy.cfg"], capture_output=True).returncode != 0


def test_haproxy_sample_keeps_the_templates_checks_and_retries():
    template = (ROOT / "deploy" / "haproxy.cfg").read_text()
    sample = (PRODUCTION / "haproxy.cfg").read_text()
    for line in (
        "option redispatch 1",
        "retry-on conn-failure empty-response response-timeout 502 503",
        "http-check expect status 200",
        "http-request set-timeout server 20s if METH_GET",
        "default-server inter 1s fall 3 rise 2\n",
        "option forwardfor",
        "http-request use-service prometheus-exporter if { path /metrics }",
        "http-request disable-l7-retry unless METH_GET",
    ):
        assert line in template and line in sample, line
    assert len(re.findall(r"^\s+server app\d+ [\d.]+:\d+ check$", sample, re.MULTILINE)) >= 3
    assert re.search(r"^\s+bind :443 ssl crt ", sample, re.MULTILINE)


@pytest.mark.skipif(
    shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(),
    reason="nginx is not installed (deploy/install-packages.sh)",
)
def test_nginx_site_is_valid_inside_debians_http_block(tmp_path):
    """``nginx -t`` binds the listen address: the sample's private one becomes a free loopback port."""
    (tmp_path / "logs").mkdir()
    site = (PRODUCTION / "nginx-pownce.conf").read_text()
    assert "listen 10.0.0.11:8080;" in site
    site = site.replace("listen 10.0.0.11:8080;", f"listen 127.0.0.1:{free_port()};")
    (tmp_path / "site.conf").write_text(site.replace("/var/log/nginx", str(tmp_path / "logs")))
    temp_paths = "\n".join(
        f"    {kind}_temp_path {tmp_path / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'logs' / 'error.log'};\nevents {{}}\n"
        f"http {{\n    include /etc/nginx/mime.types;\n{temp_paths}\n    include {tmp_path / 'site.conf'};\n}}\n"
    )
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    result = subprocess.run([nginx, "-t", "-c", tmp_path / "nginx.conf"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "internal;" in site and "allow 10.0.0.10;" in site and "deny all;" in site
