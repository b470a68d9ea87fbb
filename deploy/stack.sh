#!/usr/bin/env bash
# Start, stop and inspect Pownce's topology on one machine, every server on 127.0.0.1.
#
#   deploy/stack.sh [--profile stack|test|bench] up     [GROUP|COMPONENT ...]
#   deploy/stack.sh [--profile stack|test|bench] down   [GROUP|COMPONENT ...]
#   deploy/stack.sh [--profile stack|test|bench] status
#   deploy/stack.sh [--profile stack|test|bench] restart app  # rolling: one app server at a time
#   deploy/stack.sh [--profile stack|test|bench] env     # print the app's environment
#   deploy/stack.sh --profile test test-env          # the environment pytest runs with
#
# Components: primary replica inbox memcached redis app haproxy worker.  Groups: data
# (primary replica inbox memcached redis), web (app haproxy), all (the default: data, web and
# the task worker). "inbox" is INBOX_SHARDS more MariaDB pairs (inbox1 + inbox1-replica, …) on
# the ports INBOX_PORTS lists (primary and replica of shard 1, then of shard 2, …), holding the
# partitioned inbox (notes/partitioning.py); nothing when INBOX_SHARDS is 0 or unset.  Ports come from deploy/profiles/PROFILE.env; data, pid files and logs live under
# var/PROFILE/. A profile may add app environment (APP_EXTRA_ENV="NAME=value …") and size
# InnoDB's buffer pool (INNODB_BUFFER_POOL, 256M by default).
# An app server is an nginx on its APP_PORTS port (deploy/nginx.conf: buffers slow clients,
# serves note files by X-Accel-Redirect) in front of a gunicorn on port + GUNICORN_PORT_OFFSET.
# Every command is idempotent: `up` leaves running components alone, `down` stops only the
# processes whose pid files it wrote. `up` of app servers or HAProxy returns once HAProxy
# reports every app server UP (or fails after READY_TIMEOUT seconds, 60 by default, saying which
# is not).
# The app component also runs the status page's sampler (`manage.py sample_status`, every
# STATUS_SAMPLE_SECONDS, 15 by default) and gives each app server its own, freshly emptied,
# PROMETHEUS_MULTIPROC_DIR under var/PROFILE/metrics/ (see pownce/metrics.py).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PROFILE_NAME=stack
if [ "${1:-}" = "--profile" ]; then PROFILE_NAME=$2; shift 2; fi
ACTION=${1:-status}; shift || true
PROFILE_FILE="$ROOT/deploy/profiles/$PROFILE_NAME.env"
[ -f "$PROFILE_FILE" ] || { echo "no profile $PROFILE_FILE" >&2; exit 2; }
# shellcheck source=/dev/null
. "$PROFILE_FILE"

VAR="$ROOT/var/$PROFILE_NAME"
RUN="$VAR/run"
LOG="$VAR/log"
PY="${POWNCE_PYTHON:-$ROOT/.venv/bin/python}"
mkdir -p "$RUN" "$LOG"

say() { printf '%-10s %s\n' "$1" "$2"; }

GUNICORN_PORT_OFFSET=${GUNICORN_PORT_OFFSET:-1000}
READY_TIMEOUT=${READY_TIMEOUT:-60}

pid_alive() {  # a process that is exiting or a zombie (killed, not yet reaped) is not alive
    local pid
    [ -f "$1" ] && pid=$(cat "$1") && kill -0 "$pid" 2>/dev/null &&
        ! grep -qE '^State:\s+[ZX]' "/proc/$pid/status" 2>/dev/null
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {  # wait_port PORT NAME LOGFILE
    for _ in $(seq 1 100); do port_open "$1" && return 0; sleep 0.1; done
    echo "$2 did not open port $1; see $3" >&2
    tail -n 20 "$3" >&2 || true
    return 1
}

stop_pidfile() {  # stop_pidfile PIDFILE NAME
    local pidfile=$1 name=$2 pid
    if pid_alive "$pidfile"; then
        pid=$(cat "$pidfile")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
        say "$name" "stopped (pid $pid)"
    else
        say "$name" "not running"
    fi
    rm -f "$pidfile"
}

secret_key() {
    local file="$VAR/secret_key"
    [ -s "$file" ] || "$PY" -c 'import secrets; print(secrets.token_urlsafe(50))' > "$file"
    cat "$file"
}

memcached_list() {
    local list="" port
    for port in $MEMCACHED_PORTS; do list="${list:+$list,}127.0.0.1:$port"; done
    echo "$list"
}

# The environment every Pownce process of this profile runs with (app servers, manage.py).
app_env() {
    cat <<EOF
POWNCE_DEBUG=0
POWNCE_HTTPS=0
POWNCE_SECRET_KEY=$(secret_key)
POWNCE_ALLOWED_HOSTS=127.0.0.1,localhost
POWNCE_DB_PRIMARY=mysql://$DB_USER:$DB_PASSWORD@127.0.0.1:$PRIMARY_PORT/${APP_DB_NAME:-$DB_NAME}
POWNCE_DB_REPLICAS=mysql://$DB_USER:$DB_PASSWORD@127.0.0.1:$REPLICA_PORT/${APP_DB_NAME:-$DB_NAME}
POWNCE_MEMCACHED=$(memcached_list)
POWNCE_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
POWNCE_VAR_DIR=$VAR
POWNCE_MEDIA_ROOT=$VAR/media
POWNCE_HAPROXY_STATS_URL=http://127.0.0.1:$HAPROXY_STATS_PORT/
EOF
    inbox_env
    local extra
    for extra in ${APP_EXTRA_ENV:-}; do echo "$extra"; done
}

# The inbox clusters' URLs (settings: POWNCE_DB_INBOX_PRIMARY, POWNCE_DB_INBOX_REPLICAS).
inbox_env() {
    [ "${INBOX_SHARDS:-0}" -gt 0 ] || return 0
    local i primaries="" replicas="" url="mysql://$DB_USER:$DB_PASSWORD@127.0.0.1"
    for i in $(seq 1 "$INBOX_SHARDS"); do
        primaries="${primaries:+$primaries,}$url:$(inbox_port "$i" 0)/${APP_DB_NAME:-$DB_NAME}"
        replicas="${replicas:+$replicas,}$url:$(inbox_port "$i" 1)/${APP_DB_NAME:-$DB_NAME}"
    done
    echo "POWNCE_DB_INBOX_PRIMARY=$primaries"
    echo "POWNCE_DB_INBOX_REPLICAS=$replicas"
}

inbox_port() {  # inbox_port SHARD 0|1: the port of the shard's primary (0) or replica (1)
    local ports
    read -r -a ports <<< "${INBOX_PORTS:-}"
    local port=${ports[$(( ($1 - 1) * 2 + $2 ))]:-}
    [ -n "$port" ] || { echo "INBOX_PORTS needs 2 ports per inbox shard (INBOX_SHARDS=$INBOX_SHARDS)" >&2; exit 2; }
    echo "$port"
}

# Export that environment into the current (sub)shell: `( with_app_env; cd "$ROOT"; … )`.
with_app_env() {
    set -a
    # shellcheck source=/dev/null
    . <(app_env)
    set +a
}

# --- MariaDB ------------------------------------------------------------------------------
mysql_root() {  # mysql_root NAME [args...]: the root client over the instance's socket
    local name=$1; shift
    mariadb --no-defaults --user=root --socket="$RUN/$name.sock" "$@"
}

start_mariadb() {  # start_mariadb NAME PORT SERVER_ID
    local name=$1 port=$2 server_id=$3 datadir="$VAR/$1/data"
    if pid_alive "$RUN/$name.pid"; then say "$name" "already running on 127.0.0.1:$port"; return; fi
    if [ ! -d "$datadir/mysql" ]; then
        mkdir -p "$datadir"
        mariadb-install-db --no-defaults --user=root --datadir="$datadir" \
            --auth-root-authentication-method=normal --skip-test-db > "$LOG/$name.install.log" 2>&1
    fi
    local extra=()
    case $name in replica|*-replica) extra=(--read-only=1 --relay-log="$VAR/$name/data/replica-relay") ;; esac
    # setsid: the server must not die with the shell (or the make) that started it.
    setsid mariadbd --no-defaults --user=root --datadir="$datadir" \
        --port="$port" --bind-address=127.0.0.1 --socket="$RUN/$name.sock" \
        --pid-file="$RUN/$name.pid" --log-error="$LOG/$name.err" \
        --server-id="$server_id" --log-bin --log-basename="$name" --binlog-format=ROW \
        --gtid-strict-mode=1 --log-slave-updates=1 --skip-name-resolve \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
        --innodb-buffer-pool-size="${INNODB_BUFFER_POOL:-256M}" --innodb-flush-log-at-trx-commit=2 --sync-binlog=0 \
        --max-connections=500 "${extra[@]}" < /dev/null > "$LOG/$name.out" 2>&1 &
    for _ in $(seq 1 100); do
        mariadb-admin --no-defaults --user=root --socket="$RUN/$name.sock" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    wait_port "$port" "$name" "$LOG/$name.err"
    say "$name" "started on 127.0.0.1:$port (pid $(cat "$RUN/$name.pid"), log $LOG/$name.err)"
}

setup_primary() {  # [NAME]: users and database; idempotent, replicated to the replica through the binlog
    mysql_root "${1:-primary}" <<EOF
CREATE DATABASE IF NOT EXISTS \`$DB_NAME\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'repl'@'127.0.0.1' IDENTIFIED BY '$REPL_PASSWORD';
GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1';
CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'127.0.0.1';
GRANT ALL PRIVILEGES ON \`test\\_$DB_NAME%\`.* TO '$DB_USER'@'127.0.0.1';
GRANT SLAVE MONITOR, PROCESS ON *.* TO '$DB_USER'@'127.0.0.1';
EOF
}

setup_replica() {  # [REPLICA PRIMARY PRIMARY_PORT]: point the replica at its primary once; afterwards just make sure it runs
    local replica=${1:-replica} primary=${2:-primary} primary_port=${3:-$PRIMARY_PORT}
    if [ -z "$(mysql_root "$replica" -e 'SHOW SLAVE STATUS')" ]; then
        mysql_root "$replica" <<EOF
CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$primary_port, MASTER_USER='repl',
  MASTER_PASSWORD='$REPL_PASSWORD', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1;
EOF
    fi
    # A delay set on purpose (tests make the replica lag) never outlives the run that set it.
    if [ "$(mysql_root "$replica" -e 'SHOW SLAVE STATUS\G' | awk '/SQL_Delay:/ {print $2}')" != 0 ]; then
        mysql_root "$replica" -e "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=0"
    fi
    mysql_root "$replica" -e "START SLAVE" 2>/dev/null || true
    # The replica is only useful once it has caught up with the primary's users and schema.
    local gtid
    gtid=$(mysql_root "$primary" -N -e "SELECT @@gtid_binlog_pos")
    if [ -n "$gtid" ] && ! mysql_root "$replica" -N -e "SELECT MASTER_GTID_WAIT('$gtid', 30)" | grep -q '^0$'; then
        echo "$replica did not catch up with $primary ($gtid); see $LOG/$replica.err" >&2
        return 1
    fi
    say "$replica" "replicating from 127.0.0.1:$primary_port (GTID)"
}

# --- the inbox clusters (INBOX_SHARDS pairs; notes/partitioning.py) -------------------------
# Server ids 11, 12 for shard 1's primary and replica, 13, 14 for shard 2's, …
start_inbox_shards() {
    local i
    for i in $(seq 1 "${INBOX_SHARDS:-0}"); do
        start_mariadb "inbox$i" "$(inbox_port "$i" 0)" $((9 + 2 * i)); setup_primary "inbox$i"
        start_mariadb "inbox$i-replica" "$(inbox_port "$i" 1)" $((10 + 2 * i))
        setup_replica "inbox$i-replica" "inbox$i" "$(inbox_port "$i" 0)"
    done
}

migrate_inbox_shards() {  # the inbox table on each inbox primary (after the main database's map)
    local i
    for i in $(seq 1 "${INBOX_SHARDS:-0}"); do
        (with_app_env; cd "$ROOT"; POWNCE_DB_READ_TIMEOUT=0 "$PY" manage.py migrate --database "inbox$i" --noinput -v 0)
        say "inbox$i" "migrated"
    done
}

stop_inbox_shards() {
    local i
    for i in $(seq "${INBOX_SHARDS:-0}" -1 1); do
        stop_pidfile "$RUN/inbox$i-replica.pid" "inbox$i-replica"
        stop_pidfile "$RUN/inbox$i.pid" "inbox$i"
    done
}

replica_status() {  # [NAME]
    mysql_root "${1:-replica}" -e "SHOW SLAVE STATUS\G" 2>/dev/null |
        awk -F': ' '/Slave_IO_Running:|Slave_SQL_Running:|Seconds_Behind_Master:|SQL_Delay:/ {gsub(/^ +/, "", $1); printf "%s=%s ", $1, $2}'
}

# --- memcached, Redis ---------------------------------------------------------------------
start_memcached() {
    local port
    for port in $MEMCACHED_PORTS; do
        local name="memcached-$port"
        if pid_alive "$RUN/$name.pid"; then say memcached "already running on 127.0.0.1:$port"; continue; fi
        if port_open "$port"; then
            echo "memcached: 127.0.0.1:$port is taken by a process this script did not start" >&2
            return 1
        fi
        setsid memcached -u root -l 127.0.0.1 -p "$port" -U 0 -m 128 -c 2048 \
            < /dev/null > "$LOG/$name.log" 2>&1 &
        local pid=$!
        wait_port "$port" memcached "$LOG/$name.log"
        # The port may have been opened by someone else: the pid file names our process only.
        kill -0 "$pid" 2>/dev/null || { echo "memcached on $port exited; see $LOG/$name.log" >&2; return 1; }
        echo "$pid" > "$RUN/$name.pid"
        say memcached "started on 127.0.0.1:$port (pid $(cat "$RUN/$name.pid"))"
    done
}

start_redis() {
    if pid_alive "$RUN/redis.pid"; then say redis "already running on 127.0.0.1:$REDIS_PORT"; return; fi
    mkdir -p "$VAR/redis"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize yes --pidfile "$RUN/redis.pid" --logfile "$LOG/redis.log" --dir "$VAR/redis"
    wait_port "$REDIS_PORT" redis "$LOG/redis.log"
    say redis "started on 127.0.0.1:$REDIS_PORT (pid $(cat "$RUN/redis.pid"), log $LOG/redis.log)"
}

# --- app servers (nginx + gunicorn), HAProxy -----------------------------------------------
start_gunicorn() {  # start_gunicorn NAME PORT: the gunicorn behind NAME's nginx
    local name=$1 port=$2
    if pid_alive "$RUN/$name.pid"; then say "$name" "gunicorn already running on 127.0.0.1:$port"; return; fi
    (
        with_app_env
        export POWNCE_BIND="127.0.0.1:$port" POWNCE_RUN_DIR="$RUN" POWNCE_SERVER_NAME="$name"
        export POWNCE_GUNICORN_WORKERS="$GUNICORN_WORKERS"
        # Its nginx sends note files (deploy/nginx.conf, the internal /protected-media/).
        export POWNCE_FILE_SERVE_HEADER=X-Accel-Redirect
        # Every worker writes its metrics here and /metrics sums them; a new server starts at 0.
        export PROMETHEUS_MULTIPROC_DIR="$VAR/metrics/$name"
        rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
        cd "$ROOT"
        "$ROOT/.venv/bin/gunicorn" -c deploy/gunicorn.conf.py --daemon
    )
    for _ in $(seq 1 100); do pid_alive "$RUN/$name.pid" && port_open "$port" && break; sleep 0.1; done
    wait_port "$port" "$name" "$LOG/$name.error.log"
    say "$name" "gunicorn on 127.0.0.1:$port (pid $(cat "$RUN/$name.pid"), logs $LOG/$name.*.log)"
}

start_nginx() {  # start_nginx NAME PORT GUNICORN_PORT: NAME's buffering proxy
    local name=$1 port=$2 gport=$3 conf="$VAR/nginx-$1.conf" tmp="$VAR/nginx/$1"
    local upload_mb=${POWNCE_MAX_UPLOAD_MB:-100}
    mkdir -p "$tmp"
    sed -e "s|@USER@|$(id -un)|g" -e "s|@RUN@|$RUN|g" -e "s|@LOG@|$LOG|g" -e "s|@NAME@|$name|g" \
        -e "s|@TMP@|$tmp|g" -e "s|@ADDR@|127.0.0.1|g" -e "s|@PORT@|$port|g" -e "s|@GUNICORN_PORT@|$gport|g" \
        -e "s|@MAX_BODY@|$((upload_mb + 1))m|g" -e "s|@MAX_UPLOAD_MB@|$upload_mb|g" \
        -e "s|@FILE_PREFIX@|/protected-media/|g" -e "s|@MEDIA_ROOT@|$VAR/media|g" \
        "$ROOT/deploy/nginx.conf" > "$conf"
    if pid_alive "$RUN/nginx-$name.pid"; then
        nginx -q -c "$conf" -s reload 2>> "$LOG/nginx-$name.error.log"
        say "$name" "nginx already running on 127.0.0.1:$port (configuration reloaded)"
        return
    fi
    nginx -q -t -c "$conf" 2> "$LOG/nginx-$name.check.log" || { cat "$LOG/nginx-$name.check.log" >&2; return 1; }
    nginx -c "$conf"
    wait_port "$port" "nginx-$name" "$LOG/nginx-$name.error.log"
    say "$name" "http://127.0.0.1:$port/ (nginx pid $(cat "$RUN/nginx-$name.pid") -> gunicorn :$gport)"
}

start_apps() {
    local i=0 port
    for port in $APP_PORTS; do
        i=$((i + 1))
        start_gunicorn "app$i" $((port + GUNICORN_PORT_OFFSET))
        start_nginx "app$i" "$port" $((port + GUNICORN_PORT_OFFSET))
    done
}

stop_apps() {
    local i=0 port
    for port in $APP_PORTS; do
        i=$((i + 1))
        stop_pidfile "$RUN/nginx-app$i.pid" "nginx-app$i"
        stop_pidfile "$RUN/app$i.pid" "app$i"
    done
}

haproxyctl() { "$PY" "$ROOT/deploy/haproxyctl.py" "$RUN/haproxy.sock" "$@"; }

# Readiness: the site is up when HAProxy sends traffic to every app server, not when a port
# opens (for a second or two after that, every check may still be failing: 503 for everyone).
wait_ready() {
    pid_alive "$RUN/haproxy.pid" || return 0
    if ! haproxyctl wait-up --timeout "$READY_TIMEOUT"; then
        haproxyctl states >&2 || true
        echo "see $LOG/app*.error.log and $LOG/nginx-app*.error.log" >&2
        return 1
    fi
    say haproxy "every app server is UP"
}

# One app server at a time: out of rotation, its requests finished, a new gunicorn, back in
# rotation once HAProxy's checks pass. The others carry the traffic meanwhile: 0 failed requests.
restart_apps() {
    pid_alive "$RUN/haproxy.pid" || { echo "restart app needs HAProxy running (stack.sh up)" >&2; return 1; }
    local i=0 port
    for port in $APP_PORTS; do
        i=$((i + 1))
        haproxyctl drain "app$i" --timeout 60
        say "app$i" "drained"
        stop_pidfile "$RUN/app$i.pid" "app$i"
        start_gunicorn "app$i" $((port + GUNICORN_PORT_OFFSET))
        start_nginx "app$i" "$port" $((port + GUNICORN_PORT_OFFSET))
        haproxyctl ready "app$i"
        haproxyctl wait-up "app$i" --timeout "$READY_TIMEOUT"
        say "app$i" "UP again"
    done
}

# --- the task worker ------------------------------------------------------------------------
# One `manage.py task_worker` process (the database queue's worker). Its id is stable per
# profile and machine, so a worker restarted after a crash takes back the tasks it had claimed.
start_worker() {
    if pid_alive "$RUN/worker.pid"; then say worker "already running (pid $(cat "$RUN/worker.pid"))"; return; fi
    (
        with_app_env
        cd "$ROOT"
        setsid "$PY" manage.py task_worker --worker-id "$(hostname)-$PROFILE_NAME-worker1" \
            --interval 0.5 --no-startup-delay < /dev/null >> "$LOG/worker.log" 2>&1 &
        echo $! > "$RUN/worker.pid"
    )
    sleep 0.5
    if ! pid_alive "$RUN/worker.pid"; then
        echo "worker did not start; see $LOG/worker.log" >&2
        tail -n 20 "$LOG/worker.log" >&2 || true
        return 1
    fi
    say worker "started (pid $(cat "$RUN/worker.pid"), log $LOG/worker.log)"
}

# The status page's sampler: the last hour of load, databases, memcached, Redis, queue, HAProxy.
start_sampler() {
    if pid_alive "$RUN/sampler.pid"; then say sampler "already running (pid $(cat "$RUN/sampler.pid"))"; return; fi
    (
        with_app_env
        cd "$ROOT"
        setsid "$PY" manage.py sample_status --every "${STATUS_SAMPLE_SECONDS:-15}" < /dev/null >> "$LOG/sampler.log" 2>&1 &
        echo $! > "$RUN/sampler.pid"
    )
    say sampler "started (pid $(cat "$RUN/sampler.pid"), every ${STATUS_SAMPLE_SECONDS:-15}s, log $LOG/sampler.log)"
}

haproxy_config() {  # var/PROFILE/haproxy.cfg: deploy/haproxy.cfg with one server line per app server
    local i=0 port lines=""
    for port in $APP_PORTS; do
        i=$((i + 1))
        lines+="    server app$i 127.0.0.1:$port check\n"
    done
    sed "s|^ *@APP_SERVERS@\$|${lines%\\n}|" "$ROOT/deploy/haproxy.cfg" > "$VAR/haproxy.cfg"
    export POWNCE_RUN_DIR="$RUN" HAPROXY_PORT HAPROXY_STATS_PORT
}

start_haproxy() {
    if pid_alive "$RUN/haproxy.pid"; then say haproxy "already running on 127.0.0.1:$HAPROXY_PORT"; return; fi
    haproxy_config
    haproxy -c -q -f "$VAR/haproxy.cfg"
    haproxy -D -f "$VAR/haproxy.cfg" > "$LOG/haproxy.log" 2>&1
    wait_port "$HAPROXY_PORT" haproxy "$LOG/haproxy.log"
    say haproxy "http://127.0.0.1:$HAPROXY_PORT/ (stats and /metrics on 127.0.0.1:$HAPROXY_STATS_PORT)"
}

migrate() {
    # A migration may run longer than a request may wait: no read/write timeout for it.
    (with_app_env; cd "$ROOT"; POWNCE_DB_READ_TIMEOUT=0 "$PY" manage.py migrate --noinput -v 0)
    say schema "migrated on the primary"
    migrate_inbox_shards
}

expand() {  # turn groups into components, in start order
    local out=() item
    [ $# -eq 0 ] && set -- all
    for item in "$@"; do
        case $item in
            all) out+=(primary replica inbox memcached redis app haproxy worker) ;;
            data) out+=(primary replica inbox memcached redis) ;;
            web) out+=(app haproxy) ;;
            primary|replica|inbox|memcached|redis|app|haproxy|worker) out+=("$item") ;;
            *) echo "unknown component $item" >&2; exit 2 ;;
        esac
    done
    echo "${out[@]}"
}

up() {
    local c migrated=0 web=0
    for c in $(expand "$@"); do
        case $c in app|haproxy) web=1 ;; esac
        case $c in
            primary) start_mariadb primary "$PRIMARY_PORT" 1; setup_primary ;;
            replica) start_mariadb replica "$REPLICA_PORT" 2; setup_replica ;;
            inbox) start_inbox_shards ;;
            memcached) start_memcached ;;
            redis) start_redis ;;
            # The test profile's app servers serve the database pytest creates and migrates.
            app) [ "$PROFILE" != test ] && migrate && migrated=1; start_apps; start_sampler ;;
            haproxy) start_haproxy ;;
            worker) [ "$PROFILE" != test ] && [ $migrated = 0 ] && migrate; start_worker ;;
        esac
    done
    if [ $web = 1 ]; then wait_ready; fi
}

down() {
    local components c i port
    read -r -a components <<< "$(expand "$@")"
    for ((i = ${#components[@]} - 1; i >= 0; i--)); do  # stop in reverse order
        c=${components[$i]}
        case $c in
            worker) stop_pidfile "$RUN/worker.pid" worker ;;
            haproxy) stop_pidfile "$RUN/haproxy.pid" haproxy ;;
            app) stop_apps; stop_pidfile "$RUN/sampler.pid" sampler ;;
            redis) stop_pidfile "$RUN/redis.pid" redis ;;
            memcached) for port in $MEMCACHED_PORTS; do stop_pidfile "$RUN/memcached-$port.pid" memcached; done ;;
            replica) stop_pidfile "$RUN/replica.pid" replica ;;
            inbox) stop_inbox_shards ;;
            primary) stop_pidfile "$RUN/primary.pid" primary ;;
        esac
    done
}

status() {
    local state port i=0
    show() { if pid_alive "$2" && port_open "$3"; then state="up"; else state="DOWN"; fi; say "$1" "$state  127.0.0.1:$3  ${4:-}"; }
    echo "profile $PROFILE_NAME (var/$PROFILE_NAME)"
    show primary "$RUN/primary.pid" "$PRIMARY_PORT"
    show replica "$RUN/replica.pid" "$REPLICA_PORT" "$(pid_alive "$RUN/replica.pid" && replica_status)"
    for i in $(seq 1 "${INBOX_SHARDS:-0}"); do
        show "inbox$i" "$RUN/inbox$i.pid" "$(inbox_port "$i" 0)" "inbox shard $i"
        show "inbox$i-r" "$RUN/inbox$i-replica.pid" "$(inbox_port "$i" 1)" "$(pid_alive "$RUN/inbox$i-replica.pid" && replica_status "inbox$i-replica")"
    done
    i=0
    for port in $MEMCACHED_PORTS; do show memcached "$RUN/memcached-$port.pid" "$port"; done
    show redis "$RUN/redis.pid" "$REDIS_PORT"
    for port in $APP_PORTS; do
        i=$((i + 1))
        show "app$i" "$RUN/app$i.pid" $((port + GUNICORN_PORT_OFFSET)) "gunicorn"
        show "nginx$i" "$RUN/nginx-app$i.pid" "$port" "buffering proxy of app$i"
    done
    show haproxy "$RUN/haproxy.pid" "$HAPROXY_PORT" "stats http://127.0.0.1:$HAPROXY_STATS_PORT/"
    if pid_alive "$RUN/sampler.pid"; then state="up  pid $(cat "$RUN/sampler.pid")"; else state="DOWN"; fi
    say sampler "$state  log $LOG/sampler.log"
    if pid_alive "$RUN/worker.pid"; then state="up  pid $(cat "$RUN/worker.pid")"; else state="DOWN"; fi
    say worker "$state  log $LOG/worker.log"
}

case $ACTION in
    up) up "$@" ;;
    restart) [ "${1:-}" = app ] || { echo "usage: $0 restart app" >&2; exit 2; }; restart_apps ;;
    down) down "$@" ;;
    status) status ;;
    env) app_env ;;
    # pytest adds "test_" to the database name itself.
    test-env) APP_DB_NAME="" app_env ;;
    *) echo "usage: $0 [--profile stack|test|bench] up|down|status|env|restart app [components]" >&2; exit 2 ;;
esac
