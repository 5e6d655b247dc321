package io.hyperplane.sigv4;

import static io.hyperplane.sigv4.SdkSigning.KEY;
import static io.hyperplane.sigv4.SdkSigning.SIGNED_AT;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.utils.http.SdkHttpUtils;

/**
 * Seeded random requests, signed by the SDK for Java v2 as a generated client builds them (path
 * parameters URL-encoded, query parameters as values), must all verify: our canonicalisation is
 * the client's for any path segment, query and header value, not only for the ones we thought of.
 */
@Timeout(30)
class SdkConformanceTest {
    private static final int REQUESTS = 500;
    /** Characters that stress encoding: reserved, unreserved, space, '%', '+', non-ASCII, an emoji. */
    private static final String ALPHABET = "aZ09-_.~ !\"#$%&'()*+,/:;<=>?@[\\]^`{|}éü中\uD83D\uDE00";

    private final Random random = new Random(0x5163_5634L);
    private final SigV4Verifier verifier =
            new SigV4Verifier(new RecordingLookup(KEY), Clock.fixed(SIGNED_AT, ZoneOffset.UTC));

    @Test
    void shouldVerifyEveryRequestTheSdkSigns() {
        for (int i = 0; i < REQUESTS; i++) {
            SignedRequest signed = SdkSigning.sign(randomRequest(), randomBody(), "lambda", "us-east-1");

            assertThat(verifier.verify(signed)).as("request %d: %s", i, signed)
                    .isInstanceOf(Verification.Authenticated.class);
        }
    }

    private SdkHttpRequest randomRequest() {
        StringBuilder path = new StringBuilder();
        for (int segments = random.nextInt(5); segments > 0; segments--) {
            path.append('/').append(SdkHttpUtils.urlEncode(randomText(0, 8)));
        }
        if (path.isEmpty() || random.nextBoolean()) {
            path.append('/');
        }
        SdkHttpRequest.Builder request = SdkSigning.request(
                random.nextBoolean() ? SdkHttpMethod.GET : SdkHttpMethod.POST, "lambda.us-east-1.amazonaws.com",
                path.toString());
        for (int parameters = random.nextInt(5); parameters > 0; parameters--) {
            List<String> values = new ArrayList<>();
            for (int v = 1 + random.nextInt(3); v > 0; v--) {
                values.add(randomText(0, 6));
            }
            request.putRawQueryParameter(randomText(1, 6), values);
        }
        for (int headers = random.nextInt(3); headers > 0; headers--) {
            request.appendHeader("X-Test-" + headers, randomHeaderValue());
        }
        return request.build();
    }

    private String randomText(int minLength, int maxLength) {
        StringBuilder text = new StringBuilder();
        int codePoints = ALPHABET.codePointCount(0, ALPHABET.length());
        for (int n = minLength + random.nextInt(maxLength - minLength + 1); n > 0; n--) {
            text.appendCodePoint(ALPHABET.codePointAt(ALPHABET.offsetByCodePoints(0, random.nextInt(codePoints))));
        }
        return text.toString();
    }

    private String randomHeaderValue() {
        String[] pieces = {"a", "b c", "  ", "\t", "x;y=z", "1,2"};
        StringBuilder value = new StringBuilder();
        for (int n = random.nextInt(5); n > 0; n--) {
            value.append(pieces[random.nextInt(pieces.length)]);
        }
        return value.toString();
    }

    private byte[] randomBody() {
        return random.nextInt(3) == 0 ? null : randomText(0, 20).getBytes(StandardCharsets.UTF_8);
    }
}
