package io.hyperplane.control.lambda;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.zip.ZipInputStream;

/**
 * A deployment package as uploaded (ZipFile, base64), with the SHA-256 and size Lambda reports.
 * Only zip files are taken: S3 objects and container images are not.
 */
record FunctionCode(String base64, String sha256, long size) {
    /** Lambda's quota for a deployment package unzipped: 250 MB (the limit and message of its API). */
    static final long MAX_UNZIPPED_BYTES = 262_144_000L;
    private static final int INFLATE_CHUNK = 64 * 1024;

    /** The code a request's member gives ({@code Code} of CreateFunction, the body of UpdateFunctionCode). */
    static FunctionCode from(JsonNode code) {
        if (code.hasNonNull("S3Bucket") || code.hasNonNull("ImageUri")) {
            throw LambdaError.invalid("Only ZipFile code is supported here; S3 and container images are not.");
        }
        String zip = JsonFields.text(code, "ZipFile");
        if (zip == null) {
            throw LambdaError.invalid("Please provide a source for function code.");
        }
        return ofZipFile(zip);
    }

    static FunctionCode ofZipFile(String base64) {
        byte[] bytes;
        try {
            bytes = Base64.getDecoder().decode(base64);
        } catch (IllegalArgumentException e) {
            throw LambdaError.invalid("ZipFile is not valid base64: " + e.getMessage());
        }
        long unzipped = bytes.length == 0 ? -1 : unzippedSize(bytes);
        if (unzipped < 0) {
            throw LambdaError.invalid("Could not unzip uploaded file. Please check your file, then try to upload again.");
        }
        if (unzipped > MAX_UNZIPPED_BYTES) {
            throw LambdaError.invalid("Unzipped size must be smaller than " + MAX_UNZIPPED_BYTES + " bytes");
        }
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(bytes);
            return new FunctionCode(Base64.getEncoder().encodeToString(bytes), Base64.getEncoder().encodeToString(digest), bytes.length);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The bytes the zip unpacks to, counted as they are inflated (never what its headers claim), or
     * -1 if it is not a zip with at least one entry; counting stops past {@link #MAX_UNZIPPED_BYTES}.
     */
    private static long unzippedSize(byte[] bytes) {
        try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(bytes))) {
            if (zip.getNextEntry() == null) {
                return -1;
            }
            long total = 0;
            byte[] chunk = new byte[INFLATE_CHUNK];
            do {
                int n;
                while ((n = zip.read(chunk)) > 0) {
                    total += n;
                    if (total > MAX_UNZIPPED_BYTES) {
                        return total;
                    }
                }
            } while (zip.getNextEntry() != null);
            return total;
        } catch (IOException e) {
            return -1;
        }
    }
}
