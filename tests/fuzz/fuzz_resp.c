/*
 * fuzz_resp.c -- the store's readers of Redis replies (store/reply.h):
 * any bytes through hiredis' own RESP reader, then every reply it builds
 * through every reader. Each must either take the reply or refuse it,
 * whatever its shape: a reply is the one input of the store that comes
 * from outside the process. An input that hiredis itself refuses as bad
 * RESP ends the run there.
 */
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "store/reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_every_way(const redisReply *r) {
  struct hk_error err = {HK_E_OK, ""};
  int64_t n = 0;
  char id[HK_STREAM_ID_MAX];
  char cursor[32];
  const redisReply *entries = NULL;
  struct hk_batch b = {NULL, 0};
  struct hk_alert_batch a = {NULL, 0};
  struct hk_letters l = {NULL, 0};
  struct hk_queue_stats q;
  struct hk_strings f = {NULL, 0};
  struct hk_strings v = {NULL, 0};
  const redisReply *x;
  json_t *counters;

  (void)!hk_resp_int(r, &n, &err);
  (void)!hk_resp_score(r, &n, &err);
  (void)!hk_resp_stream_id(r, id, &err);
  hk_resp_entries(r, &b);
  x = hk_resp_xread(r);
  if (x != NULL) {
    hk_resp_entries(x, &b);
  }
  if (hk_resp_autoclaim(r, id, &entries, &err) == HK_E_OK && entries != NULL) {
    hk_resp_entries(entries, &b);
  }
  hk_resp_alerts(r, &a);
  hk_resp_letters(r, &l);
  memset(&q, 0, sizeof q);
  hk_resp_groups(r, "workers", &q);
  counters = hk_resp_counters(r);
  json_decref(counters);
  (void)!hk_resp_scan(r, cursor, &f, &v, &err);
  /* The readers overwrite their output: release it between calls. */
  hk_strings_fini(&f);
  hk_strings_fini(&v);
  hk_resp_strings(r, 0, 1, &f);
  hk_resp_strings(r, 1, 2, &v);
  hk_batch_fini(&b);
  hk_alert_batch_fini(&a);
  hk_letters_fini(&l);
  hk_strings_fini(&f);
  hk_strings_fini(&v);
}

/* 1 when a '*' or '$' anywhere is followed by a number over 4096 (more
 * than the lines that hiredis reads as a length or count): hiredis
 * 0.14 allocates an array of a multi-bulk's count before reading its
 * elements, so "*999999999" costs gigabytes in its code, not ours, and
 * would keep the fuzzer from getting anywhere. Redis's own replies to the
 * store are short. */
static int oversized(const uint8_t *data, size_t size) {
  for (size_t i = 0; i < size; i++) {
    if (data[i] == '*' || data[i] == '$') {
      long long n = 0;
      size_t j = i + 1;
      while (j < size && data[j] >= '0' && data[j] <= '9' && n <= 4096) {
        n = n * 10 + (data[j] - '0');
        j++;
      }
      if (n > 4096) {
        return 1;
      }
    }
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  redisReader *rd;
  void *reply = NULL;
  if (oversized(data, size)) {
    return 0;
  }
  rd = redisReaderCreate();
  if (rd == NULL) {
    abort();
  }
  if (redisReaderFeed(rd, (const char *)data, size) == REDIS_OK) {
    while (redisReaderGetReply(rd, &reply) == REDIS_OK && reply != NULL) {
      read_every_way(reply);
      freeReplyObject(reply);
      reply = NULL;
    }
  }
  redisReaderFree(rd);
  return 0;
}
