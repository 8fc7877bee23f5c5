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

KMOD_STYLE_FILES := $(sort $(wildcard kmod/*.c kmod/*.h)) uapi/linux/ipcz.h
KMOD_STYLE_TAP   := $(BUILD)/kmod/checkpatch.tap

.PHONY: kmod-checkpatch check-kmod-checkpatch
kmod-checkpatch:
	@$$($(CURDIR)/tools/linux-source)/scripts/checkpatch.pl --no-tree -f \
		$(KMOD_STYLE_FILES)

# A suite: one TAP case per file, passing when checkpatch has nothing to
# say about it. Without the kernel tree (and so checkpatch) there is no
# result at all.
SUITES += kmod-checkpatch
check-kmod-checkpatch:
	@mkdir -p $(RESULTS) $(dir $(KMOD_STYLE_TAP))
	@rm -f $(RESULTS)/kmod-checkpatch.result
	@src=$$($(CURDIR)/tools/linux-source) || exit 0; \
	n=0; { echo "TAP version 13"; \
	echo "1..$(words $(KMOD_STYLE_FILES))"; \
	for f in $(KMOD_STYLE_FILES); do n=$$((n + 1)); \
		if out=$$($$src/scripts/checkpatch.pl --no-tree --quiet -f $$f); \
		then echo "ok $$n $$f"; \
		else echo "not ok $$n $$f"; echo "$$out" | sed 's/^/# /'; fi; \
	done; } > $(KMOD_STYLE_TAP); \
	cat $(KMOD_STYLE_TAP); \
	$(CURDIR)/tools/check/tap-count $(RESULTS)/kmod-checkpatch.result \
		$(KMOD_STYLE_TAP)
