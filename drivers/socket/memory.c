// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drivers/socket/memory.h"

/* Regions cannot shrink or grow once allocated. */
#define SIZE_SEALS (F_SEAL_SHRINK | F_SEAL_GROW)

IpczResult sockdrv_memory_allocate(size_t size, IpczDriverHandle *handle)
{
	int fd;

	if (!size || size > (size_t)INT64_MAX)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	fd = memfd_create("ipcz-socket", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	if (ftruncate(fd, (off_t)size) < 0 ||
	    fcntl(fd, F_ADD_SEALS, SIZE_SEALS) < 0) {
		close(fd);
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	return drv_memory_wrap(&sockdrv_handles, fd, size, false, handle);
}

/*
 * A region is read-only for us if the descriptor was opened read-only or
 * the region is sealed against writes.
 */
static bool is_read_only(int fd, int seals)
{
	int mode = fcntl(fd, F_GETFL);

	if (mode >= 0 && (mode & O_ACCMODE) == O_RDONLY)
		return true;
	return (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) != 0;
}

bool sockdrv_memory_fd_fits(int fd, size_t size)
{
	struct stat st;
	int seals;

	/* Only memfd (shmem) files carry seals; anything else is refused. */
	seals = fcntl(fd, F_GET_SEALS);
	return seals >= 0 && (seals & SIZE_SEALS) == SIZE_SEALS &&
	       fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && size &&
	       (uint64_t)st.st_size == (uint64_t)size;
}

IpczResult sockdrv_memory_adopt(int fd, size_t size, IpczDriverHandle *handle)
{
	int seals;

	if (!sockdrv_memory_fd_fits(fd, size)) {
		close(fd);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	seals = fcntl(fd, F_GET_SEALS);
	return drv_memory_wrap(&sockdrv_handles, fd, size,
			       is_read_only(fd, seals), handle);
}

/*
 * A read-only duplicate is a new read-only open of the same memfd. The
 * region is also sealed with F_SEAL_FUTURE_WRITE so that nobody, not even
 * a holder who reopens the file through /proc, can map it writable from
 * now on; mappings made before stay writable.
 */
static int reopen_read_only(struct drv_memory *memory)
{
	char path[64];
	int seals = fcntl(memory->fd, F_GET_SEALS);

	if (seals < 0)
		return -1;
	if (!(seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) &&
	    fcntl(memory->fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memory->fd);
	return open(path, O_RDONLY | O_CLOEXEC);
}

IpczResult sockdrv_memory_duplicate(struct drv_object *object,
				    bool read_only, IpczDriverHandle *handle)
{
	struct drv_memory *memory = (struct drv_memory *)object;
	int fd;

	if (read_only && !memory->read_only)
		fd = reopen_read_only(memory);
	else
		fd = fcntl(memory->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return errno == EMFILE || errno == ENFILE ?
			       IPCZ_RESULT_RESOURCE_EXHAUSTED :
			       IPCZ_RESULT_UNAVAILABLE;
	return drv_memory_wrap(&sockdrv_handles, fd, memory->size,
			       read_only || memory->read_only, handle);
}

IpczResult sockdrv_memory_map(struct drv_object *object,
			      volatile void **address,
			      IpczDriverHandle *mapping)
{
	struct drv_memory *memory = (struct drv_memory *)object;
	int prot = memory->read_only ? PROT_READ : PROT_READ | PROT_WRITE;
	void *base = mmap(NULL, memory->size, prot, MAP_SHARED, memory->fd, 0);
	IpczResult result;

	if (base == MAP_FAILED)
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	result = drv_mapping_create(&sockdrv_handles, base, memory->size,
				    mapping);
	if (result == IPCZ_RESULT_OK)
		*address = base;
	return result;
}

int sockdrv_memory_release_fd(struct drv_memory *memory)
{
	int fd = memory->fd;

	memory->fd = -1;
	return fd;
}
