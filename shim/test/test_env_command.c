#include "check.h"
#include "cni_command.h"
#include "env.h"

int main(void)
{
    uint32_t v = 0;
    CHECK(env_parse_ms(NULL, 7, 0, 100, &v) && v == 7);
    CHECK(env_parse_ms("", 7, 0, 100, &v) && v == 7);
    CHECK(env_parse_ms("0", 7, 0, 100, &v) && v == 0);
    CHECK(env_parse_ms("100", 7, 0, 100, &v) && v == 100);
    CHECK(env_parse_ms("0042", 7, 0, 100, &v) && v == 42);
    CHECK(!env_parse_ms("101", 7, 0, 100, &v));
    CHECK(!env_parse_ms("0", 7, 1, 100, &v));
    CHECK(!env_parse_ms("-1", 7, 0, 100, &v));
    CHECK(!env_parse_ms(" 5", 7, 0, 100, &v));
    CHECK(!env_parse_ms("5ms", 7, 0, 100, &v));
    CHECK(!env_parse_ms("1.5", 7, 0, 100, &v));
    CHECK(!env_parse_ms("99999999999999999999999999", 7, 0, 4294967295u, &v));
    CHECK(env_parse_ms("4294967295", 7, 0, 4294967295u, &v) && v == 4294967295u);

    CHECK(cni_command_is_version("VERSION"));
    CHECK(!cni_command_is_version("version"));
    CHECK(!cni_command_is_version(NULL));
    CHECK_STR(cni_command_method("ADD"), "/podwire.v1.Cni/Add");
    CHECK_STR(cni_command_method("DEL"), "/podwire.v1.Cni/Del");
    CHECK_STR(cni_command_method("CHECK"), "/podwire.v1.Cni/Check");
    CHECK_STR(cni_command_method("STATUS"), "/podwire.v1.Cni/Status");
    CHECK_STR(cni_command_method("GC"), "/podwire.v1.Cni/Gc");
    CHECK_STR(cni_command_method("GET"), "/podwire.v1.Cni/Get");
    CHECK(cni_command_method("add") == NULL);
    CHECK(cni_command_method("VERSION") == NULL);
    CHECK(cni_command_method("") == NULL);
    CHECK(cni_command_method(NULL) == NULL);

    return check_report("test_env_command");
}
