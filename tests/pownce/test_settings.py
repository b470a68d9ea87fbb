"""Settings come from the environment; the production shape passes Django's deploy checks."""

import json
import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from pownce.settings import database_from_url, env_bool
from tests.stack import ROOT

PRINT_SETTINGS = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'engine': s.DATABASES['default']['ENGINE'], 'aliases': sorted(s.DATABASES), "
    "'cache': s.CACHES['default']['BACKEND'], 'sessions': s.SESSION_ENGINE, 'debug': s.DEBUG, "
    "'pin': s.PIN_SECONDS, 'lag': s.REPLICA_MAX_LAG, 'memcached': s.CACHES['default'].get('LOCATION'), "
    "'hosts': s.ALLOWED_HOSTS}))"
)


def settings_under(env: dict) -> dict:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("POWNCE_")}
    clean.update(env, DJANGO_SETTINGS_MODULE="pownce.settings")
    output = subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS], env=clean, cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return json.loads(output)


def test_nothing_set_means_embedded_sqlite_and_local_memory():
    result = settings_under({})
    assert result["engine"] == "django.db.backends.sqlite3"
    assert result["aliases"] == ["default"]
    assert result["cache"] == "cache.backends.ClusterCache"
    assert result["memcached"] == []  # no servers: the in-process stand-in
    assert result["sessions"] == "django.contrib.sessions.backends.db"
    assert result["debug"] is True


def test_environment_configures_primary_replicas_memcached_redis_and_router():
    result = settings_under(
        {
            "POWNCE_DEBUG": "0",
            "POWNCE_SECRET_KEY": "k" * 50,
            "POWNCE_ALLOWED_HOSTS": "pownce.example,www.pownce.example",
            "POWNCE_DB_PRIMARY": "mysql://app:pw@10.0.0.1:3306/pownce",
            "POWNCE_DB_REPLICAS": "mysql://app:pw@10.0.0.2:3306/pownce, mysql://app:pw@10.0.0.3:3306/pownce",
            "POWNCE_MEMCACHED": "10.0.0.4:11211,10.0.0.5:11211",
            "POWNCE_REDIS_URL": "redis://10.0.0.6:6379/0",
            "POWNCE_PIN_SECONDS": "7",
            "POWNCE_REPLICA_MAX_LAG": "2.5",
        }
    )
    assert result["engine"] == "pownce.db_backend"
    assert result["aliases"] == ["default", "replica1", "replica2"]
    assert result["cache"] == "cache.backends.ClusterCache"
    assert result["memcached"] == ["10.0.0.4:11211", "10.0.0.5:11211"]
    assert result["sessions"] == "pownce.sessions"
    assert (result["debug"], result["pin"], result["lag"]) == (False, 7, 2.5)
    assert result["hosts"] == ["pownce.example", "www.pownce.example"]


def test_database_url_is_parsed_with_escapes():
    entry = database_from_url("mysql://app:p%40ss@db.internal:3307/pownce", read_timeout=5)
    assert (entry["USER"], entry["PASSWORD"], entry["HOST"], entry["PORT"], entry["NAME"]) == (
        "app",
        "p@ss",
        "db.internal",
        "3307",
        "pownce",
    )
    with pytest.raises(ImproperlyConfigured):
        database_from_url("postgres://x@y/z", read_timeout=5)


def test_every_database_connection_has_deadlines_and_zero_turns_io_timeouts_off():
    options = database_from_url("mysql://app@db/pownce", read_timeout=2.4)["OPTIONS"]
    assert (options["connect_timeout"], options["read_timeout"], options["write_timeout"]) == (2, 2, 2)
    options = database_from_url("mysql://app@db/pownce", read_timeout=0)["OPTIONS"]
    assert "read_timeout" not in options and "write_timeout" not in options
    assert options["connect_timeout"] == 2


def test_bad_boolean_is_a_clear_configuration_error(monkeypatch):
    monkeypatch.setenv("POWNCE_DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="POWNCE_DEBUG"):
        env_bool("POWNCE_DEBUG", True)


def test_production_refuses_to_start_without_a_secret_key():
    clean = {key: value for key, value in os.environ.items() if not key.startswith("POWNCE_")}
    clean.update(POWNCE_DEBUG="0", DJANGO_SETTINGS_MODULE="pownce.settings")
    result = subprocess.run([sys.executable, "-c", PRINT_SETTINGS], env=clean, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode != 0 and "POWNCE_SECRET_KEY" in result.stderr


def test_production_settings_pass_check_deploy():
    clean = {key: value for key, value in os.environ.items() if not key.startswith("POWNCE_")}
    clean.update(POWNCE_DEBUG="0", POWNCE_SECRET_KEY="s3cr3t-" * 10, POWNCE_ALLOWED_HOSTS="pownce.example")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=clean,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_embedded_default_creates_the_folder_of_its_database(tmp_path):
    database = tmp_path / "fresh" / "checkout" / "pownce.sqlite3"
    clean = {key: value for key, value in os.environ.items() if not key.startswith("POWNCE_")}
    clean.update(POWNCE_SQLITE_PATH=str(database))
    command = [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"]
    result = subprocess.run(command, env=clean, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert database.exists()
