/*
 * intake.c -- hk_intake_decide: from one POST to a known source, a delivery
 * to queue or an error to answer.
 *
 * The checks run in the order of their cost and of the contract: the
 * content type (415), the signature and timestamp through hk_verify (401),
 * then the body, parsed once, and the fields the kind must carry (400). The
 * body is parsed only to be checked; it is queued as the bytes that were
 * signed, never re-serialized. Pure: no I/O, no clock, no logging. Messages
 * name headers and fields but never echo what the sender sent.
 */
#include <stdlib.h>
#include <string.h>

#include "webhooks/verify.h"
#include "webhooks/webhooks.h"

static int lower(unsigned char c) {
  return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* ASCII case-insensitive comparison of n bytes; 1 when equal. Unlike
 * strncasecmp it ignores the locale. */
static int ieqn(const char *a, const char *b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (lower((unsigned char)a[i]) != lower((unsigned char)b[i])) {
      return 0;
    }
    if (a[i] == '\0') {
      break;
    }
  }
  return 1;
}

static int ieq(const char *a, const char *b) {
  size_t n = strlen(b);
  return ieqn(a, b, n) && a[n] == '\0';
}

const char *hk_request_header(const struct hk_request *req, const char *name) {
  const char *value = NULL;

  for (size_t i = 0; i < req->nheaders; i++) {
    if (req->headers[i].name != NULL && ieq(req->headers[i].name, name)) {
      value = req->headers[i].value;
      break;
    }
  }
  return value;
}

/* An RFC 9110 token character. */
static int is_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

/*
 * 1 when the media type is application/json or application/<x>+json (any
 * case), with or without parameters such as "; charset=utf-8", else 0.
 */
static int is_json_media(const char *ct) {
  static const char app[] = "application/";
  const char *sub;
  size_t n = 0;

  ct += strspn(ct, " \t");
  if (!ieqn(ct, app, sizeof app - 1)) {
    return 0;
  }
  sub = ct + sizeof app - 1;
  while (is_tchar(sub[n])) {
    n++;
  }
  ct = sub + n + strspn(sub + n, " \t");
  if (*ct != '\0' && *ct != ';') {
    return 0;
  }
  return (n == 4 && ieqn(sub, "json", 4)) ||
         (n > 5 && ieqn(sub + n - 5, "+json", 5));
}

/* 1 when s is valid UTF-8 (what a JSON string may hold), else 0. */
static int is_utf8(const char *s) {
  json_t *j = json_string(s);
  int ok = j != NULL;

  json_decref(j);
  return ok;
}

/*
 * The JSON object of the kept headers that the request carries, as a new
 * compact string (caller frees). Returns HK_E_OK, or HK_E_BAD_REQUEST with
 * err set when a value is not UTF-8.
 */
static enum hk_err kept_headers(const struct hk_request *req,
                                const struct hk_scheme *scheme, char **out,
                                struct hk_error *err) {
  json_t *obj = json_object();
  enum hk_err rc = HK_E_OK;

  *out = NULL;
  for (size_t i = 0; scheme->keep_headers[i] != NULL; i++) {
    const char *name = scheme->keep_headers[i];
    const char *value = hk_request_header(req, name);
    if (value == NULL) {
      continue;
    }
    if (!is_utf8(value)) {
      rc = hk_fail(err, HK_E_BAD_REQUEST, "The %s header is not valid UTF-8.",
                   name);
      break;
    }
    json_object_set_new(obj, name, json_string(value));
  }
  if (rc == HK_E_OK) {
    *out = json_dumps(obj, JSON_COMPACT);
    if (*out == NULL) {
      abort(); /* out of memory (STYLE.md: nothing is acknowledged yet) */
    }
  }
  json_decref(obj);
  return rc;
}

void hk_delivery_fini(struct hk_delivery *d) {
  if (d == NULL) {
    return;
  }
  free(d->delivery_id);
  free(d->headers);
  memset(d, 0, sizeof *d);
}

enum hk_err hk_intake_decide(const struct hk_request *req,
                             const struct hk_source *src, int64_t now_ms,
                             struct hk_delivery *out, struct hk_error *err) {
  const struct hk_scheme *scheme;
  const char *id = NULL;
  json_t *doc = NULL;
  json_error_t jerr;
  int64_t signed_ms = 0;
  char *headers = NULL;
  enum hk_err rc;

  memset(out, 0, sizeof *out);
  if (req->content_type == NULL) {
    rc = hk_fail(err, HK_E_UNSUPPORTED_MEDIA,
                 "The request has no Content-Type; send application/json.");
    goto done;
  }
  if (!is_json_media(req->content_type)) {
    rc = hk_fail(err, HK_E_UNSUPPORTED_MEDIA,
                 "The Content-Type is not application/json (nor "
                 "application/<type>+json).");
    goto done;
  }
  rc = hk_verify(req, src, now_ms, &signed_ms, err);
  if (rc != HK_E_OK) {
    goto done;
  }
  scheme = hk_scheme_find(src->kind);
  if (scheme == NULL) { /* hk_verify refuses kinds without a scheme */
    rc = hk_fail(err, HK_E_INTERNAL, "The source kind has no scheme.");
    goto done;
  }
  /* Syntax only: integers beyond 64 bits and \u0000 are valid JSON, so
   * they must not earn a 400 that the sender would retry forever. */
  doc = json_loadb(req->body != NULL ? req->body : "", req->body_len,
                   JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, &jerr);
  if (doc == NULL) {
    /* jerr.text may quote the body: only the position is given. */
    rc = hk_fail(err, HK_E_BAD_JSON,
                 "The body is not valid JSON (line %d, column %d).", jerr.line,
                 jerr.column);
    goto done;
  }
  rc = scheme->check_body(doc, err);
  if (rc != HK_E_OK) {
    goto done;
  }
  if (scheme->id_header != NULL) {
    id = hk_request_header(req, scheme->id_header);
    if (id != NULL && !is_utf8(id)) {
      rc = hk_fail(err, HK_E_BAD_REQUEST, "The %s header is not valid UTF-8.",
                   scheme->id_header);
      goto done;
    }
  }
  if (id == NULL && scheme->body_id != NULL) {
    /* A string of the parsed body: valid UTF-8, borrowed from doc. */
    id = json_string_value(json_object_get(doc, scheme->body_id));
  }
  rc = kept_headers(req, scheme, &headers, err);
  if (rc != HK_E_OK) {
    goto done;
  }
  out->source = src->name;
  out->kind = src->kind_name;
  out->delivery_id = hk_xstrdup(id != NULL ? id : "");
  out->received_ms = now_ms;
  out->signed_ms = signed_ms;
  out->headers = headers;
  out->body = req->body;
  out->body_len = req->body_len;
  headers = NULL;
done:
  free(headers);
  json_decref(doc);
  return rc;
}
