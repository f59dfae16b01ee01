#include "grpc_frame.h"

#include "hex.h"

#include <stdio.h>
#include <stdlib.h>

void grpc_frame_encode(struct buf *out, const uint8_t *msg, size_t len)
{
    uint8_t prefix[GRPC_PREFIX_LEN] = {
        0, /* not compressed */
        (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len,
    };
    if ((uint64_t)len > UINT32_MAX) {
        out->failed = true;
        return;
    }
    buf_append(out, prefix, sizeof prefix);
    buf_append(out, msg, len);
}

enum grpc_frame_status grpc_frame_decode_single(const uint8_t *data, size_t len,
                                                const uint8_t **msg, size_t *msg_len)
{
    if (len == 0)
        return GRPC_FRAME_NONE;
    if (len < GRPC_PREFIX_LEN)
        return GRPC_FRAME_TRUNCATED;
    uint32_t n = (uint32_t)data[1] << 24 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 8 | data[4];
    if (n > len - GRPC_PREFIX_LEN)
        return GRPC_FRAME_TRUNCATED;
    if (data[0] != 0)
        return GRPC_FRAME_COMPRESSED;
    if (n < len - GRPC_PREFIX_LEN)
        return GRPC_FRAME_EXTRA;
    *msg = data + GRPC_PREFIX_LEN;
    *msg_len = n;
    return GRPC_FRAME_OK;
}

const char *grpc_frame_status_text(enum grpc_frame_status status)
{
    switch (status) {
    case GRPC_FRAME_OK: return "ok";
    case GRPC_FRAME_NONE: return "response has no message";
    case GRPC_FRAME_TRUNCATED: return "response message is truncated";
    case GRPC_FRAME_COMPRESSED: return "response message is compressed";
    case GRPC_FRAME_EXTRA: return "response has more than one message";
    }
    return "bad response framing";
}

void grpc_timeout_format(uint32_t ms, char out[16])
{
    if (ms <= 99999999u)
        snprintf(out, 16, "%um", (unsigned)ms);
    else
        snprintf(out, 16, "%uS", (unsigned)(ms / 1000 + (ms % 1000 != 0)));
}

char *grpc_percent_decode(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && n - i >= 3 && (hi = hex_digit_value((unsigned char)s[i + 1])) >= 0 &&
            (lo = hex_digit_value((unsigned char)s[i + 2])) >= 0) {
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = 0;
    return out;
}

const char *grpc_status_name(uint32_t status)
{
    static const char *const names[] = {
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
        "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL",
        "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    };
    return status < sizeof names / sizeof names[0] ? names[status] : "UNKNOWN_STATUS";
}
