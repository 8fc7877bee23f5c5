# SPDX-License-Identifier: MIT
#
# drivers/socket: the IpczDriver over AF_UNIX SOCK_SEQPACKET sockets and
# memfd shared memory (include/ipcz/socket_driver.h). Its sources join
# DRIVER_SRCS, from which lib/build.mk builds libipcz-drivers in each
# variant; SOCKET_DRIVER_SRCS lets the socket tests and the benchmark link
# the driver alone.

SOCKET_DRIVER_SRCS := \
	$(COMMON_DRIVER_SRCS) \
	drivers/socket/descriptor.c \
	drivers/socket/memory.c \
	drivers/socket/packet.c \
	drivers/socket/transport.c \
	drivers/socket/io_thread.c \
	drivers/socket/socket_driver.c

# drivers/common is in DRIVER_SRCS already (drivers/common/build.mk).
DRIVER_SRCS += $(filter-out $(COMMON_DRIVER_SRCS),$(SOCKET_DRIVER_SRCS))
