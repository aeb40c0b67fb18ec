/*
 * main.c -- handoffctl: the operator's command line.
 *
 *   handoffctl check-config [--no-secrets] FILE
 *   handoffctl sign [--config FILE] [--id ID] [--timestamp T] SOURCE [BODY]
 *   handoffctl queue [--config FILE] [--redis ADDR]
 *   handoffctl dlq list|retry [--config FILE] [--redis ADDR] …
 *   handoffctl status [--config FILE] [--redis ADDR] [--json] [--by DIM]
 *   handoffctl clocks HANDOFF [--config FILE] [--state S] [--limit N] [--json]
 *   handoffctl restate [--config FILE] [--redis ADDR] [--apply] NEW.json
 *   handoffctl replay [--config FILE] [--redis ADDR] --from TIME [--source S]
 *   handoffctl forget SUBJECT [--config FILE] [--redis ADDR] [--timeout DUR]
 *   handoffctl digest --preview NAME [--config FILE] [--redis ADDR] [--json]
 *   handoffctl COMMAND --help
 *
 * check-config prints every problem of the file, one per line, and exits
 * 78 when there is any (like `nginx -t`, it is safe to run before a reload).
 * sign prints the headers the source's provider would send with BODY (a
 * file, or - / nothing for stdin), ready for `curl -H @-`; it reads that
 * source's secret and no other. --config defaults to $HANDOFF_CONFIG, and
 * the commands that read Redis find it as REDIS_HELP says, so that after
 * eval "$(deploy/dev env)" the dev stack needs no flag at all.
 *
 * This file holds main, the command table and its dispatch, the usages,
 * and the option parsing the commands share (--config, --redis); each
 * command group is a file of its own (ctl.h lists them).
 */
#include <getopt.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "ctl/ctl.h"
#include "store/store.h"
#include "journey/journey.h"

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

/* The exit statuses for every usage: enum hk_ctl_exit in ctl.h, in words. */
static const char exit_help[] =
    "Exit status: 0 success, 1 runtime failure, 2 bad command line,\n"
    "3 and 4 health amber and red (status), 69 Redis unreachable,\n"
    "78 bad configuration (or a secret the command needs is not set).\n";

/* The commands, in the order of the usage. */
static const struct hk_ctl_command commands[] = {
    {"check-config", "check-config [--no-secrets] FILE",
     "        Validate a configuration; print every problem as\n"
     "        FILE: $.json.path: message. --no-secrets skips reading the\n"
     "        environment variables and files that hold secrets.\n",
     hk_ctl_check_config},
    {"sign", "sign [--config FILE] [--id ID] [--timestamp UNIX] SOURCE [BODY]",
     "        Print the headers SOURCE's provider would send with BODY (a\n"
     "        file; stdin when - or absent), one per line, signed with the\n"
     "        source's first secret that is set: standard-webhooks, stripe,\n"
     "        hubspot (v3, for its public_url), paddle or hmac. Only that\n"
     "        source's secret is read (for the dev stack's:\n"
     "        eval \"$(deploy/dev env)\").\n",
     hk_ctl_sign},
    {"queue", "queue [--config FILE] [--redis ADDR]",
     "        Show the intake queue: length, pending, lag, "
     "processed.\n" REDIS_HELP,
     hk_ctl_queue},
    {"status", "status [--config FILE] [--redis ADDR] [--json] [--by DIM]",
     "        Handoff health as the workers last computed it (GET /v1/health\n"
     "        without the queue): the overall status and why, then each\n"
     "        handoff and stage with its status, owner, reason and each\n"
     "        KPI's text, and each handoff's clocks by state now. Colour on\n"
     "        a terminal unless NO_COLOR is set; --json prints the health\n"
     "        document. --by owner (or another dimension of a handoff's\n"
     "        group_by) then shows each such handoff's figures over 30 days\n"
     "        per value, top values first and the rest as other (with\n"
     "        --json, after the health document, one document a line).\n"
     "        Exits 0 green, 3 amber (or not computed yet), 4 "
     "red.\n" REDIS_HELP,
     hk_ctl_status},
    {"clocks",
     "clocks HANDOFF [--config FILE] [--redis ADDR] [--state STATE]\n"
     "         [--limit N] [--json]",
     "        The clocks of one handoff as of now: subject, state, start,\n"
     "        deadline, stop, owner. STATE is open (every running clock,\n"
     "        at risk included, as in the status API), at_risk, paused,\n"
     "        met, breached, met_late or cancelled.\n" REDIS_HELP,
     hk_ctl_clocks},
    {"digest", "digest --preview NAME [--config FILE] [--redis ADDR] [--json]",
     "        The weekly review digests.NAME as the workers would post it\n"
     "        now: each KPI of the handoffs and stages it covers, reds\n"
     "        first, with owner, target, value, verdict, action plan and\n"
     "        what changed since the last digest posted. Posts nothing.\n"
     "        --json prints the document the webhook notifier "
     "gets.\n" REDIS_HELP,
     hk_ctl_digest},
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
     hk_ctl_dlq},
    {"restate",
     "restate [--config FILE] [--redis ADDR] [--apply] [--timeout DUR]\n"
     "         NEW.json\n"
     "       handoffctl restate [--config FILE] [--redis ADDR] --abort",
     "        Recompute every clock, bucket, stage record and KPI document\n"
     "        from the kept journey events under NEW.json (checked as\n"
     "        check-config does) into a shadow, while the workers go on and\n"
     "        apply new events to both; a progress bar on a terminal. Then\n"
     "        print per handoff and stage the figures as measured and as\n"
     "        restated (* where they differ). Without --apply the shadow is\n"
     "        dropped and nothing live changes; with --apply NEW.json\n"
     "        replaces FILE and the service switches to the restated state\n"
     "        at once (workers and handoff-fcgi reload, no restart).\n"
     "        --timeout gives up (and drops the shadow) after DUR.\n"
     "        --abort ends a restate whose handoffctl was killed.\n" REDIS_HELP,
     hk_ctl_restate},
    {"replay", "replay [--config FILE] [--redis ADDR] --from TIME [--source S]",
     "        Queue again the deliveries the intake stream still keeps\n"
     "        (intake.keep) from TIME on (ISO 8601 or ms since the epoch),\n"
     "        of source S only when given, through the current mapping (a\n"
     "        fixed rule, a new preset): events already made are not made\n"
     "        twice. Waits for the workers and prints how many new events\n"
     "        the replay made.\n" REDIS_HELP,
     hk_ctl_replay},
    {"forget", "forget SUBJECT [--config FILE] [--redis ADDR] [--timeout DUR]",
     "        Erase a subject (a right-to-erasure request): its journey\n"
     "        events, clocks, stage records, the dead letters and the raw\n"
     "        deliveries that name it, and its counts in every KPI. A\n"
     "        worker carries it out, logging the OS user who asked; this\n"
     "        waits until it is done (at most DUR, 2m by default; on a\n"
     "        terminal it shows how long it has waited) and prints what\n"
     "        was removed. Forgetting twice, or a subject never seen, is\n"
     "        fine. Exits 1 when no worker did it in time (the request\n"
     "        stays queued).\n" REDIS_HELP,
     hk_ctl_forget},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

/* The command main is running, for the usage its errors print. */
static const struct hk_ctl_command *current;

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
static void print_command_usage(const struct hk_ctl_command *c, FILE *f) {
  fprintf(f, "usage: handoffctl %s\n\n%s", c->synopsis, c->help);
  if (strstr(c->synopsis, "--config") != NULL) {
    fputs("        --config FILE defaults to $HANDOFF_CONFIG.\n", f);
  }
  fprintf(f, "\n%s", exit_help);
}

enum hk_ctl_exit hk_ctl_bad_usage(void) {
  if (current != NULL) {
    print_command_usage(current, stderr);
  } else {
    print_usage(stderr);
  }
  return HK_CTL_EXIT_USAGE;
}

const char *hk_ctl_config_or_env(const char *config) {
  const char *env = getenv("HANDOFF_CONFIG");
  if (config == NULL && env != NULL && env[0] != '\0') {
    config = env;
  }
  return config;
}

struct hk_config *hk_ctl_load(const char *path, unsigned flags) {
  struct hk_config *cfg = NULL;
  struct hk_config_diag diag = {NULL, 0};
  enum hk_err rc = hk_config_load(path, flags, &cfg, &diag);
  for (size_t i = 0; i < diag.n; i++) {
    fprintf(stderr, "%s\n", diag.lines[i]);
  }
  hk_config_diag_fini(&diag);
  return rc == HK_E_OK ? cfg : NULL;
}

/* ---------------------------------------------------------------------------
 * --redis: where the commands that read Redis find it
 * ------------------------------------------------------------------------- */

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

struct hk_config *hk_ctl_load_for_redis(const char *config, const char *redis,
                                        enum hk_ctl_exit *rc) {
  struct hk_error err = {HK_E_OK, ""};
  struct hk_config *cfg =
      hk_ctl_load(config, HK_CONFIG_NO_SECRETS | HK_CONFIG_REDIS_SECRET);
  const char *from = "--redis";
  char *addr = NULL;
  if (cfg == NULL) {
    *rc = HK_CTL_EXIT_CONFIG;
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
    *rc = HK_CTL_EXIT_USAGE;
  }
  free(addr);
  return cfg;
}

/* ---------------------------------------------------------------------------
 * Dispatch
 * ------------------------------------------------------------------------- */

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

static const struct hk_ctl_command *command_named(const char *name) {
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
    return hk_ctl_bad_usage();
  }
  if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 ||
      strcmp(cmd, "help") == 0) {
    /* `handoffctl help COMMAND` is `handoffctl COMMAND --help`. */
    const struct hk_ctl_command *c = argc > 2 ? command_named(argv[2]) : NULL;
    if (argc > 2 && c == NULL) {
      fprintf(stderr, "handoffctl: unknown command %s\n\n", argv[2]);
      return hk_ctl_bad_usage();
    }
    if (c != NULL) {
      print_command_usage(c, stdout);
    } else {
      print_usage(stdout);
    }
    return HK_CTL_EXIT_OK;
  }
  if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
    puts("handoffctl " HK_VERSION);
    return HK_CTL_EXIT_OK;
  }
  current = command_named(cmd);
  if (current == NULL) {
    fprintf(stderr, "handoffctl: unknown command %s\n\n", cmd);
    return hk_ctl_bad_usage();
  }
  if (wants_help(argc - 1, argv + 1)) {
    print_command_usage(current, stdout);
    return HK_CTL_EXIT_OK;
  }
  hk_log_init("ctl", HK_LOG_WARN);
  return (int)current->run(argc - 1, argv + 1);
}
