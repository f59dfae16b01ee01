#include "json_scan.h"

#include "hex.h"

#include "buf.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct scanner {
    const uint8_t *p;
    const uint8_t *end;
    bool oom;
};

static void skip_ws(struct scanner *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* Reads the 4 hex digits after "\u"; s->p points at the first digit. */
static bool read_hex4(struct scanner *s, unsigned *out)
{
    if (s->end - s->p < 4)
        return false;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_digit_value(s->p[i]);
        if (h < 0)
            return false;
        v = v << 4 | (unsigned)h;
    }
    s->p += 4;
    *out = v;
    return true;
}

static void put_utf8(struct buf *out, unsigned cp)
{
    uint8_t b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (uint8_t)(0xC0 | cp >> 6);
        b[1] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (uint8_t)(0xE0 | cp >> 12);
        b[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
        b[2] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (uint8_t)(0xF0 | cp >> 18);
        b[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
        b[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
        b[3] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 4;
    }
    buf_append(out, b, n);
}

/* Parses a string starting at the opening quote. When out is not NULL the
 * decoded contents are appended to it. */
static bool scan_string(struct scanner *s, struct buf *out)
{
    if (s->p >= s->end || *s->p != '"')
        return false;
    s->p++;
    for (;;) {
        /* Copy the run of plain bytes in one go. */
        const uint8_t *run = s->p;
        while (s->p < s->end && *s->p != '"' && *s->p != '\\' && *s->p >= 0x20)
            s->p++;
        if (out)
            buf_append(out, run, (size_t)(s->p - run));
        if (s->p >= s->end || *s->p < 0x20)
            return false; /* unterminated, or a raw control character */
        if (*s->p == '"') {
            s->p++;
            return true;
        }
        /* A backslash escape. */
        s->p++;
        if (s->p >= s->end)
            return false;
        uint8_t c = *s->p++;
        unsigned cp;
        switch (c) {
        case '"': cp = '"'; break;
        case '\\': cp = '\\'; break;
        case '/': cp = '/'; break;
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u':
            if (!read_hex4(s, &cp))
                return false;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                /* A high surrogate: combine with a following low surrogate. */
                unsigned lo;
                const uint8_t *save = s->p;
                if (s->end - s->p >= 6 && s->p[0] == '\\' && s->p[1] == 'u') {
                    s->p += 2;
                    if (!read_hex4(s, &lo))
                        return false;
                    if (lo >= 0xDC00 && lo <= 0xDFFF) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    } else {
                        s->p = save; /* not a pair: rescan that escape on its own */
                        cp = 0xFFFD;
                    }
                } else {
                    cp = 0xFFFD;
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                cp = 0xFFFD;
            }
            break;
        default:
            return false;
        }
        if (out)
            put_utf8(out, cp);
    }
}

static bool scan_digits(struct scanner *s)
{
    const uint8_t *start = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > start;
}

/* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static bool scan_number(struct scanner *s)
{
    if (s->p < s->end && *s->p == '-')
        s->p++;
    if (s->p >= s->end)
        return false;
    if (*s->p == '0')
        s->p++;
    else if (!scan_digits(s))
        return false;
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (!scan_digits(s))
            return false;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (!scan_digits(s))
            return false;
    }
    return true;
}

static bool scan_literal(struct scanner *s, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return false;
    s->p += n;
    return true;
}

static bool scan_value(struct scanner *s, int depth);

/* The ':' between a member's key and its value, with the white space around it. */
static bool scan_colon(struct scanner *s)
{
    skip_ws(s);
    if (s->p >= s->end || *s->p != ':')
        return false;
    s->p++;
    skip_ws(s);
    return true;
}

/* Object or array body after the opening bracket; skips the contents. */
static bool scan_container(struct scanner *s, int depth, bool is_object)
{
    uint8_t close = is_object ? '}' : ']';
    s->p++; /* the opening bracket */
    skip_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return true;
    }
    for (;;) {
        if (is_object) {
            if (!scan_string(s, NULL) || !scan_colon(s))
                return false;
        }
        if (!scan_value(s, depth + 1))
            return false;
        skip_ws(s);
        if (s->p >= s->end)
            return false;
        if (*s->p == close) {
            s->p++;
            return true;
        }
        if (*s->p != ',')
            return false;
        s->p++;
        skip_ws(s);
    }
}

/* Skips one value; s->p points at its first byte (whitespace already skipped). */
static bool scan_value(struct scanner *s, int depth)
{
    if (depth > JSON_SCAN_MAX_DEPTH || s->p >= s->end)
        return false;
    switch (*s->p) {
    case '{': return scan_container(s, depth, true);
    case '[': return scan_container(s, depth, false);
    case '"': return scan_string(s, NULL);
    case 't': return scan_literal(s, "true");
    case 'f': return scan_literal(s, "false");
    case 'n': return scan_literal(s, "null");
    default: return scan_number(s);
    }
}

static struct json_member *find_member(struct json_member *members, size_t n,
                                       const struct buf *key)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(members[i].name);
        if (len == key->len && (len == 0 || memcmp(members[i].name, key->data, len) == 0))
            return &members[i];
    }
    return NULL;
}

/* One top-level member: "key" : value. Records the value when wanted. */
static bool scan_top_member(struct scanner *s, struct json_member *members, size_t n)
{
    struct buf key = {0};
    bool ok = scan_string(s, &key);
    struct json_member *m = ok ? find_member(members, n, &key) : NULL;
    s->oom |= key.failed;
    buf_free(&key);
    if (!ok || !scan_colon(s))
        return false;
    if (!m || s->p >= s->end || *s->p != '"') {
        if (m) { /* a later non-string value replaces an earlier string */
            free(m->value);
            m->value = NULL;
            m->value_len = 0;
        }
        return scan_value(s, 1);
    }
    struct buf val = {0};
    ok = scan_string(s, &val);
    size_t val_len = val.len;
    char *str = buf_take_str(&val);
    if (!str) {
        s->oom = true;
        return false;
    }
    if (!ok) {
        free(str);
        return false;
    }
    free(m->value);
    m->value = str;
    m->value_len = val_len;
    return true;
}

enum json_scan_status json_scan_top_strings(const uint8_t *doc, size_t len,
                                            struct json_member *members, size_t n)
{
    struct scanner s = {.p = doc, .end = doc + len, .oom = false};
    for (size_t i = 0; i < n; i++) {
        members[i].value = NULL;
        members[i].value_len = 0;
    }
    bool ok = false;
    skip_ws(&s);
    if (s.p < s.end && *s.p == '{') {
        s.p++;
        skip_ws(&s);
        if (s.p < s.end && *s.p == '}') {
            s.p++;
            ok = true;
        } else {
            for (;;) {
                if (!scan_top_member(&s, members, n))
                    break;
                skip_ws(&s);
                if (s.p < s.end && *s.p == '}') {
                    s.p++;
                    ok = true;
                    break;
                }
                if (s.p >= s.end || *s.p != ',')
                    break;
                s.p++;
                skip_ws(&s);
            }
        }
    }
    if (ok) {
        skip_ws(&s);
        ok = s.p == s.end; /* nothing may follow the document */
    }
    if (!ok || s.oom) {
        json_members_free(members, n);
        return s.oom ? JSON_SCAN_NO_MEMORY : JSON_SCAN_NOT_OBJECT;
    }
    return JSON_SCAN_OK;
}

void json_members_free(struct json_member *members, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(members[i].value);
        members[i].value = NULL;
        members[i].value_len = 0;
    }
}
