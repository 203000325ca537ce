/*
 * fuzz_audit: the audit module's readers of stored bytes, which an
 * attacker with write access to the database controls: the tree state
 * (frontier) decoder, the proof verifiers, and mash_aud_verify() reading a
 * record that is arbitrary bytes (with a matching leaf hash, so the
 * record parser is reached); and the record encoder (audit/aud_json.c)
 * on arbitrary field values and "extra" text: whatever it accepts must be
 * exactly jansson's canonical dump of itself, as verify demands.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit/aud.h"
#include "audit/merkle.h"
#include "audit/verify.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/mem.h"
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

/* The input as NUL-separated field values, the last one "extra". */
static void
fuzz_encode(const uint8_t *data, size_t size)
{
	const char *v[12] = {0}, *names[2];
	struct mash_aud_record r;
	char *buf, *out = NULL, *canon;
	json_t *parsed;
	size_t i, n = 0, len;

	buf = malloc(size + 1);
	if (buf == NULL)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	v[n++] = buf;
	for (i = 0; i < size && n < 12; i++)
		if (buf[i] == '\0')
			v[n++] = buf + i + 1;
	memset(&r, 0, sizeof(r));
	r.type = MASH_AUD_DECISION;
	r.actor = v[0][0] != '\0' ? v[0] : "mashd";
	r.case_id = v[1];
	r.agency = v[2];
	r.event_id = v[3];
	r.recipient = v[4];
	r.purpose = v[5];
	r.rule_id = v[6];
	r.legal_basis = v[7];
	r.reason = v[8];
	names[0] = v[9];
	names[1] = v[10];
	r.shared = names;
	r.n_shared = v[10] != NULL ? 2 : v[9] != NULL ? 1 : 0;
	r.extra_json = v[11];
	if (mash_aud_encode(&r, 1, 5, &out, &len) == MASH_OK) {
		parsed = json_loadb(out, len, JSON_REJECT_DUPLICATES, NULL);
		if (parsed == NULL)
			abort();
		canon = json_dumps(parsed, JSON_COMPACT | JSON_SORT_KEYS);
		if (canon == NULL || strcmp(canon, out) != 0)
			abort();
		free(canon);
		json_decref(parsed);
		mash_free(out);
	}
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 64 * 1024)
		return 0;
	fuzz_merkle(data, size);
	fuzz_verify(data, size);
	fuzz_encode(data, size);
	return 0;
}
