# SPDX-License-Identifier: MIT
#
# tests/api: black-box tests of the whole public API within one process,
# through include/ipcz/ipcz.h and the in-process driver only. Each
# <name>_test.c is one kselftest-harness program (TAP); every program is
# built with AddressSanitizer+UBSan, and the threaded ones with
# ThreadSanitizer as well. Suite `api`: check-api -> $(RESULTS)/api.result.

API_TESTS      := $(patsubst tests/api/%_test.c,%,$(wildcard tests/api/*_test.c))
API_TSAN_TESTS := $(filter trap thread fuzz,$(API_TESTS))
API_OUT        := $(BUILD)/api

# The harness lives in Debian's linux-source (unpacked on first use); it
# needs GNU C. Deferred (=) so that only building these tests unpacks it.
API_KSFT_DIR = $(shell tools/linux-source)/tools/testing/selftests
API_CFLAGS   = -std=gnu11 -D_GNU_SOURCE $(WARN) -Wno-missing-prototypes \
	       -I$(CURDIR)/include -I$(CURDIR) -isystem $(API_KSFT_DIR)

api_objs = $(patsubst %,$(BUILD)/$(1)/obj/tests/api/%.o,$(2))
API_ASAN_OBJS := $(call api_objs,asan,$(addsuffix _test,$(API_TESTS)) \
		   test_driver)
API_TSAN_OBJS := $(call api_objs,tsan,$(addsuffix _test,$(API_TSAN_TESTS)) \
		   test_driver)
API_ASAN_BINS := $(patsubst %,$(API_OUT)/asan/%_test,$(API_TESTS))
API_TSAN_BINS := $(patsubst %,$(API_OUT)/tsan/%_test,$(API_TSAN_TESTS))

# The programs link with libipcz and the drivers (lib/build.mk); without
# them `make` still compiles every test.
ALL_TARGETS  += $(API_ASAN_OBJS) $(API_TSAN_OBJS)
ifneq ($(wildcard lib/build.mk),)
ALL_TARGETS  += $(API_ASAN_BINS) $(API_TSAN_BINS)
endif
SUITES       += api
DEB_PACKAGES += linux-source

$(API_ASAN_OBJS): $(BUILD)/asan/obj/tests/api/%.o: tests/api/%.c
	@mkdir -p $(@D)
	$(CC) $(API_CFLAGS) $(VARIANT_CFLAGS_asan) -MMD -MP -c $< -o $@

$(API_TSAN_OBJS): $(BUILD)/tsan/obj/tests/api/%.o: tests/api/%.c
	@mkdir -p $(@D)
	$(CC) $(API_CFLAGS) $(VARIANT_CFLAGS_tsan) -MMD -MP -c $< -o $@

define api_link_rule
$(API_OUT)/$(1)/%_test: $(BUILD)/$(1)/obj/tests/api/%_test.o \
		$(BUILD)/$(1)/obj/tests/api/test_driver.o \
		$(BUILD)/$(1)/libipcz-drivers.a $(BUILD)/$(1)/libipcz.a
	@mkdir -p $$(@D)
	$$(CC) $$(VARIANT_LDFLAGS_$(1)) $$(filter %.o,$$^) \
		-Wl,--start-group $$(filter %.a,$$^) -Wl,--end-group \
		-lpthread -o $$@
endef
$(foreach v,asan tsan,$(eval $(call api_link_rule,$(v))))

.PHONY: check-api
check-api: $(API_ASAN_BINS) $(API_TSAN_BINS)
	@mkdir -p $(RESULTS) $(API_OUT)/tap
	@rm -f $(RESULTS)/api.result $(API_OUT)/tap/*.tap
	@for t in $(API_ASAN_BINS) $(API_TSAN_BINS); do \
		v=$$(basename $$(dirname $$t)); n=$$(basename $$t); \
		tests/api/run-tap $$t > $(API_OUT)/tap/$$v-$$n.tap; \
		cat $(API_OUT)/tap/$$v-$$n.tap; \
	done
	@tools/check/tap-count $(RESULTS)/api.result $(API_OUT)/tap/*.tap
