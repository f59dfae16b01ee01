// peerCred(fd): the credentials of the process at the other end of a unix socket
// (SO_PEERCRED), so podwired can refuse callers that are not root.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <node_api.h>
#include "podwire_native.h"

napi_value js_peer_cred(napi_env env, napi_callback_info info) {
  int32_t fd = -1;
  if (!podwire_fd_arg(env, info, "peerCred(fd)", &fd)) return NULL;
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return podwire_throw_errno(env, "getsockopt(SO_PEERCRED)", errno);
  napi_value out, pid, uid, gid;
  napi_create_object(env, &out);
  napi_create_int32(env, cred.pid, &pid);
  napi_create_uint32(env, cred.uid, &uid);
  napi_create_uint32(env, cred.gid, &gid);
  napi_set_named_property(env, out, "pid", pid);
  napi_set_named_property(env, out, "uid", uid);
  napi_set_named_property(env, out, "gid", gid);
  return out;
}
