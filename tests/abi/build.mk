# SPDX-License-Identifier: MIT
#
# tests/abi: include/ipcz/ipcz.h and libipcz against upstream ipcz's ABI.
#
#  - compile-check builds abi_c.c (C99/C11/C17) and abi_cxx.cc (C++11 to
#    C++20) with gcc, clang, g++ and clang++, warnings as errors: the
#    static assertions in abi_layout.h pin every size, offset and value,
#    and the programs use every name of the header.
#  - abi-c and abi-cxx are the same programs linked with libipcz.a (asan
#    variant); abi-c-shared and abi-cxx-shared link the installed shared
#    object, libipcz.so.1, without sanitizers. All check at run time that
#    IpczGetAPI() honours the caller's size and that the function tables
#    line up, with a driver of their own.
#  - abi-dlopen loads libipcz.so.1 with dlopen() and finds IpczGetAPI with
#    dlsym(), naming its pointer IpczGetAPI (IPCZ_NO_GET_API_DECLARATION).
#  - exports-check: libipcz.so.1 has its soname and exports IpczGetAPI only.
# Suite `abi`: check-abi -> $(RESULTS)/abi.result.

ABI_OUT      := $(BUILD)/abi
ABI_CFLAGS   := -std=c11 -Wall -Wextra -Werror -pedantic -Wshadow \
		-Wstrict-prototypes -Wmissing-prototypes \
		-I$(CURDIR)/include -I$(CURDIR)
ABI_CXX      ?= g++
ABI_CXXFLAGS := -std=c++17 -Wall -Wextra -Werror -pedantic \
		-I$(CURDIR)/include -I$(CURDIR)
ABI_HEADERS  := include/ipcz/ipcz.h tests/abi/abi_layout.h
ABI_SONAME   := libipcz.so.1
ABI_SHARED   := $(BUILD)/lib/$(ABI_SONAME)
ABI_STATIC   := $(BUILD)/asan/libipcz.a
ABI_PROGRAMS := $(ABI_OUT)/abi-c $(ABI_OUT)/abi-cxx \
		$(ABI_OUT)/abi-c-shared $(ABI_OUT)/abi-cxx-shared
ABI_DLOPEN   := $(ABI_OUT)/abi-dlopen
ABI_OBJS     := $(ABI_OUT)/abi_c.o $(ABI_OUT)/abi_cxx.o \
		$(ABI_OUT)/abi_c-rel.o $(ABI_OUT)/abi_cxx-rel.o

# The programs need libipcz, which lib/build.mk builds; until it exists,
# `make` still compiles the objects (and check-abi cannot run).
ALL_TARGETS  += $(ABI_OBJS) $(ABI_DLOPEN)
ifneq ($(wildcard lib/build.mk),)
ALL_TARGETS  += $(ABI_PROGRAMS)
endif
SUITES       += abi
DEB_PACKAGES += g++ clang binutils

$(ABI_OUT)/abi_c.o: tests/abi/abi_c.c $(ABI_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(ABI_CFLAGS) $(VARIANT_CFLAGS_asan) -c $< -o $@

$(ABI_OUT)/abi_cxx.o: tests/abi/abi_cxx.cc $(ABI_HEADERS)
	@mkdir -p $(@D)
	$(ABI_CXX) $(ABI_CXXFLAGS) $(VARIANT_CFLAGS_asan) -c $< -o $@

$(ABI_OUT)/abi_c-rel.o: tests/abi/abi_c.c $(ABI_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(ABI_CFLAGS) -O2 -g -c $< -o $@

$(ABI_OUT)/abi_cxx-rel.o: tests/abi/abi_cxx.cc $(ABI_HEADERS)
	@mkdir -p $(@D)
	$(ABI_CXX) $(ABI_CXXFLAGS) -O2 -g -c $< -o $@

$(ABI_OUT)/abi-c: $(ABI_OUT)/abi_c.o $(ABI_STATIC)
	$(CC) $(VARIANT_LDFLAGS_asan) $^ -lpthread -o $@

$(ABI_OUT)/abi-cxx: $(ABI_OUT)/abi_cxx.o $(ABI_STATIC)
	$(ABI_CXX) $(VARIANT_LDFLAGS_asan) $^ -lpthread -o $@

# Needs no library at build time: it loads one when it runs.
$(ABI_DLOPEN): tests/abi/abi_dlopen.c include/ipcz/ipcz.h
	@mkdir -p $(@D)
	$(CC) $(ABI_CFLAGS) -O2 -g $< -ldl -o $@

# Linked the way an application links the installed library: by soname.
$(ABI_OUT)/abi-c-shared: $(ABI_OUT)/abi_c-rel.o $(ABI_SHARED)
	$(CC) $< $(ABI_SHARED) -Wl,-rpath,$(dir $(ABI_SHARED)) -o $@

$(ABI_OUT)/abi-cxx-shared: $(ABI_OUT)/abi_cxx-rel.o $(ABI_SHARED)
	$(ABI_CXX) $< $(ABI_SHARED) -Wl,-rpath,$(dir $(ABI_SHARED)) -o $@

.PHONY: check-abi
check-abi: $(ABI_PROGRAMS) $(ABI_DLOPEN)
	@mkdir -p $(RESULTS) $(ABI_OUT)/tap
	@rm -f $(RESULTS)/abi.result $(ABI_OUT)/tap/*.tap
	@tests/abi/compile-check $(CURDIR) $(ABI_OUT)/compile \
		> $(ABI_OUT)/tap/compile.tap
	@tests/abi/exports-check $(ABI_SHARED) $(ABI_SONAME) \
		> $(ABI_OUT)/tap/exports.tap
	@for p in $(ABI_PROGRAMS); do \
		tests/api/run-tap $$p > $(ABI_OUT)/tap/$$(basename $$p).tap; \
	done
	@tests/api/run-tap $(ABI_DLOPEN) $(ABI_SHARED) \
		> $(ABI_OUT)/tap/abi-dlopen.tap
	@cat $(ABI_OUT)/tap/*.tap
	@tools/check/tap-count $(RESULTS)/abi.result $(ABI_OUT)/tap/*.tap
