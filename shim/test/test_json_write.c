#include "check.h"
#include "cni_error.h"
#include "cni_version.h"
#include "json_write.h"

#include <stdlib.h>

static void expect(const char *in, size_t n, const char *want)
{
    struct buf b = {0};
    json_write_string(&b, in, n);
    CHECK(!b.failed);
    CHECK_STR((const char *)b.data, want);
    buf_free(&b);
}

#define EXPECT(lit, want) expect(lit, sizeof lit - 1, want)

int main(void)
{
    EXPECT("", "\"\"");
    EXPECT("plain text", "\"plain text\"");
    EXPECT("a\"b\\c/d", "\"a\\\"b\\\\c/d\"");
    EXPECT("\n\r\t\b\f", "\"\\u000a\\u000d\\u0009\\u0008\\u000c\"");
    EXPECT("\x01\x1f\x7f", "\"\\u0001\\u001f\x7f\"");
    EXPECT("nul\0x", "\"nul\\u0000x\"");
    /* Valid UTF-8 of every length is kept. */
    EXPECT("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf", "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"");
    /* Invalid UTF-8 becomes U+FFFD escapes, byte by byte. */
    EXPECT("a\xff" "b", "\"a\\ufffdb\"");
    EXPECT("\xc0\x80", "\"\\ufffd\\ufffd\"");                /* overlong */
    EXPECT("\xe0\x80\x80", "\"\\ufffd\\ufffd\\ufffd\"");     /* overlong */
    EXPECT("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");     /* surrogate */
    EXPECT("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* > U+10FFFF */
    EXPECT("x\xe2\x82", "\"x\\ufffd\\ufffd\"");              /* truncated at the end */
    EXPECT("\xe2(\xa1", "\"\\ufffd(\\ufffd\"");

    struct buf b = {0};
    json_write_cstr(&b, NULL);
    CHECK_STR((const char *)b.data, "\"\"");
    buf_free(&b);

    cni_error_json(&b, "1.0.0", 11, "try \"again\"", "line1\nline2");
    CHECK_STR((const char *)b.data,
              "{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"try \\\"again\\\"\","
              "\"details\":\"line1\\u000aline2\"}\n");
    buf_free(&b);

    cni_error_json(&b, "1.1.0", 4294967295u, NULL, NULL);
    CHECK_STR((const char *)b.data,
              "{\"cniVersion\":\"1.1.0\",\"code\":4294967295,\"msg\":\"\",\"details\":\"\"}\n");
    buf_free(&b);

    cni_version_json(&b, "0.4.0", 5);
    CHECK_STR((const char *)b.data,
              "{\"cniVersion\":\"0.4.0\",\"supportedVersions\":"
              "[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]}\n");
    buf_free(&b);

    buf_appendf(&b, "%s-%u-%s", "x", 42u, "y");
    buf_append_uint(&b, 0);
    buf_append_uint(&b, 18446744073709551615ull);
    CHECK_STR((const char *)b.data, "x-42-y018446744073709551615");
    buf_free(&b);

    /* buf_appendf beyond its stack buffer. */
    char big[1000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = 0;
    buf_appendf(&b, "<%s>", big);
    CHECK(b.len == 1001 && b.data[0] == '<' && b.data[1000] == '>');
    char *s = buf_take_str(&b);
    CHECK(s && strlen(s) == 1001 && b.data == NULL);
    free(s);
    s = buf_take_str(&b);
    CHECK_STR(s, "");
    free(s);

    return check_report("test_json_write");
}
