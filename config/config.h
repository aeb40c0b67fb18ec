/*
 * config.h -- the door to handoff's configuration: one JSON file, validated
 * strictly, loaded into an immutable struct hk_config.
 *
 * Loading reports every problem at once, each as one line
 * "FILE: $.json.path: message" (or "FILE:LINE:COL: message" for a JSON
 * syntax error). Secrets never sit in the file: it names environment variables
 * or files, and loading reads them. A reload builds a new hk_config and the
 * caller swaps a pointer; a loaded config is never modified.
 *
 * The sections the first parts of the system use are decoded into C
 * structs below; the whole validated document, with every default filled
 * in, stays in `doc` for the parts that read it themselves (events, stages,
 * calendars, handoffs, kpis). The schema is documented in docs/config.md.
 */
#ifndef HK_CONFIG_H
#define HK_CONFIG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* The longest field path a rule may give, fallbacks included: one path
 * is at most 256 bytes, and "a | b | c" joins a few. The mapper sizes its
 * template buffer by it. (A cap of the config schema, so it lives with it
 * rather than in core/caps.h.) */
#define HK_CONFIG_PATH_SPEC_MAX 1024u

enum hk_source_kind {
  HK_SOURCE_STANDARD_WEBHOOKS,
  HK_SOURCE_STRIPE,
  HK_SOURCE_HUBSPOT,
  HK_SOURCE_PADDLE,
  HK_SOURCE_HMAC,
  HK_SOURCE_BASIC,
  HK_SOURCE_TOKEN
};

/* A secret as given in the environment variable or file (a trailing newline
 * of a file is dropped). Its meaning is the scheme's: for standard-webhooks
 * it is "whsec_<base64>" (checked to be base64 at load), decoded by
 * webhooks/. */
struct hk_secret {
  unsigned char *bytes;
  size_t len;
};

struct hk_source {
  char *name; /* the {source} of POST /hooks/{source} */
  enum hk_source_kind kind;
  const char *kind_name;     /* "standard-webhooks", "stripe", … (static) */
  struct hk_secret *secrets; /* every secret in rotation; any one verifies */
  size_t nsecrets;
  int64_t tolerance_ms; /* accepted clock skew of signed timestamps */
  /* This source's object in cfg->doc, defaults filled (borrowed): the
   * kind-specific keys (hubspot public_url and signature_versions; hmac
   * header, hash, encoding, prefix; token header, prefix) and presets. */
  json_t *conf;
};

struct hk_redis_conf {
  char *host; /* NULL when unix_path is set */
  int port;
  char *unix_path; /* NULL for TCP */
  char *password;  /* NULL when none; read from env or file */
  int db;
  char *prefix; /* key prefix, "handoff:" by default */
  int64_t connect_timeout_ms;
  int64_t timeout_ms;
  /* redis.sentinel: when sentinel_master is set, the primary is asked of
   * the sentinels (host, port and unix_path are then unused). */
  char *sentinel_master; /* NULL: no sentinels */
  char **sentinel_hosts; /* nsentinels of each */
  int *sentinel_ports;
  size_t nsentinels;
  char *sentinel_password; /* NULL when none */
  /* A delivery's 202 waits until this many replicas hold its XADD (WAIT),
   * at most wait_timeout_ms; 0: no wait. */
  int min_replicas_acked;
  int64_t wait_timeout_ms;
  /* The share of Redis's maxmemory above which handoff-fcgi refuses
   * deliveries with 503 (redis.memory_guard, 0 < share <= 1). */
  double memory_guard;
};

struct hk_api_token {
  char *name;
  char *value;
};

enum hk_notifier_kind { HK_NOTIFIER_SLACK, HK_NOTIFIER_WEBHOOK };

/* An alert channel. Its URL and signing secret may come from the
 * environment or a file, like any secret; a notifier whose reference is
 * marked optional and is unset has url NULL and is disabled. */
struct hk_notifier {
  char *name;
  enum hk_notifier_kind kind;
  const char *kind_name;   /* "slack" or "webhook" (static) */
  char *url;               /* NULL: disabled, or not read (NO_SECRETS) */
  struct hk_secret secret; /* webhook: its "whsec_…" key; else empty */
  int retries;
  int64_t backoff_ms; /* first retry delay, doubled on each retry */
  int64_t timeout_ms;
};

struct hk_config {
  char *path;
  struct hk_redis_conf redis;
  size_t max_body;       /* intake.max_body_bytes, default 1 MiB */
  int64_t retry_after_s; /* intake.retry_after, Retry-After of 503s */
  /* intake.stall_amber, stall_red: deliveries waiting with no worker read
   * for this long make the health amber, then red */
  int64_t stall_amber_ms;
  int64_t stall_red_ms;
  /* The enabled sources; one whose secrets are all optional and unset is
   * left out (so POSTs to it get 404). */
  struct hk_source *sources;
  size_t nsources;
  struct hk_api_token *tokens;
  size_t ntokens;
  json_t *doc; /* the whole validated document (owned) */
  struct hk_notifier *notifiers;
  size_t nnotifiers;
};

/* Every problem found by one load, one line each, in document order. */
struct hk_config_diag {
  char **lines;
  size_t n;
};

#define HK_CONFIG_NO_SECRETS 1u /* check shape only; don't read secrets */
/* With HK_CONFIG_NO_SECRETS, still read redis.password: for tools that
 * only talk to Redis (handoffctl queue, dlq). */
#define HK_CONFIG_REDIS_SECRET 2u

/*
 * Reads and validates the file at path. On success *out is a new config
 * (free with hk_config_free) and diag is empty. On failure returns
 * HK_E_CONFIG (or HK_E_IO when the file cannot be read), *out is NULL, and
 * diag holds every problem found. diag is owned by the caller: release it
 * with hk_config_diag_fini in both cases.
 */
enum hk_err hk_config_load(const char *path, unsigned flags,
                           struct hk_config **out,
                           struct hk_config_diag *diag) HK_MUST_CHECK;

/* The same from text in memory; name stands for the file in messages. */
enum hk_err hk_config_parse(const char *text, size_t len, const char *name,
                            unsigned flags, struct hk_config **out,
                            struct hk_config_diag *diag) HK_MUST_CHECK;

/* NULL-safe. */
void hk_config_free(struct hk_config *cfg);
void hk_config_diag_fini(struct hk_config_diag *diag);

/* The source of that name, or NULL. The pointer is borrowed from cfg. */
const struct hk_source *hk_config_source(const struct hk_config *cfg,
                                         const char *name);

/* The notifier of that name, or NULL. The pointer is borrowed from cfg. */
const struct hk_notifier *hk_config_notifier(const struct hk_config *cfg,
                                             const char *name);

/*
 * Replaces the Redis address of cfg by addr, "unix:/path/to.sock" or
 * "host:port" (the --redis option of every program). Called once, right
 * after loading, before cfg is shared. Returns HK_E_USAGE with err set when
 * addr is malformed.
 */
enum hk_err hk_config_set_redis(struct hk_config *cfg, const char *addr,
                                struct hk_error *err) HK_MUST_CHECK;

#endif
