#!/usr/bin/env bash
# run.sh: open Ward on a data folder, for `make run`.
#
#   DATA=DIR   data folder (default: ${XDG_DATA_HOME:-$HOME/.local/share}/ward)
#   WARD=PATH  the binary (default: bin/ward, built by `make build`)
#
# 1. Ward keeps its database key in the desktop keyring (Secret Service). If
#    none is reachable on the session bus, this script says so and re-runs
#    itself inside scripts/with-keyring.sh, which starts a private
#    gnome-keyring for this run. That keyring is kept between runs in
#    ${XDG_DATA_HOME:-$HOME/.local/share}/ward-dev-keyring/ (NOT the user's
#    real ~/.local/share/keyrings), so the demo clinic opened by one
#    `make run` opens again on the next. Its password is random and stored
#    beside it (mode 0600): a stand-in for a desktop keyring, only as safe as
#    that folder's permissions. Delete that folder and the data folder
#    together, or the data can no longer be opened.
# 2. If `ward --data DIR check` fails and DIR is missing or empty, it makes a
#    demo clinic there (`ward --data DIR demo --patients 200`). If the check
#    fails on a folder that has something in it, it stops and shows why: it
#    never overwrites an existing folder.
# 3. It then execs `ward --data DIR`, which opens the app.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ward=${WARD:-$root/bin/ward}
data=${DATA:-}
[ -n "$data" ] || data=${XDG_DATA_HOME:-$HOME/.local/share}/ward
keyring_dir=${XDG_DATA_HOME:-$HOME/.local/share}/ward-dev-keyring

[ -x "$ward" ] || { echo "run: $ward not found; run 'make build' first" >&2; exit 1; }

secret_service_reachable() {
	local reply
	# Ward talks only to the session bus this variable names (no X11
	# autolaunch of a bus of its own), so without it there is none.
	[ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ] || return 1
	# Running now?
	reply=$(dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
		org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null) || return 1
	grep -q 'boolean true' <<<"$reply" && return 0
	# Or started on demand by the bus (a normal desktop session)?
	reply=$(dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
		org.freedesktop.DBus.ListActivatableNames 2>/dev/null) || return 1
	grep -q '"org.freedesktop.secrets"' <<<"$reply"
}

if [ -z "${_WARD_RUN_IN_HARNESS:-}" ] && ! secret_service_reachable; then
	echo "run: Ward keeps its database key in a desktop keyring (Secret Service), and none is reachable on this session bus." >&2
	echo "run: starting a private gnome-keyring for this run; its keys are kept in $keyring_dir between runs (not in your real keyring)." >&2
	export _WARD_RUN_IN_HARNESS=1 WARD_KEYRING_DIR="$keyring_dir" DATA="$data" WARD="$ward"
	exec "$root/scripts/with-keyring.sh" "${BASH_SOURCE[0]}" "$@"
fi
unset _WARD_RUN_IN_HARNESS WARD_KEYRING_DIR

mkdir -p "$(dirname "$data")"
if ! check_out=$("$ward" --data "$data" check 2>&1); then
	if [ ! -e "$data" ] || [ -z "$(ls -A "$data" 2>/dev/null)" ]; then
		echo "run: $data is not a Ward data folder yet; making a demo clinic there (200 patients)" >&2
		"$ward" --data "$data" demo --patients 200
	else
		printf '%s\n' "$check_out" >&2
		echo "run: '$ward --data $data check' failed on a folder that is not empty; not touching it." >&2
		exit 1
	fi
fi

exec "$ward" --data "$data" "$@"
