// Registers the addon's functions, setns (setns.c), peerCred (peercred.c), flockExclusive
// (flock.c), the libnftables binding nftCreate/nftRun/nftFree (nftables.c) and synchronous
// rtnetlink rtnlOpen/rtnlExchange/rtnlClose and fstatfsType (rtnl.c), and holds the
// argument helper they share.
#include <stdio.h>
#include <node_api.h>
#include "podwire_native.h"

bool podwire_fd_arg(napi_env env, napi_callback_info info, const char *usage, int32_t *fd) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 1 &&
      napi_get_value_int32(env, argv[0], fd) == napi_ok && *fd >= 0)
    return true;
  char msg[96];
  snprintf(msg, sizeof msg, "%s: fd must be a non-negative integer", usage);
  napi_throw_type_error(env, NULL, msg);
  return false;
}

static void export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

static napi_value init(napi_env env, napi_value exports) {
  export_fn(env, exports, "setns", js_setns);
  export_fn(env, exports, "peerCred", js_peer_cred);
  export_fn(env, exports, "flockExclusive", js_flock_exclusive);
  export_fn(env, exports, "nftCreate", js_nft_create);
  export_fn(env, exports, "nftRun", js_nft_run);
  export_fn(env, exports, "nftFree", js_nft_free);
  export_fn(env, exports, "nftBatch", js_nft_batch);
  export_fn(env, exports, "rtnlOpen", js_rtnl_open);
  export_fn(env, exports, "rtnlExchange", js_rtnl_exchange);
  export_fn(env, exports, "rtnlClose", js_rtnl_close);
  export_fn(env, exports, "fstatfsType", js_fstatfs_type);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
