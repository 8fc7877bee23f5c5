# SPDX-License-Identifier: MIT
#
# The in-process driver, part of libipcz-drivers (see lib/build.mk).
DRIVER_SRCS += drivers/inprocess/inprocess_driver.c
