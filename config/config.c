/*
 * config.c -- loading the configuration: read the file (capped), parse it
 * with jansson, check it against the schema (schema.c, walk.c), then decode
 * the sections the C code uses and read the secrets the file names.
 *
 * Secrets are read only once the shape of the whole file is valid, so a
 * file with structural errors reports those first. Messages about secrets
 * name the environment variable or the file, never the value.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config_internal.h"

/* ---------------------------------------------------------------------------
 * Reading files with a cap
 * ------------------------------------------------------------------------- */

/*
 * Reads the whole file at path into a new NUL-terminated buffer (caller
 * frees) and sets *len. Returns 0, -1 with errno set when it cannot be read,
 * or -2 when it is over max bytes.
 */
static int read_capped(const char *path, size_t max, char **out, size_t *len) {
  struct hk_buf b;
  char chunk[4096];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  int rc = 0;
  hk_buf_init(&b, max);
  if (fd < 0) {
    return -1;
  }
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      rc = -1;
      break;
    }
    if (n == 0) {
      break;
    }
    if (hk_buf_add(&b, chunk, (size_t)n) != HK_E_OK) {
      rc = -2;
      break;
    }
  }
  if (rc == -1) {
    int e = errno;
    close(fd);
    hk_buf_fini(&b);
    errno = e;
    return -1;
  }
  close(fd);
  if (rc == 0) {
    *out = hk_buf_take(&b, len);
  }
  hk_buf_fini(&b);
  return rc;
}

/* ---------------------------------------------------------------------------
 * Secrets
 * ------------------------------------------------------------------------- */

/* Overwrites and frees the bytes of s; s may be empty. */
static void secret_clear(struct hk_secret *s) {
  if (s->bytes != NULL) {
    volatile unsigned char *p = s->bytes;
    size_t i;
    for (i = 0; i < s->len; i++) {
      p[i] = 0;
    }
    free(s->bytes);
  }
  s->bytes = NULL;
  s->len = 0;
}

/* "environment variable NAME" or "file /path", for messages. */
static const char *ref_where(json_t *ref, char *buf, size_t cap) {
  const char *env = json_string_value(json_object_get(ref, "env"));
  if (env != NULL) {
    (void)snprintf(buf, cap, "environment variable %s", env);
  } else {
    (void)snprintf(buf, cap, "file %s",
                   json_string_value(json_object_get(ref, "file")));
  }
  return buf;
}

/*
 * Reads the secret that ref names into *out (NUL-terminated; free with
 * secret_clear). Returns 1 when read; 0 when not read (NO_SECRETS, or an
 * optional reference that is unset), *out empty; -1 after reporting a
 * problem at the walk's path, *out empty.
 */
static int read_secret(struct walk *w, json_t *ref, unsigned flags,
                       struct hk_secret *out) {
  const char *env = json_string_value(json_object_get(ref, "env"));
  const char *file = json_string_value(json_object_get(ref, "file"));
  int optional = json_is_true(json_object_get(ref, "optional"));
  char *text = NULL;
  size_t len = 0;
  out->bytes = NULL;
  out->len = 0;
  if (flags & HK_CONFIG_NO_SECRETS) {
    return 0;
  }
  if (env != NULL) {
    const char *v = getenv(env);
    if (v == NULL || v[0] == '\0') {
      if (optional) {
        return 0;
      }
      hk_config_errf(w, "environment variable %s is %s", env,
                     v == NULL ? "not set" : "empty");
      return -1;
    }
    len = strlen(v);
    if (len > HK_CAP_SECRET) {
      hk_config_errf(w, "environment variable %s is over %u bytes", env,
                     HK_CAP_SECRET);
      return -1;
    }
    text = hk_xstrndup(v, len);
  } else {
    int rc = read_capped(file, HK_CAP_SECRET + 1, &text, &len);
    if (rc == -1 && errno == ENOENT && optional) {
      return 0;
    }
    if (rc == -1) {
      hk_config_errf(w, "cannot read %s: %s", file, strerror(errno));
      return -1;
    }
    if (len > 0 && text[len - 1] == '\n') {
      text[--len] = '\0';
    }
    if (rc == -2 || len > HK_CAP_SECRET) {
      struct hk_secret tmp = {(unsigned char *)text, len};
      secret_clear(&tmp);
      hk_config_errf(w, "file %s is over %u bytes", file, HK_CAP_SECRET);
      return -1;
    }
    if (len == 0) {
      free(text);
      hk_config_errf(w, "file %s is empty", file);
      return -1;
    }
  }
  out->bytes = (unsigned char *)text;
  out->len = len;
  if (strlen(text) != len) {
    char where[300];
    secret_clear(out);
    hk_config_errf(w, "the secret in %s holds a NUL byte",
                   ref_where(ref, where, sizeof where));
    return -1;
  }
  return 1;
}

/* A secret read as text (password, token, URL): moves it out as a string,
 * or NULL when not read. */
static char *secret_text(struct hk_secret *s) {
  char *t = (char *)s->bytes;
  s->bytes = NULL;
  s->len = 0;
  return t;
}

/* ---------------------------------------------------------------------------
 * Decoding the sections the C code uses
 * ------------------------------------------------------------------------- */

static char *str_dup(json_t *obj, const char *key) {
  const char *s = json_string_value(json_object_get(obj, key));
  return s != NULL ? hk_xstrdup(s) : NULL;
}

/* A duration the schema has checked (and defaulted). */
static int64_t duration(json_t *obj, const char *key) {
  int64_t ms = 0;
  const char *s = json_string_value(json_object_get(obj, key));
  if (s == NULL || !hk_config_duration(s, 0, &ms)) {
    abort(); /* the schema guarantees it: a programmer error */
  }
  return ms;
}

/* Splits "host:port" or "[v6]:port" (checked by the schema). */
static void split_node(const char *s, char **host, int *port) {
  const char *colon = strrchr(s, ':');
  size_t hlen = (size_t)(colon - s);
  if (s[0] == '[') {
    *host = hk_xstrndup(s + 1, hlen - 2);
  } else {
    *host = hk_xstrndup(s, hlen);
  }
  *port = atoi(colon + 1);
}

/* $.redis.sentinel, and the WAIT that goes with it. */
static void decode_sentinel(struct walk *w, struct hk_config *cfg, json_t *r,
                            unsigned flags) {
  json_t *sn = json_object_get(r, "sentinel");
  json_t *acked = json_object_get(r, "min_replicas_acked");
  cfg->redis.wait_timeout_ms = duration(r, "wait_timeout");
  cfg->redis.min_replicas_acked =
      acked != NULL ? (int)json_integer_value(acked) : (sn != NULL ? 1 : 0);
  if (sn != NULL) {
    json_t *nodes = json_object_get(sn, "nodes");
    json_t *pw = json_object_get(sn, "password");
    size_t n = json_array_size(nodes);
    size_t mark = hk_config_path_key(w, "sentinel");
    cfg->redis.sentinel_master = str_dup(sn, "master");
    cfg->redis.sentinel_hosts = hk_xcalloc(n, sizeof(char *));
    cfg->redis.sentinel_ports = hk_xcalloc(n, sizeof(int));
    cfg->redis.nsentinels = n;
    for (size_t i = 0; i < n; i++) {
      split_node(json_string_value(json_array_get(nodes, i)),
                 &cfg->redis.sentinel_hosts[i], &cfg->redis.sentinel_ports[i]);
    }
    if (pw != NULL) {
      struct hk_secret s;
      size_t m2 = hk_config_path_key(w, "password");
      unsigned f = (flags & HK_CONFIG_REDIS_SECRET) != 0
                       ? flags & ~(unsigned)HK_CONFIG_NO_SECRETS
                       : flags;
      if (read_secret(w, pw, f, &s) == 1) {
        cfg->redis.sentinel_password = secret_text(&s);
      }
      hk_config_path_pop(w, m2);
    }
    hk_config_path_pop(w, mark);
  }
}

/* Forgets the sentinels (an explicit --redis address replaces them). */
static void sentinel_free(struct hk_redis_conf *r) {
  for (size_t i = 0; i < r->nsentinels; i++) {
    free(r->sentinel_hosts[i]);
  }
  free(r->sentinel_hosts);
  free(r->sentinel_ports);
  free(r->sentinel_master);
  if (r->sentinel_password != NULL) {
    struct hk_secret s;
    s.bytes = (unsigned char *)r->sentinel_password;
    s.len = strlen(r->sentinel_password);
    secret_clear(&s);
  }
  r->sentinel_hosts = NULL;
  r->sentinel_ports = NULL;
  r->sentinel_master = NULL;
  r->sentinel_password = NULL;
  r->nsentinels = 0;
}

static void decode_redis(struct walk *w, struct hk_config *cfg,
                         unsigned flags) {
  json_t *r = json_object_get(cfg->doc, "redis");
  json_t *pw = json_object_get(r, "password");
  size_t mark = hk_config_path_key(w, "redis");
  cfg->redis.unix_path = str_dup(r, "unix");
  cfg->redis.host = cfg->redis.unix_path != NULL ? NULL : str_dup(r, "host");
  if (cfg->redis.unix_path == NULL && cfg->redis.host == NULL) {
    cfg->redis.host = hk_xstrdup("127.0.0.1");
  }
  cfg->redis.port = (int)json_integer_value(json_object_get(r, "port"));
  cfg->redis.db = (int)json_integer_value(json_object_get(r, "db"));
  cfg->redis.prefix = str_dup(r, "prefix");
  cfg->redis.connect_timeout_ms = duration(r, "connect_timeout");
  cfg->redis.timeout_ms = duration(r, "timeout");
  decode_sentinel(w, cfg, r, flags);
  cfg->redis.memory_guard =
      json_number_value(json_object_get(r, "memory_guard"));
  if (pw != NULL) {
    struct hk_secret s;
    size_t m2 = hk_config_path_key(w, "password");
    /* Tools that only talk to Redis skip every secret but this one. */
    unsigned f = (flags & HK_CONFIG_REDIS_SECRET) != 0
                     ? flags & ~(unsigned)HK_CONFIG_NO_SECRETS
                     : flags;
    if (read_secret(w, pw, f, &s) == 1) {
      cfg->redis.password = secret_text(&s);
    }
    hk_config_path_pop(w, m2);
  }
  hk_config_path_pop(w, mark);
}

static void decode_intake(struct hk_config *cfg) {
  json_t *in = json_object_get(cfg->doc, "intake");
  cfg->max_body =
      (size_t)json_integer_value(json_object_get(in, "max_body_bytes"));
  /* Retry-After is in whole seconds: round up. */
  cfg->retry_after_s = (duration(in, "retry_after") + 999) / 1000;
  cfg->stall_amber_ms = duration(in, "stall_amber");
  cfg->stall_red_ms = duration(in, "stall_red");
}

/* Checks the text of a secret the scheme gives a form to. */
static void check_secret_form(struct walk *w, json_t *ref,
                              enum hk_source_kind kind,
                              const struct hk_secret *s) {
  char where[300];
  if (s->bytes == NULL) {
    return;
  }
  if (kind == HK_SOURCE_STANDARD_WEBHOOKS &&
      !hk_config_is_whsec((const char *)s->bytes, s->len)) {
    hk_config_errf(w, "the secret in %s is not \"whsec_\" followed by base64",
                   ref_where(ref, where, sizeof where));
  } else if (kind == HK_SOURCE_BASIC && memchr(s->bytes, ':', s->len) == NULL) {
    hk_config_errf(w, "the secret in %s is not of the form user:password",
                   ref_where(ref, where, sizeof where));
  }
}

/*
 * Fills src from the source object s. Returns 0 when the source is
 * disabled (every secret optional and unset): src is then empty.
 */
static int decode_source(struct walk *w, struct hk_source *src,
                         const char *name, json_t *s, unsigned flags) {
  const char *kind = json_string_value(json_object_get(s, "kind"));
  json_t *secret = json_object_get(s, "secret");
  size_t n = json_is_array(secret) ? json_array_size(secret) : 1;
  size_t i;
  size_t mark;
  for (i = 0; strcmp(hk_config_kind_names[i], kind) != 0; i++) {
  }
  src->kind = (enum hk_source_kind)i;
  src->kind_name = hk_config_kind_names[i];
  src->tolerance_ms = duration(s, "tolerance");
  src->conf = s;
  src->secrets = hk_xcalloc(n, sizeof *src->secrets);
  mark = hk_config_path_key(w, "secret");
  for (i = 0; i < n; i++) {
    json_t *ref = json_is_array(secret) ? json_array_get(secret, i) : secret;
    size_t m2 = json_is_array(secret) ? hk_config_path_index(w, i) : w->plen;
    struct hk_secret *sec = &src->secrets[src->nsecrets];
    int rc = read_secret(w, ref, flags, sec);
    if (rc == 1) {
      check_secret_form(w, ref, src->kind, sec);
    }
    /* Unread because of NO_SECRETS, a secret still counts (empty). */
    if (rc == 1 || (flags & HK_CONFIG_NO_SECRETS)) {
      src->nsecrets++;
    }
    hk_config_path_pop(w, m2);
  }
  hk_config_path_pop(w, mark);
  if (src->nsecrets == 0) {
    free(src->secrets);
    memset(src, 0, sizeof *src);
    return 0;
  }
  src->name = hk_xstrdup(name);
  return 1;
}

static void decode_sources(struct walk *w, struct hk_config *cfg,
                           unsigned flags) {
  json_t *sources = json_object_get(cfg->doc, "sources");
  const char *name;
  json_t *s;
  size_t mark = hk_config_path_key(w, "sources");
  cfg->sources = hk_xcalloc(json_object_size(sources), sizeof *cfg->sources);
  json_object_foreach(sources, name, s) {
    size_t m2 = hk_config_path_key(w, name);
    cfg->nsources +=
        (size_t)decode_source(w, &cfg->sources[cfg->nsources], name, s, flags);
    hk_config_path_pop(w, m2);
  }
  hk_config_path_pop(w, mark);
}

static void decode_tokens(struct walk *w, struct hk_config *cfg,
                          unsigned flags) {
  json_t *tokens = json_object_get(json_object_get(cfg->doc, "api"), "tokens");
  json_t *t;
  size_t i;
  size_t mark = hk_config_path_key(w, "api");
  hk_config_path_key(w, "tokens");
  cfg->tokens = hk_xcalloc(json_array_size(tokens), sizeof *cfg->tokens);
  json_array_foreach(tokens, i, t) {
    struct hk_api_token *tok = &cfg->tokens[cfg->ntokens++];
    struct hk_secret s;
    size_t m2 = hk_config_path_index(w, i);
    tok->name = str_dup(t, "name");
    if (read_secret(w, t, flags, &s) == 1) {
      tok->value = secret_text(&s);
    }
    hk_config_path_pop(w, m2);
  }
  hk_config_path_pop(w, mark);
}

static void decode_notifier(struct walk *w, struct hk_notifier *n,
                            const char *name, json_t *o, unsigned flags) {
  json_t *url = json_object_get(o, "url");
  json_t *secret = json_object_get(o, "secret");
  char where[300];
  int url_ok = 1;
  n->name = hk_xstrdup(name);
  n->kind_name =
      strcmp(json_string_value(json_object_get(o, "kind")), "slack") == 0
          ? "slack"
          : "webhook";
  n->kind = n->kind_name[0] == 's' ? HK_NOTIFIER_SLACK : HK_NOTIFIER_WEBHOOK;
  n->retries = (int)json_integer_value(json_object_get(o, "retries"));
  n->backoff_ms = duration(o, "backoff");
  n->timeout_ms = duration(o, "timeout");
  if (json_is_string(url)) {
    n->url = hk_xstrdup(json_string_value(url));
  } else {
    struct hk_secret s;
    size_t mark = hk_config_path_key(w, "url");
    int rc = read_secret(w, url, flags, &s);
    if (rc == 1 && strncmp((const char *)s.bytes, "https://", 8) != 0 &&
        strncmp((const char *)s.bytes, "http://", 7) != 0) {
      hk_config_errf(w, "the URL in %s is not an http:// or https:// URL",
                     ref_where(url, where, sizeof where));
      secret_clear(&s);
    }
    n->url = secret_text(&s);
    url_ok = rc == 1;
    hk_config_path_pop(w, mark);
  }
  if (secret != NULL) {
    size_t mark = hk_config_path_key(w, "secret");
    if (read_secret(w, secret, flags, &n->secret) == 1 &&
        !hk_config_is_whsec((const char *)n->secret.bytes, n->secret.len)) {
      hk_config_errf(w, "the secret in %s is not \"whsec_\" followed by base64",
                     ref_where(secret, where, sizeof where));
    }
    hk_config_path_pop(w, mark);
    /* A webhook without its signing secret is disabled, not unsigned. */
    if (url_ok && n->secret.bytes == NULL) {
      free(n->url);
      n->url = NULL;
    }
  }
}

static void decode_notifiers(struct walk *w, struct hk_config *cfg,
                             unsigned flags) {
  json_t *all = json_object_get(cfg->doc, "notifiers");
  const char *name;
  json_t *o;
  size_t mark = hk_config_path_key(w, "notifiers");
  cfg->notifiers = hk_xcalloc(json_object_size(all), sizeof *cfg->notifiers);
  json_object_foreach(all, name, o) {
    size_t m2 = hk_config_path_key(w, name);
    decode_notifier(w, &cfg->notifiers[cfg->nnotifiers++], name, o, flags);
    hk_config_path_pop(w, m2);
  }
  hk_config_path_pop(w, mark);
}

/* ---------------------------------------------------------------------------
 * The door
 * ------------------------------------------------------------------------- */

enum hk_err hk_config_parse(const char *text, size_t len, const char *name,
                            unsigned flags, struct hk_config **out,
                            struct hk_config_diag *diag) {
  struct walk w;
  json_error_t jerr;
  json_t *root;
  struct hk_config *cfg;
  *out = NULL;
  diag->lines = NULL;
  diag->n = 0;
  if (len > (size_t)HK_CAP_CONFIG_FILE) {
    hk_config_diag_addf(diag, "%s: the file is over %u bytes", name,
                        HK_CAP_CONFIG_FILE);
    return HK_E_CONFIG;
  }
  root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL) {
    hk_config_diag_addf(diag, "%s:%d:%d: %s", name, jerr.line, jerr.column,
                        jerr.text);
    return HK_E_CONFIG;
  }
  memset(&w, 0, sizeof w);
  w.file = name;
  w.diag = diag;
  w.root = root;
  memcpy(w.path, "$", 2);
  w.plen = 1;
  hk_config_walk(&w, root, &hk_config_schema);
  if (diag->n > 0) {
    json_decref(root);
    return HK_E_CONFIG;
  }
  cfg = hk_xcalloc(1, sizeof *cfg);
  cfg->path = hk_xstrdup(name);
  cfg->doc = root;
  decode_redis(&w, cfg, flags);
  decode_intake(cfg);
  decode_sources(&w, cfg, flags);
  decode_tokens(&w, cfg, flags);
  decode_notifiers(&w, cfg, flags);
  if (diag->n > 0) {
    hk_config_free(cfg);
    return HK_E_CONFIG;
  }
  *out = cfg;
  return HK_E_OK;
}

enum hk_err hk_config_load(const char *path, unsigned flags,
                           struct hk_config **out,
                           struct hk_config_diag *diag) {
  char *text = NULL;
  size_t len = 0;
  enum hk_err rc;
  int r = read_capped(path, (size_t)HK_CAP_CONFIG_FILE, &text, &len);
  *out = NULL;
  diag->lines = NULL;
  diag->n = 0;
  if (r == -1) {
    hk_config_diag_addf(diag, "%s: cannot read: %s", path, strerror(errno));
    return HK_E_IO;
  }
  if (r == -2) {
    hk_config_diag_addf(diag, "%s: the file is over %u bytes", path,
                        HK_CAP_CONFIG_FILE);
    return HK_E_CONFIG;
  }
  rc = hk_config_parse(text, len, path, flags, out, diag);
  free(text);
  return rc;
}

void hk_config_free(struct hk_config *cfg) {
  size_t i;
  size_t j;
  struct hk_secret s;
  if (cfg == NULL) {
    return;
  }
  for (i = 0; i < cfg->nsources; i++) {
    for (j = 0; j < cfg->sources[i].nsecrets; j++) {
      secret_clear(&cfg->sources[i].secrets[j]);
    }
    free(cfg->sources[i].secrets);
    free(cfg->sources[i].name);
  }
  free(cfg->sources);
  for (i = 0; i < cfg->ntokens; i++) {
    s.bytes = (unsigned char *)cfg->tokens[i].value;
    s.len = s.bytes != NULL ? strlen(cfg->tokens[i].value) : 0;
    secret_clear(&s);
    free(cfg->tokens[i].name);
  }
  free(cfg->tokens);
  for (i = 0; i < cfg->nnotifiers; i++) {
    s.bytes = (unsigned char *)cfg->notifiers[i].url;
    s.len = s.bytes != NULL ? strlen(cfg->notifiers[i].url) : 0;
    secret_clear(&s);
    secret_clear(&cfg->notifiers[i].secret);
    free(cfg->notifiers[i].name);
  }
  free(cfg->notifiers);
  s.bytes = (unsigned char *)cfg->redis.password;
  s.len = s.bytes != NULL ? strlen(cfg->redis.password) : 0;
  secret_clear(&s);
  free(cfg->redis.host);
  free(cfg->redis.unix_path);
  free(cfg->redis.prefix);
  sentinel_free(&cfg->redis);
  json_decref(cfg->doc);
  free(cfg->path);
  free(cfg);
}

void hk_config_diag_fini(struct hk_config_diag *diag) {
  size_t i;
  if (diag == NULL) {
    return;
  }
  for (i = 0; i < diag->n; i++) {
    free(diag->lines[i]);
  }
  free(diag->lines);
  diag->lines = NULL;
  diag->n = 0;
}

const struct hk_source *hk_config_source(const struct hk_config *cfg,
                                         const char *name) {
  size_t i;
  for (i = 0; i < cfg->nsources; i++) {
    if (strcmp(cfg->sources[i].name, name) == 0) {
      return &cfg->sources[i];
    }
  }
  return NULL;
}

const struct hk_notifier *hk_config_notifier(const struct hk_config *cfg,
                                             const char *name) {
  size_t i;
  for (i = 0; i < cfg->nnotifiers; i++) {
    if (strcmp(cfg->notifiers[i].name, name) == 0) {
      return &cfg->notifiers[i];
    }
  }
  return NULL;
}

/* A port 1-65535 written in decimal digits only; -1 otherwise. */
static int parse_port(const char *s) {
  long v = 0;
  if (*s == '\0' || strlen(s) > 5) {
    return -1;
  }
  for (; *s != '\0'; s++) {
    if (*s < '0' || *s > '9') {
      return -1;
    }
    v = v * 10 + (*s - '0');
  }
  return v >= 1 && v <= 65535 ? (int)v : -1;
}

/* An explicit address replaces the sentinels; the replicas the primary
 * waits for stay only when the config asked for them by name. */
static void forget_sentinels(struct hk_config *cfg) {
  json_t *r = json_object_get(cfg->doc, "redis");
  if (cfg->redis.sentinel_master != NULL &&
      json_object_get(r, "min_replicas_acked") == NULL) {
    cfg->redis.min_replicas_acked = 0;
  }
  sentinel_free(&cfg->redis);
}

enum hk_err hk_config_set_redis(struct hk_config *cfg, const char *addr,
                                struct hk_error *err) {
  const char *host = addr;
  size_t hlen;
  const char *port = NULL;
  int p = 6379;
  if (strncmp(addr, "unix:", 5) == 0) {
    if (addr[5] != '/') {
      return hk_fail(err, HK_E_USAGE,
                     "--redis: unix: needs an absolute socket path");
    }
    forget_sentinels(cfg);
    free(cfg->redis.host);
    free(cfg->redis.unix_path);
    cfg->redis.host = NULL;
    cfg->redis.unix_path = hk_xstrdup(addr + 5);
    return HK_E_OK;
  }
  if (addr[0] == '[') {
    const char *close = strchr(addr, ']');
    if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
      return hk_fail(err, HK_E_USAGE,
                     "--redis: expected [IPv6]:port, host:port or unix:/path");
    }
    host = addr + 1;
    hlen = (size_t)(close - host);
    port = close[1] == ':' ? close + 2 : NULL;
  } else {
    const char *colon = strchr(addr, ':');
    if (colon != NULL && strchr(colon + 1, ':') != NULL) {
      return hk_fail(err, HK_E_USAGE,
                     "--redis: write an IPv6 address in brackets: [::1]:6379");
    }
    hlen = colon != NULL ? (size_t)(colon - addr) : strlen(addr);
    port = colon != NULL ? colon + 1 : NULL;
  }
  if (hlen == 0 || strcspn(host, " \t\r\n/") < hlen) {
    return hk_fail(err, HK_E_USAGE, "--redis: the host is empty or malformed");
  }
  if (port != NULL && (p = parse_port(port)) < 0) {
    return hk_fail(err, HK_E_USAGE, "--redis: the port must be 1 to 65535");
  }
  forget_sentinels(cfg);
  free(cfg->redis.host);
  free(cfg->redis.unix_path);
  cfg->redis.unix_path = NULL;
  cfg->redis.host = hk_xstrndup(host, hlen);
  cfg->redis.port = p;
  return HK_E_OK;
}
