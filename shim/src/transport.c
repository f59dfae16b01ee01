#include "transport.h"

#include <stdlib.h>
#include <string.h>

void call_result_free(struct call_result *r)
{
    free(r->grpc_message);
    free(r->message);
    free(r->detail);
    memset(r, 0, sizeof *r);
}
