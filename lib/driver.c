// SPDX-License-Identifier: MIT
#include "lib/driver.h"

#include <stddef.h>

bool driver_is_valid(const struct IpczDriver *driver)
{
	return driver && driver->size >= sizeof(*driver) && driver->Close &&
	       driver->Serialize && driver->Deserialize &&
	       driver->CreateTransports && driver->ActivateTransport &&
	       driver->DeactivateTransport && driver->Transmit &&
	       driver->AllocateSharedMemory && driver->GetSharedMemoryInfo &&
	       driver->DuplicateSharedMemory && driver->MapSharedMemory &&
	       driver->GenerateRandomBytes;
}

bool driver_object_is_serializable(const struct IpczDriver *driver,
				   IpczDriverHandle handle)
{
	IpczResult result;

	if (handle == IPCZ_INVALID_DRIVER_HANDLE)
		return false;
	result = driver->Serialize(handle, IPCZ_INVALID_DRIVER_HANDLE,
				   IPCZ_NO_FLAGS, NULL, NULL, NULL, NULL, NULL);
	return result == IPCZ_RESULT_ABORTED ||
	       result == IPCZ_RESULT_RESOURCE_EXHAUSTED;
}

void driver_close_object(const struct IpczDriver *driver,
			 IpczDriverHandle handle)
{
	if (handle != IPCZ_INVALID_DRIVER_HANDLE)
		driver->Close(handle, IPCZ_NO_FLAGS, NULL);
}
