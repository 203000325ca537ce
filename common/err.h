/*
 * err.h - the one error table of the project (after OpenSSH ssherr.h and
 * libuv's UV_ERRNO_MAP). Every function that can fail returns MASH_OK (0)
 * or one of these negative codes; mash_strerror() gives the message and
 * mash_errname() the stable token used in receipts and audit records.
 *
 * Codes are part of the audit record format: append new ones, never
 * renumber.
 */
#ifndef MASH_ERR_H
#define MASH_ERR_H

#define MASH_ERR_MAP(XX)                                                       \
	XX(OK, 0, "success")                                                   \
	XX(NOMEM, -1, "out of memory")                                         \
	XX(INVAL, -2, "invalid argument")                                      \
	XX(IO, -3, "input/output error")                                       \
	XX(TOO_BIG, -4, "message exceeds the size limit")                      \
	XX(DECODE, -5, "payload does not decode")                              \
	XX(BAD_SIGNATURE, -6, "signature does not verify")                     \
	XX(UNKNOWN_KEY, -7, "signer key is unknown")                           \
	XX(REVOKED_KEY, -8, "signer key is revoked")                           \
	XX(SIGNER_MISMATCH, -9, "envelope signer does not match the topic")    \
	XX(AGENCY_MISMATCH, -10, "event agency does not match topic/signer")   \
	XX(BAD_VERSION, -11, "unsupported envelope version")                   \
	XX(PAYLOAD_TYPE, -12, "unexpected payload type")                       \
	XX(CRYPTO, -13, "cryptographic library failure")                       \
	XX(KEY_FORMAT, -14, "key file is not a valid Ed25519 PEM key")         \
	XX(NOT_FOUND, -15, "not found")                                        \
	XX(EXISTS, -16, "already exists")                                      \
	XX(STORE, -17, "store failure")                                        \
	XX(MQTT, -18, "MQTT transport failure")                                \
	XX(CONFIG, -19, "invalid configuration")                               \
	XX(POLICY, -20, "invalid policy")                                      \
	XX(DENIED, -21, "denied by policy")                                    \
	XX(BAD_NHS, -22,                                                       \
	   "NHS number is not 10 digits with a valid Modulus 11 check digit")  \
	XX(BAD_DATE, -23, "date is not a valid YYYY-MM-DD")                    \
	XX(BAD_ENUM, -24, "unknown enum value")                                \
	XX(BAD_SEVERITY, -25, "severity is not 0-4")                           \
	XX(FIELD_TOO_LONG, -26, "field exceeds its maximum length")            \
	XX(MISSING_FIELD, -27, "required field missing")                       \
	XX(BAD_UTF8, -28, "string is not valid UTF-8 or contains NUL")         \
	XX(DUPLICATE, -29, "duplicate event")                                  \
	XX(TAMPERED, -30, "audit trail does not verify")                       \
	XX(TIMEOUT, -31, "timed out")                                          \
	XX(BAD_TOPIC, -32, "topic is not a MASH v1 topic")                     \
	XX(UNKNOWN_AGENCY, -33, "unknown agency")                              \
	XX(UNKNOWN_PRINCIPAL, -34, "unknown principal")                        \
	XX(BAD_TIME, -35, "timestamp out of range")                            \
	XX(STATE, -36, "operation not valid in this state")                    \
	XX(PARSE, -37, "input does not parse")                                 \
	XX(NO_IDENTITY, -38, "no valid NHS number and no full demographics")   \
	XX(INTERNAL, -39, "internal error")                                    \
	XX(BAD_ID, -40,                                                        \
	   "identifier has characters or length outside its allowed set")      \
	XX(EXPIRED, -41, "certificate expired, not yet valid or not trusted")  \
	XX(DECRYPT, -42, "sealed message does not open with this key")         \
	XX(WRONG_RECIPIENT, -43, "sealed to another principal")                \
	XX(NO_ENC_KEY, -44, "principal has no encryption key")                 \
	XX(REPLAY_WINDOW, -45, "recorded_at outside the replay window")        \
	XX(REFUSED, -46, "refused by the broker")

enum mash_err {
#define MASH_ERR_ENUM(name, val, msg) MASH_ERR_##name = (val),
	MASH_ERR_MAP(MASH_ERR_ENUM)
#undef MASH_ERR_ENUM
};
#define MASH_OK MASH_ERR_OK

/* The message for rc; never NULL, "unknown error" for a code not in the
 * table. Static storage, do not free. */
const char *mash_strerror(int rc);

/* As mash_strerror, for the result of opening a named file (a key, a
 * trust store, a config): MASH_ERR_NOT_FOUND reads "no such file",
 * MASH_ERR_IO "cannot read". */
const char *mash_file_strerror(int rc);

/* The stable token for rc ("BAD_SIGNATURE"); never NULL, "UNKNOWN" for a
 * code not in the table. Static storage. */
const char *mash_errname(int rc);

#endif
