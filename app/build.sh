#!/usr/bin/env bash
# Build a Parley release into OUTDIR: the web bundle, the app wheel and a
# wheelhouse of app/requirements.lock for the target host, so that the
# host installs with `pip install --no-index --find-links OUTDIR parley`.
#
# Usage: app/build.sh OUTDIR
#   PARLEY_TARGET_PYTHON    target Python as X.Y (default: this Python's)
#   PARLEY_TARGET_PLATFORM  pip platform tags, comma-separated, e.g.
#                           manylinux_2_28_x86_64,manylinux2014_x86_64
#                           (default: the tags this machine supports)
#   PARLEY_PYTHON           Python that runs pip (default: the
#                           repository's .venv, else python3)
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi

app_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$1"
out_dir="$(cd "$1" && pwd)"
python="${PARLEY_PYTHON:-$app_dir/../.venv/bin/python}"
if [[ ! -x "$python" ]]; then
  python="$(command -v python3)"
fi
target_python="${PARLEY_TARGET_PYTHON:-$("$python" -c \
  'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')}"

step() {
  printf 'build: %s\n' "$*" >&2
}

build_bundle() {
  step "web bundle (npm ci, esbuild)"
  cd "$app_dir/web"
  # Reinstall only when the lock file changed since the last install.
  local stamp=node_modules/.parley-lock.sha256
  if ! sha256sum --check --status "$stamp" 2> /dev/null; then
    npm ci --no-audit --no-fund
    sha256sum package-lock.json > "$stamp"
  fi
  npm run --silent build
  test -s "$app_dir/src/parley/static/dist/manifest.json"
}

build_app_wheel() {
  step "app wheel"
  rm -f "$out_dir"/parley-*.whl
  "$python" -m pip wheel --no-deps --no-cache-dir --quiet \
    --wheel-dir "$out_dir" "$app_dir"
  rm -rf "$app_dir/build"
}

platform_args() {
  local tag
  if [[ -n "${PARLEY_TARGET_PLATFORM:-}" ]]; then
    IFS=',' read -ra tags <<< "$PARLEY_TARGET_PLATFORM"
    for tag in "${tags[@]}"; do
      printf -- '--platform\n%s\n' "$tag"
    done
  fi
}

download_wheelhouse() {
  step "wheelhouse for Python $target_python"
  local -a platforms
  mapfile -t platforms < <(platform_args)
  "$python" -m pip download --quiet --only-binary=:all: \
    --python-version "$target_python" "${platforms[@]}" \
    --dest "$out_dir" --requirement "$app_dir/requirements.lock"
}

normalize() {
  tr '[:upper:]' '[:lower:]' | tr -- '-.' '__'
}

check_wheelhouse() {
  step "check: every locked package has a wheel"
  local line name have
  have="$(cd "$out_dir" && ls -1 -- *.whl | sed 's/-.*//' | normalize)"
  while read -r line; do
    line="${line%%#*}"
    [[ -z "${line// }" ]] && continue
    name="$(printf '%s' "${line%%[[=<>]*}" | normalize)"
    if ! grep -qx -- "$name" <<< "$have"; then
      echo "build: no wheel for $name in $out_dir" >&2
      exit 1
    fi
  done < "$app_dir/requirements.lock"
  grep -qx parley <<< "$have"
}

build_bundle
build_app_wheel
download_wheelhouse
check_wheelhouse
step "done: $out_dir"
ls -1 "$out_dir" >&2
