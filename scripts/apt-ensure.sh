#!/usr/bin/env bash
# apt-ensure.sh PKG...: install the Debian packages that are not installed yet.
#
# Idempotent and silent when everything is present. Checks each package with
# dpkg-query, then installs all missing ones with a single
# `apt-get install -y --no-install-recommends`. `apt-get update` runs first only
# when apt does not know a candidate for one of the missing packages (fresh
# machine, empty package lists).
set -euo pipefail

[ $# -gt 0 ] || exit 0

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "apt-ensure: dpkg-query not found: not a Debian system, install these yourself: $*" >&2
	exit 0
fi

missing=()
for p in "$@"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		sudo=(sudo)
	else
		echo "apt-ensure: need root (or sudo) to install: ${missing[*]}" >&2
		exit 1
	fi
fi

export DEBIAN_FRONTEND=noninteractive
# Wait for another apt/dpkg (e.g. a concurrent `make deps`) instead of failing.
apt_opts=(-q -o DPkg::Lock::Timeout=600)

need_update=0
for p in "${missing[@]}"; do
	cand=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')
	if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then
		need_update=1
		break
	fi
done
if [ $need_update -eq 1 ]; then
	echo "apt-ensure: apt-get update"
	"${sudo[@]}" apt-get "${apt_opts[@]}" update >/dev/null
fi

echo "apt-ensure: installing ${missing[*]}"
"${sudo[@]}" apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}"
