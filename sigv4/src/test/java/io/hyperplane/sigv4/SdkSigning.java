package io.hyperplane.sigv4;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignRequest;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;

/**
 * Signs requests with the real AWS SDK for Java v2 signer, as a generated client would, and turns
 * the result into what our HTTP layer would hand the verifier: the path and query exactly as they
 * go on the wire, every header, the body.
 */
final class SdkSigning {
    static final Instant SIGNED_AT = Instant.parse("2024-05-01T12:00:00Z");
    static final Credential KEY =
            new Credential("AKIAHYPERPLANE000001", "hYp3rPlane/Test+Secret/0123456789ABCDEFGHIJ", "123456789012");

    private static final AwsV4HttpSigner SIGNER = AwsV4HttpSigner.create();

    private SdkSigning() {
    }

    static SdkHttpRequest.Builder request(SdkHttpMethod method, String host, String encodedPath) {
        return SdkHttpRequest.builder().method(method).protocol("https").host(host).encodedPath(encodedPath);
    }

    /** An EC2 Query API call as the EC2 client sends it: a form POST to /. */
    static SignedRequest ec2DescribeVpcs() {
        return sign(request(SdkHttpMethod.POST, "ec2.us-east-1.amazonaws.com", "/")
                        .putHeader("Content-Type", "application/x-www-form-urlencoded; charset=utf-8").build(),
                "Action=DescribeVpcs&Version=2016-11-15".getBytes(StandardCharsets.UTF_8),
                "ec2", "us-east-1");
    }

    static SignedRequest sign(SdkHttpRequest request, byte[] body, String service, String region) {
        return sign(request, body, service, region, KEY, signing -> { });
    }

    /**
     * Signs with {@code credential}'s secret at {@link #SIGNED_AT}; {@code body} null for a request
     * without one. {@code properties} may set further signer properties.
     */
    static SignedRequest sign(SdkHttpRequest request, byte[] body, String service, String region, Credential credential,
                              Consumer<SignRequest.Builder<AwsCredentialsIdentity>> properties) {
        return sign(request, body, service, region,
                AwsCredentialsIdentity.create(credential.accessKeyId(), credential.secretAccessKey()), properties);
    }

    static SignedRequest sign(SdkHttpRequest request, byte[] body, String service, String region,
                              AwsCredentialsIdentity identity,
                              Consumer<SignRequest.Builder<AwsCredentialsIdentity>> properties) {
        SignRequest.Builder<AwsCredentialsIdentity> signing = SignRequest.builder(identity)
                .request(request)
                .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, service)
                .putProperty(AwsV4HttpSigner.REGION_NAME, region)
                .putProperty(AwsV4HttpSigner.SIGNING_CLOCK, Clock.fixed(SIGNED_AT, ZoneOffset.UTC));
        if (body != null) {
            signing.payload(ContentStreamProvider.fromByteArray(body));
        }
        properties.accept(signing);
        SdkHttpRequest signed = SIGNER.sign(signing.build()).request();
        return new SignedRequest(signed.method().name(), signed.getUri().getRawPath(), signed.getUri().getRawQuery(),
                signed.headers(), body == null ? new byte[0] : body);
    }

    static SignedRequest withHeader(SignedRequest request, String name, String... values) {
        Map<String, List<String>> headers = new LinkedHashMap<>(request.headers());
        headers.remove(name);
        if (values.length > 0) {
            headers.put(name, List.of(values));
        }
        return new SignedRequest(request.method(), request.rawPath(), request.rawQuery(), headers, request.body());
    }

    static SignedRequest withAddedHeaderValue(SignedRequest request, String name, String value) {
        List<String> values = new ArrayList<>(request.header(name));
        values.add(value);
        return withHeader(request, name, values.toArray(String[]::new));
    }

    static SignedRequest withMethod(SignedRequest request, String method) {
        return new SignedRequest(method, request.rawPath(), request.rawQuery(), request.headers(), request.body());
    }

    static SignedRequest withPath(SignedRequest request, String rawPath) {
        return new SignedRequest(request.method(), rawPath, request.rawQuery(), request.headers(), request.body());
    }

    static SignedRequest withQuery(SignedRequest request, String rawQuery) {
        return new SignedRequest(request.method(), request.rawPath(), rawQuery, request.headers(), request.body());
    }

    static SignedRequest withBody(SignedRequest request, byte[] body) {
        return new SignedRequest(request.method(), request.rawPath(), request.rawQuery(), request.headers(), body);
    }

    static String authorization(SignedRequest request) {
        return request.header("Authorization").getFirst();
    }
}
