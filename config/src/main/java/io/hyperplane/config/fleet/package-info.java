/**
 * The fleet protocol: every message the control plane exchanges with forwarder nodes and workers
 * over HTTP and the worker's WebSocket, as records that validate themselves, with one JSON binding
 * ({@link io.hyperplane.config.fleet.FleetJson}). Every fleet request carries the fleet's bearer
 * token (DIR/node-token on the control plane).
 * <pre>
 *   worker -> control plane
 *     PUT  /hyperplane/v1/workers/NAME              WorkerHeartbeat          -> WorkerHeartbeatAnswer
 *     POST /hyperplane/v1/execution-environments    EnvironmentRegistration  -> 201 EnvironmentRegistered
 *     WS   /hyperplane/v1/workers/NAME/stream       RegistrationRequest      -> RegistrationAnswer
 *     POST /hyperplane/v1/legacy-enis               LegacyEniRequest         -> 201 LegacyEniCreated
 *   control plane -> worker
 *     POST /invoke                                  InvokeRequest            -> InvokeResult
 *     POST /evict                                   Eviction                 -> Evicted
 *   node -> control plane
 *     PUT  /hyperplane/v1/nodes/NAME                NodeHeartbeat            -> NodeHeartbeatAnswer
 *   any refusal                                     FleetError, with its HTTP status
 * </pre>
 * The configuration a node runs travels apart, in {@code io.hyperplane.config}: the snapshot
 * ({@code NodeSnapshot}, {@code SnapshotJson}) by long poll, and the configuration stream's
 * messages, including the node's acknowledgement of each version it runs
 * ({@code ConfigStreamMessage.Applied}). Requests without a body (DELETEs, the code download, the
 * long poll) carry what they name in the path.
 */
package io.hyperplane.config.fleet;
