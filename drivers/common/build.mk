# SPDX-License-Identifier: MIT
#
# drivers/common: what the socket and the kernel driver share: the handle
# table and object references, the IpczDriver functions that differ only
# by a backend (ops struct), the transport life cycle, the queue of
# waiting output, the I/O thread skeleton, and shared memory objects.
# Each driver keeps its own instances (handle table, I/O thread), so the
# two never see each other's objects. COMMON_DRIVER_SRCS is named in
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
