package io.hyperplane.worker;

import io.hyperplane.packet.Ipv4Address;

import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.Set;

/**
 * The addresses this worker's environment networks use in 100.64.0.0/10 (RFC 6598 shared space),
 * from 100.64.0.16 (below: the gateway every node answers, 100.64.0.1, and room for more) to
 * 100.127.255.254 (the /10's broadcast address is not one). An address is held by one environment
 * network at a time and given back when that network's namespace is removed; addresses never used
 * go first, then the least recently released, so 4,194,287 environments can live at once and any
 * number can come and go. Forwarder nodes tell environments apart by VNI, so another worker may
 * use the same addresses.
 */
final class EnvironmentAddresses {
    static final int FIRST = Ipv4Address.parse("100.64.0.16");
    static final int LAST = Ipv4Address.parse("100.127.255.254");

    private int next = FIRST;
    private boolean fresh = true;
    private final ArrayDeque<Integer> released = new ArrayDeque<>();
    private final Set<Integer> held = new HashSet<>();

    /** An address for a new environment network; throws when every one is held. */
    synchronized String take() {
        int ip;
        if (fresh) {
            ip = next;
            fresh = next != LAST;
            next++;
        } else if (!released.isEmpty()) {
            ip = released.removeFirst();
        } else {
            throw new IllegalStateException("environment addresses: all " + (LAST - FIRST + 1) + " (" + Ipv4Address.format(FIRST)
                    + " to " + Ipv4Address.format(LAST) + ") are held");
        }
        held.add(ip);
        return Ipv4Address.format(ip);
    }

    /** Gives back the address of a network whose namespace is gone; null (no network) and unknown addresses are ignored. */
    synchronized void release(String address) {
        if (address != null && held.remove(Ipv4Address.parse(address))) {
            released.addLast(Ipv4Address.parse(address));
        }
    }
}
