"""The cluster's configuration comes from its inventory: HAProxy gets one server line per app
host (1, 2 or 5), app servers get every replica and the memcached node list. Generated from a
scratch inventory; no namespace needed, only HAProxy to check the configuration."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.cluster import cluster as lib

pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None, reason="needs haproxy (deploy/install-packages.sh)")


def inventory(tmp_path, apps: int, replicas: int, caches: int):
    hosts = ["tlb1=10.77.0.10:haproxy", "tdb1=10.77.0.31:primary", "tredis1=10.77.0.41:redis"]
    hosts += [f"tapp{n}=10.77.0.{20 + n}:app" for n in range(1, apps + 1)]
    hosts += [f"tdb{n + 1}=10.77.0.{31 + n}:replica" for n in range(1, replicas + 1)]
    hosts += [f"tcache{n}=10.77.0.{60 + n}:memcached" for n in range(1, caches + 1)]
    text = lib.INVENTORY.read_text()
    start, end = text.index('HOSTS="'), text.index('"\n', text.index('HOSTS="') + 7)
    path = tmp_path / "hosts.env"
    path.write_text(text[:start] + 'HOSTS="\n' + "\n".join(hosts) + "\n" + text[end:])
    return path


def generate(tmp_path, **counts) -> tuple[str, dict[str, str]]:
    env = {"CLUSTER_INVENTORY": str(inventory(tmp_path, **counts)), "CLUSTER_VAR": str(tmp_path / "var")}
    subprocess.run(["bash", str(lib.SCRIPT), "profiles"], env={**os.environ, **env}, check=True, capture_output=True)
    profiles = tmp_path / "var" / "profiles"
    config = subprocess.run(
        [
            "bash",
            str(lib.ROOT / "deploy" / "stack.sh"),
            "--profile",
            str(profiles / "cluster-tlb1.env"),
            "haproxy-config",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    app_env = subprocess.run(
        ["bash", str(lib.ROOT / "deploy" / "stack.sh"), "--profile", str(profiles / "cluster-tapp1.env"), "env"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return config, dict(line.split("=", 1) for line in app_env.splitlines() if "=" in line)


@pytest.mark.parametrize("apps", [1, 2, 5])
def test_one_haproxy_server_line_per_app_host(tmp_path, apps):
    config, _ = generate(tmp_path, apps=apps, replicas=2, caches=3)
    servers = [line.split()[1:3] for line in config.splitlines() if line.strip().startswith("server ")]
    assert servers == [[f"tapp{n}", f"10.77.0.{20 + n}:{lib.SETTINGS['APP_PORT']}"] for n in range(1, apps + 1)]


@pytest.mark.parametrize(("replicas", "caches"), [(1, 1), (2, 3), (4, 5)])
def test_app_servers_get_every_replica_and_the_memcached_node_list(tmp_path, replicas, caches):
    _, env = generate(tmp_path, apps=2, replicas=replicas, caches=caches)
    urls = env["POWNCE_DB_REPLICAS"].split(",")
    assert [url.split("@")[1].split("/")[0] for url in urls] == [
        f"10.77.0.{31 + n}:{lib.SETTINGS['REPLICA_PORT']}" for n in range(1, replicas + 1)
    ]
    assert env["POWNCE_DB_PRIMARY"].split("@")[1].startswith(f"10.77.0.31:{lib.SETTINGS['PRIMARY_PORT']}/")
    node_file = env["POWNCE_MEMCACHED"].removeprefix("@")
    nodes = open(node_file).read().split()
    assert nodes == [f"10.77.0.{60 + n}:{lib.SETTINGS['MEMCACHED_PORT']}" for n in range(1, caches + 1)]
    assert "127.0.0.1" not in env["POWNCE_REDIS_URL"] + env["POWNCE_DB_PRIMARY"] + env["POWNCE_DB_REPLICAS"]
