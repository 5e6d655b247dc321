package io.hyperplane.lab.probe;

import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.PortUnreachableException;
import java.net.SocketTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.util.Locale;

/** Names a network failure in one word, so tests and scripts can compare it. */
final class Failures {
    private Failures() {
    }

    static String classify(Throwable e) {
        String message = e.getMessage() == null ? "" : e.getMessage().toLowerCase(Locale.ROOT);
        if (e instanceof SocketTimeoutException || message.contains("timed out")) {
            return "timeout";
        }
        if (e instanceof PortUnreachableException || message.contains("connection refused")) {
            return "refused";
        }
        if (e instanceof NoRouteToHostException || message.contains("no route to host") || message.contains("network is unreachable")) {
            return "unreachable";
        }
        if (e instanceof ConnectException) {
            return "refused";
        }
        if (message.contains("connection reset")) {
            return "reset";
        }
        if (message.contains("too many open files")) {
            return "too-many-open-files";
        }
        if (e instanceof UnresolvedAddressException) {
            return "unresolved";
        }
        return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
    }
}
