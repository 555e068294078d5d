#!/usr/bin/env bash
# Build the lab's base image: Debian from this machine's own apt sources,
# with systemd as PID 1, python3 for Ansible and sudo. Rebuilt only when
# its inputs change; the tag carries a hash of them. Containers from it
# need --stop-signal SIGRTMIN+3 at run time (docker import cannot set it).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo="${PARLEY_LAB_IMAGE_REPO:-parley-lab-base}"
suite=$(. /etc/os-release && echo "${VERSION_CODENAME}")

# The first Debian archive this machine installs from; the lab uses it too.
mirror=$(apt-get indextargets --format '$(REPO_URI)' 2>/dev/null \
  | grep -m1 -E '/debian/?$' || true)
if [[ -z "$mirror" ]]; then
  echo "no Debian archive among this machine's apt sources;" \
    "run apt-get update, or add one" >&2
  exit 1
fi
mirror="${mirror%/}"
# Its security archive, when the sources have one (a local mirror often
# carries none; the lab then goes without it, as this machine does).
security=$(apt-get indextargets --format '$(REPO_URI)' 2>/dev/null \
  | grep -m1 -E '/debian-security/?$' || true)
security="${security%/}"

packages=$(grep -v '^#' "$here/packages.txt" | xargs | tr ' ' ',')
inputs_hash=$(cat "$here/build.sh" "$here/packages.txt" \
  <(echo "$suite $mirror $security") | sha256sum | cut -c1-12)
tag="$repo:$inputs_hash"

if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "lab image $tag is up to date"
  docker tag "$tag" "$repo:latest"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"

echo "building lab image $tag from $mirror ($suite)"
debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" \
  "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 40 "$work/debootstrap.log" >&2
  exit 1
}

{
  echo "deb $mirror $suite main"
  echo "deb $mirror $suite-updates main"
  if [[ -n "$security" ]]; then
    echo "deb $security $suite-security main"
  fi
} >"$rootfs/etc/apt/sources.list"

# Keep downloaded packages: the lab shares one archive cache between hosts.
cat >"$rootfs/etc/apt/apt.conf.d/10parley-keep-packages" <<'APT'
Binary::apt::APT::Keep-Downloaded-Packages "true";
APT

# Units that have nothing to do in a container.
for unit in getty.target console-getty.service systemd-udevd.service \
  systemd-udev-trigger.service systemd-firstboot.service \
  systemd-remount-fs.service sys-kernel-config.mount \
  sys-kernel-debug.mount sys-kernel-tracing.mount; do
  ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
done
: >"$rootfs/etc/machine-id"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*

tar -C "$rootfs" --numeric-owner -c . | docker import \
  --change 'CMD ["/sbin/init"]' \
  --change 'ENV container=docker' \
  - "$tag" >/dev/null
docker tag "$tag" "$repo:latest"
echo "lab image $tag built"

# Older builds go, so that images do not pile up; one that a container
# still uses stays until that container is removed.
for old in $(docker image ls "$repo" --format '{{.Tag}}'); do
  if [[ "$old" != "$inputs_hash" && "$old" != latest ]]; then
    docker image rm "$repo:$old" >/dev/null 2>&1 \
      || echo "older lab image $repo:$old is still in use, kept"
  fi
done
