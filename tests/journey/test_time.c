/*
 * test_time.c -- RFC 3339 parsing of the mapper (hk_map_rfc3339_ms): UTC
 * arithmetic across leap years, fractions and offsets, and the texts it
 * must refuse.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdint.h>

#include "journey/journey.h"

/* Inline text: Criterion hands parameters to the test process as bytes. */
struct ok_case {
  char text[48];
  int64_t ms;
};

ParameterizedTestParameters(rfc3339, parses_in_utc) {
  static struct ok_case cases[] = {
      {"1970-01-01T00:00:00Z", 0},
      {"2026-11-22T09:30:00Z", 1795339800000},
      {"2024-02-29T12:00:00Z", 1709208000000},
      {"2000-03-01T00:00:00Z", 951868800000},
      {"1969-12-31T23:59:59Z", -1000},
      {"2024-04-12T10:18:49.621022Z", 1712917129621},
      {"2024-04-12T10:18:53.135+02:00", 1712909933135},
      {"2024-04-12T10:18:53.1-00:30", 1712918933100},
      {"2026-11-23t10:15:30.250z", 1795428930250},
      {"2026-11-23 10:15:30Z", 1795428930000},
      {"2100-03-01T00:00:00Z", 4107542400000},
  };
  return cr_make_param_array(struct ok_case, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct ok_case *c, rfc3339, parses_in_utc) {
  int64_t ms = 0;
  cr_assert_eq(hk_map_rfc3339_ms(c->text, &ms), 0, "refused %s", c->text);
  cr_expect_eq(ms, c->ms, "%s: %lld, want %lld", c->text, (long long)ms,
               (long long)c->ms);
}

struct bad_case {
  char text[48];
};

ParameterizedTestParameters(rfc3339, refuses_malformed_times) {
  static struct bad_case cases[] = {
      {""},
      {"2026-11-22"},
      {"2026-11-22T09:30:00"},
      {"2026-13-01T00:00:00Z"},
      {"2025-02-29T00:00:00Z"},
      {"2026-11-22T24:00:00Z"},
      {"2026-11-22T09:60:00Z"},
      {"2026-11-22T09:30:00.Z"},
      {"2026-11-22T09:30:00+0100"},
      {"2026-11-22T09:30:00Zjunk"},
      {"0000-01-01T00:00:00Z"},
      {"26-11-22T09:30:00Z"},
  };
  return cr_make_param_array(struct bad_case, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad_case *c, rfc3339, refuses_malformed_times) {
  int64_t ms = 42;
  cr_expect_eq(hk_map_rfc3339_ms(c->text, &ms), -1, "accepted %s", c->text);
  cr_expect_eq(ms, 42);
}
