/*
 * tcp-rr: a TCP request/response loop for the podwire benchmark's cross-node rows
 * (vxlan-datapath-bench.ts): the client sends a SIZE-byte request on one connection, waits for
 * the SIZE-byte response, N times, and times each round trip with CLOCK_MONOTONIC; the
 * server echoes. TCP_NODELAY on both ends. Only ever pointed at addresses inside network
 * namespaces the bench created.
 *
 *   tcp-rr serve PORT              accepts one connection, echoes until it closes, exits 0
 *   tcp-rr client ADDR PORT N SIZE prints "n p50_us p99_us mean_us min_us" on one line
 *
 * ADDR is an IPv4 or IPv6 literal. Exit 1 on any error (with a message on stderr).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *what) {
  fprintf(stderr, "tcp-rr: %s: %s\n", what, strerror(errno));
  return 1;
}

static int full(int fd, char *buf, size_t len, int writing) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = writing ? write(fd, buf + done, len - done) : read(fd, buf + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    done += (size_t)n;
  }
  return 0;
}

static int cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static int serve(int port) {
  int one = 1;
  int s = socket(AF_INET6, SOCK_STREAM, 0);
  if (s < 0) return fail("socket");
  int zero = 0;
  setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port), .sin6_addr = in6addr_any};
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) return fail("bind");
  if (listen(s, 1) < 0) return fail("listen");
  printf("listening\n");
  fflush(stdout);
  int c = accept(s, NULL, NULL);
  if (c < 0) return fail("accept");
  setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char buf[65536];
  for (;;) {
    ssize_t n = read(c, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (full(c, buf, (size_t)n, 1) < 0) return fail("write");
  }
  close(c);
  close(s);
  return 0;
}

static int client(const char *addr, int port, long n, long size) {
  int one = 1;
  struct sockaddr_storage ss;
  socklen_t len;
  memset(&ss, 0, sizeof ss);
  int family = strchr(addr, ':') ? AF_INET6 : AF_INET;
  if (family == AF_INET6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, addr, &a->sin6_addr) != 1) return fail("address");
    len = sizeof *a;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &a->sin_addr) != 1) return fail("address");
    len = sizeof *a;
  }
  int s = socket(family, SOCK_STREAM, 0);
  if (s < 0) return fail("socket");
  if (connect(s, (struct sockaddr *)&ss, len) < 0) return fail("connect");
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char *buf = calloc(1, (size_t)size);
  uint64_t *t = calloc((size_t)n, sizeof *t);
  if (!buf || !t) return fail("calloc");
  uint64_t sum = 0;
  for (long i = 0; i < n; i++) {
    uint64_t t0 = now_ns();
    if (full(s, buf, (size_t)size, 1) < 0) return fail("write");
    if (full(s, buf, (size_t)size, 0) < 0) return fail("read");
    t[i] = now_ns() - t0;
    sum += t[i];
  }
  close(s);
  qsort(t, (size_t)n, sizeof *t, cmp);
  /* Nearest-rank percentiles, as the bench's stats.ts. */
  long r50 = (n * 50 + 99) / 100, r99 = (n * 99 + 99) / 100;
  printf("%ld %.3f %.3f %.3f %.3f\n", n, t[r50 > 0 ? r50 - 1 : 0] / 1e3, t[r99 > 0 ? r99 - 1 : 0] / 1e3, (double)sum / n / 1e3, t[0] / 1e3);
  free(buf);
  free(t);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "serve") == 0) return serve(atoi(argv[2]));
  if (argc == 6 && strcmp(argv[1], "client") == 0) {
    long n = atol(argv[4]), size = atol(argv[5]);
    if (n < 1 || size < 1 || size > 65536) {
      fprintf(stderr, "tcp-rr: N >= 1, 1 <= SIZE <= 65536\n");
      return 2;
    }
    return client(argv[2], atoi(argv[3]), n, size);
  }
  fprintf(stderr, "usage: tcp-rr serve PORT | tcp-rr client ADDR PORT N SIZE\n");
  return 2;
}
