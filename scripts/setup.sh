#!/usr/bin/env bash
# Idempotent setup for a Debian 12 machine, run as root: system packages with apt,
# the project's virtual environment at .venv (pins from pyproject.toml), and
# p4runtime-shell in its own environment at .venv-shell (it pins an old protobuf).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(python3 python3-venv python3-pip cpp make mininet iproute2 iputils-ping
              ethtool tcpdump psmisc nginx curl wrk haproxy openssl procps kmod
              chromium)  # chromium: the dashboard's browser test (headless)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "setup: installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
    # The Debian nginx package starts a server on port 80; the project runs its own.
    systemctl disable --now nginx >/dev/null 2>&1 || service nginx stop >/dev/null 2>&1 || true
fi

stamp_of() { sha256sum pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16; }

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
if [ "$(cat .venv/.stamp 2>/dev/null)" != "$(stamp_of)" ]; then
    .venv/bin/pip install -q --disable-pip-version-check -e '.[dev]'
    # Debian's mininet is installed for the system Python: let the venv see that package only.
    site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    ln -sfn /usr/lib/python3/dist-packages/mininet "$site/mininet"
    stamp_of > .venv/.stamp
fi

if [ ! -x .venv-shell/bin/python ] || [ "$(cat .venv-shell/.stamp 2>/dev/null)" != "$(stamp_of)" ]; then
    python3 -m venv .venv-shell
    mapfile -t shell_reqs < <(.venv/bin/python - <<'PY'
import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["shell"]))
PY
)
    .venv-shell/bin/pip install -q --disable-pip-version-check "${shell_reqs[@]}"
    stamp_of > .venv-shell/.stamp
fi
