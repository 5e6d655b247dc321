package io.hyperplane.control.iam;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class WildcardTest {
    @Test
    void shouldMatchStarsQuestionMarksAndLiteralsAsIamDoes() {
        assertThat(Wildcard.of("ec2:*").matches("ec2:CreateNetworkInterface")).isTrue();
        assertThat(Wildcard.of("ec2:*").matches("ec2:")).as("a star matches nothing too").isTrue();
        assertThat(Wildcard.of("ec2:*").matches("lambda:Invoke")).isFalse();
        assertThat(Wildcard.of("*").matches("")).isTrue();
        assertThat(Wildcard.of("").matches("")).isTrue();
        assertThat(Wildcard.of("").matches("a")).isFalse();
        assertThat(Wildcard.of("ec2:Delete*").matches("ec2:DeleteNetworkInterface")).isTrue();
        assertThat(Wildcard.of("ec2:Delete*").matches("ec2:CreateNetworkInterface")).isFalse();
        assertThat(Wildcard.of("ec2:?reate*").matches("ec2:CreateVpc")).isTrue();
        assertThat(Wildcard.of("ec2:?reate*").matches("ec2:reateVpc")).as("? is exactly one character").isFalse();
        assertThat(Wildcard.of("*Network*").matches("ec2:DescribeNetworkInterfaces")).isTrue();
        assertThat(Wildcard.of("ec2:Create.*").matches("ec2:CreateVpc")).as("regular-expression characters are literals").isFalse();
        assertThat(Wildcard.of("ec2:Create.*").matches("ec2:Create.Vpc")).isTrue();
        assertThat(Wildcard.of("a\\*").matches("a\\xyz")).as("no escapes: a backslash is a literal").isTrue();
        assertThat(Wildcard.of("s3:Get").matches("s3:GetObject")).as("the whole text must match").isFalse();
        assertThat(Wildcard.of("EC2:*").matches("ec2:CreateVpc")).as("characters compare exactly; PolicyDocument folds case").isFalse();
    }

    @Test
    void shouldMatchPatternsLongerThanOneWordOfStates() {
        String long1 = "x".repeat(70) + "?" + "y".repeat(70);
        assertThat(Wildcard.of(long1).matches("x".repeat(70) + "z" + "y".repeat(70))).isTrue();
        assertThat(Wildcard.of(long1).matches("x".repeat(70) + "y".repeat(70))).isFalse();
        assertThat(Wildcard.of("*" + "ab".repeat(40) + "*").matches("c".repeat(100) + "ab".repeat(40) + "c")).isTrue();
        assertThat(Wildcard.of("*" + "ab".repeat(40) + "*").matches("c".repeat(100) + "ab".repeat(39) + "c")).isFalse();
    }

    /** A backtracking matcher needs about C(10,000, 30) steps for this; one pass needs 10,000. */
    @Test
    @Timeout(value = 10, unit = TimeUnit.SECONDS)
    void shouldMatchAPathologicalPatternInOnePass() {
        String pattern = "a*".repeat(30) + "b";
        String as = "a".repeat(10_000);
        assertThat(Wildcard.of(pattern).matches(as)).isFalse();
        assertThat(Wildcard.of(pattern).matches(as + "b")).isTrue();
        assertThat(Wildcard.of("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*?b").matches(as + "c")).isFalse();
    }

    @Test
    void shouldAgreeWithADefinitionalMatcherOnRandomPatterns() {
        SplittableRandom random = new SplittableRandom(13);
        for (int i = 0; i < 20_000; i++) {
            String pattern = random(random, "ab*?", random.nextInt(9));
            String text = random(random, "ab", random.nextInt(9));
            assertThat(Wildcard.of(pattern).matches(text)).as("'%s' against '%s'", pattern, text).isEqualTo(reference(pattern, 0, text, 0));
        }
    }

    private static String random(SplittableRandom random, String alphabet, int length) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < length; i++) {
            s.append(alphabet.charAt(random.nextInt(alphabet.length())));
        }
        return s.toString();
    }

    /** The definition, by recursion (exponential, but the inputs here are short). */
    private static boolean reference(String p, int i, String t, int j) {
        if (i == p.length()) {
            return j == t.length();
        }
        char c = p.charAt(i);
        if (c == '*') {
            return reference(p, i + 1, t, j) || (j < t.length() && reference(p, i, t, j + 1));
        }
        return j < t.length() && (c == '?' || c == t.charAt(j)) && reference(p, i + 1, t, j + 1);
    }
}
