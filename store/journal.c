/*
 * journal.c -- what a worker made of one delivery: its events, ignored
 * items and dead letters, recorded with the delivery's acknowledgement by
 * one script (lua/journal.lua), so a worker that dies at any point leaves
 * either nothing or everything done. Idempotence keys are hashed with
 * Redis' own SHA-1 so keys stay short whatever the providers' ids look
 * like.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"

/* The journey history entry of an event item: key
 * "{prefix}journey:SUBJECT", score (ms) and the subject, new strings
 * (caller frees), read from the event's JSON; all NULL when the item has
 * no history member or the event lacks a subject or a time (then it is not
 * kept). The member itself is the caller's (journey's codec). */
static void journey_args(const struct hk_store *st,
                         const struct hk_journal_item *it, char **key,
                         char **score, char **subj) {
  json_t *ev = it->history != NULL && it->event != NULL
                   ? json_loads(it->event, 0, NULL)
                   : NULL;
  const char *subject = json_string_value(json_object_get(ev, "subject"));
  json_t *at = json_object_get(ev, "at");
  *key = NULL;
  *score = NULL;
  *subj = NULL;
  if (subject != NULL && json_is_integer(at)) {
    *key = hk_keys_fmt(&st->keys, HK_KEYF_JOURNEY, subject);
    *score = hk_xprintf("%" PRId64, (int64_t)json_integer_value(at));
    *subj = hk_xstrdup(subject);
  }
  json_decref(ev);
}

/* The journals of one hk_store_journal_many. */
struct journals {
  struct hk_store *st;
  struct hk_journal *js;
  int64_t ttl_s;
  int64_t now_ms;
};

/* The arguments of one delivery's journal (lua/journal.lua). */
static void journal_build(void *ctx, size_t at, struct hk_args *a) {
  static const char kinds[] = {'e', 'i', 'd'};
  const struct journals *all = ctx;
  const struct hk_store *st = all->st;
  const struct hk_journal *j = &all->js[at];
  const struct hk_entry *e = j->e;

  hk_args_str(a, "6");
  hk_args_str(a, st->keys.intake);
  hk_args_str(a, st->keys.events);
  hk_args_str(a, st->keys.dlq);
  hk_args_str(a, st->keys.counts);
  hk_args_str(a, st->keys.stats);
  hk_args_str(a, st->keys.subjects);
  hk_args_str(a, HK_STORE_GROUP);
  hk_args_str(a, e->id);
  hk_args_own(a, hk_xprintf("%" PRId64, all->ttl_s > 0 ? all->ttl_s : 1));
  hk_args_str(a, st->keys.seen);
  hk_args_own(a, hk_xprintf("%" PRId64, all->now_ms));
  hk_args_str(a, e->source);
  hk_args_str(a, e->kind);
  hk_args_str(a, e->delivery_id);
  hk_args_own(a, hk_xprintf("%" PRId64, e->received_ms));
  hk_args_own(a, hk_xprintf("%" PRId64, e->signed_ms));
  hk_args_str(a, e->headers != NULL ? e->headers : "{}");
  hk_args_own(a, hk_xprintf("%u", HK_CAP_SENDER_LABELS));
  for (size_t i = 0; i < j->n; i++) {
    const struct hk_journal_item *it = &j->items[i];
    hk_args_add(a, &kinds[it->kind], 1);
    hk_args_str(a, it->key);
    hk_args_str(a, it->counter);
    if (it->kind == HK_JOURNAL_EVENT) {
      char *key;
      char *score;
      char *subject;
      journey_args(st, it, &key, &score, &subject);
      hk_args_str(a, it->event);
      hk_args_own(a, key != NULL ? key : hk_xstrdup(""));
      hk_args_own(a, score != NULL ? score : hk_xstrdup("0"));
      hk_args_str(a, key != NULL ? it->history : "");
      hk_args_own(a, subject != NULL ? subject : hk_xstrdup(""));
    } else if (it->kind == HK_JOURNAL_DEAD) {
      hk_args_str(a, it->rule);
      hk_args_str(a, it->reason);
      hk_args_str(a, it->ptype);
      hk_args_add(a, it->body, it->body_len);
    }
  }
}

static void journal_take(void *ctx, size_t i, redisReply *r) {
  struct journals *all = ctx;
  if (r->type == REDIS_REPLY_INTEGER && r->integer >= 0) {
    all->js[i].fresh = (size_t)r->integer;
  }
  freeReplyObject(r);
}

enum hk_err hk_store_journal_many(struct hk_store *st, struct hk_journal *js,
                                  size_t n, int64_t ttl_s, int64_t now_ms,
                                  struct hk_error *err) {
  struct journals all = {st, js, ttl_s, now_ms};
  for (size_t i = 0; i < n; i++) {
    js[i].fresh = 0;
    if (js[i].n > HK_CAP_JOURNAL_ITEMS) {
      return hk_fail(err, HK_E_INTERNAL,
                     "a delivery made %zu outcomes, over %u", js[i].n,
                     HK_CAP_JOURNAL_ITEMS);
    }
  }
  /* The journal is idempotent, so a connection that died with a Redis
   * restart can simply be tried once more. */
  return hk_store_eval_many(st, HK_SCRIPT_JOURNAL, HK_RETRY, n, journal_build,
                            journal_take, &all, err);
}

enum hk_err hk_store_journal(struct hk_store *st, const struct hk_entry *e,
                             const struct hk_journal_item *items, size_t n,
                             int64_t ttl_s, int64_t now_ms, size_t *fresh,
                             struct hk_error *err) {
  struct hk_journal j = {e, items, n, 0};
  enum hk_err rc = hk_store_journal_many(st, &j, 1, ttl_s, now_ms, err);
  if (fresh != NULL) {
    *fresh = j.fresh;
  }
  return rc;
}
