# SPDX-License-Identifier: MIT
#
# tests/pool: the shared-memory layer of a NodeLink (lib/block_allocator,
# buffer_pool, fragment, link_memory, link_state, message_ring).
#
#  - Unit tests (kselftest harness, TAP) built twice: asan (ASan + UBSan)
#    and tsan (ThreadSanitizer). The lib sources are compiled straight into
#    the test binaries, so the suite does not depend on lib/build.mk.
#  - ring_latency: the ring's cross-process round trip (median, p99) with
#    both processes on separate CPUs and on one CPU, for several wait
#    policies. `make pool-bench` runs it; the suite does not (timings).
#  - stream_test: the data path of libipcz between two processes (socket
#    driver), linked against libipcz and its drivers; also built from the
#    release archives for counting system calls (strace -f -c).
#  - The fuzz targets (fuzz/build.mk) run for a bounded number of
#    iterations as part of this suite when clang can build it.
# Suite `pool`: check-pool -> $(RESULTS)/pool.result.

POOL_OUT      := $(BUILD)/pool
POOL_LIB_SRCS := lib/block_allocator.c lib/buffer_pool.c lib/fragment.c \
		 lib/link_memory.c lib/link_state.c lib/message_ring.c \
		 lib/spin_wait.c
POOL_TESTS    := block_allocator_test pool_test fragment_test ring_test \
		 link_state_test link_test
POOL_VARIANTS := asan tsan
POOL_LINK_TESTS := stream_test data_path_test
# stream_test is left out of the tsan variant: its two processes order
# their use of pool blocks through atomics in shared memory, and TSan sees
# only one process's half of that, so a block freed by the peer and reused
# here looks like a race (reported now and then under load).
POOL_TSAN_BLIND := stream_test
POOL_BINS     := $(addprefix $(POOL_OUT)/asan/,$(POOL_TESTS) \
		   $(POOL_LINK_TESTS)) \
		 $(addprefix $(POOL_OUT)/tsan/,$(POOL_TESTS) \
		   $(filter-out $(POOL_TSAN_BLIND),$(POOL_LINK_TESTS)))
POOL_BENCH    := $(POOL_OUT)/rel/ring_latency
# The kselftest harness wants GNU C and defines functions without
# prototypes; its path is resolved when a recipe
# runs, so parsing the Makefile never unpacks the kernel source.
POOL_TEST_CFLAGS = $(BASE_CFLAGS) -std=gnu11 -Wno-missing-prototypes \
		   -Wno-sign-compare \
		   -I$$($(CURDIR)/tools/linux-source)/tools/testing/selftests

ALL_TARGETS  += $(POOL_BINS) $(POOL_BENCH) $(POOL_OUT)/rel/stream_test
SUITES       += pool
DEB_PACKAGES += linux-source

define pool_variant_rules
$(POOL_OUT)/$(1)/%.o: tests/pool/%.c
	@mkdir -p $$(@D)
	$$(CC) $$(POOL_TEST_CFLAGS) $$(VARIANT_CFLAGS_$(1)) -MMD -MP \
		-c $$< -o $$@

$(addprefix $(POOL_OUT)/$(1)/,$(2)): $(POOL_OUT)/$(1)/%: \
		$(POOL_OUT)/$(1)/%.o $(call objs,$(1),$(POOL_LIB_SRCS))
	$$(CC) $$(VARIANT_LDFLAGS_$(1)) $$^ -lpthread -o $$@
endef
$(foreach v,$(POOL_VARIANTS),\
	$(eval $(call pool_variant_rules,$(v),$(POOL_TESTS))))
$(eval $(call pool_variant_rules,rel,ring_latency))

# Tests of libipcz itself: the archives of lib/build.mk (release: lib/).
pool_archive_dir = $(if $(filter rel,$(1)),lib,$(1))
define pool_link_rule
$(POOL_OUT)/$(1)/$(2): $(POOL_OUT)/$(1)/$(2).o \
		$(BUILD)/$(call pool_archive_dir,$(1))/libipcz.a \
		$(BUILD)/$(call pool_archive_dir,$(1))/libipcz-drivers.a
	$$(CC) $$(VARIANT_LDFLAGS_$(1)) $$^ -lpthread -o $$@
endef
$(foreach v,$(POOL_VARIANTS) rel,$(foreach t,$(POOL_LINK_TESTS),\
	$(eval $(call pool_link_rule,$(v),$(t)))))

.PRECIOUS: $(POOL_OUT)/%.o

.PHONY: check-pool pool-bench
# ThreadSanitizer needs a memory layout that some kernels' address-space
# randomisation breaks, so tsan binaries run with randomisation off. A
# binary that dies without reporting a failure gets a failing line.
check-pool: $(POOL_BINS)
	@rm -rf $(RESULTS)/pool.result $(POOL_OUT)/tap
	@mkdir -p $(RESULTS) $(POOL_OUT)/tap
	@for bin in $(POOL_BINS); do \
		variant=$$(basename $$(dirname $$bin)); \
		name=$$variant-$$(basename $$bin); \
		tap=$(POOL_OUT)/tap/$$name.tap; \
		run=; \
		if [ $$variant = tsan ] && command -v setarch >/dev/null; then \
			run="setarch $$(uname -m) -R"; \
		fi; \
		echo "# $$name"; \
		$$run $$bin > $$tap 2>&1; status=$$?; \
		if [ $$status != 0 ] && ! grep -q '^not ok' $$tap; then \
			echo "not ok 1 $$name exited with status $$status" \
				>> $$tap; \
		fi; \
		cat $$tap; \
	done
	@$(MAKE) --no-print-directory fuzz-run > $(POOL_OUT)/tap/fuzz.tap 2>&1; \
		cat $(POOL_OUT)/tap/fuzz.tap
	@tools/check/tap-count $(RESULTS)/pool.result $(POOL_OUT)/tap/*.tap

pool-bench: $(POOL_BENCH)
	$(POOL_BENCH)
