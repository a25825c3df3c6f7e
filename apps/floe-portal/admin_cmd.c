/* The admin CLI's commands: one runner per entity over the store (store.h). */
#include <string.h>

#include "admin_int.h"
#include "floe/crypto.h"
#include "model.h"

typedef int (*admin_remove_fn)(struct floe_store *s, int64_t id);
typedef int (*admin_named_add_fn)(struct floe_store *s, const char *name, int64_t *id);

static bool admin_verb(const struct admin *a, const char *v)
{
    return strcmp(a->verb, v) == 0;
}

static int admin_bad_verb(struct admin *a)
{
    return floe__admin_usage(a, "unknown verb '%s' (see 'floe-portal admin %s --help')", a->verb,
                             a->entity);
}

static int admin_remove(struct admin *a, admin_remove_fn fn)
{
    int64_t id;
    int rc = floe__admin_pos_id(a, &id);

    if (rc == 0)
        rc = floe__admin_open(a);
    if (rc)
        return rc;
    rc = fn(a->store, id);
    return rc < 0 ? floe__admin_store_error(a, rc) : FLOE_ADMIN_EXIT_OK;
}

/* "add NAME" (or --name NAME) of sites, users, groups. */
static int admin_named_add(struct admin *a, admin_named_add_fn fn)
{
    const char *name = a->name ? a->name : (a->n_pos == 1 ? a->pos[0] : NULL);
    int64_t id;
    int rc;

    if (!name || a->n_pos > (a->name ? 0u : 1u))
        return floe__admin_usage(a, "add takes one NAME");
    if (!floe_model_name_ok(name))
        return floe__admin_usage(a, "name must be 1..%d characters, no control characters",
                                 FLOE_STORE_NAME_MAX);
    rc = floe__admin_open(a);
    if (rc)
        return rc;
    rc = fn(a->store, name, &id);
    return rc < 0 ? floe__admin_store_error(a, rc) : floe__admin_created(a, id, NULL);
}

static int admin_named(struct admin *a, admin_named_add_fn add, admin_remove_fn rm,
                       enum floe_store_entity list)
{
    if (admin_verb(a, "add"))
        return admin_named_add(a, add);
    if (admin_verb(a, "list"))
        return floe__admin_list(a, list);
    if (admin_verb(a, "remove"))
        return admin_remove(a, rm);
    return admin_bad_verb(a);
}

static int admin_sites(struct admin *a)
{
    return admin_named(a, floe_store_site_add, floe_store_site_remove, FLOE_STORE_SITES);
}

static int admin_users(struct admin *a)
{
    return admin_named(a, floe_store_user_add, floe_store_user_remove, FLOE_STORE_USERS);
}

/* Token add for gateway-tokens (--site) and client-tokens (--user). */
static int admin_token_add(struct admin *a, bool site)
{
    char token[FLOE_STORE_TOKEN_STRLEN];
    int64_t owner, id;
    int rc = a->n_pos ? floe__admin_usage(a, "add takes no positional argument") : 0;

    if (rc == 0)
        rc = floe__admin_id(a, site ? "--site" : "--user", site ? a->site : a->user, &owner);
    if (rc == 0)
        rc = floe__admin_open(a);
    if (rc)
        return rc;
    rc = site ? floe_store_site_token_add(a->store, owner, &id, token, sizeof(token))
              : floe_store_client_token_add(a->store, owner, &id, token, sizeof(token));
    if (rc < 0)
        return floe__admin_store_error(a, rc);
    rc = floe__admin_created(a, id, token);
    floe_wipe(token, sizeof(token));
    return rc;
}

static int admin_tokens(struct admin *a, bool site)
{
    if (admin_verb(a, "add"))
        return admin_token_add(a, site);
    if (admin_verb(a, "list"))
        return floe__admin_list(a, site ? FLOE_STORE_SITE_TOKENS : FLOE_STORE_CLIENT_TOKENS);
    if (admin_verb(a, "remove"))
        return admin_remove(a, floe_store_token_remove);
    return admin_bad_verb(a);
}

static int admin_gateway_tokens(struct admin *a)
{
    return admin_tokens(a, true);
}

static int admin_client_tokens(struct admin *a)
{
    return admin_tokens(a, false);
}

/* resources add --site ID --name NAME --address CIDR [--filter F]... */
static int admin_resource_add(struct admin *a)
{
    struct floe_store_resource r = {0};
    char msg[160];
    int64_t id;
    size_t i;
    int rc = a->n_pos ? floe__admin_usage(a, "add takes no positional argument") : 0;

    if (rc == 0)
        rc = floe__admin_id(a, "--site", a->site, &r.site_id);
    if (rc)
        return rc;
    if (!a->name || !floe_model_name_ok(a->name))
        return floe__admin_usage(a, "--name must be 1..%d characters", FLOE_STORE_NAME_MAX);
    if (!a->address ||
        floe_model_cidr_normalize(a->address, r.cidr, sizeof(r.cidr), msg, sizeof(msg)) < 0)
        return floe__admin_usage(a, "%s", a->address ? msg : "--address CIDR is required");
    for (i = 0; i < a->n_filters; i++)
        if (floe_model_filter_parse(a->filters[i], &r.filters[i], msg, sizeof(msg)) < 0)
            return floe__admin_usage(a, "%s", msg);
    r.n_filters = a->n_filters;
    snprintf(r.name, sizeof(r.name), "%s", a->name);
    rc = floe__admin_open(a);
    if (rc)
        return rc;
    rc = floe_store_resource_add(a->store, &r, &id);
    return rc < 0 ? floe__admin_store_error(a, rc) : floe__admin_created(a, id, NULL);
}

static int admin_resources(struct admin *a)
{
    if (admin_verb(a, "add"))
        return admin_resource_add(a);
    if (admin_verb(a, "list"))
        return floe__admin_list(a, FLOE_STORE_RESOURCES);
    if (admin_verb(a, "remove"))
        return admin_remove(a, floe_store_resource_remove);
    return admin_bad_verb(a);
}

/* groups add-member / remove-member --group ID --user ID */
static int admin_member(struct admin *a, bool add)
{
    int64_t g, u;
    int rc = a->n_pos ? floe__admin_usage(a, "%s takes no positional argument", a->verb) : 0;

    if (rc == 0)
        rc = floe__admin_id(a, "--group", a->group, &g);
    if (rc == 0)
        rc = floe__admin_id(a, "--user", a->user, &u);
    if (rc == 0)
        rc = floe__admin_open(a);
    if (rc)
        return rc;
    rc = add ? floe_store_member_add(a->store, g, u) : floe_store_member_remove(a->store, g, u);
    return rc < 0 ? floe__admin_store_error(a, rc) : FLOE_ADMIN_EXIT_OK;
}

static int admin_groups(struct admin *a)
{
    if (admin_verb(a, "add-member"))
        return admin_member(a, true);
    if (admin_verb(a, "remove-member"))
        return admin_member(a, false);
    if (admin_verb(a, "members"))
        return floe__admin_list(a, FLOE_STORE_MEMBERS);
    return admin_named(a, floe_store_group_add, floe_store_group_remove, FLOE_STORE_GROUPS);
}

static int admin_policy_add(struct admin *a)
{
    int64_t g, r, id;
    int rc = a->n_pos ? floe__admin_usage(a, "add takes no positional argument") : 0;

    if (rc == 0)
        rc = floe__admin_id(a, "--group", a->group, &g);
    if (rc == 0)
        rc = floe__admin_id(a, "--resource", a->resource, &r);
    if (rc == 0)
        rc = floe__admin_open(a);
    if (rc)
        return rc;
    rc = floe_store_policy_add(a->store, g, r, &id);
    return rc < 0 ? floe__admin_store_error(a, rc) : floe__admin_created(a, id, NULL);
}

static int admin_policies(struct admin *a)
{
    if (admin_verb(a, "add"))
        return admin_policy_add(a);
    if (admin_verb(a, "list"))
        return floe__admin_list(a, FLOE_STORE_POLICIES);
    if (admin_verb(a, "remove"))
        return admin_remove(a, floe_store_policy_remove);
    return admin_bad_verb(a);
}

/* The first line of path, without its newline, into buf. */
static int admin_read_secret(struct admin *a, const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    bool got;

    if (!f)
        return floe__admin_usage(a, "--secret-file %s: cannot read it", path);
    got = fgets(buf, (int)cap, f) != NULL;
    fclose(f);
    if (!got)
        return floe__admin_usage(a, "--secret-file %s is empty", path);
    buf[strcspn(buf, "\r\n")] = 0;
    return 0;
}

/* The relay's secret: --secret, --secret-file, or a new one (*made true: print it). */
static int admin_relay_secret(struct admin *a, char *buf, size_t cap, bool *made)
{
    uint8_t raw[32];
    int rc = 0;

    *made = false;
    if (a->secret && a->secret_file)
        return floe__admin_usage(a, "--secret and --secret-file: one or the other");
    if (a->secret)
        snprintf(buf, cap, "%s", a->secret);
    else if (a->secret_file)
        rc = admin_read_secret(a, a->secret_file, buf, cap);
    else if (floe_crypto_random(raw, sizeof(raw)) < 0 ||
             floe_base64_encode(buf, cap, raw, sizeof(raw)) < 0)
        return floe__admin_usage(a, "cannot make a secret");
    else
        *made = true;
    if (rc == 0 && !floe_model_secret_ok(buf))
        rc = floe__admin_usage(a, "the secret must be 1..%d printable characters, no spaces",
                               FLOE_STORE_SECRET_MAX - 1);
    return rc;
}

/*
 * relays add --address HOST:PORT [--secret S | --secret-file PATH]: without either a secret is
 * made and printed after the id.
 */
static int admin_relay_add(struct admin *a)
{
    char secret[FLOE_STORE_SECRET_MAX + 2], msg[160];
    bool made = false;
    int64_t id;
    int rc = a->n_pos ? floe__admin_usage(a, "add takes no positional argument") : 0;

    if (rc == 0 && (!a->address || floe_model_relay_address_ok(a->address, msg, sizeof(msg)) < 0))
        rc = floe__admin_usage(a, "%s", a->address ? msg : "--address HOST:PORT is required");
    if (rc == 0)
        rc = admin_relay_secret(a, secret, sizeof(secret), &made);
    if (rc == 0)
        rc = floe__admin_open(a);
    if (rc == 0) {
        rc = floe_store_relay_add(a->store, a->address, secret, &id);
        rc = rc < 0 ? floe__admin_store_error(a, rc)
                    : floe__admin_created(a, id, made ? secret : NULL);
    }
    floe_wipe(secret, sizeof(secret));
    return rc;
}

static int admin_relays(struct admin *a)
{
    if (admin_verb(a, "add"))
        return admin_relay_add(a);
    if (admin_verb(a, "list"))
        return floe__admin_list(a, FLOE_STORE_RELAYS);
    if (admin_verb(a, "remove"))
        return admin_remove(a, floe_store_relay_remove);
    return admin_bad_verb(a);
}

static int admin_devices(struct admin *a)
{
    if (admin_verb(a, "remove"))
        return admin_remove(a, floe_store_device_remove);
    if (!admin_verb(a, "list"))
        return admin_bad_verb(a);
    return floe__admin_list(a, a->all ? FLOE_STORE_DEVICES : FLOE_STORE_ONLINE);
}

static int admin_authorizations(struct admin *a)
{
    if (!admin_verb(a, "list"))
        return admin_bad_verb(a);
    return floe__admin_list(a, FLOE_STORE_AUTHORIZATIONS);
}

const struct admin_entity floe__admin_entities[] = {
    {"sites", "sites: add NAME | list | remove ID",
     "usage: floe-portal admin sites add NAME      a site (prints its id)\n"
     "       floe-portal admin sites list          sites with their gateways and resources\n"
     "       floe-portal admin sites remove ID     a site with its tokens, gateways, resources\n"
     "NAME: 1..64 characters, no control characters, unique.\n",
     "name", admin_sites, false},
    {"gateway-tokens", "site tokens gateways enrol with: add --site ID | list | remove ID",
     "usage: floe-portal admin gateway-tokens add --site ID   prints the token id, then the\n"
     "                                                        token (shown once)\n"
     "       floe-portal admin gateway-tokens list\n"
     "       floe-portal admin gateway-tokens remove ID       revoke a token\n"
     "A gateway connects with the token of its site and enrols with its public key.\n",
     "site", admin_gateway_tokens, false},
    {"users", "users: add NAME | list | remove ID",
     "usage: floe-portal admin users add NAME      a user (prints the id)\n"
     "       floe-portal admin users list\n"
     "       floe-portal admin users remove ID     a user with tokens, memberships, devices\n",
     "name", admin_users, false},
    {"client-tokens", "client tokens of a user: add --user ID | list | remove ID",
     "usage: floe-portal admin client-tokens add --user ID   prints the token id, then the\n"
     "                                                       token (shown once)\n"
     "       floe-portal admin client-tokens list\n"
     "       floe-portal admin client-tokens remove ID       revoke a token\n",
     "user", admin_client_tokens, false},
    {"resources",
     "resources: add --site ID --name NAME --address CIDR [--filter F]... | list | remove ID",
     "usage: floe-portal admin resources add --site ID --name NAME --address CIDR\n"
     "                                       [--filter F]...\n"
     "       floe-portal admin resources list\n"
     "       floe-portal admin resources remove ID\n"
     "CIDR: A.B.C.D/N or IPv6/N (a bare address is /32 or /128; host bits are cleared).\n"
     "F: tcp, udp or icmp, with ports for tcp/udp as tcp:PORT or udp:LO-HI (1..65535);\n"
     "no filter allows every protocol and port. At most 16 filters.\n",
     "site,name,address,filter", admin_resources, false},
    {"groups", "groups: add NAME | list | remove ID | add-member | remove-member | members",
     "usage: floe-portal admin groups add NAME\n"
     "       floe-portal admin groups list\n"
     "       floe-portal admin groups remove ID\n"
     "       floe-portal admin groups add-member --group ID --user ID\n"
     "       floe-portal admin groups remove-member --group ID --user ID\n"
     "       floe-portal admin groups members\n",
     "name,group,user", admin_groups, false},
    {"policies", "group -> resource: add --group ID --resource ID | list | remove ID",
     "usage: floe-portal admin policies add --group ID --resource ID   prints the policy id\n"
     "       floe-portal admin policies list\n"
     "       floe-portal admin policies remove ID\n"
     "The users of the group may reach the resource.\n",
     "group,resource", admin_policies, false},
    {"relays", "TURN relays: add --address HOST:PORT [--secret S] | list | remove ID",
     "usage: floe-portal admin relays add --address HOST:PORT [--secret S | --secret-file F]\n"
     "       floe-portal admin relays list\n"
     "       floe-portal admin relays remove ID\n"
     "S is the relay's REST secret (floe-relay --auth-secret, coturn static-auth-secret);\n"
     "--secret-file reads it from the first line of F (out of sight of ps); without either,\n"
     "one is made and printed on the line after the id (shown once).\n",
     "address,secret,secret-file", admin_relays, false},
    {"devices", "devices online now (--all: every device) | remove ID",
     "usage: floe-portal admin devices [list] [--all]\n"
     "       floe-portal admin devices remove ID\n"
     "Devices online now (a heartbeat in the last 30 s) with their tunnel addresses and the\n"
     "portal instance they are connected to; --all lists every device. remove forgets a\n"
     "device (its addresses, authorizations); its key may enrol again as a new device.\n",
     "all", admin_devices, true},
    {"authorizations", "active authorizations",
     "usage: floe-portal admin authorizations [list]\n"
     "Authorizations (client, gateway, resource) that have not expired.\n",
     "", admin_authorizations, true},
};

const size_t floe__admin_n_entities =
    sizeof(floe__admin_entities) / sizeof(floe__admin_entities[0]);
