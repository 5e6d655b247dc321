package io.hyperplane.sigv4;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class ValuesTest {

    @Test
    void shouldMatchHeaderNamesCaseInsensitivelyAndMergeTheirValues() {
        Map<String, List<String>> headers = new LinkedHashMap<>();
        headers.put("X-Amz-Date", List.of("20240501T120000Z"));
        headers.put("x-amz-meta", List.of("a"));
        headers.put("X-AMZ-META", List.of("b", "c"));

        SignedRequest request = new SignedRequest("GET", "/", null, headers, new byte[0]);

        assertThat(request.header("x-amz-date")).containsExactly("20240501T120000Z");
        assertThat(request.header("X-Amz-Meta")).containsExactly("a", "b", "c");
        assertThat(request.header("Authorization")).isEmpty();
    }

    @Test
    void shouldRejectIncompleteRequestsNamingTheCheck() {
        Map<String, List<String>> nullValue = new LinkedHashMap<>();
        nullValue.put("Host", Arrays.asList("a", null));

        assertThatThrownBy(() -> new SignedRequest("", "/", null, Map.of(), new byte[0]))
                .hasMessage("method must not be empty");
        assertThatThrownBy(() -> new SignedRequest("GET", null, null, Map.of(), new byte[0]))
                .hasMessageStartingWith("rawPath must not be null");
        assertThatThrownBy(() -> new SignedRequest("GET", "/", null, Map.of(), null))
                .hasMessageStartingWith("body must not be null");
        assertThatThrownBy(() -> new SignedRequest("GET", "/", null, nullValue, new byte[0]))
                .hasMessage("header Host: a value is null");
    }

    @Test
    void shouldKeepTheSecretOutOfToString() {
        Credential credential = new Credential("AKIAEXAMPLE", "very-secret", "123456789012");

        assertThat(credential.toString()).doesNotContain("very-secret").contains("AKIAEXAMPLE", "123456789012");
    }

    @Test
    void shouldRejectIncompleteCredentialsNamingTheCheck() {
        assertThatThrownBy(() -> new Credential(" ", "s", "1")).hasMessage("accessKeyId must not be blank");
        assertThatThrownBy(() -> new Credential("AKIA", "", "1"))
                .hasMessage("access key AKIA: secretAccessKey must not be empty");
        assertThatThrownBy(() -> new Verification.Rejected(Failure.EXPIRED, ""))
                .hasMessage("EXPIRED: message must not be empty");
    }
}
