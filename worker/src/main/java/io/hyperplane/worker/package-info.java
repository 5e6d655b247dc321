/**
 * {@code hyperplane worker}: execution environments for the control plane. One package, its classes by job:
 * <ul>
 *   <li><b>HTTP in</b>: {@link io.hyperplane.worker.WorkerEndpoints} ({@code /invoke}, {@code /evict}, {@code /metrics}).</li>
 *   <li><b>The wire</b>, the one place each of the fleet's messages ({@code io.hyperplane.config.fleet}) is met:
 *       {@link io.hyperplane.worker.WorkerWire} (the control plane's {@code InvokeRequest} and {@code Eviction} in, the
 *       fleet's {@code InvokeResult} and {@code Evicted} out) and {@link io.hyperplane.worker.ControlWire} (the
 *       worker's calls to the control plane, over {@code ControlClient} and {@code ControlStream}), behind
 *       {@link io.hyperplane.worker.ControlPlane}. Inside, the worker speaks {@link io.hyperplane.worker.FunctionCall},
 *       {@link io.hyperplane.worker.FunctionConfig} and {@link io.hyperplane.worker.InvocationEnd}.</li>
 *   <li><b>Invocations and the pool</b>: {@link io.hyperplane.worker.Invoker} runs one, warm or cold;
 *       {@link io.hyperplane.worker.EnvironmentPool} keeps the environments and owns every
 *       {@link io.hyperplane.worker.EnvironmentState} transition; {@link io.hyperplane.worker.ExecutionEnvironment} runs an
 *       invocation and writes its log and REPORT line.</li>
 *   <li><b>Cold start</b>: {@link io.hyperplane.worker.ColdStart} (network, code, uid, runtime, and teardown),
 *       {@link io.hyperplane.worker.NetworkAttach} (the VPC or the service egress, legacy ENIs), {@link io.hyperplane.worker.NetworkSlots} and
 *       {@link io.hyperplane.worker.EnvironmentNetwork} (namespaces, tunnels), {@link io.hyperplane.worker.CodeCache},
 *       {@link io.hyperplane.worker.UidLeases}.</li>
 *   <li><b>The runtime process</b>: {@link io.hyperplane.worker.SandboxedRuntimeLauncher} (files, Runtime API, cgroup,
 *       sandbox, init) makes a {@link io.hyperplane.worker.SandboxedRuntime} (invocations, output, teardown), whose output
 *       {@link io.hyperplane.worker.ProcessLog} keeps.</li>
 *   <li><b>Metrics</b>: {@link io.hyperplane.worker.WorkerMetrics}. <b>Membership</b>: {@link io.hyperplane.worker.Heartbeat}.
 *       <b>Crash safety</b>: {@link io.hyperplane.worker.Leftovers}. <b>Wiring</b>: {@link io.hyperplane.worker.Worker}.</li>
 * </ul>
 * One package rather than one per job: the wire's classes ({@code ControlClient}, {@code ControlStream}) are package-private,
 * and the jobs call each other both ways through small interfaces that tests fake.
 */
package io.hyperplane.worker;
