# SPDX-License-Identifier: MIT
#
# libipcz: the core library, as a shared object exporting only IpczGetAPI
# and as static archives (release, ASan+UBSan, TSan). The bundled drivers
# go into their own library, libipcz-drivers, built from $(DRIVER_SRCS),
# which each drivers/<name>/build.mk appends to (they are included first).

LIBIPCZ_SRCS := $(sort $(wildcard lib/*.c))

LIBIPCZ_SO      := $(BUILD)/lib/libipcz.so.1
LIBIPCZ_SO_LINK := $(BUILD)/lib/libipcz.so
LIBIPCZ_A       := $(BUILD)/lib/libipcz.a
LIBIPCZ_ASAN_A  := $(BUILD)/asan/libipcz.a
LIBIPCZ_TSAN_A  := $(BUILD)/tsan/libipcz.a

IPCZ_DRIVERS_SO     := $(BUILD)/lib/libipcz-drivers.so
IPCZ_DRIVERS_A      := $(BUILD)/lib/libipcz-drivers.a
IPCZ_DRIVERS_ASAN_A := $(BUILD)/asan/libipcz-drivers.a
IPCZ_DRIVERS_TSAN_A := $(BUILD)/tsan/libipcz-drivers.a

ALL_TARGETS += $(LIBIPCZ_SO) $(LIBIPCZ_SO_LINK) $(LIBIPCZ_A) \
	       $(LIBIPCZ_ASAN_A) $(LIBIPCZ_TSAN_A) \
	       $(IPCZ_DRIVERS_SO) $(IPCZ_DRIVERS_A) \
	       $(IPCZ_DRIVERS_ASAN_A) $(IPCZ_DRIVERS_TSAN_A)

$(LIBIPCZ_SO): $(call objs,rel,$(LIBIPCZ_SRCS)) lib/libipcz.map
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,libipcz.so.1 \
		-Wl,--version-script=lib/libipcz.map -Wl,--no-undefined \
		-o $@ $(filter %.o,$^)

$(LIBIPCZ_SO_LINK): $(LIBIPCZ_SO)
	ln -sf libipcz.so.1 $@

$(LIBIPCZ_A): $(call objs,rel,$(LIBIPCZ_SRCS))
$(LIBIPCZ_ASAN_A): $(call objs,asan,$(LIBIPCZ_SRCS))
$(LIBIPCZ_TSAN_A): $(call objs,tsan,$(LIBIPCZ_SRCS))
$(IPCZ_DRIVERS_A): $(call objs,rel,$(DRIVER_SRCS))
$(IPCZ_DRIVERS_ASAN_A): $(call objs,asan,$(DRIVER_SRCS))
$(IPCZ_DRIVERS_TSAN_A): $(call objs,tsan,$(DRIVER_SRCS))

$(LIBIPCZ_A) $(LIBIPCZ_ASAN_A) $(LIBIPCZ_TSAN_A) \
$(IPCZ_DRIVERS_A) $(IPCZ_DRIVERS_ASAN_A) $(IPCZ_DRIVERS_TSAN_A):
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(IPCZ_DRIVERS_SO): $(call objs,rel,$(DRIVER_SRCS))
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,libipcz-drivers.so -Wl,--no-undefined \
		-o $@ $^

.PHONY: lib
lib: $(LIBIPCZ_SO) $(LIBIPCZ_SO_LINK) $(LIBIPCZ_A) $(LIBIPCZ_ASAN_A) \
	$(LIBIPCZ_TSAN_A)
