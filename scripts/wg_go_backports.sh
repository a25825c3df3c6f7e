# bookworm-backports' wireguard-go (0.0.20231211: TUN TCP offloads, UDP GSO/GRO), the one users
# install today, for the tunnel benchmarks (bench/tunnel.sh, bench/e2e.sh). bash; source it
# with BIN set to the build's bin directory, then call backports_wg_go.
# backports_wg_go: the path of bookworm-backports' wireguard-go, fetched when missing.
backports_wg_go() {
    local dest apt dir deb
    dest=$(cd "$BIN/.." && pwd)/wireguard-go-backports
    if [ -x "$dest/usr/bin/wireguard-go" ]; then
        echo "$dest/usr/bin/wireguard-go"
        return 0
    fi
    dir=$(mktemp -d)
    mkdir -p "$dir/etc" "$dir/lists/partial" "$dir/cache/archives/partial"
    printf '%s\n' "Types: deb" "URIs: http://deb.debian.org/debian" \
        "Suites: bookworm-backports" "Components: main" \
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" >"$dir/etc/bpo.sources"
    apt=(-o Dir::Etc::sourcelist=/dev/null -o "Dir::Etc::sourceparts=$dir/etc"
        -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache"
        -o APT::Sandbox::User=root -o APT::Get::List-Cleanup=0)
    if ! apt-get "${apt[@]}" -qq update >&2 ||
        ! (cd "$dir" && apt-get "${apt[@]}" -qq download wireguard-go/bookworm-backports >&2); then
        rm -rf "$dir"
        echo "wg_go_backports: cannot fetch wireguard-go from bookworm-backports" >&2
        return 1
    fi
    deb=$(ls "$dir"/wireguard-go_*.deb)
    dpkg -x "$deb" "$dest"
    basename "$deb" >"$dest/VERSION"
    rm -rf "$dir"
    echo "$dest/usr/bin/wireguard-go"
}
