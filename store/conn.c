/*
 * conn.c -- the connection to Redis under every verb of store/: hiredis
 * (0.14), connected on first use, dropped after any I/O error and made
 * again by the next call, so a Redis restart needs no restart of ours.
 * hiredis' blocking API is enough: one connection per thread, commands
 * with a read timeout so a hung Redis can't hang a request.
 *
 * Here are the one retry rule (hk_store_round), the one way to create a
 * consumer group, the pipelines and the one loader of the Lua scripts;
 * store_internal.h says what each promises.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "store/reply.h"
#include "store/store_internal.h"

static char *dup_or_null(const char *s) {
  return s != NULL ? hk_xstrdup(s) : NULL;
}

/* The sentinels of conf, copied into st. */
static void sentinels_copy(struct hk_store *st,
                           const struct hk_redis_conf *conf) {
  size_t n = conf->sentinel_master != NULL ? conf->nsentinels : 0;
  st->conf.sentinel_master = dup_or_null(conf->sentinel_master);
  st->conf.sentinel_password = dup_or_null(conf->sentinel_password);
  st->conf.nsentinels = n;
  st->conf.sentinel_hosts = n > 0 ? hk_xcalloc(n, sizeof(char *)) : NULL;
  st->conf.sentinel_ports = n > 0 ? hk_xcalloc(n, sizeof(int)) : NULL;
  for (size_t i = 0; i < n; i++) {
    st->conf.sentinel_hosts[i] = hk_xstrdup(conf->sentinel_hosts[i]);
    st->conf.sentinel_ports[i] = conf->sentinel_ports[i];
  }
}

static void sentinels_free(struct hk_store *st) {
  for (size_t i = 0; i < st->conf.nsentinels; i++) {
    free(st->conf.sentinel_hosts[i]);
  }
  free(st->conf.sentinel_hosts);
  free(st->conf.sentinel_ports);
  free(st->conf.sentinel_master);
  free(st->conf.sentinel_password);
}

struct hk_store *hk_store_new(const struct hk_redis_conf *conf) {
  struct hk_store *st = hk_xcalloc(1, sizeof *st);
  st->conf = *conf;
  st->conf.host = dup_or_null(conf->host);
  st->conf.unix_path = dup_or_null(conf->unix_path);
  st->conf.password = dup_or_null(conf->password);
  st->conf.prefix =
      hk_xstrdup(conf->prefix != NULL ? conf->prefix : "handoff:");
  sentinels_copy(st, conf);
  if (st->conf.sentinel_master != NULL) {
    st->where = hk_xprintf("the primary of \"%s\" (not asked yet)",
                           st->conf.sentinel_master);
  } else if (st->conf.unix_path != NULL) {
    st->where = hk_xprintf("unix:%s", st->conf.unix_path);
  } else {
    st->where = hk_xprintf("%s:%d", st->conf.host != NULL ? st->conf.host : "",
                           st->conf.port);
  }
  hk_keys_init(&st->keys, st->conf.prefix);
  return st;
}

void hk_store_drop(struct hk_store *st) {
  memset(st->sha, 0, sizeof st->sha);
  st->stale = 0;
  if (st->c != NULL) {
    redisFree(st->c);
    st->c = NULL;
  }
}

void hk_store_free(struct hk_store *st) {
  if (st == NULL) {
    return;
  }
  hk_store_drop(st);
  hk_keys_fini(&st->keys);
  free(st->where);
  free(st->conf.host);
  free(st->conf.unix_path);
  free(st->conf.password);
  free(st->conf.prefix);
  sentinels_free(st);
  free(st);
}

char *hk_store_key(const struct hk_store *st, const char *suffix) {
  return hk_xprintf("%s%s", st->conf.prefix, suffix);
}

enum hk_err hk_store_io_fail(struct hk_store *st, struct hk_error *err) {
  hk_fail(err, HK_E_UNAVAILABLE, "redis at %s: %s", st->where,
          st->c != NULL ? st->c->errstr : "not connected");
  hk_store_drop(st);
  return HK_E_UNAVAILABLE;
}

static struct timeval tv_of(int64_t ms) {
  struct timeval tv;
  tv.tv_sec = (time_t)(ms / 1000);
  tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
  return tv;
}

/* Runs one command on the open connection; returns the reply (caller
 * frees) or NULL with err set: the connection dropped on an I/O error, and
 * an error reply turned into NULL too unless keep_errors. */
static redisReply *run(struct hk_store *st, int argc, const char **argv,
                       const size_t *lens, int keep_errors,
                       struct hk_error *err) {
  redisReply *r = redisCommandArgv(st->c, argc, argv, lens);
  if (r == NULL) {
    hk_store_io_fail(st, err);
    return NULL;
  }
  hk_store_check_reply(st, r);
  if (r->type == REDIS_REPLY_ERROR && !keep_errors) {
    hk_fail(err, HK_E_UNAVAILABLE, "redis at %s answered: %.*s", st->where,
            (int)r->len, r->str);
    freeReplyObject(r);
    return NULL;
  }
  return r;
}

/* Runs a command of the connection's setup (AUTH, SELECT); drops the
 * connection when it fails. */
static enum hk_err setup(struct hk_store *st, int argc, const char **argv,
                         struct hk_error *err) {
  redisReply *r = run(st, argc, argv, NULL, 0, err);
  if (r == NULL) {
    hk_store_drop(st);
    return HK_E_UNAVAILABLE;
  }
  freeReplyObject(r);
  return HK_E_OK;
}

void hk_store_check_reply(struct hk_store *st, const redisReply *r) {
  if (r != NULL && r->type == REDIS_REPLY_ERROR &&
      (strncmp(r->str, "READONLY", 8) == 0 ||
       strncmp(r->str, "MASTERDOWN", 10) == 0)) {
    st->stale = 1;
  }
}

/* Opens a connection to host:port (or the unix socket when host is NULL)
 * with the configured timeouts, AUTH with password when not NULL. A read
 * waits for a WAIT's timeout besides the command timeout. */
static redisContext *open_to(const struct hk_store *st, const char *host,
                             int port, const char *password, const char *what,
                             struct hk_error *err) {
  int64_t rt_ms =
      (st->conf.timeout_ms > 0 ? st->conf.timeout_ms : 2000) +
      (st->conf.min_replicas_acked > 0 ? st->conf.wait_timeout_ms : 0);
  struct timeval ct = tv_of(
      st->conf.connect_timeout_ms > 0 ? st->conf.connect_timeout_ms : 500);
  redisContext *c = host != NULL
                        ? redisConnectWithTimeout(host, port, ct)
                        : redisConnectUnixWithTimeout(st->conf.unix_path, ct);
  if (c == NULL || c->err != 0) {
    hk_fail(err, HK_E_UNAVAILABLE, "cannot connect to %s: %s", what,
            c != NULL ? c->errstr : "out of memory");
  } else if (redisSetTimeout(c, tv_of(rt_ms)) != REDIS_OK) {
    hk_fail(err, HK_E_UNAVAILABLE, "cannot set the redis timeout");
  } else if (password != NULL) {
    /* The messages name the address, never the password. */
    redisReply *r = redisCommand(c, "AUTH %s", password);
    int ok = r != NULL && r->type != REDIS_REPLY_ERROR;
    if (!ok) {
      hk_fail(err, HK_E_UNAVAILABLE, "%s refused AUTH: %s", what,
              r != NULL ? r->str : c->errstr);
    }
    freeReplyObject(r);
    if (ok) {
      return c;
    }
  } else {
    return c;
  }
  if (c != NULL) {
    redisFree(c);
  }
  return NULL;
}

/* Asks sentinel i for the address of the primary (SENTINEL
 * get-master-addr-by-name): *host a new string. */
static enum hk_err ask_sentinel(struct hk_store *st, size_t i, char **host,
                                int *port, struct hk_error *err) {
  char what[320];
  redisContext *c;
  redisReply *r;
  enum hk_err rc = HK_E_UNAVAILABLE;
  snprintf(what, sizeof what, "sentinel %s:%d", st->conf.sentinel_hosts[i],
           st->conf.sentinel_ports[i]);
  c = open_to(st, st->conf.sentinel_hosts[i], st->conf.sentinel_ports[i],
              st->conf.sentinel_password, what, err);
  if (c == NULL) {
    return HK_E_UNAVAILABLE;
  }
  r = redisCommand(c, "SENTINEL get-master-addr-by-name %s",
                   st->conf.sentinel_master);
  if (r == NULL) {
    hk_fail(err, HK_E_UNAVAILABLE, "%s: %s", what, c->errstr);
  } else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
             r->element[0]->type != REDIS_REPLY_STRING ||
             r->element[1]->type != REDIS_REPLY_STRING) {
    hk_fail(err, HK_E_UNAVAILABLE, "%s does not know the primary \"%s\"", what,
            st->conf.sentinel_master);
  } else {
    *host = hk_xstrdup(r->element[0]->str);
    *port = atoi(r->element[1]->str);
    rc = HK_E_OK;
  }
  freeReplyObject(r);
  redisFree(c);
  return rc;
}

/* 1 when c answers ROLE as a primary ("master"). */
static int is_primary(redisContext *c) {
  redisReply *r = redisCommand(c, "ROLE");
  int yes = r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
            r->element[0]->type == REDIS_REPLY_STRING &&
            strcmp(r->element[0]->str, "master") == 0;
  freeReplyObject(r);
  return yes;
}

/* Finds the primary through the sentinels, from the one that answered
 * last, and connects to it once it says ROLE master. */
static enum hk_err connect_primary(struct hk_store *st, struct hk_error *err) {
  size_t n = st->conf.nsentinels;
  int64_t now = hk_time_mono_ms();
  if (now < st->retry_at) {
    return hk_fail(err, HK_E_UNAVAILABLE,
                   "no primary of \"%s\" yet; asking the sentinels again in "
                   "%" PRId64 " ms",
                   st->conf.sentinel_master, st->retry_at - now);
  }
  char failed[320] = ""; /* an address that failed in this round */
  for (size_t k = 0; k < n; k++) {
    size_t i = (st->first_sentinel + k) % n;
    char *host = NULL;
    int port = 0;
    char what[320];
    if (ask_sentinel(st, i, &host, &port, err) != HK_E_OK) {
      continue;
    }
    snprintf(what, sizeof what, "the primary %s:%d", host, port);
    if (strcmp(what, failed) == 0) {
      /* Named by another sentinel too: a dead host costs one connect
       * timeout a round, not one per sentinel. */
      free(host);
      continue;
    }
    st->c = open_to(st, host, port, st->conf.password, what, err);
    if (st->c != NULL && !is_primary(st->c)) {
      hk_fail(err, HK_E_UNAVAILABLE, "%s:%d does not answer ROLE as a primary",
              host, port);
      redisFree(st->c);
      st->c = NULL;
    }
    if (st->c != NULL) {
      free(st->where);
      st->where = hk_xprintf("%s:%d", host, port);
      free(host);
      st->first_sentinel = i;
      st->backoff = 0;
      st->retry_at = 0;
      return HK_E_OK;
    }
    memcpy(failed, what, sizeof failed);
    free(host);
  }
  st->backoff =
      st->backoff == 0 ? 100 : (st->backoff >= 1000 ? 2000 : st->backoff * 2);
  st->retry_at = hk_time_mono_ms() + st->backoff;
  return HK_E_UNAVAILABLE;
}

static enum hk_err connect_now(struct hk_store *st, struct hk_error *err) {
  char db[16];
  const char *select[] = {"SELECT", db};
  if (st->c != NULL) {
    return HK_E_OK;
  }
  if (st->conf.sentinel_master != NULL) {
    if (connect_primary(st, err) != HK_E_OK) {
      return HK_E_UNAVAILABLE;
    }
  } else {
    char what[320];
    snprintf(what, sizeof what, "redis at %s", st->where);
    st->c = open_to(st, st->conf.unix_path != NULL ? NULL : st->conf.host,
                    st->conf.port, st->conf.password, what, err);
    if (st->c == NULL) {
      return HK_E_UNAVAILABLE;
    }
  }
  snprintf(db, sizeof db, "%d", st->conf.db);
  if (st->conf.db != 0 && setup(st, 2, select, err) != HK_E_OK) {
    return HK_E_UNAVAILABLE;
  }
  return HK_E_OK;
}

enum hk_err hk_store_round(struct hk_store *st, enum hk_retry retry,
                           enum hk_err (*fn)(struct hk_store *st, void *ctx,
                                             struct hk_error *err),
                           void *ctx, struct hk_error *err) {
  int reused = st->c != NULL;
  enum hk_err rc;
  if (connect_now(st, err) != HK_E_OK) {
    return HK_E_UNAVAILABLE;
  }
  rc = fn(st, ctx, err);
  if (st->stale) {
    /* Not (or no longer) a writable primary: ask the sentinels again. */
    hk_store_drop(st);
  }
  if (rc != HK_E_OK && retry == HK_RETRY && reused && st->c == NULL) {
    if (connect_now(st, err) != HK_E_OK) {
      return HK_E_UNAVAILABLE;
    }
    rc = fn(st, ctx, err);
  }
  return rc;
}

/* ---------------------------------------------------------------------------
 * Single commands
 * ------------------------------------------------------------------------- */

struct one {
  int argc;
  const char **argv;
  const size_t *lens;
  int keep_errors;
  redisReply *r; /* out */
};

static enum hk_err one_run(struct hk_store *st, void *ctx,
                           struct hk_error *err) {
  struct one *o = ctx;
  o->r = run(st, o->argc, o->argv, o->lens, o->keep_errors, err);
  return o->r != NULL ? HK_E_OK : HK_E_UNAVAILABLE;
}

static redisReply *one_command(struct hk_store *st, int argc, const char **argv,
                               const size_t *lens, int keep_errors,
                               struct hk_error *err) {
  struct one o = {argc, argv, lens, keep_errors, NULL};
  if (hk_store_round(st, HK_RETRY, one_run, &o, err) != HK_E_OK) {
    return NULL;
  }
  return o.r;
}

redisReply *hk_store_command(struct hk_store *st, int argc, const char **argv,
                             const size_t *lens, struct hk_error *err) {
  return one_command(st, argc, argv, lens, 0, err);
}

redisReply *hk_store_command_raw(struct hk_store *st, int argc,
                                 const char **argv, const size_t *lens,
                                 struct hk_error *err) {
  return one_command(st, argc, argv, lens, 1, err);
}

enum hk_err hk_store_ping(struct hk_store *st, struct hk_error *err) {
  const char *argv[] = {"PING"};
  redisReply *r = hk_store_command(st, 1, argv, NULL, err);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  freeReplyObject(r);
  return HK_E_OK;
}

enum hk_err hk_store_memory(struct hk_store *st, struct hk_store_memory *out,
                            struct hk_error *err) {
  const char *argv[] = {"INFO", "memory"};
  redisReply *r = hk_store_command(st, 2, argv, NULL, err);
  enum hk_err rc;
  out->used = 0;
  out->max = 0;
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  rc = hk_resp_memory(r, out, err);
  freeReplyObject(r);
  return rc;
}

enum hk_err hk_store_group_create(struct hk_store *st, const char *stream,
                                  const char *group, struct hk_error *err) {
  const char *argv[] = {"XGROUP", "CREATE", stream, group, "0", "MKSTREAM"};
  redisReply *r = hk_store_command_raw(st, 6, argv, NULL, err);
  enum hk_err rc = HK_E_OK;
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) != 0) {
    rc = hk_fail(err, HK_E_UNAVAILABLE, "XGROUP CREATE: %.*s", (int)r->len,
                 r->str);
  }
  freeReplyObject(r);
  return rc;
}

/* ---------------------------------------------------------------------------
 * Pipelines
 * ------------------------------------------------------------------------- */

enum hk_err hk_store_append(struct hk_store *st, int argc, const char **argv,
                            const size_t *lens, struct hk_error *err) {
  if (st->c == NULL ||
      redisAppendCommandArgv(st->c, argc, argv, lens) != REDIS_OK) {
    hk_fail(err, HK_E_UNAVAILABLE, "redis at %s: cannot queue a command",
            st->where);
    hk_store_drop(st);
    return HK_E_UNAVAILABLE;
  }
  return HK_E_OK;
}

enum hk_err hk_store_read_replies(struct hk_store *st, size_t n,
                                  void (*take)(void *ctx, redisReply *r),
                                  void *ctx, struct hk_error *err) {
  int failed = 0;
  for (size_t i = 0; i < n; i++) {
    void *reply = NULL;
    redisReply *r;
    if (redisGetReply(st->c, &reply) != REDIS_OK) {
      return hk_store_io_fail(st, err);
    }
    r = reply;
    hk_store_check_reply(st, r);
    if (r->type == REDIS_REPLY_ERROR && !failed) {
      hk_fail(err, HK_E_UNAVAILABLE, "redis at %s answered: %.*s", st->where,
              (int)r->len, r->str);
      failed = 1;
    }
    if (take != NULL) {
      take(ctx, r);
    } else {
      freeReplyObject(r);
    }
  }
  return failed ? HK_E_UNAVAILABLE : HK_E_OK;
}

void hk_args_add(struct hk_args *a, const char *s, size_t len) {
  if (a->n == a->cap) {
    a->cap = a->cap == 0 ? 32 : a->cap * 2;
    a->v = hk_xrealloc(a->v, a->cap * sizeof *a->v);
    a->len = hk_xrealloc(a->len, a->cap * sizeof *a->len);
  }
  a->v[a->n] = s != NULL ? s : "";
  a->len[a->n] = s != NULL ? len : 0;
  a->n++;
}

void hk_args_str(struct hk_args *a, const char *s) {
  hk_args_add(a, s, s != NULL ? strlen(s) : 0);
}

void hk_args_own(struct hk_args *a, char *s) {
  a->owned = hk_xrealloc(a->owned, (a->nowned + 1) * sizeof *a->owned);
  a->owned[a->nowned++] = s;
  hk_args_str(a, s);
}

void hk_args_fini(struct hk_args *a) {
  for (size_t i = 0; i < a->nowned; i++) {
    free(a->owned[i]);
  }
  free(a->owned);
  free(a->v);
  free(a->len);
  memset(a, 0, sizeof *a);
}

/* ---------------------------------------------------------------------------
 * The scripts: one loader
 * ------------------------------------------------------------------------- */

#define HK_SCRIPT_TEXT(e, name) hk_lua_##name,
static const char *const texts[] = {HK_SCRIPTS(HK_SCRIPT_TEXT)};
#undef HK_SCRIPT_TEXT
#define HK_SCRIPT_NAME(e, name) #name,
static const char *const names[] = {HK_SCRIPTS(HK_SCRIPT_NAME)};
#undef HK_SCRIPT_NAME

const char *hk_script_text(enum hk_script which) {
  return texts[which];
}

const char *hk_script_name(enum hk_script which) {
  return names[which];
}

/*
 * The SHA-1 by which Redis knows the script, loading it on this (open)
 * connection first when needed: after a reconnect Redis may have restarted
 * and lost its script cache. Returns NULL with err set when Redis failed.
 */
static const char *script_sha(struct hk_store *st, enum hk_script which,
                              struct hk_error *err) {
  if (st->sha[which][0] == '\0') {
    const char *argv[] = {"SCRIPT", "LOAD", texts[which]};
    redisReply *r = run(st, 3, argv, NULL, 0, err);
    if (r == NULL) {
      return NULL;
    }
    if (r->type == REDIS_REPLY_STRING && r->len == 40) {
      memcpy(st->sha[which], r->str, 40);
      st->sha[which][40] = '\0';
    }
    freeReplyObject(r);
    if (st->sha[which][0] == '\0') {
      hk_fail(err, HK_E_UNAVAILABLE, "unexpected reply to SCRIPT LOAD of %s",
              names[which]);
      return NULL;
    }
  }
  return st->sha[which];
}

struct evals {
  enum hk_script which;
  size_t n;
  void (*build)(void *ctx, size_t i, struct hk_args *a);
  void (*take)(void *ctx, size_t i, redisReply *r);
  void *ctx;
  unsigned char *todo; /* 1: to send (again) in this pass */
};

static int noscript(const redisReply *r) {
  return r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0;
}

/* One pass of the calls marked in e->todo; a call refused with NOSCRIPT
 * stays marked (*again set), the others are cleared. */
static enum hk_err evals_pass(struct hk_store *st, struct evals *e, int *again,
                              struct hk_error *err) {
  const char *sha = script_sha(st, e->which, err);
  enum hk_err rc = HK_E_OK;
  *again = 0;
  if (sha == NULL) {
    return HK_E_UNAVAILABLE;
  }
  for (size_t i = 0; i < e->n; i++) {
    struct hk_args a = {0};
    if (!e->todo[i]) {
      continue;
    }
    hk_args_str(&a, "EVALSHA");
    hk_args_str(&a, sha);
    e->build(e->ctx, i, &a);
    rc = hk_store_append(st, (int)a.n, a.v, a.len, err);
    hk_args_fini(&a);
    if (rc != HK_E_OK) {
      return rc;
    }
  }
  for (size_t i = 0; i < e->n; i++) {
    void *reply = NULL;
    redisReply *r;
    if (!e->todo[i]) {
      continue;
    }
    if (redisGetReply(st->c, &reply) != REDIS_OK) {
      return hk_store_io_fail(st, err);
    }
    r = reply;
    hk_store_check_reply(st, r);
    if (noscript(r)) {
      *again = 1;
      freeReplyObject(r);
      continue;
    }
    e->todo[i] = 0;
    if (r->type == REDIS_REPLY_ERROR) {
      if (rc == HK_E_OK) {
        rc = hk_fail(err, HK_E_UNAVAILABLE, "the %s script failed: %.*s",
                     names[e->which], (int)r->len, r->str);
      }
      freeReplyObject(r);
    } else {
      e->take(e->ctx, i, r);
    }
  }
  return rc;
}

static enum hk_err evals_run(struct hk_store *st, void *ctx,
                             struct hk_error *err) {
  struct evals *e = ctx;
  int again = 0;
  enum hk_err rc;
  memset(e->todo, 1, e->n);
  rc = evals_pass(st, e, &again, err);
  if (again && st->c != NULL) {
    /* The script cache was emptied under us: load it again, once. */
    enum hk_err second;
    st->sha[e->which][0] = '\0';
    second = evals_pass(st, e, &again, err);
    if (second != HK_E_OK) {
      rc = second;
    } else if (again) {
      rc = hk_fail(err, HK_E_UNAVAILABLE, "the %s script is not loaded",
                   names[e->which]);
    }
  }
  return rc;
}

enum hk_err hk_store_eval_many(struct hk_store *st, enum hk_script which,
                               enum hk_retry retry, size_t n,
                               void (*build)(void *ctx, size_t i,
                                             struct hk_args *a),
                               void (*take)(void *ctx, size_t i, redisReply *r),
                               void *ctx, struct hk_error *err) {
  struct evals e = {which, n, build, take, ctx, NULL};
  enum hk_err rc;
  if (n == 0) {
    return HK_E_OK;
  }
  e.todo = hk_xmalloc(n);
  rc = hk_store_round(st, retry, evals_run, &e, err);
  free(e.todo);
  return rc;
}

struct eval_one {
  const struct hk_args *a;
  redisReply *r; /* out */
};

static void one_build(void *ctx, size_t i, struct hk_args *a) {
  const struct eval_one *o = ctx;
  for (size_t j = 0; j < o->a->n; j++) {
    hk_args_add(a, o->a->v[j], o->a->len[j]);
  }
}

static void one_take(void *ctx, size_t i, redisReply *r) {
  struct eval_one *o = ctx;
  freeReplyObject(o->r);
  o->r = r;
}

redisReply *hk_store_eval(struct hk_store *st, enum hk_script which,
                          const struct hk_args *a, struct hk_error *err) {
  struct eval_one o = {a, NULL};
  if (hk_store_eval_many(st, which, HK_RETRY, 1, one_build, one_take, &o,
                         err) != HK_E_OK) {
    freeReplyObject(o.r);
    return NULL;
  }
  return o.r;
}
