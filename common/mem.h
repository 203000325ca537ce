/*
 * mem.h - thin allocation wrappers. Every allocation in the project goes
 * through these so that tests can make the Nth allocation fail
 * (mash_mem_fail_after) and so that safeguarding data and secrets are wiped
 * before their memory is returned (mash_free_secret, OPENSSL_cleanse).
 */
#ifndef MASH_MEM_H
#define MASH_MEM_H

#include <stddef.h>

/* malloc/calloc/realloc: NULL on failure (or injected failure). */
void *mash_malloc(size_t n);
void *mash_calloc(size_t nmemb, size_t size);
void *mash_realloc(void *p, size_t n);
/* free(p); NULL allowed. */
void mash_free(void *p);
/* Wipe n bytes of p, then free it. NULL allowed. */
void mash_free_secret(void *p, size_t n);
/* Wipe a NUL-terminated string's bytes, then free it. NULL allowed. */
void mash_free_str(char *s);
/* A copy of s (NULL if s is NULL or on failure); caller frees. */
char *mash_strdup(const char *s);
/* A NUL-terminated copy of the first n bytes of s; caller frees. */
char *mash_strndup(const char *s, size_t n);

/*
 * Test hook: after n more successful allocations, every allocation fails
 * until reset with n < 0. The only process-wide mutable state outside main,
 * used by unit tests alone (style rule 8).
 */
void mash_mem_fail_after(long n);

#endif
