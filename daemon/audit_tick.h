/*
 * audit_tick.h - the daemon's audit checkpoints outside the periodic tick
 * (the tick itself is tick_checkpoint in mashd.c).
 */
#ifndef MASHD_AUDIT_TICK_H
#define MASHD_AUDIT_TICK_H

struct mashd;

/*
 * Sign, store and publish (retained, on MASH_AUD_CHECKPOINT_TOPIC) a
 * checkpoint of the whole audit tree now, whether or not one is due,
 * unless nothing was appended since the last one. mashd calls it while
 * draining, so that a stopped daemon leaves every record under a signed
 * checkpoint (verify checks them all, prove can prove any of them).
 * Runs outside any store transaction. MASH_OK (also when there was
 * nothing new), or the audit / seal error (logged). A failed publish is
 * logged and is not an error: the checkpoint is stored and the next one
 * is published.
 */
int mashd_audit_checkpoint_now(struct mashd *d);

#endif
