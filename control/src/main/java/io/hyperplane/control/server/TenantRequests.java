package io.hyperplane.control.server;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * The threads tenant API calls run on, shared fairly between accounts, with a bound on each
 * account's requests in flight (DESIGN.md §9). The HTTP server's request threads only read a
 * request and check its signature, then hand it here and return to the pool, so nothing a tenant
 * asks for ever holds the threads the fleet's heartbeats, streams and long polls are served on.
 * <pre>
 *   request thread: read, SigV4 --submit(account)--> account's queue --(turns, round robin)--> a tenant thread
 *                                                                                                  |
 *   the call's answer is written on the tenant thread, or, when the call returned a future          |
 *   still running (Invoke waiting for its worker), by a completion queued for the account again <--+
 * </pre>
 * <ul>
 *   <li><b>Turns.</b> An account with queued work waits in one line with the others; a free
 *       thread serves the account at the head, which goes back to the end if it has more. An
 *       account's backlog therefore delays another account by at most one call per thread.</li>
 *   <li><b>Threads per account.</b> An account occupies at most {@code runningPerAccount} threads
 *       at once, so however slow its calls are, the other threads stay free for other accounts.</li>
 *   <li><b>In flight per account.</b> Requests queued or running on a thread. Beyond
 *       {@code inFlightPerAccount} a request fails at once with {@link Throttled}, which each API
 *       answers with its own throttling error; the refusal is counted. An Invoke waiting for its
 *       worker holds no thread and does not count: the account's concurrency bounds those.</li>
 * </ul>
 */
public final class TenantRequests implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TenantRequests.class);

    /** How many threads, how many of them one account may hold, and how many requests it may have in flight. */
    public record Limits(int threads, int runningPerAccount, int inFlightPerAccount) {
        /**
         * Eight threads: tenant calls are store transactions of a few milliseconds and the store
         * has 16 connections, so at most half of them are tenants' and the fleet's registrations,
         * the reconciler and the publisher always find one. Half the threads per account: an
         * account's slow calls leave the other half to everyone else. 1,000 in flight: Lambda's
         * default concurrency, a burst an account may run at once and so may send at once.
         */
        public static final Limits DEFAULTS = new Limits(8, 4, 1000);

        public Limits {
            if (threads < 1) {
                throw new IllegalArgumentException("tenant threads " + threads + ": must be at least 1");
            }
            if (runningPerAccount < 1 || runningPerAccount > threads) {
                throw new IllegalArgumentException("tenant threads per account " + runningPerAccount + ": must be 1.." + threads
                        + " (the number of threads)");
            }
            if (inFlightPerAccount < 1) {
                throw new IllegalArgumentException("requests in flight per account " + inFlightPerAccount + ": must be at least 1");
            }
        }
    }

    /** An account has its bound of requests in flight; the API answers with its throttling error. */
    public static final class Throttled extends RuntimeException {
        Throttled(String account, int inFlight) {
            super("account " + account + " has " + inFlight + " API requests in flight", null, false, false);
        }
    }

    /** One account's line: what it has queued, how many threads it holds, how many requests are in flight. */
    private static final class Account {
        final String id;
        final ArrayDeque<Runnable> queued = new ArrayDeque<>();
        int running;
        int inFlight;
        boolean waitingTurn;

        Account(String id) {
            this.id = id;
        }

        boolean idle() {
            return running == 0 && inFlight == 0 && queued.isEmpty();
        }
    }

    private final Limits limits;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition turnWaiting = lock.newCondition();
    private final Map<String, Account> accounts = new HashMap<>();
    private final ArrayDeque<Account> turns = new ArrayDeque<>();
    private final List<Thread> threads = new ArrayList<>();
    private final LongAdder throttled = new LongAdder();
    private boolean closed;

    public TenantRequests(Limits limits) {
        this.limits = limits;
        // Platform threads: a virtual thread resumes only when a carrier is free, which on a busy
        // machine adds milliseconds to every call (see docs/architecture.md, keeping the critical path on the CPU).
        for (int i = 0; i < limits.threads(); i++) {
            threads.add(Thread.ofPlatform().name("hp-tenant-" + i).daemon().start(this::serve));
        }
    }

    /**
     * Runs {@code call} for {@code account} on a tenant thread when its turn comes. The returned
     * future completes on a tenant thread (so whatever is chained to it, writing the response,
     * runs there too), or at once with {@link Throttled} when the account has its bound in flight.
     */
    public <T> CompletableFuture<T> submit(String account, Supplier<CompletableFuture<T>> call) {
        CompletableFuture<T> answer = new CompletableFuture<>();
        lock.lock();
        try {
            if (closed) {
                return CompletableFuture.failedFuture(new IllegalStateException("the server is stopping"));
            }
            Account a = accounts.computeIfAbsent(account, Account::new);
            if (a.inFlight >= limits.inFlightPerAccount()) {
                throttled.increment();
                return CompletableFuture.failedFuture(new Throttled(account, a.inFlight));
            }
            a.inFlight++;
            enqueue(a, () -> start(account, call, answer));
        } finally {
            lock.unlock();
        }
        return answer;
    }

    /** Requests refused because their account had its bound in flight, since start. */
    public long throttled() {
        return throttled.sum();
    }

    private <T> void start(String account, Supplier<CompletableFuture<T>> call, CompletableFuture<T> answer) {
        CompletableFuture<T> result;
        try {
            result = call.get();
        } catch (RuntimeException | Error e) {
            result = CompletableFuture.failedFuture(e);
        }
        lock.lock();
        try {
            accounts.get(account).inFlight--; // its thread's part is done; running keeps the account in the map
        } finally {
            lock.unlock();
        }
        if (result.isDone()) {
            relay(result, answer);
            return;
        }
        CompletableFuture<T> pending = result;
        pending.whenComplete((value, failure) -> {
            lock.lock();
            try {
                if (closed) {
                    answer.completeExceptionally(new IllegalStateException("the server is stopping"));
                    return;
                }
                enqueue(accounts.computeIfAbsent(account, Account::new), () -> relay(pending, answer));
            } finally {
                lock.unlock();
            }
        });
    }

    private static <T> void relay(CompletableFuture<T> from, CompletableFuture<T> to) {
        from.whenComplete((value, failure) -> {
            if (failure != null) {
                to.completeExceptionally(failure);
            } else {
                to.complete(value);
            }
        });
    }

    /** Under the lock. */
    private void enqueue(Account a, Runnable task) {
        a.queued.addLast(task);
        offerTurn(a);
    }

    /** Under the lock: an account with queued work and a thread to spare waits for its turn at the end of the line. */
    private void offerTurn(Account a) {
        if (!a.waitingTurn && !a.queued.isEmpty() && a.running < limits.runningPerAccount()) {
            a.waitingTurn = true;
            turns.addLast(a);
            turnWaiting.signal();
        }
    }

    private void serve() {
        while (true) {
            Account a;
            Runnable task;
            lock.lock();
            try {
                while (turns.isEmpty() && !closed) {
                    turnWaiting.awaitUninterruptibly();
                }
                if (closed) {
                    return;
                }
                a = turns.pollFirst();
                a.waitingTurn = false;
                task = a.queued.pollFirst();
                a.running++;
                offerTurn(a);
            } finally {
                lock.unlock();
            }
            try {
                task.run();
            } catch (RuntimeException e) {
                LOG.error("a call of account {} failed outside its API's handling", a.id, e);
            }
            lock.lock();
            try {
                a.running--;
                offerTurn(a);
                if (a.idle()) {
                    accounts.remove(a.id); // only accounts with work in progress are kept
                }
            } finally {
                lock.unlock();
            }
        }
    }

    /** Stops the threads; requests still queued are not answered (the HTTP server closes their connections). */
    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            turnWaiting.signalAll();
        } finally {
            lock.unlock();
        }
        for (Thread t : threads) {
            try {
                t.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
