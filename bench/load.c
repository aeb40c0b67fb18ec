/*
 * load.c -- bench-load: fills the intake stream of a Redis with journey
 * deliveries, as handoff-fcgi would have queued them, so bench/worker can
 * time the worker alone.
 *
 *   bench-load HOST PORT N SUBJECTS [START_MS [ID_PREFIX [SPREAD]]]
 *
 * Writes N deliveries of the "demo" source (Standard Webhooks), pipelined a
 * thousand at a time. Delivery i is about subject company:(i % SUBJECTS);
 * a subject's deliveries alternate between lead.mql and lead.contacted, one
 * minute apart in event time from START_MS (default: an hour ago), so that
 * every subject's clocks open and stop in turn. Delivery ids are
 * ID_PREFIX (default "msg_") and i. Prints the number written.
 *
 * With SPREAD K > 0 (bench/health), every delivery is a start instead:
 * delivery i is lead.mql.(i % K) about company:(i / K % SUBJECTS), at
 * START_MS, so with handoff k starting on lead.mql.k, N deliveries open N
 * clocks spread evenly over K handoffs.
 */
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PIPELINE 1000

int main(int argc, char **argv) {
  redisContext *c;
  long long n;
  long long subjects;
  int64_t start;
  long long done = 0;
  const char *prefix = argc > 6 ? argv[6] : "msg_";
  long long spread = argc > 7 ? atoll(argv[7]) : 0;
  struct timespec ts;

  if (argc < 5) {
    fprintf(stderr, "usage: bench-load HOST PORT N SUBJECTS [START_MS "
                    "[ID_PREFIX [SPREAD]]]\n");
    return 2;
  }
  n = atoll(argv[3]);
  subjects = atoll(argv[4]);
  clock_gettime(CLOCK_REALTIME, &ts);
  start = argc > 5 ? atoll(argv[5]) : ((int64_t)ts.tv_sec - 3600) * 1000;
  if (n <= 0 || subjects <= 0) {
    fprintf(stderr, "bench-load: N and SUBJECTS must be positive\n");
    return 2;
  }
  c = redisConnect(argv[1], atoi(argv[2]));
  if (c == NULL || c->err) {
    fprintf(stderr, "bench-load: cannot connect to redis\n");
    return 1;
  }
  while (done < n) {
    long long chunk = n - done < PIPELINE ? n - done : PIPELINE;
    for (long long k = 0; k < chunk; k++) {
      long long i = done + k;
      long long subject = i % subjects;
      long long round = i / subjects;
      char type[48];
      char body[400];
      char id[48];
      char received[24];
      snprintf(id, sizeof id, "%s%lld", prefix, i);
      snprintf(received, sizeof received, "%" PRId64,
               (int64_t)ts.tv_sec * 1000);
      if (spread > 0) {
        subject = i / spread % subjects;
        round = 0;
        snprintf(type, sizeof type, "lead.mql.%lld", i % spread);
      } else {
        snprintf(type, sizeof type, "%s",
                 round % 2 == 0 ? "lead.mql" : "lead.contacted");
      }
      snprintf(body, sizeof body,
               "{\"type\":\"%s\",\"timestamp\":%" PRId64
               ",\"data\":{\"company_id\":\"%lld\",\"email\":"
               "\"lead%lld@example.com\",\"segment\":\"%s\",\"owner\":"
               "\"sdr-%lld\"}}",
               type, (int64_t)(start + round * 60000), subject, subject,
               subject % 5 == 0 ? "enterprise" : "smb", subject % 7);
      redisAppendCommand(c,
                         "XADD handoff:intake * source demo kind "
                         "standard-webhooks delivery_id %s received_ms %s "
                         "signed_ms 0 headers {} body %s",
                         id, received, body);
    }
    for (long long k = 0; k < chunk; k++) {
      void *r = NULL;
      if (redisGetReply(c, &r) != REDIS_OK) {
        fprintf(stderr, "bench-load: %s\n", c->errstr);
        redisFree(c);
        return 1;
      }
      freeReplyObject(r);
    }
    done += chunk;
  }
  printf("%lld\n", done);
  redisFree(c);
  return 0;
}
