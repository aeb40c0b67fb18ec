/*
 * helpers.c -- the request fixture and assertions of helpers.h.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/webhooks/helpers.h"
#include "webhooks/verify.h"

void fx_secrets(struct fx *f, size_t n, const char *const *texts) {
  cr_assert(n <= 3);
  for (size_t i = 0; i < n; i++) {
    (void)snprintf(f->secret_text[i], sizeof f->secret_text[i], "%s", texts[i]);
    f->secrets[i].bytes = (unsigned char *)f->secret_text[i];
    f->secrets[i].len = strlen(f->secret_text[i]);
  }
  f->src.secrets = f->secrets;
  f->src.nsecrets = n;
}

void fx_init(struct fx *f, const char *body) {
  static const char *const one[] = {SECRET_A};

  memset(f, 0, sizeof *f);
  (void)snprintf(f->src_name, sizeof f->src_name, "demo");
  f->src.name = f->src_name;
  f->src.kind = HK_SOURCE_STANDARD_WEBHOOKS;
  f->src.kind_name = "standard-webhooks";
  f->src.tolerance_ms = TOLERANCE_MS;
  fx_secrets(f, 1, one);
  f->req.method = "POST";
  f->req.path = "/hooks/demo";
  f->req.query = "";
  f->req.content_type = "application/json";
  f->req.headers = f->headers;
  f->req.body = body;
  f->req.body_len = strlen(body);
  fx_header(f, "user-agent", "Svix-Webhooks/1.0");
  fx_sign(f, TEST_ID, NOW_S, SECRET_A);
}

void fx_header(struct fx *f, const char *name, const char *value) {
  size_t i = 0;

  while (i < f->req.nheaders && strcmp(f->names[i], name) != 0) {
    i++;
  }
  if (value == NULL) {
    if (i < f->req.nheaders) {
      for (size_t j = i + 1; j < f->req.nheaders; j++) {
        memcpy(f->names[j - 1], f->names[j], sizeof f->names[j]);
        memcpy(f->values[j - 1], f->values[j], sizeof f->values[j]);
      }
      f->req.nheaders--;
    }
  } else {
    cr_assert(i < MAX_HEADERS);
    cr_assert(strlen(value) < sizeof f->values[i]);
    (void)snprintf(f->names[i], sizeof f->names[i], "%s", name);
    (void)snprintf(f->values[i], sizeof f->values[i], "%s", value);
    if (i == f->req.nheaders) {
      f->req.nheaders++;
    }
  }
  for (size_t j = 0; j < f->req.nheaders; j++) {
    f->headers[j].name = f->names[j];
    f->headers[j].value = f->values[j];
  }
}

const char *fx_signature(const struct fx *f, const char *id, int64_t ts_s,
                         const char *secret) {
  static char out[128];
  char buf[128];
  struct hk_secret key;
  char *sig;

  fx_key(&key, buf, sizeof buf, secret);
  sig = hk_sign_standard(&key, id, ts_s, f->req.body, f->req.body_len);

  cr_assert_not_null(sig);
  (void)snprintf(out, sizeof out, "%s", sig);
  free(sig);
  return out;
}

void fx_key(struct hk_secret *key, char *buf, size_t cap, const char *text) {
  cr_assert(strlen(text) < cap);
  (void)snprintf(buf, cap, "%s", text);
  key->bytes = (unsigned char *)buf;
  key->len = strlen(buf);
}

void fx_sign(struct fx *f, const char *id, int64_t ts_s, const char *secret) {
  char ts[32];

  (void)snprintf(ts, sizeof ts, "%lld", (long long)ts_s);
  fx_header(f, "webhook-id", id);
  fx_header(f, "webhook-timestamp", ts);
  fx_header(f, "webhook-signature", fx_signature(f, id, ts_s, secret));
}

char *fx_read_fixture(const char *rel, size_t *len) {
  char path[1024];
  FILE *fp;
  char *data;
  long n;

  (void)snprintf(path, sizeof path, "%s/%s", HK_FIXTURES, rel);
  fp = fopen(path, "rb");
  cr_assert_not_null(fp, "cannot open %s", path);
  cr_assert_eq(fseek(fp, 0, SEEK_END), 0);
  n = ftell(fp);
  cr_assert(n >= 0);
  rewind(fp);
  data = malloc((size_t)n + 1);
  cr_assert_not_null(data);
  cr_assert_eq(fread(data, 1, (size_t)n, fp), (size_t)n);
  data[n] = '\0';
  (void)fclose(fp);
  *len = (size_t)n;
  return data;
}

void assert_fails(enum hk_err rc, const struct hk_error *err, enum hk_err e,
                  int status, const char *code) {
  cr_assert_eq(rc, e, "expected %s, got %s (%s)", hk_err_code(e),
               hk_err_code(rc), err->msg);
  cr_assert_eq(err->code, e);
  cr_assert_eq(hk_err_status(rc), status);
  cr_assert_str_eq(hk_err_code(rc), code);
  cr_assert_neq(err->msg[0], '\0', "a failure carries a message");
}

void fx_source(struct fx *f, enum hk_source_kind kind, const char *kind_name,
               const char *conf_json, const char *secret) {
  json_error_t jerr;

  f->src.kind = kind;
  f->src.kind_name = kind_name;
  f->conf = NULL;
  if (conf_json != NULL) {
    f->conf = json_loads(conf_json, 0, &jerr);
    cr_assert_not_null(f->conf, "conf: %s", jerr.text);
  }
  f->src.conf = f->conf;
  fx_secrets(f, 1, &secret);
  f->req.nheaders = 0;
}

void fx_fini(struct fx *f) {
  json_decref(f->conf);
  f->conf = NULL;
  f->src.conf = NULL;
}

void fx_body(struct fx *f, const char *body) {
  f->req.body = body;
  f->req.body_len = strlen(body);
}

enum hk_err fx_verify(struct fx *f, int64_t now_ms, int64_t *signed_ms,
                      struct hk_error *err) {
  return hk_verify(&f->req, &f->src, now_ms, signed_ms, err);
}

enum hk_err fx_check_body(enum hk_source_kind kind, const char *json,
                          struct hk_error *err) {
  const struct hk_scheme *scheme = hk_scheme_find(kind);
  json_error_t jerr;
  json_t *doc = json_loads(json, JSON_DECODE_ANY, &jerr);
  enum hk_err rc;

  cr_assert_not_null(scheme);
  cr_assert_not_null(doc, "%s: %s", json, jerr.text);
  rc = scheme->check_body(doc, err);
  json_decref(doc);
  return rc;
}
