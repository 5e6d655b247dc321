package io.hyperplane.lab.dns;

import io.hyperplane.packet.Ipv4Address;

import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What one DNS server knows, and what it says about everything else.
 * <ul>
 *   <li>{@code addresses}: names it answers, each with one IPv4 address (A records; any other
 *       type of question about them gets an empty answer, as RFC 2308 §2.2 NODATA);</li>
 *   <li>{@code domains}: the domains it knows completely, where a name it does not have is
 *       NXDOMAIN (RFC 2308 §2.1);</li>
 *   <li>{@code otherwise}: the answer code for names outside them: NXDOMAIN for a resolver that
 *       can reach the internet (the simulated internet has no such name), SERVFAIL for a resolver
 *       with no way out (it cannot reach the servers that know, RFC 1035 §4.1.1), REFUSED for an
 *       authoritative-only server;</li>
 *   <li>{@code authoritative}: sets the AA bit (the internet's own server for its zone); resolvers
 *       set RA instead.</li>
 * </ul>
 * Names are kept lower-case without the final dot.
 */
public record Answers(Map<String, String> addresses, Set<String> domains, int otherwise, boolean authoritative) {
    public Answers {
        Map<String, String> normalised = new TreeMap<>();
        addresses.forEach((name, ip) -> normalised.put(normalise(name), Ipv4Address.format(Ipv4Address.parse(ip))));
        addresses = Map.copyOf(normalised);
        Set<String> zones = new TreeSet<>();
        domains.forEach(d -> zones.add(normalise(d)));
        domains = Set.copyOf(zones);
        if (otherwise != Rcodes.NXDOMAIN && otherwise != Rcodes.SERVFAIL && otherwise != Rcodes.REFUSED) {
            throw new IllegalArgumentException("otherwise " + otherwise + ": NXDOMAIN, SERVFAIL or REFUSED");
        }
    }

    /** The address of {@code name}, or null. */
    public String address(String name) {
        return addresses.get(normalise(name));
    }

    /** True when {@code name} is in (or is) one of {@link #domains}. */
    public boolean inDomains(String name) {
        String n = normalise(name);
        for (String domain : domains) {
            if (n.equals(domain) || n.endsWith("." + domain)) {
                return true;
            }
        }
        return false;
    }

    static String normalise(String name) {
        Objects.requireNonNull(name, "name");
        String n = name.toLowerCase(Locale.ROOT);
        return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
    }

    /** The answer codes a server here gives (RFC 1035 §4.1.1), named once. */
    public static final class Rcodes {
        public static final int NOERROR = 0;
        public static final int FORMERR = 1;
        public static final int SERVFAIL = 2;
        public static final int NXDOMAIN = 3;
        public static final int NOTIMP = 4;
        public static final int REFUSED = 5;

        private Rcodes() {
        }
    }
}
