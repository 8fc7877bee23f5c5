// SPDX-License-Identifier: MIT
/*
 * abi_dlopen.c - loads libipcz.so.1 at run time, as an embedder that picks
 * its ipcz implementation dynamically would: dlopen() and dlsym() of
 * "IpczGetAPI", kept in a variable of that very name (which the header's
 * IPCZ_NO_GET_API_DECLARATION allows). Compiles against upstream's header
 * too. TAP output.
 *
 *	abi-dlopen PATH-TO-LIBIPCZ
 */
#define IPCZ_NO_GET_API_DECLARATION
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "ipcz/ipcz.h"

static IpczGetAPIFn IpczGetAPI;

static int failures;

static void report(int number, int ok, const char *name)
{
	if (!ok)
		failures++;
	printf("%s %d - %s\n", ok ? "ok" : "not ok", number, name);
}

int main(int argc, char **argv)
{
	struct IpczAPI api;
	IpczHandle node = IPCZ_INVALID_HANDLE;
	void *library;

	printf("TAP version 13\n1..4\n");
	if (argc != 2) {
		printf("Bail out! usage: %s LIBRARY\n", argv[0]);
		return 1;
	}
	library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	report(1, library != NULL, "dlopen() of the shared library");
	if (!library) {
		printf("# %s\n", dlerror());
		return 1;
	}

	*(void **)&IpczGetAPI = dlsym(library, "IpczGetAPI");
	report(2, IpczGetAPI != NULL, "dlsym() finds IpczGetAPI");
	if (!IpczGetAPI)
		return 1;

	memset(&api, 0, sizeof(api));
	api.size = sizeof(api);
	report(3,
	       IpczGetAPI(&api) == IPCZ_RESULT_OK &&
		       api.size == sizeof(api) && api.Close && api.Unbox,
	       "the table comes back complete");

	report(4,
	       api.CreateNode &&
		       api.CreateNode(NULL, IPCZ_NO_FLAGS, NULL, &node) ==
			       IPCZ_RESULT_INVALID_ARGUMENT &&
		       api.Close(IPCZ_INVALID_HANDLE, IPCZ_NO_FLAGS, NULL) ==
			       IPCZ_RESULT_INVALID_ARGUMENT,
	       "calls through the loaded table answer");

	dlclose(library);
	return failures ? 1 : 0;
}
