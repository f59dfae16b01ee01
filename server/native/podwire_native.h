// podwire's small native addon: what Node cannot do by itself.
#ifndef PODWIRE_NATIVE_H
#define PODWIRE_NATIVE_H
#include <stdbool.h>
#include <stdint.h>
#include <node_api.h>

// Throws an Error "<what>: <strerror>" carrying .errno; returns NULL for the caller to return.
napi_value podwire_throw_errno(napi_env env, const char *what, int err);

// Reads the one argument of a function taking a file descriptor. On failure throws a
// TypeError "<usage>: fd must be a non-negative integer" and returns false.
bool podwire_fd_arg(napi_env env, napi_callback_info info, const char *usage, int32_t *fd);

napi_value js_setns(napi_env env, napi_callback_info info);
napi_value js_peer_cred(napi_env env, napi_callback_info info);
napi_value js_flock_exclusive(napi_env env, napi_callback_info info);
napi_value js_nft_create(napi_env env, napi_callback_info info);
napi_value js_nft_run(napi_env env, napi_callback_info info);
napi_value js_nft_free(napi_env env, napi_callback_info info);
napi_value js_nft_batch(napi_env env, napi_callback_info info);
napi_value js_rtnl_open(napi_env env, napi_callback_info info);
napi_value js_rtnl_exchange(napi_env env, napi_callback_info info);
napi_value js_rtnl_close(napi_env env, napi_callback_info info);
napi_value js_fstatfs_type(napi_env env, napi_callback_info info);

#endif
