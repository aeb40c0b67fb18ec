/*
 * core.h -- the door to handoff's cross-cutting basics: the table of errors
 * users can see, logfmt logging, capped buffers, durations, the caps, and
 * comparing secrets in constant time.
 *
 * Everything here is small and has no third-party dependency, so every other
 * part of the system may include it.
 */
#ifndef HK_CORE_H
#define HK_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "core/caps.h"

#define HK_MUST_CHECK __attribute__((warn_unused_result))

/* ---------------------------------------------------------------------------
 * Errors
 *
 * One X-macro table: name, HTTP status, JSON code, human message. It
 * generates the enum, the strings and the status; every error response the
 * service writes comes from here. A status of 0 marks errors that never
 * reach HTTP (configuration, command line, I/O).
 * ------------------------------------------------------------------------- */
#define HK_ERRORS(X)                                                           \
  X(OK, 200, "ok", "success")                                                  \
  X(BAD_JSON, 400, "bad_json", "the body is not valid JSON")                   \
  X(MISSING_FIELD, 400, "missing_field",                                       \
    "the body lacks a field this source's payloads must carry")                \
  X(BAD_REQUEST, 400, "bad_request", "the request is malformed")               \
  X(BAD_QUERY, 400, "bad_query", "a query parameter is not valid")             \
  X(MISSING_SIGNATURE, 401, "missing_signature",                               \
    "the request carries no signature")                                        \
  X(BAD_SIGNATURE, 401, "bad_signature", "the signature does not match")       \
  X(STALE_TIMESTAMP, 401, "stale_timestamp",                                   \
    "the signed timestamp is outside the tolerance")                           \
  X(UNAUTHORIZED, 401, "unauthorized", "a valid bearer token is required")     \
  X(FORBIDDEN, 403, "forbidden", "the token lacks the scope this route needs") \
  X(NOT_FOUND, 404, "not_found", "no such resource")                           \
  X(UNKNOWN_SOURCE, 404, "unknown_source", "no source of that name")           \
  X(UNKNOWN_HANDOFF, 404, "unknown_handoff", "no handoff of that name")        \
  X(UNKNOWN_STAGE, 404, "unknown_stage", "no stage of that name")              \
  X(UNKNOWN_SUBJECT, 404, "unknown_subject",                                   \
    "no clock or stage holds that subject")                                    \
  X(METHOD_NOT_ALLOWED, 405, "method_not_allowed",                             \
    "the method is not allowed here")                                          \
  X(TOO_LARGE, 413, "body_too_large", "the body is over the size limit")       \
  X(HEADERS_TOO_LARGE, 431, "headers_too_large",                               \
    "the request has more headers, or longer header names, than the limit")    \
  X(UNSUPPORTED_MEDIA, 415, "unsupported_media_type",                          \
    "the body must be application/json")                                       \
  X(UNAVAILABLE, 503, "redis_unavailable",                                     \
    "the queue is unreachable; retry later")                                   \
  X(FULL, 503, "redis_full",                                                   \
    "the queue is near its memory limit; retry later")                         \
  X(NOT_READY, 503, "not_ready",                                               \
    "no worker has computed this yet; retry later")                            \
  X(INTERNAL, 500, "internal", "internal error")                               \
  X(CONFIG, 0, "config_error", "the configuration is invalid")                 \
  X(USAGE, 0, "usage", "bad command line")                                     \
  X(IO, 0, "io_error", "input/output error")                                   \
  X(STALE_CONFIG, 0, "stale_config",                                           \
    "the config generation changed (a restate was applied); reload")

enum hk_err {
#define HK_X_ENUM(name, status, code, msg) HK_E_##name,
  HK_ERRORS(HK_X_ENUM)
#undef HK_X_ENUM
      HK_E__COUNT
};

/* The JSON code, HTTP status and message of an error; never NULL. */
const char *hk_err_code(enum hk_err e);
int hk_err_status(enum hk_err e);
const char *hk_err_message(enum hk_err e);

/*
 * The specifics of one failure, owned by the caller (usually on its stack).
 * msg is a full sentence for a person; it never holds a secret or a body.
 */
struct hk_error {
  enum hk_err code;
  char msg[256];
};

/* Sets err (when not NULL) and returns code, so a caller can write
 * `return hk_fail(err, HK_E_BAD_JSON, "…%s", x);`. */
enum hk_err hk_fail(struct hk_error *err, enum hk_err code, const char *fmt,
                    ...) __attribute__((format(printf, 3, 4)));

/* ---------------------------------------------------------------------------
 * Logging: one logfmt line per event on stderr, written with one write(2) so
 * lines of concurrent threads never interleave. Values are quoted when they
 * need it and non-printable bytes are escaped, so a line cannot be forged.
 * ------------------------------------------------------------------------- */
enum hk_log_level { HK_LOG_DEBUG, HK_LOG_INFO, HK_LOG_WARN, HK_LOG_ERROR };

/* Names the process (proc=…) and sets the lowest level written. */
void hk_log_init(const char *proc, enum hk_log_level min);

/* Parses "debug", "info", "warn", "error"; returns -1 when unknown. */
int hk_log_level_parse(const char *s);

/*
 * Writes `level=… proc=… msg="…" k1=v1 k2=v2…`. The variadic part is pairs
 * of const char * keys and values, closed by a NULL key; a NULL value is
 * written as an empty string.
 */
void hk_log(enum hk_log_level level, const char *msg, ...);

/* Formats one logfmt line into out (at most cap bytes, always terminated,
 * newline included) and returns its length. Exposed for the tests. */
size_t hk_log_format(char *out, size_t cap, enum hk_log_level level,
                     const char *proc, const char *msg, va_list ap);

/* The form of the lines: logfmt (the default) or one JSON object a line,
 * {"level":…,"proc":…,"msg":…,"k1":"v1",…}, for log shippers. */
enum hk_log_style { HK_LOG_LOGFMT, HK_LOG_JSON };
void hk_log_set_style(enum hk_log_style style);
/* Parses "logfmt" or "json"; returns -1 when unknown. */
int hk_log_style_parse(const char *s);

/* Formats one JSON line as hk_log_format does a logfmt one: every string
 * escaped (control bytes and bytes outside ASCII as \u00XX), and a line
 * over cap cut between two members, so it is always one valid object.
 * Exposed for the tests. */
size_t hk_log_format_json(char *out, size_t cap, enum hk_log_level level,
                          const char *proc, const char *msg, va_list ap);

/* ---------------------------------------------------------------------------
 * Capped buffers: every buffer that grows from input is created with a hard
 * cap (one of HK_CAP_*). Out of memory aborts.
 * ------------------------------------------------------------------------- */
struct hk_buf {
  char *data; /* always NUL-terminated when not NULL */
  size_t len;
  size_t cap;
  size_t max;
};

void hk_buf_init(struct hk_buf *b, size_t max);
/* Appends n bytes. Returns HK_E_TOO_LARGE (and appends nothing) when the
 * result would exceed the cap. */
enum hk_err hk_buf_add(struct hk_buf *b, const void *p, size_t n) HK_MUST_CHECK;
enum hk_err hk_buf_addf(struct hk_buf *b, const char *fmt, ...) HK_MUST_CHECK
    __attribute__((format(printf, 2, 3)));
/* Frees the memory; the buffer may be reused after hk_buf_init. */
void hk_buf_fini(struct hk_buf *b);
/* Moves the data out (caller frees; never NULL) and resets the buffer. */
char *hk_buf_take(struct hk_buf *b, size_t *len);

/* Allocation that aborts on out of memory (nothing is acknowledged before
 * Redis confirmed it, so dying is safe). */
void *hk_xmalloc(size_t n);
void *hk_xcalloc(size_t n, size_t size);
void *hk_xrealloc(void *p, size_t n);
char *hk_xstrdup(const char *s);
char *hk_xstrndup(const char *s, size_t n);
/* printf into a new string sized to fit (keys, names). */
char *hk_xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---------------------------------------------------------------------------
 * Secrets (ct.c)
 * ------------------------------------------------------------------------- */

/*
 * 1 when the len bytes sent equal the slen bytes of secret, else 0. The
 * time taken depends on len only (what the client chose): neither where
 * the bytes differ nor the secret's length changes it. An empty or NULL
 * secret matches nothing. For bearer tokens and shared credentials.
 */
int hk_ct_equal_secret(const void *secret, size_t slen, const void *sent,
                       size_t len);

/* ---------------------------------------------------------------------------
 * Durations and time
 * ------------------------------------------------------------------------- */

/*
 * Parses a duration such as "90s", "5m", "48h", "30d", "1h30m", "250ms"
 * into milliseconds. Units: ms, s, m, h, d, w; each at most once, largest
 * first. Returns 0 on success, -1 when the text is not a duration or
 * overflows.
 */
int hk_duration_parse(const char *s, int64_t *ms) HK_MUST_CHECK;

/* Wall-clock time in milliseconds since the epoch. Only shells call it;
 * pure code takes the time as an argument. */
int64_t hk_time_now_ms(void);

/* The value of a hex digit, or -1. */
int hk_hex_digit(char c);

/* s as one path segment: everything but the unreserved characters of
 * RFC 3986 percent-encoded ("company:8812" -> "company%3A8812"). A new
 * string (caller frees). */
char *hk_path_escape(const char *s);

/* ms since the epoch as RFC 3339 in UTC with milliseconds,
 * "2026-11-24T10:00:00.000Z", into buf (at least HK_TIME_TEXT bytes). */
#define HK_TIME_TEXT 64
void hk_time_format_ms(int64_t ms, char *buf);

/* Monotonic milliseconds, for timeouts and backoff. */
int64_t hk_time_mono_ms(void);

/* Sleeps for ms milliseconds (interrupted early by a signal). */
void hk_sleep_ms(int64_t ms);

#endif
