/* podwire: the CNI plugin binary. Wires the real environment, stdio, clock and
 * gRPC transport into shim_run; all behaviour lives in shim.c. */
#include "grpc_unix_call.h"
#include "shim.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static const char *real_getenv(void *ctx, const char *name)
{
    (void)ctx;
    return getenv(name);
}

static ssize_t real_read_stdin(void *ctx, void *buf, size_t n)
{
    (void)ctx;
    return read(STDIN_FILENO, buf, n);
}

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int real_write_stdout(void *ctx, const void *buf, size_t n)
{
    (void)ctx;
    return write_all(STDOUT_FILENO, buf, n);
}

static int real_write_stderr(void *ctx, const void *buf, size_t n)
{
    (void)ctx;
    return write_all(STDERR_FILENO, buf, n);
}

static uint64_t real_now_ms(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void real_sleep_ms(void *ctx, uint32_t ms)
{
    (void)ctx;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int main(void)
{
    /* A runtime that stops reading must give us EPIPE, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    const struct shim_io io = {
        .ctx = NULL,
        .getenv = real_getenv,
        .read_stdin = real_read_stdin,
        .write_stdout = real_write_stdout,
        .write_stderr = real_write_stderr,
        .now_ms = real_now_ms,
        .sleep_ms = real_sleep_ms,
        .transport = {.ctx = NULL, .call = grpc_unix_call},
    };
    return shim_run(&io);
}
