package io.hyperplane.control.iam;

import java.util.Arrays;

/**
 * An IAM wildcard ("ec2:Describe*", "ec2:?reate*"): {@code *} matches any run of characters,
 * {@code ?} exactly one, every other character itself (IAM policy reference, "Action"). Matching
 * never backtracks: it runs the pattern as a small automaton, all of whose states advance together
 * as bits of a word (shift-and), so a match costs one pass over the text whatever the pattern,
 * O(text × ⌈pattern / 64⌉). A regular expression made of {@code .*} pieces can instead take time
 * exponential in the number of stars, and these patterns come from tenants' policies.
 * <pre>
 *   state i: the first i characters of the pattern that are not '*' have been matched
 *
 *   pattern "a*b?":   (0) --a--> (1) --b--> (2) --any--> (3)      the text matches when it ends in (3)
 *                                 ^\
 *                                 any  (a '*' follows "a": state 1 stays on any character)
 *
 *   per character c:  states' = ((states &lt;&lt; 1) &amp; advancesOn(c)) | (states &amp; loops)
 * </pre>
 * Characters are compared exactly; callers fold case first where IAM ignores it.
 */
public final class Wildcard {
    private final String pattern;
    /** The accepting state: how many characters of the pattern are not '*'. */
    private final int last;
    /** Bit i: a '*' follows the i-th matched character, so state i stays on any character. */
    private final long[] loops;
    /** Bit i + 1: the pattern's (i + 1)-th matched character is '?', so state i advances on any character. */
    private final long[] advancesOnAny;
    /** The literal characters of the pattern, sorted and distinct, and for each the states it advances. */
    private final char[] literals;
    private final long[][] advancesOn;

    private Wildcard(String pattern) {
        this.pattern = pattern;
        int matched = 0;
        for (int i = 0; i < pattern.length(); i++) {
            if (pattern.charAt(i) != '*') {
                matched++;
            }
        }
        this.last = matched;
        int words = matched / Long.SIZE + 1;
        this.loops = new long[words];
        this.advancesOnAny = new long[words];
        this.literals = distinctLiterals(pattern);
        this.advancesOn = new long[literals.length][words];
        int state = 0;
        for (int i = 0; i < pattern.length(); i++) {
            char c = pattern.charAt(i);
            if (c == '*') {
                set(loops, state);
            } else {
                state++;
                set(c == '?' ? advancesOnAny : advancesOn[Arrays.binarySearch(literals, c)], state);
            }
        }
    }

    public static Wildcard of(String pattern) {
        if (pattern == null) {
            throw new IllegalArgumentException("wildcard: pattern required");
        }
        return new Wildcard(pattern);
    }

    public boolean matches(CharSequence text) {
        long[] states = new long[loops.length];
        long[] next = new long[loops.length];
        states[0] = 1L; // nothing matched yet
        for (int n = 0; n < text.length(); n++) {
            int literal = Arrays.binarySearch(literals, text.charAt(n));
            long[] advances = literal >= 0 ? advancesOn[literal] : null;
            long carry = 0;
            long alive = 0;
            for (int w = 0; w < states.length; w++) {
                long s = states[w];
                long advancing = advancesOnAny[w] | (advances == null ? 0 : advances[w]);
                next[w] = (((s << 1) | carry) & advancing) | (s & loops[w]);
                carry = s >>> (Long.SIZE - 1);
                alive |= next[w];
            }
            if (alive == 0) {
                return false; // no state left: nothing further can match
            }
            long[] swap = states;
            states = next;
            next = swap;
        }
        return (states[last / Long.SIZE] & (1L << (last % Long.SIZE))) != 0;
    }

    private static void set(long[] bits, int i) {
        bits[i / Long.SIZE] |= 1L << (i % Long.SIZE);
    }

    private static char[] distinctLiterals(String pattern) {
        char[] sorted = pattern.replace("*", "").replace("?", "").toCharArray();
        Arrays.sort(sorted);
        int distinct = 0;
        for (int i = 0; i < sorted.length; i++) {
            if (i == 0 || sorted[i] != sorted[i - 1]) {
                sorted[distinct++] = sorted[i];
            }
        }
        return Arrays.copyOf(sorted, distinct);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Wildcard w && w.pattern.equals(pattern);
    }

    @Override
    public int hashCode() {
        return pattern.hashCode();
    }

    @Override
    public String toString() {
        return pattern;
    }
}
