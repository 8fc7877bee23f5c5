# SPDX-License-Identifier: MIT
#
# drivers/common: what the socket and the kernel driver share (handle
# table and object references). COMMON_DRIVER_SRCS is named in
# SOCKET_DRIVER_SRCS and KERNEL_DRIVER_SRCS too, so that a test linking
# one driver alone gets it; those fragments leave it out of their
# DRIVER_SRCS share, so libipcz-drivers holds each object once.

COMMON_DRIVER_SRCS := \
	drivers/common/object.c \
	drivers/common/driver_table.c \
	drivers/common/transport_state.c \
	drivers/common/outbox.c \
	drivers/common/io_thread.c \
	drivers/common/memory.c

DRIVER_SRCS += $(COMMON_DRIVER_SRCS)
