#include "grpc_unix_call.h"

#include "buf.h"
#include "grpc_frame.h"

#include <nghttp2/nghttp2.h>

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Receive windows we announce, so large replies need few WINDOW_UPDATEs. */
#define LOCAL_WINDOW (16 * 1024 * 1024)

/* Everything the nghttp2 callbacks need for the single stream of the call. */
struct h2_call {
    int32_t stream_id;
    struct buf request; /* the length-prefixed request message */
    size_t request_sent;
    int http_status; /* :status, 0 until seen */
    bool have_grpc_status;
    uint32_t grpc_status;
    char *grpc_message;
    struct buf body; /* response DATA */
    bool body_too_large;
    bool closed; /* the stream ended (normally or by RST_STREAM) */
    uint32_t close_error;
};

static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void set_detail(struct call_result *out, const char *fmt, const char *arg)
{
    struct buf b = {0};
    buf_appendf(&b, fmt, arg);
    free(out->detail);
    out->detail = buf_take_str(&b);
}

static void fail(struct call_result *out, const char *fmt, const char *arg)
{
    out->outcome = CALL_FAILED;
    set_detail(out, fmt, arg);
}

static bool header_is(const uint8_t *name, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(name, want, len) == 0;
}

/* Parses a decimal header value; false when empty, not digits or too big. */
static bool parse_uint(const uint8_t *v, size_t len, uint32_t *out)
{
    uint64_t n = 0;
    if (len == 0 || len > 9)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return false;
        n = n * 10 + (v[i] - '0');
    }
    *out = (uint32_t)n;
    return true;
}

/* Response headers and trailers alike: grpc-status / grpc-message may come in
 * either (a "trailers-only" response carries them in the only HEADERS). */
static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user_data)
{
    (void)session;
    (void)flags;
    struct h2_call *c = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->hd.stream_id != c->stream_id)
        return 0;
    uint32_t n;
    if (header_is(name, namelen, ":status")) {
        if (parse_uint(value, valuelen, &n))
            c->http_status = (int)n;
    } else if (header_is(name, namelen, "grpc-status")) {
        if (parse_uint(value, valuelen, &n)) {
            c->have_grpc_status = true;
            c->grpc_status = n;
        } else {
            /* Unparseable: gRPC treats this as UNKNOWN. */
            c->have_grpc_status = true;
            c->grpc_status = 2;
        }
    } else if (header_is(name, namelen, "grpc-message")) {
        free(c->grpc_message);
        c->grpc_message = grpc_percent_decode((const char *)value, valuelen);
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                         const uint8_t *data, size_t len, void *user_data)
{
    (void)session;
    (void)flags;
    struct h2_call *c = user_data;
    if (stream_id != c->stream_id)
        return 0;
    if (c->body.len + len > GRPC_UNIX_CALL_MAX_RESPONSE) {
        c->body_too_large = true;
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    buf_append(&c->body, data, len);
    return c->body.failed ? NGHTTP2_ERR_CALLBACK_FAILURE : 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                           void *user_data)
{
    (void)session;
    struct h2_call *c = user_data;
    if (stream_id == c->stream_id) {
        c->closed = true;
        c->close_error = error_code;
    }
    return 0;
}

/* Feeds the request body to nghttp2 as flow control allows. */
static ssize_t read_request(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
                            size_t length, uint32_t *data_flags, nghttp2_data_source *source,
                            void *user_data)
{
    (void)session;
    (void)stream_id;
    (void)source;
    struct h2_call *c = user_data;
    size_t left = c->request.len - c->request_sent;
    size_t n = left < length ? left : length;
    memcpy(buf, c->request.data + c->request_sent, n);
    c->request_sent += n;
    if (c->request_sent == c->request.len)
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/* Opens a non-blocking connection; on failure fills out and returns -1. */
static int connect_unix(const char *path, struct call_result *out)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof addr.sun_path) {
        out->outcome = CALL_CONNECT_FAILED;
        out->connect_errno = len ? ENAMETOOLONG : EINVAL;
        return -1;
    }
    memcpy(addr.sun_path, path, len);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        out->outcome = CALL_CONNECT_FAILED;
        out->connect_errno = errno;
        return -1;
    }
    /* A unix stream connect completes at once or fails at once (EAGAIN when
     * the listen backlog is full), so there is no EINPROGRESS to wait for. */
    if (connect(fd, (const struct sockaddr *)&addr, sizeof addr) != 0) {
        out->outcome = CALL_CONNECT_FAILED;
        out->connect_errno = errno;
        close(fd);
        return -1;
    }
    return fd;
}

/* Decides the outcome once the stream has closed. */
static void finish(struct h2_call *c, struct call_result *out)
{
    if (c->have_grpc_status) {
        out->outcome = CALL_COMPLETED;
        out->grpc_status = c->grpc_status;
        out->grpc_message = c->grpc_message;
        c->grpc_message = NULL;
        if (c->grpc_status != GRPC_STATUS_OK)
            return;
        const uint8_t *msg = NULL;
        size_t msg_len = 0;
        enum grpc_frame_status fs = grpc_frame_decode_single(c->body.data, c->body.len, &msg, &msg_len);
        if (fs != GRPC_FRAME_OK) {
            fail(out, "%s", grpc_frame_status_text(fs));
            return;
        }
        out->message = malloc(msg_len ? msg_len : 1);
        if (!out->message) {
            fail(out, "%s", "out of memory");
            return;
        }
        memcpy(out->message, msg, msg_len);
        out->message_len = msg_len;
        return;
    }
    if (c->close_error == NGHTTP2_REFUSED_STREAM) {
        /* The server did not process the stream at all: gRPC calls that UNAVAILABLE. */
        out->outcome = CALL_COMPLETED;
        out->grpc_status = GRPC_STATUS_UNAVAILABLE;
        out->grpc_message = strdup("stream refused by the server");
        return;
    }
    if (c->close_error != NGHTTP2_NO_ERROR) {
        fail(out, "the server reset the stream (HTTP/2 error %s)",
             nghttp2_http2_strerror(c->close_error));
        return;
    }
    if (c->http_status == 502 || c->http_status == 503 || c->http_status == 504) {
        out->outcome = CALL_COMPLETED;
        out->grpc_status = GRPC_STATUS_UNAVAILABLE;
        out->grpc_message = strdup("HTTP status without grpc-status");
        return;
    }
    char status[16];
    snprintf(status, sizeof status, "%d", c->http_status);
    fail(out, "the response ended without grpc-status (HTTP status %s)", status);
}

/* Most bytes gathered from nghttp2 before writing them out. */
#define OUT_BATCH (256 * 1024)

/* Drives the session until the stream closes, the deadline passes or the
 * connection breaks. Output frames are gathered into one buffer so that the
 * preface, SETTINGS, HEADERS and DATA usually leave in a single send(). */
static void exchange(int fd, nghttp2_session *session, struct h2_call *c, uint64_t deadline,
                     struct call_result *out)
{
    struct buf outq = {0}; /* bytes to write; outq_sent of them already went */
    size_t outq_sent = 0;
    uint8_t in[65536];
    for (;;) {
        if (c->closed) {
            finish(c, out);
            break;
        }
        if (outq_sent == outq.len) {
            outq.len = outq_sent = 0;
            const uint8_t *data;
            ssize_t n;
            while (outq.len < OUT_BATCH && (n = nghttp2_session_mem_send(session, &data)) != 0) {
                if (n < 0) {
                    fail(out, "HTTP/2 error: %s", nghttp2_strerror((int)n));
                    goto done;
                }
                buf_append(&outq, data, (size_t)n);
            }
            if (outq.failed) {
                fail(out, "%s", "out of memory");
                break;
            }
        }
        bool want_send = outq_sent < outq.len;
        if (!want_send && !nghttp2_session_want_read(session)) {
            fail(out, "%s", "the HTTP/2 session ended before the call did");
            break;
        }
        uint64_t now = monotonic_ms();
        if (now >= deadline) {
            out->outcome = CALL_TIMED_OUT;
            break;
        }
        uint64_t wait = deadline - now;
        struct pollfd p = {.fd = fd, .events = (short)(POLLIN | (want_send ? POLLOUT : 0))};
        int r = poll(&p, 1, wait > 60000 ? 60000 : (int)wait);
        if (r < 0 && errno != EINTR) {
            fail(out, "poll failed: %s", strerror(errno));
            break;
        }
        if (r <= 0)
            continue;
        /* Read first: a complete answer counts even if the server then hangs up. */
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = recv(fd, in, sizeof in, 0);
            if (n == 0) {
                fail(out, "%s", "podwired closed the connection before ending the call");
                break;
            }
            if (n < 0 && errno != EAGAIN && errno != EINTR) {
                fail(out, "reading from the socket failed: %s", strerror(errno));
                break;
            }
            if (n > 0) {
                ssize_t used = nghttp2_session_mem_recv(session, in, (size_t)n);
                if (used < 0) {
                    if (c->body_too_large)
                        fail(out, "%s", "the response is larger than 64 MiB");
                    else
                        fail(out, "HTTP/2 error: %s", nghttp2_strerror((int)used));
                    break;
                }
                continue; /* re-check for stream close before writing more */
            }
        }
        if (want_send && (p.revents & POLLOUT)) {
            ssize_t n = send(fd, outq.data + outq_sent, outq.len - outq_sent, MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN && errno != EINTR) {
                fail(out, "writing to the socket failed: %s", strerror(errno));
                break;
            }
            if (n > 0)
                outq_sent += (size_t)n;
        }
    }
done:
    buf_free(&outq);
}

/* Best effort: tell the server we are done (GOAWAY) without waiting. */
static void say_goodbye(int fd, nghttp2_session *session)
{
    if (nghttp2_session_terminate_session(session, NGHTTP2_NO_ERROR) != 0)
        return;
    const uint8_t *data;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(session, &data)) > 0)
        if (send(fd, data, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
            return;
}

#define NV(name, value)                                                                      \
    {                                                                                        \
        (uint8_t *)(name), (uint8_t *)(value), sizeof(name) - 1, strlen(value),              \
            NGHTTP2_NV_FLAG_NONE                                                             \
    }

void grpc_unix_call(void *ctx, const char *socket_path, const char *method, const uint8_t *req,
                    size_t req_len, uint32_t timeout_ms, struct call_result *out)
{
    (void)ctx;
    memset(out, 0, sizeof *out);
    int fd = connect_unix(socket_path, out);
    if (fd < 0)
        return;
    uint64_t deadline = monotonic_ms() + timeout_ms;

    struct h2_call c = {.stream_id = -1};
    nghttp2_session_callbacks *cbs = NULL;
    nghttp2_session *session = NULL;
    grpc_frame_encode(&c.request, req, req_len);
    if (c.request.failed || nghttp2_session_callbacks_new(&cbs) != 0) {
        fail(out, "%s", "out of memory");
        goto done;
    }
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    if (nghttp2_session_client_new(&session, cbs, &c) != 0) {
        fail(out, "%s", "out of memory");
        goto done;
    }

    char timeout[16];
    grpc_timeout_format(timeout_ms, timeout);
    const nghttp2_nv headers[] = {
        NV(":method", "POST"),
        NV(":scheme", "http"),
        NV(":path", method),
        NV(":authority", "localhost"),
        NV("content-type", "application/grpc"),
        NV("te", "trailers"),
        NV("grpc-timeout", timeout),
        NV("user-agent", "podwire-shim/1"),
    };
    const nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, LOCAL_WINDOW},
    };
    nghttp2_data_provider body = {.read_callback = read_request};
    int rv = nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, settings,
                                     sizeof settings / sizeof settings[0]);
    if (rv == 0)
        rv = nghttp2_session_set_local_window_size(session, NGHTTP2_FLAG_NONE, 0, LOCAL_WINDOW);
    if (rv == 0) {
        c.stream_id = nghttp2_submit_request(session, NULL, headers,
                                             sizeof headers / sizeof headers[0], &body, NULL);
        rv = c.stream_id < 0 ? c.stream_id : 0;
    }
    if (rv != 0) {
        fail(out, "HTTP/2 error: %s", nghttp2_strerror(rv));
        goto done;
    }
    exchange(fd, session, &c, deadline, out);
    say_goodbye(fd, session);

done:
    nghttp2_session_del(session);
    nghttp2_session_callbacks_del(cbs);
    free(c.grpc_message);
    buf_free(&c.body);
    buf_free(&c.request);
    close(fd);
}
