package io.hyperplane.e2e;

import io.hyperplane.sigv4.Credential;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.waiters.WaiterOverrideConfiguration;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.retries.DefaultRetryStrategy;
import software.amazon.awssdk.retries.api.BackoffStrategy;
import software.amazon.awssdk.services.ec2.Ec2Client;
import software.amazon.awssdk.services.iam.IamClient;
import software.amazon.awssdk.services.lambda.LambdaClient;

import java.net.URI;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * The AWS SDK's clients for our server, built one way for every end-to-end test: the endpoint
 * overridden, EC2 and Lambda in us-east-1, IAM global, the JDK's URL connection as transport.
 */
final class AwsClients {
    private AwsClients() {
    }

    static StaticCredentialsProvider credentials(Credential credential) {
        return StaticCredentialsProvider.create(AwsBasicCredentials.create(credential.accessKeyId(), credential.secretAccessKey()));
    }

    static Ec2Client ec2(URI endpoint, AwsCredentialsProvider credentials) {
        return Ec2Client.builder().endpointOverride(endpoint).region(Region.US_EAST_1).credentialsProvider(credentials)
                .httpClient(UrlConnectionHttpClient.create()).build();
    }

    static IamClient iam(URI endpoint, AwsCredentialsProvider credentials) {
        return IamClient.builder().endpointOverride(endpoint).region(Region.AWS_GLOBAL).credentialsProvider(credentials)
                .httpClient(UrlConnectionHttpClient.create()).build();
    }

    static LambdaClient lambda(URI endpoint, AwsCredentialsProvider credentials) {
        return LambdaClient.builder().endpointOverride(endpoint).region(Region.US_EAST_1).credentialsProvider(credentials)
                .httpClient(UrlConnectionHttpClient.create()).build();
    }

    /**
     * A Lambda client for invocations that may run as long as {@code limit} (a cold start, a slow
     * function): one attempt, since an invocation is not idempotent, waited for up to the limit.
     */
    static LambdaClient patientLambda(URI endpoint, AwsCredentialsProvider credentials, Duration limit) {
        return LambdaClient.builder().endpointOverride(endpoint).region(Region.US_EAST_1).credentialsProvider(credentials)
                .overrideConfiguration(o -> o.retryStrategy(DefaultRetryStrategy.doNotRetry())
                        .apiCallTimeout(limit).apiCallAttemptTimeout(limit))
                .httpClient(UrlConnectionHttpClient.builder().socketTimeout(limit).build()).build();
    }

    /**
     * For the SDK's Lambda waiters against our server: the same wait (up to 300 s) polled every 100 ms
     * instead of AWS's every second (FunctionActiveV2, FunctionUpdatedV2). A function here is Active
     * within moments, so the second between polls was most of each wait.
     */
    static Consumer<WaiterOverrideConfiguration.Builder> promptly() {
        return o -> o.backoffStrategyV2(BackoffStrategy.fixedDelay(Duration.ofMillis(100))).maxAttempts(3000).waitTimeout(Duration.ofSeconds(300));
    }
}
