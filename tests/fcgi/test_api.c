/*
 * test_api.c -- the status API's pure parts: the clocks query and its
 * cursor, percent-encoding of subjects, times and the CLOCK object.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/fcgi.h"

/* Bad queries: the exact error and the parameter the message names.
 * Strings inline (Criterion may run each case in a fresh process). */
struct bad_case {
  char query[96];
  char names[16];
};

ParameterizedTestParameters(clocks_query, refuses_with_bad_query) {
  static struct bad_case cases[] = {
      {"state=late", "state"},      {"state=", "state"},
      {"state=OPEN", "state"},      {"limit=0", "limit"},
      {"limit=1001", "limit"},      {"limit=abc", "limit"},
      {"limit=-5", "limit"},        {"limit=10x", "limit"},
      {"limit=", "limit"},          {"limit=99999999999999999999999", "limit"},
      {"cursor=!!!", "cursor"},     {"cursor=bm90IGEgY3Vyc29y", "cursor"},
      {"cursor=a", "cursor"},       {"cursor=%zz", "cursor"},
      {"page=2", "page"},           {"state=open&state=met", "state"},
      {"limit=5&limit=5", "limit"}, {"foo", "foo"},
  };
  return cr_make_param_array(struct bad_case, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad_case *c, clocks_query, refuses_with_bad_query) {
  struct hk_clocks_query q;
  struct hk_error err = {HK_E_OK, ""};
  cr_assert_eq(hk_clocks_query_parse(c->query, &q, &err), HK_E_BAD_QUERY, "%s",
               c->query);
  cr_assert_eq(err.code, HK_E_BAD_QUERY);
  cr_assert(strstr(err.msg, c->names) != NULL, "%s: %s", c->query, err.msg);
  cr_assert_null(q.member);
}

Test(clocks_query, defaults_to_open_100_first_page) {
  struct hk_clocks_query q;
  struct hk_error err = {HK_E_OK, ""};
  cr_assert_eq(hk_clocks_query_parse("", &q, &err), HK_E_OK);
  cr_assert_eq(q.state, HK_CLOCK_OPEN);
  cr_assert_eq(q.limit, 100);
  cr_assert_null(q.member);
  cr_assert_eq(hk_clocks_query_parse(NULL, &q, &err), HK_E_OK);
  cr_assert_eq(hk_clocks_query_parse("&&cursor=", &q, &err), HK_E_OK);
  cr_assert_null(q.member);
}

Test(clocks_query, reads_each_state_and_limit) {
  static const char *const states[] = {
      "open", "at_risk", "paused", "met", "breached", "met_late", "cancelled"};
  for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
    struct hk_clocks_query q;
    struct hk_error err = {HK_E_OK, ""};
    char query[64];
    snprintf(query, sizeof query, "limit=1000&state=%s", states[i]);
    cr_assert_eq(hk_clocks_query_parse(query, &q, &err), HK_E_OK, "%s",
                 err.msg);
    cr_assert_str_eq(hk_clock_state_name(q.state), states[i]);
    cr_assert_eq(q.limit, 1000);
    cr_assert_eq(hk_clocks_query_by_due(q.state),
                 q.state == HK_CLOCK_OPEN || q.state == HK_CLOCK_AT_RISK);
    hk_clocks_query_fini(&q);
  }
}

Test(clocks_query, a_cursor_round_trips_for_its_own_state_only) {
  struct hk_clocks_query q;
  struct hk_error err = {HK_E_OK, ""};
  char query[512];
  char *due = hk_clocks_cursor(HK_CLOCK_OPEN, 1732440000123LL, "company:8 x");
  char *cs = hk_clocks_cursor(HK_CLOCK_BREACHED, 0,
                              "1732440000123 email:ana@example.com");

  /* base64url: nothing a client must escape. */
  cr_assert_eq(strspn(due,
                      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                      "0123456789-_"),
               strlen(due));
  snprintf(query, sizeof query, "cursor=%s&limit=2", due);
  cr_assert_eq(hk_clocks_query_parse(query, &q, &err), HK_E_OK, "%s", err.msg);
  cr_assert_str_eq(q.member, "company:8 x");
  cr_assert_eq(q.score, 1732440000123LL);
  hk_clocks_query_fini(&q);

  snprintf(query, sizeof query, "state=breached&cursor=%s", cs);
  cr_assert_eq(hk_clocks_query_parse(query, &q, &err), HK_E_OK, "%s", err.msg);
  cr_assert_str_eq(q.member, "1732440000123 email:ana@example.com");
  hk_clocks_query_fini(&q);

  /* Another state's cursor is refused, not misread. */
  snprintf(query, sizeof query, "state=met&cursor=%s", cs);
  cr_assert_eq(hk_clocks_query_parse(query, &q, &err), HK_E_BAD_QUERY);
  cr_assert(strstr(err.msg, "cursor") != NULL);
  snprintf(query, sizeof query, "state=at_risk&cursor=%s", due);
  cr_assert_eq(hk_clocks_query_parse(query, &q, &err), HK_E_BAD_QUERY);
  snprintf(query, sizeof query, "cursor=%s", cs);
  cr_assert_eq(hk_clocks_query_parse(query, &q, &err), HK_E_BAD_QUERY);
  free(due);
  free(cs);
}

struct escape_case {
  char in[48];
  char out[48];
  enum hk_err rc;
};

ParameterizedTestParameters(path, unescapes_subjects) {
  static struct escape_case cases[] = {
      {"company%3A8812", "company:8812", HK_E_OK},
      {"company:8812", "company:8812", HK_E_OK},
      {"email%3aana%40example.com", "email:ana@example.com", HK_E_OK},
      {"a+b", "a+b", HK_E_OK},
      {"caf%C3%A9", "caf\xc3\xa9", HK_E_OK},
      {"a%2Fb", "a/b", HK_E_OK},
      {"bad%", "", HK_E_BAD_REQUEST},
      {"bad%4", "", HK_E_BAD_REQUEST},
      {"bad%zz", "", HK_E_BAD_REQUEST},
      {"nul%00", "", HK_E_BAD_REQUEST},
      {"latin%E9", "", HK_E_BAD_REQUEST},
  };
  return cr_make_param_array(struct escape_case, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct escape_case *c, path, unescapes_subjects) {
  char *out = NULL;
  struct hk_error err = {HK_E_OK, ""};
  cr_assert_eq(hk_path_unescape(c->in, strlen(c->in), &out, &err), c->rc, "%s",
               c->in);
  if (c->rc == HK_E_OK) {
    cr_assert_str_eq(out, c->out);
  } else {
    cr_assert_null(out);
  }
  free(out);
}

Test(path, refuses_a_subject_over_the_cap) {
  size_t n = HK_CAP_SUBJECT + 1;
  char *in = malloc(n + 1);
  char *out = NULL;
  struct hk_error err = {HK_E_OK, ""};
  memset(in, 'a', n);
  in[n] = '\0';
  cr_assert_eq(hk_path_unescape(in, n, &out, &err), HK_E_BAD_REQUEST);
  cr_assert_eq(hk_path_unescape(in, n - 1, &out, &err), HK_E_OK);
  free(out);
  free(in);
}

Test(path, escapes_all_but_unreserved) {
  char *s = hk_path_escape("company:8812/é a~b_c-d.e");
  cr_assert_str_eq(s, "company%3A8812%2F%C3%A9%20a~b_c-d.e");
  free(s);
}

Test(time, is_rfc3339_utc_with_milliseconds_or_null) {
  json_t *t = hk_time_json(1795514400007LL);
  cr_assert_str_eq(json_string_value(t), "2026-11-24T10:00:00.007Z");
  json_decref(t);
  cr_assert(json_is_null(hk_time_json(0)));
  cr_assert(json_is_null(hk_time_json(HK_NEVER)));
}

Test(clock_json, has_the_contract_fields_and_a_link) {
  struct hk_clock c;
  char owner[] = "ana";
  json_t *o;
  char *text;
  memset(&c, 0, sizeof c);
  c.state = HK_CLOCK_BREACHED;
  c.started_ms = 1795514400000LL;
  c.deadline_ms = 1795518000000LL;
  c.owner = owner;
  c.missing = json_pack("[s]", "email");
  o = hk_clock_json("company:1", &c, "/handoff/");
  text = json_dumps(o, JSON_COMPACT);
  cr_assert_str_eq(text, "{\"subject\":\"company:1\",\"state\":\"breached\","
                         "\"started_at\":\"2026-11-24T10:00:00.000Z\","
                         "\"deadline\":\"2026-11-24T11:00:00.000Z\","
                         "\"stopped_at\":null,\"owner\":\"ana\","
                         "\"missing\":[\"email\"],"
                         "\"link\":\"/handoff/v1/subjects/company%3A1\"}");
  free(text);
  json_decref(o);
  json_decref(c.missing);
}
