# SPDX-License-Identifier: MIT
#
# kselftests of /dev/ipcz (selftests/ipcz/). Each test program goes to
# $(BUILD)/vm-tests/, whose executables the VM runner (tools/vm) runs in
# sorted order inside the VM; each prints TAP and exits. On a machine
# without the module every test reports SKIP.
#
# The kselftest harness is used from Debian's linux-source tree, never
# copied: tools/linux-source unpacks it on first use. It is looked up only
# when a selftest is compiled, as unpacking takes a while.

SELFTESTS_SRC := selftests/ipcz

# program name in vm-tests/ -> main source file
SELFTESTS_PROGRAMS := node transport region rendezvous cycle stress ipczctl
SELFTESTS_MAIN_node       := node_test.c
SELFTESTS_MAIN_transport  := transport_test.c
SELFTESTS_MAIN_region     := region_test.c
SELFTESTS_MAIN_rendezvous := rendezvous_test.c
SELFTESTS_MAIN_cycle      := cycle_test.c
SELFTESTS_MAIN_stress     := stress.c
SELFTESTS_MAIN_ipczctl    := ipczctl_test.c

# Programs whose threads share transports: ThreadSanitizer instead.
SELFTESTS_TSAN_PROGRAMS   := threads
SELFTESTS_MAIN_threads    := threads_test.c

SELFTESTS_COMMON := common.c ipcz_ops.c

SELFTESTS_BINS := $(patsubst %,$(BUILD)/vm-tests/ipcz-%,\
		  $(SELFTESTS_PROGRAMS) $(SELFTESTS_TSAN_PROGRAMS))
SELFTESTS_OBJDIR := $(BUILD)/selftests/obj
SELFTESTS_TSAN_OBJDIR := $(BUILD)/selftests/tsan-obj

SELFTESTS_KSFT = $(eval SELFTESTS_KSFT := $(shell $(CURDIR)/tools/linux-source)/tools/testing/selftests)$(SELFTESTS_KSFT)

# gnu11: the harness relies on GNU extensions (typeof, statement macros).
# -isystem keeps the harness's own definitions out of our warning set
# (and its fixture macros define functions without prototypes);
# the macros it expands in our code are still checked.
SELFTESTS_BASE_CFLAGS = -std=gnu11 -D_GNU_SOURCE \
		   $(filter-out -Wmissing-prototypes,$(WARN)) \
		   -I$(CURDIR)/uapi -I$(CURDIR)/$(SELFTESTS_SRC) \
		   -isystem $(SELFTESTS_KSFT)
SELFTESTS_CFLAGS = $(SELFTESTS_BASE_CFLAGS) $(VARIANT_CFLAGS_asan)
SELFTESTS_LDFLAGS = $(VARIANT_LDFLAGS_asan) -pthread

ALL_TARGETS += $(SELFTESTS_BINS)
DEB_PACKAGES += linux-source

SELFTESTS_NEED_HARNESS = @test -f $(SELFTESTS_KSFT)/kselftest_harness.h || \
	{ echo "kselftest_harness.h not found (install linux-source)"; exit 1; }

$(SELFTESTS_OBJDIR)/%.o: $(SELFTESTS_SRC)/%.c
	$(SELFTESTS_NEED_HARNESS)
	@mkdir -p $(@D)
	$(CC) $(SELFTESTS_CFLAGS) -MMD -MP -c $< -o $@

$(SELFTESTS_TSAN_OBJDIR)/%.o: $(SELFTESTS_SRC)/%.c
	$(SELFTESTS_NEED_HARNESS)
	@mkdir -p $(@D)
	$(CC) $(SELFTESTS_BASE_CFLAGS) $(VARIANT_CFLAGS_tsan) -MMD -MP \
		-c $< -o $@

define selftests_program_rule
$(BUILD)/vm-tests/ipcz-$(1): \
		$(SELFTESTS_OBJDIR)/$(SELFTESTS_MAIN_$(1):.c=.o) \
		$(patsubst %.c,$(SELFTESTS_OBJDIR)/%.o,$(SELFTESTS_COMMON))
	@mkdir -p $$(@D)
	$$(CC) $$(SELFTESTS_LDFLAGS) $$^ -o $$@
endef
$(foreach p,$(SELFTESTS_PROGRAMS),$(eval $(call selftests_program_rule,$(p))))

define selftests_tsan_program_rule
$(BUILD)/vm-tests/ipcz-$(1): \
		$(SELFTESTS_TSAN_OBJDIR)/$(SELFTESTS_MAIN_$(1):.c=.o) \
		$(patsubst %.c,$(SELFTESTS_TSAN_OBJDIR)/%.o,$(SELFTESTS_COMMON))
	@mkdir -p $$(@D)
	$$(CC) $$(VARIANT_LDFLAGS_tsan) -pthread $$^ -o $$@
endef
$(foreach p,$(SELFTESTS_TSAN_PROGRAMS),\
	$(eval $(call selftests_tsan_program_rule,$(p))))

# The ipczctl test runs the tool installed in the VM.
$(BUILD)/vm-tests/ipcz-ipczctl: | $(BUILD)/vm-bin/ipczctl

.PHONY: selftests
selftests: $(SELFTESTS_BINS)
