/*
 * calendar_stub.c -- TEMPORARY stand-in for calendar.c, so that the clock
 * branch builds and tests on its own. It is replaced by calendar.c (written
 * in parallel) and dropped when the branches merge.
 *
 * It implements calendar time only: every calendar behaves as the NULL
 * calendar of workers.h, open all the time, whatever its configuration.
 */
#include <stdlib.h>

#include "workers/workers.h"

/* A handle with nothing in it: the stub has no business hours. */
struct hk_calendar {
  int unused;
};

struct hk_calendar *hk_calendar_new(const char *name, const json_t *conf,
                                    struct hk_error *err) {
  (void)name;
  (void)conf;
  (void)err;
  return hk_xcalloc(1, sizeof(struct hk_calendar));
}

void hk_calendar_free(struct hk_calendar *c) {
  free(c);
}

int64_t hk_calendar_add(const struct hk_calendar *c, int64_t from_ms,
                        int64_t open_ms) {
  int64_t out;
  (void)c;
  if (__builtin_add_overflow(from_ms, open_ms, &out)) {
    out = HK_NEVER;
  }
  return out;
}

int64_t hk_calendar_between(const struct hk_calendar *c, int64_t a_ms,
                            int64_t b_ms) {
  (void)c;
  return b_ms > a_ms ? b_ms - a_ms : 0;
}
