package io.hyperplane.lab.probe;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyperplane.packet.Ipv4Address;
import io.hyperplane.packet.MacAddress;
import io.hyperplane.packet.VxlanHeader;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A network probe to run inside a lab namespace; prints exactly one JSON line.
 * <pre>
 *   tcp HOST:PORT --send TEXT [--timeout-ms N]      {"ok":true,"reply":"TEXT"} | {"ok":false,"error":"timeout|refused|..."}
 *   udp HOST:PORT --send TEXT [--timeout-ms N]      {"ok":true,"reply":"TEXT"}
 *   http HOST:PORT PATH [--timeout-ms N]            {"ok":true,"status":200,"body":"10.0.1.4:40000\n"}
 *   connect-many HOST:PORT --count N [--timeout-ms N]
 *       {"requested":N,"connected":..,"answered":..,"distinctPeers":..,"peerIps":[..],"errors":{..},"ok":..}
 *   vxlan HOST:PORT[,HOST:PORT...] --vni N --inner IP:PORT --inner-source IP --send TEXT [--inner-mac MAC] [--count N]
 *       {"ok":true,"sent":N,"errors":{..}}: a crafted VXLAN datagram to each target, N rounds ({@link CraftedVxlan})
 * </pre>
 * Every result also carries {@code elapsedMs}. Exit code 0 when a result was printed, 2 for a
 * usage error (also printed as JSON, with {@code "error":"usage"}).
 */
public final class ProbeMain {
    public static final long DEFAULT_TIMEOUT_MS = 2000;
    public static final String USAGE = "usage: ProbeMain tcp|udp HOST:PORT --send TEXT [--timeout-ms N]"
            + " | http HOST:PORT PATH [--timeout-ms N] | connect-many HOST:PORT --count N [--hold-ms N] [--timeout-ms N]"
            + " | flood HOST:PORT --count N [--seed N] [--timeout-ms N]"
            + " | rr HOST:PORT [--duration-ms N] | conn-rate HOST:PORT [--clients N] [--duration-ms N]"
            + " | http-keepalive HOST:PORT PATH --count N --hold-ms INTERVAL [--timeout-ms N]"
            + " | vxlan HOST:PORT[,HOST:PORT...] --vni N --inner IP:PORT --inner-source IP --send TEXT [--inner-mac MAC] [--count N]";

    private ProbeMain() {
    }

    public static void main(String[] args) {
        ObjectNode result = run(args);
        System.out.println(result.toString());
        System.out.flush();
        System.exit("usage".equals(result.path("error").asText()) ? 2 : 0);
    }

    /** Runs a probe in this process and returns its JSON result. */
    public static ObjectNode run(String... args) {
        long start = System.nanoTime();
        ObjectNode result;
        try {
            result = probe(args);
        } catch (IllegalArgumentException e) {
            result = JsonNodeFactory.instance.objectNode().put("ok", false).put("error", "usage")
                    .put("detail", e.getMessage() + "; " + USAGE);
        } catch (IOException e) {
            result = SimpleProbes.failed(e);
        }
        return result.put("elapsedMs", (System.nanoTime() - start) / 1_000_000);
    }

    private static ObjectNode probe(String[] args) throws IOException {
        List<String> positional = new ArrayList<>();
        String send = null;
        long timeoutMs = DEFAULT_TIMEOUT_MS;
        int count = -1;
        long holdMs = 0;
        long seed = 1;
        long durationMs = 5000;
        int clients = 1;
        int vni = -1;
        String inner = null;
        String innerSource = null;
        long innerMac = MacAddress.BROADCAST;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--send" -> send = value(args, ++i, "--send");
                case "--timeout-ms" -> timeoutMs = number(value(args, ++i, "--timeout-ms"), "--timeout-ms", 1);
                case "--count" -> count = (int) number(value(args, ++i, "--count"), "--count", 1);
                case "--hold-ms" -> holdMs = number(value(args, ++i, "--hold-ms"), "--hold-ms", 0);
                case "--seed" -> seed = number(value(args, ++i, "--seed"), "--seed", 0);
                case "--duration-ms" -> durationMs = number(value(args, ++i, "--duration-ms"), "--duration-ms", 100);
                case "--clients" -> clients = (int) number(value(args, ++i, "--clients"), "--clients", 1);
                case "--vni" -> vni = (int) number(value(args, ++i, "--vni"), "--vni", 0);
                case "--inner" -> inner = value(args, ++i, "--inner");
                case "--inner-source" -> innerSource = value(args, ++i, "--inner-source");
                case "--inner-mac" -> innerMac = mac(value(args, ++i, "--inner-mac"));
                default -> {
                    if (args[i].startsWith("--")) {
                        throw new IllegalArgumentException("unknown option " + args[i]);
                    }
                    positional.add(args[i]);
                }
            }
        }
        if (positional.size() < 2) {
            throw new IllegalArgumentException("mode and HOST:PORT required");
        }
        String mode = positional.get(0);
        if (mode.equals("vxlan")) {
            if (vni < 0 || vni > VxlanHeader.MAX_VNI) {
                throw new IllegalArgumentException("vxlan needs --vni 0.." + VxlanHeader.MAX_VNI);
            }
            InetSocketAddress innerTarget = target(required(inner, "--inner"));
            byte[] frame = CraftedVxlan.frame(vni, innerMac, address(required(innerSource, "--inner-source")),
                    address(innerTarget.getAddress().getHostAddress()), innerTarget.getPort(),
                    required(send, "--send").getBytes(StandardCharsets.UTF_8));
            List<InetSocketAddress> targets = new ArrayList<>();
            for (String each : positional.get(1).split(",")) {
                targets.add(target(each));
            }
            return CraftedVxlan.send(targets, frame, Math.max(count, 1));
        }
        InetSocketAddress target = target(positional.get(1));
        return switch (mode) {
            case "tcp" -> SimpleProbes.tcp(target, required(send, "--send"), timeoutMs);
            case "udp" -> SimpleProbes.udp(target, required(send, "--send"), timeoutMs);
            case "http" -> {
                if (positional.size() != 3 || !positional.get(2).startsWith("/")) {
                    throw new IllegalArgumentException("http needs a PATH starting with /");
                }
                yield SimpleProbes.http(target, positional.get(2), timeoutMs);
            }
            case "connect-many" -> {
                if (count < 1) {
                    throw new IllegalArgumentException("connect-many needs --count N");
                }
                yield new ConnectMany(target, count, timeoutMs, holdMs).run();
            }
            case "rr" -> RequestResponse.run(target, durationMs);
            case "http-keepalive" -> {
                if (positional.size() != 3 || !positional.get(2).startsWith("/")) {
                    throw new IllegalArgumentException("http-keepalive needs a PATH starting with /");
                }
                yield HttpKeepAlive.run(target, positional.get(2), Math.max(count, 1), holdMs, timeoutMs);
            }
            case "conn-rate" -> ConnectRate.run(target, clients, durationMs);
            case "flood" -> {
                if (count < 1) {
                    throw new IllegalArgumentException("flood needs --count N");
                }
                yield SimpleProbes.flood(target, count, seed, timeoutMs);
            }
            default -> throw new IllegalArgumentException("unknown mode " + mode);
        };
    }

    private static InetSocketAddress target(String text) throws IOException {
        int colon = text.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("target '" + text + "': expected HOST:PORT");
        }
        int port = (int) number(text.substring(colon + 1), "port", 1);
        if (port > 65535) {
            throw new IllegalArgumentException("target '" + text + "': port must be 1..65535");
        }
        return new InetSocketAddress(InetAddress.getByName(text.substring(0, colon)), port);
    }

    private static int address(String text) {
        try {
            return Ipv4Address.parse(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("address '" + text + "': " + e.getMessage());
        }
    }

    private static long mac(String text) {
        try {
            return MacAddress.parse(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--inner-mac '" + text + "': " + e.getMessage());
        }
    }

    private static String value(String[] args, int index, String option) {
        if (index >= args.length) {
            throw new IllegalArgumentException(option + ": value missing");
        }
        return args[index];
    }

    private static String required(String value, String option) {
        if (value == null) {
            throw new IllegalArgumentException(option + " TEXT required");
        }
        return value;
    }

    private static long number(String text, String what, long min) {
        try {
            long value = Long.parseLong(text);
            if (value < min) {
                throw new IllegalArgumentException(what + " " + text + ": must be at least " + min);
            }
            return value;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + " '" + text + "': not a number");
        }
    }
}
