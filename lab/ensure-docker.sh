#!/usr/bin/env bash
# Make sure a Docker engine answers. Installs Debian's docker.io when the
# engine is missing, and starts dockerd in the background when nothing
# (no systemd) manages it. Does nothing when `docker info` already works.
set -euo pipefail

log=${PARLEY_DOCKERD_LOG:-/var/log/parley-dockerd.log}
deadline_s=${PARLEY_DOCKERD_TIMEOUT:-60}

if docker info >/dev/null 2>&1; then
  exit 0
fi
if ((EUID != 0)); then
  echo "docker does not answer and only root can start it" >&2
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1
then
  echo "installing docker.io from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker.io >/dev/null
fi

if [[ "$(cat /proc/1/comm 2>/dev/null)" == systemd ]]; then
  systemctl start docker.service
elif ! pgrep -x dockerd >/dev/null 2>&1; then
  echo "starting dockerd (log: $log)"
  setsid -f dockerd >>"$log" 2>&1 </dev/null
fi

for ((i = 0; i < deadline_s; i++)); do
  if docker info >/dev/null 2>&1; then
    exit 0
  fi
  if ! pgrep -x dockerd >/dev/null 2>&1; then
    break
  fi
  sleep 1
done
echo "docker does not answer (waited up to ${deadline_s}s); last lines of" \
  "$log:" >&2
tail -n 20 "$log" >&2 || true
exit 1
