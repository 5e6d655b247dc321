package io.hyperplane.runtime;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The Lambda Runtime API's protocol for one execution environment, without HTTP: what each runtime
 * request does to the environment's state and what it is answered, as AWS's Runtime Interface
 * Emulator (the open-source core of the service's own Runtime API) keeps it. {@link RuntimeApiServer}
 * reads requests off the wire, calls one method here per request and renders the {@link Answer}.
 *
 * <p>One invocation at a time, as a Lambda execution environment has. The worker owns timeouts and
 * process exits; this class only keeps the protocol's state:
 *
 * <pre>
 *  Started --/next--&gt; Ready --event handed over--&gt; Running --/response|/error|abandon--&gt; RuntimeResponseSentState --/next--&gt; Ready
 *  Started --/init/error--&gt; InitError   (terminal: the runtime is expected to exit)
 * </pre>
 *
 * A {@code /next} from InitError or Running, and an {@code /init/error} from anything but Started, is
 * refused as {@link Answer.InvalidStateTransition}, naming both states as AWS names them. An answer
 * ({@code /response}, {@code /error}) is checked against the request id in flight, not the state: an id
 * that is not in flight is {@link Answer.InvalidRequestId}, one the worker {@link #abandon abandoned}
 * {@link Answer.InvokeTimeout}.
 *
 * <p>Thread-safe: one lock guards the state; {@link #next} waits on its condition, and futures are
 * completed outside it.
 */
final class RuntimeApiProtocol {

    /** The runtime's side of the protocol; names are the ones AWS puts in InvalidStateTransition messages. */
    enum RuntimeState {
        STARTED("Started"),
        INIT_ERROR("InitError"),
        READY("Ready"),
        RUNNING("Running"),
        RESPONSE_SENT("RuntimeResponseSentState");

        final String awsName;

        RuntimeState(String awsName) {
            this.awsName = awsName;
        }
    }

    /** A body a runtime posted, as the HTTP layer read it under its cap: whole, or refused having kept none of it. */
    sealed interface Posted {

        record Whole(byte[] bytes) implements Posted {
            public Whole {
                Objects.requireNonNull(bytes, "bytes");
            }
        }

        /** {@code size}: the declared length, or for a chunked body the cap + 1 bytes read before refusing. */
        record TooLarge(long size, int cap) implements Posted {
            public TooLarge {
                if (size <= cap) {
                    throw new IllegalArgumentException("a body of " + size + " bytes is not over the cap of " + cap);
                }
            }
        }
    }

    /** The protocol's answer to one runtime request; {@link RuntimeApiServer} renders each as AWS does. */
    sealed interface Answer {

        /** {@code /next}: the event to hand over (200, the payload and the {@code Lambda-Runtime-*} headers). */
        record Event(Invocation invocation) implements Answer {
        }

        /** 202 {@code {"status":"OK"}}. */
        record Accepted() implements Answer {
        }

        /** 400 {@code InvalidRequestID}: the id is not the invocation in flight. */
        record InvalidRequestId() implements Answer {
        }

        /** 410 {@code InvokeTimeout}: the id is an invocation the worker abandoned. */
        record InvokeTimeout() implements Answer {
        }

        /** 403 {@code InvalidStateTransition} from {@code from} to {@code to}. */
        record InvalidStateTransition(RuntimeState from, RuntimeState to) implements Answer {
        }

        /** 413 {@code RequestEntityTooLarge}: the body was over {@code cap} bytes. */
        record RequestEntityTooLarge(int cap) implements Answer {
        }

        /** 500: the environment is going away (AWS: "Container error. Non-recoverable state."). */
        record ContainerError() implements Answer {
        }
    }

    private record Pending(Invocation invocation, CompletableFuture<InvocationOutcome> future) {
    }

    /** The in-flight invocation the runtime answers, taken off (state: response sent); or why it cannot be. */
    private record Answered(Pending done, Answer rejected) {
    }

    private final String where;
    private final InstantSource clock;
    private final CompletableFuture<InitOutcome> initOutcome = new CompletableFuture<>();

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    // All below guarded by lock.
    private RuntimeState state = RuntimeState.STARTED;
    private Pending queued;
    private Pending inFlight;
    private String abandonedRequestId;
    private InitOutcome.InitError initError;
    private Instant initDoneAt;
    private long initDoneNanos;
    private boolean closed;

    /**
     * @param where what the environment's API is called in exception messages (its address)
     * @param clock where {@link #initDoneAt()} comes from
     */
    RuntimeApiProtocol(String where, InstantSource clock) {
        this.where = Objects.requireNonNull(where, "where");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    // ---- The worker's side --------------------------------------------------------------------------

    /** See {@link RuntimeApiServer#awaitInit}. */
    InitOutcome awaitInit(Duration timeout) throws InterruptedException {
        long nanos = timeout.toNanos();
        lock.lock();
        try {
            while (state == RuntimeState.STARTED && !closed) {
                if (nanos <= 0) {
                    return new InitOutcome.TimedOut();
                }
                nanos = changed.awaitNanos(nanos);
            }
            return initOutcomeNow();
        } finally {
            lock.unlock();
        }
    }

    /** See {@link RuntimeApiServer#initOutcome}. */
    CompletableFuture<InitOutcome> initOutcome() {
        return initOutcome.copy();
    }

    /** Init's outcome once it has one (Started left, or closed); call with the lock held. */
    private InitOutcome initOutcomeNow() {
        if (initError != null) {
            return initError;
        }
        return initDoneAt != null ? new InitOutcome.Ready() : new InitOutcome.TimedOut();
    }

    Optional<Instant> initDoneAt() {
        lock.lock();
        try {
            return Optional.ofNullable(initDoneAt);
        } finally {
            lock.unlock();
        }
    }

    OptionalLong initDoneNanos() {
        lock.lock();
        try {
            return initDoneAt == null ? OptionalLong.empty() : OptionalLong.of(initDoneNanos);
        } finally {
            lock.unlock();
        }
    }

    /** See {@link RuntimeApiServer#invoke}. */
    CompletableFuture<InvocationOutcome> invoke(Invocation invocation) {
        Objects.requireNonNull(invocation, "invocation");
        CompletableFuture<InvocationOutcome> future = new CompletableFuture<>();
        InitOutcome.InitError failedInit;
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("Runtime API on " + where + " is closed; cannot invoke " + invocation.requestId());
            }
            Pending busy = inFlight != null ? inFlight : queued;
            if (busy != null) {
                throw new IllegalStateException("cannot invoke " + invocation.requestId() + ": invocation "
                        + busy.invocation().requestId() + " is still in flight on " + where
                        + " (one at a time; abandon it first)");
            }
            failedInit = initError;
            if (failedInit == null) {
                queued = new Pending(invocation, future);
                changed.signalAll();
            }
        } finally {
            lock.unlock();
        }
        if (failedInit != null) {
            future.complete(asFunctionError(failedInit));
        }
        return future;
    }

    /** See {@link RuntimeApiServer#abandon}. */
    boolean abandon(String requestId) {
        Pending dropped = null;
        lock.lock();
        try {
            if (inFlight != null && inFlight.invocation().requestId().equals(requestId)) {
                dropped = inFlight;
                inFlight = null;
                state = RuntimeState.RESPONSE_SENT;
            } else if (queued != null && queued.invocation().requestId().equals(requestId)) {
                dropped = queued;
                queued = null;
            }
            if (dropped != null) {
                abandonedRequestId = requestId;
            }
        } finally {
            lock.unlock();
        }
        if (dropped != null) {
            dropped.future().cancel(false);
        }
        return dropped != null;
    }

    /**
     * Ends the protocol: a waiting {@code /next} is answered {@link Answer.ContainerError}, an invocation
     * queued or in flight is cancelled, and an init still waited for ends as {@link InitOutcome.TimedOut}.
     *
     * @return false if it was closed already
     */
    boolean close() {
        Pending queuedDropped;
        Pending inFlightDropped;
        InitOutcome init;
        lock.lock();
        try {
            if (closed) {
                return false;
            }
            closed = true;
            queuedDropped = queued;
            inFlightDropped = inFlight;
            queued = null;
            inFlight = null;
            init = initOutcomeNow();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        initOutcome.complete(init);
        if (queuedDropped != null) {
            queuedDropped.future().cancel(false);
        }
        if (inFlightDropped != null) {
            inFlightDropped.future().cancel(false);
        }
        return true;
    }

    // ---- The runtime's side -------------------------------------------------------------------------

    /**
     * {@code GET /next}: the runtime is ready (the first call ends init) and waits for an event, as
     * long as it takes: the long-poll has no time limit.
     */
    Answer next() {
        boolean initDone;
        lock.lock();
        try {
            if (state == RuntimeState.INIT_ERROR || state == RuntimeState.RUNNING) {
                return new Answer.InvalidStateTransition(state, RuntimeState.READY);
            }
            initDone = state == RuntimeState.STARTED;
            if (initDone) {
                initDoneAt = clock.instant();
                initDoneNanos = System.nanoTime();
            }
            state = RuntimeState.READY;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        if (initDone) {
            initOutcome.complete(new InitOutcome.Ready()); // outside the lock: whatever waits on it runs here
        }
        lock.lock();
        try {
            return awaitEvent();
        } finally {
            lock.unlock();
        }
    }

    /** Waits for an invocation and takes it (state: running); call with the lock held. */
    private Answer awaitEvent() {
        try {
            while (queued == null && !closed) {
                changed.await();
            }
        } catch (InterruptedException shuttingDown) {
            Thread.currentThread().interrupt();
            return new Answer.ContainerError();
        }
        if (closed) {
            return new Answer.ContainerError();
        }
        Pending taken = queued;
        queued = null;
        inFlight = taken;
        state = RuntimeState.RUNNING;
        return new Answer.Event(taken.invocation());
    }

    /**
     * {@code POST /invocation/{id}/response}. A body over the cap fails the invocation as AWS fails it,
     * {@code Function.ResponseSizeTooLarge}, naming the declared size (or, for a chunked body, the cap + 1
     * bytes read before refusing), and the runtime is answered 413.
     */
    Answer response(Posted body, String requestId) {
        Answered answered = answer(requestId);
        if (answered.rejected() != null) {
            return answered.rejected();
        }
        CompletableFuture<InvocationOutcome> future = answered.done().future();
        return switch (body) {
            case Posted.TooLarge tooLarge -> {
                future.complete(responseTooLarge(tooLarge));
                yield new Answer.RequestEntityTooLarge(tooLarge.cap());
            }
            case Posted.Whole whole -> {
                future.complete(new InvocationOutcome.Success(whole.bytes()));
                yield new Answer.Accepted();
            }
        };
    }

    /**
     * {@code POST /invocation/{id}/error}. A body over the cap is dropped, never cut (a cut JSON document
     * is no error document): the error stands with the errorType of its header and an empty errorMessage,
     * as AWS reports an error posted without a body, and the runtime is answered 413.
     */
    Answer error(Posted body, String typeHeader, String requestId) {
        Answered answered = answer(requestId);
        if (answered.rejected() != null) {
            return answered.rejected();
        }
        byte[] raw = body instanceof Posted.Whole whole ? whole.bytes() : new byte[0];
        ErrorBodies.Reported reported = ErrorBodies.read(raw, typeHeader);
        // Without a readable body AWS builds the caller's error from the header alone.
        byte[] errorJson = raw.length > 0 ? raw : ErrorBodies.render(reported.errorType(), reported.errorMessage());
        answered.done().future().complete(new InvocationOutcome.FunctionError(reported.errorType(), errorJson));
        return accepted(body);
    }

    /** {@code POST /init/error}, allowed only during init. Over the cap init fails all the same, as for {@code /error}. */
    Answer initError(Posted body, String typeHeader) {
        byte[] raw = body instanceof Posted.Whole whole ? whole.bytes() : new byte[0];
        ErrorBodies.Reported reported = ErrorBodies.read(raw, typeHeader);
        InitOutcome.InitError failure = new InitOutcome.InitError(reported.errorType(), reported.errorMessage(), raw);
        Pending waiting;
        lock.lock();
        try {
            if (state != RuntimeState.STARTED) {
                return new Answer.InvalidStateTransition(state, RuntimeState.INIT_ERROR);
            }
            state = RuntimeState.INIT_ERROR;
            initError = failure;
            waiting = queued;
            queued = null;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        initOutcome.complete(failure);
        if (waiting != null) {
            waiting.future().complete(asFunctionError(failure));
        }
        return accepted(body);
    }

    private static Answer accepted(Posted body) {
        return body instanceof Posted.TooLarge tooLarge ? new Answer.RequestEntityTooLarge(tooLarge.cap()) : new Answer.Accepted();
    }

    private Answered answer(String requestId) {
        lock.lock();
        try {
            if (inFlight == null || !inFlight.invocation().requestId().equals(requestId)) {
                return new Answered(null, requestId.equals(abandonedRequestId) ? new Answer.InvokeTimeout() : new Answer.InvalidRequestId());
            }
            Pending done = inFlight;
            inFlight = null;
            state = RuntimeState.RESPONSE_SENT;
            return new Answered(done, null);
        } finally {
            lock.unlock();
        }
    }

    private static InvocationOutcome.FunctionError responseTooLarge(Posted.TooLarge body) {
        String type = "Function.ResponseSizeTooLarge";
        return new InvocationOutcome.FunctionError(type, ErrorBodies.render(type, "Response payload size (" + body.size()
                + " bytes) exceeded maximum allowed payload size (" + body.cap() + " bytes)."));
    }

    private static InvocationOutcome.FunctionError asFunctionError(InitOutcome.InitError failure) {
        byte[] body = failure.rawBody().length > 0 ? failure.rawBody()
                : ErrorBodies.render(failure.errorType(), failure.errorMessage());
        return new InvocationOutcome.FunctionError(failure.errorType(), body);
    }
}
