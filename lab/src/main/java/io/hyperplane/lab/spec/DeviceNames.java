package io.hyperplane.lab.spec;

/**
 * The names of the links the lab creates. Every one starts with the lab's prefix, so anything
 * the lab made is recognisable at a glance; each lives inside a lab namespace, never the root one.
 */
public final class DeviceNames {
    private DeviceNames() {
    }

    /** The underlay bridge, in the underlay namespace. */
    public static String underlayBridge(String prefix) {
        return prefix + "ul";
    }

    /** A member's end of its underlay veth, in the node, host or VPC router namespace. */
    public static String underlayPort(String prefix) {
        return prefix + "ul0";
    }

    /** The bridge's end of the n-th member's underlay veth (n from 1), in the underlay namespace. */
    public static String underlayPeer(String prefix, int n) {
        return prefix + "p" + n;
    }

    /** A VXLAN device: one per EE (moved into the EE) and one per subnet (in the VPC router). */
    public static String vxlan(String prefix, int vni) {
        return prefix + "vx" + vni;
    }

    /** The n-th subnet's bridge (n from 1, counted across the lab), in its VPC router namespace. */
    public static String subnetBridge(String prefix, int n) {
        return prefix + "br" + n;
    }

    /** A resource host's interface, in its own namespace. */
    public static String resourcePort(String prefix) {
        return prefix + "eth0";
    }

    /** The router's end of the n-th resource host's veth (n from 1), enslaved to the subnet bridge. */
    public static String resourcePeer(String prefix, int n) {
        return prefix + "r" + n;
    }
}
