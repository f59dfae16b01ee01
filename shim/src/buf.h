/* A growable byte buffer. Every append either succeeds completely or sets
 * `failed` (out of memory) and leaves the contents unchanged; callers check
 * `failed` once at the end instead of after every append. */
#ifndef PODWIRE_BUF_H
#define PODWIRE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
    uint8_t *data; /* NUL-terminated when len > 0 (handy for text) */
    size_t len;
    size_t cap;
    bool failed;
};

void buf_append(struct buf *b, const void *p, size_t n);
void buf_append_str(struct buf *b, const char *s);
void buf_append_byte(struct buf *b, uint8_t c);
void buf_append_uint(struct buf *b, unsigned long long v);
/* printf-style append. */
void buf_appendf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_free(struct buf *b);

/* Moves the contents out as a malloc'd NUL-terminated string ("" when empty);
 * returns NULL (and frees the buffer) when an append failed or malloc fails. */
char *buf_take_str(struct buf *b);

#endif
