# SPDX-License-Identifier: MIT
#
# tests/socket: driver-level tests of the socket driver (drivers/socket/),
# kselftest harness programs printing TAP, each built twice: with
# AddressSanitizer + UBSan and with ThreadSanitizer. They link the driver's
# own objects, so they need nothing else from the tree.
# Suite `socket`: check-socket -> $(RESULTS)/socket.result.

SOCKET_TEST_OUT      := $(BUILD)/socket-tests
SOCKET_TEST_PROGRAMS := transport process memory hostile
SOCKET_TEST_COMMON   := tests/socket/recorder.c
SOCKET_TEST_VARIANTS := asan tsan

SOCKET_TEST_KSFT = $(eval SOCKET_TEST_KSFT := $(shell $(CURDIR)/tools/linux-source)/tools/testing/selftests)$(SOCKET_TEST_KSFT)

# gnu11 for the harness's GNU extensions; its header is a system header so
# that its own code stays out of our warning set.
SOCKET_TEST_CFLAGS = -std=gnu11 -D_GNU_SOURCE \
		     $(filter-out -Wmissing-prototypes,$(WARN)) \
		     -I$(CURDIR)/include -I$(CURDIR) -isystem $(SOCKET_TEST_KSFT)

SOCKET_TEST_BINS := $(foreach v,$(SOCKET_TEST_VARIANTS),\
	$(patsubst %,$(SOCKET_TEST_OUT)/$(v)/socket-%-test,\
		$(SOCKET_TEST_PROGRAMS)))

ALL_TARGETS  += $(SOCKET_TEST_BINS)
SUITES       += socket
DEB_PACKAGES += linux-source

define socket_test_variant_rules
$(SOCKET_TEST_OUT)/$(1)/obj/%.o: tests/socket/%.c
	@test -f $$(SOCKET_TEST_KSFT)/kselftest_harness.h || \
		{ echo "kselftest_harness.h not found (install linux-source)"; \
		  exit 1; }
	@mkdir -p $$(@D)
	$$(CC) $$(SOCKET_TEST_CFLAGS) $$(VARIANT_CFLAGS_$(1)) -MMD -MP \
		-c $$< -o $$@

$(SOCKET_TEST_OUT)/$(1)/socket-%-test: \
		$(SOCKET_TEST_OUT)/$(1)/obj/%_test.o \
		$(patsubst tests/socket/%.c,$(SOCKET_TEST_OUT)/$(1)/obj/%.o,\
			$(SOCKET_TEST_COMMON)) \
		$(call objs,$(1),$(SOCKET_DRIVER_SRCS))
	$$(CC) $$(VARIANT_LDFLAGS_$(1)) $$^ -lpthread -o $$@
endef
$(foreach v,$(SOCKET_TEST_VARIANTS),\
	$(eval $(call socket_test_variant_rules,$(v))))

# TSan refuses threads in a child forked from a threaded parent unless
# told otherwise; the process tests fork after the driver's thread runs.
SOCKET_TEST_ENV := TSAN_OPTIONS="die_after_fork=0 halt_on_error=1" \
		   ASAN_OPTIONS="detect_leaks=1"

.PHONY: check-socket
check-socket: $(SOCKET_TEST_BINS)
	@mkdir -p $(RESULTS)
	@rm -f $(RESULTS)/socket.result
	@set -e; taps=; \
	for v in $(SOCKET_TEST_VARIANTS); do \
		for p in $(SOCKET_TEST_PROGRAMS); do \
			t=$(SOCKET_TEST_OUT)/$$v/socket-$$p-test; \
			echo "# $$v: socket-$$p-test"; \
			$(SOCKET_TEST_ENV) $$t > $$t.tap 2>&1 || true; \
			cat $$t.tap; taps="$$taps $$t.tap"; \
		done; \
	done; \
	tools/check/tap-count $(RESULTS)/socket.result $$taps
