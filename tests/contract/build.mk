# SPDX-License-Identifier: MIT
#
# tests/contract: libipcz against the strict driver (strict_driver.c), an
# asynchronous in-process IpczDriver that checks every rule of the driver
# contract in include/ipcz/ipcz.h, plus the documented results of every
# API function. Each <name>_test.c is one kselftest-harness program (TAP),
# built twice: AddressSanitizer+UBSan and ThreadSanitizer (the driver
# delivers on its own threads); the ASan build runs a second time over
# the driver's synchronous delivery (SD_SYNC=1). Suite `contract`:
# check-contract -> $(RESULTS)/contract.result.
# Documentation/contract-tests.rst.

CT_TESTS := $(patsubst tests/contract/%_test.c,%,$(wildcard tests/contract/*_test.c))
CT_OUT   := $(BUILD)/contract

CT_KSFT    = $(eval CT_KSFT := $(shell $(CURDIR)/tools/linux-source)/tools/testing/selftests)$(CT_KSFT)
CT_CFLAGS  = -std=gnu11 -D_GNU_SOURCE $(WARN) -Wno-missing-prototypes \
	     -I$(CURDIR)/include -I$(CURDIR) -isystem $(CT_KSFT)
CT_HEADERS := tests/contract/contract.h tests/contract/strict_driver.h

CT_BINS := $(foreach v,asan tsan,\
	     $(patsubst %,$(CT_OUT)/$(v)/%_test,$(CT_TESTS)))

ALL_TARGETS  += $(CT_BINS)
SUITES       += contract
DEB_PACKAGES += linux-source

.PRECIOUS: $(CT_OUT)/obj/asan/%.o $(CT_OUT)/obj/tsan/%.o

define ct_compile_rule
$(CT_OUT)/obj/$(1)/%.o: tests/contract/%.c $(CT_HEADERS)
	@test -f $$(CT_KSFT)/kselftest_harness.h || \
		{ echo "kselftest_harness.h not found (install linux-source)"; \
		  exit 1; }
	@mkdir -p $$(@D)
	$$(CC) $$(CT_CFLAGS) $$(VARIANT_CFLAGS_$(1)) -c $$< -o $$@
endef
$(foreach v,asan tsan,$(eval $(call ct_compile_rule,$(v))))

define ct_link_rule
$(CT_OUT)/$(1)/%_test: $(CT_OUT)/obj/$(1)/%_test.o \
		$(CT_OUT)/obj/$(1)/strict_driver.o $(BUILD)/$(1)/libipcz.a
	@mkdir -p $$(@D)
	$$(CC) $$(VARIANT_LDFLAGS_$(1)) $$(filter %.o,$$^) \
		$$(filter %.a,$$^) -lpthread -o $$@
endef
$(foreach v,asan tsan,$(eval $(call ct_link_rule,$(v))))

.PHONY: check-contract
check-contract: $(CT_BINS)
	@mkdir -p $(RESULTS)
	@rm -f $(RESULTS)/contract.result
	@dir=$(CT_OUT)/tap.$$$$; rm -rf $$dir; mkdir -p $$dir; \
	for t in $(CT_BINS); do \
		v=$$(basename $$(dirname $$t)); n=$$(basename $$t); \
		tests/contract/run-tap $$t > $$dir/$$v-$$n.tap; \
		cat $$dir/$$v-$$n.tap; \
	done; \
	for t in $(filter $(CT_OUT)/asan/%,$(CT_BINS)); do \
		n=$$(basename $$t); \
		SD_SYNC=1 tests/contract/run-tap $$t > $$dir/sync-$$n.tap; \
		cat $$dir/sync-$$n.tap; \
	done; \
	tools/check/tap-count $(RESULTS)/contract.result $$dir/*.tap; \
	rm -rf $(CT_OUT)/tap; mv $$dir $(CT_OUT)/tap
