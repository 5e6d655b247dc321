package io.hyperplane.sigv4;

/**
 * Why {@link SigV4Verifier} refused a request. Each service answers with its own error code; the
 * usual mapping, from the EC2 API reference ("Common client error codes") and the Lambda API
 * reference ("Common Errors"), is:
 *
 * <table>
 * <caption>Failure to service error code</caption>
 * <tr><th>Failure</th><th>EC2 (Query)</th><th>Lambda (REST-JSON)</th></tr>
 * <tr><td>{@link #MISSING_AUTHENTICATION}</td><td>MissingAuthenticationToken</td>
 *     <td>MissingAuthenticationTokenException (403)</td></tr>
 * <tr><td>{@link #INCOMPLETE_SIGNATURE}</td><td>IncompleteSignature</td>
 *     <td>IncompleteSignatureException (403)</td></tr>
 * <tr><td>{@link #UNKNOWN_ACCESS_KEY}</td><td>AuthFailure (401)</td>
 *     <td>UnrecognizedClientException (403)</td></tr>
 * <tr><td>{@link #SIGNATURE_MISMATCH}</td><td>AuthFailure (401)</td>
 *     <td>InvalidSignatureException (403)</td></tr>
 * <tr><td>{@link #EXPIRED}</td><td>RequestExpired (400)</td>
 *     <td>InvalidSignatureException (403)</td></tr>
 * </table>
 *
 * EC2 words AuthFailure as "AWS was not able to validate the provided access credentials" and
 * RequestExpired as "Request has expired."; Lambda's messages are the ones the verifier gives.
 */
public enum Failure {
    /** No Authorization header at all. */
    MISSING_AUTHENTICATION,
    /** The Authorization header is malformed, or the request has neither X-Amz-Date nor Date. */
    INCOMPLETE_SIGNATURE,
    /** The access key id names no credential. */
    UNKNOWN_ACCESS_KEY,
    /**
     * The signature, credential scope or declared payload hash does not match the request: the
     * wrong secret, or a request changed after it was signed.
     */
    SIGNATURE_MISMATCH,
    /** The request's date is more than {@link SigV4Verifier#MAX_CLOCK_SKEW} from the server's clock. */
    EXPIRED
}
