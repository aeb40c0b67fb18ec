/*
 * keys.h -- private to store/: every key name of the Redis schema (the
 * table is in store.h) and the formats of the members store/ builds.
 *
 * Keys are the configured prefix and a suffix. A suffix is one of the
 * HK_KEY_* names, or one of the HK_KEYF_* formats filled with a handoff, a
 * subject or a state. Every key is built by hk_keys_fmt into memory of its
 * own size (hk_xprintf), so a long prefix or subject is never cut short.
 * The state-index member ("%013lld %s") is part of the door
 * (hk_store_index_member), because the status API reads it back.
 */
#ifndef HK_STORE_KEYS_H
#define HK_STORE_KEYS_H

#define HK_KEY_INTAKE "intake"
#define HK_KEY_STATS "stats"
#define HK_KEY_INTAKE_COUNTS "intake:counts"
#define HK_KEY_EVENTS "events"
#define HK_KEY_DLQ "dlq"
#define HK_KEY_COUNTS "counts"
#define HK_KEY_SEEN "seen:" /* + SHA-1 of the item key, in the script */
#define HK_KEY_ALERTS "alerts"
#define HK_KEY_ALERTS_RETRY "alerts:retry"
#define HK_KEY_GEN "gen"         /* the config generation (restate) */
#define HK_KEY_RESTATE "restate" /* the marker of a restate under way */
#define HK_KEY_SUBJECTS "subjects"
/* A restate's shadow keys are under prefix + HK_SHADOW, its bookkeeping
 * too (todo, leases), so dropping a shadow is one pattern. */
#define HK_SHADOW "restate:"
#define HK_KEY_RESTATE_TODO "restate:todo"
#define HK_KEY_RESTATE_LEASES "restate:leases"
#define HK_KEY_FORGET "forget"

#define HK_KEYF_JOURNEY "journey:%s"   /* subject */
#define HK_KEYF_CLOCKS "clocks:%s"     /* handoff */
#define HK_KEYF_DUE_NEXT "due:%s:next" /* handoff */
#define HK_KEYF_DUE_BUCKET "due:%s:%u" /* handoff, bucket */
#define HK_KEYF_DUE_OLD "due:%s"       /* handoff: the index before buckets */
#define HK_KEYF_HCOUNT "hcount:%s"     /* handoff */
#define HK_KEYF_STATE_INDEX "cs:%s:%s" /* handoff, state */
#define HK_KEYF_FORGET_DONE "forget:done:%s" /* request id */
#define HK_KEYF_DIGEST "digest:%s:%" PRId64  /* digest, period start ms */
#define HK_KEYF_DIGEST_LAST "digest:%s:last" /* digest */

/* The state-index member: start ms on HK_INDEX_START_DIGITS digits, a
 * space, the subject. Zero-padded so members sort by start. */
#define HK_INDEX_START_DIGITS 13
#define HK_INDEX_MEMBER "%013" PRId64 " %s"

/* The fixed keys of one prefix, built once per connection (owned). */
struct hk_keys {
  char *prefix;
  char *intake;
  char *stats;
  char *intake_counts;
  char *events;
  char *dlq;
  char *counts;
  char *seen;
  char *alerts;
  char *alerts_retry;
  char *subjects;
};

void hk_keys_init(struct hk_keys *k, const char *prefix);
void hk_keys_fini(struct hk_keys *k);

/* prefix + the suffix fmt formats: a new string (caller frees). */
char *hk_keys_fmt(const struct hk_keys *k, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
