/*
 * alerts.c -- the alerts to send ({prefix}alerts, group "notifiers"):
 * read with the due retries moved back first (lua/alerts_due.lua), then
 * done, put off for a retry ({prefix}alerts:retry), or made a dead letter,
 * each atomically with its removal (MULTI/EXEC).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/reply.h"
#include "store/store_internal.h"

void hk_alert_batch_fini(struct hk_alert_batch *b) {
  for (size_t i = 0; i < b->n; i++) {
    free(b->items[i].alert);
  }
  free(b->items);
  b->items = NULL;
  b->n = 0;
}

/* Moves the retries due by now_ms back to the stream. */
static enum hk_err move_due(struct hk_store *st, int64_t now_ms,
                            struct hk_error *err) {
  struct hk_args a = {0};
  redisReply *r;
  hk_args_str(&a, "2");
  hk_args_str(&a, st->keys.alerts_retry);
  hk_args_str(&a, st->keys.alerts);
  hk_args_own(&a, hk_xprintf("%" PRId64, now_ms));
  r = hk_store_eval(st, HK_SCRIPT_ALERTS_DUE, &a, err);
  hk_args_fini(&a);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  freeReplyObject(r);
  return HK_E_OK;
}

enum hk_err hk_store_alerts_read(struct hk_store *st, const char *consumer,
                                 size_t count, int64_t block_ms,
                                 int64_t idle_ms, int64_t now_ms,
                                 struct hk_alert_batch *out,
                                 struct hk_error *err) {
  char cnt[24];
  char blk[24];
  char idle[24];
  const char *claim[] = {"XAUTOCLAIM",
                         st->keys.alerts,
                         HK_STORE_ALERT_GROUP,
                         consumer,
                         idle,
                         "0-0",
                         "COUNT",
                         cnt};
  const char *read[] = {"XREADGROUP",    "GROUP", HK_STORE_ALERT_GROUP,
                        consumer,        "COUNT", cnt,
                        "BLOCK",         blk,     "STREAMS",
                        st->keys.alerts, ">"};
  redisReply *r;

  out->items = NULL;
  out->n = 0;
  snprintf(cnt, sizeof cnt, "%zu", count);
  snprintf(blk, sizeof blk, "%" PRId64, block_ms);
  snprintf(idle, sizeof idle, "%" PRId64, idle_ms);
  if (hk_store_group_create(st, st->keys.alerts, HK_STORE_ALERT_GROUP, err) !=
          HK_E_OK ||
      move_due(st, now_ms, err) != HK_E_OK) {
    return HK_E_UNAVAILABLE;
  }
  r = hk_store_command(st, 8, claim, NULL, err);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2) {
    hk_resp_alerts(r->element[1], out);
  }
  freeReplyObject(r);
  if (out->n == 0) {
    r = hk_store_command(st, 11, read, NULL, err);
    if (r == NULL) {
      hk_alert_batch_fini(out);
      return HK_E_UNAVAILABLE;
    }
    hk_resp_alerts(hk_resp_xread(r), out);
    freeReplyObject(r);
  }
  return HK_E_OK;
}

/* The n commands of one MULTI/EXEC. */
struct transaction {
  const char **const *cmds;
  const int *argcs;
  size_t n;
  redisReply *last; /* EXEC's reply */
};

static void keep_last(void *ctx, redisReply *r) {
  struct transaction *t = ctx;
  freeReplyObject(t->last);
  t->last = r;
}

static enum hk_err transaction_run(struct hk_store *st, void *ctx,
                                   struct hk_error *err) {
  struct transaction *t = ctx;
  const char *multi[] = {"MULTI"};
  const char *exec[] = {"EXEC"};
  enum hk_err rc = hk_store_append(st, 1, multi, NULL, err);
  for (size_t i = 0; rc == HK_E_OK && i < t->n; i++) {
    rc = hk_store_append(st, t->argcs[i], t->cmds[i], NULL, err);
  }
  if (rc == HK_E_OK) {
    rc = hk_store_append(st, 1, exec, NULL, err);
  }
  if (rc == HK_E_OK) {
    rc = hk_store_read_replies(st, t->n + 2, keep_last, t, err);
  }
  if (rc == HK_E_OK && t->last->type != REDIS_REPLY_ARRAY) {
    rc = hk_fail(err, HK_E_UNAVAILABLE, "the transaction was aborted");
  }
  if (rc != HK_E_OK && st->c != NULL) {
    /* A transaction that failed half-way leaves the connection in MULTI. */
    hk_store_drop(st);
  }
  return rc;
}

/* Runs the n commands of cmds in one MULTI/EXEC, once. */
static enum hk_err transaction(struct hk_store *st, const char **const *cmds,
                               const int *argcs, size_t n,
                               struct hk_error *err) {
  struct transaction t = {cmds, argcs, n, NULL};
  enum hk_err rc = hk_store_round(st, HK_ONCE, transaction_run, &t, err);
  freeReplyObject(t.last);
  return rc;
}

enum hk_err hk_store_alert_done(struct hk_store *st, const char *id,
                                struct hk_error *err) {
  const char *xack[] = {"XACK", st->keys.alerts, HK_STORE_ALERT_GROUP, id};
  const char *xdel[] = {"XDEL", st->keys.alerts, id};
  const char **const cmds[] = {xack, xdel};
  const int argcs[] = {4, 3};
  return transaction(st, cmds, argcs, 2, err);
}

enum hk_err hk_store_alert_retry(struct hk_store *st,
                                 const struct hk_alert_entry *a, int attempt,
                                 int64_t at_ms, struct hk_error *err) {
  char score[24];
  char *member = hk_xprintf("%d|%s", attempt, a->alert);
  const char *zadd[] = {"ZADD", st->keys.alerts_retry, score, member};
  const char *xack[] = {"XACK", st->keys.alerts, HK_STORE_ALERT_GROUP, a->id};
  const char *xdel[] = {"XDEL", st->keys.alerts, a->id};
  const char **const cmds[] = {zadd, xack, xdel};
  const int argcs[] = {4, 4, 3};
  enum hk_err rc;
  snprintf(score, sizeof score, "%" PRId64, at_ms);
  rc = transaction(st, cmds, argcs, 3, err);
  free(member);
  return rc;
}

enum hk_err hk_store_alert_dead(struct hk_store *st,
                                const struct hk_alert_entry *a,
                                const char *reason, int64_t now_ms,
                                struct hk_error *err) {
  char now[24];
  const char *xadd[] = {"XADD",  st->keys.dlq, "*",      "kind",
                        "alert", "alert",      a->alert, "reason",
                        reason,  "failed_ms",  now};
  const char *xack[] = {"XACK", st->keys.alerts, HK_STORE_ALERT_GROUP, a->id};
  const char *xdel[] = {"XDEL", st->keys.alerts, a->id};
  const char **const cmds[] = {xadd, xack, xdel};
  const int argcs[] = {11, 4, 3};
  snprintf(now, sizeof now, "%" PRId64, now_ms);
  return transaction(st, cmds, argcs, 3, err);
}
