#!/usr/bin/env bash
# Install Debian's Prometheus (2.42) and Alertmanager (0.25) when absent: the rule checks
# (promtool) and the end-to-end alerting test start the real servers, on 127.0.0.1 only.
#
# Idempotent: nothing happens when both binaries are there.  The packages ship services; they
# must not be left running (listening on 0.0.0.0) after the install, so service starts are
# denied while apt runs (policy-rc.d), and any server process the install still started is
# stopped by its PID.
set -euo pipefail

need=()
[ -x /usr/bin/prometheus ] && [ -x /usr/bin/promtool ] || need+=(prometheus)
[ -x /usr/bin/prometheus-alertmanager ] && [ -x /usr/bin/amtool ] || need+=(prometheus-alertmanager)
if [ "${#need[@]}" -eq 0 ]; then
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "ensure-prometheus: need root or sudo to install ${need[*]}" >&2; exit 1; }
  SUDO=(sudo)
fi

server_pids() {
  # PIDs of Prometheus / Alertmanager server processes, matched on the exact program name.
  { pgrep -x prometheus || true; pgrep -x prometheus-alertmanager || true; } | sort -u
}

before="$(server_pids)"

policy=/usr/sbin/policy-rc.d
added_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# denies service starts while citysigns installs packages\nexit 101\n' \
    | "${SUDO[@]}" tee "$policy" >/dev/null
  "${SUDO[@]}" chmod 755 "$policy"
  added_policy=1
fi
cleanup() {
  if [ "$added_policy" -eq 1 ]; then "${SUDO[@]}" rm -f "$policy"; fi
}
trap cleanup EXIT

echo "ensure-prometheus: installing ${need[*]} from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null

# Stop the services if an init system started them anyway, then any stray server process.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  for unit in prometheus prometheus-alertmanager; do
    "${SUDO[@]}" systemctl disable --now "$unit" >/dev/null 2>&1 || true
  done
fi
for pid in $(server_pids); do
  if ! grep -qx "$pid" <<<"$before"; then
    "${SUDO[@]}" kill "$pid" 2>/dev/null || true
  fi
done

for bin in /usr/bin/prometheus /usr/bin/promtool /usr/bin/prometheus-alertmanager /usr/bin/amtool; do
  [ -x "$bin" ] || { echo "ensure-prometheus: $bin is still missing after the install" >&2; exit 1; }
done
echo "ensure-prometheus: $(/usr/bin/prometheus --version 2>&1 | head -1)" >&2
