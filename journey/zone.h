/*
 * zone.h -- time zones read from the system's zoneinfo (TZif, RFC 8536),
 * one zone at a time, with no process-wide state (internal to journey/).
 *
 * A loaded zone is immutable: any number of threads may ask it for offsets
 * at once, with no lock. Nothing here reads or sets TZ, and nothing calls
 * tzset or localtime.
 */
#ifndef HK_JOURNEY_ZONE_H
#define HK_JOURNEY_ZONE_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* Why a zone did not load. The file's bytes are untrusted: every way they
 * can be wrong is one of these, never a crash. */
#define HK_ZONE_ERRORS(X)                                                      \
  X(OK, "ok")                                                                  \
  X(BAD_NAME, "the name is not a zone name")                                   \
  X(NOT_FOUND, "no such zone file")                                            \
  X(IO, "the zone file could not be read")                                     \
  X(TOO_LARGE, "the zone file is over the size limit")                         \
  X(BAD_MAGIC, "the file is not TZif")                                         \
  X(TRUNCATED, "the zone file ends early")                                     \
  X(BAD_COUNTS, "the zone file's counts are inconsistent")                     \
  X(BAD_DATA, "the zone file's data is out of range")                          \
  X(LEAP_SECONDS, "zones with leap seconds (right/) are not supported")        \
  X(BAD_FOOTER, "the zone's TZ string is not valid")

enum hk_zone_err {
#define HK_X_ENUM(name, msg) HK_ZONE_##name,
  HK_ZONE_ERRORS(HK_X_ENUM)
#undef HK_X_ENUM
      HK_ZONE__COUNT
};

/* A sentence for a person; never NULL. */
const char *hk_zone_strerror(enum hk_zone_err e);

struct hk_zone;

/*
 * Loads the zone NAME ("Europe/London") from $TZDIR, or /usr/share/zoneinfo
 * when TZDIR is unset or empty. A name that is empty, starts with '/',
 * holds "..", or a character outside [A-Za-z0-9/_+-] is refused. Returns a
 * new zone (free with hk_zone_free), or NULL with *err set.
 */
struct hk_zone *hk_zone_load(const char *name, enum hk_zone_err *err);

/* Parses the TZif bytes buf[0..len); the same result and errors as
 * hk_zone_load, without the file. buf is not kept. */
struct hk_zone *hk_zone_parse(const unsigned char *buf, size_t len,
                              enum hk_zone_err *err);

/* A zone from a POSIX TZ string alone, as a TZif footer holds it
 * ("EST5EDT,M3.2.0,M11.1.0"); HK_ZONE_BAD_FOOTER when it is not one. */
struct hk_zone *hk_zone_from_posix(const char *tz, enum hk_zone_err *err);

/* NULL-safe. */
void hk_zone_free(struct hk_zone *z);

/*
 * The zone's offset from UTC at t, in seconds east (local = UTC + offset),
 * and in *until an instant after t up to which it stays so: the next change
 * of offset, or sooner (the caller then asks again from there); INT64_MAX
 * when it never changes again. t and *until are seconds since the epoch.
 */
int32_t hk_zone_offset(const struct hk_zone *z, int64_t t, int64_t *until);

/* a / b rounded toward minus infinity (b > 0). */
int64_t hk_zone_floor_div(int64_t a, int64_t b);

/* The days from 1970-01-01 to the proleptic Gregorian date y-m-d (m 1-12,
 * d 1-31; no check), negative before. */
int64_t hk_zone_day_number(int64_t y, int m, int d);

#endif
