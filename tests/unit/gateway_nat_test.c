/*
 * floe-gateway's nftables rules (apps/floe-gateway/nat.h): interface names, the table's name,
 * the ruleset text, and floe_gw_nft_run against a stand-in nft (FLOE_NFT) that records its
 * input and fails on demand. The real table in a namespace: tests/netns/gateway_nat_test.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nat.h"
#include "test.h"

static void test_ifnames(void)
{
    char t[FLOE_GW_NAT_TABLE_MAX];

    CHECK(floe_gw_ifname_is_valid("floe0"));
    CHECK(floe_gw_ifname_is_valid("gw-tun.1"));
    CHECK(floe_gw_ifname_is_valid("abcdefghijklmno"));
    CHECK(!floe_gw_ifname_is_valid("abcdefghijklmnop")); /* 16 > IFNAMSIZ - 1 */
    CHECK(!floe_gw_ifname_is_valid(""));
    CHECK(!floe_gw_ifname_is_valid(NULL));
    CHECK(!floe_gw_ifname_is_valid("a b"));
    CHECK(!floe_gw_ifname_is_valid("tun\"0"));
    CHECK(!floe_gw_ifname_is_valid("a/b"));
    CHECK(!floe_gw_ifname_is_valid(".."));
    CHECK_EQ(floe_gw_nat_table("gw-tun.1", t, sizeof(t)), 16);
    CHECK_STR(t, "floe_gw_gw_tun_1");
    CHECK_EQ(floe_gw_nat_table("floe0", t, 8), FLOE_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(floe_gw_nat_table("x;y", t, sizeof(t)), FLOE_ERR_INVALID_ARG);
}

static void test_ruleset(void)
{
    char buf[1024];
    int n = floe_gw_nat_ruleset("floe-gw", buf, sizeof(buf));

    REQUIRE(n > 0);
    CHECK_EQ((size_t)n, strlen(buf));
    CHECK(strstr(buf, "table inet floe_gw_floe_gw\ndelete table inet floe_gw_floe_gw\n") == buf);
    CHECK(strstr(buf, "type nat hook postrouting priority srcnat;") != NULL);
    CHECK(strstr(buf, "iifname \"floe-gw\" oifname != \"floe-gw\" masquerade") != NULL);
    CHECK_EQ(floe_gw_nat_ruleset("floe-gw", buf, 40), FLOE_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(floe_gw_nat_ruleset("bad name", buf, sizeof(buf)), FLOE_ERR_INVALID_ARG);
}

static void test_nft_run(void)
{
    char dir[] = "/tmp/floe-gwnat-XXXXXX", nft[128], out[160], err[64], got[256] = "";
    FILE *fp;

    REQUIRE(floe_test_mkdtemp(dir) != NULL);
    snprintf(nft, sizeof(nft), "%s/nft", dir);
    snprintf(out, sizeof(out), "%s/in", dir);
    fp = fopen(nft, "w");
    REQUIRE(fp != NULL);
    fprintf(fp,
            "#!/bin/sh\n[ \"$1 $2\" = \"-f -\" ] || exit 9\ncat > '%s'\n"
            "grep -q fail '%s' && { echo 'Error: no such table' >&2; exit 1; }\nexit 0\n",
            out, out);
    fclose(fp);
    chmod(nft, 0700);
    setenv("FLOE_NFT", nft, 1);
    CHECK_EQ(floe_gw_nft_run("table inet t\n", err, sizeof(err)), 0);
    CHECK_STR(err, "");
    fp = fopen(out, "r");
    if (fp) {
        size_t n = fread(got, 1, sizeof(got) - 1, fp);

        got[n] = '\0';
        fclose(fp);
    }
    CHECK_STR(got, "table inet t\n");
    CHECK_EQ(floe_gw_nft_run("fail\n", err, sizeof(err)), FLOE_ERR_PROTOCOL);
    CHECK_STR(err, "Error: no such table");
    CHECK_EQ(floe_gw_nft_run("fail\n", err, 6), FLOE_ERR_PROTOCOL);
    CHECK_STR(err, "Error");
    setenv("FLOE_NFT", "/nonexistent/nft", 1);
    CHECK_EQ(floe_gw_nft_run("table inet t\n", err, sizeof(err)), FLOE_ERR_IO);
    CHECK_EQ(floe_gw_nft_run(NULL, err, sizeof(err)), FLOE_ERR_INVALID_ARG);
    unsetenv("FLOE_NFT");
    unlink(nft);
    unlink(out);
    rmdir(dir);
}

int main(void)
{
    FLOE_RUN(test_ifnames);
    FLOE_RUN(test_ruleset);
    FLOE_RUN(test_nft_run);
    return floe_test_summary();
}
