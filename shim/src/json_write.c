#include "json_write.h"

#include <stdint.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0 if invalid. */
static size_t utf8_seq_len(const uint8_t *p, size_t n)
{
    uint8_t c = p[0];
    size_t len;
    uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* no overlong forms */
        else if (c == 0xED)
            hi = 0x9F; /* no UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

void json_write_string(struct buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0, run = 0; /* run: start of bytes not yet copied */
    buf_append_byte(out, '"');
    while (i < n) {
        uint8_t c = p[i];
        size_t len = 1;
        const char *esc = NULL;
        char ctl[7];
        if (c == '"') {
            esc = "\\\"";
        } else if (c == '\\') {
            esc = "\\\\";
        } else if (c < 0x20) {
            memcpy(ctl, "\\u00", 4);
            ctl[4] = hex[c >> 4];
            ctl[5] = hex[c & 0xF];
            ctl[6] = 0;
            esc = ctl;
        } else if (c >= 0x80) {
            len = utf8_seq_len(p + i, n - i);
            if (len == 0) {
                esc = "\\ufffd";
                len = 1;
            }
        }
        if (esc) {
            buf_append(out, p + run, i - run);
            buf_append_str(out, esc);
            run = i + len;
        }
        i += len;
    }
    buf_append(out, p + run, n - run);
    buf_append_byte(out, '"');
}

void json_write_cstr(struct buf *out, const char *s)
{
    json_write_string(out, s ? s : "", s ? strlen(s) : 0);
}
