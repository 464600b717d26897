package io.coffer.core;

import io.netty.buffer.ByteBuf;
import java.util.Arrays;

/** Who is asking: the calling process's uid, gid and supplementary groups (like AUTH_SYS). */
public record Credentials(int uid, int gid, int[] groups) {
    public static final Credentials ROOT = new Credentials(0, 0, new int[0]);
    public static final int MAX_GROUPS = 64;

    public Credentials {
        groups = groups == null ? new int[0] : groups.clone();
    }

    public boolean isRoot() {
        return uid == 0;
    }

    public boolean inGroup(int g) {
        if (gid == g) {
            return true;
        }
        for (int x : groups) {
            if (x == g) {
                return true;
            }
        }
        return false;
    }

    public void write(ByteBuf out) {
        out.writeInt(uid);
        out.writeInt(gid);
        int n = Math.min(groups.length, MAX_GROUPS);
        out.writeByte(n);
        for (int i = 0; i < n; i++) {
            out.writeInt(groups[i]);
        }
    }

    public static Credentials read(ByteBuf in) {
        int uid = in.readInt();
        int gid = in.readInt();
        int n = in.readUnsignedByte();
        if (n > MAX_GROUPS) {
            throw new IllegalArgumentException("too many groups: " + n);
        }
        int[] g = new int[n];
        for (int i = 0; i < n; i++) {
            g[i] = in.readInt();
        }
        return new Credentials(uid, gid, g);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Credentials c && c.uid == uid && c.gid == gid && Arrays.equals(c.groups, groups);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * uid + gid) + Arrays.hashCode(groups);
    }

    @Override
    public String toString() {
        return "uid=" + uid + ",gid=" + gid + (groups.length > 0 ? ",groups=" + Arrays.toString(groups) : "");
    }
}
