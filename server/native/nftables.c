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
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <nftables/libnftables.h>
#include <node_api.h>
#include "podwire_native.h"

typedef struct {
  struct nft_ctx *ctx;  // NULL once freed
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
    free(h);
    return podwire_throw_errno(env, failed, ENOMEM);
  }
  napi_value out;
  if (napi_create_external(env, h, nft_finalize, NULL, &out) != napi_ok) {
    pthread_mutex_lock(&nft_lock);
    nft_ctx_free(h->ctx);
    pthread_mutex_unlock(&nft_lock);
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
  return NULL;
}
