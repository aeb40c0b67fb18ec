/*
 * log.c -- logfmt lines on stderr, for journald.
 *
 * `level=warn proc=fcgi msg="bad signature" req=… source=stripe`. Keys are
 * written as given (they are literals in our code); values are quoted when
 * they hold a space, a quote, an equals sign or nothing, and every byte
 * outside printable ASCII is written as \xHH, so a value read from a request
 * can neither break the line nor forge a key. With --log-format json, the
 * same pairs as one JSON object a line (hk_log_format_json).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"

static const char *log_proc = "handoff";
static enum hk_log_level log_min = HK_LOG_INFO;
static enum hk_log_style log_style = HK_LOG_LOGFMT;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void hk_log_init(const char *proc, enum hk_log_level min) {
  log_proc = proc;
  log_min = min;
}

void hk_log_set_style(enum hk_log_style style) {
  log_style = style;
}

int hk_log_style_parse(const char *s) {
  if (strcmp(s, "logfmt") == 0) {
    return HK_LOG_LOGFMT;
  }
  return strcmp(s, "json") == 0 ? HK_LOG_JSON : -1;
}

int hk_log_level_parse(const char *s) {
  for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
    if (strcmp(s, level_names[i]) == 0) {
      return (int)i;
    }
  }
  return -1;
}

/* A tiny bounded writer: it never overflows, it just stops. */
struct out {
  char *p;
  size_t len;
  size_t cap; /* room for data; one byte more is kept for the newline */
};

static void put(struct out *o, const char *s, size_t n) {
  size_t room = o->cap - o->len;
  if (n > room) {
    n = room;
  }
  memcpy(o->p + o->len, s, n);
  o->len += n;
}

static void put_escaped(struct out *o, const char *v) {
  for (const unsigned char *c = (const unsigned char *)v; *c != '\0'; c++) {
    char esc[5];
    if (*c == '"' || *c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)*c;
      put(o, esc, 2);
    } else if (*c < 0x20 || *c >= 0x7f) {
      snprintf(esc, sizeof esc, "\\x%02x", *c);
      put(o, esc, 4);
    } else {
      put(o, (const char *)c, 1);
    }
  }
}

static void put_value(struct out *o, const char *v) {
  int quote = (*v == '\0');
  for (const char *c = v; *c != '\0' && !quote; c++) {
    unsigned char u = (unsigned char)*c;
    quote = (u <= ' ' || u == '"' || u == '=' || u == '\\' || u >= 0x7f);
  }
  if (quote) {
    put(o, "\"", 1);
  }
  put_escaped(o, v);
  if (quote) {
    put(o, "\"", 1);
  }
}

size_t hk_log_format(char *buf, size_t cap, enum hk_log_level level,
                     const char *proc, const char *msg, va_list ap) {
  struct out o = {buf, 0, cap - 2};
  put(&o, "level=", 6);
  put(&o, level_names[level], strlen(level_names[level]));
  put(&o, " proc=", 6);
  put_value(&o, proc);
  put(&o, " msg=\"", 6);
  put_escaped(&o, msg);
  put(&o, "\"", 1);
  for (;;) {
    const char *k = va_arg(ap, const char *);
    const char *v;
    if (k == NULL) {
      break;
    }
    v = va_arg(ap, const char *);
    put(&o, " ", 1);
    put(&o, k, strlen(k));
    put(&o, "=", 1);
    put_value(&o, v != NULL ? v : "");
  }
  buf[o.len++] = '\n';
  buf[o.len] = '\0';
  return o.len;
}

/* Appends "s" as a JSON string to o (escaped: quotes, backslashes, and
 * every byte outside printable ASCII as \u00XX). */
static void put_json_string(struct out *o, const char *s) {
  put(o, "\"", 1);
  for (const unsigned char *c = (const unsigned char *)s; *c != '\0'; c++) {
    char esc[8];
    if (*c == '"' || *c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)*c;
      put(o, esc, 2);
    } else if (*c < 0x20 || *c >= 0x7f) {
      snprintf(esc, sizeof esc, "\\u%04x", *c);
      put(o, esc, 6);
    } else {
      put(o, (const char *)c, 1);
    }
  }
  put(o, "\"", 1);
}

/* Appends ,"k":"v" to o when the whole member fits, else nothing; returns
 * 1 when it fitted. */
static int put_member(struct out *o, const char *k, const char *v) {
  char tmp[HK_CAP_LOG_LINE];
  struct out m = {tmp, 0, sizeof tmp};
  put(&m, ",", 1);
  put_json_string(&m, k);
  put(&m, ":", 1);
  put_json_string(&m, v);
  if (m.len == m.cap || m.len > o->cap - o->len) {
    return 0;
  }
  put(o, tmp, m.len);
  return 1;
}

size_t hk_log_format_json(char *buf, size_t cap, enum hk_log_level level,
                          const char *proc, const char *msg, va_list ap) {
  /* Room is kept for the closing brace, the newline and the NUL. */
  struct out o = {buf, 0, cap - 3};
  put(&o, "{\"level\":\"", 10);
  put(&o, level_names[level], strlen(level_names[level]));
  put(&o, "\"", 1);
  int more = put_member(&o, "proc", proc) && put_member(&o, "msg", msg);
  while (more) {
    const char *k = va_arg(ap, const char *);
    const char *v;
    if (k == NULL) {
      break;
    }
    v = va_arg(ap, const char *);
    more = put_member(&o, k, v != NULL ? v : "");
  }
  buf[o.len++] = '}';
  buf[o.len++] = '\n';
  buf[o.len] = '\0';
  return o.len;
}

void hk_log(enum hk_log_level level, const char *msg, ...) {
  char line[HK_CAP_LOG_LINE];
  va_list ap;
  size_t n;
  if (level < log_min) {
    return;
  }
  va_start(ap, msg);
  n = log_style == HK_LOG_JSON
          ? hk_log_format_json(line, sizeof line, level, log_proc, msg, ap)
          : hk_log_format(line, sizeof line, level, log_proc, msg, ap);
  va_end(ap);
  if (write(STDERR_FILENO, line, n) < 0) {
    /* Nowhere left to report it. */
  }
}
