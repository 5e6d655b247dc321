package io.hyperplane.sigv4;

import static io.hyperplane.sigv4.SdkSigning.KEY;
import static io.hyperplane.sigv4.SdkSigning.SIGNED_AT;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Requests exactly as botocore 1.43.11 (the AWS CLI's signer) put them on the wire, captured from
 * its Lambda and EC2 clients' before-send event with the clock fixed at {@link SdkSigning#SIGNED_AT}
 * and {@link SdkSigning#KEY}'s secret. botocore signs {@code host} from the URL and lets urllib3 add
 * the header, so Host is added here; it sends no x-amz-content-sha256 outside S3, so these
 * requests also cover hashing the body ourselves.
 */
@Timeout(10)
class BotocoreConformanceTest {
    private static final String USER_AGENT = "Botocore/1.43.11 ua/2.1 os/linux md/arch#x86_64 lang/python#3.11.7";
    private static final String SCOPE = "AWS4-HMAC-SHA256 Credential=AKIAHYPERPLANE000001/20240501/";

    private final SigV4Verifier verifier =
            new SigV4Verifier(new RecordingLookup(KEY), Clock.fixed(SIGNED_AT, ZoneOffset.UTC));

    private static SignedRequest captured(String method, String host, String rawPath, String rawQuery,
                                          Map<String, String> signedHeaders, String authorization, String body) {
        Map<String, List<String>> headers = new HashMap<>();
        signedHeaders.forEach((name, value) -> headers.put(name, List.of(value)));
        headers.put("Host", List.of(host));
        headers.put("X-Amz-Date", List.of("20240501T120000Z"));
        headers.put("User-Agent", List.of(USER_AGENT));
        headers.put("amz-sdk-request", List.of("attempt=1"));
        headers.put("Authorization", List.of(SCOPE + authorization));
        return new SignedRequest(method, rawPath, rawQuery, headers, body.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void shouldVerifyEc2DescribeVpcsFormPost() {
        SignedRequest describeVpcs = captured("POST", "ec2.us-east-1.amazonaws.com", "/", null,
                Map.of("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
                "us-east-1/ec2/aws4_request, SignedHeaders=content-type;host;x-amz-date,"
                        + " Signature=99d8b76b9b3e37dc0b0abbece30f70ec8cb719962d7cfbbc2cabfd06abb0b86b",
                "Action=DescribeVpcs&Version=2016-11-15&Filter.1.Name=tag%3AName&Filter.1.Value.1=a+b"
                        + "&Filter.1.Value.2=%C3%BC%2B%26%3D");

        assertThat(verifier.verify(describeVpcs)).isEqualTo(new Verification.Authenticated(KEY, "us-east-1", "ec2"));
    }

    @Test
    void shouldVerifyLambdaInvokeWithEncodedFunctionName() {
        SignedRequest invoke = captured("POST", "lambda.eu-west-1.amazonaws.com",
                "/2015-03-31/functions/my%3Afunction/invocations", "Qualifier=%24LATEST",
                Map.of("X-Amz-Client-Context", "eyJhIjoxfQ=="),
                "eu-west-1/lambda/aws4_request, SignedHeaders=host;x-amz-client-context;x-amz-date,"
                        + " Signature=56bd5de0cc4bb409b219868e146b5c50e87bd2705121a2fe898cdd2bcc5bbfde",
                "{\"hello\":\"world\"}");

        assertThat(verifier.verify(invoke)).isEqualTo(new Verification.Authenticated(KEY, "eu-west-1", "lambda"));
        assertThat(verifier.verify(SdkSigning.withBody(invoke, "{}".getBytes(StandardCharsets.UTF_8))))
                .extracting(v -> ((Verification.Rejected) v).failure()).isEqualTo(Failure.SIGNATURE_MISMATCH);
    }

    @Test
    void shouldVerifyLambdaListFunctionsWithEncodedMarker() {
        SignedRequest listFunctions = captured("GET", "lambda.us-east-1.amazonaws.com", "/2015-03-31/functions",
                "Marker=a%20b%2Bc%2Fd~%C3%A9&MaxItems=10", Map.of(),
                "us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date,"
                        + " Signature=41c04de159c919dd535a6021921f8b83b0188524967f1affcb5b7f05eb37f9ab", "");

        assertThat(verifier.verify(listFunctions)).isInstanceOf(Verification.Authenticated.class);
    }

    @Test
    void shouldVerifyLambdaListLayerVersionsWithSpaceInPath() {
        SignedRequest listLayerVersions = captured("GET", "lambda.us-east-1.amazonaws.com",
                "/2018-10-31/layers/my%20layer/versions", "CompatibleRuntime=python3.12&Marker=x%2Ay", Map.of(),
                "us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date,"
                        + " Signature=dd20d012de8537e1cf82078b24b9b34de90e771f18487a2de17ab07b81197b96", "");

        assertThat(verifier.verify(listLayerVersions)).isInstanceOf(Verification.Authenticated.class);
    }

    @Test
    void shouldVerifyLambdaGetFunctionByArn() {
        SignedRequest getFunction = captured("GET", "lambda.us-east-1.amazonaws.com",
                "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af", null, Map.of(),
                "us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date,"
                        + " Signature=f5b8f27318d96d2b661e932305ba0898810e30b40a8a5473a0c2fd90c591475b", "");

        assertThat(verifier.verify(getFunction)).isInstanceOf(Verification.Authenticated.class);
    }
}
