#include "cni_command.h"

#include <stddef.h>
#include <string.h>

bool cni_command_is_version(const char *command)
{
    return command && strcmp(command, "VERSION") == 0;
}

const char *cni_command_method(const char *command)
{
    static const struct {
        const char *command;
        const char *method;
    } table[] = {
        {"ADD", "/podwire.v1.Cni/Add"},
        {"DEL", "/podwire.v1.Cni/Del"},
        {"CHECK", "/podwire.v1.Cni/Check"},
        {"STATUS", "/podwire.v1.Cni/Status"},
        {"GC", "/podwire.v1.Cni/Gc"},
        {"GET", "/podwire.v1.Cni/Get"},
    };
    if (!command)
        return NULL;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(command, table[i].command) == 0)
            return table[i].method;
    return NULL;
}
