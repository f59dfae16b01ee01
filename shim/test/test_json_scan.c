#include "check.h"
#include "json_scan.h"

#include <stdlib.h>

enum { SOCKET, VERSION };

/* Scans text for "socket" and "cniVersion"; returns the status. */
static enum json_scan_status scan(const char *text, struct json_member m[2])
{
    m[SOCKET].name = "socket";
    m[VERSION].name = "cniVersion";
    return json_scan_top_strings((const uint8_t *)text, strlen(text), m, 2);
}

static void expect(const char *text, const char *socket, const char *version)
{
    struct json_member m[2];
    enum json_scan_status st = scan(text, m);
    if (st != JSON_SCAN_OK)
        fprintf(stderr, "  (document: %s)\n", text);
    CHECK(st == JSON_SCAN_OK);
    if (socket)
        CHECK_STR(m[SOCKET].value, socket);
    else
        CHECK(m[SOCKET].value == NULL);
    if (version)
        CHECK_STR(m[VERSION].value, version);
    else
        CHECK(m[VERSION].value == NULL);
    json_members_free(m, 2);
}

static void expect_malformed(const char *text)
{
    struct json_member m[2];
    enum json_scan_status st = scan(text, m);
    if (st != JSON_SCAN_NOT_OBJECT)
        fprintf(stderr, "  (document accepted: %s)\n", text);
    CHECK(st == JSON_SCAN_NOT_OBJECT);
    CHECK(m[SOCKET].value == NULL && m[VERSION].value == NULL);
    json_members_free(m, 2);
}

static char *nested(int depth)
{
    /* {"a":[[[...]]],"socket":"s"} */
    size_t n = (size_t)depth * 2 + 64;
    char *s = malloc(n), *p = s;
    p += sprintf(p, "{\"a\":");
    for (int i = 0; i < depth; i++)
        *p++ = '[';
    for (int i = 0; i < depth; i++)
        *p++ = ']';
    sprintf(p, ",\"socket\":\"s\"}");
    return s;
}

int main(void)
{
    expect("{\"cniVersion\":\"1.0.0\",\"socket\":\"/run/x.sock\"}", "/run/x.sock", "1.0.0");
    expect("  \r\n\t{ \"socket\" : \"a\" , \"cniVersion\" :\"1.1.0\" }\n ", "a", "1.1.0");
    expect("{}", NULL, NULL);
    expect("{ }", NULL, NULL);
    /* Only top-level members count. */
    expect("{\"plugins\":[{\"socket\":\"/bad\",\"cniVersion\":\"0\"}],\"ipam\":{\"socket\":\"x\"},"
           "\"cniVersion\":\"1.0.0\"}", NULL, "1.0.0");
    /* Strings that look like structure are skipped correctly. */
    expect("{\"name\":\"},{\\\"socket\\\":\\\"x\",\"socket\":\"y\"}", "y", NULL);
    /* Escapes in values and keys. */
    expect("{\"socket\":\"\\/run\\u0020a\\\"b\\\\c\\n\\t\\r\\b\\f\"}", "/run a\"b\\c\n\t\r\b\f", NULL);
    expect("{\"cni\\u0056ersion\":\"x\"}", NULL, "x");
    expect("{\"socket\":\"\\u00e9\\u20AC\"}", "\xc3\xa9\xe2\x82\xac", NULL);
    expect("{\"socket\":\"\\ud83d\\ude00\"}", "\xf0\x9f\x98\x80", NULL);
    expect("{\"socket\":\"\\ud800\"}", "\xef\xbf\xbd", NULL);
    expect("{\"socket\":\"\\udc00x\"}", "\xef\xbf\xbdx", NULL);
    expect("{\"socket\":\"\\ud800\\u0041\"}", "\xef\xbf\xbd" "A", NULL);
    /* Raw UTF-8 (and even invalid bytes) pass through unchanged. */
    expect("{\"socket\":\"caf\xc3\xa9 \xff\"}", "caf\xc3\xa9 \xff", NULL);
    /* Non-string values are absent; the last duplicate wins. */
    expect("{\"socket\":5,\"cniVersion\":null}", NULL, NULL);
    expect("{\"socket\":{\"a\":1},\"cniVersion\":[\"1.0.0\"]}", NULL, NULL);
    expect("{\"socket\":\"a\",\"socket\":\"b\"}", "b", NULL);
    expect("{\"socket\":\"a\",\"socket\":true}", NULL, NULL);
    /* Every kind of value is skipped. */
    expect("{\"n\":[0,-0,1,-12.5,1e5,1E+5,2.5e-3,0.0],\"l\":[true,false,null],\"o\":{\"k\":{}},"
           "\"e\":[],\"s\":\"\",\"cniVersion\":\"1.1.0\"}", NULL, "1.1.0");
    /* A \u0000 inside a value is kept, with its length. */
    {
        struct json_member m[2];
        CHECK(scan("{\"socket\":\"a\\u0000b\"}", m) == JSON_SCAN_OK);
        CHECK(m[SOCKET].value_len == 3);
        CHECK_MEM(m[SOCKET].value, m[SOCKET].value_len, "a\0b", 3);
        json_members_free(m, 2);
    }

    /* Malformed documents, and documents that are not objects. */
    const char *bad[] = {
        "", " ", "[]", "\"str\"", "1", "null", "{", "}", "{\"socket\":\"a\"",
        "{\"socket\":\"a\",}", "{\"socket\":\"a\"} x", "{\"socket\":\"a\"}{}", "{,}",
        "{\"a\" 1}", "{\"a\":}", "{a:1}", "{'a':1}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}",
        "{\"a\":-}", "{\"a\":1e}", "{\"a\":+1}", "{\"a\":tru}", "{\"a\":nul}", "{\"a\":True}",
        "{\"a\":[1,]}", "{\"a\":[1 2]}", "{\"a\":\"x\ty\"}", "{\"a\":\"\\x\"}",
        "{\"a\":\"\\u12\"}", "{\"a\":\"\\u12G4\"}", "{\"a\":\"abc}", "{\"socket\":\"a\\\"}",
        "\xef\xbb\xbf{}", "{\"a\":NaN}", "{\"a\":[}", "{\"a\":{\"b\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_malformed(bad[i]);
    /* A malformed tail makes even an earlier found member absent. */
    expect_malformed("{\"socket\":\"a\",\"cniVersion\":\"1.0.0\",\"x\":[}");

    /* Nesting: accepted up to the limit, rejected beyond it. */
    char *ok = nested(JSON_SCAN_MAX_DEPTH - 1);
    expect(ok, "s", NULL);
    free(ok);
    char *deep = nested(JSON_SCAN_MAX_DEPTH + 10);
    expect_malformed(deep);
    free(deep);

    return check_report("test_json_scan");
}
