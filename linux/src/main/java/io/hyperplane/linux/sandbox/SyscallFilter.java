package io.hyperplane.linux.sandbox;

import io.hyperplane.linux.NativeCalls;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.List;

/**
 * The system-call filter every tenant process runs under, compiled to a classic-BPF seccomp
 * program by libseccomp (the library Docker, crun and systemd use for the same job) and handed to
 * bubblewrap ({@code --seccomp FD}), which installs it just before the tenant's first exec.
 *
 * <p>In the spirit of Docker's default profile: the calls that reach the kernel's
 * administrative surface are refused with {@code EPERM} (mounts, modules, tracing other processes,
 * keyrings, eBPF, new namespaces, clocks, swap, reboot, io_uring), and everything an ordinary
 * program uses is allowed, so python, the JVM and a shell run unchanged. Most of these already
 * fail for an unprivileged user without capabilities; the filter removes the kernel code behind
 * them from a tenant's reach altogether, which is what protects against the next kernel bug in
 * user namespaces or eBPF. Foreign architectures (the x32 and i386 entry points) kill the process:
 * libseccomp's default for a filter built for the native architecture only.
 *
 * <pre>
 *   default                       ALLOW
 *   DENIED_CALLS                  ERRNO(EPERM)
 *   clone(flags &amp; CLONE_NEW*)     ERRNO(EPERM)   one rule per namespace flag
 *   clone3                        ERRNO(ENOSYS)  its flags are in memory, out of a filter's reach;
 *                                                glibc then falls back to clone (Docker does the same)
 * </pre>
 */
public final class SyscallFilter {

    /** Refused with EPERM. Names libseccomp does not know on this architecture are skipped. */
    static final List<String> DENIED_CALLS = List.of(
            // file systems: a tenant's view of files is the one the sandbox built
            "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount", "fspick",
            "mount_setattr", "name_to_handle_at", "open_by_handle_at", "quotactl", "quotactl_fd",
            // namespaces: no new user namespace (the door to most kernel privilege bugs), no joining others
            "unshare", "setns",
            // kernel code and the machine
            "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff",
            "acct", "syslog", "iopl", "ioperm", "uselib", "ustat", "sysfs", "_sysctl", "lookup_dcookie", "vhangup",
            "sethostname", "setdomainname", "settimeofday", "clock_settime", "clock_adjtime",
            // other processes' memory and kernel objects shared across the machine
            "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
            "keyctl", "add_key", "request_key",
            // large kernel attack surfaces no function needs
            "bpf", "perf_event_open", "userfaultfd", "fanotify_init", "io_uring_setup", "io_uring_enter", "io_uring_register");

    /** clone(2) flags that make a namespace (linux/sched.h). */
    static final List<Long> NAMESPACE_FLAGS = List.of(
            0x0002_0000L, // CLONE_NEWNS
            0x0200_0000L, // CLONE_NEWCGROUP
            0x0400_0000L, // CLONE_NEWUTS
            0x0800_0000L, // CLONE_NEWIPC
            0x1000_0000L, // CLONE_NEWUSER
            0x2000_0000L, // CLONE_NEWPID
            0x4000_0000L); // CLONE_NEWNET

    private static final int EPERM = 1;
    private static final int ENOSYS = 38;

    private SyscallFilter() {
    }

    /**
     * Writes the compiled filter to {@code file} (created 0600, replaced if present).
     *
     * @throws IOException libseccomp is missing or refused the filter, or the file cannot be written
     */
    public static void write(Path file) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ctx = Seccomp.init(Seccomp.ACT_ALLOW);
            if (ctx.equals(MemorySegment.NULL)) {
                throw new IOException("seccomp_init failed");
            }
            try {
                for (String name : DENIED_CALLS) {
                    int nr = Seccomp.resolve(arena, name);
                    if (nr != Seccomp.NR_SCMP_ERROR) {
                        Seccomp.check(Seccomp.ruleAdd(ctx, Seccomp.errno(EPERM), nr, MemorySegment.NULL, 0), "deny " + name);
                    }
                }
                int clone = Seccomp.resolve(arena, "clone");
                for (long flag : NAMESPACE_FLAGS) {
                    MemorySegment cmp = arena.allocate(Seccomp.ARG_CMP);
                    cmp.set(ValueLayout.JAVA_INT, 0, 0); // argument 0: flags
                    cmp.set(ValueLayout.JAVA_INT, 4, Seccomp.CMP_MASKED_EQ);
                    cmp.set(ValueLayout.JAVA_LONG, 8, flag); // mask
                    cmp.set(ValueLayout.JAVA_LONG, 16, flag); // value
                    Seccomp.check(Seccomp.ruleAdd(ctx, Seccomp.errno(EPERM), clone, cmp, 1), "deny clone with flag 0x" + Long.toHexString(flag));
                }
                int clone3 = Seccomp.resolve(arena, "clone3");
                if (clone3 != Seccomp.NR_SCMP_ERROR) {
                    Seccomp.check(Seccomp.ruleAdd(ctx, Seccomp.errno(ENOSYS), clone3, MemorySegment.NULL, 0), "clone3");
                }
                int fd = Libc.create(arena, file.toString());
                if (fd < 0) {
                    throw new IOException("cannot create " + file);
                }
                try {
                    Seccomp.check(Seccomp.export(ctx, fd), "seccomp_export_bpf to " + file);
                } finally {
                    Libc.close(fd);
                }
            } finally {
                Seccomp.release(ctx);
            }
        }
    }

    /** libseccomp 2.x (Debian's libseccomp2, a dependency of systemd and apt, so on every Debian machine). */
    @SuppressWarnings("restricted")
    private static final class Seccomp {
        static final int ACT_ALLOW = 0x7fff_0000;
        static final int NR_SCMP_ERROR = -1;
        static final int CMP_MASKED_EQ = 7;
        /** struct scmp_arg_cmp { unsigned int arg; enum scmp_compare op; scmp_datum_t datum_a; scmp_datum_t datum_b; } */
        static final MemoryLayout ARG_CMP = MemoryLayout.structLayout(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG);

        private static final Linker LINKER = Linker.nativeLinker();
        private static final SymbolLookup LIB = SymbolLookup.libraryLookup("libseccomp.so.2", Arena.global());
        private static final MethodHandle INIT = handle("seccomp_init", FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        private static final MethodHandle RESOLVE = handle("seccomp_syscall_resolve_name",
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        private static final MethodHandle RULE_ADD = handle("seccomp_rule_add_array", FunctionDescriptor.of(ValueLayout.JAVA_INT,
                ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        private static final MethodHandle EXPORT = handle("seccomp_export_bpf",
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        private static final MethodHandle RELEASE = handle("seccomp_release", FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));

        private static MethodHandle handle(String name, FunctionDescriptor descriptor) {
            return LINKER.downcallHandle(LIB.findOrThrow(name), descriptor);
        }

        static int errno(int errno) {
            return 0x0005_0000 | (errno & 0xffff); // SCMP_ACT_ERRNO(x)
        }

        static MemorySegment init(int defaultAction) {
            try {
                return (MemorySegment) INIT.invokeExact(defaultAction);
            } catch (Throwable t) {
                throw NativeCalls.unexpected(t);
            }
        }

        static int resolve(Arena arena, String name) {
            try {
                return (int) RESOLVE.invokeExact(arena.allocateFrom(name));
            } catch (Throwable t) {
                throw NativeCalls.unexpected(t);
            }
        }

        static int ruleAdd(MemorySegment ctx, int action, int syscall, MemorySegment args, int count) {
            try {
                return (int) RULE_ADD.invokeExact(ctx, action, syscall, count, args);
            } catch (Throwable t) {
                throw NativeCalls.unexpected(t);
            }
        }

        static int export(MemorySegment ctx, int fd) {
            try {
                return (int) EXPORT.invokeExact(ctx, fd);
            } catch (Throwable t) {
                throw NativeCalls.unexpected(t);
            }
        }

        static void release(MemorySegment ctx) {
            try {
                RELEASE.invokeExact(ctx);
            } catch (Throwable t) {
                throw NativeCalls.unexpected(t);
            }
        }

        /** libseccomp returns a negated errno on failure. */
        static void check(int result, String what) throws IOException {
            if (result < 0) {
                throw new IOException("libseccomp: " + what + ": error " + (-result));
            }
        }
    }

    /** open(2) and close(2), to give libseccomp a file descriptor. */
    @SuppressWarnings("restricted")
    private static final class Libc {
        private static final int O_WRONLY = 0x1;
        private static final int O_CREAT = 0x40;
        private static final int O_TRUNC = 0x200;
        private static final int O_CLOEXEC = 0x80000;
        private static final int MODE_0600 = 0x180;
        private static final Linker LINKER = Linker.nativeLinker();
        /** int open(const char *path, int flags, ...): the mode is the first variadic argument. */
        private static final MethodHandle OPEN = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("open"),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT),
                Linker.Option.firstVariadicArg(2));
        private static final MethodHandle CLOSE = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("close"),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

        static int create(Arena arena, String path) {
            try {
                return (int) OPEN.invokeExact(arena.allocateFrom(path), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, MODE_0600);
            } catch (Throwable t) {
                throw NativeCalls.unexpected(t);
            }
        }

        static void close(int fd) {
            try {
                int ignored = (int) CLOSE.invokeExact(fd);
            } catch (Throwable t) {
                throw NativeCalls.unexpected(t);
            }
        }
    }
}
