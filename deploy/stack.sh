#!/usr/bin/env bash
# Start, stop and inspect Pownce's topology on one machine, every server on 127.0.0.1 — or one
# host's share of it on many machines (deploy/cluster.sh runs this script in each host's
# network namespace with a profile generated from the inventory; see "Addresses" below).
#
#   deploy/stack.sh [--profile stack|test|bench|FILE.env] up     [GROUP|COMPONENT ...]
#   deploy/stack.sh [--profile stack|test|bench] down   [GROUP|COMPONENT ...]
#   deploy/stack.sh [--profile stack|test|bench] status
#   deploy/stack.sh [--profile stack|test|bench] restart app  # rolling: one app server at a time
#   deploy/stack.sh [--profile …] reload haproxy     # new server lines, no connection dropped
#   deploy/stack.sh [--profile …] haproxy-config     # write and check var/PROFILE/haproxy.cfg, print it
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
#
# Addresses. Every default is the single machine; a profile for one host of a cluster sets:
#   BIND_ADDR        the address this host's servers listen on (127.0.0.1)
#   PRIMARY_ADDR     where the primary is, for replicas and app servers (127.0.0.1)
#   REPLICA_NODES    "addr:port …" the app servers read from (127.0.0.1:REPLICA_PORT)
#   MEMCACHED_NODES  "addr:port …" the app servers cache in (127.0.0.1:each MEMCACHED_PORTS);
#   MEMCACHED_NODES_FILE  or a node-list file instead, re-read by running app servers when it
#                    changes (POWNCE_MEMCACHED=@FILE, cache/backends.py)
#   REDIS_ADDR, HAPROXY_ADDR   where Redis and HAProxy's stats are (127.0.0.1)
#   APP_SERVERS      "name=addr:port …" HAProxy's server lines (app1=127.0.0.1:each APP_PORTS)
#   APP_NAMES        the names of this host's app servers, one per APP_PORTS (app1 app2 …)
#   NGINX_ALLOW      addresses besides 127.0.0.1 an app server's nginx accepts (HAProxy's)
#   DB_CLIENT_HOST   the host part of the MariaDB accounts (127.0.0.1; a subnet like 10.77.0.%)
#   REDIS_PASSWORD   Redis's password (none on loopback; off loopback Redis refuses clients
#                    without one: protected mode)
#   INBOX_ADDRS      "addr …" of each inbox shard's primary and replica, in INBOX_PORTS' order
#                    (127.0.0.1 each)
#   INBOX_LOCAL      on a host of an inbox cluster: the one instance it runs, "primary N" or
#                    "replica N" (unset: every shard's pair runs here)
#   REPLICA_SERVER_ID, ALLOWED_HOSTS, SECRET_KEY_FILE, MEDIA_DIR (shared by every app host)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PROFILE_NAME=stack
if [ "${1:-}" = "--profile" ]; then PROFILE_NAME=$2; shift 2; fi
ACTION=${1:-status}; shift || true
PROFILE_FILE="$ROOT/deploy/profiles/$PROFILE_NAME.env"
case $PROFILE_NAME in  # a path: a generated profile (deploy/cluster.sh), named after its file
    */*) PROFILE_FILE=$PROFILE_NAME; PROFILE_NAME=$(basename "$PROFILE_NAME" .env) ;;
esac
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
BIND_ADDR=${BIND_ADDR:-127.0.0.1}
PRIMARY_ADDR=${PRIMARY_ADDR:-127.0.0.1}
REDIS_ADDR=${REDIS_ADDR:-127.0.0.1}
HAPROXY_ADDR=${HAPROXY_ADDR:-127.0.0.1}
REPLICA_NODES=${REPLICA_NODES:-127.0.0.1:$REPLICA_PORT}
DB_CLIENT_HOST=${DB_CLIENT_HOST:-127.0.0.1}
REPLICA_SERVER_ID=${REPLICA_SERVER_ID:-2}
ALLOWED_HOSTS=${ALLOWED_HOSTS:-127.0.0.1,localhost}
if [ -z "${APP_SERVERS:-}" ]; then
    APP_SERVERS="" _i=0
    for _port in $APP_PORTS; do _i=$((_i + 1)); APP_SERVERS+="${APP_SERVERS:+ }app$_i=127.0.0.1:$_port"; done
fi
if [ -z "${APP_NAMES:-}" ]; then
    APP_NAMES="" _i=0
    for _port in $APP_PORTS; do _i=$((_i + 1)); APP_NAMES+="${APP_NAMES:+ }app$_i"; done
fi
read -r -a APP_NAME_LIST <<< "$APP_NAMES"
READY_TIMEOUT=${READY_TIMEOUT:-60}

pid_alive() {  # a process that is exiting or a zombie (killed, not yet reaped) is not alive
    local pid
    [ -f "$1" ] && pid=$(cat "$1") && kill -0 "$pid" 2>/dev/null &&
        ! grep -qE '^State:\s+[ZX]' "/proc/$pid/status" 2>/dev/null
}

port_open() { (exec 3<>"/dev/tcp/${2:-$BIND_ADDR}/$1") 2>/dev/null; }  # port_open PORT [ADDR]

wait_port() {  # wait_port PORT NAME LOGFILE [ADDR]
    for _ in $(seq 1 100); do port_open "$1" "${4:-$BIND_ADDR}" && return 0; sleep 0.1; done
    echo "$2 did not open port ${4:-$BIND_ADDR}:$1; see $3" >&2
    tail -n 20 "$3" >&2 || true
    return 1
}

refuse_taken_port() {  # refuse_taken_port PORT NAME: a server we did not start holds the port
    port_open "$1" || return 0
    echo "$2: port $1 is taken by a process this script did not start (another profile or checkout?)" >&2
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
    local file="${SECRET_KEY_FILE:-$VAR/secret_key}"
    [ -s "$file" ] || "$PY" -c 'import secrets; print(secrets.token_urlsafe(50))' > "$file"
    cat "$file"
}

memcached_list() {  # POWNCE_MEMCACHED: the node-list file (@FILE) or the nodes, comma-separated
    local list="" node
    if [ -n "${MEMCACHED_NODES_FILE:-}" ]; then echo "@$MEMCACHED_NODES_FILE"; return; fi
    for node in ${MEMCACHED_NODES:-$(for p in $MEMCACHED_PORTS; do echo "127.0.0.1:$p"; done)}; do
        list="${list:+$list,}$node"
    done
    echo "$list"
}

replica_urls() {
    local list="" node
    for node in $REPLICA_NODES; do
        list="${list:+$list,}mysql://$DB_USER:$DB_PASSWORD@$node/${APP_DB_NAME:-$DB_NAME}"
    done
    echo "$list"
}

# The environment every Pownce process of this profile runs with (app servers, manage.py).
app_env() {
    cat <<EOF
POWNCE_DEBUG=0
POWNCE_HTTPS=0
POWNCE_SECRET_KEY=$(secret_key)
POWNCE_ALLOWED_HOSTS=$ALLOWED_HOSTS
POWNCE_DB_PRIMARY=mysql://$DB_USER:$DB_PASSWORD@$PRIMARY_ADDR:$PRIMARY_PORT/${APP_DB_NAME:-$DB_NAME}
POWNCE_DB_REPLICAS=$(replica_urls)
POWNCE_MEMCACHED=$(memcached_list)
POWNCE_REDIS_URL=redis://${REDIS_PASSWORD:+:$REDIS_PASSWORD@}$REDIS_ADDR:$REDIS_PORT/0
POWNCE_VAR_DIR=$VAR
POWNCE_MEDIA_ROOT=${MEDIA_DIR:-$VAR/media}
POWNCE_HAPROXY_STATS_URL=http://$HAPROXY_ADDR:$HAPROXY_STATS_PORT/
EOF
    inbox_env
    local extra
    for extra in ${APP_EXTRA_ENV:-}; do echo "$extra"; done
}

# The inbox clusters' URLs (settings: POWNCE_DB_INBOX_PRIMARY, POWNCE_DB_INBOX_REPLICAS).
inbox_env() {
    if [ "${INBOX_SHARDS:-0}" -eq 0 ]; then
        # Said, not left out: a caller's environment (a test run with inbox shards on its own
        # loopback) must not leak into this profile's processes.
        echo "POWNCE_DB_INBOX_PRIMARY="
        echo "POWNCE_DB_INBOX_REPLICAS="
        return 0
    fi
    local i primaries="" replicas="" url="mysql://$DB_USER:$DB_PASSWORD"
    for i in $(seq 1 "$INBOX_SHARDS"); do
        primaries="${primaries:+$primaries,}$url@$(inbox_addr "$i" 0):$(inbox_port "$i" 0)/${APP_DB_NAME:-$DB_NAME}"
        replicas="${replicas:+$replicas,}$url@$(inbox_addr "$i" 1):$(inbox_port "$i" 1)/${APP_DB_NAME:-$DB_NAME}"
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

inbox_addr() {  # inbox_addr SHARD 0|1: the address of the shard's primary (0) or replica (1)
    local addrs
    read -r -a addrs <<< "${INBOX_ADDRS:-}"
    echo "${addrs[$(( ($1 - 1) * 2 + $2 ))]:-127.0.0.1}"
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
    if pid_alive "$RUN/$name.pid"; then say "$name" "already running on $BIND_ADDR:$port"; return; fi
    refuse_taken_port "$port" "$name" || return 1
    if [ ! -d "$datadir/mysql" ]; then
        mkdir -p "$datadir"
        mariadb-install-db --no-defaults --user=root --datadir="$datadir" \
            --auth-root-authentication-method=normal --skip-test-db > "$LOG/$name.install.log" 2>&1
    fi
    local extra=()
    case $name in replica|*-replica) extra=(--read-only=1 --relay-log="$VAR/$name/data/replica-relay") ;; esac
    # setsid: the server must not die with the shell (or the make) that started it.
    setsid mariadbd --no-defaults --user=root --datadir="$datadir" \
        --port="$port" --bind-address="$BIND_ADDR" --socket="$RUN/$name.sock" \
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
    say "$name" "started on $BIND_ADDR:$port (pid $(cat "$RUN/$name.pid"), log $LOG/$name.err)"
}

setup_primary() {  # [NAME]: users and database; idempotent, replicated to the replica through the binlog
    mysql_root "${1:-primary}" <<EOF
CREATE DATABASE IF NOT EXISTS \`$DB_NAME\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'repl'@'$DB_CLIENT_HOST' IDENTIFIED BY '$REPL_PASSWORD';
GRANT REPLICATION SLAVE ON *.* TO 'repl'@'$DB_CLIENT_HOST';
CREATE USER IF NOT EXISTS '$DB_USER'@'$DB_CLIENT_HOST' IDENTIFIED BY '$DB_PASSWORD';
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'$DB_CLIENT_HOST';
GRANT ALL PRIVILEGES ON \`test\\_$DB_NAME%\`.* TO '$DB_USER'@'$DB_CLIENT_HOST';
GRANT SLAVE MONITOR, PROCESS ON *.* TO '$DB_USER'@'$DB_CLIENT_HOST';
EOF
}

setup_replica() {  # [REPLICA PRIMARY PRIMARY_PORT PRIMARY_ADDR]: point the replica at its primary once; afterwards just make sure it runs
    local replica=${1:-replica} primary=${2:-primary} primary_port=${3:-$PRIMARY_PORT} primary_addr=${4:-$PRIMARY_ADDR}
    if [ -z "$(mysql_root "$replica" -e 'SHOW SLAVE STATUS')" ]; then
        mysql_root "$replica" <<EOF
CHANGE MASTER TO MASTER_HOST='$primary_addr', MASTER_PORT=$primary_port, MASTER_USER='repl',
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
    # Asked over the network as the app's account: the primary may be on another host.
    gtid=$(mariadb --no-defaults --host="$primary_addr" --port="$primary_port" --user="$DB_USER" \
        --password="$DB_PASSWORD" -N -e "SELECT @@gtid_binlog_pos")
    if [ -n "$gtid" ] && ! mysql_root "$replica" -N -e "SELECT MASTER_GTID_WAIT('$gtid', 30)" | grep -q '^0$'; then
        echo "$replica did not catch up with $primary ($gtid); see $LOG/$replica.err" >&2
        return 1
    fi
    say "$replica" "replicating from $primary_addr:$primary_port (GTID)"
}

# --- the inbox clusters (INBOX_SHARDS pairs; notes/partitioning.py) -------------------------
# Server ids 11, 12 for shard 1's primary and replica, 13, 14 for shard 2's, …
start_inbox_shards() {
    local i
    if [ -n "${INBOX_LOCAL:-}" ]; then start_inbox_local; return; fi
    for i in $(seq 1 "${INBOX_SHARDS:-0}"); do
        start_mariadb "inbox$i" "$(inbox_port "$i" 0)" $((9 + 2 * i)); setup_primary "inbox$i"
        start_mariadb "inbox$i-replica" "$(inbox_port "$i" 1)" $((10 + 2 * i))
        setup_replica "inbox$i-replica" "inbox$i" "$(inbox_port "$i" 0)" "$BIND_ADDR"
    done
}

# On a host of the cluster, INBOX_LOCAL says which one instance of the inbox clusters runs
# here: "primary N" or "replica N" (its primary on another host, at inbox_addr N 0).
start_inbox_local() {
    local role shard
    read -r role shard <<< "$INBOX_LOCAL"
    case $role in
        primary) start_mariadb "inbox$shard" "$(inbox_port "$shard" 0)" $((9 + 2 * shard)); setup_primary "inbox$shard" ;;
        replica)
            start_mariadb "inbox$shard-replica" "$(inbox_port "$shard" 1)" $((10 + 2 * shard))
            setup_replica "inbox$shard-replica" "inbox$shard" "$(inbox_port "$shard" 0)" "$(inbox_addr "$shard" 0)" ;;
        *) echo "INBOX_LOCAL must be 'primary N' or 'replica N', not '$INBOX_LOCAL'" >&2; exit 2 ;;
    esac
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
        if pid_alive "$RUN/$name.pid"; then say memcached "already running on $BIND_ADDR:$port"; continue; fi
        if port_open "$port"; then
            echo "memcached: $BIND_ADDR:$port is taken by a process this script did not start" >&2
            return 1
        fi
        setsid memcached -u root -l "$BIND_ADDR" -p "$port" -U 0 -m 128 -c 2048 \
            < /dev/null > "$LOG/$name.log" 2>&1 &
        local pid=$!
        wait_port "$port" memcached "$LOG/$name.log"
        # The port may have been opened by someone else: the pid file names our process only.
        kill -0 "$pid" 2>/dev/null || { echo "memcached on $port exited; see $LOG/$name.log" >&2; return 1; }
        echo "$pid" > "$RUN/$name.pid"
        say memcached "started on $BIND_ADDR:$port (pid $(cat "$RUN/$name.pid"))"
    done
}

start_redis() {
    if pid_alive "$RUN/redis.pid"; then say redis "already running on $BIND_ADDR:$REDIS_PORT"; return; fi
    refuse_taken_port "$REDIS_PORT" redis || return 1
    mkdir -p "$VAR/redis"
    local auth=()
    [ -n "${REDIS_PASSWORD:-}" ] && auth=(--requirepass "$REDIS_PASSWORD")
    redis-server --port "$REDIS_PORT" --bind "$BIND_ADDR" "${auth[@]}" --save '' --appendonly no \
        --daemonize yes --pidfile "$RUN/redis.pid" --logfile "$LOG/redis.log" --dir "$VAR/redis"
    wait_port "$REDIS_PORT" redis "$LOG/redis.log"
    say redis "started on $BIND_ADDR:$REDIS_PORT (pid $(cat "$RUN/redis.pid"), log $LOG/redis.log)"
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
    # gunicorn listens on the host's loopback: only the nginx of its own host talks to it.
    for _ in $(seq 1 100); do pid_alive "$RUN/$name.pid" && port_open "$port" 127.0.0.1 && break; sleep 0.1; done
    wait_port "$port" "$name" "$LOG/$name.error.log" 127.0.0.1
    say "$name" "gunicorn on 127.0.0.1:$port (pid $(cat "$RUN/$name.pid"), logs $LOG/$name.*.log)"
}

start_nginx() {  # start_nginx NAME PORT GUNICORN_PORT: NAME's buffering proxy
    local name=$1 port=$2 gport=$3 conf="$VAR/nginx-$1.conf" tmp="$VAR/nginx/$1"
    local upload_mb=${POWNCE_MAX_UPLOAD_MB:-100} allow="" addr
    # HAProxy's address, and the host's own (a rolling restart asks the new server for /healthz
    # before putting it back in rotation).
    for addr in ${NGINX_ALLOW:-}; do allow+="allow $addr; "; done
    [ "$BIND_ADDR" = 127.0.0.1 ] || allow+="allow $BIND_ADDR; "
    mkdir -p "$tmp"
    sed -e "s|@USER@|$(id -un)|g" -e "s|@RUN@|$RUN|g" -e "s|@LOG@|$LOG|g" -e "s|@NAME@|$name|g" \
        -e "s|@TMP@|$tmp|g" -e "s|@ADDR@|$BIND_ADDR|g" -e "s|@ALLOW@|$allow|g" -e "s|@PORT@|$port|g" -e "s|@GUNICORN_PORT@|$gport|g" \
        -e "s|@MAX_BODY@|$((upload_mb + 1))m|g" -e "s|@MAX_UPLOAD_MB@|$upload_mb|g" \
        -e "s|@FILE_PREFIX@|/protected-media/|g" -e "s|@MEDIA_ROOT@|${MEDIA_DIR:-$VAR/media}|g" \
        "$ROOT/deploy/nginx.conf" > "$conf"
    if pid_alive "$RUN/nginx-$name.pid"; then
        nginx -q -c "$conf" -s reload 2>> "$LOG/nginx-$name.error.log"
        say "$name" "nginx already running on $BIND_ADDR:$port (configuration reloaded)"
        return
    fi
    nginx -q -t -c "$conf" 2> "$LOG/nginx-$name.check.log" || { cat "$LOG/nginx-$name.check.log" >&2; return 1; }
    nginx -c "$conf"
    wait_port "$port" "nginx-$name" "$LOG/nginx-$name.error.log"
    say "$name" "http://$BIND_ADDR:$port/ (nginx pid $(cat "$RUN/nginx-$name.pid") -> gunicorn :$gport)"
}

start_apps() {
    local i=0 port name
    for port in $APP_PORTS; do
        name=${APP_NAME_LIST[$i]}; i=$((i + 1))
        start_gunicorn "$name" $((port + GUNICORN_PORT_OFFSET))
        start_nginx "$name" "$port" $((port + GUNICORN_PORT_OFFSET))
    done
}

stop_apps() {
    local i=0 port name
    for port in $APP_PORTS; do
        name=${APP_NAME_LIST[$i]}; i=$((i + 1))
        stop_pidfile "$RUN/nginx-$name.pid" "nginx-$name"
        stop_pidfile "$RUN/$name.pid" "$name"
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
# rotation once it answers /healthz itself, then UP in HAProxy. The others carry the traffic
# meanwhile: 0 failed requests.
restart_apps() {
    pid_alive "$RUN/haproxy.pid" || { echo "restart app needs HAProxy running (stack.sh up)" >&2; return 1; }
    local i=0 port name
    for port in $APP_PORTS; do
        name=${APP_NAME_LIST[$i]}; i=$((i + 1))
        haproxyctl drain "$name" --timeout 60
        say "$name" "drained"
        stop_pidfile "$RUN/$name.pid" "$name"
        start_gunicorn "$name" $((port + GUNICORN_PORT_OFFSET))
        start_nginx "$name" "$port" $((port + GUNICORN_PORT_OFFSET))
        # Its workers answer before it takes traffic: on a busy machine they need seconds to boot.
        haproxyctl wait-healthy "http://$BIND_ADDR:$port/healthz" --timeout "$READY_TIMEOUT"
        haproxyctl ready "$name"
        haproxyctl wait-up "$name" --timeout "$READY_TIMEOUT"
        say "$name" "UP again"
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
    local server lines=""
    for server in $APP_SERVERS; do  # name=addr:port
        lines+="    server ${server%%=*} ${server#*=} check\n"
    done
    sed "s|^ *@APP_SERVERS@\$|${lines%\\n}|" "$ROOT/deploy/haproxy.cfg" > "$VAR/haproxy.cfg"
    export POWNCE_RUN_DIR="$RUN" HAPROXY_PORT HAPROXY_STATS_PORT HAPROXY_BIND=$BIND_ADDR
}

start_haproxy() {
    if pid_alive "$RUN/haproxy.pid"; then say haproxy "already running on $BIND_ADDR:$HAPROXY_PORT"; return; fi
    haproxy_config
    haproxy -c -q -f "$VAR/haproxy.cfg"
    haproxy -D -f "$VAR/haproxy.cfg" > "$LOG/haproxy.log" 2>&1
    wait_port "$HAPROXY_PORT" haproxy "$LOG/haproxy.log"
    say haproxy "http://$BIND_ADDR:$HAPROXY_PORT/ (stats and /metrics on $BIND_ADDR:$HAPROXY_STATS_PORT)"
}

# A new configuration (APP_SERVERS changed: an app server added or removed) without dropping a
# connection: a new HAProxy takes the listening sockets over, the old one finishes its requests.
reload_haproxy() {
    pid_alive "$RUN/haproxy.pid" || { start_haproxy; return; }
    local old
    old=$(cat "$RUN/haproxy.pid")
    haproxy_config
    haproxy -c -q -f "$VAR/haproxy.cfg"
    haproxy -D -f "$VAR/haproxy.cfg" -x "$RUN/haproxy.sock" -sf "$old" >> "$LOG/haproxy.log" 2>&1
    say haproxy "reloaded (new pid $(cat "$RUN/haproxy.pid"), old pid $old finishes its requests)"
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
            replica) start_mariadb replica "$REPLICA_PORT" "$REPLICA_SERVER_ID"; setup_replica ;;
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
    show() {  # show NAME PIDFILE PORT [NOTE [ADDR]]
        local addr=${5:-$BIND_ADDR}
        if pid_alive "$2" && port_open "$3" "$addr"; then state="up"; else state="DOWN"; fi
        say "$1" "$state  $addr:$3  ${4:-}"
    }
    echo "profile $PROFILE_NAME (var/$PROFILE_NAME)"
    show primary "$RUN/primary.pid" "$PRIMARY_PORT"
    show replica "$RUN/replica.pid" "$REPLICA_PORT" "$(pid_alive "$RUN/replica.pid" && replica_status)"
    local role shard
    read -r role shard <<< "${INBOX_LOCAL:-}"
    for i in $(seq 1 "${INBOX_SHARDS:-0}"); do
        if [ -z "$role" ] || { [ "$role" = primary ] && [ "$shard" = "$i" ]; }; then
            show "inbox$i" "$RUN/inbox$i.pid" "$(inbox_port "$i" 0)" "inbox shard $i"
        fi
        if [ -z "$role" ] || { [ "$role" = replica ] && [ "$shard" = "$i" ]; }; then
            show "inbox$i-r" "$RUN/inbox$i-replica.pid" "$(inbox_port "$i" 1)" \
                "$(pid_alive "$RUN/inbox$i-replica.pid" && replica_status "inbox$i-replica")"
        fi
    done
    i=0
    for port in $MEMCACHED_PORTS; do show memcached "$RUN/memcached-$port.pid" "$port"; done
    show redis "$RUN/redis.pid" "$REDIS_PORT"
    local name
    for port in $APP_PORTS; do
        name=${APP_NAME_LIST[$i]}; i=$((i + 1))
        show "$name" "$RUN/$name.pid" $((port + GUNICORN_PORT_OFFSET)) "gunicorn" 127.0.0.1
        show "nginx-$name" "$RUN/nginx-$name.pid" "$port" "buffering proxy of $name"
    done
    show haproxy "$RUN/haproxy.pid" "$HAPROXY_PORT" "stats http://$BIND_ADDR:$HAPROXY_STATS_PORT/"
    if pid_alive "$RUN/sampler.pid"; then state="up  pid $(cat "$RUN/sampler.pid")"; else state="DOWN"; fi
    say sampler "$state  log $LOG/sampler.log"
    if pid_alive "$RUN/worker.pid"; then state="up  pid $(cat "$RUN/worker.pid")"; else state="DOWN"; fi
    say worker "$state  log $LOG/worker.log"
}

case $ACTION in
    up) up "$@" ;;
    restart) [ "${1:-}" = app ] || { echo "usage: $0 restart app" >&2; exit 2; }; restart_apps ;;
    # Write var/PROFILE/haproxy.cfg, have HAProxy check it, print it.
    haproxy-config) haproxy_config; haproxy -c -q -f "$VAR/haproxy.cfg"; cat "$VAR/haproxy.cfg" ;;
    reload) [ "${1:-}" = haproxy ] || { echo "usage: $0 reload haproxy" >&2; exit 2; }; reload_haproxy ;;
    down) down "$@" ;;
    status) status ;;
    env) app_env ;;
    # pytest adds "test_" to the database name itself.
    test-env) APP_DB_NAME="" app_env ;;
    *) echo "usage: $0 [--profile stack|test|bench|FILE.env] up|down|status|env|restart app|reload haproxy|haproxy-config [components]" >&2; exit 2 ;;
esac
