package io.hyperplane.sigv4;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Requests and signatures published in AWS's SigV4 test suites (aws-sig-v4-test-suite, 2015; and
 * its 2011 predecessor, which dates requests with the HTTP Date header). Each expected signature was
 * also recomputed from the suite's canonical request by an independent implementation.
 */
@Timeout(10)
class AwsSigV4TestSuiteTest {
    private static final Credential EXAMPLE =
            new Credential("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "111122223333");
    private static final String SCOPE_2015 = "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request";

    private final SigV4Verifier at2015 = new SigV4Verifier(new RecordingLookup(EXAMPLE),
            Clock.fixed(Instant.parse("2015-08-30T12:36:00Z"), ZoneOffset.UTC));

    private static SignedRequest vanilla2015(String method, String rawQuery, String signature, byte[] body) {
        return new SignedRequest(method, "/", rawQuery, Map.of(
                "Host", List.of("example.amazonaws.com"),
                "X-Amz-Date", List.of("20150830T123600Z"),
                "Authorization", List.of("AWS4-HMAC-SHA256 Credential=" + SCOPE_2015
                        + ", SignedHeaders=host;x-amz-date, Signature=" + signature)), body);
    }

    @Test
    void shouldVerifyGetVanilla() {
        SignedRequest getVanilla = vanilla2015("GET", null,
                "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", new byte[0]);

        assertThat(at2015.verify(getVanilla)).isEqualTo(new Verification.Authenticated(EXAMPLE, "us-east-1", "service"));
    }

    @Test
    void shouldVerifyGetVanillaQueryOrderKeyCase() {
        SignedRequest queryOrder = vanilla2015("GET", "Param2=value2&Param1=value1",
                "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500", new byte[0]);

        assertThat(at2015.verify(queryOrder)).isInstanceOf(Verification.Authenticated.class);
    }

    @Test
    void shouldVerifyPostVanillaByHashingTheEmptyBody() {
        String signature = "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b";

        assertThat(at2015.verify(vanilla2015("POST", null, signature, new byte[0])))
                .isInstanceOf(Verification.Authenticated.class);
        // No x-amz-content-sha256 here: the body's own hash is what was signed.
        assertThat(at2015.verify(vanilla2015("POST", null, signature, "x".getBytes(StandardCharsets.UTF_8))))
                .extracting(v -> ((Verification.Rejected) v).failure()).isEqualTo(Failure.SIGNATURE_MISMATCH);
    }

    @Test
    void shouldVerifyRequestDatedByHttpDateHeader() {
        SigV4Verifier at2011 = new SigV4Verifier(new RecordingLookup(EXAMPLE),
                Clock.fixed(Instant.parse("2011-09-09T23:36:00Z"), ZoneOffset.UTC));
        SignedRequest getVanilla2011 = new SignedRequest("GET", "/", null, Map.of(
                "Host", List.of("host.foo.com"),
                "Date", List.of("Mon, 09 Sep 2011 23:36:00 GMT"),
                "Authorization", List.of("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request,"
                        + " SignedHeaders=date;host,"
                        + " Signature=b27ccfbfa7df52a200ff74193ca6e32d4b48b8856fab7ebf1c595d0670a7e470")), new byte[0]);

        assertThat(at2011.verify(getVanilla2011)).isEqualTo(new Verification.Authenticated(EXAMPLE, "us-east-1", "host"));
    }
}
