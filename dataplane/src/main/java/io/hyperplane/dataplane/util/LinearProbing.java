package io.hyperplane.dataplane.util;

/**
 * The one rule of backward-shift deletion in a linear-probing table (Knuth, TAOCP vol. 3, 6.4,
 * Algorithm R), shared by every table here that deletes: after a slot is emptied, each later
 * entry of the run moves back into the hole unless its home slot lies cyclically in (hole, at],
 * where moving it would put it before its home and out of its own probe sequence.
 */
public final class LinearProbing {
    private LinearProbing() {
    }

    /** Whether the entry at {@code at}, whose home slot is {@code home}, moves back into {@code hole}. */
    public static boolean movesIntoHole(int hole, int at, int home) {
        boolean homeBetween = hole <= at ? (home > hole && home <= at) : (home > hole || home <= at);
        return !homeBetween;
    }
}
