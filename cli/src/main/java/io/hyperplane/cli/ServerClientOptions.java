package io.hyperplane.cli;

import io.hyperplane.client.Ec2QueryClient;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;

/** Where a client command finds the server and its key (a picocli mixin). */
final class ServerClientOptions {
    @Option(names = "--endpoint", defaultValue = "http://" + ServerCommand.DEFAULT_LISTEN, description = "The server (default: ${DEFAULT-VALUE}).")
    URI endpoint;

    @Option(names = "--credentials", paramLabel = "FILE",
            description = "Shared-credentials file (default: $AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials).")
    Path credentials;

    /** A signing client for the server, with the key from --credentials, else $AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials. */
    Ec2QueryClient client() throws IOException {
        Path file = credentials != null ? credentials : System.getenv("AWS_SHARED_CREDENTIALS_FILE") != null
                ? Path.of(System.getenv("AWS_SHARED_CREDENTIALS_FILE")) : Path.of(System.getProperty("user.home"), ".aws", "credentials");
        if (!Files.isReadable(file)) {
            throw new IllegalArgumentException("no credentials file " + file + ": give --credentials DIR/credentials (the server's"
                    + " --data-dir has one) or set AWS_SHARED_CREDENTIALS_FILE");
        }
        return new Ec2QueryClient(endpoint, Ec2QueryClient.credentialsFrom(file));
    }
}
