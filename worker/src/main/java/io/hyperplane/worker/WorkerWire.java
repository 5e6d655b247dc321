package io.hyperplane.worker;

import io.hyperplane.config.fleet.Evicted;
import io.hyperplane.config.fleet.Eviction;
import io.hyperplane.config.fleet.FleetJson;
import io.hyperplane.config.fleet.InvokeRequest;
import io.hyperplane.config.fleet.InvokeResult;
import io.hyperplane.config.fleet.Payload;

/**
 * The one place that maps the fleet's messages on the worker's own endpoints
 * ({@code io.hyperplane.config.fleet}, one JSON binding in {@link FleetJson}) to what the worker
 * runs: an {@link InvokeRequest} in as a {@link FunctionCall}, its {@link InvocationEnd} out as the
 * fleet's {@link InvokeResult}, and an {@link Eviction} in as the
 * deleted function's key prefix. Everything else in the worker sees {@link FunctionCall} and
 * {@link InvocationEnd}.
 */
final class WorkerWire {
    /** Lambda's X-Amz-Function-Error for an error the function did not handle (the only kind a runtime reports). */
    private static final String UNHANDLED = "Unhandled";

    private WorkerWire() {
    }

    /** {@code POST /invoke}'s body; throws {@link IllegalArgumentException} saying what is wrong when it is no invoke request. */
    static FunctionCall readInvoke(byte[] body) {
        InvokeRequest r = FleetJson.decode(body, InvokeRequest.class);
        FunctionConfig function = new FunctionConfig(r.accountId(), r.region(), r.functionName(), r.version(), r.runtime(), r.handler(),
                r.memoryMb(), r.timeoutSeconds(), r.ephemeralStorageMb(), r.codeSha256(), r.revisionId(), r.environment(),
                r.subnets().stream().map(s -> new FunctionConfig.Subnet(s.subnetId(), s.eniId(), s.securityGroupIds())).toList(), r.nameserver());
        return new FunctionCall(r.requestId(), r.functionArn(), r.clientContext(), r.payload().bytes(), function);
    }

    /** {@code POST /invoke}'s answer. */
    static InvokeResult writeResult(InvocationEnd result) {
        return switch (result) {
            case InvocationEnd.Failed failed -> new InvokeResult.ServiceError(failed.errorType(), failed.status(),
                    failed.message());
            case InvocationEnd.InitFailed initFailed -> new InvokeResult.FunctionError(UNHANDLED,
                    new Payload(initFailed.payload()), initFailed.log());
            case InvocationEnd.Completed completed -> completed.functionError()
                    ? new InvokeResult.FunctionError(UNHANDLED, new Payload(completed.payload()), completed.log())
                    : new InvokeResult.Success(new Payload(completed.payload()), completed.log());
        };
    }

    /**
     * {@code POST /evict}'s body: the key prefix of the deleted function's environments; throws
     * {@link IllegalArgumentException} saying what is wrong when it is no eviction.
     */
    static String readEvictedFunction(byte[] body) {
        Eviction eviction = FleetJson.decode(body, Eviction.class);
        return FunctionConfig.functionPrefix(eviction.accountId(), eviction.functionName());
    }

    /** {@code POST /evict}'s answer: how many idle environments ended. */
    static Evicted writeEvicted(int ended) {
        return new Evicted(ended);
    }
}
