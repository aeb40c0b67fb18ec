/*
 * zone.c -- one time zone read from the system's zoneinfo (TZif, RFC 8536)
 * into an immutable value that answers "what is the offset at t, and until
 * when", with no process-wide state: no TZ, no tzset, no localtime, no lock.
 *
 * Design
 * ------
 * A TZif file lists transitions (instants at which the zone's local time
 * type changes) and the types (an offset from UTC, a DST flag, a name), and
 * from version 2 on a footer: a POSIX TZ string ("GMT0BST,M3.5.0/1,
 * M10.5.0") that gives local time after the last transition. Debian 12's
 * tzdata ("fat" files) lists transitions up to 2037 and leaves the rest to
 * the footer; "slim" files stop much earlier. Either way the footer decides
 * every instant after the last transition, so both are read the same way.
 *
 * Loading keeps only what the calendar needs: the offset before the first
 * transition (time type 0, RFC 8536 section 3.2), the instants at which the
 * offset changes (a transition that changes only the DST flag or the name
 * is dropped), the last transition of the file, and the footer's rule. The
 * version 2+ block, with 64-bit times, is read when present; version 1
 * files are read from their 32-bit block and have no footer.
 *
 * A lookup before the last transition is a binary search. After it, the
 * rule is evaluated for the UTC year Y of t: the start and end of DST in
 * local years Y-2 to Y+1 (eight instants, enough for rule times up to the
 * 167 hours of RFC 8536's version 3, which move a change by up to a week
 * into the next year), sorted, and walked to t. That is arithmetic on a few
 * dates, with no cache, so a zone never changes once loaded and any number
 * of threads may read it.
 *
 * Untrusted bytes. A zone file is read with a size cap (HK_CAP_ZONE_FILE),
 * and every count is checked against the bytes that remain before anything
 * is read through it; every index, offset and flag is checked against its
 * range; a file that breaks any rule gives an error value, never a read
 * past the buffer or an assert.
 */
#include "journey/zone.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DAY_S INT64_C(86400)
#define HOUR_S 3600
/* RFC 8536 section 3.2: offsets SHOULD lie in [-89999, 93599] seconds;
 * the calendar's arithmetic counts on it, so others are refused. */
#define MIN_UTOFF (-89999)
#define MAX_UTOFF 93599
/* The footer's rule is evaluated for instants within +-2^40 s (about
 * +-34,800 years, far past the calendar's years 1 to 9999); beyond, at
 * those bounds, so that no date arithmetic can overflow. */
#define RULE_SPAN (INT64_C(1) << 40)
/* TZif header: magic, version, 15 unused bytes, six 32-bit counts. */
#define HEADER_LEN 44u
/* A TZ string longer than this is not one tzdata would write. */
#define FOOTER_MAX 255u
/* The most time types a file may have: indices are one byte. */
#define MAX_TYPES 256u

static const char *const zone_messages[] = {
#define HK_X_MSG(name, msg) msg,
    HK_ZONE_ERRORS(HK_X_MSG)
#undef HK_X_MSG
};

const char *hk_zone_strerror(enum hk_zone_err e) {
  return (unsigned)e < HK_ZONE__COUNT ? zone_messages[e] : "unknown error";
}

/* ---------------------------------------------------------------------------
 * Dates as day numbers (days since 1970-01-01, proleptic Gregorian)
 * ------------------------------------------------------------------------- */

int64_t hk_zone_floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) {
    q--;
  }
  return q;
}

/* Years are counted from March, so that a leap day ends its year. */
int64_t hk_zone_day_number(int64_t y, int m, int d) {
  int64_t mar_y = m > 2 ? y : y - 1;
  int64_t mar_m = m > 2 ? m - 3 : m + 9;
  int64_t days = 365 * mar_y + hk_zone_floor_div(mar_y, 4) -
                 hk_zone_floor_div(mar_y, 100) + hk_zone_floor_div(mar_y, 400);
  days += (153 * mar_m + 2) / 5 + (d - 1);
  return days - 719468; /* 0000-03-01 is 719468 days before 1970-01-01 */
}

/* The year of a day number: the inverse of day_number (H. Hinnant's
 * civil_from_days, year only). */
static int64_t year_of(int64_t day) {
  int64_t z = day + 719468;
  int64_t era = hk_zone_floor_div(z, 146097);
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153; /* 0 is March */
  return yoe + era * 400 + (mp >= 10 ? 1 : 0);
}

static int is_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* 0 for Sunday; 1970-01-01 was a Thursday. */
static int weekday(int64_t day) {
  int64_t r = (day + 4) % 7;
  return (int)(r < 0 ? r + 7 : r);
}

/* ---------------------------------------------------------------------------
 * The footer: a POSIX TZ string (RFC 8536 section 3.3)
 * ------------------------------------------------------------------------- */

enum date_kind { JULIAN_NO_LEAP, JULIAN_ZERO, MONTH_WEEK_DAY };

/* A date of the rule: Jn (1..365, February 29 never counted), n (0..365),
 * or Mm.w.d (day d of week w of month m, week 5 the last); and the time of
 * day of the change, in seconds of the local time then in force (it may be
 * negative or past 24 hours). */
struct rule_date {
  enum date_kind kind;
  int n;
  int m;
  int w;
  int d;
  int32_t time;
};

struct rule {
  int32_t std; /* offsets east of UTC, in seconds */
  int32_t dst;
  int has_dst;
  struct rule_date start; /* of DST, in standard time */
  struct rule_date end;   /* of DST, in DST */
};

static int is_digit(char c) {
  return c >= '0' && c <= '9';
}

static int is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A number of 1 to max_digits digits into *v; NULL when none. */
static const char *parse_num(const char *s, int max_digits, int *v) {
  int n = 0;
  int digits = 0;
  while (is_digit(*s) && digits < max_digits) {
    n = n * 10 + (*s - '0');
    s++;
    digits++;
  }
  *v = n;
  return digits > 0 && !is_digit(*s) ? s : NULL;
}

/* A zone name: three or more letters, or <...> of three or more letters,
 * digits, '+' and '-'. */
static const char *parse_name(const char *s) {
  const char *p = s;
  const char *end = NULL;
  if (*p == '<') {
    p++;
    while (is_alpha(*p) || is_digit(*p) || *p == '+' || *p == '-') {
      p++;
    }
    if (*p == '>' && p - s - 1 >= 3) {
      end = p + 1;
    }
  } else {
    while (is_alpha(*p)) {
      p++;
    }
    if (p - s >= 3) {
      end = p;
    }
  }
  return end;
}

/* [+-]hh[:mm[:ss]] with hh at most max_h, into seconds; NULL when not. */
static const char *parse_hms(const char *s, int max_h, int32_t *secs) {
  int sign = 1;
  int h = 0;
  int m = 0;
  int sec = 0;
  if (*s == '+' || *s == '-') {
    sign = *s == '-' ? -1 : 1;
    s++;
  }
  s = parse_num(s, 3, &h);
  if (s != NULL && *s == ':') {
    s = parse_num(s + 1, 2, &m);
    if (s != NULL && *s == ':') {
      s = parse_num(s + 1, 2, &sec);
    }
  }
  if (s == NULL || h > max_h || m > 59 || sec > 59) {
    return NULL;
  }
  *secs = sign * (h * HOUR_S + m * 60 + sec);
  return s;
}

/* A POSIX offset (west of UTC is positive) as an offset east of UTC. */
static const char *parse_offset(const char *s, int32_t *east) {
  int32_t west = 0;
  s = parse_hms(s, 24, &west);
  *east = -west;
  return s;
}

/* date[/time] of a rule; the time defaults to 02:00:00, and may range over
 * -167..167 hours (RFC 8536 section 3.3.1). */
static const char *parse_date(const char *s, struct rule_date *d) {
  memset(d, 0, sizeof *d);
  d->time = 2 * HOUR_S;
  if (*s == 'J') {
    d->kind = JULIAN_NO_LEAP;
    s = parse_num(s + 1, 3, &d->n);
    if (s != NULL && (d->n < 1 || d->n > 365)) {
      s = NULL;
    }
  } else if (*s == 'M') {
    d->kind = MONTH_WEEK_DAY;
    s = parse_num(s + 1, 2, &d->m);
    s = s != NULL && *s == '.' ? parse_num(s + 1, 1, &d->w) : NULL;
    s = s != NULL && *s == '.' ? parse_num(s + 1, 1, &d->d) : NULL;
    if (s != NULL &&
        (d->m < 1 || d->m > 12 || d->w < 1 || d->w > 5 || d->d > 6)) {
      s = NULL;
    }
  } else {
    d->kind = JULIAN_ZERO;
    s = parse_num(s, 3, &d->n);
    if (s != NULL && d->n > 365) {
      s = NULL;
    }
  }
  if (s != NULL && *s == '/') {
    s = parse_hms(s + 1, 167, &d->time);
  }
  return s;
}

/*
 * Parses `std offset [dst [offset] [,start[/time],end[/time]]]` into r.
 * Without a rule, DST follows the US rule of 2007, as tzcode and glibc do.
 * Returns 0, or -1 when s is not such a string (the empty string included).
 */
static int parse_posix(const char *s, struct rule *r) {
  memset(r, 0, sizeof *r);
  s = parse_name(s);
  s = s != NULL ? parse_offset(s, &r->std) : NULL;
  if (s != NULL && *s != '\0') {
    r->has_dst = 1;
    s = parse_name(s);
    r->dst = r->std + HOUR_S;
    if (s != NULL && *s != ',' && *s != '\0') {
      s = parse_offset(s, &r->dst);
    }
    if (s != NULL && *s == '\0') {
      s = parse_date("M3.2.0", &r->start);
      s = s != NULL ? parse_date("M11.1.0", &r->end) : NULL;
      s = s != NULL ? "" : NULL;
    } else if (s != NULL && *s == ',') {
      s = parse_date(s + 1, &r->start);
      s = s != NULL && *s == ',' ? parse_date(s + 1, &r->end) : NULL;
    } else {
      s = NULL;
    }
  }
  return s != NULL && *s == '\0' ? 0 : -1;
}

/* The local date (day number) on which d falls in year y. */
static int64_t rule_day(const struct rule_date *d, int64_t y) {
  int64_t day = hk_zone_day_number(y, 1, 1);
  if (d->kind == JULIAN_NO_LEAP) {
    day += d->n - 1 + (is_leap(y) && d->n >= 60 ? 1 : 0);
  } else if (d->kind == JULIAN_ZERO) {
    day += d->n;
  } else {
    int64_t first = hk_zone_day_number(y, d->m, 1);
    int64_t next = d->m == 12 ? hk_zone_day_number(y + 1, 1, 1)
                              : hk_zone_day_number(y, d->m + 1, 1);
    day = first + (d->d - weekday(first) + 7) % 7 + INT64_C(7) * (d->w - 1);
    while (day >= next) {
      day -= 7;
    }
  }
  return day;
}

struct event {
  int64_t at;
  int32_t off; /* from at on */
};

/* The offset the rule gives at t (seconds) and in *until an instant up to
 * which it holds; see the design note. */
static int32_t rule_offset(const struct rule *r, int64_t t, int64_t *until) {
  struct event ev[8];
  size_t n = 0;
  size_t i = 0;
  int32_t cur = r->std;
  int64_t tc = t;
  int64_t y;
  if (!r->has_dst) {
    *until = INT64_MAX;
    return r->std;
  }
  if (tc > RULE_SPAN) {
    tc = RULE_SPAN;
  } else if (tc < -RULE_SPAN) {
    tc = -RULE_SPAN;
  }
  y = year_of(hk_zone_floor_div(tc, DAY_S));
  for (int64_t k = y - 2; k <= y + 1; k++) {
    ev[n].at = rule_day(&r->start, k) * DAY_S + r->start.time - r->std;
    ev[n++].off = r->dst;
    ev[n].at = rule_day(&r->end, k) * DAY_S + r->end.time - r->dst;
    ev[n++].off = r->std;
  }
  /* A stable sort: at one instant, a later year's change comes last (so a
   * DST that ends and starts again at one instant stays in force). */
  for (size_t a = 1; a < n; a++) {
    struct event e = ev[a];
    size_t b = a;
    while (b > 0 && ev[b - 1].at > e.at) {
      ev[b] = ev[b - 1];
      b--;
    }
    ev[b] = e;
  }
  while (i < n && ev[i].at <= tc) {
    cur = ev[i++].off;
  }
  /* Every change before the next UTC year is among the eight. */
  *until = hk_zone_day_number(y + 1, 1, 1) * DAY_S;
  for (; i < n; i++) {
    int last_at_instant = i + 1 == n || ev[i + 1].at != ev[i].at;
    if (last_at_instant && ev[i].off != cur) {
      if (ev[i].at < *until) {
        *until = ev[i].at;
      }
      break;
    }
  }
  if (t > RULE_SPAN) {
    *until = INT64_MAX;
  } else if (t < -RULE_SPAN) {
    *until = -RULE_SPAN;
  }
  return cur;
}

/* ---------------------------------------------------------------------------
 * The zone
 * ------------------------------------------------------------------------- */

struct hk_zone {
  int32_t off0; /* before the first change */
  int64_t *at;  /* the instants at which the offset changes, ascending */
  int32_t *off; /* the offset from at[i] on */
  size_t n;
  int64_t last; /* the file's last transition; INT64_MIN when none */
  int has_rule; /* the footer's rule governs from last on */
  struct rule rule;
};

void hk_zone_free(struct hk_zone *z) {
  if (z != NULL) {
    free(z->at);
    free(z->off);
    free(z);
  }
}

int32_t hk_zone_offset(const struct hk_zone *z, int64_t t, int64_t *until) {
  size_t lo = 0;
  size_t hi = z->n;
  if (z->has_rule && t >= z->last) {
    return rule_offset(&z->rule, t, until);
  }
  /* The first change after t. */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (z->at[mid] <= t) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo < z->n) {
    *until = z->at[lo];
  } else {
    *until = z->has_rule ? z->last : INT64_MAX;
  }
  return lo > 0 ? z->off[lo - 1] : z->off0;
}

/* Parses tz into r; HK_ZONE_BAD_FOOTER when it is not a TZ string or its
 * offsets are out of range. */
static enum hk_zone_err read_rule(const char *tz, struct rule *r) {
  enum hk_zone_err e = HK_ZONE_OK;
  if (parse_posix(tz, r) != 0 || r->std < MIN_UTOFF || r->std > MAX_UTOFF ||
      r->dst < MIN_UTOFF || r->dst > MAX_UTOFF) {
    e = HK_ZONE_BAD_FOOTER;
  }
  return e;
}

struct hk_zone *hk_zone_from_posix(const char *tz, enum hk_zone_err *err) {
  struct hk_zone *z = hk_xcalloc(1, sizeof *z);
  *err = read_rule(tz, &z->rule);
  if (*err != HK_ZONE_OK) {
    hk_zone_free(z);
    z = NULL;
  } else {
    z->off0 = z->rule.std;
    z->last = INT64_MIN;
    z->has_rule = 1;
  }
  return z;
}

/* ---------------------------------------------------------------------------
 * TZif
 * ------------------------------------------------------------------------- */

struct header {
  int version; /* 1, or the digit of '2', '3', '4'... */
  uint32_t isutcnt;
  uint32_t isstdcnt;
  uint32_t leapcnt;
  uint32_t timecnt;
  uint32_t typecnt;
  uint32_t charcnt;
};

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         (uint32_t)p[3];
}

static int64_t be64(const unsigned char *p) {
  return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* A time of tsize (4 or 8) bytes, signed. */
static int64_t read_time(const unsigned char *p, size_t tsize) {
  return tsize == 8 ? be64(p) : (int64_t)(int32_t)be32(p);
}

/*
 * Reads the header at buf (len bytes left) into h and, in *block, the size
 * of the data block after it, with times of tsize bytes. The counts are
 * checked against each other and against the bytes left, so the block lies
 * within the buffer.
 */
static enum hk_zone_err read_header(const unsigned char *buf, size_t len,
                                    size_t tsize, struct header *h,
                                    size_t *block) {
  enum hk_zone_err e = HK_ZONE_OK;
  /* Version 0 is the first; '1' never was one. */
  if (memcmp(buf, "TZif", len < 4 ? len : 4) != 0 ||
      (len > 4 && buf[4] != 0 && buf[4] < '2')) {
    e = HK_ZONE_BAD_MAGIC;
  } else if (len < HEADER_LEN) {
    e = HK_ZONE_TRUNCATED;
  } else {
    h->version = buf[4] == 0 ? 1 : buf[4] - '0';
    h->isutcnt = be32(buf + 20);
    h->isstdcnt = be32(buf + 24);
    h->leapcnt = be32(buf + 28);
    h->timecnt = be32(buf + 32);
    h->typecnt = be32(buf + 36);
    h->charcnt = be32(buf + 40);
    len -= HEADER_LEN;
    /* Each count is at most the bytes left, so no product below can
     * overflow a size_t. */
    if (h->typecnt == 0 || h->typecnt > MAX_TYPES || h->charcnt == 0 ||
        (h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
        (h->isstdcnt != 0 && h->isstdcnt != h->typecnt)) {
      e = HK_ZONE_BAD_COUNTS;
    } else if (h->timecnt > len || h->charcnt > len || h->leapcnt > len) {
      e = HK_ZONE_TRUNCATED;
    } else {
      *block = (size_t)h->timecnt * (tsize + 1) + (size_t)h->typecnt * 6 +
               h->charcnt + (size_t)h->leapcnt * (tsize + 4) + h->isstdcnt +
               h->isutcnt;
      if (*block > len) {
        e = HK_ZONE_TRUNCATED;
      }
    }
  }
  return e;
}

/*
 * Reads the data block at p, described by h with times of tsize bytes,
 * into z: the offset before the first transition and the changes of offset.
 * The block's size was checked by read_header.
 */
static enum hk_zone_err read_block(const unsigned char *p,
                                   const struct header *h, size_t tsize,
                                   struct hk_zone *z) {
  const unsigned char *times = p;
  const unsigned char *idx = times + (size_t)h->timecnt * tsize;
  const unsigned char *types = idx + h->timecnt;
  enum hk_zone_err e = HK_ZONE_OK;
  int32_t cur;
  if (h->leapcnt != 0) {
    return HK_ZONE_LEAP_SECONDS;
  }
  for (uint32_t i = 0; i < h->typecnt && e == HK_ZONE_OK; i++) {
    const unsigned char *ty = types + (size_t)i * 6;
    int32_t utoff = (int32_t)be32(ty);
    if (utoff < MIN_UTOFF || utoff > MAX_UTOFF || ty[4] > 1 ||
        ty[5] >= h->charcnt) {
      e = HK_ZONE_BAD_DATA;
    }
  }
  for (uint32_t i = 0; i < h->timecnt && e == HK_ZONE_OK; i++) {
    if (idx[i] >= h->typecnt ||
        (i > 0 && read_time(times + (size_t)i * tsize, tsize) <=
                      read_time(times + (size_t)(i - 1) * tsize, tsize))) {
      e = HK_ZONE_BAD_DATA;
    }
  }
  if (e == HK_ZONE_OK) {
    cur = (int32_t)be32(types);
    z->off0 = cur;
    z->at = hk_xmalloc((h->timecnt > 0 ? h->timecnt : 1) * sizeof *z->at);
    z->off = hk_xmalloc((h->timecnt > 0 ? h->timecnt : 1) * sizeof *z->off);
    z->n = 0;
    z->last = INT64_MIN;
    for (uint32_t i = 0; i < h->timecnt; i++) {
      int32_t o = (int32_t)be32(types + (size_t)idx[i] * 6);
      z->last = read_time(times + (size_t)i * tsize, tsize);
      if (o != cur) {
        z->at[z->n] = z->last;
        z->off[z->n] = o;
        z->n++;
        cur = o;
      }
    }
  }
  return e;
}

/* The footer at p (len bytes left): "\n" TZ string "\n"; an empty TZ
 * string leaves the last transition's offset in force for ever. */
static enum hk_zone_err read_footer(const unsigned char *p, size_t len,
                                    struct hk_zone *z) {
  enum hk_zone_err e = HK_ZONE_OK;
  const unsigned char *nl = len > 1 ? memchr(p + 1, '\n', len - 1) : NULL;
  size_t n = nl != NULL ? (size_t)(nl - (p + 1)) : 0;
  char tz[FOOTER_MAX + 1];
  if (len == 0 || p[0] != '\n' || nl == NULL) {
    e = len > 0 && p[0] != '\n' ? HK_ZONE_BAD_FOOTER : HK_ZONE_TRUNCATED;
  } else if (n > FOOTER_MAX || memchr(p + 1, '\0', n) != NULL) {
    e = HK_ZONE_BAD_FOOTER;
  } else if (n > 0) {
    memcpy(tz, p + 1, n);
    tz[n] = '\0';
    /* With no transition at all, last is INT64_MIN and the footer decides
     * every instant (RFC 9636 section 3.2). */
    e = read_rule(tz, &z->rule);
    z->has_rule = e == HK_ZONE_OK;
  }
  return e;
}

struct hk_zone *hk_zone_parse(const unsigned char *buf, size_t len,
                              enum hk_zone_err *err) {
  struct hk_zone *z = hk_xcalloc(1, sizeof *z);
  struct header h;
  size_t block = 0;
  enum hk_zone_err e = read_header(buf, len, 4, &h, &block);
  if (e == HK_ZONE_OK && h.version >= 2) {
    /* Skip the 32-bit block for the 64-bit one after it. */
    size_t skip = HEADER_LEN + block;
    buf += skip;
    len -= skip;
    e = read_header(buf, len, 8, &h, &block);
    if (e == HK_ZONE_OK && h.version < 2) {
      e = HK_ZONE_BAD_MAGIC;
    }
    if (e == HK_ZONE_OK) {
      e = read_block(buf + HEADER_LEN, &h, 8, z);
    }
    if (e == HK_ZONE_OK) {
      e = read_footer(buf + HEADER_LEN + block, len - HEADER_LEN - block, z);
    }
  } else if (e == HK_ZONE_OK) {
    e = read_block(buf + HEADER_LEN, &h, 4, z);
  }
  if (e != HK_ZONE_OK) {
    hk_zone_free(z);
    z = NULL;
  }
  *err = e;
  return z;
}

/* The bytes of the file at path, at most HK_CAP_ZONE_FILE (caller frees). */
static enum hk_zone_err read_file(const char *path, unsigned char **out,
                                  size_t *len) {
  enum hk_zone_err e = HK_ZONE_OK;
  struct stat st;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  *out = NULL;
  *len = 0;
  if (fd < 0) {
    e = errno == ENOENT || errno == ENOTDIR ? HK_ZONE_NOT_FOUND : HK_ZONE_IO;
  } else if (fstat(fd, &st) != 0) {
    e = HK_ZONE_IO;
  } else if (!S_ISREG(st.st_mode)) {
    e = HK_ZONE_NOT_FOUND;
  } else if (st.st_size > (off_t)HK_CAP_ZONE_FILE) {
    e = HK_ZONE_TOO_LARGE;
  } else {
    /* One byte more than the cap, to see a file that grew meanwhile. */
    unsigned char *buf = hk_xmalloc(HK_CAP_ZONE_FILE + 1);
    size_t n = 0;
    while (e == HK_ZONE_OK && n <= HK_CAP_ZONE_FILE) {
      ssize_t r = read(fd, buf + n, HK_CAP_ZONE_FILE + 1 - n);
      if (r > 0) {
        n += (size_t)r;
      } else if (r == 0) {
        break;
      } else if (errno != EINTR) {
        e = HK_ZONE_IO;
      }
    }
    if (e == HK_ZONE_OK && n > HK_CAP_ZONE_FILE) {
      e = HK_ZONE_TOO_LARGE;
    }
    if (e == HK_ZONE_OK) {
      *out = buf;
      *len = n;
    } else {
      free(buf);
    }
  }
  if (fd >= 0) {
    (void)close(fd);
  }
  return e;
}

struct hk_zone *hk_zone_load(const char *name, enum hk_zone_err *err) {
  static const char allowed[] = "abcdefghijklmnopqrstuvwxyz"
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_+-";
  const char *dir = getenv("TZDIR");
  char path[512];
  struct hk_zone *z = NULL;
  unsigned char *buf = NULL;
  size_t len = 0;
  enum hk_zone_err e = HK_ZONE_OK;
  if (dir == NULL || dir[0] == '\0') {
    dir = "/usr/share/zoneinfo";
  }
  if (name[0] == '\0' || name[0] == '/' || strstr(name, "..") != NULL ||
      name[strspn(name, allowed)] != '\0' ||
      (size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) {
    e = HK_ZONE_BAD_NAME;
  } else {
    e = read_file(path, &buf, &len);
  }
  if (e == HK_ZONE_OK) {
    z = hk_zone_parse(buf, len, &e);
  }
  free(buf);
  *err = e;
  return z;
}
