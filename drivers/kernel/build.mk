# SPDX-License-Identifier: MIT
#
# drivers/kernel: the IpczDriver over /dev/ipcz (include/ipcz/kernel_driver.h,
# Documentation/kernel-driver.rst). Its sources join DRIVER_SRCS, from
# which lib/build.mk builds libipcz-drivers in each variant;
# KERNEL_DRIVER_SRCS lets tests link the driver alone.

KERNEL_DRIVER_SRCS := \
	$(COMMON_DRIVER_SRCS) \
	drivers/kernel/device.c \
	drivers/kernel/descriptor.c \
	drivers/kernel/memory.c \
	drivers/kernel/message.c \
	drivers/kernel/transport.c \
	drivers/kernel/io_thread.c \
	drivers/kernel/rendezvous.c \
	drivers/kernel/kernel_driver.c

# drivers/common is in DRIVER_SRCS already (drivers/common/build.mk).
DRIVER_SRCS += $(filter-out $(COMMON_DRIVER_SRCS),$(KERNEL_DRIVER_SRCS))
