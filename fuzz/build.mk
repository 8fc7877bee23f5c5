# SPDX-License-Identifier: MIT
#
# fuzz/: libFuzzer targets.
#
#  - shm_fuzz: the shared-memory layer of a NodeLink (lib/link_memory and
#    below) against a hostile peer that writes anything anywhere in the
#    shared buffers and sends arbitrary descriptors.
#  - node_fuzz: a broker node (all of lib/, in-process driver) fed
#    arbitrary node messages by its peer, through the driver and through
#    the shared ring, with pokes into the shared pool.
#
# `make fuzz` builds them with clang (-fsanitize=fuzzer,address,undefined);
# nothing else builds it, so `make` works without clang. `make fuzz-run`
# builds and runs each for $(FUZZ_RUNS) inputs and prints a TAP result
# (skipped when clang or its libFuzzer runtime is missing); the pool suite
# (tests/pool/build.mk) includes that result. To fuzz for longer:
#   make fuzz && build/fuzz/shm_fuzz -max_len=4096 build/fuzz/corpus
#   make fuzz && build/fuzz/node_fuzz -max_len=8192 build/fuzz/node-corpus

FUZZ_OUT      := $(BUILD)/fuzz
FUZZ_CC       ?= clang
FUZZ_RUNS     ?= 200000
FUZZ_LIB_SRCS := lib/block_allocator.c lib/buffer_pool.c lib/fragment.c \
		 lib/link_memory.c lib/link_state.c lib/message_ring.c \
		 lib/spin_wait.c
FUZZ_HEADERS  := $(FUZZ_LIB_SRCS:.c=.h)
FUZZ_CFLAGS   := -std=gnu11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
		 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
		 -Wmissing-prototypes -Wno-unused-parameter \
		 -I$(CURDIR)/include -I$(CURDIR)

DEB_PACKAGES += clang libclang-rt-14-dev

.PHONY: fuzz fuzz-run
fuzz: $(FUZZ_OUT)/shm_fuzz $(FUZZ_OUT)/node_fuzz

FUZZ_NODE_SRCS := $(sort $(wildcard lib/*.c)) drivers/inprocess/inprocess_driver.c
$(FUZZ_OUT)/node_fuzz: fuzz/node_fuzz.c $(FUZZ_NODE_SRCS) $(wildcard lib/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) fuzz/node_fuzz.c $(FUZZ_NODE_SRCS) \
		-lpthread -o $@

$(FUZZ_OUT)/shm_fuzz: fuzz/shm_fuzz.c $(FUZZ_LIB_SRCS) $(FUZZ_HEADERS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) fuzz/shm_fuzz.c $(FUZZ_LIB_SRCS) -o $@

# A fixed seed and input count keep the runs bounded and repeatable.
FUZZ_MAX_LEN_shm_fuzz  := 4096
FUZZ_MAX_LEN_node_fuzz := 8192
# A node's inputs run whole nodes: slower, so fewer of them.
FUZZ_RUNS_shm_fuzz      = $(FUZZ_RUNS)
FUZZ_RUNS_node_fuzz    ?= 50000
define fuzz_run_one
	elif $(FUZZ_OUT)/$(1) -seed=1 -runs=$(FUZZ_RUNS_$(1)) \
		-max_len=$(FUZZ_MAX_LEN_$(1)) -timeout=10 \
		-artifact_prefix=$(FUZZ_OUT)/ > $(FUZZ_OUT)/$(1).log 2>&1; then \
		tail -n 3 $(FUZZ_OUT)/$(1).log | sed 's/^/# /'; \
		echo "ok $(2) $(1) $(FUZZ_RUNS_$(1)) runs"; \
	else \
		tail -n 40 $(FUZZ_OUT)/$(1).log | sed 's/^/# /'; \
		echo "not ok $(2) $(1) (see $(FUZZ_OUT)/$(1).log)"; \
	fi;
endef

fuzz-run:
	@echo "1..2"
	@mkdir -p $(FUZZ_OUT)
	@if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n)\
		{ return 0; }' | $(FUZZ_CC) -x c - -fsanitize=fuzzer \
		-o $(FUZZ_OUT)/probe >/dev/null 2>&1; then \
		echo "ok 1 shm_fuzz # SKIP $(FUZZ_CC) with libFuzzer not available"; \
		echo "ok 2 node_fuzz # SKIP $(FUZZ_CC) with libFuzzer not available"; \
	elif ! $(MAKE) --no-print-directory fuzz > $(FUZZ_OUT)/build.log 2>&1; then \
		sed 's/^/# /' $(FUZZ_OUT)/build.log; \
		echo "not ok 1 shm_fuzz (build failed)"; \
		echo "not ok 2 node_fuzz (build failed)"; \
	else \
		if false; then :; \
	$(call fuzz_run_one,shm_fuzz,1) \
		if false; then :; \
	$(call fuzz_run_one,node_fuzz,2) \
	fi
