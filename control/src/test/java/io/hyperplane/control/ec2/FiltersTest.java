package io.hyperplane.control.ec2;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.Random;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

class FiltersTest {
    @Test
    void shouldMatchStarsAndQuestionMarksAsEc2Does() {
        assertThat(Filters.globMatches("vpc-*", "vpc-0a1b")).isTrue();
        assertThat(Filters.globMatches("10.0.?.0/24", "10.0.1.0/24")).isTrue();
        assertThat(Filters.globMatches("10.0.?.0/24", "10.0.12.0/24")).isFalse();
        assertThat(Filters.globMatches("*", "")).isTrue();
        assertThat(Filters.globMatches("", "x")).isFalse();
        assertThat(Filters.globMatches("a*b*c", "aXbYbZc")).isTrue();
        assertThat(Filters.globMatches("a*b*c", "aXbYbZ")).isFalse();
        assertThat(Filters.globMatches("web.*", "webXsg")).as("a dot is a dot").isFalse();
    }

    /** The same answers as the regular expression the glob stands for, on many small random cases. */
    @Test
    void shouldAgreeWithTheEquivalentRegularExpression() {
        Random random = new Random(13);
        for (int i = 0; i < 200_000; i++) {
            String glob = word(random, "ab*?", 6);
            String text = word(random, "ab", 8);
            String regex = glob.replace("?", ".").replace("*", ".*");
            assertThat(Filters.globMatches(glob, text)).as("%s against %s", glob, text)
                    .isEqualTo(Pattern.compile(regex, Pattern.DOTALL).matcher(text).matches());
        }
    }

    /** A tenant's pattern cannot hold a request thread: a regex took 39 s for four stars here. */
    @Test
    @Timeout(5)
    void shouldMatchPathologicalPatternsAgainstLongValuesInLinearTime() {
        String text = "a".repeat(256);
        assertThat(Filters.globMatches("*a".repeat(100) + "*b", text)).isFalse();
        assertThat(Filters.globMatches("*a".repeat(100) + "*", text)).isTrue();
    }

    private static String word(Random random, String alphabet, int maxLength) {
        StringBuilder s = new StringBuilder();
        for (int n = random.nextInt(maxLength + 1); n > 0; n--) {
            s.append(alphabet.charAt(random.nextInt(alphabet.length())));
        }
        return s.toString();
    }
}
