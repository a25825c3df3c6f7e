/* The error table's strings: floe_strerror and floe_err_name. */
#include "floe/core.h"

const char *floe_strerror(int err)
{
    switch (err) {
    case FLOE_OK:
        return "success";
#define FLOE__ERR_DESC(name, value, desc)                                                          \
    case FLOE_ERR_##name:                                                                          \
        return desc;
        FLOE_ERR_TABLE(FLOE__ERR_DESC)
#undef FLOE__ERR_DESC
    default:
        return "unknown error";
    }
}

const char *floe_err_name(int err)
{
    switch (err) {
    case FLOE_OK:
        return "OK";
#define FLOE__ERR_NAME(name, value, desc)                                                          \
    case FLOE_ERR_##name:                                                                          \
        return #name;
        FLOE_ERR_TABLE(FLOE__ERR_NAME)
#undef FLOE__ERR_NAME
    default:
        return "UNKNOWN";
    }
}
