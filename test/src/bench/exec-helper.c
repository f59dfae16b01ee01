/*
 * exec-helper: executes CNI plugins for the podwire benchmark the way a Go container runtime
 * does (posix_spawn = clone(CLONE_VM|CLONE_VFORK) + execve, pipes for stdin/stdout/stderr), and
 * times each execution from just before the spawn to the reap of the child with
 * CLOCK_MONOTONIC. Node's own child_process.spawn costs several milliseconds per process on
 * small machines, which would otherwise be charged to every plugin.
 *
 *   exec-helper serve   requests on stdin, replies on stdout, one execution at a time
 *   exec-helper noop    exits 0 at once (the exec floor of a static binary); so does a bare
 *                       `exec-helper` with EXEC_HELPER_NOOP set in its environment
 *
 * Request:  u32 nargs, u32 nenv, u32 timeout ms (0: none; past it the child is SIGKILLed), then
 *           2 + nargs + nenv x (u32 len, bytes): the program (a path, or a name looked up in the
 *           helper's PATH, as posix_spawnp does), the stdin data, nargs arguments (argv[1..]), nenv
 *           environment entries "KEY=VALUE".
 * Reply:    i32 status (exit code 0-255; 256+signal when killed; -errno when the spawn failed),
 *           u64 elapsed ns, u64 child CPU ns (user + system, from wait4's rusage), u32 stdout len + bytes, u32 stderr len + bytes.
 * All integers little-endian (host order on x86-64). Exit 0 on EOF between requests.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  char *data;
  size_t len, cap;
} buf_t;

static void buf_add(buf_t *b, const void *p, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    b->data = realloc(b->data, cap);
    if (!b->data) abort();
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
}

/* Reads exactly n bytes; 0 on success, 1 on clean EOF before any byte, -1 otherwise. */
static int read_full(int fd, void *p, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, (char *)p + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return (r == 0 && got == 0) ? 1 : -1;
    got += (size_t)r;
  }
  return 0;
}

static void write_full(int fd, const void *p, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t w = write(fd, (const char *)p + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) exit(3);
    done += (size_t)w;
  }
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int serve(void) {
  /* A child that exits without reading its stdin must not kill the helper with SIGPIPE; the
   * child itself gets the default disposition back (POSIX_SPAWN_SETSIGDEF below). */
  signal(SIGPIPE, SIG_IGN);
  posix_spawnattr_t attr;
  sigset_t dflt;
  posix_spawnattr_init(&attr);
  sigemptyset(&dflt);
  sigaddset(&dflt, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &dflt);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  for (;;) {
    uint32_t counts[3];
    int r = read_full(0, counts, 12);
    if (r == 1) return 0;
    if (r < 0 || counts[0] > 1024 || counts[1] > 4096) return 2;
    uint32_t nargs = counts[0], nfields = 2 + counts[0] + counts[1];
    char **fields = calloc(nfields, sizeof(char *));
    uint32_t *lens = calloc(nfields, sizeof(uint32_t));
    for (uint32_t i = 0; i < nfields; i++) {
      if (read_full(0, &lens[i], 4) != 0 || lens[i] > (64u << 20)) return 2;
      fields[i] = malloc(lens[i] + 1);
      if (read_full(0, fields[i], lens[i]) != 0) return 2;
      fields[i][lens[i]] = '\0';
    }
    char **argv = calloc(nargs + 2, sizeof(char *));
    argv[0] = fields[0];
    for (uint32_t i = 0; i < nargs; i++) argv[i + 1] = fields[2 + i];
    char **envp = calloc(nfields, sizeof(char *));
    for (uint32_t i = 2 + nargs; i < nfields; i++) envp[i - 2 - nargs] = fields[i];

    int in[2], out[2], err[2];
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) return 4;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);

    buf_t so = {0}, se = {0};
    int32_t status;
    uint64_t cpu = 0;
    pid_t pid;
    uint64_t t0 = now_ns();
    int rc = posix_spawnp(&pid, fields[0], &fa, &attr, argv, envp);
    uint64_t deadline = counts[2] ? t0 + (uint64_t)counts[2] * 1000000ull : 0;
    close(in[0]);
    close(out[1]);
    close(err[1]);
    if (rc != 0) {
      status = -rc;
      close(in[1]);
      close(out[0]);
      close(err[0]);
    } else {
      size_t sent = 0;
      int fin = in[1];
      if (lens[1] == 0) {
        close(fin);
        fin = -1;
      } else {
        fcntl(fin, F_SETFL, O_NONBLOCK);
      }
      int fo = out[0], fe = err[0];
      while (fo >= 0 || fe >= 0) {
        struct pollfd p[3];
        int n = 0, io = -1, ie = -1, ii = -1;
        if (fo >= 0) { p[n].fd = fo; p[n].events = POLLIN; io = n++; }
        if (fe >= 0) { p[n].fd = fe; p[n].events = POLLIN; ie = n++; }
        if (fin >= 0) { p[n].fd = fin; p[n].events = POLLOUT; ii = n++; }
        int wait_ms = -1;
        if (deadline) {
          uint64_t now = now_ns();
          if (now >= deadline) {
            kill(pid, SIGKILL);
            deadline = 0;
          } else {
            wait_ms = (int)((deadline - now + 999999) / 1000000);
          }
        }
        if (poll(p, (nfds_t)n, wait_ms) < 0) {
          if (errno == EINTR) continue;
          return 5;
        }
        char chunk[65536];
        if (io >= 0 && p[io].revents) {
          ssize_t k = read(fo, chunk, sizeof chunk);
          if (k > 0) buf_add(&so, chunk, (size_t)k);
          else if (k == 0 || errno != EINTR) { close(fo); fo = -1; }
        }
        if (ie >= 0 && p[ie].revents) {
          ssize_t k = read(fe, chunk, sizeof chunk);
          if (k > 0) buf_add(&se, chunk, (size_t)k);
          else if (k == 0 || errno != EINTR) { close(fe); fe = -1; }
        }
        if (ii >= 0 && p[ii].revents) {
          ssize_t w = write(fin, fields[1] + sent, lens[1] - sent);
          if (w > 0) sent += (size_t)w;
          if ((w < 0 && errno != EAGAIN && errno != EINTR) || sent == lens[1]) { close(fin); fin = -1; }
        }
      }
      if (fin >= 0) close(fin);
      /* A child that closed its output and runs on still gets its deadline: its pidfd
       * becomes readable when it exits. */
      if (deadline) {
        int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
        while (pfd >= 0) {
          uint64_t now = now_ns();
          if (now >= deadline) {
            kill(pid, SIGKILL);
            break;
          }
          struct pollfd q = {.fd = pfd, .events = POLLIN};
          int k = poll(&q, 1, (int)((deadline - now + 999999) / 1000000));
          if (k > 0 || (k < 0 && errno != EINTR)) break;
        }
        if (pfd >= 0) close(pfd);
      }
      int ws = 0;
      struct rusage ru = {0};
      while (wait4(pid, &ws, 0, &ru) < 0 && errno == EINTR) {
      }
      cpu = ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
            ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
      status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 256 + WTERMSIG(ws);
    }
    uint64_t elapsed = now_ns() - t0;
    posix_spawn_file_actions_destroy(&fa);

    buf_t reply = {0};
    uint32_t lo = (uint32_t)so.len, le = (uint32_t)se.len;
    buf_add(&reply, &status, 4);
    buf_add(&reply, &elapsed, 8);
    buf_add(&reply, &cpu, 8);
    buf_add(&reply, &lo, 4);
    if (lo) buf_add(&reply, so.data, so.len);
    buf_add(&reply, &le, 4);
    if (le) buf_add(&reply, se.data, se.len);
    write_full(1, reply.data, reply.len);
    free(reply.data);
    free(so.data);
    free(se.data);
    for (uint32_t i = 0; i < nfields; i++) free(fields[i]);
    free(fields);
    free(lens);
    free(envp);
    free(argv);
  }
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "noop") == 0) return 0;
  if (argc == 1 && getenv("EXEC_HELPER_NOOP") != NULL) return 0;
  if (argc == 2 && strcmp(argv[1], "serve") == 0) return serve();
  fprintf(stderr, "usage: exec-helper serve|noop\n");
  return 64;
}
