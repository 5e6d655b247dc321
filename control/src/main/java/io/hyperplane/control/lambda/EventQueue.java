package io.hyperplane.control.lambda;

import io.hyperplane.control.lambda.EventRetries.Attempt;
import io.hyperplane.control.lambda.EventRetries.Decision;
import io.hyperplane.control.store.Database;
import io.hyperplane.control.store.StoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The durable queue of asynchronous invocations and its dispatcher. An event is committed to the
 * store before Invoke answers 202; one dispatcher thread claims due events under a lease, taking
 * each account's in turn, and runs each attempt on a virtual thread; the attempt's end (deleted,
 * retried, or dead, with its destination's record enqueued) is one transaction.
 * <pre>
 *   Invoke(Event) ─insert─► queued ─claim (round-robin by account)─► running ─attempt─► end │ retry │ dead (+ record)
 *                             ▲                                        │
 *                             └── restart / lease over (redelivered) ──┘
 * </pre>
 * At least once: a control plane killed while an attempt runs leaves it running in the store;
 * the next start queues it again, so it may run twice (counted as redelivered), never zero times.
 * The dispatcher sleeps until an enqueue or an attempt's end signals it, or until the next event
 * is due, with {@link Settings#backstop} as the longest sleep (when it also looks for leases that
 * ended).
 */
public final class EventQueue implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EventQueue.class);
    /** A destination ARN as the event invoke configuration holds it: a Lambda function, optionally qualified. */
    private static final Pattern FUNCTION_ARN = Pattern.compile("arn:aws[a-zA-Z-]*:lambda:([a-z0-9-]+):(\\d{12}):function:([a-zA-Z0-9_-]{1,64})(?::([a-zA-Z0-9$_-]{1,128}))?");
    /** A store failure in the dispatcher is retried after this, not in a tight loop. */
    private static final Duration STORE_RETRY = Duration.ofSeconds(1);

    /**
     * {@code concurrency}: attempts running at once; {@code delayScale}: multiplies every retry
     * delay (1 in service); {@code accountBound}: events an account may have queued or running;
     * {@code leaseAllowance}: added to a function's timeout for its attempt's lease;
     * {@code backstop}: the longest the dispatcher sleeps without a signal.
     */
    public record Settings(int concurrency, double delayScale, int accountBound, Duration leaseAllowance, Duration backstop) {
        public Settings {
            if (concurrency < 1) {
                throw new IllegalArgumentException("event concurrency " + concurrency + ": must be at least 1");
            }
            if (!(delayScale > 0) || delayScale > 1) {
                throw new IllegalArgumentException("event delay scale " + delayScale + ": must be in (0, 1]");
            }
            if (accountBound < 1) {
                throw new IllegalArgumentException("events per account " + accountBound + ": must be at least 1");
            }
        }
    }

    /** Runs one attempt of an event (blocking: called on a virtual thread of its own); never throws. */
    @FunctionalInterface
    public interface Runner {
        Attempt attempt(EventStore.Event event);
    }

    private final Database db;
    private final Clock clock;
    private final Settings settings;
    private final Runner runner;
    private final ExecutorService attempts = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("hp-event-", 0).factory());
    /** Events queued or running per account: the bound's count, and the accounts the dispatcher visits. */
    private final Map<String, AtomicLong> pending = new ConcurrentHashMap<>();
    /** Functions whose counts row is known to exist. */
    private final Set<String> counted = ConcurrentHashMap.newKeySet();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition signal = lock.newCondition();
    private boolean signalled;
    private volatile boolean running = true;
    private int turn;
    private Thread dispatcher;

    public EventQueue(Database db, Clock clock, Settings settings, Runner runner) {
        this.db = db;
        this.clock = clock;
        this.settings = settings;
        this.runner = runner;
    }

    /**
     * Takes up what the store holds: events a previous process left running are queued again (their
     * attempts may or may not have run), then the dispatcher starts.
     */
    public EventQueue start() {
        int redelivered = db.inTransaction(c -> EventStore.requeueExpired(c, Long.MAX_VALUE, clock.millis()));
        if (redelivered > 0) {
            LOG.info("{} asynchronous invocations were running when the control plane stopped; queued again", redelivered);
        }
        recount();
        dispatcher = Thread.ofPlatform().name("hp-events").daemon().start(this::dispatch);
        return this;
    }

    /**
     * Commits the event (Invoke answers 202 only after this returns). An account with its bound of
     * events waiting is refused, and nothing is stored.
     */
    public void enqueue(EventStore.NewEvent event) {
        AtomicLong count = pending.computeIfAbsent(event.account(), a -> new AtomicLong());
        if (count.incrementAndGet() > settings.accountBound()) {
            count.decrementAndGet();
            throw new LambdaError("TooManyRequestsException", 429, "The account has " + settings.accountBound()
                    + " asynchronous invocations waiting, its bound; try again when some have run.");
        }
        try {
            ensureCounts(event.account(), event.function());
            db.inTransaction(c -> {
                EventStore.insert(c, event, clock.millis());
                return null;
            });
        } catch (RuntimeException e) {
            count.decrementAndGet();
            throw e;
        }
        wake();
    }

    /** The account's functions' events: queued, running, and what became of the others. */
    public List<EventStore.Counts> counts(String account) {
        return db.inTransaction(c -> EventStore.counts(c, account));
    }

    /** Has the dispatcher look at the store now (an event was enqueued or ended, or a test moved the clock). */
    public void wake() {
        lock.lock();
        try {
            signalled = true;
            signal.signal();
        } finally {
            lock.unlock();
        }
    }

    // ---- The dispatcher -------------------------------------------------------------------------

    private void dispatch() {
        long nextLeaseCheck = 0;
        while (running) {
            long wait;
            try {
                long now = clock.millis();
                if (now >= nextLeaseCheck) {
                    int expired = db.inTransaction(c -> EventStore.requeueExpired(c, now, now));
                    if (expired > 0) {
                        LOG.warn("{} asynchronous invocations outlived their lease; queued again", expired);
                    }
                    nextLeaseCheck = now + settings.backstop().toMillis();
                }
                int free = settings.concurrency() - inFlight.get();
                wait = settings.backstop().toMillis(); // all attempts running: the end of one signals
                if (free > 0) {
                    if (claimAndRun(now, free) > 0) {
                        continue; // more may be due: claim again before sleeping
                    }
                    OptionalLong next = db.inTransaction(EventStore::nextDue);
                    if (next.isPresent() && next.getAsLong() <= now) {
                        // Due, yet no account the dispatcher visits has it: its counts drifted from the store's.
                        recount();
                        wait = 1;
                    } else if (next.isPresent()) {
                        wait = Math.min(wait, next.getAsLong() - now);
                    }
                }
            } catch (StoreException e) {
                LOG.warn("the event dispatcher could not read the store: {}", e.getMessage());
                wait = STORE_RETRY.toMillis();
            }
            sleep(wait);
        }
    }

    /** The per-account counts as the store has them. */
    private void recount() {
        Map<String, Long> stored = db.inTransaction(EventStore::pendingPerAccount);
        pending.keySet().forEach(account -> pending.get(account).set(stored.getOrDefault(account, 0L)));
        stored.forEach((account, n) -> pending.computeIfAbsent(account, a -> new AtomicLong()).set(n));
    }

    private void sleep(long millis) {
        lock.lock();
        try {
            long nanos = TimeUnit.MILLISECONDS.toNanos(millis);
            while (!signalled && running && nanos > 0) {
                nanos = signal.awaitNanos(nanos);
            }
            signalled = false;
        } catch (InterruptedException e) {
            running = false;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Claims up to {@code free} due events, the same share from every account with events in turn
     * (starting after the last account the previous pass served), so one account's backlog does not hold up
     * another's event; starts an attempt for each. Returns how many.
     */
    private int claimAndRun(long now, int free) {
        List<String> accounts = new ArrayList<>();
        pending.forEach((account, n) -> {
            if (n.get() > 0) {
                accounts.add(account);
            }
        });
        if (accounts.isEmpty()) {
            return 0;
        }
        int first = Math.floorMod(turn, accounts.size());
        int share = Math.max(1, free / accounts.size());
        long allowance = settings.leaseAllowance().toMillis();
        Pass pass = db.inTransaction(c -> {
            List<EventStore.Event> out = new ArrayList<>();
            int visited = 0;
            while (visited < accounts.size() && out.size() < free) {
                String account = accounts.get((first + visited++) % accounts.size());
                out.addAll(EventStore.claim(c, account, now, allowance, Math.min(share, free - out.size())));
            }
            return new Pass(out, visited);
        });
        // The next pass starts after the last account served: with more accounts than free attempts, each gets its turn.
        turn = first + pass.accountsVisited();
        for (EventStore.Event e : pass.claimed()) {
            inFlight.incrementAndGet();
            attempts.execute(() -> attempt(e));
        }
        return pass.claimed().size();
    }

    /** One claim pass: the events claimed and how many accounts were asked. */
    private record Pass(List<EventStore.Event> claimed, int accountsVisited) {
    }

    // ---- One attempt ----------------------------------------------------------------------------

    private void attempt(EventStore.Event e) {
        try {
            EventInvokeConfig config = db.inTransaction(c -> config(c, e));
            Attempt attempt;
            if (EventRetries.tooOld(e, config, clock.millis())) {
                attempt = new Attempt.TooOld();
            } else {
                try {
                    attempt = runner.attempt(e);
                } catch (RuntimeException failure) {
                    attempt = new Attempt.SystemFailed(failure.toString());
                }
            }
            if (!running) {
                return; // stopping: an attempt cut short is not a failure; the event stays running and the next start runs it again
            }
            finish(e, attempt);
        } catch (RuntimeException failure) {
            // The store failed: the event stays running until its lease ends, then runs again.
            LOG.warn("asynchronous invocation {} of {} could not be ended: {}", e.event().requestId(), e.function(), failure.toString());
        } finally {
            inFlight.decrementAndGet();
            wake();
        }
    }

    /** The attempt's outcome, applied in one transaction with the configuration as it is now. */
    private void finish(EventStore.Event e, Attempt attempt) {
        ensureCounts(e.account(), e.function());
        Ending ending = db.inTransaction(c -> {
            EventInvokeConfig config = config(c, e);
            Decision decision = EventRetries.decide(attempt, e, config, clock.millis(), settings.delayScale());
            String function = e.function();
            switch (decision) {
                case Decision.Retry r -> {
                    if (EventStore.retry(c, e, r.attempts(), r.functionErrors(), r.systemFailures(), r.dueAt())) {
                        EventStore.add(c, e.account(), function, EventStore.Counter.RETRIED, 1);
                    }
                    return Ending.NOT_ENDED;
                }
                case Decision.Succeeded s -> {
                    if (!EventStore.end(c, e)) {
                        return Ending.NOT_ENDED; // its lease ran out: the event's next claim decides
                    }
                    EventStore.add(c, e.account(), function, EventStore.Counter.SUCCEEDED, 1);
                    return new Ending(true, destination(c, e, config.onSuccess(), EventRetries.SUCCESS, e.attempts() + 1, attempt));
                }
                case Decision.Dead d -> {
                    if (!EventStore.end(c, e)) {
                        return Ending.NOT_ENDED;
                    }
                    EventStore.add(c, e.account(), function, EventStore.Counter.DEAD, 1);
                    LOG.info("asynchronous invocation {} of {} dropped after {} attempts: {}", e.event().requestId(), function, d.attempts(),
                            d.condition() == null ? describe(attempt) : d.condition());
                    return new Ending(true, d.condition() == null ? null : destination(c, e, config.onFailure(), d.condition(), d.attempts(), attempt));
                }
            }
        });
        if (ending.ended()) {
            settle(e, ending.enqueued());
        }
    }

    /** What an attempt's transaction did: ended the event or not, and the destination record it enqueued (or null). */
    private record Ending(boolean ended, EventStore.NewEvent enqueued) {
        static final Ending NOT_ENDED = new Ending(false, null);
    }

    /** Keeps the in-memory per-account counts true to the store once an end has committed. */
    private void settle(EventStore.Event ended, EventStore.NewEvent enqueued) {
        if (enqueued != null) {
            pending.computeIfAbsent(enqueued.account(), a -> new AtomicLong()).incrementAndGet();
        }
        pending.computeIfAbsent(ended.account(), a -> new AtomicLong()).updateAndGet(n -> Math.max(0, n - 1));
    }

    /**
     * The invocation record for {@code arn}'s function, enqueued in the caller's transaction, or
     * null when no destination is set. A destination function that does not exist is found so
     * when its event's turn comes: the record is dropped then, and counted dead.
     */
    private EventStore.NewEvent destination(Connection c, EventStore.Event e, String arn, String condition, int invokeCount, Attempt attempt)
            throws SQLException {
        if (arn == null) {
            return null;
        }
        Matcher m = FUNCTION_ARN.matcher(arn);
        if (!m.matches()) {
            LOG.warn("destination {} of {} is not a Lambda function; the record of {} is dropped", arn, e.function(), e.event().requestId());
            return null;
        }
        EventStore.NewEvent source = e.event();
        InvocationRecord.Response response = switch (attempt) {
            case Attempt.Succeeded s -> new InvocationRecord.Response(source.qualifier(), null, s.response());
            case Attempt.FunctionFailed f -> new InvocationRecord.Response(source.qualifier(), f.functionError(), f.response());
            default -> null;
        };
        String functionArn = LambdaApi.arn(source.region(), source.account(), source.function()) + ":" + source.qualifier();
        byte[] record = new InvocationRecord(source.requestId(), functionArn, condition, invokeCount, source.payload(), response,
                clock.instant()).toJson();
        EventStore.NewEvent event = new EventStore.NewEvent(UUID.randomUUID().toString(), m.group(2), m.group(1), m.group(3),
                m.group(4) == null ? FunctionStore.LATEST : m.group(4), null, record);
        EventStore.insert(c, event, clock.millis());
        return event;
    }

    private static EventInvokeConfig config(Connection c, EventStore.Event e) throws SQLException {
        return EventInvokeConfigStore.effective(c, e.account(), e.function(), e.event().qualifier());
    }

    private static String describe(Attempt attempt) {
        return switch (attempt) {
            case Attempt.Gone g -> g.message();
            default -> attempt.getClass().getSimpleName();
        };
    }

    /**
     * Makes the function's counts row in a transaction of its own, once per function per process:
     * a concurrent maker's row wins the race, and the loser's failed insert is harmless.
     */
    private void ensureCounts(String account, String function) {
        String key = account + "/" + function;
        if (counted.contains(key)) {
            return;
        }
        Database.Work<Void> make = c -> {
            EventStore.ensureCounts(c, account, function);
            return null;
        };
        try {
            db.inTransaction(make);
        } catch (StoreException raced) {
            db.inTransaction(make); // the winner's row is there now: nothing to insert
        }
        counted.add(key);
    }

    @Override
    public void close() {
        running = false;
        wake();
        if (dispatcher != null) {
            try {
                dispatcher.join(Duration.ofSeconds(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        attempts.shutdownNow();
    }
}
