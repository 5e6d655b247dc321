package io.hyperplane.linux.exec;

/** An external program the lab runs, and the Debian package that provides it. */
public enum Tool {
    IP("ip", "iproute2"),
    ETHTOOL("ethtool", "ethtool"),
    SETSID("setsid", "util-linux"),
    PING("ping", "iputils-ping"),
    SYSCTL("sysctl", "procps");

    private final String program;
    private final String debianPackage;

    Tool(String program, String debianPackage) {
        this.program = program;
        this.debianPackage = debianPackage;
    }

    public String program() {
        return program;
    }

    public String debianPackage() {
        return debianPackage;
    }
}
