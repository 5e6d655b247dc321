package io.hyperplane.worker;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hyperplane.metrics.LatencyRecorder;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Invocation and cold-start counts, and the distributions of each cold-start phase, served at
 * {@code GET /metrics}. A distribution is {@code {"count":N,"p50":..,"p99":..,"max":..}} in
 * milliseconds to two decimals (just {@code {"count":0}} before the first sample), percentiles by
 * {@link LatencyRecorder}'s one definition (nearest rank). Recorders are bounded in memory, so the
 * worker keeps every sample of its life.
 */
final class WorkerMetrics {
    private final AtomicLong invocations = new AtomicLong();
    private final AtomicLong coldStarts = new AtomicLong();
    private final AtomicLong initFailures = new AtomicLong();
    private final AtomicLong legacyEnisCreated = new AtomicLong();
    private final AtomicLong legacyThrottled = new AtomicLong();
    private final AtomicLong legacyFailures = new AtomicLong();
    private final LatencyRecorder networkAttachMs = new LatencyRecorder();
    private final LatencyRecorder processStartMs = new LatencyRecorder();
    private final LatencyRecorder sandboxMs = new LatencyRecorder();
    private final LatencyRecorder runtimeInitMs = new LatencyRecorder();
    private final LatencyRecorder coldStartMs = new LatencyRecorder();
    private final LatencyRecorder eniCreateMs = new LatencyRecorder();
    private final LatencyRecorder attachBindMs = new LatencyRecorder();
    private final LatencyRecorder attachSlotWaitMs = new LatencyRecorder();
    private final LatencyRecorder slotNamespaceMs = new LatencyRecorder();
    private final LatencyRecorder slotRegisterMs = new LatencyRecorder();
    private final LatencyRecorder slotDeviceMs = new LatencyRecorder();

    void invoked() {
        invocations.incrementAndGet();
    }

    void initFailed() {
        initFailures.incrementAndGet();
    }

    /** A cold start that made its environment, with its phases and its whole time. */
    void coldStarted(ColdStartPhases phases, double totalMs) {
        coldStarts.incrementAndGet();
        networkAttachMs.recordMillis(phases.networkAttachMs());
        processStartMs.recordMillis(phases.processStartMs());
        if (!Double.isNaN(phases.sandboxMs())) {
            sandboxMs.recordMillis(phases.sandboxMs());
        }
        runtimeInitMs.recordMillis(phases.runtimeInitMs());
        coldStartMs.recordMillis(totalMs);
    }

    /** The two steps of a VPC network attach: taking a slot (prepared or made now), and binding it until every node has it. */
    void attached(double takeSlotMs, double bindMs) {
        attachSlotWaitMs.recordMillis(takeSlotMs);
        attachBindMs.recordMillis(bindMs);
    }

    /** Where a slot's preparation time went (see {@link EnvironmentNetwork.Steps}). */
    void slotPrepared(double namespaceMs, double registerMs, double deviceMs) {
        slotNamespaceMs.recordMillis(namespaceMs);
        slotRegisterMs.recordMillis(registerMs);
        slotDeviceMs.recordMillis(deviceMs);
    }

    /** A legacy ENI creation that ended, made or not, after {@code ms}. */
    void legacyEniCreation(double ms) {
        eniCreateMs.recordMillis(ms);
    }

    void legacyEniCreated(boolean throttled) {
        legacyEnisCreated.incrementAndGet();
        if (throttled) {
            legacyThrottled.incrementAndGet();
        }
    }

    void legacyEniRefused(boolean throttled) {
        if (throttled) {
            legacyThrottled.incrementAndGet();
        }
        legacyFailures.incrementAndGet();
    }

    /** {@code GET /metrics}: these, with the worker's environments, its ready network slots and how binds were answered. */
    ObjectNode json(int environments, int readySlots, ControlPlane.BindsAnswered binds) {
        ObjectNode o = JsonNodeFactory.instance.objectNode().put("environments", environments).put("invocations", invocations.get())
                .put("coldStarts", coldStarts.get()).put("initFailures", initFailures.get()).put("legacyEnisCreated", legacyEnisCreated.get())
                .put("legacyEniCreationsThrottled", legacyThrottled.get()).put("legacyEniFailures", legacyFailures.get());
        o.set("networkAttachMs", distribution(networkAttachMs));
        o.set("processStartMs", distribution(processStartMs));
        o.set("sandboxMs", distribution(sandboxMs));
        o.set("runtimeInitMs", distribution(runtimeInitMs));
        o.set("coldStartMs", distribution(coldStartMs));
        o.set("legacyEniCreateMs", distribution(eniCreateMs));
        ObjectNode steps = o.putObject("networkAttachSteps");
        steps.set("takeSlotMs", distribution(attachSlotWaitMs));
        steps.set("bindUntilEveryNodeHasItMs", distribution(attachBindMs));
        ObjectNode slot = o.putObject("slotPreparation");
        slot.set("namespaceMs", distribution(slotNamespaceMs));
        slot.set("registerVniMs", distribution(slotRegisterMs));
        slot.set("tunnelDeviceMs", distribution(slotDeviceMs));
        o.put("readySlots", readySlots);
        o.putObject("bindsAnswered").put("overControlStream", binds.overControlStream()).put("overHttp", binds.overHttp());
        return o;
    }

    private static ObjectNode distribution(LatencyRecorder recorder) {
        LatencyRecorder.Summary s = recorder.summary();
        ObjectNode o = JsonNodeFactory.instance.objectNode().put("count", s.count());
        if (s.count() > 0) {
            o.put("p50", s.p50Millis()).put("p99", s.p99Millis()).put("max", s.maxMillis());
        }
        return o;
    }
}
