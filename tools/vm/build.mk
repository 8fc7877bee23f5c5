# SPDX-License-Identifier: MIT
#
# The test VM: Debian's kernel under QEMU (TCG) with a busybox initramfs
# carrying ipcz.ko, every program in $(BUILD)/vm-tests (run in sorted
# order, each printing TAP) and every program in $(BUILD)/vm-bin (installed
# in /bin, not run). See Documentation/testing.rst.
#
#   make vm-test        run the suite (the same as check-vm)
#   make vm-shell       a busybox shell in the VM, module loaded
#   make vm-initramfs   build $(VM_INITRAMFS) for tools/vm/run and friends
#
# Modules of the VM kernel that tests need (from /lib/modules/$(KVER), with
# their dependencies; loaded in the VM with modprobe) are named in
# VM_KERNEL_MODULES, which any fragment may append to.
#
# Other parts put their programs in $(BUILD)/vm-tests or $(BUILD)/vm-bin and
# name them in ALL_TARGETS; the initramfs is built from whatever is there
# once those targets are up to date.

VM_DIR        := $(BUILD)/vm
VM_INITRAMFS  := $(VM_DIR)/initramfs.cpio.gz
VM_MODULE     := $(BUILD)/kmod/ipcz.ko
VM_TESTS_DIR  := $(BUILD)/vm-tests
VM_BIN_DIR    := $(BUILD)/vm-bin
# The udev rule the project ships for /dev/ipcz, wherever it lives.
VM_UDEV_RULES := $(firstword $(wildcard $(CURDIR)/*/*ipcz*.rules \
				       $(CURDIR)/*/*/*ipcz*.rules))

VM_KERNEL_MODULES +=

SUITES += vm
DEB_PACKAGES += qemu-system-x86 busybox-static cpio gzip kmod \
		linux-image-amd64 $(if $(KVER),linux-image-$(KVER))
EXTRA_HELP += vm-test vm-shell vm-initramfs

.PHONY: vm-initramfs vm-test vm-shell vm-inputs

# Always rebuilt (a second or two). Its inputs are brought up to date first
# by a sub-make: only in a recipe is ALL_TARGETS complete (fragments that
# sort after this one add to it). The sub-make keeps going past errors, so
# that one part's broken test leaves the others runnable: the image gets
# what did build, and $(VM_DIR)/inputs.status says whether all of it did
# (check-vm counts a failure when not).
vm-initramfs:
	@mkdir -p $(VM_DIR)
	@if $(MAKE) -k --no-print-directory vm-inputs VM_INPUTS="$(filter \
		$(VM_MODULE) $(VM_TESTS_DIR)/% $(VM_BIN_DIR)/%,$(ALL_TARGETS))"; \
	then echo ok; else echo failed; fi > $(VM_DIR)/inputs.status
	@grep -q ok $(VM_DIR)/inputs.status || \
		echo "vm: warning: some VM programs did not build (see above)" >&2
	@if [ -f $(VM_MODULE) ]; then set -- -k $(VM_MODULE); \
	else echo "vm: warning: $(VM_MODULE) not built" >&2; set --; fi; \
	$(CURDIR)/tools/vm/mkinitramfs -o $(VM_INITRAMFS) "$$@" \
		-t $(VM_TESTS_DIR) -b $(VM_BIN_DIR) \
		$(if $(VM_UDEV_RULES),-u $(VM_UDEV_RULES)) \
		$(addprefix -m ,$(VM_KERNEL_MODULES))

vm-inputs: $(VM_INPUTS)
	@:

# A stale result must not outlive a run that could not even start.
check-vm:
	@mkdir -p $(RESULTS)
	@rm -f $(RESULTS)/vm.result
	@$(MAKE) --no-print-directory vm-initramfs
	@$(CURDIR)/tools/vm/test -i $(VM_INITRAMFS) -r $(RESULTS)/vm.result \
		-d $(VM_DIR) -s $(VM_DIR)/inputs.status

vm-test: check-vm

vm-shell: vm-initramfs
	@$(CURDIR)/tools/vm/run -s -i $(VM_INITRAMFS) \
		-c $(VM_DIR)/shell-console.log
