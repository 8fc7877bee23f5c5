// SPDX-License-Identifier: MIT
/*
 * Helpers of the API tests (api_test.h): the ipcz table, the in-process
 * driver and its test objects, and small conveniences.
 */
#include <pthread.h>
#include <string.h>

#include "ipcz/inprocess_driver.h"
#include "tests/api/api_test.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>

bool no_leaks(void)
{
	return __lsan_do_recoverable_leak_check() == 0;
}
#else
bool no_leaks(void)
{
	return true;
}
#endif

struct IpczAPI ipcz;

static pthread_mutex_t reports_lock = PTHREAD_MUTEX_INITIALIZER;
static struct bad_activity_report last_report;

static void record_bad_activity(IpczDriverHandle transport, uintptr_t context)
{
	pthread_mutex_lock(&reports_lock);
	last_report.count++;
	last_report.transport = transport;
	last_report.context = context;
	pthread_mutex_unlock(&reports_lock);
}

IpczResult api_test_init(void)
{
	ipcz_inprocess_set_bad_activity_hook(record_bad_activity);
	memset(&ipcz, 0, sizeof(ipcz));
	ipcz.size = sizeof(ipcz);
	return IpczGetAPI(&ipcz);
}

const struct IpczDriver *test_driver(void)
{
	return ipcz_inprocess_driver();
}

struct bad_activity_report bad_activity_reports(void)
{
	struct bad_activity_report r;

	pthread_mutex_lock(&reports_lock);
	r = last_report;
	pthread_mutex_unlock(&reports_lock);
	return r;
}

IpczDriverHandle test_object_new(uintptr_t value, bool serializable)
{
	return ipcz_inprocess_test_object_create(value, serializable);
}

bool test_object_value(IpczDriverHandle object, uintptr_t *value)
{
	uintptr_t v;

	if (ipcz_inprocess_test_object_value(object, &v) != IPCZ_RESULT_OK)
		return false;
	if (value)
		*value = v;
	return true;
}

size_t driver_objects_alive(void)
{
	return ipcz_inprocess_live_objects();
}

IpczHandle new_node(IpczCreateNodeFlags flags)
{
	IpczHandle node = IPCZ_INVALID_HANDLE;

	if (ipcz.CreateNode(test_driver(), flags, NULL, &node) !=
	    IPCZ_RESULT_OK)
		return IPCZ_INVALID_HANDLE;
	return node;
}

IpczResult open_node_and_pair(IpczHandle *node, IpczHandle *a,
			      IpczHandle *b)
{
	IpczResult result = api_test_init();

	if (result != IPCZ_RESULT_OK)
		return result;
	*node = new_node(IPCZ_NO_FLAGS);
	if (*node == IPCZ_INVALID_HANDLE)
		return IPCZ_RESULT_UNKNOWN;
	result = ipcz.OpenPortals(*node, IPCZ_NO_FLAGS, NULL, a, b);
	if (result != IPCZ_RESULT_OK) {
		ipcz.Close(*node, IPCZ_NO_FLAGS, NULL);
		*node = IPCZ_INVALID_HANDLE;
	}
	return result;
}

bool close_node_and_pair(IpczHandle node, IpczHandle a, IpczHandle b)
{
	ipcz.Close(a, IPCZ_NO_FLAGS, NULL);
	ipcz.Close(b, IPCZ_NO_FLAGS, NULL);
	ipcz.Close(node, IPCZ_NO_FLAGS, NULL);
	return no_leaks();
}

IpczHandle box_test_object(IpczHandle node, IpczDriverHandle object)
{
	struct IpczBoxContents contents;
	IpczHandle box = IPCZ_INVALID_HANDLE;

	memset(&contents, 0, sizeof(contents));
	contents.size = sizeof(contents);
	contents.type = IPCZ_BOX_TYPE_DRIVER_OBJECT;
	contents.object.driver_object = object;
	if (ipcz.Box(node, &contents, IPCZ_NO_FLAGS, NULL, &box) !=
	    IPCZ_RESULT_OK)
		return IPCZ_INVALID_HANDLE;
	return box;
}

IpczResult put_str(IpczHandle portal, const char *text)
{
	return ipcz.Put(portal, text, strlen(text), NULL, 0, IPCZ_NO_FLAGS,
			NULL);
}

IpczResult get_str(IpczHandle portal, char *buffer, size_t capacity)
{
	size_t num_bytes = capacity - 1;
	IpczResult result;

	result = ipcz.Get(portal, IPCZ_NO_FLAGS, NULL, buffer, &num_bytes,
			  NULL, NULL, NULL);
	buffer[result == IPCZ_RESULT_OK ? num_bytes : 0] = '\0';
	return result;
}

struct IpczPortalStatus portal_status(IpczHandle portal)
{
	struct IpczPortalStatus status;

	memset(&status, 0, sizeof(status));
	status.size = sizeof(status);
	if (ipcz.QueryPortalStatus(portal, IPCZ_NO_FLAGS, NULL, &status) !=
	    IPCZ_RESULT_OK)
		memset(&status, 0, sizeof(status));
	return status;
}

void IPCZ_API record_trap_event(const struct IpczTrapEvent *event)
{
	struct recorded_event *record = (struct recorded_event *)event->context;

	record->count++;
	record->context = event->context;
	record->flags = event->condition_flags;
	record->event_size = event->size;
	record->status_present = event->status != NULL;
	if (event->status)
		record->status = *event->status;
}

struct IpczTrapConditions trap_conditions(IpczTrapConditionFlags flags,
					  size_t min_parcels,
					  size_t min_bytes)
{
	struct IpczTrapConditions conditions;

	memset(&conditions, 0, sizeof(conditions));
	conditions.size = sizeof(conditions);
	conditions.flags = flags;
	conditions.min_local_parcels = min_parcels;
	conditions.min_local_bytes = min_bytes;
	return conditions;
}
