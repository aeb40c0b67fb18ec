/*
 * fuzz.c -- the fixed config and the input decoding of fuzz.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"

/* The secrets are those of tests/fixtures (see the NOTES.md there), so
 * that the seeds of tests/fuzz/seeds verify and the fuzzer starts past the
 * signature checks, in the body checks. */
static const struct {
  const char *env;
  const char *value;
} secrets[] = {
    {"FZ_DEMO_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
    {"FZ_STRIPE_SECRET", "whsec_test_5f3e7c1a9b2d4e6f8a0c1e3b5d7f9a1c"},
    {"FZ_HUBSPOT_SECRET", "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"},
    {"FZ_PADDLE_SECRET",
     "pdl_ntfset_01hv8x0bk0gq2wd3p2r6k5z4wq_Zb8kX1q2W3e4R5t6Y7u8I9o0P"},
    {"FZ_TOOL_SECRET", "It's a Secret to Everybody"},
    {"FZ_BASIC_SECRET", "ana:s3cret"},
    {"FZ_TOKEN_SECRET", "fuzz-token-0123456789"},
    {"FZ_API_TOKEN", "api-token-0123456789"},
};

static const char sources_text[] =
    "{\"sources\": {"
    " \"demo\": {\"kind\": \"standard-webhooks\","
    "  \"secret\": {\"env\": \"FZ_DEMO_SECRET\"}},"
    " \"stripe\": {\"kind\": \"stripe\","
    "  \"secret\": {\"env\": \"FZ_STRIPE_SECRET\"}, \"presets\": [\"stripe\"]},"
    " \"hubspot\": {\"kind\": \"hubspot\","
    "  \"secret\": {\"env\": \"FZ_HUBSPOT_SECRET\"},"
    "  \"public_url\": \"https://hooks.example.com/hooks/hubspot\","
    "  \"signature_versions\": [\"v1\", \"v2\", \"v3\"],"
    "  \"presets\": [\"hubspot\"]},"
    " \"paddle\": {\"kind\": \"paddle\","
    "  \"secret\": {\"env\": \"FZ_PADDLE_SECRET\"}, \"presets\": [\"paddle\"]},"
    " \"tool\": {\"kind\": \"hmac\", \"secret\": {\"env\": \"FZ_TOOL_SECRET\"},"
    "  \"header\": \"X-Hub-Signature-256\", \"prefix\": \"sha256=\"},"
    " \"pipedrive\": {\"kind\": \"basic\","
    "  \"secret\": {\"env\": \"FZ_BASIC_SECRET\"}, \"presets\": "
    "[\"pipedrive\"]},"
    " \"chargebee\": {\"kind\": \"basic\","
    "  \"secret\": {\"env\": \"FZ_BASIC_SECRET\"}, \"presets\": "
    "[\"chargebee\"]},"
    " \"crm\": {\"kind\": \"token\", \"secret\": {\"env\": "
    "\"FZ_TOKEN_SECRET\"},"
    "  \"header\": \"X-Api-Key\", \"prefix\": \"Bearer \"}},"
    " \"api\": {\"tokens\": [{\"name\": \"fuzz\", \"env\": "
    "\"FZ_API_TOKEN\"}]}}";

/* The order of the selector byte. */
static const char *const source_names[FZ_NSOURCES] = {
    "demo", "stripe",    "hubspot",   "paddle",
    "tool", "pipedrive", "chargebee", "crm"};

static struct hk_config *config;

/* The sources above with the rules of config/examples/saas.json, which
 * name demo, hubspot and stripe too: real rules for the mapper. */
static char *config_text(void) {
  json_error_t jerr;
  json_t *doc = json_loads(sources_text, 0, &jerr);
  json_t *saas =
      json_load_file(HK_SOURCE_DIR "/config/examples/saas.json", 0, &jerr);
  char *text;

  if (doc == NULL || saas == NULL) {
    fprintf(stderr, "fuzz: config text: %s\n", jerr.text);
    abort();
  }
  json_object_set(doc, "events", json_object_get(saas, "events"));
  text = json_dumps(doc, JSON_COMPACT);
  json_decref(saas);
  json_decref(doc);
  return text;
}

const struct hk_config *fz_config(void) {
  if (config == NULL) {
    struct hk_config_diag diag;
    char *text;
    enum hk_err rc;

    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
      setenv(secrets[i].env, secrets[i].value, 1);
    }
    text = config_text();
    rc = hk_config_parse(text, strlen(text), "fuzz.json", 0, &config, &diag);
    if (rc != HK_E_OK) {
      fprintf(stderr, "fuzz: the fixed config does not load: %s\n",
              diag.n > 0 ? diag.lines[0] : "?");
      abort();
    }
    hk_config_diag_fini(&diag);
    free(text);
  }
  return config;
}

const struct hk_source *fz_source(uint8_t selector) {
  const struct hk_source *src =
      hk_config_source(fz_config(), source_names[selector % FZ_NSOURCES]);
  if (src == NULL) {
    abort();
  }
  return src;
}

char *fz_strndup(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (s == NULL) {
    abort();
  }
  if (size > 0) {
    memcpy(s, data, size);
  }
  s[size] = '\0';
  return s;
}

/* Trims spaces and tabs at both ends of s in place; returns the start. */
static char *trim(char *s) {
  size_t n = strlen(s);
  while (*s == ' ' || *s == '\t') {
    s++;
    n--;
  }
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) {
    s[--n] = '\0';
  }
  return s;
}

void fz_request_init(struct fz_request *r, const uint8_t *data, size_t size) {
  char *p;
  char *end;
  char *sep;

  memset(r, 0, sizeof *r);
  r->src = fz_source(size > 0 ? data[0] : 0);
  if (size > 0) {
    data++;
    size--;
  }
  r->text = fz_strndup(data, size);
  end = r->text + size;
  r->req.method = "POST";
  r->req.path = "/hooks/fuzz";
  r->req.query = "";
  r->req.headers = r->headers;
  /* The body may hold NULs: look for the separator with memmem's
   * equivalent over the whole copy, not strstr. */
  sep = NULL;
  for (char *q = r->text; q + 1 < end; q++) {
    if (q[0] == '\n' && q[1] == '\n') {
      sep = q;
      break;
    }
  }
  if (sep == NULL) {
    r->req.body = end;
    r->req.body_len = 0;
    sep = end;
  } else {
    *sep = '\0';
    r->req.body = sep + 2;
    r->req.body_len = (size_t)(end - (sep + 2));
  }
  p = r->text;
  while (p < sep) {
    char *nl = memchr(p, '\n', (size_t)(sep - p));
    char *colon;
    if (nl != NULL) {
      *nl = '\0';
    }
    if (p[0] == '?') {
      r->req.query = p + 1;
    } else if ((colon = strchr(p, ':')) != NULL) {
      *colon = '\0';
      if (strcmp(p, "content-type") == 0) {
        r->req.content_type = trim(colon + 1);
      } else if (r->req.nheaders < FZ_MAX_HEADERS) {
        r->headers[r->req.nheaders].name = p;
        r->headers[r->req.nheaders].value = trim(colon + 1);
        r->req.nheaders++;
      }
    }
    p = nl == NULL ? sep : nl + 1;
  }
}

void fz_request_fini(struct fz_request *r) {
  free(r->text);
  memset(r, 0, sizeof *r);
}
