// Synchronous rtnetlink for the datapath thread: rtnlOpen makes a NETLINK_ROUTE socket in the
// calling thread's network namespace, rtnlExchange writes requests and reads back whatever the
// kernel queued for them. rtnetlink handles a request inside sendmsg(2) itself: when the write
// returns, its acknowledgements, echoes and answers (and a dump's first part) are queued on
// the socket already, and each read of a dump makes its next part. So one write and the reads
// that empty the socket are the whole exchange: no poll, no event loop round, one Buffer back.
// Also fstatfsType, for checking a pod's netns fd (datapath/netns.ts) without a procfs path.
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <node_api.h>
#include "podwire_native.h"

// Room kept free for each read: larger than any datagram rtnetlink sends (a dump part is at
// most 32 KiB; a reply or acknowledgement far less).
#define READ_ROOM 65536

// rtnlOpen(rcvbuf: number): { fd, port } — a NETLINK_ROUTE socket (close-on-exec, bound: the
// kernel picks its port) in the calling thread's network namespace, its receive buffer asked
// to be `rcvbuf` bytes (best effort: net.core.rmem_max caps it).
napi_value js_rtnl_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t rcvbuf = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 ||
      napi_get_value_int32(env, argv[0], &rcvbuf) != napi_ok) {
    napi_throw_type_error(env, NULL, "rtnlOpen(rcvbuf): a number expected");
    return NULL;
  }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return podwire_throw_errno(env, "rtnlOpen: socket", errno);
  struct sockaddr_nl local = {.nl_family = AF_NETLINK};
  socklen_t len = sizeof local;
  if (bind(fd, (struct sockaddr *)&local, sizeof local) != 0 || getsockname(fd, (struct sockaddr *)&local, &len) != 0) {
    int err = errno;
    close(fd);
    return podwire_throw_errno(env, "rtnlOpen: bind", err);
  }
  if (rcvbuf > 0) (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  napi_value result, fdv, portv;
  napi_create_object(env, &result);
  napi_create_int32(env, fd, &fdv);
  napi_create_uint32(env, local.nl_pid, &portv);
  napi_set_named_property(env, result, "fd", fdv);
  napi_set_named_property(env, result, "port", portv);
  return result;
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// Reads every datagram queued on fd into one Buffer (after waiting up to waitMs for the first
// when none is queued). Returns NULL with an exception pending on failure.
static napi_value drain(napi_env env, int fd, int waitMs) {
  size_t cap = READ_ROOM * 2, used = 0;
  char *buf = malloc(cap);
  if (!buf) return podwire_throw_errno(env, "rtnlExchange", ENOMEM);
  long long deadline = now_ms() + waitMs;
  int failed = 0;
  for (;;) {
    if (cap - used < READ_ROOM) {
      char *grown = realloc(buf, cap * 2);
      if (!grown) {
        failed = ENOMEM;
        break;
      }
      buf = grown;
      cap *= 2;
    }
    ssize_t n = recv(fd, buf + used, cap - used, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      long long left = deadline - now_ms();
      if (used > 0 || left <= 0) break;
      struct pollfd p = {.fd = fd, .events = POLLIN};
      if (poll(&p, 1, (int)left) < 0 && errno != EINTR) {
        failed = errno;
        break;
      }
      continue;
    }
    if (n < 0) {
      failed = errno;  // ENOBUFS: the receive buffer overflowed and replies were lost
      break;
    }
    if ((size_t)n > cap - used) {
      failed = EMSGSIZE;
      break;
    }
    used += (size_t)n;
  }
  if (failed != 0) {
    free(buf);
    return podwire_throw_errno(env, "rtnlExchange: recv", failed);
  }
  napi_value out;
  void *copy = NULL;
  napi_status st = napi_create_buffer_copy(env, used, buf, &copy, &out);
  free(buf);
  if (st != napi_ok) return podwire_throw_errno(env, "rtnlExchange", ENOMEM);
  return out;
}

// rtnlExchange(fd, frames: Uint8Array | null, waitMs: number): Buffer — writes `frames` (whole
// netlink messages, one sendmsg) when given, then reads every reply queued on the socket,
// each datagram's messages after the previous one's. When nothing is queued it waits up to
// waitMs for a first datagram (0: does not wait); an empty Buffer when none came.
napi_value js_rtnl_exchange(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd = -1, waitMs = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      fd < 0 || napi_get_value_int32(env, argv[2], &waitMs) != napi_ok || waitMs < 0) {
    napi_throw_type_error(env, NULL, "rtnlExchange(fd, frames, waitMs): fd and waitMs must be non-negative integers");
    return NULL;
  }
  napi_valuetype t;
  napi_typeof(env, argv[1], &t);
  if (t != napi_null) {
    bool typed = false;
    napi_is_typedarray(env, argv[1], &typed);
    napi_typedarray_type type;
    size_t len = 0;
    void *data = NULL;
    napi_value ab;
    size_t off = 0;
    if (!typed || napi_get_typedarray_info(env, argv[1], &type, &len, &data, &ab, &off) != napi_ok || type != napi_uint8_array) {
      napi_throw_type_error(env, NULL, "rtnlExchange: frames must be a Uint8Array or null");
      return NULL;
    }
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    ssize_t sent;
    do sent = sendto(fd, data, len, 0, (struct sockaddr *)&kernel, sizeof kernel);
    while (sent < 0 && errno == EINTR);
    if (sent < 0) return podwire_throw_errno(env, "rtnlExchange: send", errno);
    if ((size_t)sent != len) return podwire_throw_errno(env, "rtnlExchange: send", EMSGSIZE);
  }
  return drain(env, fd, waitMs);
}

// rtnlClose(fd): void — closes a socket from rtnlOpen (fs.closeSync would warn about an fd Node
// did not open, in a worker thread).
napi_value js_rtnl_close(napi_env env, napi_callback_info info) {
  int32_t fd = -1;
  if (!podwire_fd_arg(env, info, "rtnlClose(fd)", &fd)) return NULL;
  if (close(fd) != 0 && errno != EINTR) return podwire_throw_errno(env, "rtnlClose", errno);
  return NULL;
}

// fstatfsType(fd): number — the f_type of the filesystem holding the file fd refers to (an
// O_PATH fd too): what statfs("/proc/self/fd/<fd>") answers, without the procfs path walk.
napi_value js_fstatfs_type(napi_env env, napi_callback_info info) {
  int32_t fd = -1;
  if (!podwire_fd_arg(env, info, "fstatfsType(fd)", &fd)) return NULL;
  struct statfs st;
  if (fstatfs(fd, &st) != 0) return podwire_throw_errno(env, "fstatfs", errno);
  napi_value out;
  napi_create_double(env, (double)(unsigned long)st.f_type, &out);
  return out;
}
