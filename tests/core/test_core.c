/*
 * test_core.c -- durations, capped buffers, logfmt escaping, the error table.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

/* Criterion may run each case in a fresh process image: parameters carry
 * their strings inline, never as pointers. */
struct duration_case {
  char text[32];
  int ok;
  int64_t ms;
};

ParameterizedTestParameters(duration, parses) {
  static struct duration_case cases[] = {
      {"90s", 1, 90000},
      {"5m", 1, 300000},
      {"48h", 1, 172800000},
      {"30d", 1, 2592000000LL},
      {"1h30m", 1, 5400000},
      {"250ms", 1, 250},
      {"1w", 1, 604800000},
      {"0s", 1, 0},
      {"", 0, 0},
      {"5", 0, 0},
      {"m5", 0, 0},
      {"5x", 0, 0},
      {"30m1h", 0, 0},
      {"1h1h", 0, 0},
      {"-5m", 0, 0},
      {"5 m", 0, 0},
      {"99999999999999999999d", 0, 0},
  };
  return cr_make_param_array(struct duration_case, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct duration_case *c, duration, parses) {
  int64_t ms = -1;
  int rc = hk_duration_parse(c->text, &ms);
  cr_assert_eq(rc == 0, c->ok, "\"%s\"", c->text);
  if (c->ok) {
    cr_assert_eq(ms, c->ms, "\"%s\" gave %lld", c->text, (long long)ms);
  }
}

Test(buf, refuses_to_grow_past_its_cap) {
  struct hk_buf b;
  hk_buf_init(&b, 10);
  cr_assert_eq(hk_buf_add(&b, "0123456789", 10), HK_E_OK);
  cr_assert_eq(hk_buf_add(&b, "x", 1), HK_E_TOO_LARGE);
  cr_assert_eq(b.len, 10);
  cr_assert_str_eq(b.data, "0123456789");
  hk_buf_fini(&b);
}

Test(buf, formats_and_hands_its_data_over) {
  struct hk_buf b;
  size_t len;
  char *p;
  hk_buf_init(&b, 1000);
  cr_assert_eq(hk_buf_addf(&b, "%s=%d", "n", 42), HK_E_OK);
  p = hk_buf_take(&b, &len);
  cr_assert_str_eq(p, "n=42");
  cr_assert_eq(len, 4);
  cr_assert_null(b.data);
  free(p);
}

static size_t fmt(char *out, size_t cap, const char *msg, ...) {
  va_list ap;
  size_t n;
  va_start(ap, msg);
  n = hk_log_format(out, cap, HK_LOG_WARN, "fcgi", msg, ap);
  va_end(ap);
  return n;
}

Test(buf, xprintf_sizes_the_string_to_fit) {
  char name[600];
  char *s;
  memset(name, 'h', sizeof name - 1);
  name[sizeof name - 1] = '\0';
  s = hk_xprintf("hkpi:%s:%d", name, 20781);
  cr_assert_eq(strlen(s), 5 + 599 + 6);
  cr_assert(strncmp(s, "hkpi:hhh", 8) == 0);
  cr_assert_str_eq(s + strlen(s) - 6, ":20781");
  free(s);
}

Test(log, writes_logfmt_with_quoting_only_where_needed) {
  char line[256];
  fmt(line, sizeof line, "bad signature", "source", "stripe", "req", "a b",
      (const char *)NULL);
  cr_assert_str_eq(line, "level=warn proc=fcgi msg=\"bad signature\" "
                         "source=stripe req=\"a b\"\n");
}

Test(log, escapes_what_could_forge_a_line) {
  char line[256];
  fmt(line, sizeof line, "m", "path", "/x\nlevel=error msg=\"y\"",
      (const char *)NULL);
  cr_assert_str_eq(line, "level=warn proc=fcgi msg=\"m\" "
                         "path=\"/x\\x0alevel=error msg=\\\"y\\\"\"\n");
  cr_assert_eq(strchr(line, '\n'), line + strlen(line) - 1);
}

Test(log, cuts_long_lines_but_keeps_the_newline) {
  char line[32];
  size_t n = fmt(line, sizeof line, "a very long message indeed, longer",
                 (const char *)NULL);
  cr_assert_eq(n, strlen(line));
  cr_assert(n < sizeof line);
  cr_assert_eq(line[n - 1], '\n');
}

static size_t fmt_json(char *out, size_t cap, const char *msg, ...) {
  va_list ap;
  size_t n;
  va_start(ap, msg);
  n = hk_log_format_json(out, cap, HK_LOG_WARN, "fcgi", msg, ap);
  va_end(ap);
  return n;
}

Test(log, writes_one_json_object_a_line) {
  char line[256];
  fmt_json(line, sizeof line, "bad signature", "source", "stripe", "req", "a b",
           "none", (const char *)NULL, (const char *)NULL);
  cr_assert_str_eq(line, "{\"level\":\"warn\",\"proc\":\"fcgi\","
                         "\"msg\":\"bad signature\",\"source\":\"stripe\","
                         "\"req\":\"a b\",\"none\":\"\"}\n");
  cr_assert_eq(hk_log_style_parse("json"), HK_LOG_JSON);
  cr_assert_eq(hk_log_style_parse("logfmt"), HK_LOG_LOGFMT);
  cr_assert_eq(hk_log_style_parse("xml"), -1);
}

Test(log, json_escapes_what_could_forge_a_member) {
  char line[256];
  fmt_json(line, sizeof line, "m", "path", "/x\n\"}\\\xc3\xa9",
           (const char *)NULL);
  cr_assert_str_eq(line, "{\"level\":\"warn\",\"proc\":\"fcgi\",\"msg\":\"m\","
                         "\"path\":\"/x\\u000a\\\"}\\\\\\u00c3\\u00a9\"}\n");
  cr_assert_eq(strchr(line, '\n'), line + strlen(line) - 1);
}

Test(log, json_cuts_between_members_and_stays_an_object) {
  char line[80];
  size_t n = fmt_json(line, sizeof line, "short", "a", "1", "long",
                      "a value far too long to fit in what is left of it", "b",
                      "2", (const char *)NULL);
  cr_assert_eq(n, strlen(line));
  cr_assert_str_eq(line, "{\"level\":\"warn\",\"proc\":\"fcgi\","
                         "\"msg\":\"short\",\"a\":\"1\"}\n");
}

Test(errors, carry_status_code_and_message) {
  cr_assert_eq(hk_err_status(HK_E_TOO_LARGE), 413);
  cr_assert_str_eq(hk_err_code(HK_E_TOO_LARGE), "body_too_large");
  cr_assert_eq(hk_err_status(HK_E_UNAVAILABLE), 503);
  cr_assert_str_eq(hk_err_code(HK_E_UNSUPPORTED_MEDIA),
                   "unsupported_media_type");
  cr_assert_str_eq(hk_err_code((enum hk_err)9999), "internal");
}

Test(errors, fail_fills_the_detail_and_returns_the_code) {
  struct hk_error e;
  cr_assert_eq(hk_fail(&e, HK_E_BAD_JSON, "at byte %d", 7), HK_E_BAD_JSON);
  cr_assert_eq(e.code, HK_E_BAD_JSON);
  cr_assert_str_eq(e.msg, "at byte 7");
}
