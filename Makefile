# Roster's entry points. Every target first installs missing Debian packages
# (scripts/setup), then configures and builds into build/.
BUILD ?= build
SANITIZE_BUILD ?= build-sanitize
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all setup build dev test sanitize bench format clean

all: build

setup:
	@./scripts/setup

build: setup
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# Until the server exists (issue 3), `make dev` runs the cluster simulator on one seed.
dev: build
	@echo "make dev: the server is not built yet; running the Raft cluster simulator on seed 1."
	$(BUILD)/bin/roster-sim --seed 1 --verbose

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Unit and simulator tests under AddressSanitizer + UndefinedBehaviorSanitizer.
sanitize: setup
	@cmake -S . -B $(SANITIZE_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DROSTER_SANITIZE=ON >/dev/null
	@cmake --build $(SANITIZE_BUILD) -j $(JOBS)
	@cd $(SANITIZE_BUILD) && ctest --output-on-failure -j $(JOBS) -L 'unit|sim-sanitize'

bench: build
	$(BUILD)/bin/consensus_bench

format:
	@git ls-files '*.h' '*.cc' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(SANITIZE_BUILD)
