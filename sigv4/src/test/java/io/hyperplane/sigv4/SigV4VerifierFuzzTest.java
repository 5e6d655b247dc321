package io.hyperplane.sigv4;

import static io.hyperplane.sigv4.SdkSigning.KEY;
import static io.hyperplane.sigv4.SdkSigning.SIGNED_AT;
import static io.hyperplane.sigv4.SdkSigning.authorization;
import static io.hyperplane.sigv4.SdkSigning.withHeader;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.ZoneOffset;
import java.util.EnumSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Seeded garbage must only ever be refused, never throw: what reaches the verifier is whatever a
 * client chose to send. A mutation may leave the header meaning the same (a space after a comma),
 * so an authenticated result is allowed only while the real signature is still in the header.
 */
@Timeout(60)
class SigV4VerifierFuzzTest {
    private static final int MUTATIONS = 10_000;
    /** Characters that matter to the parser, plus ones that trip up encoders (NUL, a lone surrogate). */
    private static final String ALPHABET = "AWS4-HMAC-SHA256 Credential=SignedHeaders;Signature,/ =;,\t\u0000%é\uD800\uFFFF0af";
    private static final String[] TOKENS = {
        "AWS4-HMAC-SHA256", " ", ",", ", ", "=", "/", ";", "Credential=", "SignedHeaders=", "Signature=",
        KEY.accessKeyId(), "20240501", "us-east-1", "ec2", "aws4_request", "host", "x-amz-date", "\t", "\u0000",
        "%", "é", "\uD800", "0123456789abcdef",
    };
    /** Refusals garbage in the Authorization header can earn: a mangled key id is simply unknown. */
    private static final Set<Failure> AUTHORIZATION_FAILURES =
            EnumSet.of(Failure.INCOMPLETE_SIGNATURE, Failure.SIGNATURE_MISMATCH, Failure.UNKNOWN_ACCESS_KEY);

    private final Random random = new Random(20240501L);
    private final SigV4Verifier verifier =
            new SigV4Verifier(new RecordingLookup(KEY), Clock.fixed(SIGNED_AT, ZoneOffset.UTC));
    private final SignedRequest original = SdkSigning.ec2DescribeVpcs();
    private final String header = authorization(original);
    private final String signature = header.substring(header.indexOf("Signature=") + "Signature=".length());

    @Test
    void shouldOnlyRefuseMutatedAuthorizationHeaders() {
        int refused = 0;
        for (int i = 0; i < MUTATIONS; i++) {
            String mutated = mutate(header, 1 + random.nextInt(4));

            Verification verification = verifier.verify(withHeader(original, "Authorization", mutated));

            if (verification instanceof Verification.Rejected rejected) {
                assertThat(rejected.failure()).as(mutated).isIn(AUTHORIZATION_FAILURES);
                refused++;
            } else {
                assertThat(mutated).as("authenticated without the signature").contains(signature);
            }
        }
        assertThat(refused).isGreaterThan(MUTATIONS * 9 / 10);
    }

    @Test
    void shouldOnlyRefuseAuthorizationHeadersMadeOfTokens() {
        for (int i = 0; i < MUTATIONS; i++) {
            StringBuilder garbage = new StringBuilder();
            for (int n = random.nextInt(12); n > 0; n--) {
                garbage.append(TOKENS[random.nextInt(TOKENS.length)]);
            }

            Verification verification = verifier.verify(withHeader(original, "Authorization", garbage.toString()));

            assertThat(verification).as(garbage.toString()).isInstanceOf(Verification.Rejected.class);
            assertThat(((Verification.Rejected) verification).failure()).isIn(AUTHORIZATION_FAILURES);
        }
    }

    @Test
    void shouldNeverThrowOnMutatedDatePathQueryOrPayloadHash() {
        for (int i = 0; i < MUTATIONS; i++) {
            SignedRequest mutated = switch (random.nextInt(5)) {
                case 0 -> withHeader(original, "X-Amz-Date", mutate("20240501T120000Z", 1 + random.nextInt(3)));
                case 1 -> withHeader(withHeader(original, "X-Amz-Date"), "Date",
                        mutate("Wed, 01 May 2024 12:00:00 GMT", 1 + random.nextInt(3)));
                case 2 -> SdkSigning.withPath(original, mutate("/2015-03-31/functions/f%3Ag/invocations", 2));
                case 3 -> SdkSigning.withQuery(original, mutate("Action=DescribeVpcs&Filter.1.Name=vpc-id", 2));
                default -> withHeader(original, "x-amz-content-sha256",
                        mutate(original.header("x-amz-content-sha256").getFirst(), 1));
            };

            Verification verification = verifier.verify(mutated);

            if (verification instanceof Verification.Rejected rejected) {
                assertThat(rejected.failure()).isNotEqualTo(Failure.MISSING_AUTHENTICATION);
            }
        }
    }

    private String mutate(String text, int times) {
        StringBuilder mutated = new StringBuilder(text);
        for (int t = 0; t < times; t++) {
            int at = mutated.isEmpty() ? 0 : random.nextInt(mutated.length());
            int end = Math.min(mutated.length(), at + 1 + random.nextInt(8));
            switch (random.nextInt(6)) {
                case 0 -> {
                    if (!mutated.isEmpty()) {
                        mutated.setCharAt(at, randomChar());
                    }
                }
                case 1 -> mutated.delete(at, end);
                case 2 -> mutated.insert(at, randomChar());
                case 3 -> mutated.insert(at, mutated.substring(at, end));
                case 4 -> mutated.setLength(at);
                default -> mutated.insert(at, TOKENS[random.nextInt(TOKENS.length)]);
            }
        }
        return mutated.toString();
    }

    private char randomChar() {
        return random.nextInt(4) == 0 ? (char) random.nextInt(Character.MAX_VALUE + 1)
                : ALPHABET.charAt(random.nextInt(ALPHABET.length()));
    }
}
