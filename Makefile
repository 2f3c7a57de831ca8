# tdlua - build, test, demo, install.
#
#   make            build ./tdlua (installing missing Debian packages first)
#   make test       build and run the whole test suite against the fake TD server
#   make demo       run examples/quickstart.lua (fake TD server unless TD_API_KEY is set)
#   make asan       build with ASan+UBSan and run the suite with it
#   make valgrind   run the suite under valgrind (memcheck)
#   make bench      run the benchmarks (ratios, not absolute times)
#   make faults     the whole fault matrix (tests/faults/), rows failing today included
#   make fuzz       each libFuzzer target for FUZZ_SECONDS (tests/fuzz/)
#   make soak       10,000 requests and 100 result streams under random faults
#   make module     build build/lua/td/core.so, so a stock lua5.4 can `require "td"`
#   make docs       regenerate docs/reference.md, lua/td/help_data.lua, types/td.lua,
#                   docs/tdlua.1 from the declarations and doc comments
#   make install PREFIX=/usr/local   (the tdlua binary, its man page, and the module for lua5.4)
#   luarocks --lua-version=5.4 make  (the module alone, through tdlua-*.rockspec)
#
# Dependencies come from Debian packages through pkg-config (scripts/deps.sh).

VERSION := $(shell sed -n 's/^return "\(.*\)"$$/\1/p' lua/td/version.lua)
PREFIX ?= /usr/local
CC ?= cc
PKG_CONFIG ?= pkg-config
BUILD := build

# scripts/deps.sh installs the packages; every compile waits for it (an
# order-only prerequisite on DEPS_STAMP), and what pkg-config says below is
# held in recursive variables, expanded only when a recipe runs, so after it
DEPS_SH ?= scripts/deps.sh
# ISA-L's inflate (libisal-dev) when pkg-config finds it, else zlib's
ISAL = $(shell $(PKG_CONFIG) --exists libisal 2>/dev/null && echo libisal)
PKGS = lua5.4 lua5.4-cjson zlib libedit $(ISAL)
# libcurl is loaded at run time (src/curlapi.c): only its headers are needed here
DEP_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) libcurl)
DEP_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS)) -ldl -lm -pthread

WARN := -Wall -Wextra -Wshadow -Wundef -Wwrite-strings -Wredundant-decls \
        -Wdisabled-optimization -Wmissing-prototypes -Wstrict-prototypes \
        -Wpointer-arith -Wvla
ifeq ($(CI),true)
WARN += -Werror
endif
OPT ?= -O2 -g
CFLAGS_ALL = -std=c99 $(OPT) $(WARN) -pthread $(if $(ISAL),-DTD_HAVE_ISAL) -DTDLUA_VERSION='"$(VERSION)"' -Isrc -I$(BUILD) $(DEP_CFLAGS) $(CFLAGS)
LDFLAGS_ALL = $(LDFLAGS) -Wl,--as-needed

SRCS := $(wildcard src/*.c)
LUA_SRCS := $(shell find lua -name '*.lua' | LC_ALL=C sort)
OBJS := $(SRCS:src/%.c=$(BUILD)/%.o) $(BUILD)/embedded.o

# the td.core shared module: everything but the host program
MOD_SRCS := $(filter-out src/main.c src/host.c src/repl.c,$(SRCS))
MOD_DIR := $(BUILD)/pic
MOD_OBJS := $(MOD_SRCS:src/%.c=$(MOD_DIR)/%.o)
MOD_SO := $(BUILD)/lua/td/core.so
LUA_SHARE ?= $(PREFIX)/share/lua/5.4
LUA_LIB ?= $(PREFIX)/lib/lua/5.4

ASAN_DIR := $(BUILD)/asan
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ASAN_OBJS := $(SRCS:src/%.c=$(ASAN_DIR)/%.o) $(ASAN_DIR)/embedded.o

.PHONY: all deps test demo asan valgrind bench install install-module clean check-deps module docs FORCE fuzz fuzz-build faults soak

all: tdlua

# run on every make (deps.sh only installs what is missing); order-only for
# what it orders, so it never makes anything out of date
DEPS_STAMP := $(BUILD)/.deps-checked
$(DEPS_STAMP): FORCE | $(BUILD)
	@$(DEPS_SH)
	@touch $@

deps: $(DEPS_STAMP)

tdlua: $(BUILD)/tdlua
	@ln -sf $(BUILD)/tdlua tdlua

$(BUILD)/tdlua: $(OBJS) | $(DEPS_STAMP)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $(OBJS) $(DEP_LIBS)

$(BUILD)/%.o: src/%.c src/*.h | $(BUILD) $(DEPS_STAMP)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(BUILD)/embedded.c: scripts/lua2c $(LUA_SRCS) | $(BUILD) $(DEPS_STAMP)
	lua5.4 scripts/lua2c $@ $(LUA_SRCS)

$(BUILD)/embedded.o: $(BUILD)/embedded.c src/embedded.h | $(DEPS_STAMP)
	$(CC) $(CFLAGS_ALL) -Wno-overlength-strings -c -o $@ $<

$(BUILD) $(ASAN_DIR) $(MOD_DIR) $(BUILD)/lua/td:
	@mkdir -p $@

module: deps $(MOD_SO)

# Lua's own symbols come from the lua5.4 that loads the module
$(MOD_SO): $(MOD_OBJS) | $(BUILD)/lua/td $(DEPS_STAMP)
	$(CC) $(CFLAGS_ALL) -shared $(LDFLAGS_ALL) -o $@ $(MOD_OBJS) $(shell $(PKG_CONFIG) --libs zlib $(ISAL)) -ldl -pthread

$(MOD_DIR)/%.o: src/%.c src/*.h | $(MOD_DIR) $(DEPS_STAMP)
	$(CC) $(CFLAGS_ALL) -fPIC -c -o $@ $<

test: all $(MOD_SO) $(BUILD)/allocfail
	./tdlua tests/run.lua

demo: all
	@scripts/demo

# ASan + UBSan build, then the whole suite with it
$(ASAN_DIR)/tdlua: $(ASAN_OBJS) | $(DEPS_STAMP)
	$(CC) $(CFLAGS_ALL) $(ASAN_FLAGS) $(LDFLAGS_ALL) -o $@ $(ASAN_OBJS) $(DEP_LIBS)

$(ASAN_DIR)/%.o: src/%.c src/*.h | $(ASAN_DIR) $(DEPS_STAMP)
	$(CC) $(CFLAGS_ALL) $(ASAN_FLAGS) -c -o $@ $<

$(ASAN_DIR)/embedded.o: $(BUILD)/embedded.c src/embedded.h | $(ASAN_DIR) $(DEPS_STAMP)
	$(CC) $(CFLAGS_ALL) $(ASAN_FLAGS) -c -o $@ $<

asan: deps $(ASAN_DIR)/tdlua $(MOD_SO) $(ASAN_DIR)/allocfail
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	  TDLUA_SANITIZER=1 TDLUA_BIN=$(ASAN_DIR)/tdlua $(ASAN_DIR)/tdlua tests/run.lua

valgrind: all $(MOD_SO)
	TDLUA_VALGRIND=1 valgrind -q --error-exitcode=99 --leak-check=full \
	  --errors-for-leak-kinds=definite ./tdlua tests/run.lua

# QUICK=1: a few minutes. Needs nginx and wrk (scripts/deps.sh --bench).
bench: all
	@scripts/deps.sh --bench
	./tdlua tests/bench/run.lua $(if $(QUICK),--quick)

# the reference, td.help's data, the LuaCATS annotations and the man page,
# generated from the declarations and doc comments (a test fails when stale)
docs: all
	TDLUA_LUA_DIR=./lua ./tdlua scripts/gendocs.lua

# allocation failures swept over scenarios (tests/alloc/): a separate
# binary with td.core and a failing Lua allocator; the ASan build for make asan
ALLOC_OBJS = $(MOD_SRCS:src/%.c=$(1)/%.o)
$(BUILD)/allocfail: tests/alloc/allocfail.c $(call ALLOC_OBJS,$(BUILD))
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $^ $(DEP_LIBS) -pthread

$(ASAN_DIR)/allocfail: tests/alloc/allocfail.c $(call ALLOC_OBJS,$(ASAN_DIR))
	$(CC) $(CFLAGS_ALL) $(ASAN_FLAGS) $(LDFLAGS_ALL) -o $@ $^ $(DEP_LIBS) -pthread

# 10,000 requests and 100 result streams under random faults (tests/soak/)
SOAK_REQUESTS ?= 10000
SOAK_STREAMS ?= 100
soak: all
	./tdlua tests/soak/soak.lua $(SOAK_REQUESTS) $(SOAK_STREAMS)

# the whole fault matrix (tests/faults/), with the rows known to fail today
faults: all
	./tdlua tests/faults/run.lua

# libFuzzer targets (tests/fuzz/): Debian's clang, ASan + UBSan, the td.core
# sources without the host; `make fuzz FUZZ_SECONDS=600` runs each target
FUZZ_SECONDS ?= 60
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_CC ?= clang
FUZZ_FLAGS := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_OBJS := $(MOD_SRCS:src/%.c=$(FUZZ_DIR)/%.o)

$(FUZZ_DIR):
	@mkdir -p $@

$(FUZZ_DIR)/%.o: src/%.c src/*.h | $(FUZZ_DIR) $(DEPS_STAMP)
	$(FUZZ_CC) $(filter-out -Wdisabled-optimization,$(CFLAGS_ALL)) -O1 -g -fsanitize=address,undefined,fuzzer-no-link -fno-omit-frame-pointer -c -o $@ $<

$(FUZZ_DIR)/tdfuzz: tests/fuzz/harness.c $(FUZZ_OBJS)
	$(FUZZ_CC) $(filter-out -Wdisabled-optimization,$(CFLAGS_ALL)) -O1 -g $(FUZZ_FLAGS) -o $@ tests/fuzz/harness.c $(FUZZ_OBJS) $(DEP_LIBS) -pthread

fuzz-build: deps
	@scripts/deps.sh --fuzz
	@$(MAKE) --no-print-directory $(FUZZ_DIR)/tdfuzz

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh

install: all install-module
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BUILD)/tdlua $(DESTDIR)$(PREFIX)/bin/tdlua
	install -D -m 644 docs/tdlua.1 $(DESTDIR)$(PREFIX)/share/man/man1/tdlua.1

# the module alone (td/core.so and lua/td/*.lua): also what the rockspec runs
install-module: $(MOD_SO)
	install -d $(DESTDIR)$(LUA_LIB)/td
	install -m 755 $(MOD_SO) $(DESTDIR)$(LUA_LIB)/td/core.so
	cd lua && find td -name '*.lua' | while read -r f; do \
	  install -D -m 644 "$$f" "$(DESTDIR)$(LUA_SHARE)/$$f" || exit 1; done

clean:
	rm -rf $(BUILD) tdlua
