# Roster's entry points. Every target first installs missing Debian packages
# (scripts/setup), then configures and builds into build/.
BUILD ?= build
SANITIZE_BUILD ?= build-sanitize
FUZZ_BUILD ?= build-fuzz
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
# What the sanitizer run builds: the unit-test binaries and the simulator.
SANITIZE_TARGETS = base_test consensus_test store_test dns_test server_test http_test agent_test cli_test sim_test roster-sim

.PHONY: all setup build dev sim test sanitize fuzz bench bench-etcd bench-coord bench-agents bench-dns format clean

all: build

setup:
	@./scripts/setup

build: setup
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# One server with its data (SQLite) in a fresh temp dir; Ctrl-C stops it.
dev: build
	$(BUILD)/bin/roster dev

# The cluster simulator on one seed, with its event trace.
sim: build
	$(BUILD)/bin/roster-sim --seed 1 --ticks 300 --verbose

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Unit and simulator tests under AddressSanitizer + UndefinedBehaviorSanitizer.
sanitize: setup
	@cmake -S . -B $(SANITIZE_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DROSTER_SANITIZE=ON >/dev/null
	@cmake --build $(SANITIZE_BUILD) -j $(JOBS) --target $(SANITIZE_TARGETS)
	@cd $(SANITIZE_BUILD) && ctest --output-on-failure -j $(JOBS) -L 'unit|sim-sanitize'

# The libFuzzer targets (tests/fuzz, clang), each run for a bounded time: 60 s on the DNS
# parser, 15 s on each other one (scripts/fuzz). CI runs `make fuzz
# FUZZ_TARGETS=dns_fuzz` (its time budget); run them all before landing a parser change.
FUZZ_TARGETS ?= dns_fuzz http_params_fuzz http_bodies_fuzz wire_fuzz filter_fuzz watch_resume_fuzz
fuzz: setup
	@CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DROSTER_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(FUZZ_TARGETS)
	@scripts/fuzz $(FUZZ_BUILD) $(FUZZ_TARGETS)

bench: build
	$(BUILD)/bin/consensus_bench

# Roster vs etcd, 3 members each on loopback (bench/kv-vs-etcd.sh; QUICK=1 for a smoke run).
bench-etcd: build
	ROSTER_BIN=$(BUILD)/bin/roster bench/kv-vs-etcd.sh

# Lock hand-off and watch fan-out on 3 servers (bench/coord-bench.sh; QUICK=1 for a smoke run).
bench-coord: build
	ROSTER_BIN=$(BUILD)/bin/roster COORD_BENCH=$(BUILD)/bin/coord_bench bench/coord-bench.sh

# 1,000-5,000 simulated agents heartbeating to 3 servers (bench/agents-bench.sh; QUICK=1 for a smoke run).
bench-agents: build
	ROSTER_BIN=$(BUILD)/bin/roster AGENTS_SIM=$(BUILD)/bin/agents_sim bench/agents-bench.sh

# Roster's DNS vs dnsmasq and unbound under dnsperf (bench/dns-vs-peers.sh; QUICK=1 for a smoke run).
bench-dns: build
	ROSTER_BIN=$(BUILD)/bin/roster bench/dns-vs-peers.sh

format:
	@git ls-files '*.h' '*.cc' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(SANITIZE_BUILD) $(FUZZ_BUILD)
