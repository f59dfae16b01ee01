#include "check.h"
#include "grpc_frame.h"

#include <stdlib.h>

int main(void)
{
    struct buf b = {0};
    grpc_frame_encode(&b, (const uint8_t *)"abc", 3);
    CHECK_MEM(b.data, b.len, "\0\0\0\0\3abc", 8);
    const uint8_t *msg = NULL;
    size_t len = 99;
    CHECK(grpc_frame_decode_single(b.data, b.len, &msg, &len) == GRPC_FRAME_OK);
    CHECK_MEM(msg, len, "abc", 3);
    buf_free(&b);

    /* A 300-byte message: the length is big-endian. */
    uint8_t big[300] = {0};
    grpc_frame_encode(&b, big, sizeof big);
    CHECK(b.len == 305 && b.data[3] == 1 && b.data[4] == 44);
    buf_free(&b);

    /* An empty message is still one message. */
    CHECK(grpc_frame_decode_single((const uint8_t *)"\0\0\0\0\0", 5, &msg, &len) == GRPC_FRAME_OK);
    CHECK(len == 0);
    CHECK(grpc_frame_decode_single(NULL, 0, &msg, &len) == GRPC_FRAME_NONE);
    CHECK(grpc_frame_decode_single((const uint8_t *)"\0\0\0", 3, &msg, &len) == GRPC_FRAME_TRUNCATED);
    CHECK(grpc_frame_decode_single((const uint8_t *)"\0\0\0\0\4abc", 8, &msg, &len) == GRPC_FRAME_TRUNCATED);
    CHECK(grpc_frame_decode_single((const uint8_t *)"\1\0\0\0\3abc", 8, &msg, &len) == GRPC_FRAME_COMPRESSED);
    CHECK(grpc_frame_decode_single((const uint8_t *)"\0\0\0\0\1ab", 7, &msg, &len) == GRPC_FRAME_EXTRA);
    CHECK_STR(grpc_frame_status_text(GRPC_FRAME_EXTRA), "response has more than one message");

    char t[16];
    grpc_timeout_format(120000, t);
    CHECK_STR(t, "120000m");
    grpc_timeout_format(1, t);
    CHECK_STR(t, "1m");
    grpc_timeout_format(99999999, t);
    CHECK_STR(t, "99999999m");
    grpc_timeout_format(100000001, t);
    CHECK_STR(t, "100001S");
    grpc_timeout_format(4294967295u, t);
    CHECK_STR(t, "4294968S");

    char *s = grpc_percent_decode("a%20b%25%zz%4", 13);
    CHECK_STR(s, "a b%%zz%4");
    free(s);
    s = grpc_percent_decode("%C3%A9%0A", 9);
    CHECK_STR(s, "\xc3\xa9\n");
    free(s);
    s = grpc_percent_decode("", 0);
    CHECK_STR(s, "");
    free(s);

    CHECK_STR(grpc_status_name(0), "OK");
    CHECK_STR(grpc_status_name(14), "UNAVAILABLE");
    CHECK_STR(grpc_status_name(16), "UNAUTHENTICATED");
    CHECK_STR(grpc_status_name(17), "UNKNOWN_STATUS");

    return check_report("test_grpc_frame");
}
