// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the rendezvous name table and its permission rule, on a
 * private table.
 */
#include <kunit/test.h>
#include <linux/slab.h>

#include "test_util.h"

static struct ipcz_listener *ipcz_test_listener(struct kunit *test,
						const char *name, u32 len)
{
	struct ipcz_listener *l;

	l = kunit_kzalloc(test, sizeof(*l), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, l);
	kref_init(&l->ref);
	INIT_HLIST_NODE(&l->name_entry);
	memcpy(l->name, name, len);
	l->name_len = len;
	return l;
}

static struct ipcz_name_table *ipcz_test_table(struct kunit *test)
{
	struct ipcz_name_table *table = ipcz_name_table_alloc();

	KUNIT_ASSERT_NOT_NULL(test, table);
	return table;
}

static void ipcz_names_insert_and_find(struct kunit *test)
{
	struct ipcz_name_table *table = ipcz_test_table(test);
	struct ipcz_listener *svc = ipcz_test_listener(test, "svc", 3);
	struct ipcz_listener *svc2 = ipcz_test_listener(test, "svc2", 4);
	struct ipcz_listener *found;

	KUNIT_EXPECT_EQ(test, 0, ipcz_name_table_insert(table, svc));
	KUNIT_EXPECT_EQ(test, 0, ipcz_name_table_insert(table, svc2));

	found = ipcz_name_table_lookup(table, "svc", 3);
	KUNIT_EXPECT_PTR_EQ(test, svc, found);
	/* A lookup hands out a reference. */
	KUNIT_EXPECT_EQ(test, 2U, kref_read(&svc->ref));
	found = ipcz_name_table_lookup(table, "svc2", 4);
	KUNIT_EXPECT_PTR_EQ(test, svc2, found);
	/* Prefixes and longer names are other names. */
	KUNIT_EXPECT_NULL(test, ipcz_name_table_lookup(table, "sv", 2));
	KUNIT_EXPECT_NULL(test, ipcz_name_table_lookup(table, "svc23", 5));
	KUNIT_EXPECT_NULL(test, ipcz_name_table_lookup(table, "SVC", 3));

	ipcz_name_table_remove(table, svc);
	ipcz_name_table_remove(table, svc2);
	ipcz_name_table_free(table);
}

static void ipcz_names_clash(struct kunit *test)
{
	struct ipcz_name_table *table = ipcz_test_table(test);
	struct ipcz_listener *first = ipcz_test_listener(test, "dup", 3);
	struct ipcz_listener *second = ipcz_test_listener(test, "dup", 3);

	KUNIT_EXPECT_EQ(test, 0, ipcz_name_table_insert(table, first));
	KUNIT_EXPECT_EQ(test, -EADDRINUSE,
			ipcz_name_table_insert(table, second));
	KUNIT_EXPECT_PTR_EQ(test, first,
			    ipcz_name_table_lookup(table, "dup", 3));

	/* Once withdrawn, the name is free again; removing twice is safe. */
	ipcz_name_table_remove(table, first);
	ipcz_name_table_remove(table, first);
	KUNIT_EXPECT_NULL(test, ipcz_name_table_lookup(table, "dup", 3));
	KUNIT_EXPECT_EQ(test, 0, ipcz_name_table_insert(table, second));
	KUNIT_EXPECT_PTR_EQ(test, second,
			    ipcz_name_table_lookup(table, "dup", 3));
	ipcz_name_table_remove(table, second);
	ipcz_name_table_free(table);
}

static void ipcz_names_many(struct kunit *test)
{
	struct ipcz_name_table *table = ipcz_test_table(test);
	struct ipcz_listener **all;
	char name[16];
	int i, len;

	all = kunit_kcalloc(test, 1000, sizeof(*all), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, all);
	for (i = 0; i < 1000; i++) {
		len = scnprintf(name, sizeof(name), "n%d", i);
		all[i] = ipcz_test_listener(test, name, len);
		KUNIT_ASSERT_EQ(test, 0, ipcz_name_table_insert(table, all[i]));
	}
	for (i = 0; i < 1000; i += 7) {
		len = scnprintf(name, sizeof(name), "n%d", i);
		KUNIT_EXPECT_PTR_EQ(test, all[i],
				    ipcz_name_table_lookup(table, name, len));
	}
	for (i = 0; i < 1000; i += 2)
		ipcz_name_table_remove(table, all[i]);
	for (i = 0; i < 10; i++) {
		len = scnprintf(name, sizeof(name), "n%d", i);
		if (i % 2)
			KUNIT_EXPECT_PTR_EQ(test, all[i],
					    ipcz_name_table_lookup(table, name,
								   len));
		else
			KUNIT_EXPECT_NULL(test,
					  ipcz_name_table_lookup(table, name,
								 len));
	}
	for (i = 1; i < 1000; i += 2)
		ipcz_name_table_remove(table, all[i]);
	ipcz_name_table_free(table);
}

static void ipcz_names_permissions(struct kunit *test)
{
	/* Owner, group and others each have their own write bit. */
	KUNIT_EXPECT_TRUE(test, ipcz_mode_permits_write(0200, true, false));
	KUNIT_EXPECT_FALSE(test, ipcz_mode_permits_write(0577, true, true));
	KUNIT_EXPECT_TRUE(test, ipcz_mode_permits_write(0020, false, true));
	KUNIT_EXPECT_FALSE(test, ipcz_mode_permits_write(0707, false, true));
	KUNIT_EXPECT_TRUE(test, ipcz_mode_permits_write(0002, false, false));
	KUNIT_EXPECT_FALSE(test, ipcz_mode_permits_write(0770, false, false));
	/* Read and execute bits never grant a connection. */
	KUNIT_EXPECT_FALSE(test, ipcz_mode_permits_write(0555, true, false));
	KUNIT_EXPECT_FALSE(test, ipcz_mode_permits_write(0, true, true));
	/* The owner's bits apply to the owner even if others may write. */
	KUNIT_EXPECT_FALSE(test, ipcz_mode_permits_write(0022, true, true));
}

static struct kunit_case ipcz_rendezvous_cases[] = {
	KUNIT_CASE(ipcz_names_insert_and_find),
	KUNIT_CASE(ipcz_names_clash),
	KUNIT_CASE(ipcz_names_many),
	KUNIT_CASE(ipcz_names_permissions),
	{}
};

static struct kunit_suite ipcz_rendezvous_suite = {
	.name = "ipcz_rendezvous",
	.test_cases = ipcz_rendezvous_cases,
};

kunit_test_suite(ipcz_rendezvous_suite);
