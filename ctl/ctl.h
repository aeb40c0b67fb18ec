/*
 * ctl.h -- handoffctl's internal header: its exit statuses, its command
 * table entry, and the helpers every command group shares.
 *
 * handoffctl is a table of commands (main.c) whose entry points live in
 * one file per group: check.c (check-config), sign.c, queue.c (queue, dlq)
 * status.c (status, clocks) and digest.c. main.c parses what they share
 * (--config,
 * --redis) and prints the usages. Nothing outside ctl/ includes this.
 */
#ifndef HK_CTL_H
#define HK_CTL_H

struct hk_config;

/*
 * Every exit status handoffctl uses, and only those. Users and scripts see
 * these numbers: README.md ("Exit codes") and every --help (exit_help in
 * main.c) list them, so a value never changes. 69 and 78 are sysexits(3)'s
 * EX_UNAVAILABLE and EX_CONFIG; a bad command line is 2, as for every
 * handoff program and most getopt tools, rather than EX_USAGE (64),
 * because 2 is what was documented from the start.
 */
enum hk_ctl_exit {
  /* The command did what it was asked; status: health green. */
  HK_CTL_EXIT_OK = 0,
  /* A runtime failure: a file that cannot be read, a body over the cap, a
   * dead letter that is not there, a reply that is not what it should be. */
  HK_CTL_EXIT_FAILURE = 1,
  /* A bad command line: an unknown command or option, a bad value, a
   * source or handoff the config does not have. */
  HK_CTL_EXIT_USAGE = 2,
  /* status: health amber, or not computed yet (no worker has run). */
  HK_CTL_EXIT_AMBER = 3,
  /* status: health red. */
  HK_CTL_EXIT_RED = 4,
  /* Redis unreachable (sysexits EX_UNAVAILABLE). */
  HK_CTL_EXIT_UNAVAILABLE = 69,
  /* A bad configuration, or a secret the command needs is not set
   * (sysexits EX_CONFIG). */
  HK_CTL_EXIT_CONFIG = 78
};

/* One command: its name, its synopsis (after "handoffctl "), what it does
 * (the --help text), and its entry point, which gets argv from the command
 * name on (argv[0] is the name) and returns the exit status. */
struct hk_ctl_command {
  const char *name;
  const char *synopsis;
  const char *help;
  enum hk_ctl_exit (*run)(int argc, char **argv);
};

/* The entry points, one per command of the table in main.c. */
enum hk_ctl_exit hk_ctl_check_config(int argc, char **argv);
enum hk_ctl_exit hk_ctl_sign(int argc, char **argv);
enum hk_ctl_exit hk_ctl_queue(int argc, char **argv);
enum hk_ctl_exit hk_ctl_dlq(int argc, char **argv);
enum hk_ctl_exit hk_ctl_status(int argc, char **argv);
enum hk_ctl_exit hk_ctl_clocks(int argc, char **argv);
enum hk_ctl_exit hk_ctl_digest(int argc, char **argv);

/* A bad command line: prints the running command's usage (or the whole
 * usage before one is known) on stderr. Returns HK_CTL_EXIT_USAGE. */
enum hk_ctl_exit hk_ctl_bad_usage(void);

/* --config as given, or $HANDOFF_CONFIG when it was not; NULL when
 * neither. Returns a borrowed string. */
const char *hk_ctl_config_or_env(const char *config);

/* Loads the config at path with flags (HK_CONFIG_*), printing every problem
 * on stderr. Returns a new config (hk_config_free it), or NULL. */
struct hk_config *hk_ctl_load(const char *path, unsigned flags);

/* Loads the config for a command that reads Redis, with only the Redis
 * secret read and the address applied: redis (--redis), else as REDIS_HELP
 * in main.c says. Returns a new config, or NULL after saying why with *rc
 * set (HK_CTL_EXIT_CONFIG or HK_CTL_EXIT_USAGE). */
struct hk_config *hk_ctl_load_for_redis(const char *config, const char *redis,
                                        enum hk_ctl_exit *rc);

#endif
