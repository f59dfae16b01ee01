/* gRPC-over-HTTP/2 details that need no socket: message framing (the 5-byte
 * length prefix), the grpc-timeout header value, grpc-message decoding and
 * status names. */
#ifndef PODWIRE_GRPC_FRAME_H
#define PODWIRE_GRPC_FRAME_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

#define GRPC_PREFIX_LEN 5

/* Well-known gRPC status codes the shim treats specially. */
#define GRPC_STATUS_OK 0
#define GRPC_STATUS_DEADLINE_EXCEEDED 4
#define GRPC_STATUS_UNAVAILABLE 14

/* Appends one uncompressed length-prefixed message. */
void grpc_frame_encode(struct buf *out, const uint8_t *msg, size_t len);

enum grpc_frame_status {
    GRPC_FRAME_OK = 0,
    GRPC_FRAME_NONE,       /* no message at all */
    GRPC_FRAME_TRUNCATED,  /* the data ends inside a prefix or a message */
    GRPC_FRAME_COMPRESSED, /* compressed flag set (the shim never asks for compression) */
    GRPC_FRAME_EXTRA,      /* more than one message (unary calls carry one) */
};

/* Finds the single message in a unary response body; *msg points into data. */
enum grpc_frame_status grpc_frame_decode_single(const uint8_t *data, size_t len,
                                                const uint8_t **msg, size_t *msg_len);

/* Describes a non-OK grpc_frame_status ("truncated message", ...). */
const char *grpc_frame_status_text(enum grpc_frame_status status);

/* Formats a grpc-timeout value ("120000m"); the spec allows at most 8 digits,
 * so long timeouts switch to whole seconds rounded up ("100000S"). */
void grpc_timeout_format(uint32_t ms, char out[16]);

/* Decodes a percent-encoded grpc-message; malformed escapes stay literal.
 * Returns a malloc'd NUL-terminated string, or NULL when out of memory. */
char *grpc_percent_decode(const char *s, size_t n);

/* "OK", "CANCELLED", ... or "UNKNOWN_STATUS" for codes outside 0..16. */
const char *grpc_status_name(uint32_t status);

#endif
