package io.hyperplane.lab.dns;

import io.hyperplane.config.fabric.FabricState;
import io.hyperplane.config.fabric.Internet;
import io.hyperplane.packet.Ipv4Address;
import io.hyperplane.packet.Ipv4Cidr;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * What each of the fabric's DNS servers knows (DESIGN.md §11):
 * <pre>
 *   VPC base + 2        AmazonProvidedDNS: ip-A-B-C-D.PRIVATE_DOMAIN for the VPC's instances; with
 *                       hostnames, ec2-P-Q-R-S.compute-1.amazonaws.com (the public name) answering the
 *                       private address, as it does inside the VPC on AWS; the internet's names only
 *                       with an internet gateway (a way out), else SERVFAIL: it cannot reach them
 *   192.0.2.2           the service's resolver, for functions without a VpcConfig: the internet's names
 *   203.0.113.53        the internet's own server, authoritative for internet.test, REFUSED for the rest
 * </pre>
 */
public final class Zones {
    /** The internet zone's names. */
    public static final Map<String, String> INTERNET = Map.of(
            Internet.WHOAMI_NAME, Internet.HOST,
            "ns." + Internet.ZONE, Internet.DNS);

    private Zones() {
    }

    /** AmazonProvidedDNS's knowledge for {@code vpc}. */
    public static Answers vpcResolver(FabricState.VpcNetwork vpc) {
        Map<String, String> names = new HashMap<>();
        Set<String> domains = new HashSet<>();
        String privateDomain = vpc.dns().privateDomain();
        domains.add(privateDomain);
        Set<String> instanceIps = new HashSet<>();
        for (FabricState.InstanceHost instance : vpc.instances()) {
            names.put("ip-" + instance.ip().replace('.', '-') + "." + privateDomain, instance.ip());
            instanceIps.add(instance.ip());
        }
        if (vpc.dns().hostnames()) {
            for (FabricState.PublicAddress address : vpc.publicAddresses()) {
                if (instanceIps.contains(address.privateIp())) {
                    names.put(publicName(address.publicIp(), privateDomain), address.privateIp());
                }
            }
        }
        boolean wayOut = vpc.internetGateway() != null;
        if (wayOut) {
            names.putAll(INTERNET);
            domains.add(Internet.ZONE);
        }
        return new Answers(names, domains, wayOut ? Answers.Rcodes.NXDOMAIN : Answers.Rcodes.SERVFAIL, false);
    }

    /** The service resolver (192.0.2.2): the internet's names, for functions without a VpcConfig. */
    public static Answers serviceResolver() {
        return new Answers(INTERNET, Set.of(Internet.ZONE), Answers.Rcodes.NXDOMAIN, false);
    }

    /** The internet's authoritative server (203.0.113.53). */
    public static Answers internetAuthority() {
        return new Answers(INTERNET, Set.of(Internet.ZONE), Answers.Rcodes.REFUSED, true);
    }

    /**
     * An instance's public DNS name: "compute-1.amazonaws.com" in us-east-1 (private domain
     * ec2.internal), "REGION.compute.amazonaws.com" elsewhere (private domain REGION.compute.internal).
     */
    static String publicName(String publicIp, String privateDomain) {
        String suffix = privateDomain.endsWith(".compute.internal")
                ? privateDomain.substring(0, privateDomain.length() - ".internal".length()) + ".amazonaws.com"
                : "compute-1.amazonaws.com";
        return "ec2-" + publicIp.replace('.', '-') + "." + suffix;
    }

    /** The VPC's resolver address: its block's base address + 2 (VPC user guide, "Amazon DNS server"). */
    public static String resolverAddress(String vpcCidr) {
        return Ipv4Address.format(Ipv4Cidr.parse(vpcCidr).network() + 2);
    }
}
