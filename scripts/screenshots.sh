#!/usr/bin/env bash
# screenshots.sh WARD OUTDIR — `make screenshots`.
#
# WARD is a ward binary built with the "screenshots" build tag (its tour,
# ui/gui/tour.go). This makes a fresh demo clinic in a temp folder
# (`ward demo`: patients, today's schedule, filled charts), opens it in a
# real window on a private Xvfb server (scripts/xvfb-run.sh), and lets the
# tour sign in as each demo person and capture every screen. The PNGs
# replace those in OUTDIR only when the tour succeeds.
#
# Run it inside scripts/with-keyring.sh (the Makefile does): the demo
# clinic's key goes into that private, throwaway keyring.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ $# -eq 2 ] || {
	echo "usage: $0 WARD OUTDIR" >&2
	exit 2
}
ward=$1 out=$2

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ward-shots.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The recovery code stays in this shell's memory (never a file), for the
# emergency kit's window below.
demo_out=$("$ward" --data "$tmp/clinic" demo --patients 500)
code=$(grep -oE '[0-9A-Z]{5}(-[0-9A-Z]{5}){4}' <<<"$demo_out" | head -1)
unset demo_out
WARD_TOUR_OUT="$tmp/shots" "$root/scripts/xvfb-run.sh" "$ward" --data "$tmp/clinic"
# The emergency kit's read-only window, opened with the demo's recovery code.
printf '%s\nNurse Joy Ratched\n' "$code" | WARD_TOUR_OUT="$tmp/shots" "$root/scripts/xvfb-run.sh" \
	"$ward" --data "$tmp/clinic" emergency open --kit "$tmp/clinic/ward.kit" --password-stdin

mkdir -p "$out"
rm -f "$out"/*.png
cp "$tmp"/shots/*.png "$out"/
echo "screenshots: $(ls "$tmp"/shots/*.png | wc -l) PNGs in $out"
