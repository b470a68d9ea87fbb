#!/usr/bin/env bash
# Install the Debian packages Pownce needs, if any is missing.
#   install-packages.sh --build        what building the virtualenv needs (mysqlclient's headers)
#   install-packages.sh [CMD ...]      that, the servers of the stack, and any extra commands
# As root on Debian this runs apt-get; elsewhere it names what to install and fails.
set -euo pipefail

need_cmds=(pkg-config:pkg-config)
if [ "${1:-}" = --build ]; then
    shift
else
    need_cmds+=(mariadbd:mariadb-server mariadb:mariadb-client memcached:memcached haproxy:haproxy
                redis-server:redis-server nginx:nginx)
fi
missing=()
python3 -c "import ensurepip, venv" 2>/dev/null || missing+=(python3-venv)
for pair in "${need_cmds[@]}"; do
    cmd=${pair%%:*}; pkg=${pair##*:}
    command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("$pkg")
done
# Headers mysqlclient is built against.
if ! pkg-config --exists libmariadb 2>/dev/null && ! pkg-config --exists mariadb 2>/dev/null; then
    missing+=(libmariadb-dev)
fi
for extra in "$@"; do   # optional extra packages: `install-packages.sh wrk chromium`
    command -v "$extra" >/dev/null 2>&1 || missing+=("$extra")
done
[ ${#missing[@]} -eq 0 ] && exit 0

# De-duplicate (pkg-config may be named twice).
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Packages' own service start-up is not wanted: the project starts its own instances (and a
    # stock nginx would take port 80). policy-rc.d saying 101 tells the packages not to start.
    policy=/usr/sbin/policy-rc.d
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy"
        trap 'rm -f "$policy"' EXIT
    fi
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "missing: ${missing[*]}" >&2
    echo "install them with: sudo apt-get install ${missing[*]}  (or your system's equivalent)" >&2
    exit 1
fi
