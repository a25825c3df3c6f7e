/*
 * A program outside the floe tree linking floe::sim from an installed floe (tests/install):
 * a simulator with one network and a host on it, the host's address read back. Prints
 * "floe sim ok" and exits 0, or names what failed and exits 1.
 */
#include <stdio.h>
#include <string.h>

#include <floe/sim.h>

static int sim_consumer_run(struct floe_sim *sim)
{
    struct floe_addr ip, got;
    uint32_t net, host, iface;
    char text[FLOE_ADDR_STRLEN];

    if (floe_sim_net_add(sim, "lan", NULL, &net) < 0 ||
        floe_sim_host_add(sim, "laptop", &host) < 0 || floe_addr_parse_ip("192.0.2.10", &ip) < 0 ||
        floe_sim_host_add_addr(sim, host, net, &ip, &iface) < 0 ||
        floe_sim_host_addr(sim, host, iface, &got) < 0 ||
        floe_addr_format_ip(&got, text, sizeof(text)) < 0)
        return 1;
    if (strcmp(text, "192.0.2.10") != 0) {
        fprintf(stderr, "sim_consumer: host address %s, expected 192.0.2.10\n", text);
        return 1;
    }
    return 0;
}

int main(void)
{
    struct floe_sim_config cfg;
    struct floe_sim *sim = NULL;

    floe_sim_config_default(&cfg);
    int err = floe_sim_new(&cfg, &sim);
    if (err < 0) {
        fprintf(stderr, "sim_consumer: floe_sim_new: %s\n", floe_strerror(err));
        return 1;
    }
    int rc = sim_consumer_run(sim);
    floe_sim_free(sim);
    if (rc != 0)
        fprintf(stderr, "sim_consumer: building the network failed\n");
    else
        printf("floe sim ok\n");
    return rc;
}
