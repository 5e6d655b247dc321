package io.hyperplane.sigv4;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

class SigV4SignerTest {
    private static final Credential KEY = new Credential("AKIAEXAMPLEEXAMPLE00", "secret/EXAMPLE+key", "123456789012");
    private static final Instant NOW = Instant.parse("2026-11-23T06:40:00Z");
    private final SigV4Verifier verifier = new SigV4Verifier(id -> id.equals(KEY.accessKeyId()) ? Optional.of(KEY) : Optional.empty(),
            Clock.fixed(NOW, ZoneOffset.UTC));

    private static SignedRequest signed(String path, String query, byte[] body, Credential credential) {
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Host", "127.0.0.1:8765");
        headers.put("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
        headers.putAll(SigV4Signer.sign("POST", path, query, headers, body, credential, "us-east-1", "ec2", NOW));
        Map<String, List<String>> all = new LinkedHashMap<>();
        headers.forEach((k, v) -> all.put(k, new ArrayList<>(List.of(v))));
        return new SignedRequest("POST", path, query, all, body);
    }

    @Test
    void shouldProduceSignaturesTheVerifierAccepts() {
        byte[] body = "Action=DescribeSubnets&Version=2016-11-15&Filter.1.Name=vpc-id".getBytes(StandardCharsets.UTF_8);

        Verification v = verifier.verify(signed("/", "a=1&b=two%20words", body, KEY));

        assertThat(v).isInstanceOf(Verification.Authenticated.class);
        assertThat(((Verification.Authenticated) v).service()).isEqualTo("ec2");
    }

    @Test
    void shouldBeRejectedWithTheWrongSecretOrATamperedBody() {
        byte[] body = "Action=DescribeVpcs&Version=2016-11-15".getBytes(StandardCharsets.UTF_8);
        Credential wrong = new Credential(KEY.accessKeyId(), "not-the-secret", KEY.accountId());
        assertThat(verifier.verify(signed("/", null, body, wrong))).isInstanceOfSatisfying(Verification.Rejected.class,
                r -> assertThat(r.failure()).isEqualTo(Failure.SIGNATURE_MISMATCH));

        SignedRequest good = signed("/", null, body, KEY);
        SignedRequest tampered = new SignedRequest(good.method(), good.rawPath(), good.rawQuery(), good.headers(),
                "Action=DeleteVpc&Version=2016-11-15".getBytes(StandardCharsets.UTF_8));
        assertThat(verifier.verify(tampered)).isInstanceOf(Verification.Rejected.class);
    }
}
