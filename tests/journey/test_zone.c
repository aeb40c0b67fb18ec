/*
 * test_zone.c -- time zones read from TZif files (journey/zone.c): files
 * that are wrong in every way a header, a count, an index or a footer can
 * be, each giving its error and never a crash; the footer's POSIX TZ rules
 * (northern and southern hemispheres, negative DST, rule times past 24
 * hours and below zero); and every zone of the system's zoneinfo against
 * zdump -v from 1970 to 2100: every change of offset at the same second,
 * with the same offsets either side.
 *
 * Expected rule instants were worked out by hand and are written in UTC,
 * with the local time beside them.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journey/journey.h"
#include "journey/zone.h"

#define ZONEINFO "/usr/share/zoneinfo"

/* An RFC 3339 time in seconds; the test fails when it does not parse. */
static int64_t at(const char *iso) {
  int64_t ms = 0;
  cr_assert_eq(hk_map_rfc3339_ms(iso, &ms), 0, "bad time in test: %s", iso);
  return ms / 1000;
}

/* ---------------------------------------------------------------------------
 * TZif files made by hand
 * ------------------------------------------------------------------------- */

struct tzif {
  unsigned char b[4096];
  size_t n;
};

static void put(struct tzif *f, const void *p, size_t n) {
  cr_assert_leq(f->n + n, sizeof f->b);
  memcpy(f->b + f->n, p, n);
  f->n += n;
}

static void put8(struct tzif *f, unsigned v) {
  unsigned char c = (unsigned char)v;
  put(f, &c, 1);
}

static void put32(struct tzif *f, uint32_t v) {
  unsigned char c[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                        (unsigned char)(v >> 8), (unsigned char)v};
  put(f, c, 4);
}

static void put64(struct tzif *f, int64_t v) {
  put32(f, (uint32_t)((uint64_t)v >> 32));
  put32(f, (uint32_t)v);
}

/*
 * "Testland": LMT (+00:05), then STD (+01:00) from 1970, DST (+02:00) from
 * 1,000,000 s, STD again from 2,000,000 s, and after that the footer. The
 * offsets of the header start at byte 20 of each header: isutcnt,
 * isstdcnt, leapcnt, timecnt, typecnt, charcnt.
 */
static const int64_t T_TIMES[] = {0, 1000000, 2000000};
static const unsigned char T_IDX[] = {1, 2, 1};
static const int32_t T_OFFS[] = {300, 3600, 7200};
static const unsigned char T_DST[] = {0, 0, 1};
static const unsigned char T_DESIG[] = {0, 4, 8};
static const char T_CHARS[] = "LMT\0STD\0DST"; /* 12 bytes with the last NUL */
#define T_FOOTER "STD-1DST,M3.5.0,M10.5.0/3"

static void block(struct tzif *f, char version, size_t tsize) {
  put(f, "TZif", 4);
  put8(f, (unsigned char)version);
  for (int i = 0; i < 15; i++) {
    put8(f, 0);
  }
  put32(f, 3); /* isutcnt */
  put32(f, 3); /* isstdcnt */
  put32(f, 0); /* leapcnt */
  put32(f, 3); /* timecnt */
  put32(f, 3); /* typecnt */
  put32(f, sizeof T_CHARS);
  for (int i = 0; i < 3; i++) {
    if (tsize == 8) {
      put64(f, T_TIMES[i]);
    } else {
      put32(f, (uint32_t)T_TIMES[i]);
    }
  }
  put(f, T_IDX, 3);
  for (int i = 0; i < 3; i++) {
    put32(f, (uint32_t)T_OFFS[i]);
    put8(f, T_DST[i]);
    put8(f, T_DESIG[i]);
  }
  put(f, T_CHARS, sizeof T_CHARS);
  for (int i = 0; i < 6; i++) {
    put8(f, 0); /* isstd, then isut */
  }
}

/* Where the second (64-bit) header starts in a file made by testland. */
static size_t v1_len(void) {
  return 44 + 3 * 4 + 3 + 3 * 6 + sizeof T_CHARS + 6;
}

static void testland(struct tzif *f, char version, const char *footer) {
  f->n = 0;
  block(f, version, 4);
  if (version != 0) {
    block(f, version, 8);
    put8(f, '\n');
    put(f, footer, strlen(footer));
    put8(f, '\n');
  }
}

/* Parses the first n bytes of f from a buffer of exactly n bytes, so that
 * the sanitizers see any read past it. */
static struct hk_zone *parse(const struct tzif *f, size_t n,
                             enum hk_zone_err *err) {
  unsigned char *copy = malloc(n > 0 ? n : 1);
  struct hk_zone *z;
  cr_assert_not_null(copy);
  memcpy(copy, f->b, n);
  z = hk_zone_parse(copy, n, err);
  free(copy);
  return z;
}

static void expect_refused(const struct tzif *f, enum hk_zone_err want) {
  enum hk_zone_err err = HK_ZONE_OK;
  struct hk_zone *z = parse(f, f->n, &err);
  cr_expect_null(z);
  cr_expect_eq(err, want, "error %s, want %s", hk_zone_strerror(err),
               hk_zone_strerror(want));
  hk_zone_free(z);
}

static void set32(struct tzif *f, size_t pos, uint32_t v) {
  f->b[pos] = (unsigned char)(v >> 24);
  f->b[pos + 1] = (unsigned char)(v >> 16);
  f->b[pos + 2] = (unsigned char)(v >> 8);
  f->b[pos + 3] = (unsigned char)v;
}

static void expect_offset(const struct hk_zone *z, int64_t t, int32_t want,
                          int64_t want_until) {
  int64_t until = 0;
  int32_t off = hk_zone_offset(z, t, &until);
  cr_expect_eq(off, want, "offset at %lld: %d, want %d", (long long)t, (int)off,
               (int)want);
  cr_expect_eq(until, want_until, "until at %lld: %lld, want %lld",
               (long long)t, (long long)until, (long long)want_until);
}

Test(zone_tzif, reads_transitions_then_the_footer) {
  struct tzif f;
  enum hk_zone_err err = HK_ZONE_IO;
  struct hk_zone *z;
  testland(&f, '2', T_FOOTER);
  z = parse(&f, f.n, &err);
  cr_assert_not_null(z, "error: %s", hk_zone_strerror(err));
  cr_expect_eq(err, HK_ZONE_OK);
  /* Before the first transition: type 0 (RFC 8536 section 3.2). */
  expect_offset(z, -1, 300, 0);
  expect_offset(z, 0, 3600, 1000000);
  expect_offset(z, 999999, 3600, 1000000);
  expect_offset(z, 1000000, 7200, 2000000);
  expect_offset(z, 1999999, 7200, 2000000);
  /* From the last transition on, the footer: winter, then EU summer time
   * of 2030 from Sunday 31 March 01:00 UTC. */
  expect_offset(z, 2000000, 3600, at("1970-03-29T01:00:00Z"));
  expect_offset(z, at("2030-03-31T00:59:59Z"), 3600,
                at("2030-03-31T01:00:00Z"));
  expect_offset(z, at("2030-03-31T01:00:00Z"), 7200,
                at("2030-10-27T01:00:00Z"));
  hk_zone_free(z);
}

Test(zone_tzif, version_1_file_keeps_the_last_offset) {
  struct tzif f;
  enum hk_zone_err err = HK_ZONE_IO;
  struct hk_zone *z;
  testland(&f, 0, "");
  z = parse(&f, f.n, &err);
  cr_assert_not_null(z, "error: %s", hk_zone_strerror(err));
  expect_offset(z, 1000000, 7200, 2000000);
  expect_offset(z, 2000000, 3600, INT64_MAX);
  expect_offset(z, at("2030-06-01T00:00:00Z"), 3600, INT64_MAX);
  hk_zone_free(z);
}

Test(zone_tzif, empty_footer_keeps_the_last_offset) {
  struct tzif f;
  enum hk_zone_err err = HK_ZONE_IO;
  struct hk_zone *z;
  testland(&f, '3', "");
  z = parse(&f, f.n, &err);
  cr_assert_not_null(z, "error: %s", hk_zone_strerror(err));
  expect_offset(z, at("2030-06-01T00:00:00Z"), 3600, INT64_MAX);
  hk_zone_free(z);
}

Test(zone_tzif, every_truncation_is_an_error) {
  struct tzif f;
  testland(&f, '2', T_FOOTER);
  for (size_t n = 0; n < f.n; n++) {
    enum hk_zone_err err = HK_ZONE_OK;
    struct hk_zone *z = parse(&f, n, &err);
    cr_expect_null(z, "a file cut at %zu bytes loaded", n);
    cr_expect_eq(err, HK_ZONE_TRUNCATED, "cut at %zu: %s", n,
                 hk_zone_strerror(err));
    hk_zone_free(z);
  }
}

Test(zone_tzif, every_byte_changed_loads_or_fails_cleanly) {
  /* Whatever a byte becomes, the parser answers; the sanitizers see that
   * it reads nothing outside the buffer. */
  struct tzif good;
  testland(&good, '2', T_FOOTER);
  for (size_t i = 0; i < good.n; i++) {
    static const unsigned char values[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
    for (size_t v = 0; v < sizeof values; v++) {
      struct tzif f = good;
      enum hk_zone_err err = HK_ZONE_OK;
      struct hk_zone *z;
      f.b[i] = values[v];
      z = parse(&f, f.n, &err);
      cr_expect((z != NULL) == (err == HK_ZONE_OK), "byte %zu = %u", i,
                (unsigned)values[v]);
      if (z != NULL) {
        int64_t until;
        (void)hk_zone_offset(z, at("2030-06-01T00:00:00Z"), &until);
      }
      hk_zone_free(z);
    }
  }
}

Test(zone_tzif, refuses_bad_magic) {
  struct tzif f;
  testland(&f, '2', T_FOOTER);
  memcpy(f.b, "TZIF", 4);
  expect_refused(&f, HK_ZONE_BAD_MAGIC);
  /* Not a version: '1' was never one. */
  testland(&f, '2', T_FOOTER);
  f.b[4] = '1';
  expect_refused(&f, HK_ZONE_BAD_MAGIC);
  /* The second header must be TZif too. */
  testland(&f, '2', T_FOOTER);
  f.b[v1_len()] = 'X';
  expect_refused(&f, HK_ZONE_BAD_MAGIC);
  /* A text file of the zoneinfo folder. */
  memcpy(f.b, "# leap", 6);
  f.n = 6;
  expect_refused(&f, HK_ZONE_BAD_MAGIC);
}

Test(zone_tzif, refuses_a_truncated_header) {
  struct tzif f;
  testland(&f, '2', T_FOOTER);
  f.n = 43;
  expect_refused(&f, HK_ZONE_TRUNCATED);
  f.n = 0;
  expect_refused(&f, HK_ZONE_TRUNCATED);
}

Test(zone_tzif, refuses_counts_past_the_end) {
  struct tzif f;
  /* timecnt of the first header, then of the second. */
  testland(&f, '2', T_FOOTER);
  set32(&f, 32, 0xffffffffu);
  expect_refused(&f, HK_ZONE_TRUNCATED);
  testland(&f, '2', T_FOOTER);
  set32(&f, v1_len() + 32, 200);
  expect_refused(&f, HK_ZONE_TRUNCATED);
  /* charcnt, leapcnt. */
  testland(&f, '2', T_FOOTER);
  set32(&f, v1_len() + 40, 0x7fffffffu);
  expect_refused(&f, HK_ZONE_TRUNCATED);
  testland(&f, '2', T_FOOTER);
  set32(&f, v1_len() + 28, 0x10000000u);
  expect_refused(&f, HK_ZONE_TRUNCATED);
}

Test(zone_tzif, refuses_inconsistent_counts) {
  struct tzif f;
  testland(&f, '2', T_FOOTER);
  set32(&f, v1_len() + 36, 0); /* typecnt 0 */
  expect_refused(&f, HK_ZONE_BAD_COUNTS);
  testland(&f, '2', T_FOOTER);
  set32(&f, 20, 2); /* isutcnt neither 0 nor typecnt */
  expect_refused(&f, HK_ZONE_BAD_COUNTS);
  testland(&f, '2', T_FOOTER);
  set32(&f, v1_len() + 24, 1); /* isstdcnt */
  expect_refused(&f, HK_ZONE_BAD_COUNTS);
  testland(&f, '2', T_FOOTER);
  set32(&f, v1_len() + 40, 0); /* charcnt 0 */
  expect_refused(&f, HK_ZONE_BAD_COUNTS);
}

Test(zone_tzif, refuses_data_out_of_range) {
  size_t b2 = v1_len() + 44; /* the 64-bit data block */
  size_t idx = b2 + (size_t)3 * 8;
  size_t types = idx + 3;
  struct tzif f;
  /* A type index past typecnt. */
  testland(&f, '2', T_FOOTER);
  f.b[idx + 1] = 3;
  expect_refused(&f, HK_ZONE_BAD_DATA);
  /* Transitions not in ascending order. */
  testland(&f, '2', T_FOOTER);
  memcpy(f.b + b2 + 8, f.b + b2, 8);
  expect_refused(&f, HK_ZONE_BAD_DATA);
  /* An offset of -2^31, and one past 26 hours. */
  testland(&f, '2', T_FOOTER);
  set32(&f, types + 6, 0x80000000u);
  expect_refused(&f, HK_ZONE_BAD_DATA);
  testland(&f, '2', T_FOOTER);
  set32(&f, types + 6, 100000);
  expect_refused(&f, HK_ZONE_BAD_DATA);
  /* A DST flag that is not 0 or 1; a name index past charcnt. */
  testland(&f, '2', T_FOOTER);
  f.b[types + 6 + 4] = 2;
  expect_refused(&f, HK_ZONE_BAD_DATA);
  testland(&f, '2', T_FOOTER);
  f.b[types + 6 + 5] = sizeof T_CHARS;
  expect_refused(&f, HK_ZONE_BAD_DATA);
}

Test(zone_tzif, refuses_leap_seconds) {
  struct tzif f;
  testland(&f, '2', T_FOOTER);
  /* One leap record in the second block: 12 more bytes before the
   * indicators would be needed, and the footer is taken for them. */
  set32(&f, v1_len() + 28, 1);
  expect_refused(&f, HK_ZONE_LEAP_SECONDS);
}

Test(zone_tzif, refuses_a_bad_footer) {
  struct tzif f;
  testland(&f, '2', "EST5EDT,M13.1.0,M11.1.0");
  expect_refused(&f, HK_ZONE_BAD_FOOTER);
  testland(&f, '2', "ES5");
  expect_refused(&f, HK_ZONE_BAD_FOOTER);
  /* No newline before the TZ string. */
  testland(&f, '2', T_FOOTER);
  f.b[f.n - strlen(T_FOOTER) - 2] = ' ';
  expect_refused(&f, HK_ZONE_BAD_FOOTER);
  /* A NUL inside it. */
  testland(&f, '2', T_FOOTER);
  f.b[f.n - 3] = '\0';
  expect_refused(&f, HK_ZONE_BAD_FOOTER);
  /* None at the end. */
  testland(&f, '2', T_FOOTER);
  f.n--;
  expect_refused(&f, HK_ZONE_TRUNCATED);
}

/* ---------------------------------------------------------------------------
 * Loading by name
 * ------------------------------------------------------------------------- */

static void expect_load_refused(const char *name, enum hk_zone_err want) {
  enum hk_zone_err err = HK_ZONE_OK;
  struct hk_zone *z = hk_zone_load(name, &err);
  cr_expect_null(z, "%s loaded", name);
  cr_expect_eq(err, want, "%s: %s, want %s", name, hk_zone_strerror(err),
               hk_zone_strerror(want));
  hk_zone_free(z);
}

Test(zone_load, refuses_names_that_leave_the_folder) {
  expect_load_refused("", HK_ZONE_BAD_NAME);
  expect_load_refused("/etc/localtime", HK_ZONE_BAD_NAME);
  expect_load_refused("../zoneinfo/UTC", HK_ZONE_BAD_NAME);
  expect_load_refused("Europe/../UTC", HK_ZONE_BAD_NAME);
  expect_load_refused("Europe/Lon don", HK_ZONE_BAD_NAME);
  expect_load_refused("UTC\n", HK_ZONE_BAD_NAME);
}

Test(zone_load, refuses_what_is_not_a_zone_file) {
  expect_load_refused("Mars/Olympus_Mons", HK_ZONE_NOT_FOUND);
  expect_load_refused("America", HK_ZONE_NOT_FOUND);
  expect_load_refused("leapseconds", HK_ZONE_BAD_MAGIC);
  expect_load_refused("right/UTC", HK_ZONE_LEAP_SECONDS);
}

Test(zone_load, follows_tzdir_and_caps_the_file) {
  char dir[] = "/tmp/hk-zone-XXXXXX";
  char path[64];
  FILE *f;
  cr_assert_not_null(mkdtemp(dir));
  (void)snprintf(path, sizeof path, "%s/Big", dir);
  f = fopen(path, "wb");
  cr_assert_not_null(f);
  fputs("TZif2", f);
  for (size_t i = 5; i <= HK_CAP_ZONE_FILE; i++) {
    fputc(0, f);
  }
  cr_assert_eq(fclose(f), 0);
  cr_assert_eq(setenv("TZDIR", dir, 1), 0);
  expect_load_refused("Big", HK_ZONE_TOO_LARGE);
  expect_load_refused("UTC", HK_ZONE_NOT_FOUND);
  cr_assert_eq(unsetenv("TZDIR"), 0);
  (void)unlink(path);
  (void)rmdir(dir);
}

Test(zone_load, reads_a_system_zone) {
  enum hk_zone_err err = HK_ZONE_IO;
  struct hk_zone *z = hk_zone_load("Europe/London", &err);
  int64_t until = 0;
  cr_assert_not_null(z, "error: %s", hk_zone_strerror(err));
  /* BST from Sunday 29 March 2026 01:00 UTC to 25 October 01:00 UTC. */
  cr_expect_eq(hk_zone_offset(z, at("2026-03-29T00:59:59Z"), &until), 0);
  cr_expect_eq(until, at("2026-03-29T01:00:00Z"));
  cr_expect_eq(hk_zone_offset(z, at("2026-03-29T01:00:00Z"), &until), 3600);
  cr_expect_eq(until, at("2026-10-25T01:00:00Z"));
  /* After Debian's files stop (2037), the footer: 2099's summer. */
  cr_expect_eq(hk_zone_offset(z, at("2099-03-29T00:59:59Z"), &until), 0);
  cr_expect_eq(until, at("2099-03-29T01:00:00Z"));
  cr_expect_eq(hk_zone_offset(z, at("2099-07-01T00:00:00Z"), &until), 3600);
  hk_zone_free(z);
}

/* ---------------------------------------------------------------------------
 * The footer's rule
 * ------------------------------------------------------------------------- */

/* A change of offset a rule gives: from `before` to `after` at `when`.
 * Strings inline (Criterion may run each case in a fresh process). */
struct rule_case {
  char tz[64];
  char when[24];
  int32_t before;
  int32_t after;
};

ParameterizedTestParameters(zone_rule, changes_at_the_instant_worked_out) {
  static struct rule_case cases[] = {
      /* New York: 8 March 2026 02:00 EST; 1 November 02:00 EDT. */
      {"EST5EDT,M3.2.0,M11.1.0", "2026-03-08T07:00:00Z", -18000, -14400},
      {"EST5EDT,M3.2.0,M11.1.0", "2026-11-01T06:00:00Z", -14400, -18000},
      /* No rule given: the US rule. */
      {"EST5EDT", "2026-03-08T07:00:00Z", -18000, -14400},
      /* Sydney, southern: ends 5 April 03:00 AEDT, starts 4 October 02:00
       * AEST. */
      {"AEST-10AEDT,M10.1.0,M4.1.0/3", "2026-04-04T16:00:00Z", 39600, 36000},
      {"AEST-10AEDT,M10.1.0,M4.1.0/3", "2026-10-03T16:00:00Z", 36000, 39600},
      /* Dublin, negative DST: IST (+01) is standard, GMT the winter "DST",
       * from 25 October 02:00 IST to 29 March 01:00 GMT. */
      {"IST-1GMT0,M10.5.0,M3.5.0/1", "2026-03-29T01:00:00Z", 0, 3600},
      {"IST-1GMT0,M10.5.0,M3.5.0/1", "2026-10-25T01:00:00Z", 3600, 0},
      /* Nuuk, v3 negative time: Saturday 28 March -01:00 local (23:00 on
       * the Saturday) is 01:00 UTC on the Sunday. */
      {"<-02>2<-01>,M3.5.0/-1,M10.5.0/0", "2026-03-29T01:00:00Z", -7200, -3600},
      {"<-02>2<-01>,M3.5.0/-1,M10.5.0/0", "2026-10-25T01:00:00Z", -3600, -7200},
      /* Minutes in a negative rule time: -01:30 local on Sunday 29 March is
       * Saturday 22:30 at -02, 00:30 UTC. */
      {"<-02>+2:00<-01>,M3.5.0/-1:30,M10.5.0/0", "2026-03-29T00:30:00Z", -7200,
       -3600},
      /* v3 hours past 24: Thursday 26 March + 50 h is Saturday 28 March
       * 02:00 EET; Thursday 22 October + 50 h is 24 October 02:00 EEST. */
      {"EET-2EEST,M3.4.4/50,M10.4.4/50", "2026-03-28T00:00:00Z", 7200, 10800},
      {"EET-2EEST,M3.4.4/50,M10.4.4/50", "2026-10-23T23:00:00Z", 10800, 7200},
      /* Santiago: Saturday 24:00 is Sunday 00:00; ends 5 April 00:00 -03,
       * starts 6 September 00:00 -04. */
      {"<-04>4<-03>,M9.1.6/24,M4.1.6/24", "2026-04-05T03:00:00Z", -10800,
       -14400},
      {"<-04>4<-03>,M9.1.6/24,M4.1.6/24", "2026-09-06T04:00:00Z", -14400,
       -10800},
      /* Chatham, quarter hours: 5 April 03:45 +1345, 27 September 02:45
       * +1245. */
      {"<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45", "2026-04-04T14:00:00Z",
       49500, 45900},
      {"<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45", "2026-09-26T14:00:00Z",
       45900, 49500},
      /* Jn never counts 29 February: J60 is 1 March in 2028; n counts it:
       * 59 is 29 February 2028. */
      {"AAA0BBB,J60/0,J300/0", "2028-03-01T00:00:00Z", 0, 3600},
      {"AAA0BBB,59/0,300/0", "2028-02-29T00:00:00Z", 0, 3600},
      {"AAA0BBB,59/0,300/0", "2027-03-01T00:00:00Z", 0, 3600},
      /* Mm.5.d is the last: 30 August 2026 is the last Sunday. */
      {"AAA0BBB,M8.5.0/0,M12.1.0/0", "2026-08-30T00:00:00Z", 0, 3600},
  };
  return cr_make_param_array(struct rule_case, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct rule_case *c, zone_rule,
                  changes_at_the_instant_worked_out) {
  enum hk_zone_err err = HK_ZONE_IO;
  struct hk_zone *z = hk_zone_from_posix(c->tz, &err);
  int64_t t = at(c->when);
  int64_t until = 0;
  int32_t off;
  cr_assert_not_null(z, "%s: %s", c->tz, hk_zone_strerror(err));
  off = hk_zone_offset(z, t - 1, &until);
  cr_expect_eq(off, c->before, "%s before %s: %d", c->tz, c->when, (int)off);
  cr_expect_eq(until, t, "%s: until %lld, want %s", c->tz, (long long)until,
               c->when);
  off = hk_zone_offset(z, t, &until);
  cr_expect_eq(off, c->after, "%s at %s: %d", c->tz, c->when, (int)off);
  cr_expect_gt(until, t);
  hk_zone_free(z);
}

Test(zone_rule, fixed_offset_never_changes) {
  enum hk_zone_err err = HK_ZONE_IO;
  struct hk_zone *z = hk_zone_from_posix("<+0330>-3:30", &err);
  cr_assert_not_null(z);
  expect_offset(z, at("2026-06-01T00:00:00Z"), 12600, INT64_MAX);
  hk_zone_free(z);
  z = hk_zone_from_posix("<-03>+3:00", &err);
  cr_assert_not_null(z);
  expect_offset(z, at("2090-01-01T00:00:00Z"), -10800, INT64_MAX);
  hk_zone_free(z);
}

Test(zone_rule, dst_all_year_never_changes) {
  /* RFC 8536 section 3.3.1: DST from 1 January 00:00 standard time to 31
   * December 25:00 DST, which is the next 1 January 00:00 standard time:
   * the end of one year is the start of the next. */
  enum hk_zone_err err = HK_ZONE_IO;
  struct hk_zone *z = hk_zone_from_posix("EST5EDT,0/0,J365/25", &err);
  int64_t t = at("2025-12-01T00:00:00Z");
  int64_t end = at("2028-02-01T00:00:00Z");
  int pieces = 0;
  cr_assert_not_null(z);
  while (t < end) {
    int64_t until = 0;
    cr_expect_eq(hk_zone_offset(z, t, &until), -14400, "at %lld", (long long)t);
    cr_assert_gt(until, t);
    t = until;
    pieces++;
  }
  cr_expect_leq(pieces, 4, "%d pieces", pieces);
  hk_zone_free(z);
}

Test(zone_rule, far_instants_are_answered) {
  enum hk_zone_err err = HK_ZONE_IO;
  struct hk_zone *z = hk_zone_from_posix("EST5EDT,M3.2.0,M11.1.0", &err);
  int64_t until = 0;
  cr_assert_not_null(z);
  cr_expect_eq(hk_zone_offset(z, INT64_MAX, &until), -18000);
  cr_expect_eq(until, INT64_MAX);
  cr_expect_eq(hk_zone_offset(z, INT64_MIN, &until), -18000);
  cr_expect_gt(until, INT64_MIN);
  /* Year 9999, the calendar's last: 4 July is summer. */
  cr_expect_eq(hk_zone_offset(z, at("9999-07-04T12:00:00Z"), &until), -14400);
  hk_zone_free(z);
}

struct bad_tz {
  char tz[32];
};

ParameterizedTestParameters(zone_rule, refuses_what_is_not_a_tz_string) {
  static struct bad_tz cases[] = {
      {""},
      {"EST"},
      {"ES5"},
      {"<E>5"},
      {"<EST5"},
      {":Europe/London"},
      {"EST25"},
      {"EST5:60"},
      {"EST5x"},
      {"EST5EDT,M3.2.0"},
      {"EST5EDT,M3.2.0,M11.1.0,"},
      {"EST5EDT,M13.2.0,M11.1.0"},
      {"EST5EDT,M3.6.0,M11.1.0"},
      {"EST5EDT,M3.2.7,M11.1.0"},
      {"EST5EDT,M3.2,M11.1.0"},
      {"EST5EDT,J0,J365"},
      {"EST5EDT,366,J365"},
      {"EST5EDT,M3.2.0/168,M11.1.0"},
      {"EST5EDT,M3.2.0/-168,M11.1.0"},
      {"EST5EDT,M3.2.0/2:60,M11.1.0"},
      {"EST5EDT25,M3.2.0,M11.1.0"},
  };
  return cr_make_param_array(struct bad_tz, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad_tz *tz, zone_rule,
                  refuses_what_is_not_a_tz_string) {
  enum hk_zone_err err = HK_ZONE_OK;
  struct hk_zone *z = hk_zone_from_posix(tz->tz, &err);
  cr_expect_null(z, "\"%s\" was taken", tz->tz);
  cr_expect_eq(err, HK_ZONE_BAD_FOOTER, "\"%s\": %s", tz->tz,
               hk_zone_strerror(err));
  hk_zone_free(z);
}

/* ---------------------------------------------------------------------------
 * Every zone of the system against zdump
 * ------------------------------------------------------------------------- */

/* The zones are split into this many shards, so that Criterion's jobs run
 * the zdumps side by side. */
#define SHARDS 8
#define FIRST_YEAR 1970
#define LAST_YEAR 2100

struct names {
  char **v;
  size_t n;
  size_t cap;
};

static int is_tzif(const char *path) {
  char magic[4];
  FILE *f = fopen(path, "rb");
  int ok = 0;
  if (f != NULL) {
    ok = fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
    (void)fclose(f);
  }
  return ok;
}

/* The TZif files under ZONEINFO/rel (symbolic links followed: a link is a
 * name an operator may write), without posix/ and right/ (copies of the
 * rest, right/ with leap seconds) and localtime (this machine's). */
static void list_zones(const char *rel, struct names *out) {
  char path[1024];
  DIR *d;
  struct dirent *e;
  (void)snprintf(path, sizeof path, "%s/%s", ZONEINFO, rel);
  d = opendir(path);
  cr_assert_not_null(d, "cannot list %s", path);
  while ((e = readdir(d)) != NULL) {
    char name[512];
    char file[1024];
    struct stat st;
    if (e->d_name[0] == '.' ||
        (rel[0] == '\0' &&
         (strcmp(e->d_name, "posix") == 0 || strcmp(e->d_name, "right") == 0 ||
          strcmp(e->d_name, "localtime") == 0))) {
      continue;
    }
    (void)snprintf(name, sizeof name, "%s%s%s", rel, rel[0] ? "/" : "",
                   e->d_name);
    (void)snprintf(file, sizeof file, "%s/%s", ZONEINFO, name);
    if (stat(file, &st) != 0) {
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      list_zones(name, out);
    } else if (S_ISREG(st.st_mode) && is_tzif(file)) {
      if (out->n == out->cap) {
        out->cap = out->cap ? out->cap * 2 : 64;
        out->v = realloc(out->v, out->cap * sizeof *out->v);
        cr_assert_not_null(out->v);
      }
      out->v[out->n++] = strdup(name);
    }
  }
  (void)closedir(d);
}

static int name_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), for zdump's dates. */
static int64_t days_from_civil(int64_t y, int m, int d) {
  int64_t era;
  int64_t yoe;
  int64_t doy;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

/* One line of zdump -v: "Europe/London  Sun Oct 31 01:59:59 1971 UT = Sun
 * Oct 31 02:59:59 1971 BST isdst=0 gmtoff=3600". Returns 1 with the zone,
 * the UT instant and gmtoff; 0 for the lines of "= NULL". */
static int zdump_line(const char *line, char zone[256], int64_t *t,
                      long *gmtoff) {
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  char mon[4];
  int d;
  int h;
  int mi;
  int s;
  long long y;
  const char *m;
  if (strstr(line, "= NULL") != NULL) {
    return 0;
  }
  cr_assert_eq(sscanf(line,
                      "%255s %*s %3s %d %d:%d:%d %lld UT = %*s %*s %*d "
                      "%*d:%*d:%*d %*d %*s isdst=%*d gmtoff=%ld",
                      zone, mon, &d, &h, &mi, &s, &y, gmtoff),
               8, "zdump line not understood: %s", line);
  m = strstr(months, mon);
  cr_assert(m != NULL && (m - months) % 3 == 0, "month: %s", line);
  *t = days_from_civil(y, (int)((m - months) / 3) + 1, d) * 86400 +
       (int64_t)h * 3600 + (int64_t)mi * 60 + s;
  return 1;
}

struct change {
  int64_t at;
  int32_t off;
};

/* The changes of offset z gives in [lo, hi), in order (caller frees). */
static struct change *changes_of(const struct hk_zone *z, int64_t lo,
                                 int64_t hi, size_t *n) {
  struct change *v = NULL;
  size_t cap = 0;
  int64_t t = lo;
  int64_t until = 0;
  int32_t off = hk_zone_offset(z, t, &until);
  *n = 0;
  while (until < hi) {
    int32_t next;
    cr_assert_gt(until, t);
    t = until;
    next = hk_zone_offset(z, t, &until);
    if (next != off) {
      if (*n == cap) {
        cap = cap ? cap * 2 : 64;
        v = realloc(v, cap * sizeof *v);
        cr_assert_not_null(v);
      }
      v[*n].at = t;
      v[*n].off = next;
      (*n)++;
      off = next;
    }
  }
  return v;
}

/*
 * Compares the zones of one shard with zdump. Each pair of zdump lines is
 * the second before a change of local time and the second of it (zdump
 * also lists changes of name or DST flag alone); the zone must give both
 * offsets, and the changes of offset it gives over the years must be
 * exactly those zdump shows.
 */
static void compare_shard(int shard) {
  struct names all = {NULL, 0, 0};
  size_t zones = 0;
  size_t changes = 0;
  size_t cmdcap = 64;
  char *cmd;
  FILE *p;
  char line[512];
  int64_t lo = days_from_civil(FIRST_YEAR, 1, 1) * 86400;
  int64_t hi = days_from_civil(LAST_YEAR, 1, 1) * 86400;
  list_zones("", &all);
  cr_assert_gt(all.n, 300, "only %zu zones under %s", all.n, ZONEINFO);
  qsort(all.v, all.n, sizeof *all.v, name_cmp);
  for (size_t i = (size_t)shard; i < all.n; i += SHARDS) {
    cmdcap += strlen(all.v[i]) + 3;
  }
  cmd = malloc(cmdcap);
  cr_assert_not_null(cmd);
  (void)snprintf(cmd, cmdcap, "zdump -v -c %d,%d", FIRST_YEAR, LAST_YEAR);
  for (size_t i = (size_t)shard; i < all.n; i += SHARDS) {
    /* Zone names hold no character the shell would read. */
    cr_assert_eq(all.v[i][strspn(all.v[i], "abcdefghijklmnopqrstuvwxyz"
                                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                           "0123456789/_+-")],
                 '\0', "zone name %s", all.v[i]);
    strcat(cmd, " ");
    strcat(cmd, all.v[i]);
  }
  p = popen(cmd, "r");
  cr_assert_not_null(p);
  for (size_t i = (size_t)shard; i < all.n; i += SHARDS) {
    const char *name = all.v[i];
    enum hk_zone_err err = HK_ZONE_IO;
    struct hk_zone *z = hk_zone_load(name, &err);
    size_t n = 0;
    struct change *mine;
    size_t k = 0;
    int64_t prev_t = INT64_MIN;
    long prev_off = 0;
    cr_assert_not_null(z, "%s: %s", name, hk_zone_strerror(err));
    mine = changes_of(z, lo, hi, &n);
    /* zdump writes each zone's lines together, in the order named: read
     * until the next zone's first line. */
    for (;;) {
      char zone[256];
      int64_t t;
      long gmtoff;
      int64_t until;
      if (fgets(line, sizeof line, p) == NULL) {
        break;
      }
      if (!zdump_line(line, zone, &t, &gmtoff)) {
        if (strstr(line, "9223372036854775807 = NULL") != NULL) {
          break; /* the last line of a zone */
        }
        continue;
      }
      cr_assert_str_eq(zone, name, "zdump out of step: %s", line);
      cr_expect_eq(hk_zone_offset(z, t, &until), gmtoff, "%s", line);
      if (t == prev_t + 1 && gmtoff != prev_off) {
        /* A change of offset at t: it must be the next of mine. */
        if (k < n) {
          cr_expect_eq(mine[k].at, t, "%s: change at %lld, zdump: %s", name,
                       (long long)mine[k].at, line);
          cr_expect_eq(mine[k].off, gmtoff, "%s: %s", name, line);
        } else {
          cr_expect_fail("%s: zdump has a change the zone lacks: %s", name,
                         line);
        }
        k++;
      }
      prev_t = t;
      prev_off = gmtoff;
    }
    cr_expect_eq(k, n, "%s: %zu changes of offset, zdump %zu", name, n, k);
    zones++;
    changes += k;
    free(mine);
    hk_zone_free(z);
  }
  cr_expect_eq(pclose(p), 0, "zdump failed");
  cr_log_info("zone_vs_zdump shard %d: %zu zones, %zu changes of offset", shard,
              zones, changes);
  free(cmd);
  for (size_t i = 0; i < all.n; i++) {
    free(all.v[i]);
  }
  free(all.v);
}

ParameterizedTestParameters(zone_vs_zdump, every_change_from_1970_to_2100) {
  static int shards[SHARDS] = {0, 1, 2, 3, 4, 5, 6, 7};
  return cr_make_param_array(int, shards, SHARDS);
}

ParameterizedTest(int *shard, zone_vs_zdump, every_change_from_1970_to_2100,
                  .timeout = 100) {
  compare_shard(*shard);
}
