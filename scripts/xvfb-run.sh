#!/usr/bin/env bash
# xvfb-run.sh CMD [ARG...]
#
# Runs CMD with DISPLAY set to a private Xvfb server (1280x800, 24-bit) on a
# free display number (Xvfb picks it: -displayfd), then stops the server.
# Exit status is CMD's. Used by `make screenshots`; the Go tests that drive
# the real window start their own the same way (ui/gui/realwindow_test.go).
set -euo pipefail

command -v Xvfb >/dev/null 2>&1 || {
	echo "xvfb-run: Xvfb not found; install it with: apt-get install -y xvfb (or run 'make deps-test')" >&2
	exit 1
}
[ $# -gt 0 ] || {
	echo "usage: $0 CMD [ARG...]" >&2
	exit 2
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ward-xvfb.XXXXXX")
xvfb_pid=
cleanup() {
	if [ -n "$xvfb_pid" ]; then
		kill "$xvfb_pid" 2>/dev/null || true
		wait "$xvfb_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

mkfifo "$tmp/display"
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$tmp/display" 2>"$tmp/xvfb.log" &
xvfb_pid=$!
if ! read -r -t 10 n <"$tmp/display" || [ -z "$n" ]; then
	cat "$tmp/xvfb.log" >&2
	echo "xvfb-run: Xvfb did not start" >&2
	exit 1
fi

export DISPLAY=":$n" LANG=${LANG:-en_US.UTF-8}
# Wait until the server answers on its display (xdotool, when installed).
if command -v xdotool >/dev/null 2>&1; then
	for _ in $(seq 50); do
		xdotool getdisplaygeometry >/dev/null 2>&1 && break
		sleep 0.1
	done
fi
set +e
"$@"
rc=$?
set -e
exit $rc
