/*
 * time.c -- durations ("1h30m") and the clocks the shells read.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/core.h"

static const struct {
  const char *unit;
  int64_t ms;
} units[] = {
    {"w", 7 * 86400000LL}, {"d", 86400000LL}, {"h", 3600000LL},
    {"m", 60000LL},        {"s", 1000LL},     {"ms", 1LL},
};

int hk_duration_parse(const char *s, int64_t *ms) {
  int64_t total = 0;
  size_t next_unit = 0; /* units must come largest first, each once */
  if (s == NULL || *s == '\0') {
    return -1;
  }
  while (*s != '\0') {
    int64_t n = 0;
    size_t ulen = 0;
    size_t u;
    if (*s < '0' || *s > '9') {
      return -1;
    }
    while (*s >= '0' && *s <= '9') {
      if (n > (INT64_MAX - 9) / 10) {
        return -1;
      }
      n = n * 10 + (*s - '0');
      s++;
    }
    while (s[ulen] >= 'a' && s[ulen] <= 'z') {
      ulen++;
    }
    for (u = next_unit; u < sizeof units / sizeof units[0]; u++) {
      if (strlen(units[u].unit) == ulen &&
          strncmp(s, units[u].unit, ulen) == 0) {
        break;
      }
    }
    if (u == sizeof units / sizeof units[0]) {
      return -1;
    }
    if (n > (INT64_MAX - total) / units[u].ms) {
      return -1;
    }
    total += n * units[u].ms;
    next_unit = u + 1;
    s += ulen;
  }
  *ms = total;
  return 0;
}

int64_t hk_time_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void hk_time_format_ms(int64_t ms, char *buf) {
  int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  time_t t = (time_t)secs;
  struct tm tm;
  if (gmtime_r(&t, &tm) == NULL || tm.tm_year < -1900 ||
      tm.tm_year > 9999 - 1900) {
    snprintf(buf, HK_TIME_TEXT, "1970-01-01T00:00:00.000Z");
    return;
  }
  /* Each field within its range, so the compiler sees it fits. */
  snprintf(buf, HK_TIME_TEXT, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
           (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100, tm.tm_mday % 100,
           tm.tm_hour % 100, tm.tm_min % 100, tm.tm_sec % 100,
           (int)(ms - secs * 1000) % 1000);
}

int64_t hk_time_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void hk_sleep_ms(int64_t ms) {
  struct timespec ts;
  if (ms <= 0) {
    return;
  }
  ts.tv_sec = (time_t)(ms / 1000);
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  if (nanosleep(&ts, NULL) != 0 && errno == EINTR) {
    /* A signal cut the sleep short: the caller's loop checks its flags. */
  }
}
