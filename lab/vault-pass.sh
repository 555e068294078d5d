#!/bin/sh
# The lab's Ansible Vault password: ansible.cfg names this script as its
# vault_password_file, so Ansible runs it and reads the password it prints.
# The first run makes a random one in .lab/vault-pass (git-ignored, 0600);
# nobody ever types it. A real site uses its own vault password instead.
set -eu

lab_dir="$(cd "$(dirname "$0")/.." && pwd)/.lab"
pass_file="${PARLEY_VAULT_PASS_FILE:-$lab_dir/vault-pass}"

if [ ! -s "$pass_file" ]; then
  mkdir -p "$(dirname "$pass_file")"
  umask 077
  tmp="$pass_file.tmp.$$"
  od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$tmp"
  mv "$tmp" "$pass_file"
fi
cat "$pass_file"
