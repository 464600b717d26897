package io.coffer.core;

import java.util.HashMap;
import java.util.Map;

/**
 * Wire status of a reply. Each value is the Linux errno it stands for, so the client daemon hands
 * it to the kernel unchanged and no table can drift between the two ends.
 */
public enum Status {
    OK(0),
    EPERM(1),
    ENOENT(2),
    EIO(5),
    ENXIO(6),
    E2BIG(7),
    EBADF(9),
    EAGAIN(11),
    ENOMEM(12),
    EACCES(13),
    EBUSY(16),
    EEXIST(17),
    EXDEV(18),
    ENODEV(19),
    ENOTDIR(20),
    EISDIR(21),
    EINVAL(22),
    EFBIG(27),
    ENOSPC(28),
    EROFS(30),
    EMLINK(31),
    ERANGE(34),
    EDEADLK(35),
    ENAMETOOLONG(36),
    ENOLCK(37),
    ENOSYS(38),
    ENOTEMPTY(39),
    ELOOP(40),
    ENODATA(61),
    EPROTO(71),
    EOVERFLOW(75),
    EPROTONOSUPPORT(93),
    EOPNOTSUPP(95),
    ETIMEDOUT(110),
    ESTALE(116),
    EDQUOT(122);

    private static final Map<Integer, Status> BY_ERRNO = new HashMap<>();

    static {
        for (Status s : values()) {
            BY_ERRNO.put(s.errno, s);
        }
    }

    private final int errno;

    Status(int errno) {
        this.errno = errno;
    }

    /** The Linux errno value; 0 for {@link #OK}. */
    public int errno() {
        return errno;
    }

    /**
     * Status for an errno received on the wire. An errno this build does not know becomes
     * {@link #EIO}: a newer peer must never make us report success or a wrong specific error.
     */
    public static Status ofErrno(int errno) {
        Status s = BY_ERRNO.get(errno);
        return s == null ? EIO : s;
    }
}
