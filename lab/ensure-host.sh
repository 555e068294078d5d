#!/usr/bin/env bash
# Install the Debian packages the control node needs for `make demo` and
# `make test`, and only those that are missing. Safe to run again: when
# everything is present it touches nothing and takes a fraction of a
# second.
set -euo pipefail

# command (or probe) -> Debian package that provides it
declare -A wanted=(
  [debootstrap]=debootstrap      # builds the lab's base image
  [chromium]=chromium            # browser tests (Playwright drives it)
  [certutil]=libnss3-tools       # trusts the lab CA in a test NSS database
  [ffmpeg]=ffmpeg                # app tests remux recordings
  [node]=nodejs                  # app/build.sh bundles the web client
  [npm]=npm
  [curl]=curl                    # smoke checks in the README
  [openssl]=openssl              # molecule checks chains with openssl verify
)

missing=()
for cmd in "${!wanted[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${wanted[$cmd]}")
done
# `python3 -m venv` needs ensurepip, which Debian ships apart.
python3 -c 'import ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)

if ((${#missing[@]} == 0)); then
  exit 0
fi
if ((EUID != 0)); then
  echo "missing packages: ${missing[*]}; run as root to install them" >&2
  exit 1
fi
echo "installing host packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
