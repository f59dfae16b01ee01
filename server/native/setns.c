// setns(fd): lets the single-threaded server enter a pod's network namespace
// just long enough to open a netlink socket there (the socket stays bound to that netns),
// then return to its own. Node has no setns(2).
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <node_api.h>
#include "podwire_native.h"

napi_value podwire_throw_errno(napi_env env, const char *what, int err) {
  char msg[128];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value code, text, error;
  napi_create_string_utf8(env, strerror(err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, NULL, text, &error);
  napi_value errno_value;
  napi_create_int32(env, err, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_throw(env, error);
  return NULL;
}

// setns(fd: number): void — enters the network namespace referred to by fd (CLONE_NEWNET).
napi_value js_setns(napi_env env, napi_callback_info info) {
  int32_t fd = -1;
  if (!podwire_fd_arg(env, info, "setns(fd)", &fd)) return NULL;
  if (setns(fd, CLONE_NEWNET) != 0) return podwire_throw_errno(env, "setns", errno);
  return NULL;
}
