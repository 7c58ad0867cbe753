#!/usr/bin/env bash
# with-keyring.sh CMD [ARG...]
#
# Runs CMD with a real Secret Service (gnome-keyring) on a private D-Bus
# session bus, then tears both down. Exit status is CMD's.
#
#   * The bus comes from `dbus-run-session`, with a config that has NO service
#     activation: nothing on this bus can ever start a second gnome-keyring
#     (which would fail or hang on a password prompt: seen here) or one that uses the
#     user's real keyring files.
#   * gnome-keyring-daemon runs with --unlock --components=secrets and gets its
#     password on stdin, which creates (first time) and unlocks the "login"
#     collection, so go-keyring's Set/Get never needs a GUI prompt.
#   * We wait until org.freedesktop.secrets has an owner on the bus before
#     running CMD (timeout WARD_KEYRING_TIMEOUT seconds, default 10).
#   * On exit the daemon is killed (trap) and dbus-run-session ends the bus.
#
# Where the keyring lives:
#   * default (tests): a throwaway directory under $TMPDIR with a random
#     password; removed on exit. The user's real keyring is never touched:
#     the daemon gets its own HOME, XDG_DATA_HOME, XDG_CONFIG_HOME and
#     XDG_RUNTIME_DIR (so it cannot find or unlock a running desktop daemon).
#   * WARD_KEYRING_DIR=DIR (used by `make run`): the keyring is kept in
#     DIR/keyrings/ between runs. Its password is random, generated on first
#     use and stored in DIR/password (mode 0600). Be honest about what this
#     is: a stand-in for a desktop keyring on a machine without one; the
#     secrets are only as safe as the permissions of DIR.
#
# CMD itself keeps the caller's HOME and XDG_* variables (so the Go build
# cache etc. stay where they are); only XDG_RUNTIME_DIR is set, to a private
# 0700 temp dir, when the caller has none. DBUS_SESSION_BUS_ADDRESS points at
# the private bus.
set -euo pipefail

self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
prog=with-keyring

if [ $# -eq 0 ]; then
	echo "usage: $0 CMD [ARG...]" >&2
	exit 2
fi

die() {
	echo "$prog: $*" >&2
	exit 1
}

if [ -z "${_WARD_KEYRING_TMP:-}" ]; then
	# ---- outer part: private temp dir + private bus -------------------------
	for c in dbus-run-session dbus-send gnome-keyring-daemon; do
		command -v "$c" >/dev/null 2>&1 ||
			die "'$c' not found; install with: apt-get install -y dbus dbus-x11 gnome-keyring (or run 'make deps-test')"
	done

	tmp=$(mktemp -d "${TMPDIR:-/tmp}/ward-keyring.XXXXXX")
	chmod 700 "$tmp"
	trap 'rm -rf "$tmp"' EXIT
	# A signal to the whole process group (Ctrl-C, timeout(1), a CI runner)
	# reaches CMD and the inner part directly; here we only note it and go on
	# to clean up after dbus-run-session returns. (A TERM sent to this one
	# process alone is likewise handled once CMD has finished.)
	sig_rc=
	trap 'sig_rc=130' INT
	trap 'sig_rc=143' TERM
	trap 'sig_rc=129' HUP

	if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
		mkdir -m 700 "$tmp/runtime"
		export XDG_RUNTIME_DIR="$tmp/runtime"
	fi

	mkdir -m 700 "$tmp/bus"
	cat >"$tmp/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=$tmp/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF

	# dbus-daemon's own messages (as root it always warns that it cannot raise
	# its fd limit) go to a log, shown only if the bus fails to start.
	cat >"$tmp/dbus-daemon" <<WRAP
#!/bin/sh
exec dbus-daemon "\$@" 2>>"$tmp/dbus.log"
WRAP
	chmod 700 "$tmp/dbus-daemon"

	set +e
	_WARD_KEYRING_TMP="$tmp" dbus-run-session --dbus-daemon="$tmp/dbus-daemon" \
		--config-file="$tmp/bus.conf" -- "$self" "$@"
	rc=$?
	set -e
	if [ ! -e "$tmp/started" ]; then
		cat "$tmp/dbus.log" >&2 2>/dev/null || true
		echo "$prog: could not start a private D-Bus session bus (dbus-run-session exit $rc)" >&2
		[ $rc -ne 0 ] || rc=1
	fi
	# dbus-run-session signals the bus daemon and returns without reaping it;
	# the orphan is reaped by PID 1. Wait (up to 5 s) until it is really gone
	# so that `pgrep dbus-daemon` right after shows nothing. (Normally instant;
	# in this sandbox PID 1 reaps zombies only every ~1.6 s.)
	bus_pid=$(cat "$tmp/bus.pid" 2>/dev/null || true)
	if [ -n "$bus_pid" ]; then
		for _ in $(seq 50); do
			state=$(awk '{print $3}' "/proc/$bus_pid/stat" 2>/dev/null || true)
			[ -z "$state" ] && break
			sleep 0.1
		done
	fi
	if [ -n "$sig_rc" ] && [ $rc -eq 0 ]; then rc=$sig_rc; fi
	exit $rc
fi

# ---- inner part: on the private bus --------------------------------------
tmp=$_WARD_KEYRING_TMP
unset _WARD_KEYRING_TMP

khome="$tmp/home"
mkdir -m 700 "$khome" "$tmp/kconfig" "$tmp/kruntime"
if [ -n "${WARD_KEYRING_DIR:-}" ]; then
	kdata=$WARD_KEYRING_DIR
	mkdir -p "$kdata"
	chmod 700 "$kdata"
	passfile="$kdata/password"
	if [ ! -s "$passfile" ]; then
		(umask 077 && head -c 24 /dev/urandom | base64 | tr -d '\n' >"$passfile")
	fi
else
	kdata="$tmp/data"
	mkdir -m 700 "$kdata"
	passfile="$tmp/password"
	(umask 077 && head -c 24 /dev/urandom | base64 | tr -d '\n' >"$passfile")
fi

gkd_pid=
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	if [ -n "$gkd_pid" ] && kill -0 "$gkd_pid" 2>/dev/null; then
		kill "$gkd_pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$gkd_pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$gkd_pid" 2>/dev/null; then kill -9 "$gkd_pid" 2>/dev/null || true; fi
	fi
	wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

secrets_owned() {
	dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
		org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
		grep -q 'boolean true'
}

touch "$tmp/started"
dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
	org.freedesktop.DBus.GetConnectionUnixProcessID string:org.freedesktop.DBus 2>/dev/null |
	awk '/uint32/ {print $2}' >"$tmp/bus.pid" || true

secrets_owned && die "org.freedesktop.secrets already has an owner on a brand-new bus; refusing to continue"

env HOME="$khome" XDG_DATA_HOME="$kdata" XDG_CONFIG_HOME="$tmp/kconfig" \
	XDG_RUNTIME_DIR="$tmp/kruntime" \
	gnome-keyring-daemon --foreground --unlock --components=secrets \
	<"$passfile" >"$tmp/gkd.log" 2>&1 &
gkd_pid=$!

timeout=${WARD_KEYRING_TIMEOUT:-10}
deadline=$((SECONDS + timeout))
until secrets_owned; do
	if ! kill -0 "$gkd_pid" 2>/dev/null; then
		cat "$tmp/gkd.log" >&2 || true
		gkd_pid=
		die "gnome-keyring-daemon exited before it registered org.freedesktop.secrets (output above)"
	fi
	if [ $SECONDS -ge $deadline ]; then
		cat "$tmp/gkd.log" >&2 || true
		die "gnome-keyring-daemon did not register org.freedesktop.secrets on the session bus within ${timeout}s"
	fi
	sleep 0.1
done

# --unlock must have created/unlocked the "login" collection (go-keyring uses
# it, or the default alias). A locked one would make every keyring call fail.
login_locked() {
	dbus-send --session --print-reply --dest=org.freedesktop.secrets \
		/org/freedesktop/secrets/collection/login org.freedesktop.DBus.Properties.Get \
		string:org.freedesktop.Secret.Collection string:Locked 2>/dev/null |
		grep -q 'boolean false' && return 1
	return 0
}
deadline=$((SECONDS + 3))
while login_locked; do
	if [ $SECONDS -ge $deadline ]; then
		cat "$tmp/gkd.log" >&2 || true
		if [ -n "${WARD_KEYRING_DIR:-}" ]; then
			die "the login keyring in $kdata/keyrings did not unlock with the password in $passfile; restore that password, or delete $kdata (secrets in it, such as Ward's database keys, are then lost)"
		fi
		die "gnome-keyring-daemon started but its login collection is missing or locked"
	fi
	sleep 0.1
done

set +e
"$@"
rc=$?
set -e
exit $rc
