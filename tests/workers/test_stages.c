/*
 * test_stages.c -- the stage facts (workers/stages.c) from hand-made stage
 * records: what a record counts, worked out by hand.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "workers/kpi.h"

#define CONFIG                                                                 \
  "{\"sources\": {\"demo\": {\"kind\": \"standard-webhooks\","                 \
  "  \"secret\": {\"env\": \"S\"}}},"                                          \
  "\"stages\": {"                                                              \
  "  \"mql\": {\"owner\": \"Marketing\", \"entered_on\": [\"lead.mql\"],"      \
  "    \"next\": \"sql\"},"                                                    \
  "  \"sql\": {\"owner\": \"SDR team\", \"entered_on\": [\"lead.contacted\"]," \
  "    \"next\": \"won\"},"                                                    \
  "  \"won\": {\"owner\": \"CS\", \"entered_on\": [\"deal.won\"],"             \
  "    \"amount_attr\": \"amount\"}}}"

static struct hk_config *cfg;

static void setup(void) {
  struct hk_config_diag diag = {NULL, 0};
  setenv("S", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 1);
  cr_assert_eq(
      hk_config_parse(CONFIG, strlen(CONFIG), "t.json", 0, &cfg, &diag),
      HK_E_OK, "%s", diag.n > 0 ? diag.lines[0] : "");
  hk_config_diag_fini(&diag);
}

static void teardown(void) {
  hk_config_free(cfg);
}

TestSuite(stages, .init = setup, .fini = teardown);

static json_int_t num(json_t *o, const char *k) {
  return json_integer_value(json_object_get(o, k));
}

Test(stages, a_subject_moves_on_when_a_later_stage_follows_its_entry) {
  struct hk_stages *s = hk_stages_new(cfg);
  /* mql at 1000, sql at 5000, won at 3000 (before sql, after mql). */
  json_t *f = hk_stages_facts(
      s, "{\"mql\": [1000, \"a\", null, null], \"sql\": [5000, \"b\", null,"
         " null], \"won\": [3000, \"c\", 12.5, \"EUR\"]}");
  /* mql moved on at 3000 (won, further down the chain, came first). */
  cr_assert_eq(num(json_object_get(f, "mql"), "moved"), 3000);
  /* sql entered at 5000; won at 3000 came before: not moved on. */
  cr_assert_null(json_object_get(json_object_get(f, "sql"), "moved"));
  cr_assert_eq(num(json_object_get(f, "won"), "amount_cents"), 1250);
  cr_assert_str_eq(
      json_string_value(json_object_get(json_object_get(f, "won"), "currency")),
      "EUR");
  json_decref(f);
  hk_stages_free(s);
}
