#!/usr/bin/env bash
# Install the real servers the integration tests start (from Debian's packages) when absent.
# Each is started by the tests themselves, on 127.0.0.1 only, and stopped afterwards.
set -euo pipefail
cd "$(dirname "$0")"
for script in ensure-*.sh; do
  [ "$script" = "ensure-services.sh" ] && continue
  [ -e "$script" ] || continue
  bash "$script"
done
