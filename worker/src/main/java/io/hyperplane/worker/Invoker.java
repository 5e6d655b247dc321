package io.hyperplane.worker;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * Runs one invocation: in an idle environment of the same function version if the pool has one (warm),
 * else in a new one ({@link ColdStart}); then gives the environment back to the pool, or has it destroyed
 * when the invocation was fatal to it. A cold start that fails answers as Lambda does: a service error
 * ({@link ServiceError}, or any other failure as ServiceException 500), or the runtime's init failure as
 * the function's error.
 */
final class Invoker {
    private static final Logger LOG = LoggerFactory.getLogger(Invoker.class);

    private final EnvironmentPool<ExecutionEnvironment> pool;
    private final ColdStart coldStart;
    private final WorkerMetrics metrics;

    Invoker(EnvironmentPool<ExecutionEnvironment> pool, ColdStart coldStart, WorkerMetrics metrics) {
        this.pool = pool;
        this.coldStart = coldStart;
        this.metrics = metrics;
    }

    InvocationEnd invoke(FunctionCall call) throws InterruptedException {
        String key = call.function().environmentKey();
        Optional<EnvironmentPool.Lease<ExecutionEnvironment>> warm = pool.takeIdle(key);
        boolean cold = warm.isEmpty();
        EnvironmentPool.Lease<ExecutionEnvironment> lease;
        if (cold) {
            lease = pool.starting(key);
            try {
                pool.started(lease, coldStart.start(call));
            } catch (ServiceError e) {
                pool.failed(lease);
                return new InvocationEnd.Failed(e.errorType(), e.status(), e.getMessage());
            } catch (InitFailedException e) {
                pool.failed(lease);
                metrics.initFailed();
                return initFailed(call, e);
            } catch (IOException e) {
                pool.failed(lease);
                LOG.error("cold start of {} failed", call.function().functionName(), e);
                return new InvocationEnd.Failed("ServiceException", 500, "The environment could not be started: " + e.getMessage());
            } catch (InterruptedException | RuntimeException e) {
                pool.failed(lease);
                throw e;
            }
        } else {
            lease = warm.get();
        }
        ExecutionEnvironment ee = lease.environment();
        ExecutionEnvironment.Ran ran;
        try {
            ran = ee.invoke(call);
        } catch (InterruptedException | RuntimeException e) {
            pool.release(lease, false);
            throw e;
        }
        metrics.invoked();
        pool.release(lease, !ran.fatal());
        return new InvocationEnd.Completed(ran.functionError(), ran.payload(), ran.log());
    }

    /** Lambda's answer to an invocation whose environment failed its init: the error as the payload, init's log and report. */
    private static InvocationEnd initFailed(FunctionCall call, InitFailedException e) {
        String log = e.log() + "INIT_REPORT Init Duration: n/a\tPhase: init\tStatus: error\tError Type: " + e.errorType() + "\n"
                + "START RequestId: " + call.requestId() + " Version: " + call.function().version() + "\nEND RequestId: " + call.requestId() + "\n";
        return new InvocationEnd.InitFailed(e.body().getBytes(StandardCharsets.UTF_8), log);
    }
}
