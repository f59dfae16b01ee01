/* The whole behaviour of one `podwire` invocation, with every outside effect
 * (environment, stdio, clock, network) injected so tests can drive it. */
#ifndef PODWIRE_SHIM_H
#define PODWIRE_SHIM_H

#include "transport.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Defaults; see env.h for the variables that override them. */
#define SHIM_DEFAULT_SOCKET "/run/podwire/podwire.sock"
#define SHIM_DEFAULT_RETRY_TIMEOUT_MS 5000u
#define SHIM_DEFAULT_CALL_TIMEOUT_MS 120000u
/* Bounds accepted from the environment (one day at most). */
#define SHIM_MAX_TIMEOUT_MS 86400000u
/* Largest network configuration read from stdin. */
#define SHIM_MAX_CONFIG_BYTES (16u * 1024 * 1024)
/* Pause between connect attempts: starts here, doubles, capped. */
#define SHIM_RETRY_FIRST_DELAY_MS 20u
#define SHIM_RETRY_MAX_DELAY_MS 200u

struct shim_io {
    void *ctx; /* passed to every function below */
    /* NULL when unset. */
    const char *(*getenv)(void *ctx, const char *name);
    /* Like read(2) on stdin: >0 bytes read, 0 at end, -1 with errno set. */
    ssize_t (*read_stdin)(void *ctx, void *buf, size_t n);
    /* Write all n bytes; 0 on success, -1 with errno set. */
    int (*write_stdout)(void *ctx, const void *buf, size_t n);
    int (*write_stderr)(void *ctx, const void *buf, size_t n);
    /* A monotonic clock in milliseconds, and a pause. */
    uint64_t (*now_ms)(void *ctx);
    void (*sleep_ms)(void *ctx, uint32_t ms);
    struct transport transport;
};

/* Runs one CNI invocation; returns the process exit status (0 or 1). */
int shim_run(const struct shim_io *io);

#endif
