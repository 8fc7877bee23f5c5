# SPDX-License-Identifier: MIT
#
# Top-level build for ipcz for Linux.
#
# Every part of the tree describes itself in a build.mk fragment next to its
# sources; this file only holds what they share. A fragment may append to:
#
#   ALL_TARGETS   files or phony targets that `make` (all) must produce
#   SUITES        names of test suites; each has a target check-<name> that
#                 writes $(RESULTS)/<name>.result as "<passed> <failed>"
#   DEB_PACKAGES  Debian packages needed to build or test that part
#
# `make check` installs missing packages, builds everything, runs every
# suite in turn and ends with one line "N passed, N failed".

BUILD   ?= $(CURDIR)/build
RESULTS := $(BUILD)/results
CACHE   ?= $(HOME)/.cache/ipcz

# The Debian kernel we build the module for and boot in the VM: the one that
# the linux-headers-amd64 meta-package points at.
# Recomputed by every sub-make while empty: `make check` installs the headers
# after the top-level make has already read this.
ifeq ($(strip $(KVER)),)
KVER    := $(shell $(CURDIR)/tools/kver)
endif

CC      ?= gcc
CSTD    := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wno-unused-parameter
CFLAGS  ?= -O2 -g
BASE_CFLAGS := $(CSTD) $(WARN) -I$(CURDIR)/include -I$(CURDIR)

ALL_TARGETS  :=
SUITES       :=
DEB_PACKAGES := build-essential make pkg-config python3

export BUILD RESULTS CACHE KVER

# Userspace objects are built in variants, each under $(BUILD)/<variant>/obj/
# mirroring the source path:
#   rel   the installed libraries and tools
#   asan  AddressSanitizer + UndefinedBehaviorSanitizer, for the test builds
#   tsan  ThreadSanitizer, for the tests where threads meet
# $(call objs,<variant>,<sources>) names the objects of a source list.
VARIANTS := rel asan tsan
VARIANT_CFLAGS_rel  := $(CFLAGS) -fPIC -fvisibility=hidden
VARIANT_CFLAGS_asan := -O1 -g -fPIC -fno-omit-frame-pointer \
		       -fsanitize=address,undefined -fno-sanitize-recover=all
VARIANT_CFLAGS_tsan := -O1 -g -fPIC -fsanitize=thread
VARIANT_LDFLAGS_rel  :=
VARIANT_LDFLAGS_asan := -fsanitize=address,undefined
VARIANT_LDFLAGS_tsan := -fsanitize=thread

objs = $(patsubst %.c,$(BUILD)/$(1)/obj/%.o,$(filter %.c,$(2)))

define variant_rule
$(BUILD)/$(1)/obj/%.o: %.c
	@mkdir -p $$(@D)
	$$(CC) $$(BASE_CFLAGS) $$(VARIANT_CFLAGS_$(1)) -MMD -MP -c $$< -o $$@
endef
$(foreach v,$(VARIANTS),$(eval $(call variant_rule,$(v))))

.PHONY: all check deps clean distclean help
all:

FRAGMENTS := $(sort $(wildcard */build.mk */*/build.mk))
include $(FRAGMENTS)

all: $(ALL_TARGETS)

.PHONY: $(addprefix check-,$(SUITES))

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Install whatever Debian packages the fragments ask for and are missing.
# On a fresh machine KVER is still empty here (no linux-headers-amd64 yet):
# the versioned names it would complete are dropped, and the meta-packages
# pull in those very versions. Later sub-makes see the installed KVER.
deps:
	@$(CURDIR)/tools/check/deps $(filter-out %-,$(sort $(DEB_PACKAGES)))

# Suites run one after another (the VM and KUnit each want both cores); a
# suite that cannot even run counts as one failure.
check: deps
	@$(MAKE) --no-print-directory all
	@rm -rf $(RESULTS) && mkdir -p $(RESULTS)
	@for s in $(SUITES); do \
		echo "=== suite $$s ==="; \
		$(MAKE) --no-print-directory check-$$s || \
			echo "suite $$s exited with an error"; \
	done; \
	$(CURDIR)/tools/check/summarize $(RESULTS) $(SUITES)

clean:
	rm -rf $(BUILD)
	$(MAKE) -C kmod clean 2>/dev/null || true

distclean: clean
	rm -rf $(CACHE)

help:
	@echo "targets: all check deps clean distclean $(EXTRA_HELP)"
	@echo "suites:  $(SUITES)"
