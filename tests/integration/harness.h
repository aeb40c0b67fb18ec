/*
 * harness.h -- the integration harness: a real redis-server, nginx with the
 * shipped snippet, handoff-fcgi and handoff-worker from this build, on free
 * loopback ports in a temporary folder, and HTTP through libcurl.
 *
 * Every process is started with PR_SET_PDEATHSIG, so it dies with the test
 * process even when the test crashes; hk_stack_down stops them in order
 * when the test ends, failed or not.
 */
#ifndef HK_TESTS_HARNESS_H
#define HK_TESTS_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HK_TEST_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define HK_TEST_TOKEN "test-token-5f1c2e"
/* A token with scopes read and admin (DELETE /v1/subjects/…). */
#define HK_TEST_ADMIN_TOKEN "test-admin-9a3d71"
/* api.mount's default, without its final "/": hk_http puts it before
 * every path. */
#define HK_TEST_MOUNT "/handoff"

struct hk_stack {
  char dir[256];
  int redis_port;
  int http_port;
  char fcgi_sock[300];
  pid_t redis;
  pid_t fcgi;
  pid_t nginx;
  pid_t workers[4];
  char worker_logs[4][300];
};

extern struct hk_stack stack;

/* When set before hk_stack_up, the "redis" member of the config (e.g.
 * "\"redis\": {\"sentinel\": …},") in place of the stack's own Redis, and
 * handoff-fcgi and the workers get no --redis: they find Redis as the
 * config says. NULL: the stack's Redis. */
extern const char *hk_stack_redis_json;

/* When set before hk_stack_up, handoff-fcgi's --threads (NULL: its
 * default). */
extern const char *hk_stack_fcgi_threads;

/* Starts redis, handoff-fcgi and nginx; extra_config is spliced into the
 * JSON config (e.g. "\"intake\": {\"max_body_bytes\": 4096},"), or "". */
void hk_stack_up(const char *extra_config);
/* The same with more sources: extra_sources is spliced after the "demo"
 * source (start it with a comma). */
void hk_stack_up_with(const char *extra_config, const char *extra_sources);
/* Locations of the server block's own (nginx text), written before the
 * snippet's include by the next hk_stack_up; hk_stack_down forgets them. */
void hk_stack_site(const char *locations);
/* More keys of the config's "api" object for the next hk_stack_up, each
 * with its leading comma (e.g. ", \"public_url\": \"https://h.example\""),
 * or "" (the default). */
extern const char *hk_stack_api_extra;
/* Stops everything that was started and removes the folder. */
void hk_stack_down(void);
/* Criterion init/fini with the default config. */
void hk_stack_up_default(void);

void hk_redis_stop(void);
void hk_redis_start(void);
void hk_fcgi_stop(void);

/* Starts worker slot i with extra arguments (NULL-terminated). */
void hk_worker_start(int i, const char *const *extra);
/* Sends sig to worker i and waits for it; returns its exit status or
 * 128+signal. */
int hk_worker_stop(int i, int sig);
/* Counts lines of worker i's log containing needle. */
size_t hk_worker_log_count(int i, const char *needle);
/* 1 when worker i's log has a line with both a and b. */
int hk_worker_log_has(int i, const char *a, const char *b);

struct hk_resp {
  long status;
  char body[65536];
  char content_type[128];
  char retry_after[32];
  char allow[64];
};

/* One HTTP request to nginx at path, under the mount (HK_TEST_MOUNT).
 * headers is NULL-terminated ("Name: value"). Returns 0, or -1 when no
 * HTTP answer came. */
int hk_http(const char *method, const char *path, const char *const *headers,
            const char *body, size_t len, struct hk_resp *out);
/* The same at path as given: any path of the host. */
int hk_http_host(const char *method, const char *path,
                 const char *const *headers, const char *body, size_t len,
                 struct hk_resp *out);

/* POSTs body to /hooks/{source} signed with secret as a Standard Webhooks
 * sender would, at unix time ts with message id. */
int hk_post_signed(const char *source, const char *secret, const char *id,
                   int64_t ts, const char *body, struct hk_resp *out);

/* The same with the headers given as they are (for tampering). */
int hk_post_raw(const char *source, const char *id, int64_t ts, const char *sig,
                const char *body, struct hk_resp *out);

/* The webhook-signature value a Standard Webhooks sender would send. */
void hk_sign(const char *secret, const char *id, int64_t ts, const char *body,
             char *out, size_t cap);

/* The JSON error code of a response body ("" when none). */
const char *hk_error_code(const struct hk_resp *r, char *buf, size_t n);

/* One integer from Redis (e.g. XLEN handoff:intake); -1 on error. */
long long hk_redis_int(const char *fmt, ...);

/* Runs this build's handoffctl with args (a shell fragment) against the
 * stack's config and Redis; returns its exit status, its stdout and stderr
 * in out (cap bytes, always terminated). */
int hk_ctl(const char *args, char *out, size_t cap);

/* One string from Redis (caller frees), or NULL on error or another
 * type. */
char *hk_redis_str(const char *fmt, ...);

/* Waits until cond() is true or ms elapse; returns cond()'s last value. */
int hk_wait_until(int (*cond)(void), int ms);

int64_t hk_now_s(void);
int64_t hk_now_ms(void);

/* POSTs to /hooks/demo, signed, the journey event
 * {"type": type, "timestamp": at_ms, "data": {"company_id": "COMPANY"
 * EXTRA}} (extra: more members of data, each with its leading comma, or
 * ""), and asserts the 202. */
void hk_post_event(const char *type, int company, int64_t at_ms,
                   const char *extra);

/* Process and port helpers the suites that start servers of their own
 * share: a free loopback TCP port; whether one accepts a connection;
 * whether a unix socket accepts one (a socket file exists from bind(), a
 * moment before listen()); argv started with stdout and stderr appended
 * to log, the child killed when the test process dies. */
int hk_free_port(void);
/* A TCP connection to 127.0.0.1:port: its fd, or -1. */
int hk_connect_loopback(int port);
int hk_port_open(int port);
int hk_unix_accepts(const char *path);
pid_t hk_spawn(const char *const *argv, const char *log);

#endif
