package io.hyperplane.lab.fabric;

/**
 * Where a kernel VTEP joins an underlay: the underlay's namespace and bridge, the name of the
 * bridge's end of the VTEP's veth, and the underlay's MTU and prefix length. A fabric's underlay
 * and a lab's ({@code hyperplane lab up}) name their bridges and veths differently; the internet
 * router joins either.
 */
public record UnderlayPort(String namespace, String bridge, String peer, int mtu, int prefixLength) {
    public UnderlayPort {
        if (namespace == null || bridge == null || peer == null) {
            throw new IllegalArgumentException("underlay port: namespace, bridge and peer are required");
        }
        if (mtu <= 0 || prefixLength < 0 || prefixLength > 32) {
            throw new IllegalArgumentException("underlay port " + peer + ": mtu " + mtu + ", prefix length " + prefixLength);
        }
    }
}
