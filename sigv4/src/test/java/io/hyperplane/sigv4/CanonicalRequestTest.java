package io.hyperplane.sigv4;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@Timeout(10)
class CanonicalRequestTest {

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
        "''                          | /",
        "/                           | /",
        "/a/./b//c/../d              | /a/b/d",
        "/a/b/                       | /a/b/",
        "/a/.                        | /a",
        "/a/b/..                     | /a",
        "/..                         | /",
        "//                          | /",
        "/functions/my%3Afunction    | /functions/my%253Afunction",
        "/functions/my:function      | /functions/my%3Afunction",
        "/a b/~user/-_.              | /a%20b/~user/-_.",
        "/ü                          | /%C3%BC",
        "/%2E%2E/x                   | /%252E%252E/x",
    })
    void shouldNormaliseThenEncodeThePathOnceMore(String rawPath, String canonical) {
        assertThat(CanonicalRequest.canonicalUri(rawPath)).isEqualTo(canonical);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', nullValues = "NULL", value = {
        "NULL                        | ''",
        "''                          | ''",
        "b=2&a=1&a=0                 | a=0&a=1&b=2",
        "acl                         | acl=",
        "x=%7e&y=~&z=%7E             | x=~&y=~&z=~",
        "p=1+1                       | p=1%2B1",
        "q=a%20b&r=%3a%2F            | q=a%20b&r=%3A%2F",
        "bad=%zz&t=%4                | bad=%25zz&t=%254",
        "=x&&a=                      | a=",
        "a=2&a%20b=1                 | a=2&a%20b=1",
        "B=1&a=1                     | B=1&a=1",
        "k=caf%C3%A9&k=café          | k=caf%C3%A9&k=caf%C3%A9",
        "x=a=b                       | x=a%3Db",
    })
    void shouldCanonicaliseQuery(String rawQuery, String canonical) {
        assertThat(CanonicalRequest.canonicalQuery(rawQuery)).isEqualTo(canonical);
    }

    @Test
    void shouldTrimAndCollapseHeaderValues() {
        assertThat(CanonicalRequest.canonicalHeaderValue(List.of("  a   b  "))).isEqualTo("a b");
        assertThat(CanonicalRequest.canonicalHeaderValue(List.of("a\t\r\n\u000b\fb"))).isEqualTo("a b");
        assertThat(CanonicalRequest.canonicalHeaderValue(List.of("a", " b ", ""))).isEqualTo("a,b,");
        assertThat(CanonicalRequest.canonicalHeaderValue(List.of("   "))).isEmpty();
    }

    @Test
    void shouldJoinTheSixPartsWithNewlines() {
        assertThat(CanonicalRequest.of("GET", "/", "", "host:example.amazonaws.com\n", "host", "UNSIGNED-PAYLOAD"))
                .isEqualTo("GET\n/\n\nhost:example.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD");
    }
}
