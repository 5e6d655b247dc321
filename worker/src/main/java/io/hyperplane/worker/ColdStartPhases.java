package io.hyperplane.worker;

/**
 * Milliseconds of each phase of one cold start, as the REPORT line and {@code GET /metrics} give them:
 * <ul>
 *   <li>network attach: taking a prepared network and binding it until every live node runs it (in the
 *       legacy model including the creation of the environment's own ENI);</li>
 *   <li>process start: code, Runtime API and spawning the launch chain;</li>
 *   <li>sandbox: until the sandbox's ready line; NaN when it printed none (its own error, say);</li>
 *   <li>runtime init: until the runtime's first {@code /next}.</li>
 * </ul>
 * {@code eniCreationMs} is NaN unless the cold start created an ENI of its own (legacy model), and
 * {@code eniThrottled} says whether that creation waited for EC2's rate limit.
 */
record ColdStartPhases(double networkAttachMs, double processStartMs, double sandboxMs, double runtimeInitMs, double eniCreationMs,
                       boolean eniThrottled) {
    ColdStartPhases {
        if (!(networkAttachMs >= 0 && processStartMs >= 0 && runtimeInitMs >= 0) || sandboxMs < 0 || eniCreationMs < 0) {
            throw new IllegalArgumentException("cold-start phases: attach " + networkAttachMs + ", process " + processStartMs + ", sandbox "
                    + sandboxMs + ", init " + runtimeInitMs + ", ENI " + eniCreationMs + " ms: none can be negative");
        }
    }

    /** Lambda's Init Duration: everything after the network attach. */
    double initMs() {
        return processStartMs + (Double.isNaN(sandboxMs) ? 0 : sandboxMs) + runtimeInitMs;
    }
}
