/*
 * receiver.h -- a small HTTP server on 127.0.0.1 that stands where an
 * operator's alert endpoint would: it records every request it gets and
 * answers each with the status the test sets. One thread, one request per
 * connection, bounded by the tests that start and stop it.
 */
#ifndef HK_TESTS_RECEIVER_H
#define HK_TESTS_RECEIVER_H

#include <stddef.h>
#include <stdint.h>

#define HK_RECEIVER_MAX 64
#define HK_RECEIVERS 2 /* receivers a test may run at once */

struct hk_received {
  char head[4096]; /* request line and headers */
  char body[8192];
  int64_t at_ms; /* wall-clock time it arrived */
};

/* Starts the receiver on a free port answering status; returns the port. */
int hk_receiver_start(int status);
/* Stops it (joins the thread). */
void hk_receiver_stop(void);
/* Requests received so far (at most HK_RECEIVER_MAX kept). */
size_t hk_receiver_count(void);
/* A copy of request i. */
void hk_receiver_get(size_t i, struct hk_received *out);

/* The same for receiver i of HK_RECEIVERS (the calls above are receiver
 * 0): two endpoints, for a test that moves a notifier from one to the
 * other. */
int hk_receiver_start_at(int i, int status);
void hk_receiver_stop_at(int i);
size_t hk_receiver_count_at(int i);
void hk_receiver_get_at(int i, size_t k, struct hk_received *out);

#endif
