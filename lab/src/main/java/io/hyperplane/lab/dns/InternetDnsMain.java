package io.hyperplane.lab.dns;

import io.hyperplane.config.fabric.Internet;

import java.io.IOException;

/**
 * {@code InternetDnsMain ROUTER_NAMESPACE HOSTS_NAMESPACE}: the simulated internet's two DNS servers
 * in a process of their own, until killed: the internet's authoritative server at
 * {@link Internet#DNS} in the hosts' namespace, and the service's resolver at
 * {@link Internet#SERVICE_RESOLVER} in the internet router's. For {@code hyperplane lab up}, whose
 * JVM exits once the lab is up (a fabric keeps these in its own JVM instead). Run inside the hosts'
 * namespace, so that {@code lab down} ends it with the namespace's other processes. Prints a line
 * containing "ready" once both sockets are bound.
 */
public final class InternetDnsMain {
    private InternetDnsMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        if (args.length != 2) {
            System.err.println("internet-dns: usage: InternetDnsMain ROUTER_NAMESPACE HOSTS_NAMESPACE");
            System.exit(2);
            return;
        }
        try {
            DnsServer.start(args[1], Internet.DNS, Zones.internetAuthority(), System.err::println);
            DnsServer.start(args[0], Internet.SERVICE_RESOLVER, Zones.serviceResolver(), System.err::println);
        } catch (IOException | RuntimeException e) {
            System.err.println("internet-dns: " + e.getMessage());
            System.exit(1);
            return;
        }
        System.out.println("internet-dns: " + Internet.DNS + " in " + args[1] + ", " + Internet.SERVICE_RESOLVER + " in " + args[0] + " ... ready");
        System.out.flush();
        Thread.currentThread().join(); // the servers' threads are daemons: this one keeps the process until it is killed
    }
}
