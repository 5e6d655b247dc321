package io.hyperplane.worker;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CodeCacheTest {
    private static byte[] bytes(String s, int size) {
        byte[] b = new byte[size];
        byte[] text = s.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(text, 0, b, 0, Math.min(text.length, size));
        return b;
    }

    @Test
    void shouldFetchOnceAndServeVerifiedBytesAfterwards() throws Exception {
        CodeCache cache = new CodeCache(1024);
        byte[] code = bytes("function a", 100);
        AtomicInteger fetches = new AtomicInteger();
        String sha = CodeCache.sha256(code);
        assertThat(cache.get(sha, () -> { fetches.incrementAndGet(); return code; })).isEqualTo(code);
        assertThat(cache.get(sha, () -> { fetches.incrementAndGet(); return code; })).isEqualTo(code);
        assertThat(fetches).hasValue(1);
    }

    @Test
    void shouldRefuseBytesWhoseDigestIsNotTheOneNamedAndCacheNothing() {
        CodeCache cache = new CodeCache(1024);
        byte[] claimed = bytes("what the invocation names", 100);
        byte[] other = bytes("what arrived instead", 100);
        assertThatThrownBy(() -> cache.get(CodeCache.sha256(claimed), () -> other))
                .isInstanceOf(CodeCache.CodeMismatchException.class).hasMessageContaining(CodeCache.sha256(other));
        assertThat(cache.size()).isZero();
    }

    @Test
    void shouldStayWithinItsBytesDroppingTheLeastRecentlyUsed() throws Exception {
        CodeCache cache = new CodeCache(300);
        byte[] a = bytes("a", 100);
        byte[] b = bytes("b", 100);
        byte[] c = bytes("c", 100);
        byte[] d = bytes("d", 100);
        for (byte[] code : new byte[][] {a, b, c}) {
            cache.get(CodeCache.sha256(code), () -> code);
        }
        cache.get(CodeCache.sha256(a), () -> { throw new AssertionError("a is cached"); }); // a is now the most recent
        cache.get(CodeCache.sha256(d), () -> d);
        assertThat(cache.bytes()).isEqualTo(300);
        AtomicInteger refetched = new AtomicInteger();
        cache.get(CodeCache.sha256(b), () -> { refetched.incrementAndGet(); return b; });
        assertThat(refetched).as("b was the least recently used").hasValue(1);
        cache.get(CodeCache.sha256(a), () -> { throw new AssertionError("a is still cached"); });
        assertThat(cache.bytes()).isLessThanOrEqualTo(300);
    }

    @Test
    void shouldNotCacheCodeLargerThanItsWholeRoom() throws Exception {
        CodeCache cache = new CodeCache(50);
        byte[] big = bytes("big", 100);
        assertThat(cache.get(CodeCache.sha256(big), () -> big)).isEqualTo(big);
        assertThat(cache.size()).isZero();
    }
}
