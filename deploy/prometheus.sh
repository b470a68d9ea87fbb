#!/usr/bin/env bash
# Start, stop and inspect a Prometheus server (Debian's `prometheus`) that scrapes Pownce.
#
#   deploy/prometheus.sh up     [options]   write DIR/prometheus.yml, start (or reload) Prometheus
#   deploy/prometheus.sh down   [options]   stop the Prometheus this script started in DIR
#   deploy/prometheus.sh status [options]   up/down, and each scrape target's health
#   deploy/prometheus.sh config [options]   only write and check DIR/prometheus.yml
#
# Options (each also read from the environment variable named in brackets):
#   --app HOST:PORT         an app host's nginx, /metrics           [PROMETHEUS_APP_TARGETS, a list]
#   --haproxy HOST:PORT     HAProxy's stats frontend, /metrics      [PROMETHEUS_HAPROXY_TARGETS]
#   --sampler HOST:PORT     `manage.py sample_status --metrics`     [PROMETHEUS_SAMPLER_TARGETS]
#   --listen ADDR:PORT      where Prometheus listens (127.0.0.1:9090)      [PROMETHEUS_LISTEN]
#   --name NAME             DIR is var/prometheus/NAME (default: stack)    [PROMETHEUS_NAME]
#   --dir DIR               data, configuration, pid file and log          [PROMETHEUS_DIR]
#   --scrape-interval DUR   how often every target is scraped (15s)        [PROMETHEUS_SCRAPE_INTERVAL]
#   --retention DUR         how long samples are kept (15d)                [PROMETHEUS_RETENTION]
# --app, --haproxy and --sampler may be repeated; the variables take space-separated lists.
# Options given replace the variable's list. The rules are deploy/prometheus/alerts.yml.
#
# Prometheus binds only the --listen address: 127.0.0.1 on one machine, the load balancer's
# address inside its network namespace on the cluster (`ip netns exec pc-lb1 deploy/prometheus.sh
# up --listen 10.77.0.2:9090 --app 10.77.0.11:8080 …`). `up` is idempotent: a running Prometheus
# gets the new configuration by SIGHUP; `up` returns once Prometheus reports itself ready (or
# fails after READY_TIMEOUT seconds, 30 by default).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ACTION=${1:-status}; shift || true

read -r -a APPS <<< "${PROMETHEUS_APP_TARGETS:-}"
read -r -a HAPROXIES <<< "${PROMETHEUS_HAPROXY_TARGETS:-}"
read -r -a SAMPLERS <<< "${PROMETHEUS_SAMPLER_TARGETS:-}"
LISTEN=${PROMETHEUS_LISTEN:-127.0.0.1:9090}
NAME=${PROMETHEUS_NAME:-stack}
DIR=${PROMETHEUS_DIR:-}
INTERVAL=${PROMETHEUS_SCRAPE_INTERVAL:-15s}
RETENTION=${PROMETHEUS_RETENTION:-15d}
READY_TIMEOUT=${READY_TIMEOUT:-30}

given_apps=0 given_haproxies=0 given_samplers=0 given_listen=0
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || { echo "$1 needs a value" >&2; exit 2; }
    case $1 in
        --app) [ $given_apps = 1 ] || APPS=(); given_apps=1; APPS+=("$2") ;;
        --haproxy) [ $given_haproxies = 1 ] || HAPROXIES=(); given_haproxies=1; HAPROXIES+=("$2") ;;
        --sampler) [ $given_samplers = 1 ] || SAMPLERS=(); given_samplers=1; SAMPLERS+=("$2") ;;
        --listen) LISTEN=$2; given_listen=1 ;;
        --name) NAME=$2 ;;
        --dir) DIR=$2 ;;
        --scrape-interval) INTERVAL=$2 ;;
        --retention) RETENTION=$2 ;;
        *) echo "unknown option $1 (see the top of $0)" >&2; exit 2 ;;
    esac
    shift 2
done
DIR=${DIR:-$ROOT/var/prometheus/$NAME}
PIDFILE="$DIR/prometheus.pid"
LOG="$DIR/prometheus.log"
CONFIG="$DIR/prometheus.yml"
# `status` and `down` find a running Prometheus's address where `up` wrote it.
if [ $given_listen = 0 ] && [ -z "${PROMETHEUS_LISTEN:-}" ] && [ -s "$DIR/listen" ]; then LISTEN=$(cat "$DIR/listen"); fi

say() { printf '%-10s %s\n' prometheus "$1"; }

pid_alive() {
    local pid
    [ -f "$PIDFILE" ] && pid=$(cat "$PIDFILE") && kill -0 "$pid" 2>/dev/null &&
        ! grep -qE '^State:\s+[ZX]' "/proc/$pid/status" 2>/dev/null
}

check_target() {  # a host:port, nothing else (it is written into YAML)
    [[ $1 =~ ^[A-Za-z0-9._-]+:[0-9]{1,5}$ || $1 =~ ^\[[0-9A-Fa-f:]+\]:[0-9]{1,5}$ ]] ||
        { echo "not a HOST:PORT target: '$1'" >&2; exit 2; }
}

yaml_list() {  # yaml_list A B … -> ["A", "B"]
    local out="" item
    for item in "$@"; do check_target "$item"; out+="${out:+, }\"$item\""; done
    echo "[$out]"
}

render() {
    check_target "$LISTEN"
    [[ $INTERVAL =~ ^[0-9]+(ms|s|m|h)$ ]] || { echo "not a duration: '$INTERVAL'" >&2; exit 2; }
    [ ${#APPS[@]} -gt 0 ] || { echo "no app targets: give --app HOST:PORT (or PROMETHEUS_APP_TARGETS)" >&2; exit 2; }
    local apps haproxies samplers
    apps=$(yaml_list "${APPS[@]}")
    haproxies=$(yaml_list "${HAPROXIES[@]}")
    samplers=$(yaml_list "${SAMPLERS[@]}")
    mkdir -p "$DIR/data"
    sed -e "s|@APP_TARGETS@|$apps|" -e "s|@HAPROXY_TARGETS@|$haproxies|" \
        -e "s|@SAMPLER_TARGETS@|$samplers|" -e "s|@LISTEN@|$LISTEN|" -e "s|@NAME@|$NAME|" \
        -e "s|@SCRAPE_INTERVAL@|$INTERVAL|g" -e "s|@RULES@|$ROOT/deploy/prometheus/alerts.yml|" \
        "$ROOT/deploy/prometheus/prometheus.yml" > "$CONFIG.new"
    if ! promtool check config "$CONFIG.new" > "$DIR/check.log" 2>&1; then
        cat "$DIR/check.log" >&2
        rm -f "$CONFIG.new"
        exit 1
    fi
    mv "$CONFIG.new" "$CONFIG"
}

# GET http://LISTEN/PATH with a deadline of a few seconds; prints the body. Plain Python: curl
# may be missing, and /dev/tcp cannot speak HTTP inside every namespace's shell either.
http_get() {
    python3 - "http://$LISTEN$1" <<'EOF'
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=3) as response:
        sys.stdout.write(response.read().decode())
except Exception as exc:
    sys.stderr.write(f"{exc}\n")
    sys.exit(1)
EOF
}

wait_ready() {
    local deadline=$((SECONDS + READY_TIMEOUT))
    while [ $SECONDS -lt $deadline ]; do
        pid_alive || { echo "prometheus exited; see $LOG" >&2; tail -n 20 "$LOG" >&2; return 1; }
        http_get /-/ready > /dev/null 2>&1 && return 0
        sleep 0.2
    done
    echo "prometheus not ready after ${READY_TIMEOUT}s; see $LOG" >&2
    tail -n 20 "$LOG" >&2
    return 1
}

up() {
    command -v prometheus > /dev/null || bash "$ROOT/deploy/install-packages.sh" prometheus
    render
    if pid_alive; then
        if [ "$(cat "$DIR/listen" 2>/dev/null)" != "$LISTEN" ]; then
            echo "prometheus in $DIR listens on $(cat "$DIR/listen"), not $LISTEN: run down first" >&2
            exit 1
        fi
        kill -HUP "$(cat "$PIDFILE")"
        say "already running on http://$LISTEN/ (pid $(cat "$PIDFILE")): configuration reloaded"
        wait_ready
        return
    fi
    # setsid: the server must not die with the shell (or the make) that started it.
    setsid prometheus --config.file="$CONFIG" --storage.tsdb.path="$DIR/data" \
        --storage.tsdb.retention.time="$RETENTION" --web.listen-address="$LISTEN" \
        --web.console.templates=/usr/share/prometheus/consoles \
        --web.console.libraries=/usr/share/prometheus/console_libraries \
        < /dev/null >> "$LOG" 2>&1 &
    echo $! > "$PIDFILE"
    echo "$LISTEN" > "$DIR/listen"
    wait_ready
    say "http://$LISTEN/ (pid $(cat "$PIDFILE"), ${#APPS[@]} app target(s), data $DIR/data, log $LOG)"
}

down() {
    if pid_alive; then
        local pid
        pid=$(cat "$PIDFILE")
        kill "$pid"
        # Prometheus writes its head block out on SIGTERM: give it time before SIGKILL.
        for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
        say "stopped (pid $pid)"
    else
        say "not running"
    fi
    rm -f "$PIDFILE"
}

status() {
    if ! pid_alive; then say "DOWN  ($DIR)"; return 1; fi
    say "up  http://$LISTEN/  pid $(cat "$PIDFILE")  data $DIR/data"
    http_get /api/v1/targets | python3 -c '
import json, sys
for target in json.load(sys.stdin)["data"]["activeTargets"]:
    row = (target["labels"]["job"], target["scrapeUrl"], target["health"], target.get("lastError") or "")
    print("  %-15s %-40s %-8s %s" % row)
'
}

case $ACTION in
    up) up ;;
    config) render; say "configuration $CONFIG (checked by promtool)" ;;
    down) down ;;
    status) status ;;
    *) echo "usage: $0 up|down|status|config [options]" >&2; exit 2 ;;
esac
