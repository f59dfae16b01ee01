// nftCreate / nftRun / nftFree: libnftables called in-process, so podwired programs its
// nftables table without spawning `nft`. A context speaks JSON both ways (libnftables 1.0.6
// parses a buffer as JSON first when JSON output is on) and buffers its output and errors,
// which nftRun returns or throws. One nftRun is one nft_run_cmd_from_buffer: every command
// of the buffer goes to the kernel in one netlink batch, applied all or nothing.
//
// Threads: a context belongs to the JavaScript thread that created it (a napi_external
// cannot leave its env), so each owner (main thread, datapath worker) has its own. Creating,
// running and freeing contexts is serialised process-wide by one mutex: libnftables' set-up
// touches process-wide state (gmp's allocator hooks, libxtables' globals for xt compat), and
// a transaction takes about a millisecond, so two threads never wait on each other for long.
// Network namespace: libnftables opens its netlink socket in nft_ctx_new, in the calling
// thread's netns (measured: a context made in the host and run inside another netns still
// programs the host), and may reopen it when a cache dump is interrupted. Callers that
// program another netns create the context and run every command with the thread inside it.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <nftables/libnftables.h>
#include <node_api.h>
#include "podwire_native.h"

typedef struct {
  struct nft_ctx *ctx;  // NULL once freed
  int nlfd;             // NETLINK_NETFILTER socket of nftBatch, made with the context (its netns); -1 when none
} podwire_nft;

static pthread_mutex_t nft_lock = PTHREAD_MUTEX_INITIALIZER;

// Marks the externals nftCreate returns, so no other external is ever taken for a context.
static const napi_type_tag NFT_TAG = {0x706f64776972656eULL, 0x6674637478000001ULL};

// The context behind `value`, or NULL (nothing thrown) when it is not one of ours.
static podwire_nft *nft_of(napi_env env, napi_value value) {
  napi_valuetype type;
  bool tagged = false;
  void *data = NULL;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_external ||
      napi_check_object_type_tag(env, value, &NFT_TAG, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, value, &data) != napi_ok)
    return NULL;
  return data;
}

static void nft_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  podwire_nft *h = data;
  pthread_mutex_lock(&nft_lock);
  if (h->ctx) nft_ctx_free(h->ctx);
  pthread_mutex_unlock(&nft_lock);
  if (h->nlfd >= 0) close(h->nlfd);
  free(h);
}

// Reads the context argument argv[0]; throws a TypeError and returns NULL when it is not one
// or was freed.
static podwire_nft *nft_arg(napi_env env, napi_value value, const char *usage) {
  podwire_nft *h = nft_of(env, value);
  if (!h) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  if (!h->ctx) {
    napi_throw_error(env, NULL, "nftables context already freed");
    return NULL;
  }
  return h;
}

// nftCreate(): External — a new libnftables context (JSON in and out, buffered output and errors).
napi_value js_nft_create(napi_env env, napi_callback_info info) {
  (void)info;
  podwire_nft *h = calloc(1, sizeof *h);
  if (!h) return podwire_throw_errno(env, "nftCreate", ENOMEM);
  // nftBatch's socket lives in the netns the context is made in, as libnftables' does.
  h->nlfd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  pthread_mutex_lock(&nft_lock);
  const char *failed = NULL;
  h->ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (!h->ctx) {
    failed = "nft_ctx_new";
  } else {
    // Numeric protocols: listings do not depend on /etc/protocols (the node image has none).
    nft_ctx_output_set_flags(h->ctx, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_NUMERIC_PROTO);
    if (nft_ctx_buffer_output(h->ctx) != 0 || nft_ctx_buffer_error(h->ctx) != 0) {
      nft_ctx_free(h->ctx);
      h->ctx = NULL;
      failed = "nft_ctx_buffer_output";
    }
  }
  pthread_mutex_unlock(&nft_lock);
  if (failed) {
    if (h->nlfd >= 0) close(h->nlfd);
    free(h);
    return podwire_throw_errno(env, failed, ENOMEM);
  }
  napi_value out;
  if (napi_create_external(env, h, nft_finalize, NULL, &out) != napi_ok) {
    pthread_mutex_lock(&nft_lock);
    nft_ctx_free(h->ctx);
    pthread_mutex_unlock(&nft_lock);
    if (h->nlfd >= 0) close(h->nlfd);
    free(h);
    napi_throw_error(env, NULL, "nftCreate: napi_create_external failed");
    return NULL;
  }
  // Past this point the finalizer owns h.
  if (napi_type_tag_object(env, out, &NFT_TAG) != napi_ok) {
    napi_throw_error(env, NULL, "nftCreate: napi_type_tag_object failed");
    return NULL;
  }
  return out;
}

// nftRun(ctx, commands: string): string — runs the commands as one transaction and returns
// libnftables' output (JSON, "" when a command prints nothing). On failure throws an Error
// whose message is libnftables' error text (the kernel's reason and the failing command),
// with .nftError set to the same text.
napi_value js_nft_run(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2) {
    napi_throw_type_error(env, NULL, "nftRun(ctx, commands): two arguments expected");
    return NULL;
  }
  podwire_nft *h = nft_arg(env, argv[0], "nftRun(ctx, commands): ctx must come from nftCreate()");
  if (!h) return NULL;
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[1], NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "nftRun(ctx, commands): commands must be a string");
    return NULL;
  }
  char *buf = malloc(len + 1);
  if (!buf) return podwire_throw_errno(env, "nftRun", ENOMEM);
  napi_get_value_string_utf8(env, argv[1], buf, len + 1, &len);
  pthread_mutex_lock(&nft_lock);
  int rc = nft_run_cmd_from_buffer(h->ctx, buf);
  free(buf);
  // Both buffers are read every time (reading one rewinds it for the next run) and copied
  // into JavaScript strings before the lock is released.
  const char *output = nft_ctx_get_output_buffer(h->ctx);
  const char *errors = nft_ctx_get_error_buffer(h->ctx);
  napi_value text;
  if (rc != 0) {
    napi_create_string_utf8(env, errors && errors[0] ? errors : "libnftables failed without an error message", NAPI_AUTO_LENGTH, &text);
  } else {
    napi_create_string_utf8(env, output ? output : "", NAPI_AUTO_LENGTH, &text);
  }
  pthread_mutex_unlock(&nft_lock);
  if (rc != 0) {
    napi_value error;
    napi_create_error(env, NULL, text, &error);
    napi_set_named_property(env, error, "nftError", text);
    napi_throw(env, error);
    return NULL;
  }
  return text;
}

// nftFree(ctx): void — frees the context now (the garbage collector would otherwise). Idempotent.
napi_value js_nft_free(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  podwire_nft *h = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || !(h = nft_of(env, argv[0]))) {
    napi_throw_type_error(env, NULL, "nftFree(ctx): ctx must come from nftCreate()");
    return NULL;
  }
  if (h->ctx) {
    pthread_mutex_lock(&nft_lock);
    nft_ctx_free(h->ctx);
    pthread_mutex_unlock(&nft_lock);
    h->ctx = NULL;
  }
  if (h->nlfd >= 0) {
    close(h->nlfd);
    h->nlfd = -1;
  }
  return NULL;
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// Throws an Error like libnftables' ("Error: Could not process rule: <strerror>"), .nftError set.
static napi_value throw_batch_error(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "Error: %s: %s", what, strerror(err));
  napi_value text, error;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, NULL, text, &error);
  napi_set_named_property(env, error, "nftError", text);
  napi_throw(env, error);
  return NULL;
}

// nftBatch(ctx, batch: Uint8Array, firstSeq: number, count: number): boolean — sends an
// nfnetlink batch the caller framed (BATCH_BEGIN, `count` messages with NLM_F_ACK numbered
// firstSeq.., BATCH_END) on the context's own netlink socket and waits (up to 5 s) for the
// kernel's answer to each of the `count` messages: the kernel applies the batch whole or not
// at all. Throws an Error (.nftError, libnftables' style) naming the first refusal. No cache,
// no listing: what libnftables would fetch before every transaction is not needed for
// messages the caller encoded itself. Returns false, sending nothing, when the context has
// no socket of its own (then the caller runs the commands through libnftables).
napi_value js_nft_batch(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4) {
    napi_throw_type_error(env, NULL, "nftBatch(ctx, batch, firstSeq, count): four arguments expected");
    return NULL;
  }
  podwire_nft *h = nft_arg(env, argv[0], "nftBatch(ctx, batch, firstSeq, count): ctx must come from nftCreate()");
  if (!h) return NULL;
  napi_value result;
  if (h->nlfd < 0) {
    // No socket of its own (socket() failed at nftCreate): the caller uses libnftables.
    napi_get_boolean(env, false, &result);
    return result;
  }
  bool typed = false;
  napi_is_typedarray(env, argv[1], &typed);
  if (!typed) {
    napi_throw_type_error(env, NULL, "nftBatch: batch must be a Uint8Array");
    return NULL;
  }
  napi_typedarray_type type;
  size_t len = 0;
  void *data = NULL;
  napi_value ab;
  size_t off = 0;
  uint32_t first = 0, count = 0;
  if (napi_get_typedarray_info(env, argv[1], &type, &len, &data, &ab, &off) != napi_ok || type != napi_uint8_array ||
      napi_get_value_uint32(env, argv[2], &first) != napi_ok || napi_get_value_uint32(env, argv[3], &count) != napi_ok) {
    napi_throw_type_error(env, NULL, "nftBatch: batch must be a Uint8Array, firstSeq and count numbers");
    return NULL;
  }
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  ssize_t sent;
  do sent = sendto(h->nlfd, data, len, 0, (struct sockaddr *)&kernel, sizeof kernel);
  while (sent < 0 && errno == EINTR);
  if (sent < 0) return throw_batch_error(env, "sending the batch", errno);
  if ((size_t)sent != len) return throw_batch_error(env, "sending the batch", EMSGSIZE);
  uint32_t answered = 0;
  int refused = 0;
  long long deadline = now_ms() + 5000;
  // Per call: the main thread and the datapath thread may both be in here.
  const size_t cap = 65536;
  long *buf = malloc(cap);
  if (!buf) return podwire_throw_errno(env, "nftBatch", ENOMEM);
  int failed = 0;
  const char *failedAt = NULL;
  while (answered < count) {
    long long left = deadline - now_ms();
    if (left <= 0) {
      failed = ETIMEDOUT;
      failedAt = "waiting for the kernel's answer";
      break;
    }
    struct pollfd p = {.fd = h->nlfd, .events = POLLIN};
    int r = poll(&p, 1, (int)left);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      failed = errno;
      failedAt = "waiting for the kernel's answer";
      break;
    }
    if (r == 0) continue;
    ssize_t n = recv(h->nlfd, buf, cap, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      failed = errno;
      failedAt = "reading the kernel's answer";
      break;
    }
    for (struct nlmsghdr *m = (struct nlmsghdr *)buf; NLMSG_OK(m, (size_t)n); m = NLMSG_NEXT(m, n)) {
      // Answers to an earlier call that gave up waiting are not ours.
      if (m->nlmsg_seq < first || m->nlmsg_seq >= first + count) continue;
      if (m->nlmsg_type != NLMSG_ERROR) continue;
      const struct nlmsgerr *e = NLMSG_DATA(m);
      answered++;
      if (e->error != 0 && refused == 0) refused = -e->error;
    }
  }
  free(buf);
  if (failed != 0) return throw_batch_error(env, failedAt, failed);
  if (refused != 0) return throw_batch_error(env, "Could not process rule", refused);
  napi_get_boolean(env, true, &result);
  return result;
}
