/*
 * dlq.c -- the dead letters ({prefix}dlq): listed, and queued again as
 * what they were (lua/dlq_retry.lua). They are written by the journal
 * (journal.c) and by the alert sender (alerts.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/reply.h"
#include "store/store_internal.h"

void hk_letters_fini(struct hk_letters *l) {
  for (size_t i = 0; i < l->n; i++) {
    json_decref(l->items[i].fields);
  }
  free(l->items);
  l->items = NULL;
  l->n = 0;
}

enum hk_err hk_store_dlq_list(struct hk_store *st, const char *start,
                              size_t count, struct hk_letters *out,
                              struct hk_error *err) {
  char cnt[24];
  const char *argv[] = {"XRANGE", st->keys.dlq, start, "+", "COUNT", cnt};
  redisReply *r;

  out->items = NULL;
  out->n = 0;
  snprintf(cnt, sizeof cnt, "%zu", count);
  r = hk_store_command(st, 6, argv, NULL, err);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  hk_resp_letters(r, out);
  freeReplyObject(r);
  return HK_E_OK;
}

enum hk_err hk_store_dlq_retry(struct hk_store *st, const char *id, int *found,
                               char new_id[HK_STREAM_ID_MAX],
                               struct hk_error *err) {
  struct hk_args a = {0};
  redisReply *r;
  enum hk_err rc = HK_E_UNAVAILABLE;

  *found = 0;
  new_id[0] = '\0';
  hk_args_str(&a, "3");
  hk_args_str(&a, st->keys.dlq);
  hk_args_str(&a, st->keys.intake);
  hk_args_str(&a, st->keys.alerts);
  hk_args_str(&a, id);
  r = hk_store_eval(st, HK_SCRIPT_DLQ_RETRY, &a, err);
  hk_args_fini(&a);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  if (r->type == REDIS_REPLY_NIL) {
    rc = HK_E_OK;
  } else if (r->type == REDIS_REPLY_STRING &&
             hk_resp_stream_id(r, new_id, NULL) == HK_E_OK) {
    *found = 1;
    rc = HK_E_OK;
  } else {
    hk_fail(err, HK_E_UNAVAILABLE, "unexpected reply to the retry script");
  }
  freeReplyObject(r);
  return rc;
}
