# SPDX-License-Identifier: MIT
#
# tests/lib: libipcz's internal unit tests (handle table, sequenced queue,
# trap set, portals, merge chains, boxes, threads, node links, relay of
# driver objects, allocation delegation), kselftest harness (TAP).
# Every test is built against the ASan+UBSan archives; the threaded ones
# also against the TSan archives. Suite `lib`: check-lib ->
# $(RESULTS)/lib.result. TSan binaries run without address-space
# randomization (setarch -R), which TSan's fixed shadow layout needs on
# newer kernels; each binary gets ten minutes.

LIBTEST_OUT      := $(BUILD)/tests/lib
LIBTEST_ASAN     := handle_table_test sequenced_queue_test trap_set_test \
		    portal_test transaction_test merge_test box_test \
		    threads_test inprocess_driver_test api_fuzz_test \
		    node_link_test socket_link_test introspect_test \
		    route_edge_test bypass_test relay_test delegate_test
LIBTEST_TSAN     := handle_table_test threads_test merge_test \
		    inprocess_driver_test node_link_test socket_link_test \
		    bypass_test relay_test delegate_test
# Measured on the release build, where malloc is the real one.
LIBTEST_REL      := portal_memory
LIBTEST_BINS     := $(addprefix $(LIBTEST_OUT)/asan/,$(LIBTEST_ASAN)) \
		    $(addprefix $(LIBTEST_OUT)/tsan/,$(LIBTEST_TSAN)) \
		    $(addprefix $(LIBTEST_OUT)/rel/,$(LIBTEST_REL))
# The harness wants GNU C, defines test functions without prototypes and
# compares plain integer literals with unsigned values;
# its directory is looked up when a recipe runs.
LIBTEST_CFLAGS    = $(BASE_CFLAGS) -std=gnu11 -Wno-missing-prototypes -Wno-sign-compare \
		    -I$$($(CURDIR)/tools/linux-source)/tools/testing/selftests

ALL_TARGETS  += $(LIBTEST_BINS)
SUITES       += lib
DEB_PACKAGES += linux-source

define libtest_variant_rule
$(LIBTEST_OUT)/$(1)/%: tests/lib/%.c tests/lib/lib_test.h tests/lib/net_fixture.h \
		tests/lib/nodes_fixture.h \
		$(BUILD)/$(1)/libipcz.a $(BUILD)/$(1)/libipcz-drivers.a
	@mkdir -p $$(@D)
	$$(CC) $$(LIBTEST_CFLAGS) $$(VARIANT_CFLAGS_$(1)) -o $$@ $$< \
		$(BUILD)/$(1)/libipcz.a $(BUILD)/$(1)/libipcz-drivers.a \
		$$(VARIANT_LDFLAGS_$(1)) -lpthread
endef
$(foreach v,asan tsan,$(eval $(call libtest_variant_rule,$(v))))

$(LIBTEST_OUT)/rel/%: tests/lib/%.c $(BUILD)/lib/libipcz.a \
		$(BUILD)/lib/libipcz-drivers.a
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/lib/libipcz.a \
		$(BUILD)/lib/libipcz-drivers.a -lpthread

.PHONY: check-lib
check-lib: $(LIBTEST_BINS)
	@rm -rf $(RESULTS)/lib.result $(LIBTEST_OUT)/tap
	@mkdir -p $(RESULTS) $(LIBTEST_OUT)/tap
	@for bin in $(LIBTEST_BINS); do \
		name=$$(basename $$(dirname $$bin))-$$(basename $$bin); \
		echo "# $$name"; \
		run=; case $$bin in */tsan/*) run="setarch -R";; esac; \
		timeout 600 $$run $$bin > $(LIBTEST_OUT)/tap/$$name.tap 2>&1; \
		status=$$?; \
		cat $(LIBTEST_OUT)/tap/$$name.tap; \
		if [ $$status -ne 0 ] && \
		   ! grep -q '^not ok' $(LIBTEST_OUT)/tap/$$name.tap; then \
			echo "not ok 1 $$name exited with status $$status" | \
				tee -a $(LIBTEST_OUT)/tap/$$name.tap; \
		fi; \
	done
	@tools/check/tap-count $(RESULTS)/lib.result $(LIBTEST_OUT)/tap/*.tap
