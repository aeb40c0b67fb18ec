/*
 * harness.c -- starting, stopping and talking to the real stack.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

struct hk_stack stack;

static void msleep(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

int64_t hk_now_s(void) {
  return (int64_t)time(NULL);
}

int64_t hk_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void hk_post_event(const char *type, int company, int64_t at_ms,
                   const char *extra) {
  static int seq;
  char id[64];
  char body[1024];
  struct hk_resp r;
  snprintf(id, sizeof id, "msg_%d_%d", company, ++seq);
  snprintf(body, sizeof body,
           "{\"type\":\"%s\",\"timestamp\":%lld,\"data\":{\"company_id\":"
           "\"%d\"%s}}",
           type, (long long)at_ms, company, extra);
  cr_assert_eq(hk_post_signed("demo", HK_TEST_SECRET, id, hk_now_s(), body, &r),
               0);
  cr_assert_eq(r.status, 202, "%s", r.body);
}

/* The first port of the kernel's ephemeral range, the one outgoing
 * connections take their local ports from (32768 when unreadable). */
static int ephemeral_low(void) {
  int low = 32768;
  int high = 0;
  FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
  if (f != NULL) {
    if (fscanf(f, "%d %d", &low, &high) != 2 || low <= 11024) {
      low = 32768;
    }
    fclose(f);
  }
  return low;
}

/*
 * A port below the ephemeral range, picked at random and free when
 * picked. A port of the ephemeral range (what bind() to port 0 gives) is
 * one any outgoing connection of a test running beside may take as its
 * local port before the server meant for it binds: a sentinel started a
 * few seconds after its port was picked failed so ("Address already in
 * use"). Below the range only another test's pick can collide, and each
 * picks at random out of some 20,000.
 */
int hk_free_port(void) {
  static uint64_t seed;
  static pid_t seeded_by; /* a forked test picks its own ports */
  int low = 10000;
  int span = ephemeral_low() - low;
  if (seeded_by != getpid()) {
    seeded_by = getpid();
    seed = ((uint64_t)seeded_by << 32) ^ (uint64_t)hk_now_ms() ^ 1;
  }
  for (int attempt = 0; attempt < 1000; attempt++) {
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port;
    int ok;
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    port = low + (int)(seed % (uint64_t)span);
    cr_assert(fd >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    if (ok) {
      return port;
    }
  }
  cr_assert_fail("no free port below the ephemeral range");
  return -1;
}

int hk_connect_loopback(int port) {
  struct sockaddr_in a;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return -1;
  }
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int hk_port_open(int port) {
  int fd = hk_connect_loopback(port);
  if (fd < 0) {
    return 0;
  }
  close(fd);
  return 1;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  cr_assert(f != NULL, "cannot write %s", path);
  fputs(text, f);
  fclose(f);
}

/* The shipped upstream file (deploy/nginx/upstream.conf), its socket
 * /run/handoff/fcgi.sock set to sock, written to path: the stack's nginx
 * keeps connections to handoff-fcgi as production's does. */
static void write_upstream(const char *path, const char *sock) {
  static const char shipped[] = "unix:/run/handoff/fcgi.sock";
  FILE *in = fopen(HK_SOURCE_DIR "/deploy/nginx/upstream.conf", "r");
  FILE *out = fopen(path, "w");
  char line[1024];
  int found = 0;
  cr_assert(in != NULL && out != NULL);
  while (fgets(line, sizeof line, in) != NULL) {
    char *at = strstr(line, shipped);
    if (at != NULL && line[strspn(line, " ")] != '#') {
      fprintf(out, "%.*sunix:%s%s", (int)(at - line), line, sock,
              at + strlen(shipped));
      found = 1;
    } else {
      fputs(line, out);
    }
  }
  fclose(in);
  fclose(out);
  cr_assert(found, "deploy/nginx/upstream.conf names no %s", shipped);
}

/* Starts argv with stdout and stderr to log; the child dies with us. */
pid_t hk_spawn(const char *const *argv, const char *log) {
  /* The log is opened here, not in the child: it exists once this
   * returns, for a test that reads it at once. */
  int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  pid_t pid = fork();
  cr_assert(pid >= 0);
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    {
      /* execv wants char *const[]; the strings are ours and stay put. */
      char *args[64];
      size_t n = 0;
      for (; argv[n] != NULL && n < 63; n++) {
        memcpy(&args[n], &argv[n], sizeof args[n]);
      }
      args[n] = NULL;
      execv(args[0], args);
    }
    _exit(127);
  }
  if (fd >= 0) {
    close(fd);
  }
  return pid;
}

/* Sends sig and reaps; SIGKILL after 10 s. Returns the exit status, or
 * 128 + the signal that ended it. */
static int stop_pid(pid_t *pid, int sig) {
  int status = 0;
  if (*pid <= 0) {
    return -1;
  }
  kill(*pid, sig);
  for (int i = 0; i < 1000; i++) {
    pid_t r = waitpid(*pid, &status, WNOHANG);
    if (r == *pid) {
      break;
    }
    if (i == 999) {
      kill(*pid, SIGKILL);
      waitpid(*pid, &status, 0);
    }
    msleep(10);
  }
  *pid = 0;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static char *path_in(const char *name) {
  static char buf[4][400];
  static int i;
  char *p = buf[i++ % 4];
  snprintf(p, 400, "%s/%s", stack.dir, name);
  return p;
}

/* ---------------------------------------------------------------------------
 * The servers
 * ------------------------------------------------------------------------- */

/* Ready means our redis-server answers PING with PONG: an open port is not
 * enough, since a server still loading its AOF answers -LOADING to every
 * command. The server must also be the one we started (its process_id),
 * not another test's that took the port in between. */
static int redis_ready(void) {
  struct timeval tv = {0, 200000};
  redisContext *c;
  redisReply *r;
  int ok = 0;
  char want[48];
  c = redisConnectWithTimeout("127.0.0.1", stack.redis_port, tv);
  if (c == NULL || c->err) {
    goto done;
  }
  redisSetTimeout(c, tv);
  r = redisCommand(c, "PING");
  ok =
      r != NULL && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
  if (r != NULL) {
    freeReplyObject(r);
  }
  if (!ok) {
    goto done;
  }
  r = redisCommand(c, "INFO server");
  snprintf(want, sizeof want, "process_id:%d\r", (int)stack.redis);
  ok = r != NULL && r->type == REDIS_REPLY_STRING &&
       strstr(r->str, want) != NULL;
  if (r != NULL) {
    freeReplyObject(r);
  }
done:
  if (c != NULL) {
    redisFree(c);
  }
  return ok;
}

/* handoff-fcgi is ready once its socket accepts a connection: the file
 * exists from bind(), a moment before listen(). */
int hk_unix_accepts(const char *path) {
  struct sockaddr_un a;
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  int ok;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  cr_assert(strlen(path) < sizeof a.sun_path, "socket path too long: %s", path);
  memcpy(a.sun_path, path, strlen(path) + 1);
  ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
  if (fd >= 0) {
    close(fd);
  }
  return ok;
}

/* 1 when *pid has exited (it is reaped and *pid cleared), else 0. */
static int reaped(pid_t *pid) {
  int status;
  if (*pid > 0 && waitpid(*pid, &status, WNOHANG) == *pid) {
    *pid = 0;
    return 1;
  }
  return 0;
}

/* Starts redis-server on stack.redis_port and waits until it answers.
 * Returns 1 when it does, 0 when it exited first: the port was taken
 * between hk_free_port() and its bind (by any socket of the machine,
 * outgoing ones included), so the caller tries again. */
static int redis_spawn_ready(void) {
  char port[16];
  const char *argv[] = {"/usr/bin/redis-server",
                        NULL,
                        "--port",
                        port,
                        "--bind",
                        "127.0.0.1",
                        "--dir",
                        stack.dir,
                        "--appendfsync",
                        "everysec",
                        "--save",
                        "",
                        NULL};
  char conf[400];
  snprintf(conf, sizeof conf, "%s/redis.conf", stack.dir);
  /* The shipped durability settings, with a faster fsync for tests. */
  {
    char text[600];
    snprintf(text, sizeof text, "include %s/deploy/redis/handoff.conf\n",
             HK_SOURCE_DIR);
    write_file(conf, text);
  }
  argv[1] = conf;
  snprintf(port, sizeof port, "%d", stack.redis_port);
  stack.redis = hk_spawn(argv, path_in("redis.log"));
  for (int i = 0; i < 1000; i++) {
    if (redis_ready()) {
      return 1;
    }
    if (reaped(&stack.redis)) {
      return 0;
    }
    msleep(10);
  }
  cr_assert_fail("redis did not answer PING within 10 s");
  return 0;
}

/* A restart keeps the port (the config names it): a moment's wait when
 * something else holds it. */
void hk_redis_start(void) {
  for (int i = 0; i < 50; i++) {
    if (redis_spawn_ready()) {
      return;
    }
    msleep(100);
  }
  cr_assert_fail("redis could not bind port %d", stack.redis_port);
}

void hk_redis_stop(void) {
  stop_pid(&stack.redis, SIGTERM);
}

const char *hk_stack_fcgi_threads;

static void fcgi_start(void) {
  char redis[64];
  const char *argv[12] = {HK_BIN_DIR "/fcgi/handoff-fcgi",
                          "--config",
                          path_in("handoff.json"),
                          "--listen",
                          stack.fcgi_sock,
                          "--socket-mode",
                          "0666"};
  size_t n = 7;
  snprintf(redis, sizeof redis, "127.0.0.1:%d", stack.redis_port);
  if (hk_stack_redis_json == NULL) { /* else the config's Redis */
    argv[n++] = "--redis";
    argv[n++] = redis;
  }
  if (hk_stack_fcgi_threads != NULL) {
    argv[n++] = "--threads";
    argv[n++] = hk_stack_fcgi_threads;
  }
  argv[n] = NULL;
  unlink(stack.fcgi_sock);
  stack.fcgi = hk_spawn(argv, path_in("fcgi.log"));
  for (int i = 0; i < 1000; i++) {
    if (hk_unix_accepts(stack.fcgi_sock)) {
      return;
    }
    msleep(10);
  }
  cr_assert_fail("handoff-fcgi did not open %s", stack.fcgi_sock);
}

void hk_fcgi_stop(void) {
  stop_pid(&stack.fcgi, SIGTERM);
}

/* The server block's own locations (hk_stack_site), before the snippet. */
static const char *site_locations = "";

void hk_stack_site(const char *locations) {
  site_locations = locations;
}

/* Starts nginx on stack.http_port; 1 when it listens, 0 when it exited
 * (the port was taken meanwhile). */
static int nginx_spawn_ready(void) {
  /* path_in() rotates four buffers: these outlive more than four calls. */
  char conf_path[400];
  char pidfile[400];
  char conf[4096];
  const char *argv[] = {"/usr/sbin/nginx", "-p", stack.dir, "-c",
                        conf_path,         NULL};
  snprintf(conf_path, sizeof conf_path, "%s/nginx.conf", stack.dir);
  snprintf(pidfile, sizeof pidfile, "%s/nginx.pid", stack.dir);
  /* The snippet's `include fastcgi_params` resolves beside nginx.conf. */
  {
    FILE *in = fopen("/etc/nginx/fastcgi_params", "r");
    FILE *out = fopen(path_in("fastcgi_params"), "w");
    char buf[4096];
    size_t n;
    cr_assert(in != NULL && out != NULL);
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
      fwrite(buf, 1, n, out);
    }
    fclose(in);
    fclose(out);
  }
  snprintf(conf, sizeof conf,
           "daemon off;\nmaster_process off;\n%s"
           "error_log %s/nginx-error.log warn;\npid %s/nginx.pid;\n"
           "events { worker_connections 1024; }\n"
           "http {\n"
           "  access_log off;\n"
           "  client_body_temp_path %s/body;\n"
           "  fastcgi_temp_path %s/fastcgi;\n"
           "  proxy_temp_path %s/proxy;\n  scgi_temp_path %s/scgi;\n"
           "  uwsgi_temp_path %s/uwsgi;\n"
           "  include %s/upstream.conf;\n"
           "  server {\n"
           "    listen 127.0.0.1:%d;\n"
           "%s"
           "    include %s/deploy/nginx/handoff.conf;\n"
           "  }\n"
           "}\n",
           geteuid() == 0 ? "user root;\n" : "", stack.dir, stack.dir,
           stack.dir, stack.dir, stack.dir, stack.dir, stack.dir, stack.dir,
           stack.http_port, site_locations, HK_SOURCE_DIR);
  write_upstream(path_in("upstream.conf"), stack.fcgi_sock);
  write_file(conf_path, conf);
  unlink(pidfile);
  stack.nginx = hk_spawn(argv, path_in("nginx.log"));
  /* Ready once it wrote its pid file (after binding) and the port answers;
   * an nginx that exited found the port taken. */
  for (int i = 0; i < 1000; i++) {
    struct stat sb;
    if (stat(pidfile, &sb) == 0 && hk_port_open(stack.http_port) &&
        !reaped(&stack.nginx)) {
      return 1;
    }
    if (reaped(&stack.nginx)) {
      return 0;
    }
    msleep(10);
  }
  cr_assert_fail("nginx did not start within 10 s");
  return 0;
}

static void nginx_start(void) {
  for (int i = 0;; i++) {
    cr_assert(i < 10, "nginx found no free port in 10 tries");
    do {
      stack.http_port = hk_free_port();
    } while (stack.http_port == stack.redis_port);
    if (nginx_spawn_ready()) {
      return;
    }
  }
}

void hk_stack_up(const char *extra_config) {
  hk_stack_up_with(extra_config, "");
}

const char *hk_stack_api_extra = "";
const char *hk_stack_redis_json;

void hk_stack_up_with(const char *extra_config, const char *extra_sources) {
  char config[16384];
  char redis_json[256];
  memset(&stack, 0, sizeof stack);
  snprintf(stack.dir, sizeof stack.dir, "/tmp/hk-it-XXXXXX");
  cr_assert(mkdtemp(stack.dir) != NULL);
  chmod(stack.dir, 0755);
  snprintf(stack.fcgi_sock, sizeof stack.fcgi_sock, "%s/fcgi.sock", stack.dir);
  setenv("HK_TEST_SECRET", HK_TEST_SECRET, 1);
  setenv("HK_TEST_TOKEN", HK_TEST_TOKEN, 1);
  setenv("HK_TEST_ADMIN_TOKEN", HK_TEST_ADMIN_TOKEN, 1);
  /* A free port can be taken again before redis binds it: a new one then.
   * The config is written once redis holds its port. */
  for (int i = 0;; i++) {
    cr_assert(i < 10, "redis found no free port in 10 tries");
    stack.redis_port = hk_free_port();
    if (redis_spawn_ready()) {
      break;
    }
  }
  snprintf(redis_json, sizeof redis_json,
           "\"redis\": {\"host\": \"127.0.0.1\", \"port\": %d,"
           " \"connect_timeout\": \"300ms\", \"timeout\": \"3s\"},",
           stack.redis_port);
  snprintf(config, sizeof config,
           "{\n"
           "  %s\n"
           "  %s\n"
           "  \"sources\": {\n"
           "    \"demo\": {\"kind\": \"standard-webhooks\","
           " \"secret\": {\"env\": \"HK_TEST_SECRET\"}}%s\n"
           "  },\n"
           "  \"api\": {\"tokens\": [{\"name\": \"tests\","
           " \"env\": \"HK_TEST_TOKEN\"}, {\"name\": \"admin\","
           " \"env\": \"HK_TEST_ADMIN_TOKEN\","
           " \"scopes\": [\"read\", \"admin\"]}]%s}\n"
           "}\n",
           hk_stack_redis_json != NULL ? hk_stack_redis_json : redis_json,
           extra_config, extra_sources, hk_stack_api_extra);
  write_file(path_in("handoff.json"), config);
  fcgi_start();
  nginx_start();
}

void hk_stack_up_default(void) {
  hk_stack_up("");
}

void hk_stack_down(void) {
  site_locations = "";
  char cmd[400];
  for (int i = 0; i < 4; i++) {
    stop_pid(&stack.workers[i], SIGTERM);
  }
  stop_pid(&stack.nginx, SIGQUIT);
  stop_pid(&stack.fcgi, SIGTERM);
  stop_pid(&stack.redis, SIGTERM);
  if (getenv("HK_KEEP_TEST_DIRS") == NULL && stack.dir[0] == '/') {
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", stack.dir);
    if (system(cmd) != 0) {
      fprintf(stderr, "could not remove %s\n", stack.dir);
    }
  }
}

void hk_worker_start(int i, const char *const *extra) {
  const char *argv[32];
  char redis[64];
  char name[32];
  int n = 0;
  snprintf(redis, sizeof redis, "127.0.0.1:%d", stack.redis_port);
  snprintf(name, sizeof name, "test-worker-%d", i);
  {
    char log[300];
    snprintf(log, sizeof log, "%s/worker-%d.log", stack.dir, i);
    memcpy(stack.worker_logs[i], log, sizeof log);
  }
  argv[n++] = HK_BIN_DIR "/workers/handoff-worker";
  argv[n++] = "--config";
  argv[n++] = path_in("handoff.json");
  if (hk_stack_redis_json == NULL) {
    argv[n++] = "--redis";
    argv[n++] = redis;
  }
  argv[n++] = "--name";
  argv[n++] = name;
  for (int k = 0; extra != NULL && extra[k] != NULL && n < 31; k++) {
    argv[n++] = extra[k];
  }
  argv[n] = NULL;
  stack.workers[i] = hk_spawn(argv, stack.worker_logs[i]);
}

int hk_worker_stop(int i, int sig) {
  return stop_pid(&stack.workers[i], sig);
}

static size_t log_scan(int i, const char *a, const char *b, int first) {
  FILE *f = fopen(stack.worker_logs[i], "r");
  char line[8192];
  size_t n = 0;
  if (f == NULL) {
    return 0;
  }
  while (fgets(line, sizeof line, f) != NULL) {
    if (strstr(line, a) != NULL && (b == NULL || strstr(line, b) != NULL)) {
      n++;
      if (first) {
        break;
      }
    }
  }
  fclose(f);
  return n;
}

size_t hk_worker_log_count(int i, const char *needle) {
  return log_scan(i, needle, NULL, 0);
}

int hk_worker_log_has(int i, const char *a, const char *b) {
  return log_scan(i, a, b, 1) > 0;
}

/* ---------------------------------------------------------------------------
 * HTTP and Redis
 * ------------------------------------------------------------------------- */

struct sink {
  char *p;
  size_t len;
  size_t cap;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg) {
  struct sink *s = arg;
  size_t take = size * n;
  if (take > s->cap - 1 - s->len) {
    take = s->cap - 1 - s->len;
  }
  memcpy(s->p + s->len, data, take);
  s->len += take;
  s->p[s->len] = '\0';
  return size * n;
}

static void header_value(const char *line, size_t len, const char *name,
                         char *out, size_t cap) {
  size_t nl = strlen(name);
  if (len > nl + 1 && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
    const char *v = line + nl + 1;
    size_t vl = len - nl - 1;
    while (vl > 0 && (*v == ' ')) {
      v++;
      vl--;
    }
    while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n')) {
      vl--;
    }
    if (vl >= cap) {
      vl = cap - 1;
    }
    memcpy(out, v, vl);
    out[vl] = '\0';
  }
}

static size_t on_header(char *data, size_t size, size_t n, void *arg) {
  struct hk_resp *r = arg;
  header_value(data, size * n, "Retry-After", r->retry_after,
               sizeof r->retry_after);
  header_value(data, size * n, "Allow", r->allow, sizeof r->allow);
  header_value(data, size * n, "Content-Type", r->content_type,
               sizeof r->content_type);
  return size * n;
}

int hk_http(const char *method, const char *path, const char *const *headers,
            const char *body, size_t len, struct hk_resp *out) {
  /* Paths are the product's, under the default mount of the shipped
   * snippet and config (api.mount). */
  char full[512];
  snprintf(full, sizeof full, "%s%s", path[0] == '/' ? HK_TEST_MOUNT : "",
           path);
  return hk_http_host(method, full, headers, body, len, out);
}

int hk_http_host(const char *method, const char *path,
                 const char *const *headers, const char *body, size_t len,
                 struct hk_resp *out) {
  CURL *c = curl_easy_init();
  struct curl_slist *hs = NULL;
  struct sink s = {out->body, 0, sizeof out->body};
  char url[512];
  CURLcode rc;
  memset(out, 0, sizeof *out);
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", stack.http_port, path);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
  /* No "Expect: 100-continue" pause on large bodies. */
  hs = curl_slist_append(hs, "Expect:");
  for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
    hs = curl_slist_append(hs, headers[i]);
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
  if (body != NULL) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  }
  if (strcmp(method, "HEAD") == 0) {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  }
  rc = curl_easy_perform(c);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
  }
  curl_slist_free_all(hs);
  curl_easy_cleanup(c);
  return rc == CURLE_OK ? 0 : -1;
}

/* An independent Standard Webhooks signer: OpenSSL's HMAC and base64,
 * nothing from handoff's own webhooks/. */
void hk_sign(const char *secret, const char *id, int64_t ts, const char *body,
             char *out, size_t cap) {
  unsigned char key[256];
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int maclen = 0;
  const char *b64 = strncmp(secret, "whsec_", 6) == 0 ? secret + 6 : secret;
  int klen = EVP_DecodeBlock(key, (const unsigned char *)b64, (int)strlen(b64));
  size_t msglen = strlen(id) + strlen(body) + 48;
  char *msg = malloc(msglen);
  unsigned char enc[128];
  cr_assert(klen > 0);
  /* EVP_DecodeBlock counts padding as zero bytes. */
  for (const char *p = b64 + strlen(b64); p > b64 && p[-1] == '='; p--) {
    klen--;
  }
  snprintf(msg, msglen, "%s.%lld.%s", id, (long long)ts, body);
  HMAC(EVP_sha256(), key, klen, (unsigned char *)msg, strlen(msg), mac,
       &maclen);
  EVP_EncodeBlock(enc, mac, (int)maclen);
  snprintf(out, cap, "v1,%s", enc);
  free(msg);
}

int hk_post_signed(const char *source, const char *secret, const char *id,
                   int64_t ts, const char *body, struct hk_resp *out) {
  char sig[200];
  hk_sign(secret, id, ts, body, sig, sizeof sig);
  return hk_post_raw(source, id, ts, sig, body, out);
}

int hk_post_raw(const char *source, const char *id, int64_t ts, const char *sig,
                const char *body, struct hk_resp *out) {
  char path[128];
  char h_id[160];
  char h_ts[64];
  char h_sig[256];
  const char *headers[] = {"Content-Type: application/json", h_id, h_ts, h_sig,
                           NULL};
  snprintf(path, sizeof path, "/hooks/%s", source);
  snprintf(h_id, sizeof h_id, "webhook-id: %s", id);
  snprintf(h_ts, sizeof h_ts, "webhook-timestamp: %lld", (long long)ts);
  snprintf(h_sig, sizeof h_sig, "webhook-signature: %s", sig);
  return hk_http("POST", path, headers, body, strlen(body), out);
}

const char *hk_error_code(const struct hk_resp *r, char *buf, size_t n) {
  json_t *doc = json_loads(r->body, 0, NULL);
  const char *code =
      json_string_value(json_object_get(json_object_get(doc, "error"), "code"));
  snprintf(buf, n, "%s", code != NULL ? code : "");
  json_decref(doc);
  return buf;
}

long long hk_redis_int(const char *fmt, ...) {
  struct timeval tv = {2, 0};
  redisContext *c = redisConnectWithTimeout("127.0.0.1", stack.redis_port, tv);
  redisReply *r;
  long long v = -1;
  va_list ap;
  if (c == NULL || c->err) {
    if (c != NULL) {
      redisFree(c);
    }
    return -1;
  }
  va_start(ap, fmt);
  r = redisvCommand(c, fmt, ap);
  va_end(ap);
  if (r != NULL) {
    if (r->type == REDIS_REPLY_INTEGER) {
      v = r->integer;
    } else if (r->type == REDIS_REPLY_STRING) {
      v = strtoll(r->str, NULL, 10);
    } else if (r->type == REDIS_REPLY_NIL) {
      v = 0;
    }
    freeReplyObject(r);
  }
  redisFree(c);
  return v;
}

int hk_ctl(const char *args, char *out, size_t cap) {
  char cmd[1200];
  FILE *f;
  size_t len;
  int status;
  snprintf(cmd, sizeof cmd,
           "'%s/ctl/handoffctl' %s --config '%s/handoff.json' --redis "
           "127.0.0.1:%d 2>&1",
           HK_BIN_DIR, args, stack.dir, stack.redis_port);
  f = popen(cmd, "r");
  cr_assert(f != NULL);
  len = fread(out, 1, cap - 1, f);
  out[len] = '\0';
  status = pclose(f);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

char *hk_redis_str(const char *fmt, ...) {
  struct timeval tv = {10, 0};
  redisContext *c = redisConnectWithTimeout("127.0.0.1", stack.redis_port, tv);
  redisReply *r;
  char *v = NULL;
  va_list ap;
  if (c == NULL || c->err) {
    if (c != NULL) {
      redisFree(c);
    }
    return NULL;
  }
  va_start(ap, fmt);
  r = redisvCommand(c, fmt, ap);
  va_end(ap);
  if (r != NULL) {
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) {
      v = strndup(r->str, r->len);
    }
    freeReplyObject(r);
  }
  redisFree(c);
  return v;
}

int hk_wait_until(int (*cond)(void), int ms) {
  for (int t = 0; t < ms; t += 20) {
    if (cond()) {
      return 1;
    }
    msleep(20);
  }
  return cond();
}
