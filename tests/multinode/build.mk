# SPDX-License-Identifier: MIT
#
# tests/multinode: black-box multi-node tests, written against
# include/ipcz/ipcz.h and the bundled drivers' entry points only, each
# program run once per driver variant (tests/multinode/mn.h):
#
#   $(BUILD)/multinode/asan/<prog>-inprocess   in-process driver, roles as
#                                              coroutines (ASan+UBSan)
#   $(BUILD)/multinode/tsan/<prog>-threaded    in-process driver, a thread
#                                              per role (TSan)
#   $(BUILD)/multinode/asan/<prog>-socket      socket driver, a process per
#                                              role (ASan+UBSan)
#   $(BUILD)/multinode/asan/<prog>-async       strict asynchronous driver of
#                                              tests/contract, a thread per
#                                              role (ASan+UBSan); run again
#                                              with SD_SYNC=1 (synchronous
#                                              delivery, "+sync")
#   $(BUILD)/multinode/tsan/<prog>-async-threaded  the same (TSan)
#   $(BUILD)/vm-tests/multinode-<prog>-kernel  kernel driver, a process per
#                                              role, run in the test VM
#
# <prog> is connect, route, failure, reduction or wait (<prog>_test.c). Suite
# `multinode`: check-multinode runs the native programs ->
# $(RESULTS)/multinode.result (their TAP in $(MN_OUT)/tap/, written to a
# directory of its own per run so that two runs do not mix);
# the kernel ones run with the rest of the VM suite (check-vm), or alone
# with `make multinode-vm-test`. Documentation/multinode-tests.rst.

MN_PROGS   := connect route failure reduction wait
MN_OUT     := $(BUILD)/multinode
MN_KSFT     = $(eval MN_KSFT := $(shell $(CURDIR)/tools/linux-source)/tools/testing/selftests)$(MN_KSFT)
MN_CFLAGS   = -std=gnu11 -D_GNU_SOURCE \
	      $(filter-out -Wmissing-prototypes,$(WARN)) \
	      -I$(CURDIR)/include -I$(CURDIR) -isystem $(MN_KSFT)

MN_NATIVE_BINS := $(foreach p,$(MN_PROGS),$(MN_OUT)/asan/$(p)-inprocess \
		    $(MN_OUT)/tsan/$(p)-threaded $(MN_OUT)/asan/$(p)-socket \
		    $(MN_OUT)/asan/$(p)-async \
		    $(MN_OUT)/tsan/$(p)-async-threaded)
# The async variant under TSan alone: make multinode-async-tsan.
MN_ASYNC_TSAN_BINS := $(foreach p,$(MN_PROGS),$(MN_OUT)/tsan/$(p)-async-threaded)
MN_VM_BINS     := $(foreach p,$(MN_PROGS),$(BUILD)/vm-tests/multinode-$(p)-kernel)

ALL_TARGETS  += $(MN_NATIVE_BINS) $(MN_VM_BINS) $(MN_ASYNC_TSAN_BINS)
SUITES       += multinode
DEB_PACKAGES += linux-source
EXTRA_HELP   += multinode-vm-test multinode-async-tsan

MN_HEADERS := tests/multinode/mn.h tests/multinode/mn_test.h

# Objects are intermediate files of pattern rules: keep them.
.PRECIOUS: $(MN_OUT)/obj/asan/%.o $(MN_OUT)/obj/tsan/%.o

$(MN_OUT)/obj/asan/%.o: tests/multinode/%.c $(MN_HEADERS)
	@test -f $(MN_KSFT)/kselftest_harness.h || \
		{ echo "kselftest_harness.h not found (install linux-source)"; \
		  exit 1; }
	@mkdir -p $(@D)
	$(CC) $(MN_CFLAGS) $(VARIANT_CFLAGS_asan) -c $< -o $@

$(MN_OUT)/obj/tsan/%.o: tests/multinode/%.c $(MN_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(MN_CFLAGS) $(VARIANT_CFLAGS_tsan) -c $< -o $@

# $(1): sanitizer, $(2): variant
mn_link_deps = $(MN_OUT)/obj/$(1)/mn.o $(MN_OUT)/obj/$(1)/variant_$(2).o \
	       $(BUILD)/$(1)/libipcz-drivers.a $(BUILD)/$(1)/libipcz.a

define mn_link
	@mkdir -p $(@D)
	$(CC) $(VARIANT_LDFLAGS_$(1)) $(filter %.o,$^) \
		-Wl,--start-group $(filter %.a,$^) -Wl,--end-group \
		-lpthread -o $@
endef

$(MN_OUT)/asan/%-inprocess: $(MN_OUT)/obj/asan/%_test.o \
		$(call mn_link_deps,asan,inprocess)
	$(call mn_link,asan)

$(MN_OUT)/asan/%-socket: $(MN_OUT)/obj/asan/%_test.o \
		$(call mn_link_deps,asan,socket)
	$(call mn_link,asan)

# The strict driver is built by tests/contract/build.mk.
$(MN_OUT)/asan/%-async: $(MN_OUT)/obj/asan/%_test.o \
		$(BUILD)/contract/obj/asan/strict_driver.o \
		$(call mn_link_deps,asan,async)
	$(call mn_link,asan)

$(MN_OUT)/tsan/%-async-threaded: $(MN_OUT)/obj/tsan/%_test.o \
		$(BUILD)/contract/obj/tsan/strict_driver.o \
		$(call mn_link_deps,tsan,async)
	$(call mn_link,tsan)

$(MN_OUT)/tsan/%-threaded: $(MN_OUT)/obj/tsan/%_test.o \
		$(call mn_link_deps,tsan,threaded)
	$(call mn_link,tsan)

$(BUILD)/vm-tests/multinode-%-kernel: $(MN_OUT)/obj/asan/%_test.o \
		$(call mn_link_deps,asan,kernel)
	$(call mn_link,asan)

.PHONY: check-multinode multinode-vm-test multinode-async-tsan
check-multinode: $(MN_NATIVE_BINS)
	@mkdir -p $(RESULTS)
	@rm -f $(RESULTS)/multinode.result
	@dir=$(MN_OUT)/tap.$$$$; rm -rf $$dir; mkdir -p $$dir; \
	for t in $(MN_NATIVE_BINS); do \
		n=$$(basename $$t); \
		tests/multinode/run-tap $$t > $$dir/$$n.tap; \
		cat $$dir/$$n.tap; \
	done; \
	for t in $(filter %-async,$(MN_NATIVE_BINS)); do \
		n=$$(basename $$t); \
		SD_SYNC=1 tests/multinode/run-tap $$t | \
			sed "s/ $$n: / $$n+sync: /" > $$dir/$$n+sync.tap; \
		cat $$dir/$$n+sync.tap; \
	done; \
	tools/check/tap-count $(RESULTS)/multinode.result $$dir/*.tap; \
	rm -rf $(MN_OUT)/tap; mv $$dir $(MN_OUT)/tap

# The async variant under TSan only, outside the suite's accounting.
multinode-async-tsan: $(MN_ASYNC_TSAN_BINS)
	@for t in $(MN_ASYNC_TSAN_BINS); do tests/multinode/run-tap $$t; done

# Only the kernel variant, in the VM, outside the VM suite's accounting.
multinode-vm-test: $(MN_VM_BINS)
	@$(MAKE) --no-print-directory vm-initramfs
	@$(CURDIR)/tools/vm/run -T 1200 -- 'for t in /tests/multinode-*; do \
		echo "# $$t"; $$t; done'
