/*
 * cmds.h - mashctl subcommand groups. One function per group, one file per
 * group (cli/cmd_<group>.c). Each is called with argv[0] = the group name
 * and the rest of the command line, parses its own options with
 * getopt_long (optind is reset by the dispatcher), handles --help, and
 * returns the process exit code (shared/spec/cli.md):
 *   MASHCTL_EXIT_OK     0  success
 *   MASHCTL_EXIT_FAIL   1  a check failed (bad signature, failed
 *                          verification, failed policy test)
 *   MASHCTL_EXIT_USAGE  2  bad usage or unreadable input
 * with one line on stderr saying what and where on any non-zero exit.
 *
 * Each subcommand group lives in cli/cmd_<group>.c (every cli .c file is
 * globbed into mashctl).
 */
#ifndef MASHCTL_CMDS_H
#define MASHCTL_CMDS_H

#define MASHCTL_EXIT_OK    0
#define MASHCTL_EXIT_FAIL  1
#define MASHCTL_EXIT_USAGE 2

/* mashctl keygen --signer S --key-id K --out DIR (cmd_keygen.c) */
int mashctl_keygen(int argc, char **argv);
/* cmd_key.c: the store's key-encryption key (issue 28). */
int mashctl_key(int argc, char **argv);
/* cmd_quarantine.c: rejected messages for an operator (issue 28). */
int mashctl_quarantine(int argc, char **argv);
/* cmd_outbox.c: dead letters for an operator (issue 31). */
int mashctl_outbox(int argc, char **argv);
/* cmd_console.c: the web console's local accounts (issue 29). */
int mashctl_console(int argc, char **argv);
/* mashctl trust add|revoke|list --store DIR ... (cmd_trust.c) */
int mashctl_trust(int argc, char **argv);
/* mashctl envelope seal|verify ... (cmd_envelope.c) */
int mashctl_envelope(int argc, char **argv);
/* mashctl policy lint|test ... (cmd_policy.c, owner: policy) */
int mashctl_policy(int argc, char **argv);
/* mashctl audit verify|query|export|report|prove ... (cmd_audit.c,
 * owner: audit) */
int mashctl_audit(int argc, char **argv);
/* mashctl picture ... (cmd_picture.c, owner: picture) */
int mashctl_picture(int argc, char **argv);
/* mashctl inbox read --config FILE --as P [--key FILE] ... (cmd_inbox.c) */
int mashctl_inbox(int argc, char **argv);
/* mashctl pki init|issue ... (cmd_pki.c) */
int mashctl_pki(int argc, char **argv);
/* mashctl acl generate --directory FILE [--out FILE] (cmd_acl.c) */
int mashctl_acl(int argc, char **argv);

#endif
