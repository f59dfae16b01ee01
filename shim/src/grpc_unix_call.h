/* The real transport: one unary gRPC call over HTTP/2 with prior knowledge
 * (h2c) on a unix stream socket, using nghttp2. */
#ifndef PODWIRE_GRPC_UNIX_CALL_H
#define PODWIRE_GRPC_UNIX_CALL_H

#include "transport.h"

/* Largest response body accepted (the gRPC message plus its prefix). */
#define GRPC_UNIX_CALL_MAX_RESPONSE (64u * 1024 * 1024)

/* Implements transport.call; ctx is unused. */
void grpc_unix_call(void *ctx, const char *socket_path, const char *method,
                    const uint8_t *req, size_t req_len, uint32_t timeout_ms,
                    struct call_result *out);

#endif
