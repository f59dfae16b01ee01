// Registers the addon's functions: setns (setns.c) and peerCred (peercred.c).
#include <node_api.h>
#include "podwire_native.h"

static void export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

static napi_value init(napi_env env, napi_value exports) {
  export_fn(env, exports, "setns", js_setns);
  export_fn(env, exports, "peerCred", js_peer_cred);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
