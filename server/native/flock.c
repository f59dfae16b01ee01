// flockExclusive(fd): the state directory's lock. Node has no flock(2); an exclusive
// non-blocking flock is held by the open file description until the process exits, however
// it exits, so a SIGKILLed podwired never leaves a stale lock behind.
#include <errno.h>
#include <sys/file.h>
#include <node_api.h>
#include "podwire_native.h"

// flockExclusive(fd: number): boolean — true when the lock was taken, false when another
// open file description holds it; throws on any other failure.
napi_value js_flock_exclusive(napi_env env, napi_callback_info info) {
  int32_t fd = -1;
  if (!podwire_fd_arg(env, info, "flockExclusive(fd)", &fd)) return NULL;
  int rc;
  do {
    rc = flock(fd, LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0 && errno != EWOULDBLOCK) return podwire_throw_errno(env, "flock", errno);
  napi_value result;
  napi_get_boolean(env, rc == 0, &result);
  return result;
}
