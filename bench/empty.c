/*
 * empty.c -- bench-empty-fcgi: the empty libfcgi responder of bench/intake.
 *
 * It is the yardstick the intake is measured against: the same libfcgi
 * threading model as fcgi/server.c (N threads, each looping on
 * FCGX_Accept_r over one listening socket, kept connections served by the
 * thread that accepted them; 128 threads by default, as handoff-fcgi),
 * the same reading of the whole body, and a 202 with a small JSON body, but
 * no verification, no Redis and no log line. Whatever handoff-fcgi costs
 * above this is the cost of intake itself.
 *
 *   bench-empty-fcgi --listen unix:/path.sock [--threads N]
 *
 * It runs until SIGTERM or SIGINT, which end it at once: it holds nothing
 * that needs finishing.
 */
#include <fcgiapp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int listen_fd = -1;

static void *serve(void *arg) {
  static const char reply[] = "Status: 202 Accepted\r\n"
                              "Content-Type: application/json\r\n"
                              "Content-Length: 20\r\n"
                              "\r\n"
                              "{\"status\":\"queued\"}\n";
  FCGX_Request fr;
  char chunk[16384];
  (void)arg;
  if (FCGX_InitRequest(&fr, listen_fd, 0) != 0) {
    return NULL;
  }
  while (FCGX_Accept_r(&fr) >= 0) {
    /* Read and drop the body, as the intake reads it. */
    while (FCGX_GetStr(chunk, (int)sizeof chunk, fr.in) > 0) {
    }
    FCGX_PutStr(reply, (int)sizeof reply - 1, fr.out);
    FCGX_Finish_r(&fr);
  }
  FCGX_Free(&fr, 1);
  return NULL;
}

int main(int argc, char **argv) {
  const char *addr = NULL;
  unsigned long threads = 128; /* handoff-fcgi's default */
  pthread_t *ts;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--listen") == 0) {
      addr = argv[i + 1];
    } else if (strcmp(argv[i], "--threads") == 0) {
      threads = strtoul(argv[i + 1], NULL, 10);
    }
  }
  if (addr == NULL || threads == 0 || threads > 1024) {
    fputs("usage: bench-empty-fcgi --listen unix:/path.sock [--threads N]\n",
          stderr);
    return 2;
  }
  if (strncmp(addr, "unix:", 5) == 0) {
    addr += 5;
  }
  if (FCGX_Init() != 0) {
    return 1;
  }
  listen_fd = FCGX_OpenSocket(addr, 1024);
  if (listen_fd < 0) {
    fprintf(stderr, "bench-empty-fcgi: cannot listen on %s\n", addr);
    return 1;
  }
  if (addr[0] == '/') {
    chmod(addr, 0666);
  }
  ts = calloc(threads, sizeof *ts);
  if (ts == NULL) {
    return 1;
  }
  for (unsigned long i = 0; i < threads; i++) {
    if (pthread_create(&ts[i], NULL, serve, NULL) != 0) {
      fputs("bench-empty-fcgi: cannot start a thread\n", stderr);
      return 1;
    }
  }
  /* The threads never return on their own; the signal that ends the
   * process ends them. */
  for (unsigned long i = 0; i < threads; i++) {
    pthread_join(ts[i], NULL);
  }
  free(ts);
  return 0;
}
