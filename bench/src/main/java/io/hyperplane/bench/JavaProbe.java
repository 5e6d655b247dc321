package io.hyperplane.bench;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * A Java Lambda handler, compiled here against aws-lambda-java-core from this JVM's class path:
 * it opens a TCP connection to the event's "target" (HOST:PORT), asks GET /whoami and returns the
 * answer — the address the server saw.
 */
public final class JavaProbe {
    static final String SOURCE = """
            import com.amazonaws.services.lambda.runtime.Context;
            import com.amazonaws.services.lambda.runtime.RequestHandler;
            import java.io.IOException;
            import java.io.UncheckedIOException;
            import java.net.InetSocketAddress;
            import java.net.Socket;
            import java.nio.charset.StandardCharsets;
            import java.util.Map;

            public class Probe implements RequestHandler<Map<String, Object>, String> {
                @Override
                public String handleRequest(Map<String, Object> event, Context context) {
                    String[] target = String.valueOf(event.get("target")).split(":");
                    try (Socket socket = new Socket()) {
                        socket.connect(new InetSocketAddress(target[0], Integer.parseInt(target[1])), 5000);
                        socket.getOutputStream().write("GET /whoami HTTP/1.0\\r\\nHost: db\\r\\n\\r\\n".getBytes(StandardCharsets.US_ASCII));
                        String response = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                        context.getLogger().log("java handler saw " + response.length() + " bytes");
                        return response.substring(response.indexOf("\\r\\n\\r\\n") + 4);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }
            }
            """;

    private JavaProbe() {
    }

    /** The compiled class, zipped as a deployment package (Probe::handleRequest). */
    public static byte[] zip() throws IOException {
        Path dir = Files.createTempDirectory("hp-java-fn");
        try {
            Path source = dir.resolve("Probe.java");
            Files.writeString(source, SOURCE);
            String core = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                    .filter(p -> p.contains("aws-lambda-java-core")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("aws-lambda-java-core is not on the class path"));
            JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
            if (compiler == null) {
                throw new IllegalStateException("this JVM has no compiler (a JRE?): run hyperplane with a JDK");
            }
            ByteArrayOutputStream errors = new ByteArrayOutputStream();
            if (compiler.run(null, null, errors, "--release", "17", "-cp", core, "-d", dir.toString(), source.toString()) != 0) {
                throw new IllegalStateException("compiling the Java probe: " + errors.toString(StandardCharsets.UTF_8));
            }
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
                zip.putNextEntry(new ZipEntry("Probe.class"));
                zip.write(Files.readAllBytes(dir.resolve("Probe.class")));
                zip.closeEntry();
            }
            return bytes.toByteArray();
        } finally {
            try (var files = Files.list(dir)) {
                for (Path p : files.toList()) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(dir);
        }
    }
}
