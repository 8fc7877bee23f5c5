# SPDX-License-Identifier: MIT
#
# Example programs from Documentation/api-guide.rst. They are built with
# `make` (against the ASan+UBSan archives, so the example doubles as a
# leak and misuse check) and run by the suite `examples`.

EXAMPLES_OUT  := $(BUILD)/examples
EXAMPLES      := hello_portals wait_across_processes
EXAMPLES_BINS := $(addprefix $(EXAMPLES_OUT)/,$(EXAMPLES))

ALL_TARGETS += $(EXAMPLES_BINS)
SUITES      += examples

$(EXAMPLES_OUT)/%: examples/%.c $(BUILD)/asan/libipcz.a \
		   $(BUILD)/asan/libipcz-drivers.a
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(VARIANT_CFLAGS_asan) -o $@ $< \
		$(BUILD)/asan/libipcz.a $(BUILD)/asan/libipcz-drivers.a \
		$(VARIANT_LDFLAGS_asan) -lpthread

# Each example is one TAP test: it passes if it exits with status 0.
.PHONY: check-examples
check-examples: $(EXAMPLES_BINS)
	@mkdir -p $(RESULTS)
	@tap=$(EXAMPLES_OUT)/examples.tap; n=0; \
	echo "TAP version 13" > $$tap; \
	echo "1..$(words $(EXAMPLES))" >> $$tap; \
	for e in $(EXAMPLES); do \
		n=$$((n + 1)); \
		if $(EXAMPLES_OUT)/$$e > $(EXAMPLES_OUT)/$$e.log 2>&1; then \
			echo "ok $$n $$e" >> $$tap; \
		else \
			echo "not ok $$n $$e" >> $$tap; \
		fi; \
		sed 's/^/# /' $(EXAMPLES_OUT)/$$e.log >> $$tap; \
	done; \
	cat $$tap; \
	$(CURDIR)/tools/check/tap-count $(RESULTS)/examples.result $$tap
