/*
 * main.c -- handoff-fcgi: the FastCGI responder behind nginx.
 *
 * Listens on a unix socket or a loopback TCP port (--listen), or on the
 * socket passed as fd 0 when started by spawn-fcgi. SIGTERM and SIGINT stop
 * it gracefully, SIGHUP reloads the config (a bad new config is reported
 * and the running one kept).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "fcgi/server.h"

static const char usage[] =
    "usage: handoff-fcgi --config FILE [options]\n"
    "\n"
    "Verifies and queues webhooks, and serves the status API, as a FastCGI\n"
    "responder behind nginx.\n"
    "\n"
    "  -c, --config FILE      the JSON configuration (required)\n"
    "  -l, --listen ADDR      unix:/path/to.sock, /path/to.sock or HOST:PORT;\n"
    "                         without it, the socket passed as fd 0 "
    "(spawn-fcgi)\n"
    "  -m, --socket-mode MODE permissions of a unix socket (octal, default "
    "0660)\n"
    "  -t, --threads N        threads, each serving one nginx connection at a\n"
    "                         time, kept ones included (default 128); keep it\n"
    "                         above nginx's workers x the upstream's "
    "keepalive\n"
    "                         plus the requests in flight at peak\n"
    "  -r, --redis ADDR       override the config's redis: unix:/path or "
    "HOST:PORT\n"
    "      --log-level LEVEL  debug, info, warn or error (default info)\n"
    "      --log-format FMT   logfmt (default) or json: one object a line\n"
    "  -h, --help             this text\n"
    "  -V, --version          the version\n"
    "\n"
    "Signals: SIGTERM/SIGINT stop after the requests in hand, SIGHUP reloads\n"
    "the config, SIGUSR1 is ignored. Exit status: 0 stopped cleanly, 1\n"
    "runtime failure, 2 bad command line, 78 bad configuration.\n";

#define EXIT_USAGE 2
#define EXIT_CONFIG 78

struct options {
  const char *config;
  const char *listen;
  const char *redis;
  unsigned long mode;
  unsigned long threads;
};

/* Loads the config and compiles its handoffs (*sla), as the worker will:
 * a config whose calendars do not compile is refused here too. */
static struct hk_config *load(const struct options *o, struct hk_sla **sla) {
  struct hk_config *cfg = NULL;
  struct hk_config_diag diag = {NULL, 0};
  struct hk_error err = {HK_E_OK, ""};
  enum hk_err rc = hk_config_load(o->config, 0, &cfg, &diag);
  for (size_t i = 0; i < diag.n; i++) {
    hk_log(HK_LOG_ERROR, "invalid configuration", "error", diag.lines[i],
           (const char *)NULL);
  }
  hk_config_diag_fini(&diag);
  if (rc != HK_E_OK) {
    return NULL;
  }
  if (o->redis != NULL && hk_config_set_redis(cfg, o->redis, &err) != HK_E_OK) {
    hk_log(HK_LOG_ERROR, err.msg, (const char *)NULL);
    hk_config_free(cfg);
    return NULL;
  }
  *sla = hk_sla_new(cfg, &err);
  if (*sla == NULL) {
    hk_log(HK_LOG_ERROR, "invalid configuration", "error", err.msg,
           (const char *)NULL);
    hk_config_free(cfg);
    return NULL;
  }
  return cfg;
}

/* Reads the config generation of Redis ({prefix}gen): 1 when it moved on
 * from *gen (set to it), which handoffctl restate --apply does after
 * replacing the config file. Redis unreachable: 0, nothing changes. */
static int generation_moved(struct hk_store *st, int64_t *gen) {
  struct hk_error err = {HK_E_OK, ""};
  json_t *marker = NULL;
  int64_t now = *gen;
  int moved =
      hk_store_restate_poll(st, &now, &marker, &err) == HK_E_OK && now != *gen;
  json_decref(marker);
  if (moved) {
    *gen = now;
  }
  return moved;
}

static int open_listener(const struct options *o) {
  const char *addr = o->listen;
  int fd;
  if (addr == NULL) {
    struct stat sb;
    if (fstat(0, &sb) != 0 || !S_ISSOCK(sb.st_mode)) {
      hk_log(HK_LOG_ERROR,
             "no --listen given and fd 0 is not a socket (spawn-fcgi passes "
             "one)",
             (const char *)NULL);
      return -1;
    }
    return 0;
  }
  if (strncmp(addr, "unix:", 5) == 0) {
    addr += 5;
  }
  fd = FCGX_OpenSocket(addr, 1024);
  if (fd < 0) {
    hk_log(HK_LOG_ERROR, "cannot listen", "listen", o->listen,
           (const char *)NULL);
    return -1;
  }
  if (addr[0] == '/' && chmod(addr, (mode_t)o->mode) != 0) {
    hk_log(HK_LOG_ERROR, "cannot set the socket's mode", "listen", addr,
           (const char *)NULL);
    close(fd);
    return -1;
  }
  return fd;
}

static int parse(int argc, char **argv, struct options *o) {
  static const struct option longs[] = {
      {"config", required_argument, NULL, 'c'},
      {"listen", required_argument, NULL, 'l'},
      {"socket-mode", required_argument, NULL, 'm'},
      {"threads", required_argument, NULL, 't'},
      {"redis", required_argument, NULL, 'r'},
      {"log-level", required_argument, NULL, 'L'},
      {"log-format", required_argument, NULL, 'F'},
      {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},
      {NULL, 0, NULL, 0}};
  int c;
  char *end;
  o->mode = 0660;
  o->threads = 128;
  while ((c = getopt_long(argc, argv, "c:l:m:t:r:hV", longs, NULL)) != -1) {
    switch (c) {
    case 'c': o->config = optarg; break;
    case 'l': o->listen = optarg; break;
    case 'r': o->redis = optarg; break;
    case 'm':
      o->mode = strtoul(optarg, &end, 8);
      if (*end != '\0' || o->mode > 0777) {
        fprintf(stderr, "handoff-fcgi: --socket-mode wants an octal mode\n");
        return EXIT_USAGE;
      }
      break;
    case 't':
      o->threads = strtoul(optarg, &end, 10);
      if (*end != '\0' || o->threads == 0 || o->threads > 1024) {
        fprintf(stderr, "handoff-fcgi: --threads wants 1 to 1024\n");
        return EXIT_USAGE;
      }
      break;
    case 'L': {
      int level = hk_log_level_parse(optarg);
      if (level < 0) {
        fprintf(stderr, "handoff-fcgi: unknown log level %s\n", optarg);
        return EXIT_USAGE;
      }
      hk_log_init("fcgi", (enum hk_log_level)level);
      break;
    }
    case 'F': {
      int style = hk_log_style_parse(optarg);
      if (style < 0) {
        fprintf(stderr, "handoff-fcgi: --log-format wants logfmt or json\n");
        return EXIT_USAGE;
      }
      hk_log_set_style((enum hk_log_style)style);
      break;
    }
    case 'h': fputs(usage, stdout); return EXIT_SUCCESS + 256;
    case 'V': puts("handoff-fcgi " HK_VERSION); return EXIT_SUCCESS + 256;
    default: fputs(usage, stderr); return EXIT_USAGE;
    }
  }
  if (optind != argc || o->config == NULL) {
    fprintf(stderr, "handoff-fcgi: %s\n\n%s",
            o->config == NULL ? "--config is required" : "unexpected argument",
            usage);
    return EXIT_USAGE;
  }
  return -1;
}

/* Signals go to the main thread's sigwait only (set: the ones it waits
 * for); the request threads inherit the mask. A client that hangs up must
 * not kill us with SIGPIPE. SIGUSR1 stays blocked everywhere and is never
 * waited for: libfcgi's handler for it makes every later accept fail,
 * which would end the request threads one by one while the process kept
 * running. */
static void block_signals(sigset_t *set) {
  sigset_t usr1;
  signal(SIGPIPE, SIG_IGN);
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &usr1, NULL);
  sigemptyset(set);
  sigaddset(set, SIGTERM);
  sigaddset(set, SIGINT);
  sigaddset(set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, set, NULL);
}

int main(int argc, char **argv) {
  struct options o;
  struct hk_config *cfg;
  struct hk_sla *sla = NULL;
  sigset_t set;
  int fd;
  int rc;
  int sig = 0;
  struct hk_store *gen_store;
  int64_t gen = 0;

  memset(&o, 0, sizeof o);
  hk_log_init("fcgi", HK_LOG_INFO);
  rc = parse(argc, argv, &o);
  if (rc >= 256) {
    return rc - 256;
  }
  if (rc >= 0) {
    return rc;
  }
  cfg = load(&o, &sla);
  if (cfg == NULL) {
    return EXIT_CONFIG;
  }
  fd = open_listener(&o);
  if (fd < 0) {
    hk_sla_free(sla);
    hk_config_free(cfg);
    return EXIT_FAILURE;
  }
  hk_server_set_config(cfg, sla);
  /* The config generation of Redis, read about once a second: a
   * restate's --apply moves it on after replacing the config file, and
   * the file is loaded again as for SIGHUP. */
  gen_store = hk_store_new(&cfg->redis);
  (void)generation_moved(gen_store, &gen);

  block_signals(&set);

  if (hk_server_start(fd, o.threads) != 0) {
    hk_log(HK_LOG_ERROR, "cannot start the request threads",
           (const char *)NULL);
    return EXIT_FAILURE;
  }
  {
    char threads[24];
    snprintf(threads, sizeof threads, "%lu", o.threads);
    hk_log(HK_LOG_INFO, "listening", "listen",
           o.listen != NULL ? o.listen : "fd:0", "threads", threads, "config",
           o.config, "version", HK_VERSION, (const char *)NULL);
  }
  for (;;) {
    struct timespec second = {1, 0};
    sig = sigtimedwait(&set, NULL, &second);
    if (sig < 0 && !generation_moved(gen_store, &gen)) {
      continue;
    }
    if (sig < 0) {
      sig = SIGHUP; /* the file was replaced: load it again */
      hk_log(HK_LOG_INFO, "config generation moved on; reloading",
             (const char *)NULL);
    }
    if (sig == SIGHUP) {
      struct hk_sla *next_sla = NULL;
      struct hk_config *next = load(&o, &next_sla);
      if (next != NULL) {
        hk_server_set_config(next, next_sla);
        hk_log(HK_LOG_INFO, "configuration reloaded", "config", o.config,
               (const char *)NULL);
      } else {
        hk_log(HK_LOG_ERROR, "reload refused; the running configuration stays",
               "config", o.config, (const char *)NULL);
      }
      continue;
    }
    break;
  }
  hk_log(HK_LOG_INFO, "stopping: finishing the requests in hand", "signal",
         sig == SIGINT ? "SIGINT" : "SIGTERM", (const char *)NULL);
  hk_server_stop();
  hk_server_clear_config();
  hk_store_free(gen_store);
  close(fd);
  if (o.listen != NULL &&
      (o.listen[0] == '/' || strncmp(o.listen, "unix:", 5) == 0)) {
    unlink(o.listen[0] == '/' ? o.listen : o.listen + 5);
  }
  hk_log(HK_LOG_INFO, "stopped", (const char *)NULL);
  return EXIT_SUCCESS;
}
