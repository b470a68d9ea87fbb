#!/usr/bin/env bash
# Install axe-core, the accessibility engine the browser tests inject into each page
# (tests/browser/test_accessibility.py), from the npm registry into var/node/ — once, and again
# only when AXE_VERSION changes. Node and npm are Debian's packages (install-packages.sh nodejs npm).
#   install-axe.sh            install if missing; prints where axe.min.js is
set -euo pipefail
cd "$(dirname "$0")/.."

AXE_VERSION=4.14.1
prefix=var/node
installed=$prefix/node_modules/axe-core/package.json

if [ -f "$installed" ] && grep -q "\"version\": \"$AXE_VERSION\"" "$installed"; then
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "npm is missing: install Debian's nodejs and npm (deploy/install-packages.sh nodejs npm)" >&2
    exit 1
fi
echo "installing axe-core $AXE_VERSION into $prefix/ (npm's log: $prefix/npm-install.log)"
mkdir -p "$prefix"
if ! npm install --prefix "$prefix" --no-save --no-audit --no-fund --no-package-lock \
        "axe-core@$AXE_VERSION" >"$prefix/npm-install.log" 2>&1; then
    cat "$prefix/npm-install.log" >&2
    exit 1
fi
echo "axe-core $AXE_VERSION: $prefix/node_modules/axe-core/axe.min.js"
