# floe: the user's interface to the build. CMake does the work underneath.
#   make deps   install missing Debian packages (root)
#   make        release build into build/
#   make test   deps, build, windows, every test through ctest (Linux, then Windows under Wine)
#   make windows  cross-build for Windows (mingw-w64) into build-win/: floe.exe, tests
#   make asan   the tests again under AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz   each libFuzzer target for a short run (clang)
#   make demo   the main job as it stands
#   make bench  build (Linux, Windows) and run the benchmarks (by hand; prints ratios), Wine vs native
#   make install  build, then install into $(DESTDIR)$(PREFIX) (default /usr/local)
#   make deb    build, then Debian packages into build/deb/ (scripts/deb.sh, packaging/)

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
WIN_BUILD  ?= build-win
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX     ?= /usr/local
DESTDIR    ?=
FUZZ_SECONDS ?= 20
CTEST_FLAGS ?= --output-on-failure

.PHONY: all build deps test asan fuzz demo bench clean windows install deb

all: build

deps:
	@sh scripts/deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS)

# OpenSSL for Windows is built once into $(WIN_BUILD)/openssl (scripts/openssl-mingw.sh);
# the Windows tests use the Linux build's floe and floe-relay, so windows follows build.
windows: build
	cmake -S . -B $(WIN_BUILD) -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64.cmake \
	  -DCMAKE_BUILD_TYPE=Release -DFLOE_NATIVE_BIN_DIR=$(abspath $(BUILD))/bin
	cmake --build $(WIN_BUILD) -j $(JOBS)

test: build windows
	ctest --test-dir $(BUILD) $(CTEST_FLAGS) -j $(JOBS)
	ctest --test-dir $(WIN_BUILD) $(CTEST_FLAGS) -j $(JOBS)

asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DFLOE_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(ASAN_BUILD) $(CTEST_FLAGS) -j $(JOBS)

fuzz: deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DFLOE_FUZZ=ON
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_all
	sh scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

demo: build
	sh scripts/demo.sh $(BUILD)

bench: build windows
	sh scripts/bench.sh $(BUILD)
	sh bench/wine.sh $(BUILD) $(WIN_BUILD)

# The prefix is chosen here, at install time: floe.pc, the CMake package and the systemd
# units name the directories under $(PREFIX); $(DESTDIR) is only prepended (staging).
install: build
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix $(PREFIX)

deb: build
	sh scripts/deb.sh $(BUILD) $(BUILD)/deb

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(WIN_BUILD)
