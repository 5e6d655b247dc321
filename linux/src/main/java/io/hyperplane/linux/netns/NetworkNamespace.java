package io.hyperplane.linux.netns;

import io.hyperplane.linux.NativeCalls;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

import static io.hyperplane.linux.NativeCalls.errno;
import static io.hyperplane.linux.NativeCalls.failure;

/**
 * Runs a piece of setup inside a named network namespace ({@code ip netns add NAME}, i.e.
 * {@code /run/netns/NAME}) while the JVM stays in its own. Sockets keep the namespace they were
 * created in, so a node can open its data-plane socket in the lab's underlay namespace and still
 * reach a control plane on the host's 127.0.0.1.
 * <p>
 * {@code setns(2)} with {@code CLONE_NEWNET} moves only the calling thread, which is why the work
 * runs on a fresh platform thread of its own (a virtual thread could be moved between carriers
 * mid-way): it saves its namespace ({@code /proc/thread-self/ns/net}), enters the target, runs the
 * action, and always enters the saved one again. Even if that last step failed, no other thread
 * of the JVM would be affected, and the helper thread ends right after. Needs CAP_SYS_ADMIN.
 */
public final class NetworkNamespace {
    private static final String NETNS_DIR = "/run/netns/";
    private static final String OWN_NAMESPACE = "/proc/thread-self/ns/net";
    private static final int CLONE_NEWNET = 0x40000000;
    private static final int O_RDONLY = 0;
    private static final int O_CLOEXEC = 0x80000;
    private static final int ENOENT = 2;
    private static final int EPERM = 1;

    /** Work to do inside the namespace. */
    @FunctionalInterface
    public interface Action<T> {
        T run() throws IOException;
    }

    private NetworkNamespace() {
    }

    /**
     * Runs {@code action} with the calling thread's view of the network replaced by namespace
     * {@code name}'s, and returns its result. Blocks until it is done.
     *
     * @throws IOException from the action, or naming the namespace when it cannot be entered, e.g.
     *     {@code "netns hp-x-underlay: no such namespace (/run/netns/hp-x-underlay)"}
     */
    public static <T> T call(String name, Action<T> action) throws IOException {
        if (name == null || name.isEmpty() || name.contains("/") || name.equals(".") || name.equals("..")) {
            throw new IllegalArgumentException("netns '" + name + "': must be a name under " + NETNS_DIR);
        }
        FutureTask<T> task = new FutureTask<>(() -> inside(name, action));
        Thread.ofPlatform().name("hp-netns-" + name).start(task);
        try {
            return task.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("netns " + name + ": interrupted while waiting for the setup inside it", e);
        } catch (ExecutionException e) {
            switch (e.getCause()) {
                case IOException io -> throw io;
                case RuntimeException r -> throw r;
                case Error err -> throw err;
                default -> throw new IOException("netns " + name + ": " + e.getCause(), e.getCause());
            }
        }
    }

    private static <T> T inside(String name, Action<T> action) throws IOException {
        String path = NETNS_DIR + name;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = arena.allocate(NativeCalls.ERRNO_STATE_SIZE, 8);
            int saved = open(arena, errno, OWN_NAMESPACE, "netns " + name + ": cannot open this thread's namespace " + OWN_NAMESPACE);
            try {
                int target = openNamespace(arena, errno, name, path);
                try {
                    setns(errno, target, "netns " + name + ": cannot enter " + path);
                    T value;
                    try {
                        value = action.run();
                    } catch (IOException e) {
                        IOException named = new IOException("netns " + name + ": " + e.getMessage(), e);
                        returnTo(errno, saved, name, named);
                        throw named;
                    } catch (RuntimeException | Error e) {
                        returnTo(errno, saved, name, e);
                        throw e;
                    }
                    try {
                        setns(errno, saved, "netns " + name + ": cannot return to the JVM's namespace");
                    } catch (IOException e) {
                        closeQuietly(value, e); // of no use to a thread that cannot get back
                        throw e;
                    }
                    return value;
                } finally {
                    close(errno, target);
                }
            } finally {
                close(errno, saved);
            }
        }
    }

    /** Returns to the saved namespace after the action failed, keeping the action's failure the one reported. */
    private static void returnTo(MemorySegment errno, int saved, String name, Throwable failure) {
        try {
            setns(errno, saved, "netns " + name + ": cannot return to the JVM's namespace");
        } catch (IOException e) {
            failure.addSuppressed(e);
        }
    }

    private static int openNamespace(Arena arena, MemorySegment errno, String name, String path) throws IOException {
        int fd = Libc.open(arena, errno, path);
        if (fd < 0) {
            int e = errno(errno);
            if (e == ENOENT) {
                throw new IOException("netns " + name + ": no such namespace (" + path + ")");
            }
            throw failure("netns " + name + ": cannot open " + path, e);
        }
        return fd;
    }

    private static int open(Arena arena, MemorySegment errno, String path, String what) throws IOException {
        int fd = Libc.open(arena, errno, path);
        if (fd < 0) {
            throw failure(what, errno(errno));
        }
        return fd;
    }

    private static void setns(MemorySegment errno, int fd, String what) throws IOException {
        if (Libc.setns(errno, fd) < 0) {
            int e = errno(errno);
            throw failure(what + (e == EPERM ? " (needs root or CAP_SYS_ADMIN)" : ""), e);
        }
    }

    private static void closeQuietly(Object value, IOException cause) {
        if (value instanceof AutoCloseable closeable) {
            try {
                closeable.close();
            } catch (Exception e) {
                cause.addSuppressed(e);
            }
        }
    }

    private static void close(MemorySegment errno, int fd) {
        Libc.close(errno, fd); // a close failure leaves nothing to undo
    }

    /** The few libc calls this needs, errno captured; setup paths only. Needs --enable-native-access. */
    private static final class Libc {
        private static final ValueLayout.OfInt C_INT = ValueLayout.JAVA_INT;

        /** int open(const char *path, int flags): variadic in C, but the two fixed arguments are all we pass. */
        private static final MethodHandle OPEN = NativeCalls.libcCapturingErrno("open",
                FunctionDescriptor.of(C_INT, ValueLayout.ADDRESS, C_INT));
        /** int setns(int fd, int nstype) */
        private static final MethodHandle SETNS = NativeCalls.libcCapturingErrno("setns",
                FunctionDescriptor.of(C_INT, C_INT, C_INT));
        /** int close(int fd) */
        private static final MethodHandle CLOSE = NativeCalls.libcCapturingErrno("close",
                FunctionDescriptor.of(C_INT, C_INT));

        private Libc() {
        }

        static int open(Arena arena, MemorySegment errno, String path) {
            try {
                return (int) OPEN.invokeExact(errno, arena.allocateFrom(path), O_RDONLY | O_CLOEXEC);
            } catch (Throwable t) {
                throw NativeCalls.unexpected(t);
            }
        }

        static int setns(MemorySegment errno, int fd) {
            try {
                return (int) SETNS.invokeExact(errno, fd, CLONE_NEWNET);
            } catch (Throwable t) {
                throw NativeCalls.unexpected(t);
            }
        }

        static void close(MemorySegment errno, int fd) {
            try {
                int ignored = (int) CLOSE.invokeExact(errno, fd);
            } catch (Throwable t) {
                throw NativeCalls.unexpected(t);
            }
        }
    }
}
