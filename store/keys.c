/*
 * keys.c -- the key names of keys.h, and the state-index member of the
 * door (store.h).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/keys.h"
#include "store/store.h"

void hk_keys_init(struct hk_keys *k, const char *prefix) {
  k->prefix = hk_xstrdup(prefix);
  k->intake = hk_xprintf("%s" HK_KEY_INTAKE, prefix);
  k->stats = hk_xprintf("%s" HK_KEY_STATS, prefix);
  k->intake_counts = hk_xprintf("%s" HK_KEY_INTAKE_COUNTS, prefix);
  k->events = hk_xprintf("%s" HK_KEY_EVENTS, prefix);
  k->dlq = hk_xprintf("%s" HK_KEY_DLQ, prefix);
  k->counts = hk_xprintf("%s" HK_KEY_COUNTS, prefix);
  k->seen = hk_xprintf("%s" HK_KEY_SEEN, prefix);
  k->alerts = hk_xprintf("%s" HK_KEY_ALERTS, prefix);
  k->alerts_retry = hk_xprintf("%s" HK_KEY_ALERTS_RETRY, prefix);
  k->subjects = hk_xprintf("%s" HK_KEY_SUBJECTS, prefix);
}

void hk_keys_fini(struct hk_keys *k) {
  free(k->prefix);
  free(k->intake);
  free(k->stats);
  free(k->intake_counts);
  free(k->events);
  free(k->dlq);
  free(k->counts);
  free(k->seen);
  free(k->alerts);
  free(k->alerts_retry);
  free(k->subjects);
  memset(k, 0, sizeof *k);
}

char *hk_keys_fmt(const struct hk_keys *k, const char *fmt, ...) {
  va_list ap;
  char *suffix;
  char *key;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) {
    abort(); /* a bad format: a programmer's error */
  }
  suffix = hk_xmalloc((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(suffix, (size_t)n + 1, fmt, ap);
  va_end(ap);
  key = hk_xprintf("%s%s", k->prefix, suffix);
  free(suffix);
  return key;
}

char *hk_store_index_member(int64_t started_ms, const char *subject) {
  return hk_xprintf(HK_INDEX_MEMBER, started_ms, subject);
}

const char *hk_store_index_subject(const char *member, int64_t *started_ms) {
  size_t n = strlen(member);
  if (started_ms != NULL) {
    *started_ms = strtoll(member, NULL, 10);
  }
  return n > HK_INDEX_START_DIGITS + 1 ? member + HK_INDEX_START_DIGITS + 1
                                       : "";
}
