/*
 * http_receiver.c -- the one-request HTTP server of the notifier's tests
 * (see http_receiver.h). It understands just what libcurl sends for an
 * alert: a request line, headers, and a body of Content-Length bytes.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/workers/http_receiver.h"

/* The longest the receiver waits for a connection or for more bytes. */
#define WAIT_MS 5000

static int wait_readable(int fd) {
  struct pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
  return poll(&p, 1, WAIT_MS) == 1;
}

/* The Content-Length of the head in raw[0, head_len), or 0. */
static size_t content_length(const struct hk_receiver *r) {
  const char *p = r->raw;
  const char *end = r->raw + r->head_len;
  while (p < end) {
    const char *eol = strstr(p, "\r\n");
    if (eol == NULL || eol == p) {
      break;
    }
    if (strncasecmp(p, "Content-Length:", 15) == 0) {
      return (size_t)strtoul(p + 15, NULL, 10);
    }
    p = eol + 2;
  }
  return 0;
}

/* Reads one request into r; returns 1 when it came whole. */
static int read_request(struct hk_receiver *r, int c) {
  size_t len = 0;
  size_t want = 0;
  for (;;) {
    ssize_t n;
    if (r->head_len == 0) {
      char *end = strstr(r->raw, "\r\n\r\n");
      if (end != NULL) {
        r->head_len = (size_t)(end - r->raw) + 4;
        want = r->head_len + content_length(r);
      }
    }
    if (r->head_len != 0 && len >= want) {
      break;
    }
    if (len == HK_RECEIVER_MAX || !wait_readable(c)) {
      return 0;
    }
    n = recv(c, r->raw + len, HK_RECEIVER_MAX - len, 0);
    if (n <= 0) {
      return 0;
    }
    len += (size_t)n;
    r->raw[len] = '\0';
  }
  r->body = r->raw + r->head_len;
  r->body_len = len - r->head_len;
  sscanf(r->raw, "%15s", r->method);
  return 1;
}

static void *serve(void *arg) {
  struct hk_receiver *r = arg;
  if (wait_readable(r->fd)) {
    int c = accept(r->fd, NULL, NULL);
    if (c >= 0) {
      if (read_request(r, c)) {
        char answer[128];
        int n = snprintf(answer, sizeof answer,
                         "HTTP/1.1 %d Test\r\nContent-Length: 3\r\n"
                         "Connection: close\r\n\r\nok\n",
                         r->status);
        r->got = 1;
        (void)!send(c, answer, (size_t)n, MSG_NOSIGNAL);
      }
      close(c);
    }
  }
  close(r->fd);
  r->fd = -1;
  return NULL;
}

/* A socket bound to 127.0.0.1 and a free port, in *port; -1 on failure. */
static int bind_loopback(int *port) {
  struct sockaddr_in a;
  socklen_t alen = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return -1;
  }
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
    close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

int hk_receiver_start(struct hk_receiver *r, int status) {
  memset(r, 0, sizeof *r);
  r->status = status;
  r->fd = bind_loopback(&r->port);
  if (r->fd < 0) {
    return -1;
  }
  if (listen(r->fd, 1) != 0 ||
      pthread_create(&r->thread, NULL, serve, r) != 0) {
    close(r->fd);
    return -1;
  }
  return 0;
}

void hk_receiver_stop(struct hk_receiver *r) {
  pthread_join(r->thread, NULL);
}

char *hk_receiver_header(const struct hk_receiver *r, const char *name) {
  size_t nlen = strlen(name);
  const char *p = strstr(r->raw, "\r\n");
  const char *end = r->raw + r->head_len;
  while (p != NULL && p + 2 < end) {
    const char *line = p + 2;
    const char *eol = strstr(line, "\r\n");
    if (eol == NULL || eol == line) {
      break;
    }
    if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
      const char *v = line + nlen + 1;
      while (*v == ' ') {
        v++;
      }
      return strndup(v, (size_t)(eol - v));
    }
    p = eol;
  }
  return NULL;
}

int hk_receiver_closed_port(void) {
  int port = 0;
  int fd = bind_loopback(&port);
  if (fd >= 0) {
    close(fd);
  }
  return port;
}

int hk_receiver_listen_silently(int *port) {
  int fd = bind_loopback(port);
  if (fd >= 0 && listen(fd, 4) != 0) {
    close(fd);
    fd = -1;
  }
  return fd;
}
