/* The seam between the shim's logic and the network: one unary gRPC call to
 * podwired. The real implementation is grpc_unix_call.c; tests pass fakes. */
#ifndef PODWIRE_TRANSPORT_H
#define PODWIRE_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

enum call_outcome {
    CALL_COMPLETED,      /* the server ended the call with a grpc-status */
    CALL_CONNECT_FAILED, /* connecting failed, nothing was sent (connect_errno says why) */
    CALL_TIMED_OUT,      /* the call deadline passed before the call ended */
    CALL_FAILED,         /* the call reached the server but broke (reset, bad HTTP/2 or framing) */
};

/* Every pointer is malloc'd (or NULL) and released by call_result_free. */
struct call_result {
    enum call_outcome outcome;
    int connect_errno;   /* CALL_CONNECT_FAILED */
    uint32_t grpc_status; /* CALL_COMPLETED */
    char *grpc_message;  /* CALL_COMPLETED: percent-decoded grpc-message, if any */
    uint8_t *message;    /* CALL_COMPLETED with grpc-status 0: the response message */
    size_t message_len;
    char *detail;        /* CALL_FAILED (and optionally others): what went wrong */
};

struct transport {
    void *ctx;
    /* Makes the call `method` ("/podwire.v1.Cni/Add") over the unix socket at
     * socket_path with request message req (protobuf, not yet length-prefixed),
     * giving up after timeout_ms from the moment the connection is up. Must fill
     * *out (which arrives zeroed) and must not retry anything itself. */
    void (*call)(void *ctx, const char *socket_path, const char *method,
                 const uint8_t *req, size_t req_len, uint32_t timeout_ms,
                 struct call_result *out);
};

void call_result_free(struct call_result *r);

#endif
