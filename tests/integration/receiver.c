/*
 * receiver.c -- the alert endpoint of the integration tests (receiver.h).
 */
#include "receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct rx {
  int fd;
  int status;
  pthread_t thread;
  atomic_int stop;
  pthread_mutex_t lock;
  struct hk_received got[HK_RECEIVER_MAX];
  size_t n;
};

static struct rx rxs[HK_RECEIVERS] = {
    {.fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER},
    {.fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER}};

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads one request (head, then Content-Length bytes) within 2 s. */
static void serve(struct rx *x, int c) {
  struct hk_received r;
  char buf[12288];
  size_t len = 0;
  char *end = NULL;
  size_t want = 0;
  int64_t deadline = now_ms() + 2000;
  char reply[160];

  memset(&r, 0, sizeof r);
  while (len < sizeof buf - 1 && now_ms() < deadline) {
    struct pollfd p = {c, POLLIN, 0};
    ssize_t n;
    if (poll(&p, 1, 100) <= 0) {
      continue;
    }
    n = read(c, buf + len, sizeof buf - 1 - len);
    if (n <= 0) {
      break;
    }
    len += (size_t)n;
    buf[len] = '\0';
    if (end == NULL && (end = strstr(buf, "\r\n\r\n")) != NULL) {
      char low[4096];
      const char *cl;
      size_t hl = (size_t)(end - buf) < sizeof low - 1 ? (size_t)(end - buf)
                                                       : sizeof low - 1;
      for (size_t i = 0; i < hl; i++) {
        low[i] = (char)(buf[i] >= 'A' && buf[i] <= 'Z' ? buf[i] + 32 : buf[i]);
      }
      low[hl] = '\0';
      cl = strstr(low, "\ncontent-length:");
      want = (size_t)(end - buf) + 4 +
             (cl != NULL ? strtoul(cl + 16, NULL, 10) : 0);
    }
    if (end != NULL && len >= want) {
      break;
    }
  }
  if (end != NULL) {
    snprintf(r.head, sizeof r.head, "%.*s", (int)(end - buf), buf);
    snprintf(r.body, sizeof r.body, "%s", end + 4);
    r.at_ms = now_ms();
    pthread_mutex_lock(&x->lock);
    if (x->n < HK_RECEIVER_MAX) {
      x->got[x->n++] = r;
    }
    pthread_mutex_unlock(&x->lock);
  }
  snprintf(reply, sizeof reply,
           "HTTP/1.1 %d X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
           x->status);
  if (write(c, reply, strlen(reply)) < 0) {
    /* the sender gave up; nothing to do */
  }
  close(c);
}

static void *loop(void *arg) {
  struct rx *x = arg;
  while (!atomic_load(&x->stop)) {
    struct pollfd p = {x->fd, POLLIN, 0};
    if (poll(&p, 1, 50) > 0) {
      int c = accept(x->fd, NULL, NULL);
      if (c >= 0) {
        serve(x, c);
      }
    }
  }
  return NULL;
}

int hk_receiver_start_at(int i, int status) {
  struct rx *x = &rxs[i];
  struct sockaddr_in a;
  socklen_t alen = sizeof a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  x->fd = socket(AF_INET, SOCK_STREAM, 0);
  if (x->fd < 0 || bind(x->fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      listen(x->fd, 16) != 0 ||
      getsockname(x->fd, (struct sockaddr *)&a, &alen) != 0) {
    abort();
  }
  x->status = status;
  x->n = 0;
  atomic_store(&x->stop, 0);
  if (pthread_create(&x->thread, NULL, loop, x) != 0) {
    abort();
  }
  return ntohs(a.sin_port);
}

void hk_receiver_stop_at(int i) {
  struct rx *x = &rxs[i];
  if (x->fd < 0) {
    return;
  }
  atomic_store(&x->stop, 1);
  pthread_join(x->thread, NULL);
  close(x->fd);
  x->fd = -1;
}

size_t hk_receiver_count_at(int i) {
  size_t n;
  pthread_mutex_lock(&rxs[i].lock);
  n = rxs[i].n;
  pthread_mutex_unlock(&rxs[i].lock);
  return n;
}

void hk_receiver_get_at(int i, size_t k, struct hk_received *out) {
  pthread_mutex_lock(&rxs[i].lock);
  *out = rxs[i].got[k];
  pthread_mutex_unlock(&rxs[i].lock);
}

int hk_receiver_start(int status) {
  return hk_receiver_start_at(0, status);
}

void hk_receiver_stop(void) {
  hk_receiver_stop_at(0);
}

size_t hk_receiver_count(void) {
  return hk_receiver_count_at(0);
}

void hk_receiver_get(size_t i, struct hk_received *out) {
  hk_receiver_get_at(0, i, out);
}
