/* Writing JSON text: string literals with full escaping. */
#ifndef PODWIRE_JSON_WRITE_H
#define PODWIRE_JSON_WRITE_H

#include "buf.h"

#include <stddef.h>

/* Appends s[0..n) as a quoted JSON string: '"' and '\' are escaped, control
 * characters (U+0000..U+001F) become \u00XX, valid UTF-8 is copied unchanged and
 * each byte of an invalid UTF-8 sequence becomes \ufffd, so the output is always
 * valid JSON in valid UTF-8. */
void json_write_string(struct buf *out, const char *s, size_t n);

/* json_write_string for a NUL-terminated string (NULL writes ""). */
void json_write_cstr(struct buf *out, const char *s);

#endif
