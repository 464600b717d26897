package io.coffer.mount;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Install and uninstall into a scratch root: what is added is removed, what was changed is kept. */
class InstallerTest {
    @TempDir
    Path root;
    @TempDir
    Path home;

    @Test
    void uninstallRemovesWhatInstallAddedAndKeepsChangedConfig() throws Exception {
        Files.createDirectories(home.resolve("dist/systemd"));
        Files.writeString(home.resolve("dist/systemd/coffer-watchdog.service"), "[Service]\nExecStart=@COFFER@ watchdog\n");
        Files.createDirectories(root.resolve("sbin"));
        Files.createDirectories(root.resolve("var/log/coffer"));
        Files.writeString(root.resolve("var/log/coffer/old.log"), "kept");
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        Installer in = new Installer(root, Path.of("/opt/coffer/bin/coffer"), home, new PrintStream(buf, true));
        assertEquals(0, in.install());
        assertEquals(0, in.install(), "install twice");
        String script = Files.readString(root.resolve("sbin/mount.coffer"));
        assertTrue(script.contains("exec '/opt/coffer/bin/coffer' mount.coffer \"$@\""), script);
        assertTrue(Files.isExecutable(root.resolve("sbin/mount.coffer")));
        assertTrue(Files.readString(root.resolve("etc/systemd/system/coffer-watchdog.service"))
                .contains("ExecStart=/opt/coffer/bin/coffer watchdog"));
        assertTrue(Files.isDirectory(root.resolve("var/run/coffer")));
        CofferConf.load(root.resolve("etc/coffer/coffer.conf"));

        Files.writeString(root.resolve("etc/coffer/coffer.conf"), "[mount]\nproxy = stunnel\n");
        buf.reset();
        assertEquals(0, new Installer(root, Path.of("/opt/coffer/bin/coffer"), home, new PrintStream(buf, true)).uninstall(false));
        String out = buf.toString();
        assertFalse(Files.exists(root.resolve("sbin/mount.coffer")));
        assertFalse(Files.exists(root.resolve("etc/systemd/system/coffer-watchdog.service")));
        assertFalse(Files.exists(root.resolve("etc/systemd")), "directories install created are removed");
        assertFalse(Files.exists(root.resolve("var/run/coffer")));
        assertTrue(Files.exists(root.resolve("etc/coffer/coffer.conf")), "changed configuration is kept");
        assertTrue(out.contains("kept     " + root.resolve("etc/coffer/coffer.conf") + " (changed since install)"), out);
        assertTrue(Files.exists(root.resolve("var/log/coffer/old.log")), "a directory that existed before is left");
        assertTrue(Files.exists(root.resolve("sbin")));
    }

    @Test
    void refusesToReplaceAForeignHelper() throws Exception {
        Files.createDirectories(home.resolve("dist/systemd"));
        Files.writeString(home.resolve("dist/systemd/coffer-watchdog.service"), "x");
        Files.createDirectories(root.resolve("sbin"));
        Files.writeString(root.resolve("sbin/mount.coffer"), "#!/bin/sh\necho other\n");
        Installer in = new Installer(root, Path.of("/opt/c"), home, new PrintStream(new ByteArrayOutputStream()));
        HelperException e = org.junit.jupiter.api.Assertions.assertThrows(HelperException.class, in::install);
        assertTrue(e.getMessage().contains("was not installed by coffer"));
    }
}
