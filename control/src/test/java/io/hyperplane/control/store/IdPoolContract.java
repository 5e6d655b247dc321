package io.hyperplane.control.store;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link IdPool} on a real store: run on embedded H2 ({@link IdPoolH2Test}, with millions of
 * cycles) and on PostgreSQL ({@link IdPoolPostgresTest}).
 */
@Timeout(120)
abstract class IdPoolContract {
    /** A pool of ten values whose holders are rows of a table of the test's own. */
    static final IdPool TEN = new IdPool("test-ten", 1, 10, "SELECT v FROM test_holders");
    /** Four threads holding up to twenty values at once share it. */
    static final IdPool SHARED = new IdPool("test-shared", 1, 24, "SELECT v FROM test_holders");

    Database db;

    /** A fresh, migrated store. */
    abstract Database open() throws Exception;

    /** Create/delete cycles per pool in {@link #shouldKeepTakingThroughMillionsOfCreateDeleteCycles}. */
    abstract int cyclesPerPool();

    @BeforeEach
    void start() throws Exception {
        db = prepared(open());
    }

    /** {@code store} with the test's holders table and its pools' rows. */
    private static Database prepared(Database store) {
        store.inTransaction(c -> {
            Sql.update(c, "CREATE TABLE test_holders (v BIGINT PRIMARY KEY)");
            for (IdPool pool : List.of(TEN, SHARED)) {
                Sql.update(c, "INSERT INTO allocators (name, next_value) VALUES (?, ?)", pool.name(), pool.first());
            }
            return null;
        });
        return store;
    }

    @AfterEach
    void stop() {
        if (db != null) {
            db.close();
        }
    }

    /** A holder created: a value taken and stored, in one transaction. */
    private long create(IdPool pool) {
        return db.inTransaction(c -> {
            long v = pool.take(c);
            Sql.update(c, "INSERT INTO test_holders (v) VALUES (?)", v);
            return v;
        });
    }

    /** A holder deleted, its value released, in one transaction. */
    private void delete(IdPool pool, long value) {
        db.inTransaction(c -> {
            Sql.update(c, "DELETE FROM test_holders WHERE v = ?", value);
            pool.release(c, value);
            return null;
        });
    }

    private void hold(long... values) {
        db.inTransaction(c -> {
            for (long v : values) {
                Sql.update(c, "INSERT INTO test_holders (v) VALUES (?)", v);
            }
            return null;
        });
    }

    /** As if all but {@code fresh} values of the pool had been handed out (and are held elsewhere, forever). */
    private void spendAllBut(IdPool pool, long fresh) {
        spendAllBut(db, pool, fresh);
    }

    private static void spendAllBut(Database db, IdPool pool, long fresh) {
        db.inTransaction(c -> Sql.update(c, "UPDATE allocators SET next_value = ? WHERE name = ?", pool.last() - fresh + 1, pool.name()));
    }

    @Test
    void shouldHandOutNeverUsedValuesFirstThenTheLeastRecentlyReleased() {
        for (long v = 1; v <= 10; v++) {
            assertThat(create(TEN)).isEqualTo(v);
        }
        delete(TEN, 3);
        delete(TEN, 7);
        delete(TEN, 5);
        assertThat(create(TEN)).as("the oldest release first").isEqualTo(3);
        delete(TEN, 3);
        assertThat(List.of(create(TEN), create(TEN), create(TEN))).containsExactly(7L, 5L, 3L);
        assertThatThrownBy(() -> create(TEN)).isInstanceOf(IdPool.Exhausted.class).hasMessage("test-ten: all 10 values (1..10) are in use");
    }

    @Test
    void shouldPreferAValueNeverUsedToOneJustReleased() {
        long a = create(TEN);
        delete(TEN, a);
        assertThat(create(TEN)).as("still fresh values in the range").isNotEqualTo(a);
    }

    @Test
    void shouldReclaimValuesNoResourceHoldsOnceTheRangeIsSpent() {
        spendAllBut(TEN, 0); // e.g. values released before releases were kept
        hold(2, 5, 10);
        List<Long> taken = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            taken.add(create(TEN));
        }
        assertThat(taken).containsExactly(1L, 3L, 4L, 6L, 7L, 8L, 9L);
        assertThatThrownBy(() -> create(TEN)).isInstanceOf(IdPool.Exhausted.class);
        db.inTransaction(c -> Sql.update(c, "DELETE FROM test_holders WHERE v = 5"));
        assertThat(create(TEN)).as("a value freed without a release is found again").isEqualTo(5);
    }

    @Test
    void shouldNotReclaimAValueAlreadyReleased() {
        spendAllBut(TEN, 0);
        hold(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
        delete(TEN, 4);
        assertThat(create(TEN)).isEqualTo(4);
        assertThatThrownBy(() -> create(TEN)).as("4 was listed once, not again by a reclaim").isInstanceOf(IdPool.Exhausted.class);
    }

    @Test
    void shouldNotHandOutAValueReleasedFromOutsideTheRange() {
        spendAllBut(TEN, 0);
        hold(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
        db.inTransaction(c -> {
            TEN.release(c, 11);
            TEN.release(c, 0);
            return null;
        });
        assertThatThrownBy(() -> create(TEN)).isInstanceOf(IdPool.Exhausted.class);
    }

    @Test
    void shouldNotTakeAnythingWhenTheTakingTransactionRollsBack() {
        assertThatThrownBy(() -> db.inTransaction(c -> {
            TEN.take(c);
            throw new IllegalStateException("the create failed");
        })).isInstanceOf(IllegalStateException.class);
        assertThat(create(TEN)).as("the value went back with the rollback").isEqualTo(1);
    }

    /**
     * Every pool of the control plane, near the end of its range, and a pool of ten: a window of
     * held values, each cycle deleting the oldest holder and creating one. Allocation never fails,
     * never hands out a held value, and always hands out the least recently released one. The pools
     * share nothing, so each cycles on a store of its own, at once, one thread per processor: the
     * same cycles as one pool after another, in less of the test run's time (on H2 with two
     * processors 27 s instead of 31 s; one shared store gained almost nothing, its writes contend).
     */
    @Test
    void shouldKeepTakingThroughMillionsOfCreateDeleteCycles() throws Exception {
        List<IdPool> pools = new ArrayList<>(IdPool.all());
        pools.add(TEN);
        ExecutorService cyclers = Executors.newFixedThreadPool(Runtime.getRuntime().availableProcessors());
        try {
            List<Future<?>> cycling = new ArrayList<>();
            for (IdPool pool : pools) {
                cycling.add(cyclers.submit(() -> {
                    cycle(pool);
                    return null;
                }));
            }
            for (Future<?> f : cycling) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof AssertionError failed) {
                        throw failed; // the pool's own message, as if it had run on the test's thread
                    }
                    throw e;
                }
            }
        } finally {
            cyclers.shutdownNow();
        }
    }

    /** {@link #cyclesPerPool} create/delete cycles of {@code pool}, a window of its values held throughout. */
    private void cycle(IdPool pool) throws Exception {
        try (Database db = prepared(open())) {
            cycle(db, pool);
        }
    }

    private void cycle(Database db, IdPool pool) {
        int window = 64;
        // Cycles per transaction: enough that commits do not dominate, few enough that the list's
        // index is not crowded with deletions not yet committed (H2 skips them one by one).
        int batch = 100;
        int held = (int) Math.min(window, pool.last() - pool.first());
        spendAllBut(db, pool, held);
        ArrayDeque<Long> holders = new ArrayDeque<>();
        Set<Long> inUse = new HashSet<>();
        ArrayDeque<Long> releasedInOrder = new ArrayDeque<>();
        db.inTransaction(c -> {
            for (int i = 0; i < held; i++) {
                long v = pool.take(c);
                assertThat(inUse.add(v)).isTrue();
                holders.addLast(v);
            }
            return null;
        });
        for (int done = 0; done < cyclesPerPool(); done += batch) {
            int cycles = Math.min(batch, cyclesPerPool() - done);
            db.inTransaction(c -> {
                for (int i = 0; i < cycles; i++) {
                    long gone = holders.removeFirst();
                    inUse.remove(gone);
                    pool.release(c, gone);
                    releasedInOrder.addLast(gone);
                    long v = pool.take(c);
                    if (!inUse.add(v) || v != releasedInOrder.removeFirst() || v < pool.first() || v > pool.last()) {
                        throw new AssertionError(pool + ": took " + v + " with " + inUse + " held, after releasing " + gone);
                    }
                    holders.addLast(v);
                }
                return null;
            });
        }
        assertThat(inUse).as(pool.name()).hasSize(held);
    }

    /**
     * Threads create and delete holders at once, each in its own transaction, from a pool barely
     * larger than what they hold: takes queue on the pool's lock, some find nothing released yet and
     * reclaim, and none hands out a held value.
     */
    @Test
    void shouldNeverHandOutAHeldValueWhenThreadsTakeAndReleaseAtOnce() throws Exception {
        IdPool pool = SHARED;
        int threads = 4;
        int perThread = 5;
        Set<Long> inUse = ConcurrentHashMap.newKeySet();
        AtomicLong takes = new AtomicLong();
        List<Throwable> failures = new ArrayList<>();
        List<Thread> running = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int seed = t;
            running.add(Thread.ofPlatform().start(() -> {
                SplittableRandom random = new SplittableRandom(seed);
                ArrayDeque<Long> mine = new ArrayDeque<>();
                try {
                    for (int i = 0; i < 400; i++) {
                        if (mine.size() == perThread || (!mine.isEmpty() && random.nextBoolean())) {
                            long v = mine.removeFirst();
                            db.inTransaction(c -> {
                                Sql.update(c, "DELETE FROM test_holders WHERE v = ?", v);
                                pool.release(c, v);
                                inUse.remove(v); // before the release commits: from then on another thread may take it
                                return null;
                            });
                        } else {
                            long v = db.inTransaction(c -> {
                                long taken = pool.take(c);
                                Sql.update(c, "INSERT INTO test_holders (v) VALUES (?)", taken);
                                return taken;
                            });
                            if (!inUse.add(v)) {
                                throw new AssertionError("took " + v + ", which another thread holds");
                            }
                            mine.addLast(v);
                            takes.incrementAndGet();
                        }
                    }
                } catch (Throwable e) {
                    synchronized (failures) {
                        failures.add(e);
                    }
                }
            }));
        }
        for (Thread t : running) {
            t.join();
        }
        assertThat(failures).isEmpty();
        assertThat(takes.get()).as("most takes reused a released value").isGreaterThan(threads * 100L);
    }

    @Test
    void shouldStoreVtepsAndMacsAsTheNetworkSeesThem() {
        assertThat(IdPool.VPC_VTEP.format(IdPool.VPC_VTEP.first())).isEqualTo("198.19.0.11");
        assertThat(IdPool.VPC_VTEP.format(253)).isEqualTo("198.19.0.254");
        assertThat(IdPool.VPC_VTEP.format(254)).isEqualTo("198.19.1.1");
        assertThat(IdPool.VPC_VTEP.format(IdPool.VPC_VTEP.last())).isEqualTo("198.19.255.254");
        assertThat(IdPool.ENI_MAC.format(IdPool.ENI_MAC.first())).isEqualTo("02:48:50:00:10:00");
        assertThat(IdPool.ENI_MAC.format(IdPool.ENI_MAC.last())).isEqualTo("02:48:50:ff:ff:ff");
        for (IdPool pool : IdPool.all()) {
            for (long v : List.of(pool.first(), pool.first() + 253, pool.first() + 254, pool.last())) {
                assertThat(pool.parse(pool.format(v))).as(pool + " " + v).isEqualTo(v);
            }
        }
        assertThat(IdPool.SUBNET_VNI.last()).as("subnet VNIs stay below environments'").isLessThan(IdPool.EE_VNI.first());
    }
}
