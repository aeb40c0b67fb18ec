/*
 * test_labels.c -- a sender that makes up event types without end cannot
 * grow /metrics without end: the first HK_CAP_SENDER_LABELS (64) distinct
 * types of a source are labels of their own, every later one counts under
 * type="other".
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define TYPES 100
#define CAP 64

static void up(void) {
  hk_stack_up("\"events\": [{\"name\": \"journey\", \"source\": \"demo\","
              " \"type\": \"{type}\", \"subject\": \"company:"
              "{data.company_id}\", \"at\": {\"path\": \"timestamp\","
              " \"format\": \"unix_ms\"}}],");
}

static int all_processed(void) {
  return hk_worker_log_count(0, "delivery processed") >= TYPES;
}

Test(labels, distinct_event_types_stay_bounded_in_metrics, .init = up,
     .fini = hk_stack_down, .timeout = 90) {
  struct hk_resp r;
  size_t labels = 0;
  long long other = -1;
  const char *line;

  for (int i = 0; i < TYPES; i++) {
    char type[32];
    snprintf(type, sizeof type, "made.up.%03d", i);
    hk_post_event(type, i, hk_now_ms(), "");
  }
  hk_worker_start(0, NULL);
  cr_assert(hk_wait_until(all_processed, 30000), "processed %zu of %d",
            hk_worker_log_count(0, "delivery processed"), TYPES);

  cr_assert_eq(hk_http("GET", "/metrics", NULL, NULL, 0, &r), 0);
  cr_assert_eq(r.status, 200, "%s", r.body);
  for (line = r.body; line != NULL && *line != '\0';
       line = strchr(line, '\n') != NULL ? strchr(line, '\n') + 1 : NULL) {
    static const char series[] = "handoff_events_total{source=\"demo\",";
    if (strncmp(line, series, sizeof series - 1) == 0) {
      labels++;
      if (strncmp(line + sizeof series - 1, "type=\"other\"} ", 14) == 0) {
        other = strtoll(line + sizeof series - 1 + 14, NULL, 10);
      }
    }
  }
  cr_assert_eq(labels, CAP + 1, "%zu series of handoff_events_total", labels);
  cr_assert_eq(other, TYPES - CAP);
  /* The first types keep their own label. */
  cr_assert(strstr(r.body, "type=\"made.up.000\"} 1\n") != NULL, "%s", r.body);
}
