# SPDX-License-Identifier: MIT
#
# KUnit: the module's in-kernel unit tests, run under User Mode Linux by the
# kernel's own kunit.py (see tools/kunit/run and Documentation/testing.rst).
# The UML build directory lives in $(CACHE)/kunit-build, outside the repo.

KUNIT_OUT := $(BUILD)/kunit
# The directory grafted into the kernel tree as drivers/misc/ipcz.
KUNIT_MODULE ?= $(CURDIR)/kmod

SUITES += kunit
DEB_PACKAGES += bc bison flex libelf-dev python3 rsync xz-utils linux-source
EXTRA_HELP += kunit-test

.PHONY: kunit-test

# kunit.py's exit status only says whether every test passed; the counts
# come from its JSON. No JSON means the kernel was never built or run, and
# then no result file is left behind.
check-kunit:
	@mkdir -p $(RESULTS) $(KUNIT_OUT)
	@rm -f $(RESULTS)/kunit.result $(KUNIT_OUT)/results.json
	@$(CURDIR)/tools/kunit/run -m $(KUNIT_MODULE) -j $(KUNIT_OUT)/results.json \
		-l $(KUNIT_OUT)/kunit.log < /dev/null || true
	@$(CURDIR)/tools/kunit/count $(KUNIT_OUT)/results.json \
		$(RESULTS)/kunit.result | tee $(KUNIT_OUT)/kunit.tap

kunit-test: check-kunit
