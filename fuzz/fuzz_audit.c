/*
 * fuzz_audit: the audit module's readers of stored bytes, which an
 * attacker with write access to the database controls: the tree state
 * (frontier) decoder, the proof verifiers, and mash_aud_verify() reading a
 * record that is arbitrary bytes (with a matching leaf hash, so the
 * record parser is reached).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/aud.h"
#include "audit/merkle.h"
#include "audit/verify.h"
#include "common/clock.h"
#include "common/err.h"
#include "store/store.h"
#include "store/store_aud.h"

#define H MASH_MERKLE_HASH_LEN

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t
rd64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static void
fuzz_merkle(const uint8_t *data, size_t size)
{
	struct mash_merkle_frontier f;
	unsigned char root[H], leaf[H];
	size_t n;

	if (mash_merkle_frontier_decode(data, size, &f) == MASH_OK) {
		(void)mash_merkle_frontier_root(&f, root);
		memset(leaf, 0xab, H);
		(void)mash_merkle_frontier_append(&f, leaf);
	}
	if (size < 16 + 2 * H)
		return;
	n = (size - 16 - 2 * H) / H;
	if (n > MASH_MERKLE_MAX_DEPTH)
		n = MASH_MERKLE_MAX_DEPTH;
	(void)mash_merkle_inclusion_verify(
	    data + 16, rd64(data), rd64(data + 8),
	    (const unsigned char(*)[H])(data + 16 + 2 * H), n, data + 16 + H);
	(void)mash_merkle_consistency_verify(
	    rd64(data) % 4096, rd64(data + 8) % 8192, data + 16, data + 16 + H,
	    (const unsigned char(*)[H])(data + 16 + 2 * H), n);
}

/* One store for the whole run (the store needs a file: WAL). */
static struct mash_store *
fuzz_store(void)
{
	static struct mash_store *st;
	static struct mash_aud *aud;
	char dir[] = "/tmp/fuzz_audit.XXXXXX", path[64];

	if (st != NULL)
		return st;
	if (mkdtemp(dir) == NULL)
		abort();
	(void)snprintf(path, sizeof(path), "%s/mash.db", dir);
	if (mash_store_open(path, &st) != MASH_OK ||
	    mash_aud_open(st, mash_clock_system(), "fuzz", &aud) != MASH_OK)
		abort();
	return st;
}

static void
fuzz_verify(const uint8_t *data, size_t size)
{
	struct mash_aud_verify_result res;
	struct mash_store_aud_row row;
	struct mash_store *st = fuzz_store();
	unsigned char leaf[H];

	if (mash_merkle_leaf_hash(data, size, leaf) != MASH_OK)
		return;
	/* Each input in a transaction rolled back after: the log is empty
	 * again for the next one. */
	if (mash_store_begin(st) != MASH_OK)
		abort();
	memset(&row, 0, sizeof(row));
	row.seq = 1;
	row.type = "DECISION";
	row.actor = "mashd";
	row.record = (const char *)data;
	row.record_len = size;
	row.leaf_hash = leaf;
	row.leaf_len = H;
	if (mash_store_aud_row_add(st, &row) == MASH_OK)
		(void)mash_aud_verify(st, NULL, &res);
	(void)mash_store_rollback(st);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 64 * 1024)
		return 0;
	fuzz_merkle(data, size);
	fuzz_verify(data, size);
	return 0;
}
