package io.hyperplane.lab.service;

import io.hyperplane.lab.spec.LabSpec;

import java.io.IOException;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * {@code ServiceHostMain [--bind ADDR] --tcp-echo PORT --udp-echo PORT --http PORT ...}: runs the
 * services of one resource host until killed. Prints a line containing "ready" once every socket
 * is bound; the lab waits for it.
 */
public final class ServiceHostMain {
    private ServiceHostMain() {
    }

    public static void main(String[] args) {
        List<ServiceHost.Listener> listeners = new ArrayList<>();
        String bind = "0.0.0.0";
        try {
            for (int i = 0; i < args.length; i++) {
                String flag = args[i];
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(flag + ": value missing");
                }
                String value = args[++i];
                if (flag.equals("--bind")) {
                    bind = value;
                    continue;
                }
                ServiceHost.Kind kind = kindOf(flag);
                listeners.add(new ServiceHost.Listener(kind, parsePort(flag, value)));
            }
            if (listeners.isEmpty()) {
                throw new IllegalArgumentException("no services given");
            }
        } catch (IllegalArgumentException e) {
            System.err.println("service-host: " + e.getMessage()
                    + "\nusage: ServiceHostMain [--bind ADDR] [--tcp-echo PORT]... [--udp-echo PORT]... [--http PORT]...");
            System.exit(2);
            return;
        }
        try (ServiceHost host = ServiceHost.bind(InetAddress.getByName(bind), listeners)) {
            List<String> described = new ArrayList<>();
            for (int i = 0; i < listeners.size(); i++) {
                described.add(listeners.get(i).kind().flag().substring(2) + " " + host.boundAddresses().get(i).getPort());
            }
            System.out.println("service-host on " + bind + ": " + String.join(", ", described) + " ... ready");
            System.out.flush();
            host.run();
        } catch (IOException e) {
            System.err.println("service-host: " + e.getMessage());
            System.exit(1);
        }
    }

    /** The command-line arguments that run a lab resource's services. */
    public static List<String> arguments(List<LabSpec.Service> services) {
        return services.stream().flatMap(service -> List.of(flagOf(service), Integer.toString(service.port())).stream())
                .collect(Collectors.toList());
    }

    private static String flagOf(LabSpec.Service service) {
        if (service.kind().equals(LabSpec.Service.HTTP)) {
            return ServiceHost.Kind.HTTP.flag();
        }
        return service.proto().equals("udp") ? ServiceHost.Kind.UDP_ECHO.flag() : ServiceHost.Kind.TCP_ECHO.flag();
    }

    private static ServiceHost.Kind kindOf(String flag) {
        for (ServiceHost.Kind kind : ServiceHost.Kind.values()) {
            if (kind.flag().equals(flag)) {
                return kind;
            }
        }
        throw new IllegalArgumentException("unknown option " + flag);
    }

    private static int parsePort(String flag, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " " + value + ": not a port number");
        }
    }
}
