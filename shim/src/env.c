#include "env.h"

bool env_parse_ms(const char *text, uint32_t def, uint32_t min, uint32_t max, uint32_t *out)
{
    if (!text || !*text) {
        *out = def;
        return true;
    }
    uint64_t v = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > max)
            return false; /* also stops overflow on long inputs */
    }
    if (v < min)
        return false;
    *out = (uint32_t)v;
    return true;
}
