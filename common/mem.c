#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/mem.h"

/* Test-only failure injection; negative means never fail. */
static long fail_after = -1;

static int
should_fail(void)
{
	if (fail_after < 0)
		return 0;
	if (fail_after == 0)
		return 1;
	fail_after--;
	return 0;
}

void
mash_mem_fail_after(long n)
{
	fail_after = n;
}

void *
mash_malloc(size_t n)
{
	if (should_fail())
		return NULL;
	return malloc(n == 0 ? 1 : n);
}

void *
mash_calloc(size_t nmemb, size_t size)
{
	if (should_fail())
		return NULL;
	if (nmemb == 0 || size == 0)
		return calloc(1, 1);
	return calloc(nmemb, size);
}

void *
mash_realloc(void *p, size_t n)
{
	if (should_fail())
		return NULL;
	return realloc(p, n == 0 ? 1 : n);
}

void
mash_free(void *p)
{
	free(p);
}

void
mash_free_secret(void *p, size_t n)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, n);
	free(p);
}

void
mash_free_str(char *s)
{
	if (s == NULL)
		return;
	mash_free_secret(s, strlen(s));
}

char *
mash_strndup(const char *s, size_t n)
{
	char *p;

	if (s == NULL)
		return NULL;
	p = mash_malloc(n + 1);
	if (p == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
mash_strdup(const char *s)
{
	if (s == NULL)
		return NULL;
	return mash_strndup(s, strlen(s));
}
