# SPDX-License-Identifier: MIT
#
# tests/driver: the driver conformance suite (driver_test.c), written only
# against the IpczDriver table and run once per driver. Two programs, both
# kselftest harness (TAP) built with AddressSanitizer + UBSan:
#
#   $(BUILD)/driver-tests/driver-test   socket and in-process drivers,
#                                       run natively by check-driver
#   $(BUILD)/vm-tests/driver-kernel     the kernel driver, run inside the
#                                       test VM with the rest of vm-tests
#
# Suite `driver`: check-driver -> $(RESULTS)/driver.result.
# `make driver-vm-test` runs only the kernel variant in the VM.

DRIVER_TEST_OUT    := $(BUILD)/driver-tests
DRIVER_TEST_NATIVE := $(DRIVER_TEST_OUT)/driver-test
DRIVER_TEST_KERNEL := $(BUILD)/vm-tests/driver-kernel
DRIVER_TEST_COMMON := activity_log driver_variants

DRIVER_TEST_KSFT = $(eval DRIVER_TEST_KSFT := $(shell $(CURDIR)/tools/linux-source)/tools/testing/selftests)$(DRIVER_TEST_KSFT)

# gnu11 for the harness's GNU extensions; its header is a system header so
# that its own code stays out of our warning set.
DRIVER_TEST_CFLAGS = -std=gnu11 -D_GNU_SOURCE \
		     $(filter-out -Wmissing-prototypes,$(WARN)) \
		     -I$(CURDIR)/include -I$(CURDIR) -isystem $(DRIVER_TEST_KSFT) \
		     $(VARIANT_CFLAGS_asan)

ALL_TARGETS  += $(DRIVER_TEST_NATIVE) $(DRIVER_TEST_KERNEL)
SUITES       += driver
DEB_PACKAGES += linux-source
EXTRA_HELP   += driver-vm-test

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

.PHONY: check-driver driver-vm-test
check-driver: $(DRIVER_TEST_NATIVE)
	@mkdir -p $(RESULTS)
	@rm -f $(RESULTS)/driver.result
	@ASAN_OPTIONS=detect_leaks=1 $(DRIVER_TEST_NATIVE) \
		> $(DRIVER_TEST_OUT)/driver-test.tap 2>&1 || true
	@cat $(DRIVER_TEST_OUT)/driver-test.tap
	@tools/check/tap-count $(RESULTS)/driver.result \
		$(DRIVER_TEST_OUT)/driver-test.tap

driver-vm-test: $(DRIVER_TEST_KERNEL)
	@$(MAKE) --no-print-directory vm-initramfs
	@$(CURDIR)/tools/vm/run -T 900 -- /tests/driver-kernel
