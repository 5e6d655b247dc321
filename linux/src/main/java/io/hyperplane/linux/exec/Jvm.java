package io.hyperplane.linux.exec;

import java.util.ArrayList;
import java.util.List;

/** Commands that start another JVM like this one: same java binary, same classpath. */
public final class Jvm {
    private Jvm() {
    }

    /** The java binary running this process (a Java 25 one: the machine's default java may be older). */
    public static String java() {
        return ProcessHandle.current().info().command()
                .orElseGet(() -> System.getProperty("java.home") + "/bin/java");
    }

    public static String classpath() {
        return System.getProperty("java.class.path");
    }

    /** {@code java JVM_OPTIONS -cp CLASSPATH MAIN_CLASS}, ready for arguments to be appended. */
    public static List<String> command(List<String> jvmOptions, String mainClass) {
        List<String> command = new ArrayList<>();
        command.add(java());
        command.addAll(jvmOptions);
        command.add("-cp");
        command.add(classpath());
        command.add(mainClass);
        return command;
    }
}
