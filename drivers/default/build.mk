# SPDX-License-Identifier: MIT
#
# drivers/default: the choice between the kernel and the socket driver
# (include/ipcz/default_driver.h), part of libipcz-drivers.

DEFAULT_DRIVER_SRCS := drivers/default/default_driver.c

DRIVER_SRCS += $(DEFAULT_DRIVER_SRCS)
