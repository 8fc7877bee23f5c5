# SPDX-License-Identifier: MIT
#
# tools/ipczctl: prints the ipcz module's objects from its generic netlink
# family, as tables or JSON (-j). Built on libnl-3 and libnl-genl-3. A copy
# goes to $(BUILD)/vm-bin/, which the VM image installs.

IPCZCTL_SRCS := $(wildcard tools/ipczctl/*.c)
IPCZCTL_OBJS := $(patsubst %.c,$(BUILD)/ipczctl-obj/%.o,$(IPCZCTL_SRCS))

# pkg-config runs only when ipczctl is built, so that `make deps` works
# before libnl is installed.
IPCZCTL_NL_CFLAGS = $(eval IPCZCTL_NL_CFLAGS := $(shell pkg-config --cflags libnl-3.0 libnl-genl-3.0))$(IPCZCTL_NL_CFLAGS)
IPCZCTL_NL_LIBS = $(eval IPCZCTL_NL_LIBS := $(shell pkg-config --libs libnl-3.0 libnl-genl-3.0))$(IPCZCTL_NL_LIBS)

ALL_TARGETS += $(BUILD)/ipczctl $(BUILD)/vm-bin/ipczctl
DEB_PACKAGES += libnl-3-dev libnl-genl-3-dev pkg-config

$(BUILD)/ipczctl-obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -I$(CURDIR)/uapi $(IPCZCTL_NL_CFLAGS) \
		-MMD -MP -c $< -o $@

$(BUILD)/ipczctl: $(IPCZCTL_OBJS)
	$(CC) $(CFLAGS) $^ -o $@ $(IPCZCTL_NL_LIBS)

$(BUILD)/vm-bin/ipczctl: $(BUILD)/ipczctl
	@mkdir -p $(@D)
	cp $< $@

.PHONY: ipczctl
ipczctl: $(BUILD)/ipczctl $(BUILD)/vm-bin/ipczctl

# Host suite "ipczctl": the table and JSON writers, and the command line
# without the module. (ipczctl against the module runs in the VM, from
# selftests/ipcz/ipczctl_test.c.) The harness path, SELFTESTS_KSFT, comes
# from selftests/build.mk.
IPCZCTL_TEST := $(BUILD)/ipczctl-obj/ipczctl_host_test
SUITES += ipczctl
ALL_TARGETS += $(IPCZCTL_TEST)

$(IPCZCTL_TEST): tools/ipczctl/test/ipczctl_host_test.c tools/ipczctl/output.c \
		tools/ipczctl/output.h
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -D_GNU_SOURCE $(filter-out -Wmissing-prototypes,$(WARN)) \
		-isystem $(SELFTESTS_KSFT) $(VARIANT_CFLAGS_asan) \
		$(filter %.c,$^) -o $@ $(VARIANT_LDFLAGS_asan)

check-ipczctl: $(IPCZCTL_TEST) $(BUILD)/ipczctl
	@mkdir -p $(RESULTS)
	@IPCZCTL=$(BUILD)/ipczctl $(IPCZCTL_TEST) > $(BUILD)/ipczctl-obj/host.tap \
		2>&1; cat $(BUILD)/ipczctl-obj/host.tap
	@$(CURDIR)/tools/check/tap-count $(RESULTS)/ipczctl.result \
		$(BUILD)/ipczctl-obj/host.tap
