/*
 * fuzz_query.c -- the status API's query parser: any query string through
 * hk_clocks_query_parse (parameters, percent-escapes, limit, the base64url
 * cursor). A cursor that decodes must survive a round trip: encoded again
 * with hk_clocks_cursor and parsed, it gives the same position, or the
 * listing would skip or repeat clocks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/fcgi.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(const struct hk_clocks_query *q) {
  struct hk_clocks_query again;
  struct hk_error err = {HK_E_OK, ""};
  char *cursor = hk_clocks_cursor(q->state, q->score, q->member);
  size_t n = strlen(cursor) + 64;
  char *query = malloc(n);

  if (query == NULL) {
    abort();
  }
  snprintf(query, n, "state=%s&cursor=%s", hk_clock_state_name(q->state),
           cursor);
  if (hk_clocks_query_parse(query, &again, &err) != HK_E_OK) {
    fprintf(stderr, "fuzz_query: a cursor of ours is refused: %s\n", err.msg);
    abort();
  }
  if (again.member == NULL || strcmp(again.member, q->member) != 0 ||
      (hk_clocks_query_by_due(q->state) && again.score != q->score)) {
    fprintf(stderr, "fuzz_query: a cursor does not round-trip\n");
    abort();
  }
  hk_clocks_query_fini(&again);
  free(query);
  free(cursor);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = fz_strndup(data, size);
  struct hk_clocks_query q;
  struct hk_error err = {HK_E_OK, ""};

  if (hk_clocks_query_parse(text, &q, &err) == HK_E_OK) {
    if (q.member != NULL) {
      round_trip(&q);
    }
    hk_clocks_query_fini(&q);
  }
  free(text);
  return 0;
}
