/*
 * reply.h -- private to store/: the pure readers of Redis replies. Each
 * turns a reply tree (hiredis' redisReply, as its reader built it from the
 * RESP bytes) into the store's own structs, and checks its shape: no I/O,
 * no connection, so tests/store feeds them raw RESP bytes through hiredis'
 * redisReader, as hiredis tests its own reader.
 *
 * A reader of a list skips an element of the wrong shape (an entry deleted
 * meanwhile comes back as [id, nil]); a reader of one value refuses it
 * with HK_E_UNAVAILABLE and err set, as an outage would be. Every string
 * copied out is owned by the output.
 */
#ifndef HK_STORE_REPLY_H
#define HK_STORE_REPLY_H

#include <hiredis/hiredis.h>

#include "store/store.h"

/* s[0, len) as a decimal int64 with nothing else: 0, or -1 when it is not
 * one (empty, other bytes, out of range). */
int hk_resp_parse_int(const char *s, size_t len, int64_t *out);

/* An integer reply, or a string one holding a decimal int64. */
enum hk_err hk_resp_int(const redisReply *r, int64_t *out,
                        struct hk_error *err) HK_MUST_CHECK;

/* A score as Redis prints it: an integer, or a double in int64 range
 * (truncated). */
enum hk_err hk_resp_score(const redisReply *r, int64_t *out,
                          struct hk_error *err) HK_MUST_CHECK;

/* A stream id (a string shorter than HK_STREAM_ID_MAX). */
enum hk_err hk_resp_stream_id(const redisReply *r, char id[HK_STREAM_ID_MAX],
                              struct hk_error *err) HK_MUST_CHECK;

/* Appends the deliveries of a list of [id, [k, v…]] entries to b. */
void hk_resp_entries(const redisReply *entries, struct hk_batch *b);

/* The entries of an XREADGROUP reply of one stream ([[stream, [entry…]]]),
 * or NULL when there are none (nil on timeout) or the shape is wrong. */
const redisReply *hk_resp_xread(const redisReply *r);

/* An XAUTOCLAIM reply: [cursor, [entry…], …]. Sets cursor and *entries
 * (borrowed from r). */
enum hk_err hk_resp_autoclaim(const redisReply *r,
                              char cursor[HK_STREAM_ID_MAX],
                              const redisReply **entries,
                              struct hk_error *err) HK_MUST_CHECK;

/* Appends the alerts of a list of [id, [k, v…]] entries to b. */
void hk_resp_alerts(const redisReply *entries, struct hk_alert_batch *b);

/* The dead letters of an XRANGE reply (out emptied first). */
void hk_resp_letters(const redisReply *r, struct hk_letters *out);

/* The figures of group in an XINFO GROUPS reply; out's pending, lag and
 * consumers are left as they are when the group is not listed. */
void hk_resp_groups(const redisReply *r, const char *group,
                    struct hk_queue_stats *out);

/* A hash of integer counters (HGETALL) as a new object; fields over 127
 * bytes and values that are not integers are left out. */
json_t *hk_resp_counters(const redisReply *r);

/* An HSCAN reply [cursor, [field, value…]]: cursor and the parallel lists
 * (emptied first, left empty on failure). */
enum hk_err hk_resp_scan(const redisReply *r, char cursor[32],
                         struct hk_strings *fields, struct hk_strings *values,
                         struct hk_error *err) HK_MUST_CHECK;

/* The memory figures of an INFO (or INFO memory) reply: used_memory and
 * maxmemory (0: Redis has no limit). HK_E_UNAVAILABLE with err set when
 * the reply is not a string or lacks either line or holds no integer
 * there. */
enum hk_err hk_resp_memory(const redisReply *r, struct hk_store_memory *out,
                           struct hk_error *err) HK_MUST_CHECK;

/* 1 for Redis's refusal of a write over maxmemory (an error reply starting
 * "OOM "), else 0. */
int hk_resp_is_oom(const redisReply *r);

/* The elements from, from + step… of an array reply as strings ("" for
 * one that is not a string). */
void hk_resp_strings(const redisReply *r, size_t from, size_t step,
                     struct hk_strings *s);

#endif
