/*
 * http_receiver.h -- a one-request HTTP server for the notifier's tests: a
 * thread on 127.0.0.1 and a free port that reads one request, records its
 * method, headers and body, answers a chosen status and stops. Every wait
 * is bounded, so a test that sends nothing still ends.
 */
#ifndef HK_TESTS_HTTP_RECEIVER_H
#define HK_TESTS_HTTP_RECEIVER_H

#include <pthread.h>
#include <stddef.h>

#define HK_RECEIVER_MAX ((size_t)64 * 1024)

struct hk_receiver {
  int fd;     /* the listening socket */
  int port;   /* where it listens */
  int status; /* the status it answers */
  pthread_t thread;
  int got;                       /* 1 once a whole request was read */
  char method[16];               /* "POST" */
  char raw[HK_RECEIVER_MAX + 1]; /* the request as read, NUL-terminated */
  size_t head_len;  /* request line and headers, the blank line included */
  const char *body; /* inside raw, NUL-terminated */
  size_t body_len;
};

/* Starts listening and the thread; returns 0, or -1 (nothing to stop). */
int hk_receiver_start(struct hk_receiver *r, int status);

/* Waits for the thread (it stops after one request or a few seconds). */
void hk_receiver_stop(struct hk_receiver *r);

/* The value of the named header (case-insensitive) in a new string the
 * caller frees, or NULL. */
char *hk_receiver_header(const struct hk_receiver *r, const char *name);

/* A socket listening on a loopback port (in *port) that nobody accepts
 * from: connections complete and then hear nothing. Returns the socket (the
 * caller closes it) or -1. */
int hk_receiver_listen_silently(int *port);

/* A loopback port that nothing listens on (bound, then closed). */
int hk_receiver_closed_port(void);

#endif
