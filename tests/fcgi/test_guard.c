/*
 * test_guard.c -- the memory guard's pure decisions (fcgi/guard.c): when
 * Redis counts as over the guard, the reason in words, and the figures as
 * JSON. Reading Redis is proven by tests/integration/test_memory.c.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "fcgi/fcgi.h"

#define MIB (1024LL * 1024LL)

Test(guard, is_over_at_the_share_of_maxmemory_and_not_below) {
  struct hk_memory m = {1, 90 * MIB, 100 * MIB};
  cr_assert_eq(hk_memory_over(&m, 0.9), 1, "at the share");
  m.used = 90 * MIB - 1;
  cr_assert_eq(hk_memory_over(&m, 0.9), 0, "a byte below");
  m.used = 120 * MIB;
  cr_assert_eq(hk_memory_over(&m, 0.9), 1, "past maxmemory");
  cr_assert_eq(hk_memory_over(&m, 1.0), 1);
  m.used = 99 * MIB;
  cr_assert_eq(hk_memory_over(&m, 1.0), 0, "a guard of 1 waits for Redis");
}

Test(guard, never_refuses_without_a_limit_or_a_reading) {
  struct hk_memory none = {1, 500 * MIB, 0};
  struct hk_memory unknown = {0, 500 * MIB, 100 * MIB};
  cr_assert_eq(hk_memory_over(&none, 0.9), 0, "maxmemory 0: no limit");
  cr_assert_eq(hk_memory_over(&unknown, 0.9), 0, "Redis did not answer");
  cr_assert_eq(hk_memory_over(NULL, 0.9), 0);
}

Test(guard, says_why_in_words_only_when_over) {
  struct hk_memory m = {1, 95 * MIB, 100 * MIB};
  char buf[256];
  hk_memory_reason(&m, 0.9, buf, sizeof buf);
  cr_assert_str_eq(buf,
                   "Redis uses 95% of its maxmemory (95.0 of 100.0 MiB), over "
                   "the memory guard of 90%: deliveries are refused with 503 "
                   "until memory is freed or maxmemory raised");
  m.used = 10 * MIB;
  hk_memory_reason(&m, 0.9, buf, sizeof buf);
  cr_assert_str_eq(buf, "");
}

Test(guard, figures_as_json_and_null_when_unknown) {
  struct hk_memory m = {1, 95 * MIB, 100 * MIB};
  struct hk_memory unknown = {0, 0, 0};
  json_t *doc = hk_memory_json(&m, 0.9);
  json_t *none = hk_memory_json(&unknown, 0.9);
  cr_assert_eq(json_integer_value(json_object_get(doc, "used_bytes")),
               95 * MIB);
  cr_assert_eq(json_integer_value(json_object_get(doc, "max_bytes")),
               100 * MIB);
  cr_assert_float_eq(json_real_value(json_object_get(doc, "guard")), 0.9,
                     1e-12);
  cr_assert(json_is_true(json_object_get(doc, "over")));
  cr_assert(json_is_null(none));
  json_decref(doc);
  json_decref(none);
}
