/* A small validating JSON scanner that pulls top-level string members (such as
 * "socket" and "cniVersion") out of a CNI network configuration without building
 * a tree. Everything else (nested objects and arrays, numbers, literals) is
 * checked for well-formedness and skipped. */
#ifndef PODWIRE_JSON_SCAN_H
#define PODWIRE_JSON_SCAN_H

#include <stddef.h>
#include <stdint.h>

/* Nesting deeper than this counts as malformed (keeps recursion bounded). */
#define JSON_SCAN_MAX_DEPTH 512

struct json_member {
    const char *name; /* in: the member name to look for (UTF-8, no NULs) */
    char *value;      /* out: malloc'd decoded UTF-8, NUL-terminated; NULL when absent */
    size_t value_len; /* out: length of value (it may contain NUL from \u0000) */
};

enum json_scan_status {
    JSON_SCAN_OK = 0,         /* a well-formed document whose top-level value is an object */
    JSON_SCAN_NOT_OBJECT = 1, /* malformed, or the top-level value is not an object */
    JSON_SCAN_NO_MEMORY = 2,
};

/* Scans doc[0..len). On JSON_SCAN_OK each member's value is set when the object
 * has that member with a string value; with duplicate names the last one wins
 * (as JSON.parse does), so a later non-string value makes it absent again. On
 * any other status every value is NULL. Escapes (\uXXXX, surrogate pairs) are
 * decoded; a lone surrogate becomes U+FFFD. Other bytes are copied unchanged. */
enum json_scan_status json_scan_top_strings(const uint8_t *doc, size_t len,
                                            struct json_member *members, size_t n);

/* Frees every value and resets it to NULL. */
void json_members_free(struct json_member *members, size_t n);

#endif
