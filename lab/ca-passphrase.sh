#!/bin/sh
# Make the lab's CA key passphrase once: a random string encrypted with
# Ansible Vault (password from lab/vault-pass.sh) in DIR/ca-passphrase.vault,
# read by the lab inventory through the unvault lookup. Run by `make lab`
# and by the pki molecule scenario; an existing file is kept.
#
#   lab/ca-passphrase.sh [DIR]     DIR defaults to .lab
set -eu

here="$(cd "$(dirname "$0")" && pwd)"
dir="${1:-$here/../.lab}"
out="$dir/ca-passphrase.vault"

[ -s "$out" ] && exit 0
mkdir -p "$dir"
umask 077
tmp="$out.tmp.$$"
od -An -tx1 -N24 /dev/urandom | tr -d ' \n' |
  ANSIBLE_VAULT_PASSWORD_FILE="$here/vault-pass.sh" \
    ansible-vault encrypt --output "$tmp" -
mv "$tmp" "$out"
echo "made $out"
