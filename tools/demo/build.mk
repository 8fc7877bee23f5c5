# SPDX-License-Identifier: MIT
#
# tools/demo: ipcz-demo, three processes A, B and C; a portal sent from B
# through A to C; route reduction takes A out (Documentation/demo.rst).
#
#   make demo       build and run it natively, on the socket driver
#   make vm-demo    run it inside the test VM on the kernel driver, with
#                   ipczctl showing the module's objects
# DEMO_ARGS adds options, e.g. DEMO_ARGS="--round-trips 5000".

DEMO_SRCS := $(wildcard tools/demo/*.c)
DEMO_BIN  := $(BUILD)/demo/ipcz-demo
DEMO_ARGS ?=

ALL_TARGETS += $(DEMO_BIN) $(BUILD)/vm-bin/ipcz-demo
EXTRA_HELP  += demo vm-demo

# The release build: the latencies it prints are the library's.
$(DEMO_BIN): $(call objs,rel,$(DEMO_SRCS)) $(BUILD)/lib/libipcz.a \
		$(BUILD)/lib/libipcz-drivers.a
	@mkdir -p $(@D)
	$(CC) $(VARIANT_LDFLAGS_rel) $^ -lpthread -o $@

$(BUILD)/vm-bin/ipcz-demo: $(DEMO_BIN)
	@mkdir -p $(@D)
	cp $< $@

.PHONY: demo vm-demo
demo: deps
	@$(MAKE) --no-print-directory $(DEMO_BIN)
	$(DEMO_BIN) --driver socket $(DEMO_ARGS)

# The VM's kernel is emulated (TCG): a wait may take a hundred times longer.
vm-demo: deps
	@$(MAKE) --no-print-directory vm-initramfs
	$(CURDIR)/tools/vm/run -- ipcz-demo --driver kernel --ipczctl \
		--timeout-ms 60000 $(DEMO_ARGS)
