/*
 * test_keepalive.c -- nginx keeps its connections to handoff-fcgi open
 * (fastcgi_keep_conn on, the upstream's keepalive, as shipped), and
 * libfcgi holds a thread for each of them, idle ones included.
 *
 * With 200 connections to nginx that each posted a delivery at once and
 * then sit idle (so nginx opened as many to handoff-fcgi and kept what
 * its keepalive allows, 32 here), every further delivery is still
 * answered 202 within the snippet's timeouts, and every one is queued
 * once: with threads above what nginx keeps (40 against 32: the rule of
 * docs/deploy.md, with little margin), kept connections do not starve
 * new ones, and the 200 idle connections to nginx hold no thread.
 * HK_KEEPALIVE_THREADS=32 breaks the rule and the test fails. SIGTERM stops
 * handoff-fcgi at once although nginx keeps idle connections to it (libfcgi
 * would otherwise wait in a read until nginx dropped them, keepalive_timeout
 * later), and the deliveries posted from then on get nginx's 503 with
 * Retry-After, not a hang.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define IDLE 200
#define AFTER 100
#define EVENT                                                                  \
  "{\"type\":\"lead.created\",\"timestamp\":\"2026-11-22T10:00:00Z\","         \
  "\"data\":{\"email\":\"ana@example.com\",\"company_id\":\"8812\"}}"

/* The test stack's nginx has one worker and the shipped keepalive 32: at
 * most 32 idle kept connections, each holding a thread. 40 threads keep
 * the rule (threads above workers x keepalive plus the requests in
 * flight, here one at a time) with a margin of 8; with 32 or fewer, every
 * thread would sit on an idle kept connection and the requests below
 * would wait for the 5 s read timeout and get 503s. */
static void up(void) {
  hk_stack_fcgi_threads = getenv("HK_KEEPALIVE_THREADS") != NULL
                              ? getenv("HK_KEEPALIVE_THREADS")
                              : "40";
  hk_stack_up_default();
}

static void down(void) {
  hk_stack_down();
  hk_stack_fcgi_threads = NULL;
}

TestSuite(keepalive, .init = up, .fini = down, .timeout = 120);

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int connect_nginx(void) {
  int fd = hk_connect_loopback(stack.http_port);
  cr_assert(fd >= 0, "cannot connect to nginx");
  return fd;
}

/* A signed HTTP/1.1 POST of EVENT, keep-alive, as one buffer. */
static int signed_request(char *out, size_t cap, const char *id) {
  char sig[200];
  int64_t ts = hk_now_s();
  hk_sign(HK_TEST_SECRET, id, ts, EVENT, sig, sizeof sig);
  return snprintf(out, cap,
                  "POST " HK_TEST_MOUNT "/hooks/demo HTTP/1.1\r\n"
                  "Host: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  "webhook-id: %s\r\nwebhook-timestamp: %lld\r\n"
                  "webhook-signature: %s\r\nContent-Length: %zu\r\n\r\n%s",
                  id, (long long)ts, sig, strlen(EVENT), EVENT);
}

/* The status code of the answer read from fd (its head only: the bodies
 * are short and the connection is not read again). */
static int read_status(int fd) {
  char buf[4096];
  size_t got = 0;
  int status = 0;
  while (got < sizeof buf - 1) {
    ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
    if (n <= 0) {
      break;
    }
    got += (size_t)n;
    buf[got] = '\0';
    if (strstr(buf, "\r\n\r\n") != NULL) {
      break;
    }
  }
  buf[got] = '\0';
  sscanf(buf, "HTTP/1.1 %d", &status);
  return status;
}

static int idle[IDLE];

/* Opens IDLE connections, sends a delivery on each before reading any
 * answer, reads the IDLE answers (all 202), and leaves them open. */
static void open_idle(void) {
  char req[2048];
  for (int i = 0; i < IDLE; i++) {
    char id[32];
    int n;
    snprintf(id, sizeof id, "msg_idle_%d", i);
    n = signed_request(req, sizeof req, id);
    idle[i] = connect_nginx();
    cr_assert_eq(write(idle[i], req, (size_t)n), n);
  }
  for (int i = 0; i < IDLE; i++) {
    cr_assert_eq(read_status(idle[i]), 202, "idle connection %d", i);
  }
}

static void close_idle(void) {
  for (int i = 0; i < IDLE; i++) {
    close(idle[i]);
  }
}

Test(keepalive, idle_kept_connections_do_not_starve_new_requests) {
  int64_t slowest = 0;
  open_idle();
  for (int i = 0; i < AFTER; i++) {
    char id[32];
    struct hk_resp r;
    int64_t t0 = mono_ms();
    snprintf(id, sizeof id, "msg_after_%d", i);
    cr_assert_eq(
        hk_post_signed("demo", HK_TEST_SECRET, id, hk_now_s(), EVENT, &r), 0);
    cr_assert_eq(r.status, 202, "delivery %d: %ld %s", i, r.status, r.body);
    if (mono_ms() - t0 > slowest) {
      slowest = mono_ms() - t0;
    }
  }
  /* A starved request would wait for a thread until the snippet's
   * fastcgi_read_timeout (5 s) and get a 503: none came near. */
  cr_assert_lt(slowest, 2000, "the slowest request took %lld ms",
               (long long)slowest);
  cr_assert_eq(hk_redis_int("XLEN handoff:intake"), IDLE + AFTER);
  close_idle();
}

Test(keepalive, sigterm_stops_at_once_with_idle_kept_connections) {
  struct hk_resp r;
  int status = 0;
  int64_t t0;
  pid_t fcgi = stack.fcgi;
  open_idle();
  t0 = mono_ms();
  kill(fcgi, SIGTERM);
  while (waitpid(fcgi, &status, WNOHANG) != fcgi) {
    cr_assert_lt(mono_ms() - t0, 5000,
                 "handoff-fcgi still runs 5 s after SIGTERM");
    nanosleep(&(struct timespec){0, 10 * 1000000L}, NULL);
  }
  stack.fcgi = 0;
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "handoff-fcgi ended with status %d", status);
  /* What comes now is refused by nginx as the sender can retry it. */
  cr_assert_eq(
      hk_post_signed("demo", HK_TEST_SECRET, "msg_late", hk_now_s(), EVENT, &r),
      0);
  cr_assert_eq(r.status, 503, "%ld %s", r.status, r.body);
  cr_assert_neq(r.retry_after[0], '\0');
  /* Everything answered 202 is queued. */
  cr_assert_eq(hk_redis_int("XLEN handoff:intake"), IDLE);
  close_idle();
}

/* libfcgi installs a SIGUSR1 handler that makes every later accept fail;
 * handoff-fcgi keeps SIGUSR1 blocked, so a stray one (a process manager's
 * habit) changes nothing: 200 new connections are all served after it. */
Test(keepalive, sigusr1_does_not_stop_the_intake) {
  kill(stack.fcgi, SIGUSR1);
  open_idle();
  cr_assert_eq(hk_redis_int("XLEN handoff:intake"), IDLE);
  cr_assert_eq(kill(stack.fcgi, 0), 0, "handoff-fcgi is gone");
  close_idle();
}
