package io.hyperplane.runtime;

import java.util.List;
import java.util.Map;

/**
 * How to start a runtime process: its command line, and the variables it needs on top of the ones the
 * worker sets for every execution environment ({@code AWS_LAMBDA_RUNTIME_API},
 * {@code AWS_LAMBDA_FUNCTION_NAME}, {@code AWS_LAMBDA_FUNCTION_VERSION}, {@code AWS_LAMBDA_LOG_GROUP_NAME},
 * {@code AWS_LAMBDA_LOG_STREAM_NAME}, {@code AWS_REGION}, credentials, {@code PATH}, {@code LANG}, {@code TZ}...).
 */
public record LaunchSpec(List<String> command, Map<String, String> extraEnvironment) {

    public LaunchSpec {
        command = List.copyOf(command);
        extraEnvironment = Map.copyOf(extraEnvironment);
        if (command.isEmpty()) {
            throw new IllegalArgumentException("command: must name a program");
        }
    }
}
