package io.coffer.server.fs;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * A file system as the catalog keeps it. It holds no plaintext user data: the data key is
 * stored only wrapped by the KMS key named in {@code kmsKeyId}.
 *
 * @param formatVersion the on-disk format version the file system was created with
 * @param encrypted whether data, names and records are encrypted at rest
 * @param kmsKeyId the CMK that wraps the data key (null when not encrypted)
 * @param wrappedDataKey base64 of the KMS-wrapped data key (null when not encrypted)
 * @param chunkSize bytes per chunk
 * @param rootInode the root directory's inode
 * @param policy transport and access policy (null: defaults)
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record FileSystemRecord(
        String id,
        int formatVersion,
        String name,
        long createdMillis,
        boolean encrypted,
        String kmsKeyId,
        String wrappedDataKey,
        int chunkSize,
        long rootInode,
        String policy,
        String state) {

    public static final String STATE_AVAILABLE = "available";
    public static final String STATE_DELETING = "deleting";
}
