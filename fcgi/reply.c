/*
 * reply.c -- replies (JSON, or text for /metrics) and their CGI heads. Pure.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/fcgi.h"

void hk_reply_init(struct hk_reply *r) {
  memset(r, 0, sizeof *r);
  r->status = 500;
}

void hk_reply_fini(struct hk_reply *r) {
  free(r->body);
  hk_reply_init(r);
}

void hk_reply_json(struct hk_reply *out, int status, json_t *doc) {
  char *text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(15));
  json_decref(doc);
  if (text == NULL) {
    abort(); /* only on out of memory: the document is ours */
  }
  free(out->body);
  out->status = status;
  out->len = strlen(text);
  out->content_type = NULL;
  /* json_dumps' memory comes from malloc: free() releases it. */
  out->body = text;
}

void hk_reply_text(struct hk_reply *out, int status, const char *content_type,
                   char *text, size_t len) {
  free(out->body);
  out->status = status;
  out->body = text;
  out->len = len;
  out->content_type = content_type;
}

void hk_reply_error(struct hk_reply *out, enum hk_err e, const char *msg) {
  json_t *doc = json_pack("{s:{s:s,s:s}}", "error", "code", hk_err_code(e),
                          "message", msg != NULL ? msg : hk_err_message(e));
  int status = hk_err_status(e);
  if (doc == NULL) {
    /* A message quoting the client's bytes that are not UTF-8: the
     * table's words instead. */
    doc = json_pack("{s:{s:s,s:s}}", "error", "code", hk_err_code(e), "message",
                    hk_err_message(e));
  }
  hk_reply_json(out, status > 0 ? status : 500, doc);
}

const char *hk_reply_reason(int status) {
  switch (status) {
  case 200: return "OK";
  case 202: return "Accepted";
  case 304: return "Not Modified";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 413: return "Payload Too Large";
  case 415: return "Unsupported Media Type";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 503: return "Service Unavailable";
  default: return "Unknown";
  }
}

/* Appends to buf, never past cap; *n stays below cap. */
static void appendf(char *buf, size_t cap, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void appendf(char *buf, size_t cap, size_t *n, const char *fmt, ...) {
  va_list ap;
  int w;
  va_start(ap, fmt);
  w = vsnprintf(buf + *n, cap - *n, fmt, ap);
  va_end(ap);
  if (w > 0) {
    *n += (size_t)w < cap - *n ? (size_t)w : cap - *n - 1;
  }
}

size_t hk_reply_head(const struct hk_reply *r, char *buf, size_t cap) {
  size_t n = 0;
  buf[0] = '\0';
  appendf(buf, cap, &n,
          "Status: %d %s\r\nContent-Type: %s\r\n"
          "Cache-Control: %s\r\nContent-Length: %zu\r\n",
          r->status, hk_reply_reason(r->status),
          r->content_type != NULL ? r->content_type : "application/json",
          r->cache != NULL ? r->cache : "no-store", r->len);
  if (r->etag != NULL) {
    appendf(buf, cap, &n, "ETag: \"%s\"\r\n", r->etag);
  }
  if (r->csp != NULL) {
    appendf(buf, cap, &n,
            "Content-Security-Policy: %s\r\nX-Content-Type-Options: nosniff\r\n"
            "Referrer-Policy: no-referrer\r\n",
            r->csp);
  }
  if (r->retry_after_s > 0) {
    appendf(buf, cap, &n, "Retry-After: %" PRId64 "\r\n", r->retry_after_s);
  }
  if (r->allow != NULL) {
    appendf(buf, cap, &n, "Allow: %s\r\n", r->allow);
  }
  appendf(buf, cap, &n, "\r\n");
  return n;
}
