# SPDX-License-Identifier: MIT
#
# tests/driver: the driver conformance suite (driver_test.c), written only
# against the IpczDriver table and run once per driver, plus tests of what
# the kernel driver and the default choice offer beyond it. All kselftest
# harness programs (TAP) built with AddressSanitizer + UBSan:
#
#   $(BUILD)/driver-tests/driver-test    conformance: socket and in-process
#   $(BUILD)/driver-tests/default-test   the default driver choice
#                                        (both run natively by check-driver)
#   $(BUILD)/vm-tests/driver-kernel      conformance: the kernel driver
#   $(BUILD)/vm-tests/driver-kernel-api  kernel_test.c: rendezvous, fds,
#                                        credentials, empties, hostile peer
#   $(BUILD)/vm-tests/driver-kernel-kill kill_test.c: libipcz over the
#                                        kernel driver, a peer SIGKILLed
#                                        at random moments
#   $(BUILD)/vm-tests/driver-default     default_test.c, with the module
#                                        (these four run in the test VM
#                                        with the rest of vm-tests)
#   $(BUILD)/vm-bin/driver-pingpong      round-trip latency per driver
#                                        (release build, not a test;
#                                        `make driver-bench` runs it in
#                                        the VM)
#
# Suite `driver`: check-driver -> $(RESULTS)/driver.result.
# `make driver-vm-test` runs only the kernel variant in the VM.

DRIVER_TEST_OUT    := $(BUILD)/driver-tests
DRIVER_TEST_NATIVE := $(DRIVER_TEST_OUT)/driver-test
DRIVER_TEST_KERNEL := $(BUILD)/vm-tests/driver-kernel
DRIVER_TEST_DEFAULT := $(DRIVER_TEST_OUT)/default-test
DRIVER_TEST_KILL   := $(BUILD)/vm-tests/driver-kernel-kill
DRIVER_TEST_VM_EXTRA := $(BUILD)/vm-tests/driver-kernel-api \
			$(BUILD)/vm-tests/driver-default $(DRIVER_TEST_KILL)
DRIVER_TEST_COMMON := activity_log driver_variants

DRIVER_TEST_KSFT = $(eval DRIVER_TEST_KSFT := $(shell $(CURDIR)/tools/linux-source)/tools/testing/selftests)$(DRIVER_TEST_KSFT)

# gnu11 for the harness's GNU extensions; its header is a system header so
# that its own code stays out of our warning set.
DRIVER_TEST_CFLAGS = -std=gnu11 -D_GNU_SOURCE \
		     $(filter-out -Wmissing-prototypes,$(WARN)) \
		     -I$(CURDIR)/include -I$(CURDIR) -isystem $(DRIVER_TEST_KSFT) \
		     $(VARIANT_CFLAGS_asan)

DRIVER_PINGPONG := $(BUILD)/vm-bin/driver-pingpong

ALL_TARGETS  += $(DRIVER_TEST_NATIVE) $(DRIVER_TEST_KERNEL) \
		$(DRIVER_TEST_DEFAULT) $(DRIVER_TEST_VM_EXTRA) $(DRIVER_PINGPONG)
SUITES       += driver
DEB_PACKAGES += linux-source
EXTRA_HELP   += driver-vm-test driver-bench

$(DRIVER_TEST_OUT)/obj/%.o: tests/driver/%.c
	@test -f $(DRIVER_TEST_KSFT)/kselftest_harness.h || \
		{ echo "kselftest_harness.h not found (install linux-source)"; \
		  exit 1; }
	@mkdir -p $(@D)
	$(CC) $(DRIVER_TEST_CFLAGS) -MMD -MP -c $< -o $@

$(DRIVER_TEST_OUT)/obj/driver_test_kernel.o: tests/driver/driver_test.c
	@mkdir -p $(@D)
	$(CC) $(DRIVER_TEST_CFLAGS) -DDRIVER_TEST_KERNEL -MMD -MP -c $< -o $@

DRIVER_TEST_COMMON_OBJS := \
	$(patsubst %,$(DRIVER_TEST_OUT)/obj/%.o,$(DRIVER_TEST_COMMON))

$(DRIVER_TEST_NATIVE): $(DRIVER_TEST_OUT)/obj/driver_test.o \
		$(DRIVER_TEST_COMMON_OBJS) $(IPCZ_DRIVERS_ASAN_A)
	$(CC) $(VARIANT_LDFLAGS_asan) $^ -lpthread -o $@

$(DRIVER_TEST_KERNEL): $(DRIVER_TEST_OUT)/obj/driver_test_kernel.o \
		$(DRIVER_TEST_COMMON_OBJS) $(IPCZ_DRIVERS_ASAN_A)
	@mkdir -p $(@D)
	$(CC) $(VARIANT_LDFLAGS_asan) $^ -lpthread -o $@

$(DRIVER_TEST_DEFAULT): $(DRIVER_TEST_OUT)/obj/default_test.o \
		$(IPCZ_DRIVERS_ASAN_A)
	$(CC) $(VARIANT_LDFLAGS_asan) $^ -lpthread -o $@

# libipcz on top of the kernel driver: peers killed at random moments.
$(DRIVER_TEST_KILL): $(DRIVER_TEST_OUT)/obj/kill_test.o $(LIBIPCZ_ASAN_A) \
		$(IPCZ_DRIVERS_ASAN_A)
	@mkdir -p $(@D)
	$(CC) $(VARIANT_LDFLAGS_asan) $(filter %.o,$^) \
		-Wl,--start-group $(filter %.a,$^) -Wl,--end-group \
		-lpthread -o $@

$(BUILD)/vm-tests/driver-default: $(DRIVER_TEST_OUT)/obj/default_test.o \
		$(IPCZ_DRIVERS_ASAN_A)
	@mkdir -p $(@D)
	$(CC) $(VARIANT_LDFLAGS_asan) $^ -lpthread -o $@

$(BUILD)/vm-tests/driver-kernel-api: $(DRIVER_TEST_OUT)/obj/kernel_test.o \
		$(DRIVER_TEST_OUT)/obj/activity_log.o $(IPCZ_DRIVERS_ASAN_A)
	@mkdir -p $(@D)
	$(CC) $(VARIANT_LDFLAGS_asan) $^ -lpthread -o $@

DRIVER_TEST_NATIVE_PROGRAMS := $(DRIVER_TEST_NATIVE) $(DRIVER_TEST_DEFAULT)

$(DRIVER_PINGPONG): $(call objs,rel,tests/driver/driver_pingpong.c) \
		$(IPCZ_DRIVERS_A)
	@mkdir -p $(@D)
	$(CC) $^ -lpthread -o $@

.PHONY: check-driver driver-vm-test driver-bench
check-driver: $(DRIVER_TEST_NATIVE_PROGRAMS)
	@mkdir -p $(RESULTS)
	@rm -f $(RESULTS)/driver.result
	@taps=; for t in $(DRIVER_TEST_NATIVE_PROGRAMS); do \
		ASAN_OPTIONS=detect_leaks=1 $$t > $$t.tap 2>&1 || true; \
		cat $$t.tap; taps="$$taps $$t.tap"; \
	done; \
	tools/check/tap-count $(RESULTS)/driver.result $$taps

# Only this part's VM programs, through tools/vm/run (no leak checks of
# the whole VM suite; `make vm-test` has those).
driver-vm-test: $(DRIVER_TEST_KERNEL) $(DRIVER_TEST_VM_EXTRA)
	@$(MAKE) --no-print-directory vm-initramfs
	@$(CURDIR)/tools/vm/run -T 900 -- 'for t in /tests/driver-*; do \
		echo "# $$t"; $$t; done'

driver-bench: $(DRIVER_PINGPONG)
	@$(MAKE) --no-print-directory vm-initramfs
	@$(CURDIR)/tools/vm/run -T 600 -- driver-pingpong 2000
