/*
 * main.c -- handoff-worker: turns queued deliveries into work.
 *
 * Run as many as needed, on as many hosts as needed: they share the intake
 * stream as one Redis consumer group. SIGTERM or SIGINT stops a worker once
 * the batch in hand is finished and acknowledged.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workers/workers.h"

static const char usage[] =
    "usage: handoff-worker --config FILE [options]\n"
    "\n"
    "Reads the intake queue as a member of the Redis consumer group\n"
    "\"workers\", processes each delivery and acknowledges it.\n"
    "\n"
    "  -c, --config FILE     the JSON configuration (required)\n"
    "  -n, --name NAME       consumer name (default HOSTNAME-PID)\n"
    "  -b, --batch N         deliveries read at once (default 100)\n"
    "      --claim-idle DUR  take over deliveries another worker left\n"
    "                        unacknowledged this long (default 30s)\n"
    "      --throttle DUR    pause after each delivery (default 0)\n"
    "      --threads N       consumers in this process, NAME/1..NAME/N, each\n"
    "                        with its own Redis connection (default 1)\n"
    "      --kpi-every DUR   write the status API's KPI and health documents\n"
    "                        this often, taking turns with other workers\n"
    "                        (default 2s; 0s: never)\n"
    "      --retention-every DUR  trim what aged out (intake.keep,\n"
    "                        history.keep, dlq.keep) this often, taking\n"
    "                        turns with other workers (default 1m)\n"
    "  -r, --redis ADDR      override the config's redis: unix:/path or "
    "HOST:PORT\n"
    "      --log-level LEVEL debug, info, warn or error (default info)\n"
    "      --log-format FMT  logfmt (default) or json: one object a line\n"
    "  -h, --help            this text\n"
    "  -V, --version         the version\n"
    "\n"
    "Signals: SIGTERM/SIGINT stop after the batch in hand, SIGHUP reloads\n"
    "the whole config, Redis and notifiers too, between two batches (a bad\n"
    "config is refused and the running one kept).\n"
    "Exit status: 0 stopped cleanly, 1 runtime failure, 2 bad command line,\n"
    "78 bad configuration.\n";

#define EXIT_USAGE 2
#define EXIT_CONFIG 78

static volatile int stop_flag;
static volatile int reload_flag;
static const char *config_path;
static const char *redis_addr;

static void on_stop(int sig) {
  (void)sig;
  stop_flag = 1;
}

static void on_hup(int sig) {
  (void)sig;
  reload_flag = 1;
}

/* Loads the config file, every problem logged; NULL when it is bad. */
static struct hk_config *load(void) {
  struct hk_config *cfg = NULL;
  struct hk_config_diag diag = {NULL, 0};
  struct hk_error err = {HK_E_OK, ""};
  enum hk_err rc = hk_config_load(config_path, 0, &cfg, &diag);
  for (size_t i = 0; i < diag.n; i++) {
    hk_log(HK_LOG_ERROR, "invalid configuration", "error", diag.lines[i],
           (const char *)NULL);
  }
  hk_config_diag_fini(&diag);
  if (rc == HK_E_OK && redis_addr != NULL &&
      hk_config_set_redis(cfg, redis_addr, &err) != HK_E_OK) {
    hk_log(HK_LOG_ERROR, err.msg, (const char *)NULL);
    hk_config_free(cfg);
    cfg = NULL;
  }
  return cfg;
}

static int duration_arg(const char *name, const char *v, int64_t *ms) {
  if (hk_duration_parse(v, ms) != 0) {
    fprintf(stderr, "handoff-worker: %s wants a duration such as 30s, not %s\n",
            name, v);
    return -1;
  }
  return 0;
}

/* Reads the command line into o, *config and *redis. Returns -1 to go
 * on, else the exit status main returns (after --help, --version or a
 * usage error, which it has printed). */
static int parse_args(int argc, char **argv, struct hk_worker_opts *o,
                      const char **config, const char **redis) {
  static const struct option longs[] = {
      {"config", required_argument, NULL, 'c'},
      {"name", required_argument, NULL, 'n'},
      {"batch", required_argument, NULL, 'b'},
      {"claim-idle", required_argument, NULL, 'I'},
      {"throttle", required_argument, NULL, 'T'},
      {"threads", required_argument, NULL, 't'},
      {"kpi-every", required_argument, NULL, 'K'},
      {"retention-every", required_argument, NULL, 'R'},
      {"redis", required_argument, NULL, 'r'},
      {"log-level", required_argument, NULL, 'L'},
      {"log-format", required_argument, NULL, 'F'},
      {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},
      {NULL, 0, NULL, 0}};
  char *end;
  int c;
  while ((c = getopt_long(argc, argv, "c:n:b:r:hV", longs, NULL)) != -1) {
    switch (c) {
    case 'c': *config = optarg; break;
    case 'n': o->consumer = optarg; break;
    case 'r': *redis = optarg; break;
    case 'b':
      o->batch = strtoul(optarg, &end, 10);
      if (*end != '\0' || o->batch == 0 || o->batch > HK_CAP_BATCH) {
        fprintf(stderr, "handoff-worker: --batch wants 1 to %u\n",
                HK_CAP_BATCH);
        return EXIT_USAGE;
      }
      break;
    case 'I':
      if (duration_arg("--claim-idle", optarg, &o->claim_idle_ms) != 0) {
        return EXIT_USAGE;
      }
      break;
    case 'T':
      if (duration_arg("--throttle", optarg, &o->throttle_ms) != 0) {
        return EXIT_USAGE;
      }
      break;
    case 'K':
      if (duration_arg("--kpi-every", optarg, &o->kpi_every_ms) != 0) {
        return EXIT_USAGE;
      }
      break;
    case 'R':
      if (duration_arg("--retention-every", optarg, &o->retention_every_ms) !=
          0) {
        return EXIT_USAGE;
      }
      break;
    case 't':
      o->threads = strtoul(optarg, &end, 10);
      if (*end != '\0' || o->threads == 0 || o->threads > 64) {
        fprintf(stderr, "handoff-worker: --threads wants 1 to 64\n");
        return EXIT_USAGE;
      }
      break;
    case 'L': {
      int level = hk_log_level_parse(optarg);
      if (level < 0) {
        fprintf(stderr, "handoff-worker: unknown log level %s\n", optarg);
        return EXIT_USAGE;
      }
      hk_log_init("worker", (enum hk_log_level)level);
      break;
    }
    case 'F': {
      int style = hk_log_style_parse(optarg);
      if (style < 0) {
        fprintf(stderr, "handoff-worker: --log-format wants logfmt or json\n");
        return EXIT_USAGE;
      }
      hk_log_set_style((enum hk_log_style)style);
      break;
    }
    case 'h': fputs(usage, stdout); return EXIT_SUCCESS;
    case 'V': puts("handoff-worker " HK_VERSION); return EXIT_SUCCESS;
    default: fputs(usage, stderr); return EXIT_USAGE;
    }
  }
  if (optind != argc || *config == NULL) {
    fprintf(stderr, "handoff-worker: %s\n\n%s",
            *config == NULL ? "--config is required" : "unexpected argument",
            usage);
    return EXIT_USAGE;
  }
  return -1;
}

/* SIGTERM and SIGINT stop, SIGHUP reloads, SIGPIPE is ignored. */
static void install_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sa.sa_handler = on_hup;
  sigaction(SIGHUP, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv) {
  struct hk_worker_opts o = {.batch = 100,
                             .block_ms = 500,
                             .claim_idle_ms = 30000,
                             .threads = 1,
                             .kpi_every_ms = 2000,
                             .reload = &reload_flag,
                             .load = load};
  struct hk_config *cfg = NULL;
  const char *config = NULL;
  const char *redis = NULL;
  char name[128];
  enum hk_err rc;
  int done;

  hk_log_init("worker", HK_LOG_INFO);
  done = parse_args(argc, argv, &o, &config, &redis);
  if (done >= 0) {
    return done;
  }
  config_path = config;
  redis_addr = redis;
  cfg = load();
  if (cfg == NULL) {
    return EXIT_CONFIG;
  }
  if (o.consumer == NULL) {
    char host[64] = "worker";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    snprintf(name, sizeof name, "%s-%ld", host, (long)getpid());
    o.consumer = name;
  }
  install_signals();

  hk_log(HK_LOG_INFO, "started", "consumer", o.consumer, "config", config,
         "version", HK_VERSION, (const char *)NULL);
  rc = hk_worker_run(cfg, &o, &stop_flag);
  hk_log(HK_LOG_INFO, "stopped", "consumer", o.consumer, (const char *)NULL);
  hk_config_free(cfg);
  if (rc == HK_E_CONFIG) {
    return EXIT_CONFIG;
  }
  return rc == HK_E_OK ? EXIT_SUCCESS : EXIT_FAILURE;
}
