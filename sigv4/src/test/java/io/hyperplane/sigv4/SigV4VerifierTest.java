package io.hyperplane.sigv4;

import static io.hyperplane.sigv4.SdkSigning.KEY;
import static io.hyperplane.sigv4.SdkSigning.SIGNED_AT;
import static io.hyperplane.sigv4.SdkSigning.authorization;
import static io.hyperplane.sigv4.SdkSigning.request;
import static io.hyperplane.sigv4.SdkSigning.sign;
import static io.hyperplane.sigv4.SdkSigning.withAddedHeaderValue;
import static io.hyperplane.sigv4.SdkSigning.withBody;
import static io.hyperplane.sigv4.SdkSigning.withHeader;
import static io.hyperplane.sigv4.SdkSigning.withMethod;
import static io.hyperplane.sigv4.SdkSigning.withPath;
import static io.hyperplane.sigv4.SdkSigning.withQuery;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.identity.spi.AwsSessionCredentialsIdentity;

@Timeout(10)
class SigV4VerifierTest {
    private static final byte[] INVOKE_PAYLOAD = "{\"hello\":\"world\"}".getBytes(StandardCharsets.UTF_8);

    private final RecordingLookup lookup = new RecordingLookup(KEY);
    private final SigV4Verifier verifier = verifierAt(Duration.ZERO);

    private SigV4Verifier verifierAt(Duration afterSigning) {
        return new SigV4Verifier(lookup, Clock.fixed(SIGNED_AT.plus(afterSigning), ZoneOffset.UTC));
    }

    /** A Lambda Invoke as the Lambda client builds it: path parameters encoded, a query with repeats. */
    private static SignedRequest lambdaInvoke() {
        SdkHttpRequest invoke = request(SdkHttpMethod.POST, "lambda.eu-west-1.amazonaws.com",
                "/2015-03-31/functions/my%3Afunction/invocations")
                .putRawQueryParameter("Qualifier", "$LATEST")
                .putRawQueryParameter("tag", List.of("zeta value", "alpha value", "alpha value"))
                .putRawQueryParameter("empty", "")
                .putRawQueryParameter("plus", "1+1=2")
                .putRawQueryParameter("path", "a/b~c")
                .putRawQueryParameter("café", "crème brûlée")
                .putHeader("Content-Type", "application/json")
                .putHeader("X-Amz-Invocation-Type", "  RequestResponse  ")
                .putHeader("X-Amz-Client-Context", "a   b\tc")
                .build();
        return sign(invoke, INVOKE_PAYLOAD, "lambda", "eu-west-1");
    }

    private static Verification rejected(Failure failure, String message) {
        return new Verification.Rejected(failure, message);
    }

    private static Verification mismatch() {
        return rejected(Failure.SIGNATURE_MISMATCH, SigV4Verifier.SIGNATURE_MISMATCH_MESSAGE);
    }

    @Test
    void shouldAuthenticateEc2QueryPostSignedBySdk() {
        SignedRequest describeVpcs = SdkSigning.ec2DescribeVpcs();

        assertThat(verifier.verify(describeVpcs)).isEqualTo(new Verification.Authenticated(KEY, "us-east-1", "ec2"));
        assertThat(lookup.lookedUp).containsExactly(KEY.accessKeyId());
    }

    @Test
    void shouldAuthenticateLambdaCallWithEncodedPathAndRepeatedQueryKeys() {
        SignedRequest invoke = lambdaInvoke();

        // What went on the wire, so the test covers the double encoding of an encoded path.
        assertThat(invoke.rawPath()).isEqualTo("/2015-03-31/functions/my%3Afunction/invocations");
        assertThat(invoke.rawQuery()).contains("tag=zeta%20value", "plus=1%2B1%3D2", "caf%C3%A9=");
        assertThat(verifier.verify(invoke)).isEqualTo(new Verification.Authenticated(KEY, "eu-west-1", "lambda"));
    }

    @Test
    void shouldAuthenticateGetWithoutBody() {
        SignedRequest listFunctions = sign(request(SdkHttpMethod.GET, "lambda.us-east-1.amazonaws.com",
                "/2015-03-31/functions/").putRawQueryParameter("MaxItems", "10").build(), null, "lambda", "us-east-1");

        assertThat(verifier.verify(listFunctions)).isInstanceOf(Verification.Authenticated.class);
    }

    @Test
    void shouldAuthenticateUnsignedPayloadWhateverTheBody() {
        SignedRequest unsigned = sign(request(SdkHttpMethod.POST, "lambda.us-east-1.amazonaws.com",
                        "/2015-03-31/functions/f/invocations").build(), INVOKE_PAYLOAD, "lambda", "us-east-1", KEY,
                signing -> signing.putProperty(AwsV4HttpSigner.PAYLOAD_SIGNING_ENABLED, false));

        assertThat(unsigned.header("x-amz-content-sha256")).containsExactly("UNSIGNED-PAYLOAD");
        assertThat(verifier.verify(unsigned)).isInstanceOf(Verification.Authenticated.class);
        // The client chose to leave the body out of the signature (TLS protects it instead).
        assertThat(verifier.verify(withBody(unsigned, "{}".getBytes(StandardCharsets.UTF_8))))
                .isInstanceOf(Verification.Authenticated.class);
    }

    @Test
    void shouldAuthenticateSessionCredentialsWithSignedSecurityToken() {
        SignedRequest withToken = sign(request(SdkHttpMethod.GET, "ec2.us-east-1.amazonaws.com", "/")
                        .putRawQueryParameter("Action", "DescribeVpcs").build(), null, "ec2", "us-east-1",
                AwsSessionCredentialsIdentity.create(KEY.accessKeyId(), KEY.secretAccessKey(), "session-token-1"),
                signing -> { });

        assertThat(authorization(withToken)).contains("x-amz-security-token");
        assertThat(verifier.verify(withToken)).isInstanceOf(Verification.Authenticated.class);
        assertThat(verifier.verify(withHeader(withToken, "X-Amz-Security-Token", "session-token-2")))
                .isEqualTo(mismatch());
    }

    @Test
    void shouldAuthenticatePathThatTheClientNormalisedBeforeSigning() {
        SignedRequest dotted = sign(request(SdkHttpMethod.GET, "lambda.us-east-1.amazonaws.com",
                "/2015-03-31/./functions//f/x/../configuration").build(), null, "lambda", "us-east-1");

        assertThat(dotted.rawPath()).isEqualTo("/2015-03-31/./functions//f/x/../configuration");
        assertThat(verifier.verify(dotted)).isInstanceOf(Verification.Authenticated.class);
    }

    @Test
    void shouldRejectS3StyleSignatureOverSingleEncodedPath() {
        // S3 clients sign the path as sent, without encoding it again; this verifier is for the others.
        SignedRequest s3Style = sign(request(SdkHttpMethod.GET, "lambda.us-east-1.amazonaws.com",
                        "/2015-03-31/functions/my%3Afunction").build(), null, "lambda", "us-east-1", KEY,
                signing -> signing.putProperty(AwsV4HttpSigner.DOUBLE_URL_ENCODE, false));

        assertThat(verifier.verify(s3Style)).isEqualTo(mismatch());
    }

    @Test
    void shouldAcceptQueryParametersInAnyOrder() {
        SignedRequest invoke = lambdaInvoke();
        List<String> pairs = new ArrayList<>(List.of(invoke.rawQuery().split("&")));
        Collections.reverse(pairs);

        assertThat(verifier.verify(withQuery(invoke, String.join("&", pairs))))
                .isInstanceOf(Verification.Authenticated.class);
    }

    @Test
    void shouldIgnoreHeadersThatWereNotSigned() {
        SignedRequest withUserAgent = withHeader(SdkSigning.ec2DescribeVpcs(), "User-Agent", "aws-cli/2.15.0");

        assertThat(verifier.verify(withUserAgent)).isInstanceOf(Verification.Authenticated.class);
    }

    @Test
    void shouldRejectWrongSecret() {
        Credential impostor = new Credential(KEY.accessKeyId(), "not-the-secret", KEY.accountId());
        SignedRequest forged = sign(request(SdkHttpMethod.POST, "ec2.us-east-1.amazonaws.com", "/").build(),
                "Action=DescribeVpcs&Version=2016-11-15".getBytes(StandardCharsets.UTF_8), "ec2", "us-east-1",
                impostor, signing -> { });

        assertThat(verifier.verify(forged)).isEqualTo(mismatch());
    }

    @Test
    void shouldRejectTamperedBody() {
        SignedRequest tampered = withBody(SdkSigning.ec2DescribeVpcs(),
                "Action=DeleteVpc&VpcId=vpc-1&Version=2016-11-15".getBytes(StandardCharsets.UTF_8));

        assertThat(verifier.verify(tampered))
                .isEqualTo(rejected(Failure.SIGNATURE_MISMATCH, SigV4Verifier.PAYLOAD_HASH_MISMATCH_MESSAGE));
    }

    @Test
    void shouldRejectTamperedBodyHashHeader() {
        SignedRequest tampered = withHeader(SdkSigning.ec2DescribeVpcs(), "x-amz-content-sha256", "UNSIGNED-PAYLOAD");

        assertThat(verifier.verify(tampered)).isEqualTo(mismatch());
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "/2015-03-31/functions/my%3Afunctio/invocations",
        "/2015-03-31/functions/my:function/invocations",
        "/2015-03-31/functions/my%253Afunction/invocations",
        "/2015-03-31/functions/my%3Afunction/invocations/",
    })
    void shouldRejectTamperedPath(String rawPath) {
        assertThat(verifier.verify(withPath(lambdaInvoke(), rawPath))).isEqualTo(mismatch());
    }

    @Test
    void shouldRejectTamperedQuery() {
        SignedRequest invoke = lambdaInvoke();

        assertThat(verifier.verify(withQuery(invoke, invoke.rawQuery().replace("%24LATEST", "1"))))
                .isEqualTo(mismatch());
        assertThat(verifier.verify(withQuery(invoke, invoke.rawQuery() + "&extra=1"))).isEqualTo(mismatch());
        assertThat(verifier.verify(withQuery(invoke, invoke.rawQuery().replace("&tag=alpha%20value", ""))))
                .isEqualTo(mismatch());
        assertThat(verifier.verify(withQuery(invoke, null))).isEqualTo(mismatch());
    }

    @Test
    void shouldRejectTamperedSignedHeader() {
        SignedRequest invoke = lambdaInvoke();

        assertThat(verifier.verify(withHeader(invoke, "X-Amz-Invocation-Type", "Event"))).isEqualTo(mismatch());
        assertThat(verifier.verify(withHeader(invoke, "Host", "lambda.us-east-2.amazonaws.com"))).isEqualTo(mismatch());
        assertThat(verifier.verify(withAddedHeaderValue(invoke, "Content-Type", "text/plain"))).isEqualTo(mismatch());
        assertThat(verifier.verify(withHeader(invoke, "Content-Type"))).isEqualTo(mismatch());
    }

    @Test
    void shouldAcceptSignedHeaderWithOtherWhitespace() {
        // Canonical values are trimmed and collapsed, so a proxy that re-spaces a header breaks nothing.
        SignedRequest invoke = lambdaInvoke();

        assertThat(verifier.verify(withHeader(invoke, "X-Amz-Client-Context", "a b    c ")))
                .isInstanceOf(Verification.Authenticated.class);
    }

    @Test
    void shouldRejectTamperedMethod() {
        assertThat(verifier.verify(withMethod(SdkSigning.ec2DescribeVpcs(), "PUT"))).isEqualTo(mismatch());
    }

    @Test
    void shouldRejectUnknownAccessKey() {
        Credential stranger = new Credential("AKIASTRANGER00000001", KEY.secretAccessKey(), "210987654321");
        SignedRequest request = sign(request(SdkHttpMethod.GET, "ec2.us-east-1.amazonaws.com", "/").build(), null,
                "ec2", "us-east-1", stranger, signing -> { });

        assertThat(verifier.verify(request))
                .isEqualTo(rejected(Failure.UNKNOWN_ACCESS_KEY, "The security token included in the request is invalid."));
        assertThat(lookup.lookedUp).containsExactly("AKIASTRANGER00000001");
    }

    @Test
    void shouldNotLookUpImplausibleAccessKeyIds() {
        SignedRequest describeVpcs = SdkSigning.ec2DescribeVpcs();
        String header = authorization(describeVpcs).replace(KEY.accessKeyId(), "AKIA' OR '1'='1");

        assertThat(verifier.verify(withHeader(describeVpcs, "Authorization", header)))
                .isEqualTo(rejected(Failure.UNKNOWN_ACCESS_KEY, SigV4Verifier.UNKNOWN_ACCESS_KEY_MESSAGE));
        assertThat(lookup.lookedUp).isEmpty();
    }

    @Test
    void shouldRejectMissingAuthorization() {
        SignedRequest anonymous = withHeader(SdkSigning.ec2DescribeVpcs(), "Authorization");

        assertThat(verifier.verify(anonymous))
                .isEqualTo(rejected(Failure.MISSING_AUTHENTICATION, "Request is missing Authentication Token"));
    }

    @Test
    void shouldRejectMissingDateNamingEverythingMissing() {
        SignedRequest undated = withHeader(withHeader(SdkSigning.ec2DescribeVpcs(), "X-Amz-Date"),
                "Authorization", "AWS4-HMAC-SHA256 SignedHeaders=host");

        assertThat(verifier.verify(undated)).isEqualTo(rejected(Failure.INCOMPLETE_SIGNATURE,
                "Authorization header requires 'Credential' parameter."
                        + " Authorization header requires 'Signature' parameter."
                        + " Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                        + " Authorization=AWS4-HMAC-SHA256 SignedHeaders=host"));
    }

    @Test
    void shouldRejectMalformedDate() {
        SignedRequest misdated = withHeader(SdkSigning.ec2DescribeVpcs(), "X-Amz-Date", "2024-05-01T12:00:00Z");

        assertThat(verifier.verify(misdated)).isEqualTo(rejected(Failure.INCOMPLETE_SIGNATURE,
                "Date must be in ISO-8601 'basic format'. Got '2024-05-01T12:00:00Z'."
                        + " See http://en.wikipedia.org/wiki/ISO_8601"));
    }

    @Test
    void shouldRejectOtherAlgorithms() {
        SignedRequest sigV4a = withHeader(SdkSigning.ec2DescribeVpcs(), "Authorization",
                authorization(SdkSigning.ec2DescribeVpcs()).replace("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256"));

        assertThat(verifier.verify(sigV4a)).isEqualTo(rejected(Failure.INCOMPLETE_SIGNATURE,
                "Unsupported AWS 'algorithm': 'AWS4-ECDSA-P256-SHA256' (only AWS4-HMAC-SHA256 for now)."));
    }

    @Test
    void shouldRejectTwoAuthorizationHeaders() {
        SignedRequest describeVpcs = SdkSigning.ec2DescribeVpcs();
        SignedRequest twice = withAddedHeaderValue(describeVpcs, "authorization", authorization(describeVpcs));

        assertThat(verifier.verify(twice)).extracting(v -> ((Verification.Rejected) v).failure())
                .isEqualTo(Failure.INCOMPLETE_SIGNATURE);
    }

    @Test
    void shouldRejectRepeatedSignatureParameter() {
        SignedRequest describeVpcs = SdkSigning.ec2DescribeVpcs();
        String twice = authorization(describeVpcs) + ", Signature=" + "0".repeat(64);

        assertThat(verifier.verify(withHeader(describeVpcs, "Authorization", twice))).isEqualTo(rejected(
                Failure.INCOMPLETE_SIGNATURE, "Authorization header has more than one 'Signature' parameter."));
    }

    @Test
    void shouldRejectUnsignedHost() {
        SignedRequest describeVpcs = SdkSigning.ec2DescribeVpcs();
        String header = authorization(describeVpcs).replace("host;", "");

        assertThat(verifier.verify(withHeader(describeVpcs, "Authorization", header))).isEqualTo(rejected(
                Failure.SIGNATURE_MISMATCH, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."));
    }

    @Test
    void shouldRejectScopeDateThatIsNotTheRequestDate() {
        SignedRequest describeVpcs = SdkSigning.ec2DescribeVpcs();
        String header = authorization(describeVpcs).replace("/20240501/", "/20240430/");

        assertThat(verifier.verify(withHeader(describeVpcs, "Authorization", header))).isEqualTo(rejected(
                Failure.SIGNATURE_MISMATCH, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version"
                        + " of date from HTTP: '20240430' != '20240501', from '20240501T120000Z'."));
    }

    @Test
    void shouldRejectScopeForAnotherRegionOrService() {
        SignedRequest describeVpcs = SdkSigning.ec2DescribeVpcs();

        assertThat(verifier.verify(withHeader(describeVpcs, "Authorization",
                authorization(describeVpcs).replace("/us-east-1/", "/us-west-2/")))).isEqualTo(mismatch());
        assertThat(verifier.verify(withHeader(describeVpcs, "Authorization",
                authorization(describeVpcs).replace("/ec2/", "/lambda/")))).isEqualTo(mismatch());
    }

    @Test
    void shouldRejectChunkedPayloadSigning() {
        SignedRequest streaming = withHeader(SdkSigning.ec2DescribeVpcs(), "x-amz-content-sha256",
                "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");

        assertThat(verifier.verify(streaming)).isEqualTo(rejected(Failure.INCOMPLETE_SIGNATURE,
                "x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a valid sha256 value."));
    }

    @ParameterizedTest
    @ValueSource(ints = {-14, -15, 14, 15})
    void shouldAcceptClockSkewUpToFifteenMinutes(int minutes) {
        assertThat(verifierAt(Duration.ofMinutes(minutes)).verify(SdkSigning.ec2DescribeVpcs()))
                .isInstanceOf(Verification.Authenticated.class);
    }

    @Test
    void shouldRejectRequestSignedSixteenMinutesAgo() {
        assertThat(verifierAt(Duration.ofMinutes(16)).verify(SdkSigning.ec2DescribeVpcs()))
                .isEqualTo(rejected(Failure.EXPIRED, "Signature expired: 20240501T120000Z is now earlier than"
                        + " 20240501T120100Z (20240501T121600Z - 15 min.)"));
    }

    @Test
    void shouldRejectRequestSignedSixteenMinutesAhead() {
        assertThat(verifierAt(Duration.ofMinutes(-16)).verify(SdkSigning.ec2DescribeVpcs()))
                .isEqualTo(rejected(Failure.EXPIRED, "Signature not yet current: 20240501T120000Z is still later than"
                        + " 20240501T115900Z (20240501T114400Z + 15 min.)"));
    }

    @Test
    void shouldRejectExpiredRequestWithoutLookingUpItsKey() {
        verifierAt(Duration.ofHours(1)).verify(SdkSigning.ec2DescribeVpcs());

        assertThat(lookup.lookedUp).isEmpty();
    }
}
