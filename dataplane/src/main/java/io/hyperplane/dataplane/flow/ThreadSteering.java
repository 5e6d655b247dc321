package io.hyperplane.dataplane.flow;

/**
 * Which of a node's forwarding threads owns a flow, as the kernel's steering program decides it
 * (node's {@code SteeringProgram} computes the same in classic BPF):
 * <pre>
 *   thread = ((portSum * MULTIPLIER) mod 2^32 >>> 16) mod threads
 *   portSum = source port + destination port (TCP, UDP); the identifier (ICMP echo)
 * </pre>
 * The sum is the same in both directions of a flow when its NAT port steers like its source
 * port, which the NAT port allocator makes sure of. The sum is hashed rather than taken modulo the
 * threads because Linux's {@code connect()} picks even local ports first (inet_hash_connect): a
 * client's connections to one destination port all have sums of one parity, and "sum mod 2" put
 * every one of them on the same thread (measured: an environment's connections to port 80 all
 * had even ports, all went to thread 0, and it refused them past its share of the environment's
 * flow quota). Multiplying by 2^32 over the golden ratio (Knuth's multiplicative hashing) and taking
 * the high half mixes every bit of the sum into the bits that pick the thread.
 */
public record ThreadSteering(int threads) {
    /** 2^32 / φ, odd: Knuth's multiplicative hash constant. */
    public static final int MULTIPLIER = 0x9E37_79B1;
    /** The high half of the 32-bit product: the well-mixed bits. */
    public static final int SHIFT = 16;
    /** At most one thread per port. */
    public static final int MAX_THREADS = 0xffff;
    /** One thread: every flow is its own. */
    public static final ThreadSteering ONE = new ThreadSteering(1);

    public ThreadSteering {
        if (threads < 1 || threads > MAX_THREADS) {
            throw new IllegalArgumentException("threads " + threads + ": must be 1.." + MAX_THREADS);
        }
    }

    /** The thread that owns flows whose ports add up to {@code portSum} (0..131070). */
    public int thread(int portSum) {
        return threads == 1 ? 0 : ((portSum * MULTIPLIER) >>> SHIFT) % threads;
    }
}
