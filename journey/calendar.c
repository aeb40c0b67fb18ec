/*
 * calendar.c -- business time: the open hours of a calendar in its own time
 * zone, and the two questions the SLA clocks ask of them: when has a given
 * amount of open time passed (hk_calendar_add), and how much open time lies
 * between two instants (hk_calendar_between).
 *
 * Design
 * ------
 * Open means the wall clock. The calendar is open at an instant when the
 * local wall clock of its zone, at that instant, reads a date that is not a
 * holiday and a time inside one of that date's open ranges. Everything else
 * follows from this one rule, DST included, and open time is always real
 * elapsed time:
 *
 * - Spring forward. Wall times in the gap never show, so a range 01:00-03:00
 *   on a day whose clocks jump from 01:00 to 02:00 is open one hour, and a
 *   range that starts in the gap opens at the first instant that exists,
 *   the change itself.
 * - Fall back. The repeated wall times show twice, so a range 01:00-02:00 on
 *   a day whose clocks go back from 02:00 to 01:00 is open two hours, and a
 *   24-hour day is 25 hours long (23 in spring).
 * - Across midnight. A range whose end is before its start runs into the
 *   next date: 22:00-06:00 on Monday is Monday 22:00-24:00 and Tuesday
 *   00:00-06:00. Each part belongs to the date the wall clock shows.
 * - Holidays close the local date, whole. So a holiday closes the part after
 *   midnight of a range that started the evening before, and leaves open
 *   the part after midnight of a range that starts on the holiday's evening:
 *   what counts is the date on the wall clock, not the day the range was
 *   written under. Operators think of a holiday as "we are closed on the
 *   25th", and this is that.
 *
 * The week. hk_calendar_new turns `hours` into seven lists of spans, one per
 * weekday, in minutes of the local day (0 to 1440): a weekday's own ranges,
 * clipped at midnight, with the overflow of the previous weekday's ranges
 * that cross midnight, sorted and merged. Holidays become a sorted array of
 * day numbers (days since 1970-01-01) for a binary search.
 *
 * Pieces. The zone is a function from UTC instants to offsets, constant
 * between two changes; call such a stretch a piece. Within a piece the wall
 * clock is UTC plus the offset and runs forward without jumps, so the open
 * time of a piece is the open spans of the wall dates it covers, shifted
 * back by the offset. The walk (next_open) goes forward from an instant
 * piece by piece and local date by local date, yielding open stretches in
 * order; add and between only sum them. There is no special case for gaps
 * or overlaps: at a change the walk starts a new piece whose wall clock
 * jumps forward (the gap is skipped) or back (the repeated hour is walked
 * again).
 *
 * The zone. Offsets come from the system's zoneinfo, never from tables of
 * our own: hk_calendar_new loads the zone's TZif file once (zone.c), and
 * each question asks it for the offset at an instant and the next change,
 * a binary search among the file's transitions or, after the last of them
 * (2037 in Debian's files), the file's own rule for the year. Each call of
 * add or between is arithmetic: about one such lookup per local day walked
 * (an hour of business time added and measured back costs well under a
 * microsecond). Nothing reads or sets TZ, or calls tzset or localtime, so
 * the rest of the process may use local time as it likes.
 *
 * Threads. A compiled calendar, its zone included, is immutable: nothing
 * in it is written after hk_calendar_new returns, so any number of threads
 * may share one calendar with no lock.
 *
 * Bounds. The walk of add ends HK_CAP_CALENDAR_DAYS after from_ms, and gives
 * HK_NEVER when the open time has not passed by then. Instants are taken
 * between the years 1 and 9999; add from outside gives HK_NEVER, and
 * between clips to that range. between costs one step per local day of its
 * span, so its callers keep spans to the life of a clock; between up to
 * HK_NEVER is HK_NEVER when the calendar is ever open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journey/journey.h"
#include "journey/zone.h"

#define MINUTE_MS INT64_C(60000)
#define DAY_S INT64_C(86400)
#define DAY_MS (DAY_S * 1000)
/* 0001-01-01T00:00:00Z and 10000-01-01T00:00:00Z. */
#define FIRST_MS INT64_C(-62135596800000)
#define END_MS INT64_C(253402300800000)

/* An open span of a weekday, in minutes of the local day: 0 <= from < to
 * <= 1440. */
struct span {
  int from;
  int to;
};

struct hk_calendar {
  struct hk_zone *zone;
  struct span *week[7]; /* by tm_wday: 0 is Sunday */
  size_t nweek[7];
  int64_t *holidays; /* day numbers, sorted */
  size_t nholidays;
  int open; /* some weekday has open time */
};

/* ---------------------------------------------------------------------------
 * Dates as day numbers
 * ------------------------------------------------------------------------- */

/* hk_zone_floor_div and hk_zone_day_number (zone.h) do the arithmetic of
 * dates: days since 1970-01-01, proleptic Gregorian. */

/* 0 for Sunday, as tm_wday; 1970-01-01 was a Thursday. */
static int weekday(int64_t day) {
  int64_t r = (day + 4) % 7;
  return (int)(r < 0 ? r + 7 : r);
}

/* ---------------------------------------------------------------------------
 * The zone
 * ------------------------------------------------------------------------- */

/*
 * The offset at t (ms) in ms, and in *end the end of t's piece: the next
 * change of offset, or an earlier instant at which the walk asks again.
 */
static int64_t offset_at(const struct hk_calendar *c, int64_t t, int64_t *end) {
  int64_t until;
  int64_t off = hk_zone_offset(c->zone, hk_zone_floor_div(t, 1000), &until);
  *end = until >= END_MS / 1000 ? END_MS : until * 1000;
  return off * 1000;
}

/* ---------------------------------------------------------------------------
 * The walk
 * ------------------------------------------------------------------------- */

static int is_holiday(const struct hk_calendar *c, int64_t day) {
  size_t lo = 0;
  size_t hi = c->nholidays;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (c->holidays[mid] < day) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo < c->nholidays && c->holidays[lo] == day;
}

/*
 * The first open stretch [*s, *e) at or after t that starts before limit,
 * clipped to start no earlier than t. Stretches end at local midnight and
 * at changes of offset, so adjacent ones may touch. Returns 1, or 0 when
 * none starts before limit.
 */
static int next_open(const struct hk_calendar *c, int64_t t, int64_t limit,
                     int64_t *s, int64_t *e) {
  int found = 0;
  while (!found && t < limit) {
    int64_t piece_end;
    int64_t off = offset_at(c, t, &piece_end);
    int64_t wall = t + off;
    int64_t day = hk_zone_floor_div(wall, DAY_MS);
    int64_t into = wall - day * DAY_MS;
    int64_t next_day = (day + 1) * DAY_MS - off;
    if (!is_holiday(c, day)) {
      const struct span *sp = c->week[weekday(day)];
      size_t n = c->nweek[weekday(day)];
      for (size_t i = 0; i < n && !found; i++) {
        int64_t from = sp[i].from * MINUTE_MS;
        int64_t to = sp[i].to * MINUTE_MS;
        if (to > into) {
          int64_t start = day * DAY_MS + (from > into ? from : into) - off;
          int64_t stop = day * DAY_MS + to - off;
          if (start >= piece_end || start >= limit) {
            break;
          }
          *s = start;
          *e = stop < piece_end ? stop : piece_end;
          found = 1;
        }
      }
    }
    t = next_day < piece_end ? next_day : piece_end;
  }
  return found;
}

/* ---------------------------------------------------------------------------
 * The API
 * ------------------------------------------------------------------------- */

/* "HH:MM" as minutes; the schema checked the form. */
static int minutes(const json_t *v) {
  const char *s = json_string_value(v);
  int m = -1;
  if (s != NULL && strlen(s) == 5) {
    m = ((s[0] - '0') * 10 + (s[1] - '0')) * 60 + (s[3] - '0') * 10 +
        (s[4] - '0');
  }
  return m;
}

static void add_span(struct hk_calendar *c, size_t *caps, int wday, int from,
                     int to) {
  if (c->nweek[wday] == caps[wday]) {
    caps[wday] = caps[wday] == 0 ? 4 : caps[wday] * 2;
    c->week[wday] =
        hk_xrealloc(c->week[wday], caps[wday] * sizeof(struct span));
  }
  c->week[wday][c->nweek[wday]].from = from;
  c->week[wday][c->nweek[wday]].to = to;
  c->nweek[wday]++;
}

static int span_cmp(const void *a, const void *b) {
  const struct span *x = a;
  const struct span *y = b;
  return (x->from > y->from) - (x->from < y->from);
}

static int day_cmp(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a;
  int64_t y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Sorts each weekday's spans and merges those that overlap or touch. */
static void merge_week(struct hk_calendar *c) {
  for (int w = 0; w < 7; w++) {
    size_t out = 0;
    if (c->nweek[w] == 0) {
      continue;
    }
    qsort(c->week[w], c->nweek[w], sizeof(struct span), span_cmp);
    for (size_t i = 1; i < c->nweek[w]; i++) {
      struct span *last = &c->week[w][out];
      if (c->week[w][i].from <= last->to) {
        if (c->week[w][i].to > last->to) {
          last->to = c->week[w][i].to;
        }
      } else {
        c->week[w][++out] = c->week[w][i];
      }
    }
    c->nweek[w] = out + 1;
    c->open = 1;
  }
}

/* Reads `hours` into the week; ranges the schema would refuse are skipped. */
static void read_hours(struct hk_calendar *c, const json_t *hours) {
  static const char *const keys[7] = {"sun", "mon", "tue", "wed",
                                      "thu", "fri", "sat"};
  size_t caps[7] = {0};
  for (int w = 0; w < 7; w++) {
    const json_t *ranges = json_object_get(hours, keys[w]);
    for (size_t i = 0; i < json_array_size(ranges); i++) {
      const json_t *r = json_array_get(ranges, i);
      int from = minutes(json_array_get(r, 0));
      int to = minutes(json_array_get(r, 1));
      if (from < 0 || to < 0 || from >= 1440 || from == to) {
        continue;
      }
      if (to > from) {
        add_span(c, caps, w, from, to);
      } else {
        add_span(c, caps, w, from, 1440);
        if (to > 0) {
          add_span(c, caps, (w + 1) % 7, 0, to);
        }
      }
    }
  }
  merge_week(c);
}

static void read_holidays(struct hk_calendar *c, const json_t *holidays) {
  size_t n = json_array_size(holidays);
  c->holidays = hk_xcalloc(n > 0 ? n : 1, sizeof(int64_t));
  for (size_t i = 0; i < n; i++) {
    const char *s = json_string_value(json_array_get(holidays, i));
    int y = 0;
    int m = 0;
    int d = 0;
    if (s != NULL && sscanf(s, "%4d-%2d-%2d", &y, &m, &d) == 3) {
      c->holidays[c->nholidays++] = hk_zone_day_number(y, m, d);
    }
  }
  qsort(c->holidays, c->nholidays, sizeof(int64_t), day_cmp);
}

struct hk_calendar *hk_calendar_new(const char *name, const json_t *conf,
                                    struct hk_error *err) {
  struct hk_calendar *c = NULL;
  const char *tz = json_string_value(json_object_get(conf, "timezone"));
  enum hk_zone_err zerr = HK_ZONE_BAD_NAME;
  struct hk_zone *zone = tz != NULL ? hk_zone_load(tz, &zerr) : NULL;
  if (zone == NULL) {
    (void)hk_fail(err, HK_E_CONFIG,
                  "$.calendars.%s.timezone: \"%s\" is not a time zone of the "
                  "system's zoneinfo (%s)",
                  name, tz != NULL ? tz : "", hk_zone_strerror(zerr));
  } else {
    c = hk_xcalloc(1, sizeof *c);
    c->zone = zone;
    read_hours(c, json_object_get(conf, "hours"));
    read_holidays(c, json_object_get(conf, "holidays"));
  }
  return c;
}

void hk_calendar_free(struct hk_calendar *c) {
  if (c != NULL) {
    hk_zone_free(c->zone);
    free(c->holidays);
    for (int w = 0; w < 7; w++) {
      free(c->week[w]);
    }
    free(c);
  }
}

int64_t hk_calendar_add(const struct hk_calendar *c, int64_t from_ms,
                        int64_t open_ms) {
  int64_t at = HK_NEVER;
  int64_t left = open_ms > 0 ? open_ms : 0;
  if (c == NULL) {
    if (from_ms <= INT64_MAX - left) {
      at = from_ms + left;
    }
  } else if (c->open && from_ms >= FIRST_MS && from_ms < END_MS) {
    int64_t limit = from_ms + (int64_t)HK_CAP_CALENDAR_DAYS * DAY_MS;
    int64_t t = from_ms;
    int64_t s;
    int64_t e;
    if (limit > END_MS) {
      limit = END_MS;
    }
    while (at == HK_NEVER && next_open(c, t, limit, &s, &e)) {
      if (e - s >= left) {
        at = s + left;
      } else {
        left -= e - s;
        t = e;
      }
    }
  }
  return at;
}

int64_t hk_calendar_between(const struct hk_calendar *c, int64_t a_ms,
                            int64_t b_ms) {
  int64_t sum = 0;
  if (b_ms <= a_ms) {
    sum = 0;
  } else if (c == NULL) {
    sum = a_ms < 0 && b_ms > INT64_MAX + a_ms ? INT64_MAX : b_ms - a_ms;
  } else if (b_ms == HK_NEVER && c->open) {
    sum = HK_NEVER;
  } else {
    int64_t t = a_ms > FIRST_MS ? a_ms : FIRST_MS;
    int64_t end = b_ms < END_MS ? b_ms : END_MS;
    int64_t s;
    int64_t e;
    while (c->open && t < end && next_open(c, t, end, &s, &e)) {
      sum += (e < end ? e : end) - s;
      t = e;
    }
  }
  return sum;
}
