# SPDX-License-Identifier: MIT
#
# tests/abi: include/ipcz/ipcz.h against upstream ipcz's ABI.
#
#  - compile-check builds abi_c.c (C99/C11/C17) and abi_cxx.cc (C++11 to
#    C++20) with gcc, clang, g++ and clang++, warnings as errors: the
#    static assertions in abi_layout.h pin every size, offset and value,
#    and the programs use every name of the header.
#  - abi-c and abi-cxx are the same programs linked with libipcz (asan
#    variant): they check at run time that IpczGetAPI() honours the
#    caller's size and that the tables line up with a driver of their own.
# Suite `abi`: check-abi -> $(RESULTS)/abi.result.

ABI_OUT      := $(BUILD)/abi
ABI_CFLAGS   := -std=c11 -Wall -Wextra -Werror -pedantic -Wshadow \
		-Wstrict-prototypes -Wmissing-prototypes \
		-I$(CURDIR)/include -I$(CURDIR)
ABI_CXX      ?= g++
ABI_CXXFLAGS := -std=c++17 -Wall -Wextra -Werror -pedantic \
		-I$(CURDIR)/include -I$(CURDIR)
ABI_LIB      := $(BUILD)/asan/libipcz.a
ABI_PROGRAMS := $(ABI_OUT)/abi-c $(ABI_OUT)/abi-cxx
ABI_HEADERS  := include/ipcz/ipcz.h tests/abi/abi_layout.h

# The programs need libipcz, which lib/build.mk builds; until it exists,
# `make` still compiles the objects (and check-abi cannot run).
ALL_TARGETS  += $(ABI_OUT)/abi_c.o $(ABI_OUT)/abi_cxx.o
ifneq ($(wildcard lib/build.mk),)
ALL_TARGETS  += $(ABI_PROGRAMS)
endif
SUITES       += abi
DEB_PACKAGES += g++ clang

$(ABI_OUT)/abi_c.o: tests/abi/abi_c.c $(ABI_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(ABI_CFLAGS) $(VARIANT_CFLAGS_asan) -c $< -o $@

$(ABI_OUT)/abi_cxx.o: tests/abi/abi_cxx.cc $(ABI_HEADERS)
	@mkdir -p $(@D)
	$(ABI_CXX) $(ABI_CXXFLAGS) $(VARIANT_CFLAGS_asan) -c $< -o $@

$(ABI_OUT)/abi-c: $(ABI_OUT)/abi_c.o $(ABI_LIB)
	$(CC) $(VARIANT_LDFLAGS_asan) $^ -lpthread -o $@

$(ABI_OUT)/abi-cxx: $(ABI_OUT)/abi_cxx.o $(ABI_LIB)
	$(ABI_CXX) $(VARIANT_LDFLAGS_asan) $^ -lpthread -o $@

.PHONY: check-abi
check-abi: $(ABI_PROGRAMS)
	@mkdir -p $(RESULTS)
	@rm -f $(RESULTS)/abi.result
	@tests/abi/compile-check $(CURDIR) $(ABI_OUT)/compile \
		> $(ABI_OUT)/compile.tap; cat $(ABI_OUT)/compile.tap
	@$(ABI_OUT)/abi-c > $(ABI_OUT)/abi-c.tap 2>&1; cat $(ABI_OUT)/abi-c.tap
	@$(ABI_OUT)/abi-cxx > $(ABI_OUT)/abi-cxx.tap 2>&1; \
		cat $(ABI_OUT)/abi-cxx.tap
	@tools/check/tap-count $(RESULTS)/abi.result $(ABI_OUT)/compile.tap \
		$(ABI_OUT)/abi-c.tap $(ABI_OUT)/abi-cxx.tap
