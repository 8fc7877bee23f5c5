// SPDX-License-Identifier: MIT
/*
 * The handle table: handles encode slot and generation; stale, forged,
 * closed and wrong-type handles are refused; slots are reused with a new
 * generation; concurrent use is safe.
 */
#include <pthread.h>
#include <stdlib.h>

#include "kselftest_harness.h"
#include "lib/handle_table.h"

/* A bare API object, with room behind it as real objects have. */

static struct api_object *new_object(uint32_t type)
{
	struct api_object *object = calloc(1, sizeof(*object) + 64);

	api_object_init(object, type);
	return object;
}

TEST(add_get_take)
{
	struct api_object *object = new_object(API_OBJECT_PARCEL);
	size_t before = handle_table_count();
	IpczHandle handle = handle_table_add(object);
	struct api_object *got;

	ASSERT_NE(IPCZ_INVALID_HANDLE, handle);
	ASSERT_EQ(before + 1, handle_table_count());
	got = handle_table_get(handle, API_OBJECT_PARCEL);
	ASSERT_EQ(object, got);
	ASSERT_EQ(2, atomic_load(&object->refs));
	atomic_fetch_sub(&object->refs, 1);
	got = handle_table_take(handle, API_OBJECT_PARCEL);
	ASSERT_EQ(object, got);
	ASSERT_EQ(before, handle_table_count());
	/* Taken: the same value is now stale. */
	ASSERT_EQ(NULL, handle_table_get(handle, API_OBJECT_ANY));
	ASSERT_EQ(NULL, handle_table_take(handle, API_OBJECT_ANY));
	free(object);
}

TEST(wrong_type_is_refused)
{
	struct api_object *object = new_object(API_OBJECT_PARCEL);
	IpczHandle handle = handle_table_add(object);

	ASSERT_EQ(NULL, handle_table_get(handle, API_OBJECT_PORTAL));
	ASSERT_EQ(NULL, handle_table_take(handle, API_OBJECT_NODE));
	ASSERT_EQ(object, handle_table_take(handle, API_OBJECT_ANY));
	free(object);
}

TEST(forged_handles_are_refused)
{
	struct api_object *object = new_object(API_OBJECT_PARCEL);
	IpczHandle handle = handle_table_add(object);
	const IpczHandle forged[] = {
		0, 1, ~(IpczHandle)0, handle + 1, handle ^ (1ull << 32),
		handle & 0xffffffffu, (IpczHandle)(uintptr_t)object,
		((IpczHandle)7 << 32) | 0xfffffff0u,
	};
	size_t i;

	for (i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
		if (forged[i] == handle)
			continue;
		EXPECT_EQ(NULL, handle_table_get(forged[i], API_OBJECT_ANY));
	}
	ASSERT_EQ(object, handle_table_take(handle, API_OBJECT_ANY));
	free(object);
}

TEST(slot_reuse_bumps_generation)
{
	struct api_object *first = new_object(API_OBJECT_BOX);
	struct api_object *second = new_object(API_OBJECT_BOX);
	IpczHandle old = handle_table_add(first);
	IpczHandle reused;

	ASSERT_EQ(first, handle_table_take(old, API_OBJECT_BOX));
	reused = handle_table_add(second);
	/* LIFO reuse: same slot, different generation, different value. */
	ASSERT_EQ(old & 0xffffffffu, reused & 0xffffffffu);
	ASSERT_NE(old, reused);
	ASSERT_EQ(NULL, handle_table_get(old, API_OBJECT_ANY));
	ASSERT_EQ(second, handle_table_take(reused, API_OBJECT_BOX));
	free(first);
	free(second);
}

TEST(many_handles_grow_the_table)
{
	enum { COUNT = 5000 };
	static IpczHandle handles[COUNT];
	static struct api_object objects[COUNT];
	size_t before = handle_table_count();
	int i;

	for (i = 0; i < COUNT; i++) {
		api_object_init(&objects[i], API_OBJECT_PARCEL);
		handles[i] = handle_table_add(&objects[i]);
		ASSERT_NE(IPCZ_INVALID_HANDLE, handles[i]);
	}
	ASSERT_EQ(before + COUNT, handle_table_count());
	for (i = 0; i < COUNT; i++) {
		struct api_object *got = handle_table_get(handles[i],
							  API_OBJECT_PARCEL);

		ASSERT_EQ(&objects[i], got);
		atomic_fetch_sub(&got->refs, 1);
	}
	for (i = 0; i < COUNT; i++)
		ASSERT_EQ(&objects[i],
			  handle_table_take(handles[i], API_OBJECT_PARCEL));
	ASSERT_EQ(before, handle_table_count());
}

/* Threads adding, looking up and taking handles at once. */
static void *churn(void *arg)
{
	struct api_object objects[64];
	IpczHandle handles[64];
	int round, i;

	(void)arg;
	for (round = 0; round < 200; round++) {
		for (i = 0; i < 64; i++) {
			api_object_init(&objects[i], API_OBJECT_BOX);
			handles[i] = handle_table_add(&objects[i]);
		}
		for (i = 0; i < 64; i++) {
			struct api_object *got =
				handle_table_get(handles[i], API_OBJECT_BOX);

			if (got != &objects[i])
				return (void *)1;
			atomic_fetch_sub(&got->refs, 1);
		}
		for (i = 0; i < 64; i++) {
			if (handle_table_take(handles[i], API_OBJECT_BOX) !=
			    &objects[i])
				return (void *)1;
		}
	}
	return NULL;
}

TEST(concurrent_use)
{
	pthread_t threads[4];
	void *failed;
	int i;

	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, churn, NULL));
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, pthread_join(threads[i], &failed));
		EXPECT_EQ(NULL, failed);
	}
}

TEST_HARNESS_MAIN
