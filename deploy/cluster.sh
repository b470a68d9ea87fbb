#!/usr/bin/env bash
# Pownce across many hosts on one machine: each host of the inventory (deploy/cluster/hosts.env)
# is a network namespace with its own address on a bridge of its own, and runs its share of
# the topology with the same deploy/stack.sh as the single-machine stack, from a profile this
# script generates (var/cluster/profiles/cluster-HOST.env).
#
#   deploy/cluster.sh up             create the hosts, start everything, print the site's URL
#   deploy/cluster.sh down           stop every process, remove namespaces, veths and bridge
#   deploy/cluster.sh status         each host: link, faults, its components up/down
#   deploy/cluster.sh add HOST       add a spare host (SPARE_HOSTS) to the running cluster
#   deploy/cluster.sh partition HOST take HOST off the bridge (its link goes down)
#   deploy/cluster.sh heal HOST      put HOST back: link up, added latency removed
#   deploy/cluster.sh slow HOST 200ms    add latency to everything HOST sends (tc netem)
#   deploy/cluster.sh url            the load balancer's URL
#   deploy/cluster.sh profiles       only (re)write the generated profiles (no network needed)
#
# CLUSTER_INVENTORY=FILE uses another inventory, CLUSTER_VAR=DIR another shared directory. Needs root (ip netns, ip link, tc).
# The hosts reach each other only by their addresses; this machine reaches them through the
# bridge's own address (BRIDGE_ADDR). Data and logs: var/cluster-HOST/ per host, and
# var/cluster/ for what the hosts share (live inventory, memcached node list, secret key, media:
# stand-ins for configuration management and shared file storage).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
INVENTORY=${CLUSTER_INVENTORY:-$ROOT/deploy/cluster/hosts.env}
# shellcheck source=/dev/null
. "$INVENTORY"
SHARED=${CLUSTER_VAR:-$ROOT/var/cluster}
LIVE="$SHARED/hosts.live"         # the hosts of the running cluster: the inventory + added ones
NODES_FILE="$SHARED/memcached.nodes"
PROFILES="$SHARED/profiles"
ACTION=${1:-status}; shift || true

say() { printf '%-10s %s\n' "$1" "$2"; }
ns() { echo "$NETNS_PREFIX$1"; }
veth() { echo "pcv-$1"; }  # the bridge's end of HOST's link (15 characters at most)

# --- the inventory ------------------------------------------------------------------------
hosts_live() {  # NAME ADDRESS ROLES, one host a line
    local source=$HOSTS
    [ -f "$LIVE" ] && source=$(cat "$LIVE")
    echo "$source" | awk -F'[=:]' 'NF == 3 {print $1, $2, $3}'
}
spare() { echo "$SPARE_HOSTS" | awk -F'[=:]' -v n="$1" 'NF == 3 && $1 == n {print $1, $2, $3}'; }
with_role() { hosts_live | awk -v r="$1" '{n = split($3, roles, ","); for (i = 1; i <= n; i++) if (roles[i] == r) print $1, $2}'; }
addr_of() { hosts_live | awk -v n="$1" '$1 == n {print $2}'; }
roles_of() { hosts_live | awk -v n="$1" '$1 == n {print $3}'; }
first_addr() { with_role "$1" | awk 'NR == 1 {print $2}'; }
lb_url() { echo "http://$(first_addr haproxy):$HAPROXY_PORT/"; }

# One profile per host for deploy/stack.sh: its address, its ports, and where everything else is.
write_profiles() {
    mkdir -p "$PROFILES" "$SHARED/media"
    [ -f "$LIVE" ] || echo "$HOSTS" | grep '=' | tr -d ' ' > "$LIVE"
    local replicas="" servers="" lbs="" name addr roles replica_id=1 apps memcached
    local inbox_primaries=() inbox_replicas=() inbox_addrs="" inbox_ports="" inbox_local shard
    # The n-th inbox-primary host holds shard n's primary, the n-th inbox-replica its replica.
    while read -r name addr; do inbox_primaries+=("$name=$addr"); done < <(with_role inbox-primary)
    while read -r name addr; do inbox_replicas+=("$name=$addr"); done < <(with_role inbox-replica)
    if [ ${#inbox_primaries[@]} -ne ${#inbox_replicas[@]} ]; then
        echo "the inventory needs one inbox-replica host per inbox-primary host" >&2
        exit 2
    fi
    for shard in "${!inbox_primaries[@]}"; do
        inbox_addrs+="${inbox_addrs:+ }${inbox_primaries[$shard]#*=} ${inbox_replicas[$shard]#*=}"
        inbox_ports+="${inbox_ports:+ }$PRIMARY_PORT $REPLICA_PORT"
    done
    while read -r name addr; do replicas+="${replicas:+ }$addr:$REPLICA_PORT"; done < <(with_role replica)
    while read -r name addr; do servers+="${servers:+ }$name=$addr:$APP_PORT"; done < <(with_role app)
    while read -r name addr; do lbs+="${lbs:+ }$addr"; done < <(with_role haproxy)
    # The node list app servers read (re-read on change): written whole, then renamed into place.
    with_role memcached | awk -v p="$MEMCACHED_PORT" '{print $2 ":" p}' > "$NODES_FILE.tmp"
    mv "$NODES_FILE.tmp" "$NODES_FILE"
    while read -r name addr roles; do
        apps="" memcached=""
        case ",$roles," in *,app,*) apps=$APP_PORT ;; esac
        case ",$roles," in *,memcached,*) memcached=$MEMCACHED_PORT ;; esac
        case ",$roles," in *,replica,*) replica_id=$((replica_id + 1)) ;; esac
        inbox_local=""
        for shard in "${!inbox_primaries[@]}"; do
            [ "${inbox_primaries[$shard]%%=*}" = "$name" ] && inbox_local="primary $((shard + 1))"
            [ "${inbox_replicas[$shard]%%=*}" = "$name" ] && inbox_local="replica $((shard + 1))"
        done
        cat > "$PROFILES/cluster-$name.env.tmp" <<EOF
# Generated by deploy/cluster.sh from $(basename "$INVENTORY"): host $name ($roles).
PROFILE=cluster-$name
BIND_ADDR=$addr
PRIMARY_PORT=$PRIMARY_PORT
REPLICA_PORT=$REPLICA_PORT
MEMCACHED_PORTS="$memcached"
REDIS_PORT=$REDIS_PORT
APP_PORTS="$apps"
APP_NAMES="$name"
HAPROXY_PORT=$HAPROXY_PORT
HAPROXY_STATS_PORT=$HAPROXY_STATS_PORT
PRIMARY_ADDR=$(first_addr primary)
REPLICA_NODES="$replicas"
MEMCACHED_NODES_FILE=$NODES_FILE
REDIS_ADDR=$(first_addr redis)
HAPROXY_ADDR=$(first_addr haproxy)
APP_SERVERS="$servers"
NGINX_ALLOW="$lbs"
DB_CLIENT_HOST=${BRIDGE_ADDR%.*}.%
REPLICA_SERVER_ID=$replica_id
ALLOWED_HOSTS=$(first_addr haproxy),$addr,127.0.0.1,localhost
SECRET_KEY_FILE=$SHARED/secret_key
MEDIA_DIR=$SHARED/media
DB_NAME=$DB_NAME
DB_USER=$DB_USER
DB_PASSWORD=$DB_PASSWORD
REPL_PASSWORD=$REPL_PASSWORD
REDIS_PASSWORD=$REDIS_PASSWORD
GUNICORN_WORKERS=$GUNICORN_WORKERS
INNODB_BUFFER_POOL=$INNODB_BUFFER_POOL
APP_EXTRA_ENV="POWNCE_STATUS_METRICS=$addr:$SAMPLER_METRICS_PORT"
# The inbox shards (hosts with the inbox-primary and inbox-replica roles; none: the inbox stays
# on the main cluster, whatever the calling environment says).
INBOX_SHARDS=${#inbox_primaries[@]}
INBOX_PORTS="$inbox_ports"
INBOX_ADDRS="$inbox_addrs"
INBOX_LOCAL="$inbox_local"
EOF
        mv "$PROFILES/cluster-$name.env.tmp" "$PROFILES/cluster-$name.env"
    done < <(hosts_live)
}

stack_on() {  # stack_on HOST ARGS…: deploy/stack.sh inside HOST's namespace, with HOST's profile
    local host=$1; shift
    ip netns exec "$(ns "$host")" "$ROOT/deploy/stack.sh" --profile "$PROFILES/cluster-$host.env" "$@"
}

# --- the network --------------------------------------------------------------------------
need_root() {
    [ "$(id -u)" = 0 ] || { echo "cluster.sh needs root (network namespaces)" >&2; exit 1; }
    ip netns list > /dev/null 2>&1 || { echo "cluster.sh: ip netns does not work here" >&2; exit 1; }
}

make_bridge() {
    if ! ip link show "$BRIDGE" > /dev/null 2>&1; then
        ip link add "$BRIDGE" type bridge
        ip addr add "$BRIDGE_ADDR/$PREFIX_LEN" dev "$BRIDGE"
    fi
    ip link set "$BRIDGE" up
}

make_host() {  # make_host NAME ADDRESS: a namespace, a veth pair to the bridge, the address
    local name=$1 addr=$2 netns
    netns=$(ns "$name")
    ip netns list | grep -qx "$netns\( .*\)\?" || ip netns add "$netns"
    if ! ip link show "$(veth "$name")" > /dev/null 2>&1; then
        ip link add "$(veth "$name")" type veth peer name eth0 netns "$netns"
        ip link set "$(veth "$name")" master "$BRIDGE"
        ip netns exec "$netns" ip addr add "$addr/$PREFIX_LEN" dev eth0
    fi
    ip link set "$(veth "$name")" up
    ip netns exec "$netns" ip link set lo up
    ip netns exec "$netns" ip link set eth0 up
    say "$name" "namespace $netns, $addr on $BRIDGE"
}

# --- starting and stopping ----------------------------------------------------------------
PHASES="primary replica inbox-primary inbox-replica redis memcached app haproxy worker"

start_role() {  # start_role ROLE: that component on every host that has it
    local name addr
    local component=$1
    case $1 in inbox-*) component=inbox ;; esac  # the host's INBOX_LOCAL says which instance
    while read -r name addr; do
        stack_on "$name" up "$component" | sed "s/^/[$name] /"
    done < <(with_role "$1")
}

up() {
    need_root
    write_profiles
    make_bridge
    local name addr roles phase
    while read -r name addr roles; do make_host "$name" "$addr"; done < <(hosts_live)
    for phase in $PHASES; do
        start_role "$phase"
        if [ "$phase" = haproxy ]; then start_prometheus; fi
    done
    say cluster "up: $(lb_url)"
}

# ----- Prometheus on the load balancer's host ------------------------------------------------
# lb1 runs Prometheus (deploy/prometheus.sh in its namespace, bound to its address): it scrapes
# every app host's /metrics through that host's nginx (which lets the load balancer in), each
# app host's status sampler, and HAProxy's exporter.
start_prometheus() {
    local lb args=() name addr
    lb=$(with_role haproxy | awk 'NR == 1 {print $1}')
    while read -r name addr; do
        args+=(--app "$addr:$APP_PORT" --sampler "$addr:$SAMPLER_METRICS_PORT")
    done < <(with_role app)
    ip netns exec "$(ns "$lb")" "$ROOT/deploy/prometheus.sh" up --name cluster \
        --listen "$(addr_of "$lb"):$PROMETHEUS_PORT" --haproxy "$(addr_of "$lb"):$HAPROXY_STATS_PORT" "${args[@]}" |
        sed "s/^/[$lb] /"
}
stop_prometheus() {
    "$ROOT/deploy/prometheus.sh" down --name cluster | sed "s/^/[prometheus] /" || true
}

# Everything goes, even after a failed run: each host's components by their pid files, then any
# process still inside one of our namespaces, then the namespaces, veths and the bridge.
down() {
    need_root
    local name netns pid
    [ -f "$PROFILES/cluster-$(with_role haproxy | awk 'NR == 1 {print $1}').env" ] && stop_prometheus
    while read -r name _ _; do
        if ip netns list | grep -q "^$(ns "$name")\b" && [ -f "$PROFILES/cluster-$name.env" ]; then
            stack_on "$name" down 2>&1 | sed "s/^/[$name] /" || true
        fi
    done < <(hosts_live | tac)
    for netns in $(ip netns list | awk '{print $1}' | grep "^$NETNS_PREFIX" || true); do
        for pid in $(ip netns pids "$netns" 2>/dev/null); do
            kill -9 "$pid" 2>/dev/null && say "$netns" "killed leftover pid $pid" || true
        done
        ip netns delete "$netns"
        say "$netns" "removed"
    done
    for pid in "$SHARED"/delay-*.pid; do
        [ -f "$pid" ] && { kill "$(cat "$pid")" 2> /dev/null || true; rm -f "$pid"; }
    done
    for name in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep '^pc[vde]-' || true); do
        ip link delete "$name" 2> /dev/null || true
    done
    if ip link show "$BRIDGE" > /dev/null 2>&1; then ip link delete "$BRIDGE"; say "$BRIDGE" "removed"; fi
    rm -f "$LIVE"
    say cluster "down"
}

status() {
    local name addr roles netns state
    echo "inventory $(basename "$INVENTORY"), bridge $BRIDGE ($BRIDGE_ADDR), site $(lb_url)"
    while read -r name addr roles; do
        netns=$(ns "$name")
        if ! ip netns list | grep -q "^$netns\b"; then say "$name" "NO NAMESPACE  $addr  ($roles)"; continue; fi
        state=$(ip -o link show "$(veth "$name")" 2> /dev/null | grep -q 'state UP' && echo linked || echo PARTITIONED)
        if ip netns exec "$netns" tc qdisc show dev eth0 | grep -q netem; then
            state+=" slow($(ip netns exec "$netns" tc qdisc show dev eth0 | grep -o 'delay [^ ]*'))"
        fi
        [ -f "$SHARED/delay-$name.pid" ] && state+=" slow(deploy/cluster/delay.py)"
        say "$name" "$state  $addr  ($roles)"
        stack_on "$name" status | grep -vE '^profile|DOWN  .*:$' | grep -E "$(status_filter "$roles")" | sed 's/^/    /' || true
    done < <(hosts_live)
}

status_filter() {  # the status lines of a host's own components
    local roles=$1 out=""
    case ",$roles," in *,primary,*) out+="|^primary" ;; esac
    case ",$roles," in *,replica,*) out+="|^replica" ;; esac
    case ",$roles," in *,memcached,*) out+="|^memcached" ;; esac
    case ",$roles," in *,inbox-primary,*|*,inbox-replica,*) out+="|^inbox" ;; esac
    case ",$roles," in *,redis,*) out+="|^redis" ;; esac
    case ",$roles," in *,app,*) out+="|^app|^nginx|^sampler" ;; esac
    case ",$roles," in *,haproxy,*) out+="|^haproxy" ;; esac
    case ",$roles," in *,worker,*) out+="|^worker" ;; esac
    echo "${out#|}"
}

# A spare host joins the running cluster. An app server: started, then HAProxy reloads
# gracefully with one more server line (no other app server restarts). A memcached node:
# started, then the node-list file is rewritten; every app server picks it up within a second
# and treats the new node as cold (cache/cluster.py). Nothing else restarts.
add() {
    need_root
    local name=${1:?usage: cluster.sh add HOST}
    [ -z "$(addr_of "$name")" ] || { echo "$name is already in the cluster" >&2; exit 1; }
    local line
    line=$(spare "$name")
    [ -n "$line" ] || { echo "$name is not a spare host of $(basename "$INVENTORY")" >&2; exit 2; }
    read -r _ addr roles <<< "$line"
    # Its profile first (the node list does not change yet: apps must not use a node not up).
    echo "$name=$addr:$roles" >> "$LIVE"
    local nodes_before
    nodes_before=$(cat "$NODES_FILE")
    write_profiles
    echo "$nodes_before" > "$NODES_FILE"
    make_host "$name" "$addr"
    local role lb
    for role in ${roles//,/ }; do stack_on "$name" up "$role" | sed "s/^/[$name] /"; done
    write_profiles  # now the node list has the new memcached node, if any
    case ",$roles," in
        *,app,*)
            lb=$(with_role haproxy | awk 'NR == 1 {print $1}')
            stack_on "$lb" reload haproxy | sed "s/^/[$lb] /"
            ip netns exec "$(ns "$lb")" "$ROOT/.venv/bin/python" "$ROOT/deploy/haproxyctl.py" \
                "$ROOT/var/cluster-$lb/run/haproxy.sock" wait-up "$name" --timeout 60
            say "$name" "UP in HAProxy"
            ;;
    esac
    case ",$roles," in *,memcached,*) say "$name" "in the memcached node list ($NODES_FILE)" ;; esac
}

known_host() { [ -n "$(addr_of "$1")" ] || { echo "no host $1 in the cluster" >&2; exit 2; }; }

partition() {  # the host's link to the bridge goes down: its packets go nowhere, nobody's reach it
    need_root; known_host "$1"
    ip link set "$(veth "$1")" down
    say "$1" "partitioned (link down)"
}

heal() {
    need_root; known_host "$1"
    unslow_userspace "$1"
    ip link set "$(veth "$1")" up
    ip netns exec "$(ns "$1")" tc qdisc del dev eth0 root 2> /dev/null || true
    say "$1" "healed (link up, no added latency)"
}

slow() {  # slow HOST DELAY: everything HOST sends waits DELAY
    need_root; known_host "$1"
    local delay=${2:?usage: cluster.sh slow HOST 200ms}
    if ip netns exec "$(ns "$1")" tc qdisc replace dev eth0 root netem delay "$delay" 2> /dev/null; then
        say "$1" "slowed: +$delay on everything it sends (tc netem)"
        return
    fi
    slow_userspace "$1" "$delay"
}

# Where the kernel has no netem: the host's link is taken off the bridge and joined to it again
# through deploy/cluster/delay.py, which holds each frame the host sends for DELAY. It forwards
# frames as received, so every host's (and the bridge's) offloads go off: ordinary frames only.
slow_userspace() {
    local host=$1 delay=$2 ms name
    case $delay in *ms) ms=${delay%ms} ;; *) echo "slow: without netem, give the delay in ms (200ms)" >&2; exit 2 ;; esac
    command -v ethtool > /dev/null || bash "$ROOT/deploy/install-packages.sh" ethtool
    unslow_userspace "$host"
    while read -r name _ _; do
        ip netns exec "$(ns "$name")" ethtool -K eth0 tx off tso off gso off gro off > /dev/null 2>&1 || true
    done < <(hosts_live)
    ethtool -K "$BRIDGE" tx off tso off gso off gro off > /dev/null 2>&1 || true
    ip link add "pcd-$host" type veth peer name "pce-$host"
    for name in "pcd-$host" "pce-$host" "$(veth "$host")"; do
        ethtool -K "$name" tx off tso off gso off gro off > /dev/null 2>&1 || true
    done
    ip link set "pce-$host" master "$BRIDGE" up
    ip link set "pcd-$host" up
    ip link set "$(veth "$host")" nomaster
    setsid "$ROOT/.venv/bin/python" "$ROOT/deploy/cluster/delay.py" "$(veth "$host")" "pcd-$host" "$ms" \
        < /dev/null > "$SHARED/delay-$host.log" 2>&1 &
    echo $! > "$SHARED/delay-$host.pid"
    say "$host" "slowed: +$delay on everything it sends (deploy/cluster/delay.py, pid $!: this kernel has no netem)"
}

unslow_userspace() {
    local host=$1
    if [ -f "$SHARED/delay-$host.pid" ]; then
        kill "$(cat "$SHARED/delay-$host.pid")" 2> /dev/null || true
        rm -f "$SHARED/delay-$host.pid"
    fi
    if ip link show "pcd-$host" > /dev/null 2>&1; then
        ip link delete "pcd-$host"
        ip link set "$(veth "$host")" master "$BRIDGE"
    fi
}

case $ACTION in
    up) up ;;
    down) down ;;
    status) status ;;
    add) add "$@" ;;
    partition) partition "${1:?usage: cluster.sh partition HOST}" ;;
    heal) heal "${1:?usage: cluster.sh heal HOST}" ;;
    slow) slow "${1:?usage: cluster.sh slow HOST DELAY}" "${2:-}" ;;
    url) lb_url ;;
    profiles) write_profiles; ls "$PROFILES" ;;
    *) echo "usage: $0 up|down|status|url|profiles|add HOST|partition HOST|heal HOST|slow HOST DELAY" >&2; exit 2 ;;
esac
