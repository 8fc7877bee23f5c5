// SPDX-License-Identifier: MIT
/*
 * Variant "async": the strict driver of tests/contract (strict_driver.h),
 * every node in this process, each role on its own thread; built with
 * ASan+UBSan (<prog>-async) and with TSan (<prog>-async-threaded). With
 * SD_SYNC=1 in the environment the driver delivers synchronously instead,
 * like upstream's synchronous reference driver (check-multinode runs the
 * ASan programs both ways). The driver
 * delivers each transport's messages on a thread of its own, as
 * upstream's asynchronous reference driver does, and checks the driver
 * contract on every call: a broken rule aborts the test loudly. The
 * known, already reported races (Transmit, Serialize or
 * DeactivateTransport on a transport closed by a concurrent
 * deactivation, see tests/contract) are only recorded.
 */
#include <stdlib.h>

#include "tests/contract/strict_driver.h"
#include "tests/multinode/mn.h"

/*
 * ThreadSanitizer builds: the known race of the same family
 * (node_link_build_connect() reading link->transport unlocked, see
 * tests/contract/tsan.supp) is reported there, not here.
 */
const char *__tsan_default_suppressions(void);
const char *__tsan_default_suppressions(void)
{
	return "race:node_link_send_connect\n"
	       "race:node_link_build_connect\n";
}

__attribute__((constructor)) static void strict_everywhere(void)
{
	/* SD_SYNC=1: the same driver delivering synchronously instead. */
	if (getenv("SD_SYNC") && *getenv("SD_SYNC"))
		sd_set_sync_delivery(true);
	sd_set_abort_on_violation(true);
	sd_tolerate("Transmit: transport handle");
	sd_tolerate("Serialize (transport): transport handle");
	sd_tolerate("DeactivateTransport: transport handle");
}

/*
 * A descriptor travels as a plain driver object carrying its number (one
 * process: the number means the same on every node).
 */
static IpczResult wrap_descriptor(int fd, IpczDriverHandle *object)
{
	*object = sd_object_new((uint64_t)fd, true);
	return *object ? IPCZ_RESULT_OK : IPCZ_RESULT_RESOURCE_EXHAUSTED;
}

/* Consumes the object, as unwrapping a descriptor does. */
static IpczResult unwrap_descriptor(IpczDriverHandle object, int *fd)
{
	uint64_t value;

	if (!sd_object_value(object, &value))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	*fd = (int)value;
	return sd_driver()->Close(object, IPCZ_NO_FLAGS, NULL);
}

const struct mn_variant mn_variant = {
	.name = "async",
	.mode = MN_MODE_THREADS,
	.driver = sd_driver,
	.descriptor_wrap = wrap_descriptor,
	.descriptor_unwrap = unwrap_descriptor,
	.timeout_ms = 15000,
};
