/*
 * store.h -- the door to Redis: the intake stream and its consumer group.
 *
 * The schema (all keys under the configured prefix, "handoff:" by default):
 *
 *   {prefix}intake   stream; one entry per accepted delivery, fields
 *                    source, kind, delivery_id, received_ms, signed_ms,
 *                    headers (JSON object), body (raw bytes as received)
 *   group "workers"  on {prefix}intake; created at id 0 with MKSTREAM, so no
 *                    delivery queued before the first worker started is
 *                    missed
 *   {prefix}stats    hash of counters the worker keeps (processed, …)
 *
 * The files of store/ each store one thing: conn.c (the connection, its
 * one retry rule and the script loader), intake.c, journal.c, dlq.c,
 * clocks.c, kpi.c, alerts.c, read.c (the status API's reads), commit.c
 * (the group commit of intake); keys.h names every key, reply.c reads
 * every reply, lua/ holds the scripts.
 *
 * One struct hk_store is one connection, used by one thread at a time. It
 * connects lazily and, after any I/O error, drops the connection and
 * reconnects on the next call, so a Redis restart needs no restart of ours.
 * A command that fails on a connection opened before is tried once more on
 * a new one (a restart breaks every open connection). So an XADD whose reply
 * was lost may be written twice: consumers are idempotent by delivery id,
 * and a duplicate is harmless where a loss is not.
 * Every call returns HK_E_UNAVAILABLE with err set when Redis cannot be
 * reached or answers with an error, but for an XADD Redis refused because
 * it is over its maxmemory (-OOM): HK_E_FULL, which the sender also gets
 * as a 503 to retry.
 */
#ifndef HK_STORE_H
#define HK_STORE_H

#include <stddef.h>
#include <jansson.h>
#include <stdint.h>

#include "config/config.h"
#include "core/core.h"
#include "webhooks/webhooks.h"

#define HK_STORE_GROUP "workers"
#define HK_STREAM_ID_MAX 48

struct hk_store;

/* A new, not yet connected store for conf (copied). Never NULL. */
struct hk_store *hk_store_new(const struct hk_redis_conf *conf);
/* NULL-safe. */
void hk_store_free(struct hk_store *st);

/* Round trip to Redis. */
enum hk_err hk_store_ping(struct hk_store *st,
                          struct hk_error *err) HK_MUST_CHECK;

/* Redis's memory as INFO memory tells it. */
struct hk_store_memory {
  int64_t used; /* used_memory, bytes */
  int64_t max;  /* maxmemory, bytes; 0 when Redis has no limit */
};

/* Reads used_memory and maxmemory (INFO memory, one round trip). */
enum hk_err hk_store_memory(struct hk_store *st, struct hk_store_memory *out,
                            struct hk_error *err) HK_MUST_CHECK;

/*
 * Appends the delivery to the intake stream (XADD) and writes its stream id
 * into id. Returns HK_E_OK only once Redis confirmed the write.
 */
enum hk_err hk_store_enqueue(struct hk_store *st, const struct hk_delivery *d,
                             char id[HK_STREAM_ID_MAX],
                             struct hk_error *err) HK_MUST_CHECK;

/* One stream entry as read back by a worker; every string owned. */
struct hk_entry {
  char id[HK_STREAM_ID_MAX];
  char *source;
  char *kind;
  char *delivery_id;
  char *headers;
  char *body;
  size_t body_len;
  int64_t received_ms;
  int64_t signed_ms;
  int64_t deliveries; /* times delivered to a consumer; 0 when unknown */
};

struct hk_batch {
  struct hk_entry *items;
  size_t n;
};

void hk_batch_fini(struct hk_batch *b);

/* Creates the consumer group if it does not exist yet. */
enum hk_err hk_store_group_ensure(struct hk_store *st,
                                  struct hk_error *err) HK_MUST_CHECK;

/*
 * Reads up to count new deliveries for consumer (XREADGROUP … >), waiting
 * at most block_ms when there are none. An empty batch is not an error.
 */
enum hk_err hk_store_read(struct hk_store *st, const char *consumer,
                          size_t count, int64_t block_ms, struct hk_batch *out,
                          struct hk_error *err) HK_MUST_CHECK;

/*
 * Takes over up to count deliveries that other consumers read but did not
 * acknowledge for min_idle_ms (XAUTOCLAIM). Entries deleted from the stream
 * meanwhile are dropped from the pending list by Redis and not returned.
 */
enum hk_err hk_store_claim(struct hk_store *st, const char *consumer,
                           int64_t min_idle_ms, size_t count,
                           struct hk_batch *out,
                           struct hk_error *err) HK_MUST_CHECK;

/*
 * Takes consumer out of group (HK_STORE_GROUP on the intake stream, or
 * HK_STORE_ALERT_GROUP on the alerts stream) when it holds nothing pending,
 * so consumers named after a host and pid do not pile up over restarts. A
 * consumer with pending entries stays, for another to claim them. *left is
 * set to 1 when it was removed.
 */
enum hk_err hk_store_consumer_leave(struct hk_store *st, const char *group,
                                    const char *consumer, int *left,
                                    struct hk_error *err) HK_MUST_CHECK;

/* ---------------------------------------------------------------------------
 * The journal: what a worker made of one delivery
 *
 *   {prefix}events   stream of journey events, field "event" (JSON), a
 *                    recent feed: the retention duty trims it by time,
 *                    with the intake (intake.keep)
 *   {prefix}dlq      stream of dead letters: the delivery's own fields
 *                    (source, kind, delivery_id, received_ms, signed_ms,
 *                    headers, body) plus rule, reason, ptype, intake_id and
 *                    failed_ms, so a letter can be queued again as it was
 *   {prefix}counts   hash of counters: "mapped:SOURCE:TYPE",
 *                    "ignored:SOURCE:PTYPE", "dead:SOURCE:RULE"
 *   {prefix}seen:H   idempotence keys (H = SHA-1 of the item's key), kept
 *                    for the config's dedupe_ttl
 *   {prefix}journey:SUBJECT
 *                    zset of the subject's journey events, the history:
 *                    scored by event time (ms), member the compact event,
 *                    the JSON array [id, type, attrs] (attrs left out when
 *                    none; journey/history.c is its codec; members written
 *                    before are [id, type, source]); written by the journal
 * script with the event, trimmed by time (history.keep) by the retention duty
 *   {prefix}subjects zset: every subject with a history, scored by its
 *                    newest event time (ms), written with the event (ZADD
 *                    GT); {prefix}stats field newest_event_ms is the
 *                    newest event time of all
 * ------------------------------------------------------------------------- */

enum hk_journal_kind { HK_JOURNAL_EVENT, HK_JOURNAL_IGNORED, HK_JOURNAL_DEAD };

/* One outcome of a delivery; every pointer borrowed. */
struct hk_journal_item {
  enum hk_journal_kind kind;
  const char *key;     /* idempotence key material, any length */
  const char *counter; /* the field of {prefix}counts to increment */
  const char *event;   /* HK_JOURNAL_EVENT: the event as JSON */
  const char *history; /* HK_JOURNAL_EVENT: its member of the subject's
                          history (hk_history_member), or NULL: not kept */
  /* HK_JOURNAL_DEAD: the letter's fields besides the delivery's own */
  const char *rule;
  const char *reason;
  const char *ptype;
  const char *body; /* the bytes a retry queues again */
  size_t body_len;
};

/*
 * Records the outcomes of the delivery e and acknowledges it, atomically
 * (one Lua script): an item whose key was seen within ttl_s changes
 * nothing; any other is written to its stream and counter and its key kept
 * for ttl_s. So a delivery processed twice (a worker died before its ack)
 * or delivered twice (a provider retried) changes nothing the second time.
 * *fresh (when not NULL) is set to the number of items written. now_ms
 * stamps dead letters.
 */
enum hk_err hk_store_journal(struct hk_store *st, const struct hk_entry *e,
                             const struct hk_journal_item *items, size_t n,
                             int64_t ttl_s, int64_t now_ms, size_t *fresh,
                             struct hk_error *err) HK_MUST_CHECK;

/* One delivery's journal for hk_store_journal_many; pointers borrowed. */
struct hk_journal {
  const struct hk_entry *e;
  const struct hk_journal_item *items;
  size_t n;
  size_t fresh; /* set: the items written */
};

/* hk_store_journal for n deliveries in one pipeline (one round trip).
 * Each is atomic on its own; on failure some may be done, and doing them
 * again changes nothing. */
enum hk_err hk_store_journal_many(struct hk_store *st, struct hk_journal *js,
                                  size_t n, int64_t ttl_s, int64_t now_ms,
                                  struct hk_error *err) HK_MUST_CHECK;

/* One dead letter as listed; fields owned. */
struct hk_letter {
  char id[HK_STREAM_ID_MAX];
  json_t *fields; /* object of the entry's fields (owned reference) */
};

struct hk_letters {
  struct hk_letter *items;
  size_t n;
};

void hk_letters_fini(struct hk_letters *l);

/* Lists up to count dead letters from the oldest, starting at id start
 * ("-" for the first). */
enum hk_err hk_store_dlq_list(struct hk_store *st, const char *start,
                              size_t count, struct hk_letters *out,
                              struct hk_error *err) HK_MUST_CHECK;

/*
 * Queues the dead letter id again on the intake stream as the delivery it
 * was, and removes it from the dead-letter stream, atomically. *found is
 * set to 0 when there is no such letter (nothing changes).
 */
enum hk_err hk_store_dlq_retry(struct hk_store *st, const char *id, int *found,
                               char new_id[HK_STREAM_ID_MAX],
                               struct hk_error *err) HK_MUST_CHECK;

/* ---------------------------------------------------------------------------
 * SLA clocks and alerts
 *
 *   {prefix}clocks:HANDOFF         hash: one field per subject, its clock
 *                                  record in the workers' own format
 *   {prefix}due:HANDOFF:N          the due index, in HK_STORE_DUE_BUCKETS
 *                                  buckets (N: the subject's name hashed):
 *                                  zsets of subjects scored by the next
 *                                  instant their clocks change state
 *                                  without an event (a warning, a deadline);
 *                                  an open clock with no deadline at
 *                                  HK_STORE_NO_DEADLINE + its start:
 *                                  every open or at-risk clock is listed
 *                                  here. Small
 *                                  buckets are listpacks, a quarter of the
 *                                  memory of one big zset.
 *   {prefix}due:HANDOFF:next       zset of the buckets N, scored no later
 *                                  than their earliest entry (exactly,
 *                                  once a take read the bucket): what
 *                                  comes due first is read without
 *                                  reading every bucket
 *   {prefix}hcount:HANDOFF         hash of counters: clocks by state,
 *                                  incomplete (started is their sum), and
 *                                  "at_risk@GOAL", "breached@GOAL" by the
 *                                  goal's value ("5m"), and the running
 *                                  clocks of owner ids the owners
 *                                  directory does not know:
 *                                  "unknown_owner", "unknown_owner:ID"
 *   {prefix}alerts                 stream of alerts to send, field "alert"
 *                                  (JSON) and "attempt"; group "notifiers"
 *   {prefix}alerts:retry           zset of alerts waiting for their next
 *                                  attempt ("ATTEMPT|JSON"), scored by when
 *
 *   {prefix}cs:HANDOFF:STATE       zset of the clocks in a state that has
 *                                  left the due index (paused, breached,
 *                                  met, met_late, cancelled), all scored 0,
 *                                  member "%013lld %s": start ms and
 *                                  subject, so they sort by start
 *   {prefix}hkpi:HANDOFF:DAY       hash of the clocks started on that UTC
 *                                  day (days since the epoch), by hour:
 *                                  "HH|STATE", "HH|incomplete",
 *                                  "HH|missing:ATTR", "HH|r:BIN" (response
 *                                  times, workers/kpi.c's buckets); the
 *                                  retention pass deletes the days older
 *                                  than history.keep
 *   {prefix}gkpi:HANDOFF:DIM:DAY   the same per value of a group_by
 *                                  dimension: "HH|VALUE|STATE",
 *                                  "HH|VALUE|incomplete",
 *                                  "HH|VALUE|missing:ATTR", "HH|VALUE|r:BIN"
 *                                  (VALUE bounded by the config: owners,
 *                                  sources, listed values, else "other");
 *                                  its days go with the hkpi days
 *   {prefix}stages                 hash: one field per subject, its stage
 *                                  record (workers/stages.c)
 *   {prefix}skpi:STAGE:DAY         hash of the subjects that entered the
 *                                  stage that day, by hour: "HH|entered",
 *                                  "HH|moved", "HH|t:BIN" (time in stage),
 *                                  "HH|to:STAGE" (the later stage reached
 *                                  first: the flows),
 *                                  "HH|rev:CUR" (revenue in cents)
 *   {prefix}kpi:health, kpi:handoffs, kpi:handoff:NAME, kpi:stages,
 *   kpi:stage:NAME, kpi:by:HANDOFF:DIM
 *                                  the documents of the status API, JSON,
 *                                  written together by one worker
 *   {prefix}digest:NAME:PERIOD_MS  where the digest of the period starting
 *                                  then stands: "sending", "retry" (both
 *                                  for a lease), "sent" (8 days)
 *   {prefix}digest:NAME:last       JSON: the KPIs of the last digest
 *                                  posted, to say what changed
 *
 * A clock changes by optimistic check-and-set, a batch at a time: the
 * records are read in one pipeline, the caller computes the new ones, and
 * a Lua script per record writes it, with the counter deltas, the indexes,
 * the KPI buckets and the alerts, only if the record is still the one
 * read; else it writes nothing and the caller starts that record over.
 * Nothing is half-written, and a batch costs two round trips.
 * ------------------------------------------------------------------------- */

#define HK_STORE_ALERT_GROUP "notifiers"
#define HK_STORE_NOT_DUE INT64_MAX
/* The due score of an open clock with no deadline (its deadline attribute
 * missing) is this plus its start (ms, held within [0, 2^52): a start
 * before 1970 counts as 1970): it never comes due, and is listed last
 * among the running clocks, by start. 2^52: with a start of this era
 * added it stays below 2^53, where a score (a double) holds every integer
 * exactly, so it reads back as written; and such clocks do not all share
 * one score, which a page of the due index would have to read whole. */
#define HK_STORE_NO_DEADLINE 4503599627370496LL

/* The member of a clock in a state index ({prefix}cs:HANDOFF:STATE):
 * "%013lld %s", start ms zero-padded and subject, so members sort by
 * start. A new string (caller frees). */
char *hk_store_index_member(int64_t started_ms, const char *subject);

/* The subject of a state-index member (borrowed from member; "" when
 * there is none), and its start in *started_ms (may be NULL). */
const char *hk_store_index_subject(const char *member, int64_t *started_ms);

/*
 * Records changed by check-and-set (clock records, stage records): a field
 * of a hash, read in one pipeline, and written, each by one script, only
 * if it is still what was read, together with the changes that go with it.
 * Keys are given without the prefix ("clocks:lead_response").
 */

/* Reads n fields (keys[i], fields[i]) in one pipeline. out[i] is a new
 * string (caller frees), or NULL when there is none yet. On failure every
 * out[i] is NULL. */
enum hk_err hk_store_cas_get(struct hk_store *st, const char *const *keys,
                             const char *const *fields, size_t n, char **out,
                             struct hk_error *err) HK_MUST_CHECK;

/* A change that goes with a record. key without the prefix; a and b as
 * the kind says. */
struct hk_store_op {
  char kind; /* 'I' HINCRBY key a(field) b(by);
                'Z' ZADD key a(score) b(member); 'R' ZREM key a(member);
                'X' XADD key alert=a attempt=0 (an alert to send);
                'D' due entry of subject b at a in handoff key's due index;
                'U' no due entry of subject a in handoff key's */
  const char *key;
  const char *a;
  const char *b; /* may be NULL */
};

struct hk_cas_put {
  const char *key;
  const char *field;
  const char *old;    /* the record as read; NULL when there was none */
  const char *record; /* the new one */
  const struct hk_store_op *ops;
  size_t nops;
};

/*
 * Writes the n records in one pipeline, each atomically with its changes
 * and only if it is still p[i].old: written[i] is 1 when it was, 0 when
 * another worker wrote first (nothing of it was written).
 */
enum hk_err hk_store_cas_put(struct hk_store *st, const struct hk_cas_put *p,
                             size_t n, int *written,
                             struct hk_error *err) HK_MUST_CHECK;

/* HGETALL of n hashes (keys without the prefix) in one pipeline: out is a
 * new array of n objects, field to integer (owned). */
enum hk_err hk_store_hashes(struct hk_store *st, const char *const *keys,
                            size_t n, json_t **out,
                            struct hk_error *err) HK_MUST_CHECK;

/* Sets n string keys (without the prefix) at once (MSET). */
enum hk_err hk_store_set_many(struct hk_store *st, const char *const *keys,
                              const char *const *values, size_t n,
                              struct hk_error *err) HK_MUST_CHECK;

/* Takes the lock key (without the prefix) for ttl_ms unless somebody holds
 * it (SET NX PX): *got 1 when taken. */
enum hk_err hk_store_lock(struct hk_store *st, const char *key,
                          const char *owner, int64_t ttl_ms, int *got,
                          struct hk_error *err) HK_MUST_CHECK;

/*
 * The weekly digests ({prefix}digest:NAME:PERIOD_MS, {prefix}digest:NAME:
 * last). claim takes the period's key for lease_ms unless it is there
 * (sent, being sent, or waiting for a retry): *got 1 when this caller is to
 * post it. settle marks it sent, or to retry, for ttl_ms. last reads the
 * snapshot of the last digest posted (*text NULL when none; caller frees),
 * keep writes it.
 */
enum hk_err hk_store_digest_claim(struct hk_store *st, const char *name,
                                  int64_t period_ms, int64_t lease_ms, int *got,
                                  struct hk_error *err) HK_MUST_CHECK;
enum hk_err hk_store_digest_settle(struct hk_store *st, const char *name,
                                   int64_t period_ms, int sent, int64_t ttl_ms,
                                   struct hk_error *err) HK_MUST_CHECK;
enum hk_err hk_store_digest_last(struct hk_store *st, const char *name,
                                 char **text,
                                 struct hk_error *err) HK_MUST_CHECK;
enum hk_err hk_store_digest_keep(struct hk_store *st, const char *name,
                                 const char *text,
                                 struct hk_error *err) HK_MUST_CHECK;

/* Deletes n keys (without the prefix). */
enum hk_err hk_store_delete(struct hk_store *st, const char *const *keys,
                            size_t n, struct hk_error *err) HK_MUST_CHECK;

/* Removes from each of n sorted sets (keys without the prefix) the
 * members that sort before `below` (ZREMRANGEBYLEX key - (below). */
enum hk_err hk_store_prune_lex(struct hk_store *st, const char *const *keys,
                               size_t n, const char *below,
                               struct hk_error *err) HK_MUST_CHECK;

/* A list of strings; every one owned. */
struct hk_strings {
  char **v;
  size_t n;
};

void hk_strings_fini(struct hk_strings *s);

/*
 * Takes up to count subjects of the due indexes of the nh handoffs whose
 * time came by now_ms, and leases them: their score moves to now_ms +
 * lease_ms, so another worker does not take them meanwhile and a worker
 * that dies leaves them to be taken again. Each is "HANDOFF:SUBJECT".
 */
enum hk_err hk_store_due_take(struct hk_store *st, const char *const *handoffs,
                              size_t nh, int64_t now_ms, int64_t lease_ms,
                              size_t count, struct hk_strings *out,
                              struct hk_error *err) HK_MUST_CHECK;

/* The earliest score of the nh handoffs' due indexes, or HK_STORE_NOT_DUE
 * when they are empty. */
enum hk_err hk_store_due_next(struct hk_store *st, const char *const *handoffs,
                              size_t nh, int64_t *next_ms,
                              struct hk_error *err) HK_MUST_CHECK;

/* The buckets of a due index. */
#define HK_STORE_DUE_BUCKETS 512U

/*
 * The due index of a handoff past a position, earliest first: up to want
 * entries after (*at, at_member) (from the start when at is NULL), in
 * Redis's order (score, then member byte by byte), over every bucket.
 * members and scores are parallel lists (owned; scores as integers).
 */
enum hk_err hk_store_due_page(struct hk_store *st, const char *handoff,
                              const int64_t *at, const char *at_member,
                              size_t want, struct hk_strings *members,
                              struct hk_strings *scores,
                              struct hk_error *err) HK_MUST_CHECK;

/* The names (without the prefix) of every key of a handoff's due index:
 * its list of buckets, the buckets, and the index before buckets. */
void hk_store_due_names(const char *handoff, struct hk_strings *out);

/* Moves the entries of a due index of the layout before buckets (one zset,
 * {prefix}due:HANDOFF) into its buckets; *moved says how many. A worker
 * does it as it starts. */
enum hk_err hk_store_due_upgrade(struct hk_store *st, const char *handoff,
                                 size_t *moved,
                                 struct hk_error *err) HK_MUST_CHECK;

/* One alert read back from {prefix}alerts; strings owned. */
struct hk_alert_entry {
  char id[HK_STREAM_ID_MAX];
  char *alert; /* JSON */
  int attempt; /* 0 for the first */
};

struct hk_alert_batch {
  struct hk_alert_entry *items;
  size_t n;
};

void hk_alert_batch_fini(struct hk_alert_batch *b);

/* Reads up to count alerts as consumer of group "notifiers" (created when
 * missing), first those it or a dead consumer left pending for idle_ms,
 * then new ones, waiting at most block_ms. Due retries are moved to the
 * stream first. now_ms decides which retries are due. */
enum hk_err hk_store_alerts_read(struct hk_store *st, const char *consumer,
                                 size_t count, int64_t block_ms,
                                 int64_t idle_ms, int64_t now_ms,
                                 struct hk_alert_batch *out,
                                 struct hk_error *err) HK_MUST_CHECK;

/* The alert was delivered: acknowledged and removed. */
enum hk_err hk_store_alert_done(struct hk_store *st, const char *id,
                                struct hk_error *err) HK_MUST_CHECK;

/* The attempt failed: the alert waits in {prefix}alerts:retry until at_ms
 * as attempt number `attempt`, atomically with its removal. */
enum hk_err hk_store_alert_retry(struct hk_store *st,
                                 const struct hk_alert_entry *a, int attempt,
                                 int64_t at_ms,
                                 struct hk_error *err) HK_MUST_CHECK;

/* The last attempt failed: the alert becomes a dead letter (kind "alert",
 * with the reason), atomically with its removal. */
enum hk_err hk_store_alert_dead(struct hk_store *st,
                                const struct hk_alert_entry *a,
                                const char *reason, int64_t now_ms,
                                struct hk_error *err) HK_MUST_CHECK;

/* One page of a handoff's clock records (HSCAN from *cursor, "0" to start;
 * *cursor is "0" again after the last page). subjects and records are
 * parallel lists (owned). */
enum hk_err hk_store_clocks_scan(struct hk_store *st, const char *handoff,
                                 char cursor[32], size_t count,
                                 struct hk_strings *subjects,
                                 struct hk_strings *records,
                                 struct hk_error *err) HK_MUST_CHECK;

/* Counts one request to POST /hooks/{source} answered with status, in
 * {prefix}intake:counts ("SOURCE STATUS"). Accepted deliveries are counted
 * with their XADD; this is for the others. */
enum hk_err hk_store_count_request(struct hk_store *st, const char *source,
                                   int status,
                                   struct hk_error *err) HK_MUST_CHECK;

/* Adds by to each named field of {prefix}stats (the workers' counters), in
 * one round trip. */
enum hk_err hk_store_stats_add(struct hk_store *st, const char *const *fields,
                               const int64_t *by, size_t n,
                               struct hk_error *err) HK_MUST_CHECK;

/* Reads the counters hash of a handoff into names/values (owned). */
enum hk_err hk_store_counters(struct hk_store *st, const char *handoff,
                              json_t **out, struct hk_error *err) HK_MUST_CHECK;

struct hk_queue_stats {
  int64_t length;    /* entries in the stream */
  int64_t pending;   /* read by a worker, not acknowledged */
  int64_t lag;       /* never read by any worker; -1 when Redis can't say */
  int64_t processed; /* acknowledged since the stream was created */
  int64_t consumers;
  /* From the workers' heartbeats ({prefix}worker:CONSUMER, a key with a
   * TTL, and {prefix}workers, consumer by the time of its last read): */
  int64_t last_read_ms; /* the last read by any worker; -1 when none */
  int64_t workers;      /* workers whose heartbeat is alive */
  int64_t oldest_ms;    /* when the oldest waiting delivery (pending or unread)
                           was queued; -1 when none waits */
  char last_delivered[HK_STREAM_ID_MAX]; /* the group's; "" when unknown */
};

/*
 * The queue's figures. The lag is the entries after the group's
 * last-delivered-id, counted (exact up to 100; past that Redis's own
 * figure when it lies between 100 and the stream's length, else 100), so
 * a restart that loses the group's entries-read (an AOF reload) cannot
 * fake a backlog, whatever XLEN says.
 */
enum hk_err hk_store_queue_stats(struct hk_store *st,
                                 struct hk_queue_stats *out,
                                 struct hk_error *err) HK_MUST_CHECK;

/*
 * How long the queue has waited for a reader, judged from what the
 * workers did (pure, no I/O): 0 when no delivery waits or a worker read
 * within amber_ms; 1 (amber) or 2 (red, from red_ms) when deliveries wait
 * and no worker has read for that long (or, when none ever did, the
 * oldest waiting delivery is that old). why gets the reason in words
 * ("no worker has read for 42 s while 17 deliveries wait").
 */
int hk_queue_stall(const struct hk_queue_stats *q, int64_t now_ms,
                   int64_t amber_ms, int64_t red_ms, char *why, size_t cap);

/*
 * The heartbeat of a worker's consumer: {prefix}worker:CONSUMER holds the
 * time of its last read (read_ms) and lives ttl_ms, and {prefix}workers
 * scores the consumer by it, in one round trip.
 */
enum hk_err hk_store_heartbeat(struct hk_store *st, const char *consumer,
                               int64_t read_ms, int64_t ttl_ms,
                               struct hk_error *err) HK_MUST_CHECK;

/*
 * Removes from the intake group every consumer but self that has no live
 * heartbeat and holds nothing pending (its pending entries were claimed),
 * and forgets it in {prefix}workers. A consumer still holding entries
 * stays until they are claimed. *removed is set to how many went.
 */
enum hk_err hk_store_reap_consumers(struct hk_store *st, const char *self,
                                    size_t *removed,
                                    struct hk_error *err) HK_MUST_CHECK;

/* ===========================================================================
 * Group commit of intake (store/commit.c)
 *
 * A request thread that does its own blocking XADD pays a whole Redis round
 * trip, and Redis a whole read and write, per delivery. A struct hk_commit
 * instead owns one connection shared by all request threads: each queues
 * its delivery and waits; one committer at a time (the request thread that
 * found no batch on the wire, see commit.c) takes everything queued,
 * pipelines the XADDs in one write, reads the replies in order and wakes
 * each waiter with its own outcome. Nothing waits on a timer: while one
 * batch is on the wire the next gathers, so under load batches grow by
 * themselves and when idle a lone delivery goes out at once.
 * ======================================================================== */

/* One XADD of a batch: d is borrowed; id, rc and err are written. */
struct hk_store_xadd {
  const struct hk_delivery *d;
  char id[HK_STREAM_ID_MAX];
  enum hk_err rc;
  struct hk_error err;
};

/*
 * Writes the n deliveries with pipelined XADDs on st's connection and sets
 * every item's rc: HK_E_OK with its stream id once Redis confirmed that
 * XADD, HK_E_FULL when Redis refused it over its maxmemory (-OOM),
 * HK_E_UNAVAILABLE with err otherwise. Reconnects and retries like
 * the other calls; an item whose reply was lost may be written twice.
 */
void hk_store_enqueue_many(struct hk_store *st, struct hk_store_xadd **items,
                           size_t n);

struct hk_commit;

/* A new group commit for conf (copied); it starts no thread and connects
 * lazily. Never NULL. */
struct hk_commit *hk_commit_new(const struct hk_redis_conf *conf);

/* NULL-safe. Call it only once no thread is in, or can call,
 * hk_commit_enqueue on c. */
void hk_commit_free(struct hk_commit *c);

/*
 * Like hk_store_enqueue, from any number of threads at once: queues d
 * (borrowed until the return) for the next batch and waits for its outcome,
 * writing that batch itself when no other is on the wire. Returns HK_E_OK
 * with id set only once Redis confirmed this delivery's XADD; HK_E_FULL
 * when Redis refused it over its maxmemory; HK_E_UNAVAILABLE with err set
 * when Redis could not be reached or refused it otherwise.
 */
enum hk_err hk_commit_enqueue(struct hk_commit *c, const struct hk_delivery *d,
                              char id[HK_STREAM_ID_MAX],
                              struct hk_error *err) HK_MUST_CHECK;

/* ===========================================================================
 * Reads of the status API (store/read.c)
 *
 * Keys are given without the prefix ("kpi:health", "clocks:lead_response").
 * The documents under kpi: are written by the workers and served as they
 * are; the clock and stage records are evaluated by the caller.
 * ======================================================================== */

/* GET of a string key: *out a new string (caller frees; *len its length)
 * or NULL when the key does not exist. */
enum hk_err hk_store_get(struct hk_store *st, const char *key, char **out,
                         size_t *len, struct hk_error *err) HK_MUST_CHECK;

/*
 * One slice of a sorted set by score, lowest first: up to count members
 * whose score is at least min_score (INT64_MIN for all), skipping the
 * first offset of them (ZRANGE key min +inf BYSCORE LIMIT offset count).
 * members and scores are parallel lists (owned; scores as Redis wrote
 * them).
 */
enum hk_err hk_store_zrange_score(struct hk_store *st, const char *key,
                                  int64_t min_score, size_t offset,
                                  size_t count, struct hk_strings *members,
                                  struct hk_strings *scores,
                                  struct hk_error *err) HK_MUST_CHECK;

/* The newest HK_CAP_JOURNEY journey events of subject
 * ({prefix}journey:SUBJECT), oldest first: members (hk_history_read
 * reads them) and scores (event time in ms, as text), parallel lists (owned);
 * empty when none. */
enum hk_err hk_store_journey(struct hk_store *st, const char *subject,
                             struct hk_strings *members,
                             struct hk_strings *scores,
                             struct hk_error *err) HK_MUST_CHECK;

/*
 * Up to count members of a sorted set whose scores are all equal, from the
 * greatest down, starting below the member `below` (excluded), or at the
 * greatest when below is NULL (ZRANGE key (below - BYLEX REV LIMIT 0
 * count). out is owned.
 */
enum hk_err hk_store_zrange_lex_rev(struct hk_store *st, const char *key,
                                    const char *below, size_t count,
                                    struct hk_strings *out,
                                    struct hk_error *err) HK_MUST_CHECK;

/* ===========================================================================
 * Restate and config generations (store/restate.c)
 *   {prefix}gen            the config generation (absent: 0); a restate's
 *                          --apply moves it on
 *   {prefix}restate        hash: the marker of a restate under way: id,
 *                          config (the new config's text), state (arming,
 *                          running, finishing, ready), begin_ms, chunk,
 *                          subjects, chunks, chunks_done, subjects_done,
 *                          events_done, and STATE_ms
 *   {prefix}restate:…      the shadow: the derived keys (clock records,
 *                          indexes, counters, buckets, stage records,
 *                          documents) under the new config, and the
 *                          restate's own todo (zset) and leases (hash)
 * The derived keys of a shadow are the live ones' suffixes under the
 * shadow prefix: a struct hk_store whose prefix is {prefix}restate:
 * writes them with the very calls that write the live ones.
 * ======================================================================== */

#define HK_STORE_SHADOW "restate:"

/* Fences every check-and-set put of st (hk_store_cas_put) with the
 * generation gen of live_prefix's {prefix}gen: a put finds it moved on and
 * fails with HK_E_STALE_CONFIG, writing nothing. gen < 0: no fence. */
void hk_store_fence(struct hk_store *st, const char *live_prefix, int64_t gen);

/* The generation (*gen, 0 when unset) and the restate marker (*marker: a
 * new object of strings, or NULL when none), in one round trip. */
enum hk_err hk_store_restate_poll(struct hk_store *st, int64_t *gen,
                                  json_t **marker,
                                  struct hk_error *err) HK_MUST_CHECK;

/* Writes the marker of a new restate; *started 0 when one is under way. */
enum hk_err hk_store_restate_begin(struct hk_store *st, const char *id,
                                   const char *config_text, int64_t begin_ms,
                                   size_t chunk, int64_t now_ms, int *started,
                                   struct hk_error *err) HK_MUST_CHECK;

/* What hk_store_restate_take hands out. */
enum hk_restate_work {
  HK_RESTATE_CHUNK,  /* *chunk and subjects set */
  HK_RESTATE_IDLE,   /* nothing to do now */
  HK_RESTATE_GONE,   /* no such restate any more */
  HK_RESTATE_FINISH, /* the caller finishes (due clocks, documents) */
};

/* Takes the next piece of restate id's work (lua/restate_take.lua),
 * leasing a chunk for lease_ms. */
enum hk_err hk_store_restate_take(struct hk_store *st, const char *id,
                                  int64_t now_ms, int64_t lease_ms,
                                  enum hk_restate_work *work, int64_t *chunk,
                                  struct hk_strings *subjects,
                                  struct hk_error *err) HK_MUST_CHECK;

/* Counts chunk as done with its subjects and events; *finish 1 when it
 * was the last (the caller finishes). */
enum hk_err hk_store_restate_done(struct hk_store *st, const char *id,
                                  int64_t chunk, int64_t subjects,
                                  int64_t events, int64_t now_ms, int *finish,
                                  struct hk_error *err) HK_MUST_CHECK;

/* Moves restate id from state `from` to `to`; *moved 0 when it was not
 * there. */
enum hk_err hk_store_restate_state(struct hk_store *st, const char *id,
                                   const char *from, const char *to,
                                   int64_t now_ms, int *moved,
                                   struct hk_error *err) HK_MUST_CHECK;

/* The histories of n subjects in one pipeline ({prefix}journey:SUBJECT,
 * oldest first): members[i] and scores[i] as hk_store_journey gives them
 * (arrays of n, each owned by the caller). */
enum hk_err hk_store_journeys(struct hk_store *st, const char *const *subjects,
                              size_t n, struct hk_strings *members,
                              struct hk_strings *scores,
                              struct hk_error *err) HK_MUST_CHECK;

/* Every key of st's prefix, without the prefix (SCAN, COUNT 1000). */
enum hk_err hk_store_scan_all(struct hk_store *st, struct hk_strings *out,
                              struct hk_error *err) HK_MUST_CHECK;

/* Puts restate id's shadow in the place of the live keys of the n
 * suffixes (lua/restate_switch.lua): *gen the new generation, 0 when the
 * restate was not ready (nothing changed). */
enum hk_err hk_store_restate_switch(struct hk_store *st, const char *id,
                                    const char *const *suffixes, size_t n,
                                    int64_t *gen,
                                    struct hk_error *err) HK_MUST_CHECK;

/* Deletes the marker (when it is still restate id's, or any when id is
 * NULL). */
enum hk_err hk_store_restate_clear(struct hk_store *st, const char *id,
                                   struct hk_error *err) HK_MUST_CHECK;

/* Appends to the intake stream a copy of every entry from start_ms on
 * (of source only, unless NULL), marked replay=ORIGINAL_ID; *copied and
 * *skipped (other sources, replays themselves) count them. */
enum hk_err hk_store_replay(struct hk_store *st, int64_t start_ms,
                            const char *source, int64_t *copied,
                            int64_t *skipped,
                            struct hk_error *err) HK_MUST_CHECK;

/* ===========================================================================
 * Retention and forget requests (store/retention.c)
 *
 *   {prefix}forget          stream of requests to forget a subject: fields
 *                           subject, by (who asked), at (ms); a worker
 *                           carries each out and deletes it
 *   {prefix}forget:done:ID  string, the JSON of what the request removed,
 *                           kept a day for the asker to read
 *
 * Streams and keys are named without the prefix ("intake", "events").
 * What goes when is docs/retention.md.
 * ======================================================================== */

/*
 * Removes from the stream the entries older than keep_from_ms, but never
 * one a consumer group of the stream has pending or has not read yet, and
 * at most chunk of them: *removed is how many went, *more 1 when the chunk
 * stopped it early.
 */
enum hk_err hk_store_trim(struct hk_store *st, const char *stream,
                          int64_t keep_from_ms, size_t chunk, int64_t *removed,
                          int *more, struct hk_error *err) HK_MUST_CHECK;

/* A counter of {prefix}stats ("newest_event_ms": the newest event time
 * journaled; "erase_gen": erases so far), 0 when unset. */
enum hk_err hk_store_stat_get(struct hk_store *st, const char *field,
                              int64_t *value,
                              struct hk_error *err) HK_MUST_CHECK;

/* ZREM of n members of a sorted set (key without the prefix). */
enum hk_err hk_store_zrem(struct hk_store *st, const char *key,
                          const char *const *members, size_t n,
                          struct hk_error *err) HK_MUST_CHECK;

/* Up to count subjects whose newest event is older than horizon_ms (out
 * owned). */
enum hk_err hk_store_subjects_older(struct hk_store *st, int64_t horizon_ms,
                                    size_t count, struct hk_strings *out,
                                    struct hk_error *err) HK_MUST_CHECK;

/* Deletes the n subjects' histories and takes them out of {prefix}subjects:
 * only those whose newest event is still older than horizon_ms, or every
 * one for INT64_MIN (a forget). *dropped: how many went. */
enum hk_err hk_store_subjects_drop(struct hk_store *st,
                                   const char *const *subjects, size_t n,
                                   int64_t horizon_ms, size_t *dropped,
                                   struct hk_error *err) HK_MUST_CHECK;

/* Trims the histories of the next count subjects of a walk through all of
 * them (kept in {prefix}stats history_cursor) to the events at or after
 * horizon_ms. *visited: the subjects visited (less than count when the walk
 * came to the end and starts over); *removed: the events removed. */
enum hk_err hk_store_history_trim(struct hk_store *st, int64_t horizon_ms,
                                  size_t count, size_t *visited,
                                  int64_t *removed,
                                  struct hk_error *err) HK_MUST_CHECK;

/* Up to count entries of the stream after the id `after` (NULL: from the
 * first), as letters (id and fields; out owned). */
enum hk_err hk_store_stream_page(struct hk_store *st, const char *stream,
                                 const char *after, size_t count,
                                 struct hk_letters *out,
                                 struct hk_error *err) HK_MUST_CHECK;

/* XDEL of n entries of the stream. */
enum hk_err hk_store_stream_delete(struct hk_store *st, const char *stream,
                                   const char *const *ids, size_t n,
                                   struct hk_error *err) HK_MUST_CHECK;

/* Queues a request to forget subject, asked by `by` (an OS user, a token
 * name) at now_ms; id is the request's. */
enum hk_err hk_store_forget_ask(struct hk_store *st, const char *subject,
                                const char *by, int64_t now_ms,
                                char id[HK_STREAM_ID_MAX],
                                struct hk_error *err) HK_MUST_CHECK;

/* The request id was carried out: keeps summary (JSON) for keep_s under
 * forget:done:ID and removes the request. */
enum hk_err hk_store_forget_done(struct hk_store *st, const char *id,
                                 const char *summary, int64_t keep_s,
                                 struct hk_error *err) HK_MUST_CHECK;

/* Where request id stands: *summary the JSON of what it removed (caller
 * frees) once done, else NULL with *queued 1 while it waits. */
enum hk_err hk_store_forget_status(struct hk_store *st, const char *id,
                                   char **summary, int *queued,
                                   struct hk_error *err) HK_MUST_CHECK;

/* *settled 1 when the workers read and acknowledged every delivery of the
 * intake up to the stream id `id`. */
enum hk_err hk_store_intake_settled(struct hk_store *st, const char *id,
                                    int *settled,
                                    struct hk_error *err) HK_MUST_CHECK;

#endif
