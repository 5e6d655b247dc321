package io.hyperplane.runtime;

import io.hyperplane.runtime.RuntimeApiProtocol.Answer;
import io.hyperplane.runtime.RuntimeApiProtocol.Posted;
import io.hyperplane.runtime.RuntimeApiProtocol.RuntimeState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The Runtime API's protocol without HTTP: each runtime request as a method call, each answer as a value.
 * A {@code /next} is the one call that waits, so it runs on a thread of its own.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class RuntimeApiProtocolTest {
    private static final Instant INIT_DONE = Instant.parse("2024-05-01T12:00:00Z");
    private static final String ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn";

    private final RuntimeApiProtocol protocol = new RuntimeApiProtocol("127.0.0.1:9001", InstantSource.fixed(INIT_DONE));
    private final ExecutorService runtime = Executors.newCachedThreadPool();

    @AfterEach
    void stop() {
        protocol.close();
        runtime.shutdownNow();
    }

    @Test
    void shouldEndInitAtTheFirstNextAndHandOverTheEventInvokedAfterIt() throws Exception {
        CompletableFuture<Answer> next = next();
        assertThat(protocol.awaitInit(Duration.ofSeconds(10))).isInstanceOf(InitOutcome.Ready.class);
        assertThat(protocol.initDoneAt()).contains(INIT_DONE);
        assertThat(protocol.initDoneNanos()).isPresent();
        assertThat(next).isNotDone();

        Invocation invocation = invocation("req-1");
        CompletableFuture<InvocationOutcome> outcome = protocol.invoke(invocation);

        assertThat(next.get(10, TimeUnit.SECONDS)).isEqualTo(new Answer.Event(invocation));
        assertThat(outcome).isNotDone();
        assertThat(protocol.response(whole("\"done\""), "req-1")).isEqualTo(new Answer.Accepted());
        assertThat(outcome.get(10, TimeUnit.SECONDS)).isInstanceOfSatisfying(InvocationOutcome.Success.class,
                s -> assertThat(text(s.payload())).isEqualTo("\"done\""));
    }

    @Test
    void shouldQueueAnInvocationMadeBeforeTheFirstNext() throws Exception {
        Invocation early = invocation("early");
        protocol.invoke(early);

        assertThat(next().get(10, TimeUnit.SECONDS)).isEqualTo(new Answer.Event(early));
    }

    @Test
    void shouldCompleteTheInitFutureAtTheFirstNext() throws Exception {
        CompletableFuture<InitOutcome> init = protocol.initOutcome();
        assertThat(init).isNotDone();

        next();

        assertThat(init.get(10, TimeUnit.SECONDS)).isInstanceOf(InitOutcome.Ready.class);
    }

    @Test
    void shouldEndTheInitFutureAsTimedOutWhenClosedDuringInit() throws Exception {
        CompletableFuture<InitOutcome> init = protocol.initOutcome();

        protocol.close();

        assertThat(init.get(10, TimeUnit.SECONDS)).isInstanceOf(InitOutcome.TimedOut.class);
        assertThat(protocol.awaitInit(Duration.ofSeconds(1))).isInstanceOf(InitOutcome.TimedOut.class);
    }

    @Test
    void shouldReportTimedOutWhenTheRuntimeNeverCalls() throws Exception {
        assertThat(protocol.awaitInit(Duration.ofMillis(20))).isInstanceOf(InitOutcome.TimedOut.class);
        assertThat(protocol.initDoneAt()).isEmpty();
        assertThat(protocol.initOutcome()).isNotDone();
    }

    @Test
    void shouldRejectAnIdNotInFlightAndAnIdAnsweredAlready() throws Exception {
        running("req-2");

        assertThat(protocol.response(whole("{}"), "nope")).isEqualTo(new Answer.InvalidRequestId());
        assertThat(protocol.response(whole("{}"), "req-2")).isEqualTo(new Answer.Accepted());
        assertThat(protocol.response(whole("{}"), "req-2")).isEqualTo(new Answer.InvalidRequestId());
        assertThat(protocol.error(whole("{}"), null, "req-2")).isEqualTo(new Answer.InvalidRequestId());
    }

    @Test
    void shouldFailTheInvocationWithTheErrorBodyAsPosted() throws Exception {
        CompletableFuture<InvocationOutcome> outcome = running("req-3");
        String error = "{\"errorMessage\":\"boom\",\"errorType\":\"ValueError\",\"stackTrace\":[]}";

        assertThat(protocol.error(whole(error), "Unhandled", "req-3")).isEqualTo(new Answer.Accepted());

        assertThat(outcome.get(10, TimeUnit.SECONDS)).isInstanceOfSatisfying(InvocationOutcome.FunctionError.class, e -> {
            assertThat(e.errorType()).isEqualTo("ValueError");
            assertThat(text(e.body())).isEqualTo(error);
        });
    }

    @Test
    void shouldBuildTheErrorFromTheHeaderWhenTheBodyIsEmpty() throws Exception {
        CompletableFuture<InvocationOutcome> outcome = running("req-4");

        protocol.error(whole(""), "Runtime.ExitError", "req-4");

        assertThat(outcome.get(10, TimeUnit.SECONDS)).isInstanceOfSatisfying(InvocationOutcome.FunctionError.class, e -> {
            assertThat(e.errorType()).isEqualTo("Runtime.ExitError");
            assertThat(text(e.body())).isEqualTo("{\"errorMessage\":\"\",\"errorType\":\"Runtime.ExitError\"}");
        });
    }

    @Test
    void shouldFailAnOversizedResponseAsResponseSizeTooLargeAndAnswerWithTheCap() throws Exception {
        CompletableFuture<InvocationOutcome> outcome = running("big");

        assertThat(protocol.response(new Posted.TooLarge(101, 100), "big")).isEqualTo(new Answer.RequestEntityTooLarge(100));

        assertThat(outcome.get(10, TimeUnit.SECONDS)).isInstanceOfSatisfying(InvocationOutcome.FunctionError.class, e -> {
            assertThat(e.errorType()).isEqualTo("Function.ResponseSizeTooLarge");
            assertThat(text(e.body())).isEqualTo("{\"errorMessage\":\"Response payload size (101 bytes) exceeded maximum allowed"
                    + " payload size (100 bytes).\",\"errorType\":\"Function.ResponseSizeTooLarge\"}");
        });
    }

    @Test
    void shouldStillFailTheInvocationWithTheHeadersTypeWhenTheErrorIsOversized() throws Exception {
        CompletableFuture<InvocationOutcome> outcome = running("big-error");

        assertThat(protocol.error(new Posted.TooLarge(51, 50), "Oops", "big-error")).isEqualTo(new Answer.RequestEntityTooLarge(50));

        assertThat(outcome.get(10, TimeUnit.SECONDS)).isInstanceOfSatisfying(InvocationOutcome.FunctionError.class,
                e -> assertThat(e.errorType()).isEqualTo("Oops"));
    }

    @Test
    void shouldEndInitWithTheInitErrorAndFailEveryInvocationWithIt() throws Exception {
        CompletableFuture<InvocationOutcome> queued = protocol.invoke(invocation("queued"));
        String body = "{\"errorMessage\":\"Unable to import module 'x'\",\"errorType\":\"Runtime.ImportModuleError\"}";

        assertThat(protocol.initError(whole(body), null)).isEqualTo(new Answer.Accepted());

        assertThat(protocol.awaitInit(Duration.ofSeconds(1))).isInstanceOfSatisfying(InitOutcome.InitError.class, e -> {
            assertThat(e.errorType()).isEqualTo("Runtime.ImportModuleError");
            assertThat(e.errorMessage()).isEqualTo("Unable to import module 'x'");
        });
        assertThat(protocol.initOutcome().get(1, TimeUnit.SECONDS)).isInstanceOf(InitOutcome.InitError.class);
        assertThat(queued.get(1, TimeUnit.SECONDS)).isInstanceOfSatisfying(InvocationOutcome.FunctionError.class,
                e -> assertThat(text(e.body())).isEqualTo(body));
        assertThat(protocol.invoke(invocation("later")).get(1, TimeUnit.SECONDS)).isInstanceOf(InvocationOutcome.FunctionError.class);
    }

    @Test
    void shouldAnswerALateResponseToAnAbandonedInvocationWithInvokeTimeoutAndServeAgain() throws Exception {
        CompletableFuture<InvocationOutcome> outcome = running("slow");

        assertThat(protocol.abandon("slow")).isTrue();

        assertThat(outcome).isCancelled();
        assertThat(protocol.response(whole("{}"), "slow")).isEqualTo(new Answer.InvokeTimeout());
        assertThat(protocol.abandon("slow")).isFalse();
        Invocation after = invocation("after");
        CompletableFuture<Answer> next = next();
        protocol.invoke(after);
        assertThat(next.get(10, TimeUnit.SECONDS)).isEqualTo(new Answer.Event(after));
    }

    @Test
    void shouldAbandonAQueuedInvocation() {
        CompletableFuture<InvocationOutcome> queued = protocol.invoke(invocation("queued"));

        assertThat(protocol.abandon("queued")).isTrue();

        assertThat(queued).isCancelled();
        assertThat(protocol.invoke(invocation("next-one"))).isNotDone();
    }

    @Test
    void shouldAllowOneInvocationAtATime() {
        protocol.invoke(invocation("first"));

        assertThatThrownBy(() -> protocol.invoke(invocation("second"))).isInstanceOf(IllegalStateException.class)
                .hasMessage("cannot invoke second: invocation first is still in flight on 127.0.0.1:9001 (one at a time; abandon it first)");
    }

    @Test
    void shouldAnswerAWaitingNextWithAContainerErrorAndCancelTheInvocationOnClose() throws Exception {
        CompletableFuture<InvocationOutcome> inFlight = running("req-5");
        CompletableFuture<Answer> waiting = next(); // from RUNNING: refused at once

        assertThat(waiting.get(10, TimeUnit.SECONDS)).isEqualTo(new Answer.InvalidStateTransition(RuntimeState.RUNNING, RuntimeState.READY));
        protocol.response(whole("{}"), "req-5");
        CompletableFuture<Answer> next = next(); // waiting, or about to: either way the close answers it

        assertThat(protocol.close()).isTrue();
        assertThat(protocol.close()).as("idempotent").isFalse();
        assertThat(next.get(10, TimeUnit.SECONDS)).isEqualTo(new Answer.ContainerError());
        assertThat(inFlight).isCompleted();
        assertThatThrownBy(() -> protocol.invoke(invocation("late"))).isInstanceOf(IllegalStateException.class)
                .hasMessage("Runtime API on 127.0.0.1:9001 is closed; cannot invoke late");
    }

    @Test
    void shouldCancelAnInvocationInFlightOnClose() throws Exception {
        CompletableFuture<InvocationOutcome> inFlight = running("req-6");

        protocol.close();

        assertThat(inFlight).isCancelled();
    }

    /** Every state in which {@code /next} is not a transition: after an init error, and while an invocation runs. */
    @ParameterizedTest
    @EnumSource(value = RuntimeState.class, names = {"INIT_ERROR", "RUNNING"})
    void shouldRefuseNextFrom(RuntimeState state) throws Exception {
        reach(state);

        assertThat(next().get(10, TimeUnit.SECONDS)).isEqualTo(new Answer.InvalidStateTransition(state, RuntimeState.READY));
    }

    /** Every state but Started: init has ended, one way or the other. */
    @ParameterizedTest
    @EnumSource(value = RuntimeState.class, names = "STARTED", mode = EnumSource.Mode.EXCLUDE)
    void shouldRefuseInitErrorFrom(RuntimeState state) throws Exception {
        reach(state);

        assertThat(protocol.initError(whole("{}"), null)).isEqualTo(new Answer.InvalidStateTransition(state, RuntimeState.INIT_ERROR));
    }

    @Test
    void shouldNameTheStatesAsAwsDoes() {
        assertThat(RuntimeState.RESPONSE_SENT.awsName).isEqualTo("RuntimeResponseSentState");
        assertThat(RuntimeState.INIT_ERROR.awsName).isEqualTo("InitError");
    }

    /** Drives the protocol into {@code state} by the runtime's and the worker's own calls. */
    private void reach(RuntimeState state) throws Exception {
        switch (state) {
            case STARTED -> {
            }
            case INIT_ERROR -> protocol.initError(whole("{}"), null);
            case READY -> {
                next();
                protocol.awaitInit(Duration.ofSeconds(10));
            }
            case RUNNING -> running("req-running");
            case RESPONSE_SENT -> {
                running("req-answered");
                protocol.response(whole("{}"), "req-answered");
            }
        }
    }

    /** An invocation handed to the runtime and not yet answered (state: Running). */
    private CompletableFuture<InvocationOutcome> running(String requestId) throws Exception {
        CompletableFuture<Answer> next = next();
        CompletableFuture<InvocationOutcome> outcome = protocol.invoke(invocation(requestId));
        assertThat(next.get(10, TimeUnit.SECONDS)).isInstanceOf(Answer.Event.class);
        return outcome;
    }

    private CompletableFuture<Answer> next() {
        return CompletableFuture.supplyAsync(protocol::next, runtime);
    }

    private static Invocation invocation(String requestId) {
        return new Invocation(requestId, "{}".getBytes(StandardCharsets.UTF_8), 1_700_000_000_000L, ARN, "Root=1-0-0", null, null);
    }

    private static Posted whole(String body) {
        return new Posted.Whole(body.getBytes(StandardCharsets.UTF_8));
    }

    private static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
