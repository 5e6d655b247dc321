package io.hyperplane.worker;

import io.hyperplane.config.fleet.WorkerHeartbeatAnswer;

import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/** A control plane that records what the worker asks and answers as the test sets it up. */
final class FakeControlPlane implements ControlPlane {
    /** One heartbeat as sent. */
    record Beat(String name, URI url, String underlayIp, String networkModel, int environments) {
    }

    final List<Beat> beats = Collections.synchronizedList(new ArrayList<>());
    final List<String> deregistered = Collections.synchronizedList(new ArrayList<>());
    final List<String> legacyEnisCreated = Collections.synchronizedList(new ArrayList<>());
    final List<String> legacyEnisDeleted = Collections.synchronizedList(new ArrayList<>());
    final AtomicInteger codeFetches = new AtomicInteger();
    volatile List<String> nodes = List.of("192.0.2.10");
    volatile IOException heartbeatFailure;
    volatile byte[] code = new byte[0];
    volatile IOException codeFailure;
    volatile boolean legacyThrottled;
    volatile Refused legacyRefusal;

    @Override
    public WorkerHeartbeatAnswer heartbeat(String name, URI url, String underlayIp, String networkModel, int environments) throws IOException {
        beats.add(new Beat(name, url, underlayIp, networkModel, environments));
        if (heartbeatFailure != null) {
            throw heartbeatFailure;
        }
        List<WorkerHeartbeatAnswer.LiveNode> live = new ArrayList<>();
        for (String ip : nodes) {
            live.add(new WorkerHeartbeatAnswer.LiveNode("n" + (live.size() + 1), ip, 4789));
        }
        return new WorkerHeartbeatAnswer(live);
    }

    @Override
    public void leave(String name) {
    }

    @Override
    public int registerEnvironment(String id, String hostIp, String ip, String mac, String eniId, boolean waitForNodes) {
        throw new UnsupportedOperationException("registrations are the fake network source's");
    }

    @Override
    public void deregisterEnvironment(String id) {
        deregistered.add(id);
    }

    @Override
    public byte[] code(String account, String function, String version) throws IOException {
        codeFetches.incrementAndGet();
        if (codeFailure != null) {
            throw codeFailure;
        }
        return code;
    }

    @Override
    public LegacyEni createLegacyEni(String account, String function, String subnetId, List<String> groups) throws IOException {
        if (legacyRefusal != null) {
            throw legacyRefusal;
        }
        String eni = "eni-legacy" + legacyEnisCreated.size();
        legacyEnisCreated.add(eni);
        return new LegacyEni(eni, legacyThrottled);
    }

    @Override
    public void deleteLegacyEni(String eniId) {
        legacyEnisDeleted.add(eniId);
    }

    @Override
    public BindsAnswered bindsAnswered() {
        return new BindsAnswered(7, 1);
    }

    @Override
    public void closeStream() {
    }
}
