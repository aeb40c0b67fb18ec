/*
 * test_stages.c -- the stage record's codec (journey/stages.c): events
 * entering stages, the earliest by (time, id) whatever the order, amounts
 * and currencies, the facts a record counts, the entries the status API
 * lists, and records the worker never writes, which decode to what they
 * can and never crash. The worker's check-and-set shell and the bucket
 * names are tests/workers/test_stages.c's and the integration suite's.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "journey/journey.h"

#define CONFIG                                                                 \
  "{\"sources\": {\"demo\": {\"kind\": \"standard-webhooks\","                 \
  "  \"secret\": {\"env\": \"S\"}}},"                                          \
  "\"stages\": {"                                                              \
  "  \"mql\": {\"owner\": \"Marketing\", \"entered_on\": [\"lead.mql\","       \
  "    \"lead.imported\"], \"next\": \"sql\"},"                                \
  "  \"sql\": {\"owner\": \"SDR team\", \"entered_on\": [\"lead.contacted\"]," \
  "    \"next\": \"won\"},"                                                    \
  "  \"won\": {\"owner\": \"CS\", \"entered_on\": [\"deal.won\"],"             \
  "    \"amount_attr\": \"amount\", \"currency_attr\": \"cur\"}}}"

static struct hk_stage_list *list;

static void setup(void) {
  struct hk_config *cfg = NULL;
  struct hk_config_diag diag;
  cr_assert_eq(hk_config_parse(CONFIG, strlen(CONFIG), "t.json",
                               HK_CONFIG_NO_SECRETS, &cfg, &diag),
               HK_E_OK, "config: %s", diag.n > 0 ? diag.lines[0] : "");
  hk_config_diag_fini(&diag);
  list = hk_stage_list_new(cfg);
  hk_config_free(cfg); /* the list borrows nothing */
}

static void teardown(void) {
  hk_stage_list_free(list);
}

TestSuite(stage_record, .init = setup, .fini = teardown);

/* An event of type at `at` (owned: hk_event_fini); attrs a JSON object
 * text, or NULL for none. */
static struct hk_event event(const char *id, const char *type, int64_t at,
                             const char *attrs) {
  struct hk_event ev = {0};
  ev.id = hk_xstrdup(id);
  ev.type = hk_xstrdup(type);
  ev.subject = hk_xstrdup("company:1");
  ev.at_ms = at;
  ev.attrs = attrs != NULL ? json_loads(attrs, 0, NULL) : NULL;
  return ev;
}

/* Enters an event into r; returns hk_stage_record_add's answer. */
static int enter(struct hk_stage_record *r, const char *id, const char *type,
                 int64_t at, const char *attrs) {
  struct hk_event ev = event(id, type, at, attrs);
  int changed = hk_stage_record_add(list, r, &ev);
  hk_event_fini(&ev);
  return changed;
}

/* hk_stage_record_takes of such an event. */
static int takes(const struct hk_stage_record *r, const char *id,
                 const char *type, int64_t at) {
  struct hk_event ev = event(id, type, at, NULL);
  int t = hk_stage_record_takes(list, r, &ev);
  hk_event_fini(&ev);
  return t;
}

static void assert_dump(const struct hk_stage_record *r, const char *want) {
  char *text = hk_stage_record_dump(r);
  cr_assert_str_eq(text, want);
  free(text);
}

Test(stage_record, list_follows_the_config) {
  cr_assert_eq(hk_stage_list_count(list), 3);
  cr_assert_str_eq(hk_stage_list_name(list, 0), "mql");
  cr_assert_str_eq(hk_stage_list_name(list, 2), "won");
  cr_assert_null(hk_stage_list_name(list, 3));
  cr_assert_eq(hk_stage_list_wants(list, "lead.imported"), 1);
  cr_assert_eq(hk_stage_list_wants(list, "lead.hold"), 0);
}

Test(stage_record, first_entry_wins_by_time_then_id_in_any_order) {
  struct hk_stage_record a;
  struct hk_stage_record b;
  hk_stage_record_parse(NULL, &a);
  hk_stage_record_parse(NULL, &b);
  cr_assert_eq(enter(&a, "e2", "lead.mql", 2000, "{}"), 1);
  cr_assert_eq(enter(&a, "e1", "lead.imported", 2000, "{}"), 1);
  cr_assert_eq(enter(&a, "e0", "lead.mql", 3000, "{}"), 0);
  cr_assert_eq(enter(&a, "e1", "lead.imported", 2000, "{}"), 0);
  cr_assert_eq(enter(&b, "e0", "lead.mql", 3000, "{}"), 1);
  cr_assert_eq(enter(&b, "e1", "lead.imported", 2000, "{}"), 1);
  cr_assert_eq(enter(&b, "e2", "lead.mql", 2000, "{}"), 0);
  assert_dump(&a, "{\"mql\":[2000,\"e1\",null,null]}");
  assert_dump(&b, "{\"mql\":[2000,\"e1\",null,null]}");
  hk_stage_record_fini(&a);
  hk_stage_record_fini(&b);
}

Test(stage_record, amount_in_a_numeric_string_and_currency_upper_cased) {
  struct hk_stage_record r;
  struct hk_stage_fact f[3];
  hk_stage_record_parse(NULL, &r);
  cr_assert_eq(enter(&r, "w1", "deal.won", 5000,
                     "{\"amount\": \"12.5\", \"cur\": \"eur\"}"),
               1);
  assert_dump(&r, "{\"won\":[5000,\"w1\",12.5,\"EUR\"]}");
  hk_stage_record_facts(list, &r, f);
  cr_assert_eq(f[2].entered, 1);
  cr_assert_eq(f[2].has_amount, 1);
  cr_assert_eq(f[2].cents, 1250);
  cr_assert_str_eq(f[2].currency, "EUR");
  cr_assert_eq(f[0].entered, 0);
  hk_stage_record_fini(&r);
}

Test(stage_record, amount_out_of_range_or_not_a_number_is_null) {
  struct hk_stage_record r;
  hk_stage_record_parse(NULL, &r);
  enter(&r, "w1", "deal.won", 5000, "{\"amount\": 1e13, \"cur\": \"E1R\"}");
  assert_dump(&r, "{\"won\":[5000,\"w1\",null,null]}");
  hk_stage_record_fini(&r);
  hk_stage_record_parse(NULL, &r);
  enter(&r, "w1", "deal.won", 5000, "{\"amount\": \"12 EUR\", \"cur\": 5}");
  assert_dump(&r, "{\"won\":[5000,\"w1\",null,null]}");
  hk_stage_record_fini(&r);
}

Test(stage_record, dump_then_parse_round_trips) {
  const char *text = "{\"mql\":[1000,\"a\",null,null],"
                     "\"sql\":[5000,\"b\",null,null],"
                     "\"won\":[3000,\"c\",12.5,\"EUR\"]}";
  struct hk_stage_record r;
  hk_stage_record_parse(text, &r);
  assert_dump(&r, text);
  hk_stage_record_fini(&r);
}

Test(stage_record, facts_follow_the_next_chain) {
  struct hk_stage_record r;
  struct hk_stage_fact f[3];
  hk_stage_record_parse("{\"mql\":[1000,\"a\",null,null],"
                        "\"sql\":[5000,\"b\",null,null],"
                        "\"won\":[3000,\"c\",12.5,null]}",
                        &r);
  hk_stage_record_facts(list, &r, f);
  /* mql moved on at 3000: won, further down the chain, came first: a
   * flow from mql to won that skips sql. */
  cr_assert_eq(f[0].moved, 1);
  cr_assert_eq(f[0].took_ms, 2000);
  cr_assert_eq(f[0].to, 2);
  /* sql at 5000; won at 3000 came before it: not moved on. */
  cr_assert_eq(f[1].entered, 1);
  cr_assert_eq(f[1].moved, 0);
  cr_assert_str_eq(f[2].currency, "XXX");
  hk_stage_record_fini(&r);
}

Test(stage_record, time_to_move_on_past_int64_saturates) {
  struct hk_stage_record r;
  struct hk_stage_fact f[3];
  hk_stage_record_parse("{\"mql\":[-9223372036854775808,\"a\",null,null],"
                        "\"sql\":[9223372036854775807,\"b\",null,null]}",
                        &r);
  hk_stage_record_facts(list, &r, f);
  cr_assert_eq(f[0].moved, 1);
  cr_assert_eq(f[0].took_ms, INT64_MAX);
  hk_stage_record_fini(&r);
}

Test(stage_record, takes_only_events_that_can_change_it) {
  struct hk_stage_record r;
  hk_stage_record_parse("{\"mql\":[2000,\"e1\",null,null]}", &r);
  cr_assert_eq(takes(&r, "e2", "lead.mql", 2000), 0);
  /* The same event: an earlier copy of it may differ. */
  cr_assert_eq(takes(&r, "e1", "lead.mql", 2000), 1);
  cr_assert_eq(takes(&r, "e9", "lead.mql", 1999), 1);
  cr_assert_eq(takes(&r, "e9", "lead.contacted", 9000), 1); /* sql absent */
  cr_assert_eq(takes(&r, "e9", "lead.hold", 0), 0);
  hk_stage_record_fini(&r);
}

Test(stage_record, entries_by_time_then_stage) {
  struct hk_stage_record r;
  struct hk_stage_entry *v;
  size_t n;
  hk_stage_record_parse("{\"won\":[3000,\"c\",1,\"EUR\"],"
                        "\"sql\":[1000,\"b\",null,null],"
                        "\"mql\":[1000,\"a\",null,null],"
                        "\"zzz\":[\"x\",\"d\"]}",
                        &r);
  n = hk_stage_record_entries(&r, &v);
  cr_assert_eq(n, 3);
  cr_assert_str_eq(v[0].stage, "mql");
  cr_assert_str_eq(v[0].event_id, "a");
  cr_assert_str_eq(v[1].stage, "sql");
  cr_assert_str_eq(v[2].stage, "won");
  cr_assert_eq(v[2].at_ms, 3000);
  free(v);
  hk_stage_record_fini(&r);
}

/* ---------------------------------------------------------------------------
 * Records the worker never writes
 * ------------------------------------------------------------------------- */

struct bad_stages {
  char text[128];
  size_t members; /* kept */
  size_t entries; /* listed */
  int entered;    /* facts: stages entered */
};

ParameterizedTestParameters(stage_record,
                            malformed_record_decodes_to_what_it_can) {
  static struct bad_stages cases[] = {
      {"", 0, 0, 0},
      {"{\"mql\": [", 0, 0, 0},
      {"[1, 2]", 0, 0, 0},
      {"\"mql\"", 0, 0, 0},
      /* Past 64 bits: jansson refuses the whole text. */
      {"{\"mql\": [99999999999999999999999, \"a\"]}", 0, 0, 0},
      /* Entries that are not arrays count nothing. */
      {"{\"mql\": 5, \"sql\": {}, \"won\": null}", 3, 0, 0},
      /* An array counts as entered; a time that is not an integer reads 0
       * and is not listed. */
      {"{\"mql\": [], \"sql\": [\"x\", 7, \"y\", 8]}", 2, 0, 2},
      {"{\"won\": [1000, null, \"12\", 5]}", 1, 1, 1},
      {"{\"mql\": [-9223372036854775808, \"a\"], "
       "\"sql\": [9223372036854775807, \"b\"]}",
       2, 2, 2},
  };
  return cr_make_param_array(struct bad_stages, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad_stages *c, stage_record,
                  malformed_record_decodes_to_what_it_can) {
  struct hk_stage_record r;
  struct hk_stage_fact f[3];
  struct hk_stage_entry *v;
  struct hk_event ev;
  int entered = 0;
  char *text;
  hk_stage_record_parse(c->text, &r);
  cr_assert(json_is_object(r.stages), "%s", c->text);
  cr_assert_eq(json_object_size(r.stages), c->members, "%s", c->text);
  cr_assert_eq(hk_stage_record_entries(&r, &v), c->entries, "%s", c->text);
  free(v);
  hk_stage_record_facts(list, &r, f);
  for (size_t i = 0; i < 3; i++) {
    entered += f[i].entered;
    cr_assert_eq(f[i].has_amount, 0, "%s", c->text);
  }
  cr_assert_eq(entered, c->entered, "%s", c->text);
  /* An event still enters it, and it still encodes. */
  ev = event("m1", "deal.won", -INT64_MAX, NULL);
  cr_assert_eq(hk_stage_record_takes(list, &r, &ev), 1, "%s", c->text);
  cr_assert_eq(hk_stage_record_add(list, &r, &ev), 1, "%s", c->text);
  text = hk_stage_record_dump(&r);
  cr_assert_not_null(
      strstr(text, "\"won\":[-9223372036854775807,\"m1\",null,null]"), "%s",
      text);
  free(text);
  hk_event_fini(&ev);
  hk_stage_record_fini(&r);
}
