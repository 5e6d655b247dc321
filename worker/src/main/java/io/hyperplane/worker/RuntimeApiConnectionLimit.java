package io.hyperplane.worker;

import java.io.IOException;

/**
 * At most {@link #MAX_CONNECTIONS} open connections to an environment's Runtime API, kept by the kernel: an
 * nftables table in the environment's network namespace, loaded when the namespace is made (ahead of need, with
 * the prepared network), that answers one more connection
 * with a TCP reset and counts it ({@code nft list counter inet hp_runtime_api refused} in the namespace). The function runs without
 * CAP_NET_ADMIN, so it cannot remove the table; the JDK server's own limit would be JVM-wide.
 *
 * <pre>
 *  output, priority raw     flows that are not to or from 127.0.0.1:9001: notrack
 *  output, priority filter  tcp to 127.0.0.1:9001, ct state new, ct count over 16: counter, reject with tcp reset
 *  prerouting, priority raw as output: the tenant's traffic on eth0 stays untracked
 * </pre>
 *
 * Both ends are in the namespace (127.0.0.1 cannot come in on eth0), so every connection's first packet passes
 * the output hook. Refusing it there, before conntrack confirms it, leaves no entry behind: a runtime that
 * retries in a loop fills nothing. The {@code ct count} ({@code nf_conncount}) counts tracked connections that are
 * not yet closed, so one that ends frees its place at once. Connection tracking is needed for the count; the
 * notrack chains keep it to the Runtime API's connections, so the tenant's own flows cost no conntrack entries
 * (of which a namespace may hold {@code nf_conntrack_max}, 262,144 by default) and no tracking on their path.
 */
final class RuntimeApiConnectionLimit {

    /**
     * A runtime keeps one connection for its {@code /next} long-poll and posts its answer on it or on one more
     * (clients that connect per request, like urllib or curl, hold one at a time); 16 leaves room for a runtime
     * that leaks a few. A tenant that holds all 16 only stalls its own environment's API.
     */
    static final int MAX_CONNECTIONS = 16;

    static final String TABLE = "hp_runtime_api";

    static final String RULESET = """
            table inet %1$s {
                counter refused {
                }
                chain untracked_unless_runtime_api {
                    ip daddr 127.0.0.1 tcp dport %2$d return
                    ip saddr 127.0.0.1 tcp sport %2$d return
                    notrack
                }
                chain prerouting_raw {
                    type filter hook prerouting priority raw; policy accept;
                    jump untracked_unless_runtime_api
                }
                chain output_raw {
                    type filter hook output priority raw; policy accept;
                    jump untracked_unless_runtime_api
                }
                chain output {
                    type filter hook output priority filter; policy accept;
                    ip daddr 127.0.0.1 tcp dport %2$d ct state new ct count over %3$d counter name refused reject with tcp reset
                }
            }
            """.formatted(TABLE, ExecutionEnvironment.RUNTIME_API_PORT, MAX_CONNECTIONS);

    private RuntimeApiConnectionLimit() {
    }

    /** Loads the table into {@code namespace}, a new one, in one nft transaction. */
    static void load(String namespace) throws IOException, InterruptedException {
        EnvironmentNetwork.nft(namespace, RULESET);
    }
}
