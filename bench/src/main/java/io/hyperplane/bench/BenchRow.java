package io.hyperplane.bench;

/**
 * One benchmark result: the kernel's figure, ours, and ours/kernel. {@code better} says which
 * direction wins ("higher" for rates, "lower" for latency and memory).
 */
public record BenchRow(String name, String unit, double kernel, double hyperplane, double ratio, String better) {
    public static BenchRow of(String name, String unit, double kernel, double hyperplane, String better) {
        return new BenchRow(name, unit, kernel, hyperplane, kernel == 0 ? Double.NaN : hyperplane / kernel, better);
    }
}
