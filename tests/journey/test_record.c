/*
 * test_record.c -- the clock record's codec (record.c): what the worker
 * writes reads back the same, the summary entry's trailing zeros, and a
 * record that is not what the worker writes (wrong JSON types, missing
 * members, numbers past 64 bits) decodes to what it can, never to a crash:
 * an unreadable record is an empty one, as the worker rewrites it.
 *
 * Expected texts are written out by hand, never produced by the code under
 * test.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "journey/journey.h"

#define MIN 60000LL
#define HOUR (60 * MIN)
/* 2026-01-01T00:00:00Z */
#define T0 1767225600000LL

#define CONFIG                                                                 \
  "{\"sources\": {\"demo\": {\"kind\": \"standard-webhooks\","                 \
  "  \"secret\": {\"env\": \"S\"}}},"                                          \
  "\"stages\": {"                                                              \
  "  \"mql\": {\"owner\": \"Marketing\", \"entered_on\": [\"lead.mql\"]},"     \
  "  \"sql\": {\"owner\": \"SDR\", \"entered_on\": [\"lead.contacted\"]}},"    \
  "\"handoffs\": {"                                                            \
  "  \"lead\": {\"owner\": \"SDR team\", \"from\": \"mql\", \"to\": \"sql\","  \
  "    \"start\": [\"lead.mql\"], \"stop\": [\"lead.contacted\"],"             \
  "    \"sla\": {\"within\": \"1h\"}, \"requires\": [\"email\"]}}}"

static struct hk_sla *sla;
static const struct hk_handoff *lead;

static void setup(void) {
  struct hk_config *cfg = NULL;
  struct hk_config_diag diag;
  struct hk_error err = {HK_E_OK, ""};
  cr_assert_eq(hk_config_parse(CONFIG, strlen(CONFIG), "t.json",
                               HK_CONFIG_NO_SECRETS, &cfg, &diag),
               HK_E_OK, "config: %s", diag.n > 0 ? diag.lines[0] : "");
  hk_config_diag_fini(&diag);
  sla = hk_sla_new(cfg, &err);
  cr_assert_not_null(sla, "hk_sla_new: %s", err.msg);
  hk_config_free(cfg);
  lead = hk_sla_find(sla, "lead");
  cr_assert_not_null(lead);
}

static void teardown(void) {
  hk_sla_free(sla);
}

TestSuite(record, .init = setup, .fini = teardown);

/* Adds an event of lead to r the way the worker does. Returns
 * hk_record_add's answer. */
static int add(struct hk_clock_record *r, const char *id, const char *type,
               int64_t at, const char *attrs) {
  json_t *a = json_loads(attrs, 0, NULL);
  json_t *slim = hk_handoff_slim(lead, id, type, at, a);
  int added = hk_record_add(r, slim);
  json_decref(slim);
  json_decref(a);
  return added;
}

/* The record's text, compared whole. */
static void assert_dump(const struct hk_clock_record *r, const char *want) {
  char *text = hk_record_dump(r);
  cr_assert_str_eq(text, want);
  free(text);
}

Test(record, absent_record_is_empty) {
  struct hk_clock_record r;
  hk_record_parse(NULL, &r);
  cr_assert_eq(json_array_size(r.events), 0);
  cr_assert_eq(json_array_size(r.summary), 0);
  assert_dump(&r, "{\"e\":[],\"s\":[]}");
  hk_record_fini(&r);
}

Test(record, events_and_summary_round_trip_byte_for_byte) {
  const char *text = "{\"e\":[[\"m1\",\"lead.mql\",1767225600000,"
                     "{\"email\":1}],[\"c1\",\"lead.contacted\","
                     "1767226800000]],\"s\":[[3,0,0,0,187]]}";
  struct hk_clock_record r;
  hk_record_parse(text, &r);
  cr_assert_eq(json_array_size(r.events), 2);
  cr_assert_eq(json_array_size(r.summary), 1);
  assert_dump(&r, text);
  hk_record_fini(&r);
}

Test(record, add_keeps_an_event_once_and_dump_writes_the_record_form) {
  struct hk_clock_record r;
  hk_record_parse(NULL, &r);
  cr_assert_eq(add(&r, "m1", "lead.mql", T0, "{\"email\": \"a@b\"}"), 1);
  cr_assert_eq(add(&r, "m1", "lead.mql", T0, "{\"email\": \"a@b\"}"), 0);
  /* Attributes the handoff does not read are not kept; no attrs, no
   * fourth member. */
  cr_assert_eq(add(&r, "c1", "lead.contacted", T0 + 20 * MIN, "{\"x\": 1}"), 1);
  assert_dump(&r, "{\"e\":[[\"m1\",\"lead.mql\",1767225600000,{\"email\":1}],"
                  "[\"c1\",\"lead.contacted\",1767226800000]],\"s\":[]}");
  hk_record_fini(&r);
}

Test(record, eval_of_a_parsed_record_gives_its_clocks) {
  struct hk_clock_record r;
  struct hk_clocks cs;
  hk_record_parse("{\"e\":[[\"m1\",\"lead.mql\",1767225600000,"
                  "{\"email\":1}],[\"c1\",\"lead.contacted\","
                  "1767226800000]],\"s\":[]}",
                  &r);
  hk_record_eval(lead, &r, T0 + 2 * HOUR, &cs);
  cr_assert_eq(cs.n, 1);
  cr_assert_eq(cs.items[0].state, HK_CLOCK_MET);
  cr_assert_eq(cs.items[0].started_ms, T0);
  cr_assert_eq(cs.items[0].stopped_ms, T0 + 20 * MIN);
  cr_assert_eq(cs.items[0].deadline_ms, T0 + HOUR);
  cr_assert_str_eq(cs.items[0].start_id, "m1");
  cr_assert_str_eq(cs.items[0].stop_id, "c1");
  cr_assert_eq(json_array_size(cs.items[0].missing), 0);
  hk_clocks_fini(&cs);
  hk_record_fini(&r);
}

Test(record, eval_finds_an_open_clock_breached_and_missing_its_email) {
  struct hk_clock_record r;
  struct hk_clocks cs;
  hk_record_parse("{\"e\":[[\"m1\",\"lead.mql\",1767225600000]],\"s\":[]}", &r);
  hk_record_eval(lead, &r, T0 + 2 * HOUR, &cs);
  cr_assert_eq(cs.n, 1);
  cr_assert_eq(cs.items[0].state, HK_CLOCK_BREACHED);
  cr_assert_eq(json_array_size(cs.items[0].missing), 1);
  cr_assert_str_eq(json_string_value(json_array_get(cs.items[0].missing, 0)),
                   "email");
  hk_clocks_fini(&cs);
  hk_record_fini(&r);
}

Test(record, summary_entry_leaves_trailing_zeros_out_and_reads_back) {
  struct hk_clock_record r;
  struct hk_clocks cs;
  json_t *entry;
  hk_record_parse(NULL, &r);
  add(&r, "x0", "lead.contacted", T0 - HOUR, "{}");
  add(&r, "m1", "lead.mql", T0, "{\"email\": \"a@b\"}");
  hk_record_eval(lead, &r, T0 + 50 * MIN, &cs);
  cr_assert_eq(cs.n, 1);
  cr_assert_eq(cs.items[0].state, HK_CLOCK_AT_RISK);
  entry =
      hk_record_entry_new(&r, &cs.items[0], HK_RECORD_ALERTED_WARNING, "1h");
  /* state 1 (at_risk), missing 0, alerted 1, start index 1, bucket 0,
   * goal "1h". */
  {
    char *text = json_dumps(entry, JSON_COMPACT);
    cr_assert_str_eq(text, "[1,0,1,1,0,\"1h\"]");
    free(text);
  }
  json_array_append_new(r.summary, entry);
  cr_assert_eq(hk_record_entry_start(r.events, entry), T0);
  cr_assert_eq(hk_record_alerted(&r, T0), HK_RECORD_ALERTED_WARNING);
  cr_assert_eq(hk_record_alerted(&r, T0 + 1), 0);
  assert_dump(&r, "{\"e\":[[\"x0\",\"lead.contacted\",1767222000000],"
                  "[\"m1\",\"lead.mql\",1767225600000,{\"email\":1}]],"
                  "\"s\":[[1,0,1,1,0,\"1h\"]]}");
  hk_clocks_fini(&cs);
  hk_record_fini(&r);
}

Test(record, open_clock_of_the_first_event_is_a_one_member_entry) {
  struct hk_clock_record r;
  struct hk_clocks cs;
  json_t *entry;
  char *text;
  hk_record_parse(NULL, &r);
  add(&r, "m1", "lead.mql", T0, "{\"email\": \"a@b\"}");
  hk_record_eval(lead, &r, T0 + MIN, &cs);
  entry = hk_record_entry_new(&r, &cs.items[0], 0, "1h");
  text = json_dumps(entry, JSON_COMPACT);
  cr_assert_str_eq(text, "[0]"); /* a goal only at risk or breached */
  free(text);
  json_decref(entry);
  hk_clocks_fini(&cs);
  hk_record_fini(&r);
}

/* ---------------------------------------------------------------------------
 * Records the worker never writes
 * ------------------------------------------------------------------------- */

struct bad_record {
  char text[160];
  size_t events;  /* kept in "e" */
  size_t summary; /* kept in "s" */
  size_t clocks;  /* evaluated at T0 + 2h */
};

ParameterizedTestParameters(record, malformed_record_decodes_without_crash) {
  static struct bad_record cases[] = {
      /* Not JSON, or not an object: empty. */
      {"", 0, 0, 0},
      {"{\"e\": [", 0, 0, 0},
      {"[]", 0, 0, 0},
      {"42", 0, 0, 0},
      {"null", 0, 0, 0},
      /* Members missing or of the wrong type: that part is empty. */
      {"{}", 0, 0, 0},
      {"{\"s\": [[0]]}", 0, 1, 0},
      {"{\"e\": {}, \"s\": \"x\"}", 0, 0, 0},
      {"{\"e\": 7, \"s\": [[4,0,3,0]]}", 0, 1, 0},
      /* Events that are not [id, type, at]: they start nothing. */
      {"{\"e\": [1, \"x\", null, {}, []], \"s\": [[\"open\"], 5]}", 5, 2, 0},
      {"{\"e\": [[null, 5, \"now\", []]]}", 1, 0, 0},
      {"{\"e\": [[\"m1\", \"lead.mql\"]]}", 1, 0, 1},
      /* A real time reads as 0: still a start, of 1970. */
      {"{\"e\": [[\"m1\", \"lead.mql\", 1.5]]}", 1, 0, 1},
      /* Past 64 bits, jansson refuses the whole text: empty. */
      {"{\"e\": [[\"m1\", \"lead.mql\", 99999999999999999999999]]}", 0, 0, 0},
      {"{\"e\": [[\"m1\", \"lead.mql\", 1e400]]}", 0, 0, 0},
      /* The ends of 64 bits: the clock arithmetic saturates. */
      {"{\"e\": [[\"m1\", \"lead.mql\", 9223372036854775807]]}", 1, 0, 1},
      {"{\"e\": [[\"m1\", \"lead.mql\", -9223372036854775808]]}", 1, 0, 1},
      /* Summary entries pointing nowhere. */
      {"{\"e\": [], \"s\": [[0,0,0,-7], [0,0,0,9223372036854775807], "
       "[9,\"x\",\"y\",1e30]]}",
       0, 3, 0},
  };
  return cr_make_param_array(struct bad_record, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad_record *c, record,
                  malformed_record_decodes_without_crash) {
  struct hk_clock_record r;
  struct hk_clocks cs;
  size_t i;
  json_t *s;
  char *text;
  hk_record_parse(c->text, &r);
  cr_assert(json_is_array(r.events), "%s", c->text);
  cr_assert(json_is_array(r.summary), "%s", c->text);
  cr_assert_eq(json_array_size(r.events), c->events, "%s", c->text);
  cr_assert_eq(json_array_size(r.summary), c->summary, "%s", c->text);
  /* Every reader of the summary copes with what is there. */
  json_array_foreach(r.summary, i, s) {
    (void)hk_record_entry_int(s, 0);
    cr_assert_eq(hk_record_entry_start(r.events, s), -1, "%s", c->text);
  }
  cr_assert_eq(hk_record_alerted(&r, 0), 0, "%s", c->text);
  hk_record_eval(lead, &r, T0 + 2 * HOUR, &cs);
  cr_assert_eq(cs.n, c->clocks, "%s", c->text);
  hk_clocks_fini(&cs);
  /* The writer can always write it back. */
  text = hk_record_dump(&r);
  cr_assert_not_null(text);
  free(text);
  hk_record_fini(&r);
  /* hk_record_clocks, the readers' one call, agrees. */
  hk_record_clocks(lead, c->text, T0 + 2 * HOUR, &cs);
  cr_assert_eq(cs.n, c->clocks, "%s", c->text);
  hk_clocks_fini(&cs);
}
