package io.hyperplane.dataplane.flow;

import io.hyperplane.dataplane.util.LinearProbing;

import java.util.Arrays;

/**
 * Tracked, translated flows: a struct of primitive arrays indexed by flow id, two open-addressing
 * indexes (one per direction) and a timer wheel. One writer: the forwarding thread. No
 * allocation after construction.
 * <pre>
 *   forward index  (vni, proto, sourceIp, eePort,                 +--> flow id --> vni, sourceIp, eePort,
 *                   remoteIp, remotePort) -----------------------+              remoteIp, remotePort,
 *   reverse index  (proto, remoteIp, remotePort,                 |              eniVni, eniIp, natPort,
 *                   eniVni, eniIp, natPort) ----------------------+              protocol, state,
 *                                                                               expiresAt, next/prev
 *   timer wheel    slot[t mod 1024] --> flow <-> flow <-> ...                   (wheel or free list)
 * </pre>
 * Two kinds of flow share the table. An execution environment's: {@code vni} is the EE's and
 * {@code sourceIp} its address (one per VNI, anti-spoofing sees to that). A NAT gateway's: many
 * sources of the VPC reach it on one subnet VNI, so {@code vni} is that subnet's and
 * {@code sourceIp} tells them apart; {@code vni == eniVni} marks such a flow, since EE and subnet
 * VNIs never coincide (NodeSnapshot). The "ENI" side is the translated address: an ENI or a NAT
 * gateway, named by its subnet's VNI and its address, because the same address is normal in many
 * VPCs (DESIGN.md §9): two ENIs at 10.0.1.4 in two VPCs never share a flow or a NAT port. Index
 * slots hold {@code id + 1} (0 = empty), are kept at a load factor of at most 0.5, and use
 * backward-shift deletion so no tombstones accumulate. About 56 bytes per flow of capacity in total.
 * <p>
 * Expiry is lazy, in the manner of Linux conntrack's GC: refreshing a flow only moves its
 * deadline later; the wheel files it again when its old slot comes round. Shortening a deadline
 * (a FIN or RST) re-files it at once, so a flow is never filed later than it expires.
 */
public final class FlowTable {
    public static final int NONE = -1;
    /** The owner of a flow this node created or promoted: itself. Any other owner is a fleet member's index. */
    public static final int SELF = 0;
    /** One-second wheel slots; deadlines further out are parked in the last slot and re-filed. */
    static final int WHEEL_SLOTS = 1024;
    private static final int WHEEL_MASK = WHEEL_SLOTS - 1;

    /** Told about each flow the wheel expires, before its slot is freed. */
    public interface ExpiryListener {
        void expired(int flow);
    }

    private final int capacity;
    private final int[] vni;
    private final int[] sourceIp;
    private final int[] remoteIp;
    private final int[] eniVni;
    private final int[] eniIp;
    private final char[] eePort;
    private final char[] remotePort;
    private final char[] natPort;
    private final byte[] protocol;
    private final byte[] state;
    private final int[] expiresAt;
    /** {@link #SELF}, or the index of the fleet member whose flow this is a replica of (docs/fleet.md). */
    private final byte[] owner;
    /** When this node last copied the flow to its backup (seconds): refreshes are sent at most once a second. */
    private final int[] replicatedAt;
    private final int[] next;
    /** Previous flow in the wheel slot; for a slot's head, {@code -2 - slot}. */
    private final int[] prev;

    private final int[] forward;
    private final int[] reverse;
    private final int indexMask;

    private final int[] wheel = new int[WHEEL_SLOTS];
    private int wheelTick;
    private int size;
    private int freeHead;

    public FlowTable(int capacity) {
        if (capacity < 1 || capacity > (1 << 28)) {
            throw new IllegalArgumentException("flow table capacity " + capacity + ": must be 1.." + (1 << 28));
        }
        this.capacity = capacity;
        vni = new int[capacity];
        sourceIp = new int[capacity];
        remoteIp = new int[capacity];
        eniVni = new int[capacity];
        eniIp = new int[capacity];
        eePort = new char[capacity];
        remotePort = new char[capacity];
        natPort = new char[capacity];
        protocol = new byte[capacity];
        state = new byte[capacity];
        expiresAt = new int[capacity];
        owner = new byte[capacity];
        replicatedAt = new int[capacity];
        next = new int[capacity];
        prev = new int[capacity];
        int indexSize = Integer.highestOneBit(capacity * 2 - 1) << 1;
        forward = new int[Math.max(indexSize, 2)];
        reverse = new int[Math.max(indexSize, 2)];
        indexMask = forward.length - 1;
        Arrays.fill(wheel, NONE);
        for (int i = 0; i < capacity; i++) {
            next[i] = i + 1 < capacity ? i + 1 : NONE;
        }
        freeHead = 0;
    }

    public int capacity() {
        return capacity;
    }

    public int size() {
        return size;
    }

    // ---- lookups ------------------------------------------------------------------------------

    public int findForward(int vni, int protocol, int sourceIp, int eePort, int remoteIp, int remotePort) {
        int i = forwardHash(vni, protocol, sourceIp, eePort, remoteIp, remotePort) & indexMask;
        int slot;
        while ((slot = forward[i]) != 0) {
            int f = slot - 1;
            if (this.vni[f] == vni && this.eePort[f] == eePort && this.remoteIp[f] == remoteIp && this.sourceIp[f] == sourceIp
                    && this.remotePort[f] == remotePort && this.protocol[f] == (byte) protocol) {
                return f;
            }
            i = (i + 1) & indexMask;
        }
        return NONE;
    }

    public int findReverse(int protocol, int remoteIp, int remotePort, int eniVni, int eniIp, int natPort) {
        int i = reverseHash(protocol, remoteIp, remotePort, eniVni, eniIp, natPort) & indexMask;
        int slot;
        while ((slot = reverse[i]) != 0) {
            int f = slot - 1;
            if (this.natPort[f] == natPort && this.remoteIp[f] == remoteIp && this.remotePort[f] == remotePort
                    && this.eniIp[f] == eniIp && this.eniVni[f] == eniVni && this.protocol[f] == (byte) protocol) {
                return f;
            }
            i = (i + 1) & indexMask;
        }
        return NONE;
    }

    // ---- mutation -----------------------------------------------------------------------------

    /** Adds a flow; returns its id, or {@link #NONE} when the table is full. */
    public int insert(int vni, int protocol, int sourceIp, int eePort, int remoteIp, int remotePort, int eniVni, int eniIp,
                      int natPort, byte state, int expiresAt) {
        int f = freeHead;
        if (f == NONE) {
            return NONE;
        }
        freeHead = next[f];
        this.vni[f] = vni;
        this.sourceIp[f] = sourceIp;
        this.protocol[f] = (byte) protocol;
        this.eePort[f] = (char) eePort;
        this.remoteIp[f] = remoteIp;
        this.remotePort[f] = (char) remotePort;
        this.eniVni[f] = eniVni;
        this.eniIp[f] = eniIp;
        this.natPort[f] = (char) natPort;
        this.state[f] = state;
        this.expiresAt[f] = expiresAt;
        this.owner[f] = SELF;
        this.replicatedAt[f] = 0;
        int i = forwardHash(vni, protocol, sourceIp, eePort, remoteIp, remotePort) & indexMask;
        while (forward[i] != 0) {
            i = (i + 1) & indexMask;
        }
        forward[i] = f + 1;
        i = reverseHash(protocol, remoteIp, remotePort, eniVni, eniIp, natPort) & indexMask;
        while (reverse[i] != 0) {
            i = (i + 1) & indexMask;
        }
        reverse[i] = f + 1;
        file(f, expiresAt);
        size++;
        return f;
    }

    /** Removes a flow from both indexes and the wheel and frees its id. */
    public void remove(int f) {
        unlink(f);
        release(f);
    }

    private void release(int f) {
        deleteFromIndex(forward, f, true);
        deleteFromIndex(reverse, f, false);
        state[f] = 0;
        next[f] = freeHead;
        prev[f] = NONE;
        freeHead = f;
        size--;
    }

    /** Sets a new deadline: later ones lazily, earlier ones by re-filing in the wheel. */
    public void expiresAt(int f, int deadline) {
        int old = expiresAt[f];
        expiresAt[f] = deadline;
        if (deadline < old) {
            unlink(f);
            file(f, deadline);
        }
    }

    public void state(int f, byte newState) {
        state[f] = newState;
    }

    /** Marks the flow a replica of fleet member {@code index}'s, or {@link #SELF}'s own. */
    public void owner(int f, int index) {
        owner[f] = (byte) index;
    }

    public int owner(int f) {
        return owner[f];
    }

    /** Whether id {@code f} (0..capacity-1) holds a flow: a walk over the table skips the free ones. */
    public boolean isUsed(int f) {
        return state[f] != 0;
    }

    public boolean isReplica(int f) {
        return owner[f] != SELF;
    }

    public void replicatedAt(int f, int seconds) {
        replicatedAt[f] = seconds;
    }

    public int replicatedAt(int f) {
        return replicatedAt[f];
    }

    /**
     * Expires flows whose deadline is at or before {@code now} (seconds), visiting at most
     * {@code budget} wheel entries so one call never stalls forwarding. Returns entries visited.
     */
    public int expire(int now, int budget, ExpiryListener listener) {
        int visited = 0;
        while (visited < budget && wheelTick <= now) {
            int slot = wheelTick & WHEEL_MASK;
            int f = wheel[slot];
            if (f == NONE) {
                wheelTick++;
                continue;
            }
            unlink(f);
            if (expiresAt[f] <= now) {
                listener.expired(f);
                release(f);
            } else {
                file(f, expiresAt[f]);
            }
            visited++;
        }
        return visited;
    }

    /** Starts the wheel at {@code now}; call once before the first insert when time does not start at 0. */
    public void startClock(int now) {
        if (size != 0) {
            throw new IllegalStateException("startClock with " + size + " flows tracked");
        }
        wheelTick = now;
    }

    // ---- accessors ----------------------------------------------------------------------------

    public int vni(int f) {
        return vni[f];
    }

    /** The untranslated source: the EE's address, or the VPC host a NAT gateway flow came from. */
    public int sourceIp(int f) {
        return sourceIp[f];
    }

    /** A NAT gateway's flow rather than an execution environment's (see the class comment). */
    public boolean isNatGateway(int f) {
        return vni[f] == eniVni[f];
    }

    public int protocol(int f) {
        return protocol[f] & 0xff;
    }

    public int eePort(int f) {
        return eePort[f];
    }

    public int remoteIp(int f) {
        return remoteIp[f];
    }

    public int remotePort(int f) {
        return remotePort[f];
    }

    public int eniVni(int f) {
        return eniVni[f];
    }

    public int eniIp(int f) {
        return eniIp[f];
    }

    public int natPort(int f) {
        return natPort[f];
    }

    public byte state(int f) {
        return state[f];
    }

    public int expiresAt(int f) {
        return expiresAt[f];
    }

    // ---- internals ----------------------------------------------------------------------------

    private void file(int f, int deadline) {
        int tick = Math.max(wheelTick, Math.min(deadline, wheelTick + WHEEL_SLOTS - 1));
        int slot = tick & WHEEL_MASK;
        int head = wheel[slot];
        next[f] = head;
        prev[f] = -2 - slot;
        if (head != NONE) {
            prev[head] = f;
        }
        wheel[slot] = f;
    }

    private void unlink(int f) {
        int p = prev[f];
        int n = next[f];
        if (p >= 0) {
            next[p] = n;
        } else {
            wheel[-2 - p] = n;
        }
        if (n != NONE) {
            prev[n] = p;
        }
    }

    private void deleteFromIndex(int[] index, int f, boolean isForward) {
        int i = hashOf(f, isForward) & indexMask;
        while (index[i] != f + 1) {
            i = (i + 1) & indexMask;
        }
        index[i] = 0;
        int hole = i;
        int j = i;
        while (true) {
            j = (j + 1) & indexMask;
            int slot = index[j];
            if (slot == 0) {
                return;
            }
            int home = hashOf(slot - 1, isForward) & indexMask;
            if (LinearProbing.movesIntoHole(hole, j, home)) {
                index[hole] = slot;
                index[j] = 0;
                hole = j;
            }
        }
    }

    private int hashOf(int f, boolean isForward) {
        return isForward
                ? forwardHash(vni[f], protocol[f] & 0xff, sourceIp[f], eePort[f], remoteIp[f], remotePort[f])
                : reverseHash(protocol[f] & 0xff, remoteIp[f], remotePort[f], eniVni[f], eniIp[f], natPort[f]);
    }

    static int forwardHash(int vni, int protocol, int sourceIp, int eePort, int remoteIp, int remotePort) {
        long a = ((long) vni << 40) | ((long) protocol << 32) | ((long) eePort << 16) | remotePort;
        return mix(a, ((long) sourceIp << 32) | (remoteIp & 0xffff_ffffL));
    }

    static int reverseHash(int protocol, int remoteIp, int remotePort, int eniVni, int eniIp, int natPort) {
        long a = ((long) eniVni << 40) | ((long) protocol << 32) | ((long) remotePort << 16) | natPort;
        return mix(a, ((long) remoteIp << 32) | (eniIp & 0xffff_ffffL));
    }

    private static int mix(long a, long b) {
        long h = a * 0x9E3779B97F4A7C15L + b * 0xC2B2AE3D27D4EB4FL;
        h ^= h >>> 29;
        h *= 0xBF58476D1CE4E5B9L;
        h ^= h >>> 32;
        return (int) h;
    }
}
