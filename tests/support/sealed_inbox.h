/*
 * sealed_inbox.h - every principal of the test hub holds an X25519 key,
 * and tests read deliveries as the principal would (issue 25).
 *
 * mash_test_hub_pki (broker.h) also makes, for each principal of the
 * shipped policy/directory.cfg, DIR/enc/PRINCIPAL/e1.key.pem (0600) and
 * e1.pub.pem, and DIR/directory.cfg: the shipped directory with each
 * principal's enc_key set to its public key. Tests give mashd that
 * directory, so every delivery is sealed as in production.
 */
#ifndef MASH_TEST_SEALED_INBOX_H
#define MASH_TEST_SEALED_INBOX_H

#include <stddef.h>

struct mash_env_opened;
struct mash_mq_msg;
struct mash_test_broker;
struct mash_trust;

/* Write DIR/enc/ and DIR/directory.cfg from the directory at src_dir_cfg.
 * 0 or -1 (reason on stderr). */
int mash_test_hub_enc_keys(const char *dir, const char *src_dir_cfg);

/* DIR/directory.cfg of broker b, in buf[n]; returns buf. */
const char *mash_test_broker_directory(const struct mash_test_broker *b,
                                       char *buf, size_t n);

/* DIR/enc (enc_key_dir of a client config) of broker b; returns buf. */
const char *mash_test_broker_enc_dir(const struct mash_test_broker *b,
                                     char *buf, size_t n);

/* Every "@DIRECTORY@" in text[n] becomes broker b's directory (a mashd
 * config's directory = "@DIRECTORY@";). 0, or -1 if it does not fit. */
int mash_test_subst_directory(const struct mash_test_broker *b, char *text,
                              size_t n);

/*
 * Open m (a delivery on mash/v1/inbox/PRINCIPAL) as PRINCIPAL, with its
 * key under enc_dir: verified against trust (signer mashd), sealed to
 * PRINCIPAL, of inner type expect_type (NULL: any). On MASH_OK *out
 * holds the inner message (payload_type = the inner type; free with
 * mash_env_opened_free), as mash_env_open gives a clear envelope. An
 * error code and why otherwise (PAYLOAD_TYPE for another inner type).
 */
int mash_test_open_delivery(const char *enc_dir, const struct mash_trust *trust,
                            const struct mash_mq_msg *m,
                            const char *expect_type,
                            struct mash_env_opened **out, char *why,
                            size_t whylen);

#endif
