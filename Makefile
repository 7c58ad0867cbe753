# Ward build and test harness (Debian 12; see shared/DESIGN.md §7 and §8).
#
#   make deps      install the build packages that are missing (apt)
#   make build     bin/ward
#   make run       build, then open Ward on $(DATA) (demo clinic on first run)
#   make test      go vet + go test, inside a private D-Bus bus + gnome-keyring
#   make bench     benchmarks, same harness
#   make screenshots  a PNG of every screen in docs/screenshots (real window, Xvfb)
#   make package   the Linux bundle (bin/Ward.tar.xz) made by the fyne tool
#   make fmt | vet | clean

# Build tags: go-sqlcipher (FTS5, JSON1) and the embedded Syncthing (noassets: no web GUI assets).
TAGS := noassets sqlite_fts5 sqlite_json
GO ?= go
# Ward data folder for `make run`; empty means the default
# ($${XDG_DATA_HOME:-$$HOME/.local/share}/ward, chosen by scripts/run.sh).
DATA ?=
# Packages for test/bench/vet, e.g. `make test PKGS=./store/...`.
PKGS ?= ./...

# Raw `go test -bench` output, and the report made from it by tools/benchreport
# (targets as ratios against baselines measured in the same run).
BENCH_RAW := bin/bench.txt
BENCH_OUT := docs/BENCHMARKS.md
# package:benchtime:benchmarks (comma-separated names). Each runs a fixed
# count suited to its size (400 searches; 20 verifications of a 100k-entry
# chain; one 100k-patient demo load; one backup, drill and restore of a
# 100k-patient clinic), so percentiles are stable and big
# fixtures are built once; small ones run for a fixed time.
BENCH_RUNS := ./store:400x:. ./store/audit:20x:. ./app:1x:Demo,Backup100k ./app:3s:ChartRead,SignIn \
	./ui/gui:1x:GUIColdStart,GUIIdle ./ui/gui:1x:SearchAsYouType \
	./sync:3x:Apply ./sync:1x:Join100k \
	./sync/node:1x:ReplicaLag,IdleNodeRSS ./app:1x:WardReplicaLag

# Debian packages.
BUILD_PKGS := gcc libc6-dev pkg-config
# Fyne v2.8.1 (GLFW 3.4, X11 + Wayland) build set, plus xz-utils for `fyne package`.
GUI_PKGS := libgl-dev libegl-dev libx11-dev libxcursor-dev libxrandr-dev \
	libxinerama-dev libxi-dev libxxf86vm-dev libwayland-dev libxkbcommon-dev xz-utils
# Real keyring in tests (scripts/with-keyring.sh); Debian's plain syncthing
# as the untrusted backup peer of sync/node's tests.
# poppler-utils reads back the PDFs Ward prints (emergency/pdf/pdftest).
TEST_PKGS := dbus dbus-x11 gnome-keyring libsecret-tools syncthing poppler-utils
# Real windows in tests: Xvfb, driven by xdotool, captured by imagemagick's `import`.
GUI_TEST_PKGS := xvfb xdotool imagemagick

APT_ENSURE := ./scripts/apt-ensure.sh
KEYRING := ./scripts/with-keyring.sh

.PHONY: all deps deps-test build run test bench screenshots package fmt vet clean

all: build

deps:
	@$(APT_ENSURE) $(BUILD_PKGS) $(GUI_PKGS)

deps-test: deps
	@$(APT_ENSURE) $(TEST_PKGS) $(GUI_TEST_PKGS)

build: deps
	$(GO) build -tags "$(TAGS)" -o bin/ward .

# Opens the app. scripts/run.sh makes a demo clinic on first run and, when no
# Secret Service is reachable, runs Ward inside scripts/with-keyring.sh with a
# persistent keyring (see scripts/run.sh for where and why).
run: build deps-test
	DATA="$(DATA)" ./scripts/run.sh

test: deps deps-test
	$(KEYRING) sh -c '$(GO) vet -tags "$(TAGS)" $(PKGS) && $(GO) test -tags "$(TAGS)" -count=1 -timeout 25m $(PKGS)'

bench: deps deps-test
	@mkdir -p $(dir $(BENCH_RAW))
	$(KEYRING) bash -o pipefail -c 'for r in $(BENCH_RUNS); do IFS=: read -r pkg n names <<< "$$r"; $(GO) test -tags "$(TAGS)" -run "^$$" -bench "$${names//,/|}" -benchtime $$n -timeout 60m $$pkg || exit 1; done | tee $(BENCH_RAW)'
	$(GO) run ./tools/benchreport < $(BENCH_RAW) > $(BENCH_OUT)
	@echo "wrote $(BENCH_OUT)"

# The real app under Xvfb on a fresh demo clinic, built with its screenshot
# tour (ui/gui/tour.go, build tag "screenshots"): see scripts/screenshots.sh.
screenshots: deps deps-test
	$(GO) build -tags "$(TAGS) screenshots" -o bin/ward-screenshots .
	$(KEYRING) ./scripts/screenshots.sh bin/ward-screenshots docs/screenshots

# The fyne tool, pinned (built against Fyne v2.8.1), installed into bin/.
FYNE_TOOL := bin/fyne
FYNE_TOOL_VERSION := v1.7.4
comma := ,
empty :=
space := $(empty) $(empty)

$(FYNE_TOOL):
	GOBIN="$(abspath bin)" $(GO) install fyne.io/tools/cmd/fyne@$(FYNE_TOOL_VERSION)

# The Linux bundle from FyneApp.toml (name, id, version, icon): a tarball
# with the binary, a .desktop file, the icon and a Makefile to install them.
# The tool rewrites FyneApp.toml after packaging (Build+1, comments gone):
# the file is put back as it was, so a build changes no tracked file.
package: deps $(FYNE_TOOL)
	cp FyneApp.toml bin/FyneApp.toml.orig
	$(FYNE_TOOL) package -os linux -release -tags "$(subst $(space),$(comma),$(TAGS))"; \
		rc=$$?; mv -f bin/FyneApp.toml.orig FyneApp.toml; exit $$rc
	mv -f Ward.tar.xz bin/Ward.tar.xz
	@echo "wrote bin/Ward.tar.xz (install: see README, Install)"

fmt:
	$(GO) fmt ./...

vet: deps
	$(GO) vet -tags "$(TAGS)" $(PKGS)

clean:
	rm -rf bin
