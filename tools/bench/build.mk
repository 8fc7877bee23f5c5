# SPDX-License-Identifier: MIT
#
# tools/bench: ipcz-bench, round-trip latency (64 B, 4 KiB) and 1 MiB
# throughput between two processes over several transports, on two CPUs
# and on one. Not part of `make check`: `make bench` builds and runs it
# (BENCH_ARGS passes options, e.g. BENCH_ARGS="-n 5000 -m 128").
# Documentation/bench.rst has the results.

BENCH_SRCS := \
	tools/bench/bench.c \
	tools/bench/unix_stream.c \
	tools/bench/shm_futex.c \
	tools/bench/driver_transmit.c \
	tools/bench/ipcz_portal.c \
	tools/bench/portals.c
BENCH_BIN := $(BUILD)/bench/ipcz-bench
BENCH_ARGS ?=

ALL_TARGETS += $(BENCH_BIN)
EXTRA_HELP  += bench

# libipcz and the bundled drivers come from lib/build.mk.
$(BENCH_BIN): $(call objs,rel,$(BENCH_SRCS)) \
		$(BUILD)/lib/libipcz-drivers.a $(BUILD)/lib/libipcz.a
	@mkdir -p $(@D)
	$(CC) $(VARIANT_LDFLAGS_rel) $(filter %.o,$^) \
		-Wl,--start-group $(filter %.a,$^) -Wl,--end-group \
		-lpthread -o $@

.PHONY: bench
bench: $(BENCH_BIN)
	$(BENCH_BIN) $(BENCH_ARGS)

# The same program inside the test VM, where /dev/ipcz exists: the kernel
# driver's rows appear beside the socket driver's and AF_UNIX's, from one
# run. The VM emulates its CPUs, so a round trip costs ~100x more there:
# fewer iterations by default, and the figures compare only with each
# other.
VM_BENCH_ARGS ?= -n 1000 -m 16
EXTRA_HELP    += vm-bench

.PHONY: vm-bench
vm-bench: $(BENCH_BIN)
	@$(MAKE) --no-print-directory vm-initramfs
	$(CURDIR)/tools/vm/run -T 1200 -f $(BENCH_BIN):/bin/ipcz-bench -- \
		ipcz-bench $(VM_BENCH_ARGS)
