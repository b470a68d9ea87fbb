"""gunicorn settings for one Pownce app server (deploy/stack.sh starts one per APP_PORTS entry,
behind that server's nginx, which buffers slow clients: sync workers only see whole requests).

Everything that differs between instances comes from the environment the script sets:
POWNCE_BIND, POWNCE_RUN_DIR (pid file, control socket), POWNCE_LOG_DIR (logs: beside the run
directory by default, ``-`` for stderr, which is the journal under systemd), POWNCE_GUNICORN_WORKERS,
POWNCE_GUNICORN_MAX_REQUESTS (5000) and PROMETHEUS_MULTIPROC_DIR (where every worker writes its metrics). Under systemd
(deploy/systemd/pownce-app.service) gunicorn takes the socket systemd holds instead of POWNCE_BIND.
"""

import os
import sys
from pathlib import Path

_run = os.environ.get("POWNCE_RUN_DIR", "var/run")
_name = os.environ.get("POWNCE_SERVER_NAME", "app")

wsgi_app = "pownce.wsgi:application"
bind = os.environ.get("POWNCE_BIND", "127.0.0.1:8001")
workers = int(os.environ.get("POWNCE_GUNICORN_WORKERS", "3"))

# No DEBUG, no development key, no several workers each with its own in-process cache
# (pownce/serving.py). Checked while this file loads: before gunicorn daemonizes, so the
# reasons reach the terminal or stack.sh's log, not /dev/null.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pownce.settings")
from pownce.serving import refuse_unsafe  # noqa: E402

refuse_unsafe(workers=workers)
worker_class = "sync"
# Idle keep-alive shorter than the proxy's own timeouts.
keepalive = 5
timeout = 30
graceful_timeout = 10
# A worker is replaced after about this many requests (a bound on any slow leak); 0 never.
max_requests = int(os.environ.get("POWNCE_GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10
pidfile = f"{_run}/{_name}.pid"
# Each instance gets its own control socket; the default path is shared by every instance.
control_socket = f"{_run}/{_name}.ctl"
_log = os.environ.get("POWNCE_LOG_DIR", f"{_run}/../log")
accesslog = os.environ.get("POWNCE_ACCESS_LOG", "-" if _log == "-" else f"{_log}/{_name}.access.log")
errorlog = "-" if _log == "-" else f"{_log}/{_name}.error.log"
# Send the app's own stderr (Django's error log) to the error log too.
capture_output = True
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
proc_name = f"pownce-{_name}"
# The host's nginx is the only client; trust the X-Forwarded-* headers it passes on.
forwarded_allow_ips = "127.0.0.1"


def child_exit(server, worker):
    """A worker died (recycled after max_requests, or crashed): tell prometheus_client, so its
    live gauges stop counting; its counters stay in the sum /metrics serves (pownce/metrics.py)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
