// SPDX-License-Identifier: MIT
/*
 * The default driver choice (include/ipcz/default_driver.h): the kernel
 * driver where /dev/ipcz is usable, else the socket driver; IPCZ_DRIVER
 * and the argument force either. Runs natively (usually without the
 * module) and in the test VM (with it); expectations follow
 * ipcz_kernel_available().
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include <ipcz/default_driver.h>
#include <ipcz/kernel_driver.h>
#include <ipcz/socket_driver.h>

static enum ipcz_driver_kind with_env(const char *value,
				      enum ipcz_driver_kind requested)
{
	enum ipcz_driver_kind kind;

	if (value)
		setenv(IPCZ_DRIVER_ENV, value, 1);
	else
		unsetenv(IPCZ_DRIVER_ENV);
	kind = ipcz_default_driver_kind(requested);
	unsetenv(IPCZ_DRIVER_ENV);
	return kind;
}

TEST(auto_prefers_the_module)
{
	enum ipcz_driver_kind expected = ipcz_kernel_available() ?
		IPCZ_DRIVER_KERNEL : IPCZ_DRIVER_SOCKET;

	EXPECT_EQ(expected, with_env(NULL, IPCZ_DRIVER_AUTO));
	EXPECT_EQ(expected, with_env("", IPCZ_DRIVER_AUTO));
	EXPECT_EQ(expected, with_env("auto", IPCZ_DRIVER_AUTO));
	unsetenv(IPCZ_DRIVER_ENV);
	EXPECT_EQ(ipcz_kernel_available() ? ipcz_kernel_driver() :
					    ipcz_socket_driver(),
		  ipcz_default_driver());
}

TEST(environment_forces_a_driver)
{
	EXPECT_EQ(IPCZ_DRIVER_SOCKET, with_env("socket", IPCZ_DRIVER_AUTO));
	EXPECT_EQ(ipcz_kernel_available() ? IPCZ_DRIVER_KERNEL :
					    IPCZ_DRIVER_INVALID,
		  with_env("kernel", IPCZ_DRIVER_AUTO));
	EXPECT_EQ(IPCZ_DRIVER_INVALID, with_env("sockets", IPCZ_DRIVER_AUTO));
	setenv(IPCZ_DRIVER_ENV, "bogus", 1);
	EXPECT_EQ(NULL, ipcz_default_driver());
	unsetenv(IPCZ_DRIVER_ENV);
}

TEST(argument_wins_over_environment)
{
	EXPECT_EQ(IPCZ_DRIVER_SOCKET, with_env("kernel", IPCZ_DRIVER_SOCKET));
	EXPECT_EQ(IPCZ_DRIVER_SOCKET, with_env("bogus", IPCZ_DRIVER_SOCKET));
	EXPECT_EQ(ipcz_kernel_available() ? IPCZ_DRIVER_KERNEL :
					    IPCZ_DRIVER_INVALID,
		  with_env("socket", IPCZ_DRIVER_KERNEL));
	EXPECT_EQ(IPCZ_DRIVER_INVALID,
		  with_env(NULL, (enum ipcz_driver_kind)7));
	EXPECT_EQ(ipcz_socket_driver(), ipcz_driver_table(IPCZ_DRIVER_SOCKET));
	EXPECT_STREQ("socket", ipcz_driver_kind_name(IPCZ_DRIVER_SOCKET));
	EXPECT_STREQ("kernel", ipcz_driver_kind_name(IPCZ_DRIVER_KERNEL));
}

/* The fd helpers follow the same choice, and each adopts its own kind. */
TEST(transport_fds_follow_the_choice)
{
	enum ipcz_driver_kind kinds[2] = { IPCZ_DRIVER_SOCKET,
					   IPCZ_DRIVER_KERNEL };

	unsetenv(IPCZ_DRIVER_ENV);
	for (int i = 0; i < 2; i++) {
		const struct IpczDriver *d = ipcz_driver_table(kinds[i]);
		IpczDriverHandle t;
		int fds[2];

		if (!d) {
			EXPECT_EQ(-ENODEV,
				  ipcz_driver_transport_pair_fds(kinds[i],
								 fds));
			continue;
		}
		ASSERT_EQ(0, ipcz_driver_transport_pair_fds(kinds[i], fds));
		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz_driver_transport_from_fd(kinds[i], fds[0], &t));
		EXPECT_EQ(IPCZ_RESULT_OK, d->Close(t, 0, NULL));
		/* The other kind refuses it. */
		EXPECT_NE(IPCZ_RESULT_OK,
			  ipcz_driver_transport_from_fd(kinds[1 - i], fds[1],
							&t));
	}
}

TEST_HARNESS_MAIN
