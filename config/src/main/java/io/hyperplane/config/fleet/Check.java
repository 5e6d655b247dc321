package io.hyperplane.config.fleet;

import io.hyperplane.packet.Ipv4Address;
import io.hyperplane.packet.MacAddress;

import java.net.URI;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The checks the fleet's records make in their compact constructors, each failing with an
 * {@link IllegalArgumentException} that names the message and the field ({@code "node heartbeat:
 * underlayIp 'x' is not an IPv4 address"}): these values arrive from other machines, and a refusal
 * must say which value was wrong.
 */
final class Check {
    /** Names of nodes, workers and execution environments: they become parts of URLs, namespaces and log lines. */
    private static final Pattern NAME = Pattern.compile("[a-zA-Z0-9_.-]{1,64}");

    private Check() {
    }

    static <T> T present(T value, String message, String field) {
        if (value == null) {
            throw new IllegalArgumentException(message + ": " + field + " is missing");
        }
        return value;
    }

    /** A string that is there and not blank. */
    static String text(String value, String message, String field) {
        if (present(value, message, field).isBlank()) {
            throw new IllegalArgumentException(message + ": " + field + " is empty");
        }
        return value;
    }

    static String name(String value, String message, String field) {
        if (!NAME.matcher(present(value, message, field)).matches()) {
            throw new IllegalArgumentException(message + ": " + field + " '" + value + "': use 1-64 letters, digits, '.', '_' or '-'");
        }
        return value;
    }

    static String ipv4(String value, String message, String field) {
        present(value, message, field);
        try {
            Ipv4Address.parse(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(message + ": " + field + " '" + value + "' is not an IPv4 address", e);
        }
        return value;
    }

    static String mac(String value, String message, String field) {
        present(value, message, field);
        try {
            MacAddress.parse(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(message + ": " + field + " '" + value + "' is not a MAC address", e);
        }
        return value;
    }

    /** An HTTP URL the control plane can call back: a host and a port. */
    static URI url(URI value, String message, String field) {
        if (present(value, message, field).getHost() == null || value.getPort() < 1) {
            throw new IllegalArgumentException(message + ": " + field + " '" + value + "' needs a host and a port");
        }
        return value;
    }

    static long atLeast(long value, long minimum, String message, String field) {
        if (value < minimum) {
            throw new IllegalArgumentException(message + ": " + field + " " + value + " must be at least " + minimum);
        }
        return value;
    }

    static int port(int value, String message, String field) {
        if (value < 1 || value > 65_535) {
            throw new IllegalArgumentException(message + ": " + field + " " + value + " must be 1..65535");
        }
        return value;
    }

    /** An error status: what a refusal carries (RFC 9110 §15.5 and §15.6). */
    static int errorStatus(int value, String message) {
        if (value < 400 || value > 599) {
            throw new IllegalArgumentException(message + ": status " + value + " must be an HTTP error status, 400..599");
        }
        return value;
    }

    /** An immutable copy whose elements are all there. */
    static <T> List<T> list(List<T> values, String message, String field) {
        List<T> list = present(values, message, field);
        for (T value : list) {
            present(value, message, field + " element");
        }
        return List.copyOf(list);
    }
}
