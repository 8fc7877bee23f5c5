# SPDX-License-Identifier: MIT
#
# ipcz.ko, built out of tree against /usr/src/linux-headers-$(KVER).
#
# Kbuild writes its objects next to the sources, so the sources (kmod/ and
# the uapi header it includes as <linux/ipcz.h>) are copied to
# $(KMOD_TREE) first and built there: the source tree stays clean.
#
#   make $(BUILD)/kmod/ipcz.ko    the module
#   make kmod-checkpatch          checkpatch on kmod/ and the uapi header

KMOD_TREE    := $(BUILD)/kmod/tree
KMOD_SOURCES := $(wildcard kmod/*.c kmod/*.h) kmod/Kbuild kmod/Makefile \
		uapi/linux/ipcz.h
KMOD_KDIR    := /usr/src/linux-headers-$(KVER)

ALL_TARGETS  += $(BUILD)/kmod/ipcz.ko
DEB_PACKAGES += linux-headers-amd64 $(if $(KVER),linux-headers-$(KVER)) \
		linux-source kmod
EXTRA_HELP   += kmod-checkpatch

$(BUILD)/kmod/ipcz.ko: $(KMOD_SOURCES)
	@mkdir -p $(KMOD_TREE)/kmod $(KMOD_TREE)/uapi/linux
	@cp -p $(filter kmod/%,$(KMOD_SOURCES)) $(KMOD_TREE)/kmod/
	@cp -p uapi/linux/ipcz.h $(KMOD_TREE)/uapi/linux/
	$(MAKE) -C $(KMOD_TREE)/kmod KVER=$(KVER) KDIR=$(KMOD_KDIR)
	@cp $(KMOD_TREE)/kmod/ipcz.ko $@

.PHONY: kmod-checkpatch
kmod-checkpatch:
	@$$($(CURDIR)/tools/linux-source)/scripts/checkpatch.pl --no-tree -f \
		kmod/*.c kmod/*.h uapi/linux/ipcz.h
