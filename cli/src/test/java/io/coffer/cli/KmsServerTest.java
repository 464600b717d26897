package io.coffer.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.coffer.client.RemoteFs;
import io.coffer.client.RpcClient;
import io.coffer.core.CreateMode;
import io.coffer.core.Entry;
import io.coffer.core.FileSystemId;
import io.coffer.core.FsException;
import io.coffer.core.OpContext;
import io.coffer.core.ReadResult;
import io.coffer.core.Status;
import io.coffer.server.CofferServer;
import io.coffer.server.crypto.KmsSetup;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A server with the default local KMS, driven over the protocol as {@code coffer kms} and
 * {@code coffer fs} drive it: the kms- admin commands, encryption by default, and a refused key
 * reaching the client as EACCES.
 */
class KmsServerTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    CofferServer server;
    RpcClient rpc;
    RemoteFs fs;

    @BeforeEach
    void start() throws Exception {
        ServerCommand cmd = new ServerCommand();
        picocli.CommandLine.populateCommand(cmd, "--data-dir", dir.resolve("data").toString(), "--key-cache-ttl", "1s");
        CofferServer.Config config = ServerExtensions.withKms(
                CofferServer.Config.plain(dir.resolve("data"), new InetSocketAddress("127.0.0.1", 0)), cmd);
        assertTrue(config.encryptedByDefault(), "a KMS makes new file systems encrypted by default");
        server = new CofferServer(config);
        rpc = new RpcClient(RpcClient.Options.of("127.0.0.1", server.address().getPort()).withConnections(1).withSoft(10));
        rpc.connect(5000);
        fs = new RemoteFs(rpc);
    }

    @AfterEach
    void stop() throws Exception {
        if (rpc != null) {
            rpc.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private JsonNode admin(String command, String json) throws Exception {
        return JSON.readTree(fs.admin(command, json));
    }

    @Test
    void aDisabledKeyReachesTheClientAsEacces() throws Exception {
        String key = admin("kms-create-key", "{\"description\":\"protocol test\"}").get("keyId").asText();
        admin("kms-create-alias", "{\"alias-name\":\"alias/proto\",\"key\":\"" + key + "\"}");
        JsonNode created = admin("fs-create", "{\"kmsKey\":\"alias/proto\"}");
        assertTrue(created.get("encrypted").asBoolean());
        assertEquals(key, created.get("kmsKeyId").asText());
        FileSystemId id = FileSystemId.parse(created.get("id").asText());
        OpContext ctx = OpContext.root();
        Entry root = fs.mount(ctx, id, "/");
        Entry f = fs.create(ctx, root.handle(), "a", 0644, CreateMode.UNCHECKED);
        byte[] data = "over the wire".getBytes(StandardCharsets.UTF_8);
        fs.write(ctx, f.handle(), 0, Unpooled.wrappedBuffer(data), true);

        assertEquals("DISABLED", admin("kms-disable-key", "{\"key\":\"alias/proto\"}").get("keyState").asText());
        Thread.sleep(1200);
        FsException e = assertThrows(FsException.class, () -> fs.read(ctx, f.handle(), 0, 100));
        assertEquals(Status.EACCES, e.status());
        assertTrue(e.getMessage().contains(key) && e.getMessage().contains("DISABLED"), e.getMessage());

        admin("kms-enable-key", "{\"key\":\"" + key + "\"}");
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (true) {
            try {
                ReadResult r = fs.read(ctx, f.handle(), 0, 100);
                assertArrayEquals(data, ByteBufUtil.getBytes(r.data()));
                r.data().release();
                break;
            } catch (FsException again) {
                if (System.nanoTime() > deadline) {
                    throw again;
                }
                Thread.sleep(100);
            }
        }
    }

    @Test
    void defaultsAndErrorsOfTheAdminCommands() throws Exception {
        JsonNode def = admin("fs-create", "{}");
        assertTrue(def.get("encrypted").asBoolean(), "encrypted by default");
        JsonNode aliases = admin("kms-list-aliases", "{}").get("aliases");
        assertEquals("alias/coffer/default", aliases.get(0).get("aliasName").asText());
        assertEquals(aliases.get(0).get("keyId").asText(), def.get("kmsKeyId").asText(), "under the service-managed key");
        assertFalse(admin("fs-create", "{\"encrypted\":false}").get("encrypted").asBoolean());

        FsException missing = assertThrows(FsException.class, () -> fs.admin("kms-describe-key", "{\"key\":\"alias/none\"}"));
        assertEquals(Status.ENOENT, missing.status());
        FsException window = assertThrows(FsException.class, () -> fs.admin("kms-schedule-key-deletion",
                "{\"key\":\"" + def.get("kmsKeyId").asText() + "\",\"pending-window-days\":7}"));
        assertEquals(Status.EACCES, window.status(), "the service-managed key cannot be deleted: " + window.getMessage());
        FsException badKey = assertThrows(FsException.class, () -> fs.admin("fs-create", "{\"kmsKey\":\"alias/none\"}"));
        assertEquals(Status.ENOENT, badKey.status());
        FsException unknown = assertThrows(FsException.class, () -> fs.admin("kms-frobnicate", "{}"));
        assertEquals(Status.EINVAL, unknown.status());

        JsonNode rotated = admin("kms-create-key", "{}");
        String k = rotated.get("keyId").asText();
        assertEquals(2, admin("kms-rotate-key", "{\"key\":\"kms:local/" + k + "\"}").get("currentVersion").asInt());
        assertEquals(List.of(1, 2), JSON.convertValue(admin("kms-describe-key", "{\"key\":\"" + k + "\"}").get("versions"),
                new com.fasterxml.jackson.core.type.TypeReference<List<Integer>>() { }));
        assertTrue(Files.exists(dir.resolve("data/kms/audit.log")));
    }
}
