/*
 * main.c -- handoffctl: the operator's command line.
 *
 *   handoffctl check-config [--no-secrets] FILE
 *   handoffctl sign [--config FILE] [--id ID] [--timestamp T] SOURCE [BODY]
 *   handoffctl queue [--config FILE] [--redis ADDR]
 *   handoffctl dlq list|retry [--config FILE] [--redis ADDR] …
 *   handoffctl status [--config FILE] [--redis ADDR] [--json]
 *   handoffctl clocks HANDOFF [--config FILE] [--state S] [--limit N] [--json]
 *   handoffctl COMMAND --help
 *
 * check-config prints every problem of the file, one per line, and exits
 * 78 when there is any (like `nginx -t`, it is safe to run before a reload).
 * sign prints the headers the source's provider would send with BODY (a
 * file, or - / nothing for stdin), ready for `curl -H @-`; it reads that
 * source's secret and no other. --config defaults to $HANDOFF_CONFIG, and
 * the commands that read Redis find it as REDIS_HELP says, so that after
 * eval "$(deploy/dev env)" the dev stack needs no flag at all.
 */
#include <getopt.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "store/store.h"
#include "webhooks/webhooks.h"
#include "journey/journey.h"

/* Exit statuses, every one handoffctl uses (README lists them too). */
#define EXIT_USAGE 2
#define EXIT_AMBER 3        /* status: health amber, or not computed yet */
#define EXIT_RED 4          /* status: health red */
#define EXIT_UNAVAILABLE 69 /* Redis unreachable (EX_UNAVAILABLE) */
#define EXIT_CONFIG 78      /* bad configuration, or a secret unset */

/* The dev stack's Redis socket, relative to the repo root (deploy/dev). */
#define DEV_REDIS_SOCKET ".run/redis.sock"

/* Where a command that reads Redis finds it, for every --help. */
#define REDIS_HELP                                                             \
  "        ADDR is host:port, [IPv6]:port or unix:PATH (a relative PATH\n"     \
  "        is taken from the current directory). Without --redis:\n"           \
  "        $HANDOFF_REDIS when set (`deploy/dev env` exports the dev\n"        \
  "        stack's); else the config's redis section; when that names no\n"    \
  "        host or socket and ./" DEV_REDIS_SOCKET " exists (the dev\n"        \
  "        stack, seen from the repo root), that socket; else\n"               \
  "        127.0.0.1:6379.\n"

static const char exit_help[] =
    "Exit status: 0 success, 1 runtime failure, 2 bad command line,\n"
    "3 and 4 health amber and red (status), 69 Redis unreachable,\n"
    "78 bad configuration (or a secret the command needs is not set).\n";

/* One command: its synopsis (after "handoffctl "), what it does, and its
 * entry point. The table lists them in the order of the usage. */
struct command {
  const char *name;
  const char *synopsis;
  const char *help;
  int (*run)(int argc, char **argv);
};

static int cmd_check_config(int argc, char **argv);
static int cmd_sign(int argc, char **argv);
static int cmd_queue(int argc, char **argv);
static int cmd_status(int argc, char **argv);
static int cmd_clocks(int argc, char **argv);
static int cmd_dlq(int argc, char **argv);

static const struct command commands[] = {
    {"check-config", "check-config [--no-secrets] FILE",
     "        Validate a configuration; print every problem as\n"
     "        FILE: $.json.path: message. --no-secrets skips reading the\n"
     "        environment variables and files that hold secrets.\n",
     cmd_check_config},
    {"sign", "sign [--config FILE] [--id ID] [--timestamp UNIX] SOURCE [BODY]",
     "        Print the headers SOURCE's provider would send with BODY (a\n"
     "        file; stdin when - or absent), one per line, signed with the\n"
     "        source's first secret that is set: standard-webhooks, stripe,\n"
     "        hubspot (v3, for its public_url), paddle or hmac. Only that\n"
     "        source's secret is read (for the dev stack's:\n"
     "        eval \"$(deploy/dev env)\").\n",
     cmd_sign},
    {"queue", "queue [--config FILE] [--redis ADDR]",
     "        Show the intake queue: length, pending, lag, "
     "processed.\n" REDIS_HELP,
     cmd_queue},
    {"status", "status [--config FILE] [--redis ADDR] [--json]",
     "        Handoff health as the workers last computed it (GET /v1/health\n"
     "        without the queue): the overall status and why, then each\n"
     "        handoff and stage with its status, owner, reason and each\n"
     "        KPI's text, and each handoff's clocks by state now. Colour on\n"
     "        a terminal unless NO_COLOR is set; --json prints the health\n"
     "        document. Exits 0 green, 3 amber (or not computed yet), 4 "
     "red.\n" REDIS_HELP,
     cmd_status},
    {"clocks",
     "clocks HANDOFF [--config FILE] [--redis ADDR] [--state STATE]\n"
     "         [--limit N] [--json]",
     "        The clocks of one handoff as of now: subject, state, start,\n"
     "        deadline, stop, owner. STATE is open (every running clock,\n"
     "        at risk included, as in the status API), at_risk, paused,\n"
     "        met, breached, met_late or cancelled.\n" REDIS_HELP,
     cmd_clocks},
    {"dlq",
     "dlq list [--config FILE] [--redis ADDR] [--limit N] [--from ID] "
     "[--json]\n"
     "       handoffctl dlq retry [--config FILE] [--redis ADDR] ID... | "
     "--all",
     "        list: the dead letters, oldest first: deliveries a mapping\n"
     "        rule could not turn into an event, and alerts no retry could\n"
     "        deliver, each with the reason.\n"
     "        retry: queue dead letters again as the deliveries or alerts\n"
     "        they were (after fixing the rule or the endpoint) and remove\n"
     "        them; --all takes the oldest 1000 at a time.\n" REDIS_HELP,
     cmd_dlq},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

/* The command main is running, for the usage its errors print. */
static const struct command *current;

/* The whole usage: every command, then what is common to them. */
static void print_usage(FILE *f) {
  fputs("usage: handoffctl COMMAND [options]\n"
        "       handoffctl COMMAND --help\n\nCommands:\n",
        f);
  for (size_t i = 0; i < NCOMMANDS; i++) {
    /* REDIS_HELP once, below, rather than under each command. */
    const char *h = commands[i].help;
    const char *r = strstr(h, REDIS_HELP);
    fprintf(f, "  %s\n%.*s", commands[i].synopsis,
            (int)(r != NULL ? (size_t)(r - h) : strlen(h)), h);
  }
  fputs("\n--config FILE defaults to $HANDOFF_CONFIG. --redis ADDR, for the\n"
        "commands that read Redis:\n" REDIS_HELP "\n",
        f);
  fputs(exit_help, f);
}

/* One command's usage, for COMMAND --help (stdout) and its errors. */
static void print_command_usage(const struct command *c, FILE *f) {
  fprintf(f, "usage: handoffctl %s\n\n%s", c->synopsis, c->help);
  if (strstr(c->synopsis, "--config") != NULL) {
    fputs("        --config FILE defaults to $HANDOFF_CONFIG.\n", f);
  }
  fprintf(f, "\n%s", exit_help);
}

/* A bad command line: the running command's usage on stderr. */
static int bad_usage(void) {
  if (current != NULL) {
    print_command_usage(current, stderr);
  } else {
    print_usage(stderr);
  }
  return EXIT_USAGE;
}

/* --config, or $HANDOFF_CONFIG when it was not given; NULL when neither. */
static const char *config_or_env(const char *config) {
  const char *env = getenv("HANDOFF_CONFIG");
  if (config == NULL && env != NULL && env[0] != '\0') {
    config = env;
  }
  return config;
}

static struct hk_config *load(const char *path, unsigned flags) {
  struct hk_config *cfg = NULL;
  struct hk_config_diag diag = {NULL, 0};
  enum hk_err rc = hk_config_load(path, flags, &cfg, &diag);
  for (size_t i = 0; i < diag.n; i++) {
    fprintf(stderr, "%s\n", diag.lines[i]);
  }
  hk_config_diag_fini(&diag);
  return rc == HK_E_OK ? cfg : NULL;
}

static int cmd_check_config(int argc, char **argv) {
  static const struct option longs[] = {{"no-secrets", no_argument, NULL, 's'},
                                        {NULL, 0, NULL, 0}};
  unsigned flags = 0;
  struct hk_config *cfg;
  int c;
  while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
    if (c != 's') {
      return bad_usage();
    }
    flags |= HK_CONFIG_NO_SECRETS;
  }
  if (optind + 1 != argc) {
    return bad_usage();
  }
  cfg = load(argv[optind], flags);
  if (cfg == NULL) {
    return EXIT_CONFIG;
  }
  {
    /* The mapping rules compile only against the presets, and calendars
     * only against the system's zoneinfo, both with the worker: an
     * `extends` naming no preset rule, or a zone that is not a zone file,
     * is caught here. */
    struct hk_error err = {HK_E_OK, ""};
    struct hk_mapper *m = hk_mapper_new(cfg, &err);
    struct hk_sla *sla = m != NULL ? hk_sla_new(cfg, &err) : NULL;
    hk_sla_free(sla);
    hk_mapper_free(m);
    if (m == NULL || sla == NULL) {
      fprintf(stderr, "%s: %s\n", argv[optind], err.msg);
      hk_config_free(cfg);
      return EXIT_CONFIG;
    }
  }
  printf("%s: ok (%zu sources)\n", argv[optind], cfg->nsources);
  hk_config_free(cfg);
  return EXIT_SUCCESS;
}

static char *read_all(FILE *f, size_t *len) {
  struct hk_buf b;
  char chunk[8192];
  size_t n;
  hk_buf_init(&b, HK_CAP_BODY_MAX);
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (hk_buf_add(&b, chunk, n) != HK_E_OK) {
      hk_buf_fini(&b);
      return NULL;
    }
  }
  return hk_buf_take(&b, len);
}

static const char *conf_str(const struct hk_source *src, const char *key) {
  return json_string_value(json_object_get(src->conf, key));
}

/* Overwrites and frees the bytes of s (NULL-safe when empty). */
static void secret_wipe(struct hk_secret *s) {
  volatile unsigned char *p = s->bytes;
  for (size_t i = 0; p != NULL && i < s->len; i++) {
    p[i] = 0;
  }
  free(s->bytes);
  s->bytes = NULL;
  s->len = 0;
}

/* Reads the secret one reference names ({"env": NAME} or {"file": PATH}),
 * as the config loader does. Returns 1 when read into *out (wipe it with
 * secret_wipe), 0 when unset, empty or unreadable (why goes in why). */
static int read_ref(const json_t *ref, struct hk_secret *out, char *why,
                    size_t n) {
  const char *env = json_string_value(json_object_get(ref, "env"));
  const char *file = json_string_value(json_object_get(ref, "file"));
  if (env != NULL) {
    const char *v = getenv(env);
    if (v == NULL || v[0] == '\0' || strlen(v) > HK_CAP_SECRET) {
      snprintf(why, n, "environment variable %s is %s", env,
               v == NULL      ? "not set"
               : v[0] == '\0' ? "empty"
                              : "too long");
      return 0;
    }
    out->len = strlen(v);
    out->bytes = (unsigned char *)hk_xstrndup(v, out->len);
    return 1;
  }
  if (file != NULL) {
    FILE *f = fopen(file, "rb");
    char buf[HK_CAP_SECRET + 2];
    size_t len = f != NULL ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f != NULL) {
      fclose(f);
    }
    if (len > 0 && buf[len - 1] == '\n') {
      len--;
    }
    if (f == NULL || len == 0 || len > HK_CAP_SECRET) {
      snprintf(why, n, "file %s is %s", file,
               f == NULL  ? "unreadable"
               : len == 0 ? "empty"
                          : "too long");
      memset(buf, 0, sizeof buf);
      return 0;
    }
    out->len = len;
    out->bytes = (unsigned char *)hk_xstrndup(buf, len);
    memset(buf, 0, sizeof buf);
    return 1;
  }
  snprintf(why, n, "it names no env or file");
  return 0;
}

/* Reads the first secret of src that is set, in the config's order (the
 * config was loaded without secrets, so nothing else is read). Returns
 * EXIT_SUCCESS with *out filled, or EXIT_CONFIG after saying why. */
static int read_source_secret(const struct hk_source *src,
                              struct hk_secret *out) {
  const json_t *secret = json_object_get(src->conf, "secret");
  size_t n = json_is_array(secret) ? json_array_size(secret) : 1;
  char why[600] = "";
  for (size_t i = 0; i < n; i++) {
    const json_t *ref =
        json_is_array(secret) ? json_array_get(secret, i) : secret;
    if (read_ref(ref, out, why, sizeof why)) {
      return EXIT_SUCCESS;
    }
  }
  fprintf(stderr,
          "handoffctl: no secret of source %s is set (%s%s); for the dev "
          "stack's: eval \"$(deploy/dev env)\"\n",
          src->name, n > 1 ? "the last: " : "", why);
  return EXIT_CONFIG;
}

/* Prints the headers src's provider would send with body, signed with key
 * at ts (seconds). Returns an exit status. */
static int print_signed(const struct hk_source *src,
                        const struct hk_secret *key, const char *id, int64_t ts,
                        const char *body, size_t len) {
  char *sig = NULL;
  int rc = EXIT_FAILURE;

  printf("Content-Type: application/json\n");
  switch (src->kind) {
  case HK_SOURCE_STANDARD_WEBHOOKS:
    sig = hk_sign_standard(key, id, ts, body, len);
    if (sig != NULL) {
      printf("webhook-id: %s\nwebhook-timestamp: %" PRId64
             "\nwebhook-signature: %s\n",
             id, ts, sig);
    }
    break;
  case HK_SOURCE_STRIPE:
    sig = hk_sign_stripe(key, ts, body, len);
    if (sig != NULL) {
      printf("Stripe-Signature: %s\n", sig);
    }
    break;
  case HK_SOURCE_PADDLE:
    sig = hk_sign_paddle(key, ts, body, len);
    if (sig != NULL) {
      printf("Paddle-Signature: %s\n", sig);
    }
    break;
  case HK_SOURCE_HUBSPOT:
    sig = hk_sign_hubspot_v3(key, "POST", conf_str(src, "public_url"),
                             ts * 1000, body, len);
    if (sig != NULL) {
      printf("X-HubSpot-Signature-v3: %s\nX-HubSpot-Request-Timestamp: "
             "%" PRId64 "\n",
             sig, ts * 1000);
    }
    break;
  case HK_SOURCE_HMAC:
    sig = hk_sign_hmac(key, conf_str(src, "hash"), conf_str(src, "encoding"),
                       conf_str(src, "prefix"), body, len);
    if (sig != NULL) {
      printf("%s: %s\n", conf_str(src, "header"), sig);
    }
    break;
  case HK_SOURCE_BASIC:
  case HK_SOURCE_TOKEN:
  default: break;
  }
  if (sig != NULL) {
    rc = EXIT_SUCCESS;
  } else {
    fprintf(stderr, "handoffctl: the secret of %s cannot sign (%s)\n",
            src->name, src->kind_name);
  }
  free(sig);
  return rc;
}

static int cmd_sign(int argc, char **argv) {
  static const struct option longs[] = {
      {"config", required_argument, NULL, 'c'},
      {"id", required_argument, NULL, 'i'},
      {"timestamp", required_argument, NULL, 't'},
      {NULL, 0, NULL, 0}};
  const char *config = NULL;
  const char *id = NULL;
  char idbuf[64];
  int64_t ts = hk_time_now_ms() / 1000;
  struct hk_config *cfg;
  const struct hk_source *src;
  struct hk_secret key = {NULL, 0};
  FILE *in = stdin;
  char *body;
  size_t len = 0;
  int c;
  int rc = EXIT_FAILURE;

  while ((c = getopt_long(argc, argv, "c:", longs, NULL)) != -1) {
    switch (c) {
    case 'c': config = optarg; break;
    case 'i': id = optarg; break;
    case 't': ts = strtoll(optarg, NULL, 10); break;
    default: return bad_usage();
    }
  }
  config = config_or_env(config);
  if (config == NULL || optind >= argc || argc - optind > 2) {
    return bad_usage();
  }
  /* Only this source's secret is read, below: signing needs no API token,
   * Redis password or other source's secret. */
  cfg = load(config, HK_CONFIG_NO_SECRETS);
  if (cfg == NULL) {
    return EXIT_CONFIG;
  }
  src = hk_config_source(cfg, argv[optind]);
  if (src == NULL) {
    fprintf(stderr, "handoffctl: %s is not an enabled source of %s\n",
            argv[optind], config);
    hk_config_free(cfg);
    return EXIT_USAGE;
  }
  if (src->kind == HK_SOURCE_BASIC || src->kind == HK_SOURCE_TOKEN) {
    /* Nothing to compute: the credential itself is the proof, and this
     * command never prints a secret. */
    fprintf(stderr,
            "handoffctl: %s sources sign nothing; send the credential itself "
            "(curl -u for basic, the configured header for token)\n",
            src->kind_name);
    hk_config_free(cfg);
    return EXIT_USAGE;
  }
  if (optind + 1 < argc && strcmp(argv[optind + 1], "-") != 0) {
    in = fopen(argv[optind + 1], "rb");
    if (in == NULL) {
      fprintf(stderr, "handoffctl: cannot read %s\n", argv[optind + 1]);
      hk_config_free(cfg);
      return EXIT_FAILURE;
    }
  }
  body = read_all(in, &len);
  if (in != stdin) {
    fclose(in);
  }
  if (body == NULL) {
    fprintf(stderr, "handoffctl: the body is over %zu bytes\n",
            HK_CAP_BODY_MAX);
    hk_config_free(cfg);
    return EXIT_FAILURE;
  }
  if (id == NULL) {
    snprintf(idbuf, sizeof idbuf, "msg_%" PRId64 "_%ld", hk_time_now_ms(),
             (long)getpid());
    id = idbuf;
  }
  /* The first secret set signs, as a sender rolling secrets would. */
  rc = read_source_secret(src, &key);
  if (rc == EXIT_SUCCESS) {
    rc = print_signed(src, &key, id, ts, body, len);
  }
  secret_wipe(&key);
  free(body);
  hk_config_free(cfg);
  return rc;
}

/* The address to use when --redis is not given, or NULL for the config's
 * own: $HANDOFF_REDIS, else the dev stack's socket when the config names no
 * Redis and that socket exists here. *from names where it came from. */
static const char *redis_default(const struct hk_config *cfg,
                                 const char **from) {
  const char *env = getenv("HANDOFF_REDIS");
  const json_t *r = json_object_get(cfg->doc, "redis");
  struct stat sb;
  if (env != NULL && env[0] != '\0') {
    *from = "HANDOFF_REDIS";
    return env;
  }
  if (json_object_get(r, "host") == NULL &&
      json_object_get(r, "unix") == NULL && stat(DEV_REDIS_SOCKET, &sb) == 0 &&
      S_ISSOCK(sb.st_mode)) {
    *from = "./" DEV_REDIS_SOCKET;
    return "unix:" DEV_REDIS_SOCKET;
  }
  return NULL;
}

/* addr with a relative unix: path made absolute against the current
 * directory (the programs' --redis wants an absolute one, and the socket
 * is opened from here anyway). Returns a new string. */
static char *redis_absolute(const char *addr) {
  char cwd[4096];
  if (strncmp(addr, "unix:", 5) != 0 || addr[5] == '/' || addr[5] == '\0' ||
      getcwd(cwd, sizeof cwd) == NULL) {
    return hk_xstrdup(addr);
  }
  return hk_xprintf("unix:%s/%s", cwd,
                    strncmp(addr + 5, "./", 2) == 0 ? addr + 7 : addr + 5);
}

/* Loads the config for a command that reads Redis, with --redis applied.
 * Returns NULL (after saying why) and sets *rc. */
static struct hk_config *load_for_redis(const char *config, const char *redis,
                                        int *rc) {
  struct hk_error err = {HK_E_OK, ""};
  struct hk_config *cfg =
      load(config, HK_CONFIG_NO_SECRETS | HK_CONFIG_REDIS_SECRET);
  const char *from = "--redis";
  char *addr = NULL;
  if (cfg == NULL) {
    *rc = EXIT_CONFIG;
    return NULL;
  }
  if (redis == NULL) {
    redis = redis_default(cfg, &from);
  }
  addr = redis != NULL ? redis_absolute(redis) : NULL;
  if (addr != NULL && hk_config_set_redis(cfg, addr, &err) != HK_E_OK) {
    int named = strcmp(from, "--redis") != 0;
    fprintf(stderr, "handoffctl: %s%s%s%s\n", err.msg, named ? " (from " : "",
            named ? from : "", named ? ")" : "");
    hk_config_free(cfg);
    cfg = NULL;
    *rc = EXIT_USAGE;
  }
  free(addr);
  return cfg;
}

static int cmd_queue(int argc, char **argv) {
  static const struct option longs[] = {
      {"config", required_argument, NULL, 'c'},
      {"redis", required_argument, NULL, 'r'},
      {NULL, 0, NULL, 0}};
  const char *config = NULL;
  const char *redis = NULL;
  struct hk_config *cfg;
  struct hk_store *st;
  struct hk_queue_stats q;
  struct hk_error err = {HK_E_OK, ""};
  int c;
  int rc = EXIT_SUCCESS;
  while ((c = getopt_long(argc, argv, "c:r:", longs, NULL)) != -1) {
    switch (c) {
    case 'c': config = optarg; break;
    case 'r': redis = optarg; break;
    default: return bad_usage();
    }
  }
  config = config_or_env(config);
  if (config == NULL || optind != argc) {
    return bad_usage();
  }
  cfg = load_for_redis(config, redis, &rc);
  if (cfg == NULL) {
    return rc;
  }
  st = hk_store_new(&cfg->redis);
  if (hk_store_queue_stats(st, &q, &err) != HK_E_OK) {
    fprintf(stderr, "handoffctl: %s\n", err.msg);
    rc = EXIT_UNAVAILABLE;
  } else {
    printf("length     %" PRId64 "\npending    %" PRId64 "\nlag        %" PRId64
           "\nprocessed  %" PRId64 "\nconsumers  %" PRId64 "\n",
           q.length, q.pending, q.lag, q.processed, q.consumers);
  }
  hk_store_free(st);
  hk_config_free(cfg);
  return rc;
}

/* ---------------------------------------------------------------------------
 * dlq
 * ------------------------------------------------------------------------- */

/* 1 when s looks like a stream id (digits, optionally "-digits"). */
static int is_stream_id(const char *s) {
  size_t n = strspn(s, "0123456789");
  if (n == 0 || n > 20) {
    return 0;
  }
  if (s[n] == '-') {
    size_t m = strspn(s + n + 1, "0123456789");
    return m > 0 && m <= 20 && s[n + 1 + m] == '\0';
  }
  return s[n] == '\0';
}

static const char *field(const struct hk_letter *l, const char *name) {
  const char *v = json_string_value(json_object_get(l->fields, name));
  return v != NULL ? v : "";
}

static void print_letters(const struct hk_letters *ls, int as_json) {
  for (size_t i = 0; i < ls->n; i++) {
    const struct hk_letter *l = &ls->items[i];
    if (as_json) {
      json_t *o = json_deep_copy(l->fields);
      char *s;
      json_object_set_new(o, "id", json_string(l->id));
      s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
      if (s != NULL) {
        puts(s);
      }
      free(s);
      json_decref(o);
    } else if (strcmp(field(l, "kind"), "alert") == 0) {
      json_t *a = json_loads(field(l, "alert"), 0, NULL);
      const char *notifier = json_string_value(json_object_get(a, "notifier"));
      const char *aid = json_string_value(json_object_get(a, "id"));
      printf("%s  kind=alert notifier=%s alert=%s\n    %s\n", l->id,
             notifier != NULL ? notifier : "?", aid != NULL ? aid : "?",
             field(l, "reason"));
      json_decref(a);
    } else {
      printf("%s  kind=delivery source=%s rule=%s type=%s delivery=%s\n"
             "    %s\n",
             l->id, field(l, "source"), field(l, "rule"), field(l, "ptype"),
             field(l, "delivery_id"), field(l, "reason"));
    }
  }
}

static int cmd_dlq(int argc, char **argv) {
  static const struct option longs[] = {
      {"config", required_argument, NULL, 'c'},
      {"redis", required_argument, NULL, 'r'},
      {"limit", required_argument, NULL, 'l'},
      {"from", required_argument, NULL, 'f'},
      {"json", no_argument, NULL, 'j'},
      {"all", no_argument, NULL, 'a'},
      {NULL, 0, NULL, 0}};
  const char *sub = argc > 1 ? argv[1] : "";
  const char *config = NULL;
  const char *redis = NULL;
  const char *from = "-";
  size_t limit = 100;
  int as_json = 0;
  int all = 0;
  struct hk_config *cfg;
  struct hk_store *st;
  struct hk_error err = {HK_E_OK, ""};
  int rc = EXIT_SUCCESS;
  char *end;
  int c;

  if (strcmp(sub, "list") != 0 && strcmp(sub, "retry") != 0) {
    fprintf(stderr, "handoffctl: dlq wants list or retry\n\n");
    return bad_usage();
  }
  optind = 2;
  while ((c = getopt_long(argc, argv, "c:r:", longs, NULL)) != -1) {
    switch (c) {
    case 'c': config = optarg; break;
    case 'r': redis = optarg; break;
    case 'f': from = optarg; break;
    case 'j': as_json = 1; break;
    case 'a': all = 1; break;
    case 'l':
      limit = strtoul(optarg, &end, 10);
      if (*end != '\0' || limit == 0 || limit > HK_CAP_BATCH) {
        fprintf(stderr, "handoffctl: --limit wants 1 to %u\n", HK_CAP_BATCH);
        return EXIT_USAGE;
      }
      break;
    default: return bad_usage();
    }
  }
  config = config_or_env(config);
  if (config == NULL || (strcmp(sub, "list") == 0 && optind != argc) ||
      (strcmp(sub, "retry") == 0 && (optind == argc) == !all) ||
      (strcmp(from, "-") != 0 && !is_stream_id(from))) {
    return bad_usage();
  }
  for (int i = optind; i < argc; i++) {
    if (!is_stream_id(argv[i])) {
      fprintf(stderr,
              "handoffctl: %s is not a dead letter id such as "
              "1732431600000-0\n",
              argv[i]);
      return EXIT_USAGE;
    }
  }
  cfg = load_for_redis(config, redis, &rc);
  if (cfg == NULL) {
    return rc;
  }
  st = hk_store_new(&cfg->redis);
  if (strcmp(sub, "list") == 0) {
    struct hk_letters ls = {NULL, 0};
    if (hk_store_dlq_list(st, from, limit, &ls, &err) != HK_E_OK) {
      fprintf(stderr, "handoffctl: %s\n", err.msg);
      rc = EXIT_UNAVAILABLE;
    } else {
      print_letters(&ls, as_json);
      fflush(stdout);
      if (!as_json) {
        fprintf(stderr, "%zu dead letter%s\n", ls.n, ls.n == 1 ? "" : "s");
      }
    }
    hk_letters_fini(&ls);
  } else if (all) {
    /* Retries the oldest HK_CAP_BATCH letters, the ones there when the
     * command started; a letter that fails again lands at the end of the
     * stream, after them. Run it again for more. */
    struct hk_letters ls = {NULL, 0};
    size_t done = 0;
    if (hk_store_dlq_list(st, "-", HK_CAP_BATCH, &ls, &err) != HK_E_OK) {
      fprintf(stderr, "handoffctl: %s\n", err.msg);
      rc = EXIT_UNAVAILABLE;
    }
    for (size_t i = 0; rc == EXIT_SUCCESS && i < ls.n; i++) {
      char nid[HK_STREAM_ID_MAX];
      int found = 0;
      if (hk_store_dlq_retry(st, ls.items[i].id, &found, nid, &err) !=
          HK_E_OK) {
        fprintf(stderr, "handoffctl: %s\n", err.msg);
        rc = EXIT_UNAVAILABLE;
      } else if (found) {
        done++;
      }
    }
    fprintf(stderr, "%zu dead letter%s queued again\n", done,
            done == 1 ? "" : "s");
    hk_letters_fini(&ls);
  } else {
    for (int i = optind; rc != EXIT_UNAVAILABLE && i < argc; i++) {
      char nid[HK_STREAM_ID_MAX];
      int found = 0;
      if (hk_store_dlq_retry(st, argv[i], &found, nid, &err) != HK_E_OK) {
        fprintf(stderr, "handoffctl: %s\n", err.msg);
        rc = EXIT_UNAVAILABLE;
      } else if (!found) {
        fprintf(stderr, "handoffctl: no dead letter %s\n", argv[i]);
        rc = EXIT_FAILURE;
      } else {
        printf("%s queued again as %s\n", argv[i], nid);
      }
    }
  }
  hk_store_free(st);
  hk_config_free(cfg);
  return rc;
}

/* ---------------------------------------------------------------------------
 * status and clocks
 * ------------------------------------------------------------------------- */

/* An instant as RFC 3339 UTC into buf ("-" for none). */
static const char *iso(int64_t ms, char *buf, size_t n) {
  time_t t;
  struct tm tm;
  if (ms <= 0 || ms == HK_NEVER) {
    snprintf(buf, n, "-");
    return buf;
  }
  t = (time_t)(ms / 1000);
  gmtime_r(&t, &tm);
  strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

static long long count_of(const json_t *counters, const char *name) {
  return (long long)json_integer_value(json_object_get(counters, name));
}

/* The exit status for a health status name: green 0, red 4, amber (and
 * anything else: unknown, or nothing computed yet) 3. */
static int exit_for(const char *status) {
  if (status != NULL && strcmp(status, "green") == 0) {
    return EXIT_SUCCESS;
  }
  if (status != NULL && strcmp(status, "red") == 0) {
    return EXIT_RED;
  }
  return EXIT_AMBER;
}

/* The terminal colour of a status, or "" without colour. */
static const char *paint(const char *status, int colour) {
  if (!colour || status == NULL) {
    return "";
  }
  if (strcmp(status, "red") == 0) {
    return "\033[1;31m";
  }
  if (strcmp(status, "amber") == 0) {
    return "\033[33m";
  }
  if (strcmp(status, "green") == 0) {
    return "\033[32m";
  }
  return "\033[2m"; /* unknown: dim */
}

static const char *str_of(const json_t *o, const char *key) {
  const char *v = json_string_value(json_object_get(o, key));
  return v != NULL ? v : "";
}

/* One handoff or stage of the health document and its KPIs, as rows. */
static void print_entry(const char *label, const json_t *e, int colour) {
  const char *status = str_of(e, "status");
  const char *off = colour ? "\033[0m" : "";
  const json_t *kpis = json_object_get(e, "kpis");
  const json_t *k;
  size_t i;
  char name[160];
  snprintf(name, sizeof name, "%s%s", label, str_of(e, "name"));
  printf("%-34s %s%-7s%s %s\n", name, paint(status, colour), status, off,
         str_of(e, "owner"));
  if (strcmp(status, "green") != 0) {
    printf("    why: %s\n", str_of(e, "reason"));
  }
  json_array_foreach(kpis, i, k) {
    const char *ks = str_of(k, "status");
    printf("    %-30s %s%-7s%s %-24s %s\n", str_of(k, "name"),
           paint(ks, colour), ks, off, str_of(k, "owner"), str_of(k, "text"));
  }
}

/* The health document as a table: the overall status and why, then each
 * handoff and stage with its owner, why it is not green, and its KPIs. */
static void print_health(const json_t *doc, int colour) {
  const char *status = str_of(doc, "status");
  const char *computed = str_of(doc, "computed_at");
  const json_t *e;
  size_t i;
  char upper[16];
  size_t n = 0;
  for (; status[n] != '\0' && n < sizeof upper - 1; n++) {
    upper[n] = (char)(status[n] >= 'a' && status[n] <= 'z' ? status[n] - 32
                                                           : status[n]);
  }
  upper[n] = '\0';
  printf("handoff health: %s%s%s: %s\n", paint(status, colour), upper,
         colour ? "\033[0m" : "", str_of(doc, "reason"));
  if (computed[0] != '\0') {
    int64_t at = 0;
    if (hk_map_rfc3339_ms(computed, &at) == 0) {
      printf("computed %s (%llds ago)\n", computed,
             (long long)((hk_time_now_ms() - at) / 1000));
    } else {
      printf("computed %s\n", computed);
    }
  }
  printf("\n%-34s %-7s %s\n", "HANDOFF / STAGE", "STATUS",
         "OWNER / KPI, OWNER, VALUE");
  json_array_foreach(json_object_get(doc, "handoffs"), i, e) {
    print_entry("", e, colour);
  }
  json_array_foreach(json_object_get(doc, "stages"), i, e) {
    print_entry("stage ", e, colour);
  }
}

static int cmd_status(int argc, char **argv) {
  static const struct option longs[] = {
      {"config", required_argument, NULL, 'c'},
      {"redis", required_argument, NULL, 'r'},
      {"json", no_argument, NULL, 'j'},
      {NULL, 0, NULL, 0}};
  static const char *const shown[] = {"breached",  "at_risk",   "open",
                                      "paused",    "met",       "met_late",
                                      "cancelled", "incomplete"};
  const char *config = NULL;
  const char *redis = NULL;
  const char *no_color = getenv("NO_COLOR");
  int as_json = 0;
  int colour =
      isatty(STDOUT_FILENO) && (no_color == NULL || no_color[0] == '\0');
  int rc = EXIT_SUCCESS;
  struct hk_config *cfg;
  struct hk_sla *sla;
  struct hk_store *st;
  struct hk_error err = {HK_E_OK, ""};
  char *text = NULL;
  size_t len = 0;
  json_t *doc = NULL;
  int c;

  while ((c = getopt_long(argc, argv, "c:r:", longs, NULL)) != -1) {
    switch (c) {
    case 'c': config = optarg; break;
    case 'r': redis = optarg; break;
    case 'j': as_json = 1; break;
    default: return bad_usage();
    }
  }
  config = config_or_env(config);
  if (config == NULL || optind != argc) {
    return bad_usage();
  }
  cfg = load_for_redis(config, redis, &rc);
  if (cfg == NULL) {
    return rc;
  }
  sla = hk_sla_new(cfg, &err);
  if (sla == NULL) {
    fprintf(stderr, "%s: %s\n", config, err.msg);
    hk_config_free(cfg);
    return EXIT_CONFIG;
  }
  st = hk_store_new(&cfg->redis);
  if (hk_store_get(st, "kpi:health", &text, &len, &err) != HK_E_OK) {
    fprintf(stderr, "handoffctl: %s\n", err.msg);
    rc = EXIT_UNAVAILABLE;
  } else if (text == NULL) {
    /* As GET /v1/health says before any worker has run. */
    if (as_json) {
      puts("{\"status\":\"amber\",\"reason\":\"handoff health has not been "
           "computed yet: no worker has run\",\"handoffs\":[],\"stages\":[]}");
    } else {
      printf("handoff health: %sAMBER%s: handoff health has not been computed "
             "yet: no worker has run\n",
             paint("amber", colour), colour ? "\033[0m" : "");
    }
    rc = EXIT_AMBER;
  } else if ((doc = json_loadb(text, len, 0, NULL)) == NULL ||
             !json_is_object(doc)) {
    fprintf(stderr, "handoffctl: %skpi:health is not a JSON object\n",
            cfg->redis.prefix);
    rc = EXIT_FAILURE;
  } else {
    rc = exit_for(json_string_value(json_object_get(doc, "status")));
    if (as_json) {
      fwrite(text, 1, len, stdout);
      putchar('\n');
    } else {
      print_health(doc, colour);
    }
  }
  /* Below the verdicts, the clocks of each handoff now, by state. */
  for (size_t i = 0; !as_json && text != NULL && doc != NULL &&
                     rc != EXIT_FAILURE && i < hk_sla_count(sla);
       i++) {
    const struct hk_handoff *h = hk_sla_at(sla, i);
    json_t *cs = NULL;
    if (hk_store_counters(st, hk_handoff_name(h), &cs, &err) != HK_E_OK) {
      fprintf(stderr, "handoffctl: %s\n", err.msg);
      rc = EXIT_UNAVAILABLE;
      break;
    }
    if (i == 0) {
      printf("\n%-30s", "CLOCKS NOW");
      for (size_t k = 0; k < sizeof shown / sizeof shown[0]; k++) {
        printf(" %10s", shown[k]);
      }
      printf("\n");
    }
    printf("%-30s", hk_handoff_name(h));
    for (size_t k = 0; k < sizeof shown / sizeof shown[0]; k++) {
      printf(" %10lld", count_of(cs, shown[k]));
    }
    printf("\n");
    json_decref(cs);
  }
  json_decref(doc);
  free(text);
  hk_store_free(st);
  hk_sla_free(sla);
  hk_config_free(cfg);
  return rc;
}

static int state_of(const char *name) {
  for (int i = 0; i < HK_CLOCK_STATES; i++) {
    if (strcmp(hk_clock_state_name((enum hk_clock_state)i), name) == 0) {
      return i;
    }
  }
  return -1;
}

/* Prints the clocks of one record that pass the filter; returns how many. */
static size_t print_clocks(const struct hk_handoff *h, const char *subject,
                           const char *record, int want, int64_t now,
                           size_t room, int as_json) {
  struct hk_clocks cs = {NULL, 0};
  size_t shown = 0;
  hk_record_clocks(h, record, now, &cs);
  for (size_t i = 0; i < cs.n && shown < room; i++) {
    const struct hk_clock *c = &cs.items[i];
    char a[32], b[32], d[32];
    /* open means running, as in the status API: at risk is open too. */
    int running = c->state == HK_CLOCK_OPEN || c->state == HK_CLOCK_AT_RISK;
    if (want >= 0 && (int)c->state != want &&
        !(want == HK_CLOCK_OPEN && running)) {
      continue;
    }
    shown++;
    if (as_json) {
      json_t *o = json_pack(
          "{s:s, s:s, s:I, s:o, s:o, s:s, s:b, s:O}", "subject", subject,
          "state", hk_clock_state_name(c->state), "started",
          (json_int_t)c->started_ms, "deadline",
          c->deadline_ms == HK_NEVER ? json_null()
                                     : json_integer(c->deadline_ms),
          "stopped",
          c->stopped_ms > 0 ? json_integer(c->stopped_ms) : json_null(),
          "owner", c->owner != NULL ? c->owner : "", "ever_breached",
          c->ever_breached, "missing", c->missing);
      char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
      if (text != NULL) {
        puts(text);
      }
      free(text);
      json_decref(o);
    } else {
      printf("%-28s %-10s %-20s %-20s %-20s %s\n", subject,
             hk_clock_state_name(c->state), iso(c->started_ms, a, sizeof a),
             iso(c->deadline_ms, b, sizeof b), iso(c->stopped_ms, d, sizeof d),
             c->owner != NULL ? c->owner : "");
    }
  }
  hk_clocks_fini(&cs);
  return shown;
}

static int cmd_clocks(int argc, char **argv) {
  static const struct option longs[] = {
      {"config", required_argument, NULL, 'c'},
      {"redis", required_argument, NULL, 'r'},
      {"state", required_argument, NULL, 's'},
      {"limit", required_argument, NULL, 'l'},
      {"json", no_argument, NULL, 'j'},
      {NULL, 0, NULL, 0}};
  const char *config = NULL;
  const char *redis = NULL;
  int want = -1;
  size_t limit = 100;
  size_t shown = 0;
  int as_json = 0;
  int rc = EXIT_SUCCESS;
  char cursor[32] = "0";
  struct hk_config *cfg;
  struct hk_sla *sla;
  const struct hk_handoff *h;
  struct hk_store *st;
  struct hk_error err = {HK_E_OK, ""};
  int64_t now = hk_time_now_ms();
  char *end;
  int c;

  while ((c = getopt_long(argc, argv, "c:r:", longs, NULL)) != -1) {
    switch (c) {
    case 'c': config = optarg; break;
    case 'r': redis = optarg; break;
    case 'j': as_json = 1; break;
    case 's':
      want = state_of(optarg);
      if (want < 0) {
        fprintf(stderr,
                "handoffctl: %s is not a clock state (open, at_risk, "
                "paused, met, breached, met_late, cancelled)\n",
                optarg);
        return EXIT_USAGE;
      }
      break;
    case 'l':
      limit = strtoul(optarg, &end, 10);
      if (*end != '\0' || limit == 0 || limit > 100000) {
        fprintf(stderr, "handoffctl: --limit wants 1 to 100000\n");
        return EXIT_USAGE;
      }
      break;
    default: return bad_usage();
    }
  }
  config = config_or_env(config);
  if (config == NULL || optind + 1 != argc) {
    return bad_usage();
  }
  cfg = load_for_redis(config, redis, &rc);
  if (cfg == NULL) {
    return rc;
  }
  sla = hk_sla_new(cfg, &err);
  if (sla == NULL) {
    fprintf(stderr, "%s: %s\n", config, err.msg);
    hk_config_free(cfg);
    return EXIT_CONFIG;
  }
  h = hk_sla_find(sla, argv[optind]);
  if (h == NULL) {
    fprintf(stderr, "handoffctl: no handoff is named %s in %s\n", argv[optind],
            config);
    hk_sla_free(sla);
    hk_config_free(cfg);
    return EXIT_USAGE;
  }
  st = hk_store_new(&cfg->redis);
  if (!as_json) {
    printf("%-28s %-10s %-20s %-20s %-20s %s\n", "SUBJECT", "STATE", "STARTED",
           "DEADLINE", "STOPPED", "OWNER");
  }
  do {
    struct hk_strings subjects = {NULL, 0};
    struct hk_strings records = {NULL, 0};
    if (hk_store_clocks_scan(st, hk_handoff_name(h), cursor, 500, &subjects,
                             &records, &err) != HK_E_OK) {
      fprintf(stderr, "handoffctl: %s\n", err.msg);
      rc = EXIT_UNAVAILABLE;
      break;
    }
    for (size_t i = 0; i < subjects.n && shown < limit; i++) {
      shown += print_clocks(h, subjects.v[i], records.v[i], want, now,
                            limit - shown, as_json);
    }
    hk_strings_fini(&subjects);
    hk_strings_fini(&records);
  } while (strcmp(cursor, "0") != 0 && shown < limit);
  if (rc == EXIT_SUCCESS && !as_json) {
    fflush(stdout); /* the table first, then the count */
    fprintf(stderr, "%zu clock%s%s\n", shown, shown == 1 ? "" : "s",
            shown == limit ? " (the limit; --limit shows more)" : "");
  }
  hk_store_free(st);
  hk_sla_free(sla);
  hk_config_free(cfg);
  return rc;
}

/* 1 when args (up to a "--") ask for help. */
static int wants_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) {
      return 0;
    }
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      return 1;
    }
  }
  return 0;
}

static const struct command *command_named(const char *name) {
  for (size_t i = 0; name != NULL && i < NCOMMANDS; i++) {
    if (strcmp(commands[i].name, name) == 0) {
      return &commands[i];
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  const char *cmd = argc > 1 ? argv[1] : NULL;
  if (cmd == NULL) {
    return bad_usage();
  }
  if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 ||
      strcmp(cmd, "help") == 0) {
    /* `handoffctl help COMMAND` is `handoffctl COMMAND --help`. */
    const struct command *c = argc > 2 ? command_named(argv[2]) : NULL;
    if (argc > 2 && c == NULL) {
      fprintf(stderr, "handoffctl: unknown command %s\n\n", argv[2]);
      return bad_usage();
    }
    if (c != NULL) {
      print_command_usage(c, stdout);
    } else {
      print_usage(stdout);
    }
    return EXIT_SUCCESS;
  }
  if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
    puts("handoffctl " HK_VERSION);
    return EXIT_SUCCESS;
  }
  current = command_named(cmd);
  if (current == NULL) {
    fprintf(stderr, "handoffctl: unknown command %s\n\n", cmd);
    return bad_usage();
  }
  if (wants_help(argc - 1, argv + 1)) {
    print_command_usage(current, stdout);
    return EXIT_SUCCESS;
  }
  hk_log_init("ctl", HK_LOG_WARN);
  return current->run(argc - 1, argv + 1);
}
