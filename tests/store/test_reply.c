/*
 * test_reply.c -- the store's reply readers (store/reply.c) fed raw RESP
 * bytes, as hiredis tests its own reader: hiredis' redisReader turns the
 * bytes into a reply tree, the store's reader turns that into the store's
 * structs. Good replies and malformed ones (wrong types, missing
 * elements, huge integers); no server.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "store/reply.h"

/* The reply tree of the RESP bytes s (caller frees). */
static redisReply *resp(const char *s) {
  redisReader *rd = redisReaderCreate();
  void *reply = NULL;
  cr_assert(rd != NULL);
  cr_assert(redisReaderFeed(rd, s, strlen(s)) == REDIS_OK);
  cr_assert(redisReaderGetReply(rd, &reply) == REDIS_OK);
  cr_assert(reply != NULL, "incomplete RESP: %s", s);
  redisReaderFree(rd);
  return reply;
}

/* A bulk string (new). */
static char *B(const char *s) {
  return hk_xprintf("$%zu\r\n%s\r\n", strlen(s), s);
}

/* An array of n parts (each new, taken). */
static char *A(int n, ...) {
  va_list ap;
  char *out = hk_xprintf("*%d\r\n", n);
  va_start(ap, n);
  for (int i = 0; i < n; i++) {
    char *part = va_arg(ap, char *);
    char *both = hk_xprintf("%s%s", out, part);
    free(out);
    free(part);
    out = both;
  }
  va_end(ap);
  return out;
}

/* The reply tree of the RESP bytes s, which it frees. */
static redisReply *take(char *s) {
  redisReply *r = resp(s);
  free(s);
  return r;
}

/* An entry [id, [k, v, …]] of n/2 pairs. */
static char *entry(const char *id, int n, ...) {
  va_list ap;
  char *fields = hk_xprintf("*%d\r\n", n);
  va_start(ap, n);
  for (int i = 0; i < n; i++) {
    char *b = B(va_arg(ap, const char *));
    char *both = hk_xprintf("%s%s", fields, b);
    free(b);
    free(fields);
    fields = both;
  }
  va_end(ap);
  return A(2, B(id), fields);
}

/* ------------------------------------------------------------------------ */

Test(resp_int, reads_an_integer_reply) {
  redisReply *r = resp(":42\r\n");
  int64_t v = 0;
  cr_assert_eq(hk_resp_int(r, &v, NULL), HK_E_OK);
  cr_assert_eq(v, 42);
  freeReplyObject(r);
}

Test(resp_int, reads_a_decimal_string) {
  redisReply *r = resp("$20\r\n-9223372036854775808\r\n");
  int64_t v = 0;
  cr_assert_eq(hk_resp_int(r, &v, NULL), HK_E_OK);
  cr_assert_eq(v, INT64_MIN);
  freeReplyObject(r);
}

Test(resp_int, refuses_what_is_not_an_integer) {
  const char *bad[] = {"$3\r\nabc\r\n",
                       "$3\r\n12x\r\n",
                       "$0\r\n\r\n",
                       "$3\r\n 12\r\n",
                       "$3\r\n+12\r\n",
                       "$-1\r\n",
                       "*0\r\n",
                       "-ERR no\r\n",
                       "$19\r\n9223372036854775808\r\n",
                       "$30\r\n999999999999999999999999999999\r\n"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    redisReply *r = resp(bad[i]);
    struct hk_error err = {HK_E_OK, ""};
    int64_t v = 7;
    cr_assert_eq(hk_resp_int(r, &v, &err), HK_E_UNAVAILABLE, "%s", bad[i]);
    cr_assert_eq(err.code, HK_E_UNAVAILABLE);
    freeReplyObject(r);
  }
}

Test(resp_score, reads_integer_and_float_scores) {
  redisReply *r = resp("$16\r\n9007199254740991\r\n");
  int64_t v = 0;
  cr_assert_eq(hk_resp_score(r, &v, NULL), HK_E_OK);
  cr_assert_eq(v, 9007199254740991LL);
  freeReplyObject(r);
  r = resp("$7\r\n1.5e+12\r\n");
  cr_assert_eq(hk_resp_score(r, &v, NULL), HK_E_OK);
  cr_assert_eq(v, 1500000000000LL);
  freeReplyObject(r);
}

Test(resp_score, refuses_infinite_and_huge_scores) {
  const char *bad[] = {"$3\r\ninf\r\n", "$5\r\n1e300\r\n", "$4\r\n-inf\r\n",
                       "$3\r\nnan\r\n", "*1\r\n:1\r\n"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    redisReply *r = resp(bad[i]);
    int64_t v = 0;
    cr_assert_eq(hk_resp_score(r, &v, NULL), HK_E_UNAVAILABLE, "%s", bad[i]);
    freeReplyObject(r);
  }
}

Test(resp_stream_id, reads_an_id_and_refuses_a_long_one) {
  char id[HK_STREAM_ID_MAX];
  redisReply *r = resp("$15\r\n1700000000000-0\r\n");
  cr_assert_eq(hk_resp_stream_id(r, id, NULL), HK_E_OK);
  cr_assert_str_eq(id, "1700000000000-0");
  freeReplyObject(r);
  r = take(B("123456789012345678901234567890123456789012345678-0"));
  cr_assert_eq(hk_resp_stream_id(r, id, NULL), HK_E_UNAVAILABLE);
  freeReplyObject(r);
  r = resp(":12\r\n");
  cr_assert_eq(hk_resp_stream_id(r, id, NULL), HK_E_UNAVAILABLE);
  freeReplyObject(r);
}

Test(resp_entries, reads_a_delivery_and_skips_a_deleted_entry) {
  /* XREADGROUP: [[stream, [entry, [id, nil]]]] */
  redisReply *r = take(
      A(1, A(2, B("handoff:intake"),
             A(2,
               entry("1-1", 14, "source", "demo", "kind", "standard-webhooks",
                     "delivery_id", "d1", "received_ms", "1700000000001",
                     "signed_ms", "1700000000000", "headers", "{}", "body",
                     "{\"a\":1}"),
               A(2, B("1-2"), hk_xstrdup("$-1\r\n"))))));
  struct hk_batch b = {NULL, 0};
  hk_resp_entries(hk_resp_xread(r), &b);
  cr_assert_eq(b.n, 1);
  cr_assert_str_eq(b.items[0].id, "1-1");
  cr_assert_str_eq(b.items[0].source, "demo");
  cr_assert_str_eq(b.items[0].kind, "standard-webhooks");
  cr_assert_str_eq(b.items[0].delivery_id, "d1");
  cr_assert_eq(b.items[0].received_ms, 1700000000001LL);
  cr_assert_eq(b.items[0].signed_ms, 1700000000000LL);
  cr_assert_eq(b.items[0].body_len, 7);
  cr_assert_str_eq(b.items[0].body, "{\"a\":1}");
  hk_batch_fini(&b);
  freeReplyObject(r);
}

Test(resp_entries, fills_missing_fields_and_zeroes_bad_times) {
  redisReply *r =
      take(A(1, entry("2-0", 4, "received_ms", "99999999999999999999",
                      "signed_ms", "12ab")));
  struct hk_batch b = {NULL, 0};
  hk_resp_entries(r, &b);
  cr_assert_eq(b.n, 1);
  cr_assert_eq(b.items[0].received_ms, 0);
  cr_assert_eq(b.items[0].signed_ms, 0);
  cr_assert_str_eq(b.items[0].source, "");
  cr_assert_str_eq(b.items[0].headers, "");
  cr_assert_eq(b.items[0].body_len, 0);
  hk_batch_fini(&b);
  freeReplyObject(r);
}

Test(resp_xread, has_no_entries_on_timeout_or_a_wrong_shape) {
  redisReply *r = resp("*-1\r\n");
  cr_assert_null(hk_resp_xread(r));
  freeReplyObject(r);
  r = take(A(1, A(1, B("handoff:intake"))));
  cr_assert_null(hk_resp_xread(r));
  freeReplyObject(r);
  r = resp(":1\r\n");
  cr_assert_null(hk_resp_xread(r));
  freeReplyObject(r);
}

Test(resp_autoclaim, reads_the_cursor_and_entries) {
  redisReply *r =
      take(A(3, B("5-0"), A(1, entry("4-0", 2, "source", "demo")), A(0)));
  char cursor[HK_STREAM_ID_MAX];
  const redisReply *entries = NULL;
  struct hk_batch b = {NULL, 0};
  cr_assert_eq(hk_resp_autoclaim(r, cursor, &entries, NULL), HK_E_OK);
  cr_assert_str_eq(cursor, "5-0");
  hk_resp_entries(entries, &b);
  cr_assert_eq(b.n, 1);
  cr_assert_str_eq(b.items[0].source, "demo");
  hk_batch_fini(&b);
  freeReplyObject(r);
}

Test(resp_autoclaim, refuses_missing_elements_and_wrong_types) {
  char *bad[] = {A(1, B("0-0")), A(2, hk_xstrdup(":0\r\n"), A(0)),
                 A(2, B("0-0"), B("x")), hk_xstrdup("$3\r\n0-0\r\n")};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    redisReply *r = take(bad[i]);
    char cursor[HK_STREAM_ID_MAX];
    const redisReply *entries = r;
    struct hk_error err = {HK_E_OK, ""};
    cr_assert_eq(hk_resp_autoclaim(r, cursor, &entries, &err),
                 HK_E_UNAVAILABLE);
    cr_assert_null(entries);
    cr_assert_str_eq(err.msg, "unexpected reply to XAUTOCLAIM");
    freeReplyObject(r);
  }
}

Test(resp_alerts, reads_attempts_and_defaults_bad_ones) {
  redisReply *r =
      take(A(4, entry("1-0", 4, "alert", "{\"a\":1}", "attempt", "3"),
             entry("2-0", 2, "attempt", "x"),
             entry("3-0", 2, "attempt", "99999999999"),
             A(2, hk_xstrdup(":1\r\n"), A(0))));
  struct hk_alert_batch b = {NULL, 0};
  hk_resp_alerts(r, &b);
  cr_assert_eq(b.n, 3);
  cr_assert_str_eq(b.items[0].alert, "{\"a\":1}");
  cr_assert_eq(b.items[0].attempt, 3);
  cr_assert_str_eq(b.items[1].alert, "{}");
  cr_assert_eq(b.items[1].attempt, 0);
  cr_assert_eq(b.items[2].attempt, 0);
  hk_alert_batch_fini(&b);
  freeReplyObject(r);
}

Test(resp_letters, reads_fields_and_leaves_out_what_is_not_utf8) {
  redisReply *r = take(A(2,
                         entry("1-0", 6, "source", "demo", "body", "\xff\xfe",
                               "reason", "no rule"),
                         B("not an entry")));
  struct hk_letters l = {NULL, 0};
  hk_resp_letters(r, &l);
  cr_assert_eq(l.n, 1);
  cr_assert_str_eq(l.items[0].id, "1-0");
  cr_assert_str_eq(
      json_string_value(json_object_get(l.items[0].fields, "source")), "demo");
  cr_assert_null(json_object_get(l.items[0].fields, "body"));
  cr_assert_eq(json_object_size(l.items[0].fields), 2);
  hk_letters_fini(&l);
  freeReplyObject(r);
}

Test(resp_groups, reads_our_group_only) {
  redisReply *r = take(A(
      2,
      A(8, B("name"), B("other"), B("consumers"), hk_xstrdup(":9\r\n"),
        B("pending"), hk_xstrdup(":9\r\n"), B("lag"), hk_xstrdup(":9\r\n")),
      A(8, B("name"), B("workers"), B("consumers"), hk_xstrdup(":2\r\n"),
        B("pending"), hk_xstrdup(":5\r\n"), B("lag"), hk_xstrdup("$-1\r\n"))));
  struct hk_queue_stats q = {0};
  hk_resp_groups(r, "workers", &q);
  cr_assert_eq(q.consumers, 2);
  cr_assert_eq(q.pending, 5);
  cr_assert_eq(q.lag, -1);
  freeReplyObject(r);
}

Test(resp_groups, leaves_the_figures_when_the_stream_is_missing) {
  redisReply *r = resp("-ERR no such key\r\n");
  struct hk_queue_stats q = {0};
  q.lag = -1;
  hk_resp_groups(r, "workers", &q);
  cr_assert_eq(q.pending, 0);
  cr_assert_eq(q.lag, -1);
  freeReplyObject(r);
}

Test(resp_groups, reads_the_last_delivered_id) {
  redisReply *r =
      resp("*1\r\n*4\r\n$4\r\nname\r\n$7\r\nworkers\r\n"
           "$17\r\nlast-delivered-id\r\n$15\r\n1700000000000-3\r\n");
  struct hk_queue_stats q = {0};
  hk_resp_groups(r, "workers", &q);
  cr_assert_str_eq(q.last_delivered, "1700000000000-3");
  freeReplyObject(r);
}

/* hk_queue_stall judges from the workers' reads, never from XLEN. */
Test(queue_stall, is_quiet_when_nothing_waits_however_long_ago_a_read) {
  struct hk_queue_stats q = {0};
  char why[160];
  q.length = 23753; /* an AOF reload's leftover figures */
  q.last_read_ms = 0;
  q.oldest_ms = -1;
  cr_assert_eq(hk_queue_stall(&q, 3600000, 30000, 120000, why, sizeof why), 0);
  cr_assert_str_eq(why, "");
}

Test(queue_stall, turns_amber_then_red_with_the_reason_in_words) {
  struct hk_queue_stats q = {0};
  char why[160];
  q.lag = 15;
  q.pending = 2;
  q.last_read_ms = 1000000;
  q.oldest_ms = 1000500;
  cr_assert_eq(hk_queue_stall(&q, 1029999, 30000, 120000, why, sizeof why), 0);
  cr_assert_eq(hk_queue_stall(&q, 1042000, 30000, 120000, why, sizeof why), 1);
  cr_assert_str_eq(why, "no worker has read for 42 s while 17 deliveries wait");
  cr_assert_eq(hk_queue_stall(&q, 1120000, 30000, 120000, why, sizeof why), 2);
}

Test(queue_stall, without_any_read_the_oldest_waiting_delivery_counts) {
  struct hk_queue_stats q = {0};
  char why[160];
  q.lag = 1;
  q.last_read_ms = -1;
  q.oldest_ms = 1000000;
  cr_assert_eq(hk_queue_stall(&q, 1031000, 30000, 120000, why, sizeof why), 1);
  cr_assert_str_eq(
      why,
      "no worker has ever read, and 1 delivery waits, the oldest for 31 s");
}

Test(resp_counters, keeps_integers_and_leaves_out_the_rest) {
  char name[200];
  redisReply *r;
  json_t *o;
  memset(name, 'n', sizeof name - 1);
  name[sizeof name - 1] = '\0';
  r = take(A(9, B("processed"), B("12"), B("bad"), B("1x"), B(name), B("1"),
             B("huge"), B("99999999999999999999"), B("dangling")));
  o = hk_resp_counters(r);
  cr_assert_eq(json_object_size(o), 1);
  cr_assert_eq(json_integer_value(json_object_get(o, "processed")), 12);
  json_decref(o);
  freeReplyObject(r);
  r = resp("$2\r\nno\r\n");
  o = hk_resp_counters(r);
  cr_assert_eq(json_object_size(o), 0);
  json_decref(o);
  freeReplyObject(r);
}

Test(resp_scan, reads_a_page) {
  redisReply *r = take(A(2, B("17"), A(4, B("s1"), B("r1"), B("s2"), B("r2"))));
  char cursor[32] = "0";
  struct hk_strings f;
  struct hk_strings v;
  cr_assert_eq(hk_resp_scan(r, cursor, &f, &v, NULL), HK_E_OK);
  cr_assert_str_eq(cursor, "17");
  cr_assert_eq(f.n, 2);
  cr_assert_str_eq(f.v[1], "s2");
  cr_assert_str_eq(v.v[1], "r2");
  hk_strings_fini(&f);
  hk_strings_fini(&v);
  freeReplyObject(r);
}

Test(resp_scan, refuses_a_malformed_page) {
  char *bad[] = {A(2, B("0"), A(3, B("s1"), B("r1"), B("s2"))),
                 A(2, B("0"), A(2, B("s1"), hk_xstrdup(":1\r\n"))),
                 A(2, B("123456789012345678901234567890123"), A(0)),
                 A(1, B("0")), hk_xstrdup(":0\r\n")};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    redisReply *r = take(bad[i]);
    char cursor[32] = "5";
    struct hk_strings f;
    struct hk_strings v;
    struct hk_error err = {HK_E_OK, ""};
    cr_assert_eq(hk_resp_scan(r, cursor, &f, &v, &err), HK_E_UNAVAILABLE);
    cr_assert_str_eq(err.msg, "unexpected reply to HSCAN");
    cr_assert_str_eq(cursor, "5");
    cr_assert_eq(f.n, 0);
    cr_assert_eq(v.n, 0);
    freeReplyObject(r);
  }
}

Test(resp_strings, reads_every_step_and_blanks_non_strings) {
  redisReply *r = take(A(4, B("m1"), B("10"), hk_xstrdup(":3\r\n"), B("20")));
  struct hk_strings m;
  struct hk_strings s;
  hk_resp_strings(r, 0, 2, &m);
  hk_resp_strings(r, 1, 2, &s);
  cr_assert_eq(m.n, 2);
  cr_assert_str_eq(m.v[1], "");
  cr_assert_str_eq(s.v[1], "20");
  hk_strings_fini(&m);
  hk_strings_fini(&s);
  freeReplyObject(r);
  r = resp("$-1\r\n");
  hk_resp_strings(r, 0, 1, &m);
  cr_assert_eq(m.n, 0);
  freeReplyObject(r);
}

Test(index_member, formats_and_reads_back_start_and_subject) {
  char *m = hk_store_index_member(1700000000000LL, "company:3");
  int64_t start = 0;
  cr_assert_str_eq(m, "1700000000000 company:3");
  cr_assert_str_eq(hk_store_index_subject(m, &start), "company:3");
  cr_assert_eq(start, 1700000000000LL);
  free(m);
  m = hk_store_index_member(5, "s");
  cr_assert_str_eq(m, "0000000000005 s");
  free(m);
  cr_assert_str_eq(hk_store_index_subject("0000000000005", NULL), "");
}

/* An INFO memory text as Redis 7 writes it (cut), with used_memory_human
 * and friends before and after the lines that count. */
#define INFO_MEMORY                                                            \
  "# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\n"             \
  "used_memory_rss:5000000\r\nmaxmemory_human:8.00M\r\n"                       \
  "maxmemory:8388608\r\nmaxmemory_policy:noeviction\r\n"

Test(resp_memory, reads_used_memory_and_maxmemory_not_their_cousins) {
  redisReply *r = take(B(INFO_MEMORY));
  struct hk_store_memory m = {0, 0};
  cr_assert_eq(hk_resp_memory(r, &m, NULL), HK_E_OK);
  cr_assert_eq(m.used, 1048576);
  cr_assert_eq(m.max, 8388608);
  freeReplyObject(r);
  /* No limit is maxmemory:0; the last line may lack its CRLF. */
  r = take(B("used_memory:900\r\nmaxmemory:0"));
  cr_assert_eq(hk_resp_memory(r, &m, NULL), HK_E_OK);
  cr_assert_eq(m.used, 900);
  cr_assert_eq(m.max, 0);
  freeReplyObject(r);
}

Test(resp_memory, refuses_a_reply_without_both_figures) {
  const char *bad[] = {"used_memory:900\r\n",
                       "maxmemory:900\r\n",
                       "used_memory_rss:9\r\nmaxmemory:9\r\n",
                       "used_memory:x\r\nmaxmemory:9\r\n",
                       "used_memory:-1\r\nmaxmemory:9\r\n",
                       ""};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    redisReply *r = take(B(bad[i]));
    struct hk_error err = {HK_E_OK, ""};
    struct hk_store_memory m;
    cr_assert_eq(hk_resp_memory(r, &m, &err), HK_E_UNAVAILABLE, "%s", bad[i]);
    cr_assert_eq(err.code, HK_E_UNAVAILABLE);
    freeReplyObject(r);
  }
  {
    redisReply *r = resp("-ERR unknown section\r\n");
    struct hk_store_memory m;
    cr_assert_eq(hk_resp_memory(r, &m, NULL), HK_E_UNAVAILABLE);
    freeReplyObject(r);
  }
}

Test(resp_oom, tells_redis_refusing_a_write_over_maxmemory) {
  redisReply *oom =
      resp("-OOM command not allowed when used memory > 'maxmemory'.\r\n");
  redisReply *other = resp("-ERR wrong number of arguments\r\n");
  redisReply *str = resp("$4\r\nOOM \r\n");
  cr_assert_eq(hk_resp_is_oom(oom), 1);
  cr_assert_eq(hk_resp_is_oom(other), 0);
  cr_assert_eq(hk_resp_is_oom(str), 0);
  cr_assert_eq(hk_resp_is_oom(NULL), 0);
  freeReplyObject(oom);
  freeReplyObject(other);
  freeReplyObject(str);
}
