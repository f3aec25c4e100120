package io.ktls.handler.internal.kernel;

import io.netty.util.internal.logging.InternalLogger;
import io.netty.util.internal.logging.InternalLoggerFactory;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Array;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Sends one TLS control record on a kernel-TLS socket: {@code sendmsg(2)} with a {@code TLS_SET_RECORD_TYPE}
 * control message, through the JDK's foreign-function API (JDK 22+).
 *
 * <p>Once a socket's TX keys are installed ({@code TCP_ULP "tls"}, then {@code SOL_TLS/TLS_TX}), every plain
 * write becomes an {@code application_data} record. Any other record (an alert such as close_notify, a
 * post-handshake message such as KeyUpdate) must be sent with {@code sendmsg} carrying one control message
 * (the kernel's {@code Documentation/networking/tls.rst}, "Send TLS control messages"):
 * <pre>
 *   cmsg_level = SOL_TLS (282), cmsg_type = TLS_SET_RECORD_TYPE (1), data = { content type }  (21 alert, 22 handshake)
 * </pre>
 * Netty's stream channels cannot send a control message, and the project compiles for Java 17, so the
 * foreign-function API ({@code java.lang.foreign}, final in JDK 22) is reached by reflection and method handles,
 * all of it in this class. On JDK 17 to 21 {@link #get()} is {@code null}.
 *
 * <h2>The native block of one call</h2>
 * One allocation in a confined arena per call, 8-byte aligned, laid out as LP64 Linux (x86_64, aarch64, and
 * every other 64-bit Linux) expects it; the offsets are the {@code *_OFFSET} constants below:
 * <pre>
 *   0  struct msghdr   (56)  msg_name=NULL, msg_namelen=0 +pad, msg_iov=@56, msg_iovlen=1,
 *                            msg_control=@72, msg_controllen=CMSG_SPACE(1)=24, msg_flags=0 +pad
 *  56  struct iovec    (16)  iov_base=@96, iov_len=length
 *  72  struct cmsghdr  (24)  cmsg_len=CMSG_LEN(1)=17, cmsg_level=282, cmsg_type=1, data[0]=type, 7 bytes pad
 *  96  payload     (length)  a copy of data[offset, offset+length)
 * </pre>
 * The {@code size_t} fields are written as 64-bit values in native order; musl, which declares some of them as
 * an {@code int} plus padding, reads the same bytes (the padding half is zero). errno is captured by the
 * downcall ({@code Linker.Option.captureCallState("errno")}) into a second small segment of the same arena, so
 * that no other native call in between can overwrite it.
 *
 * <h2>Native access</h2>
 * {@code Linker.downcallHandle} is a restricted method. Users should start the JVM with
 * {@code --enable-native-access=ALL-UNNAMED} (or the name of the module holding this class): without it JDK 22
 * to 25 print a warning on the first use and go on; with {@code --illegal-native-access=deny} (JDK 24+) or an
 * {@code --enable-native-access} list that leaves this module out, resolution fails and {@link #get()} returns
 * {@code null} with the reason in {@link #unavailableReason()}. The resolution ends with a probe,
 * {@code sendmsg(-1)}, which must answer {@code -EBADF}; anything else leaves the sender unavailable too.
 *
 * <p>Threads: the class holds no mutable state. The method handles are resolved once, by the JVM's class
 * initialisation of a holder (which publishes them safely to every thread); each {@link #send} call has its
 * own confined arena, opened and closed on the calling thread.
 */
public final class ControlRecordSender {
    private static final InternalLogger logger = InternalLoggerFactory.getInstance(ControlRecordSender.class);

    /** {@code SOL_TLS} from {@code linux/socket.h}: the level of the control message. */
    static final int SOL_TLS = 282;
    /** {@code TLS_SET_RECORD_TYPE} from {@code linux/tls.h}: the control message's type. */
    static final int TLS_SET_RECORD_TYPE = 1;
    /** Never block the calling thread (an event loop or worker): a full send buffer is {@code -EAGAIN}. */
    static final int MSG_DONTWAIT = 0x40;
    /** A reset peer is {@code -EPIPE}, not a SIGPIPE. */
    static final int MSG_NOSIGNAL = 0x4000;
    /** The flags of every call. */
    static final int SEND_FLAGS = MSG_DONTWAIT | MSG_NOSIGNAL;
    /** {@code EBADF}: the answer the resolution probe on fd -1 expects. */
    static final int EBADF = 9;

    /** {@code sizeof(struct msghdr)} on LP64 Linux. */
    static final int MSGHDR_BYTES = 56;
    /** {@code sizeof(struct iovec)} on LP64 Linux. */
    static final int IOVEC_BYTES = 16;
    /** {@code CMSG_LEN(1)}: the 16-byte {@code struct cmsghdr} and the one byte of the content type. */
    static final int CMSG_LEN_1 = 17;
    /** {@code CMSG_SPACE(1)}: {@code CMSG_LEN(1)} rounded up to the 8-byte alignment of {@code size_t}. */
    static final int CMSG_SPACE_1 = 24;

    static final int MSGHDR_OFFSET = 0;
    static final int IOVEC_OFFSET = MSGHDR_OFFSET + MSGHDR_BYTES;
    static final int CMSG_OFFSET = IOVEC_OFFSET + IOVEC_BYTES;
    static final int PAYLOAD_OFFSET = CMSG_OFFSET + CMSG_SPACE_1;
    /** The bytes before the payload: msghdr, iovec and control message. */
    static final int HEADER_BYTES = PAYLOAD_OFFSET;
    /** Alignment of the block: that of a pointer and a {@code size_t}. */
    static final long BLOCK_ALIGNMENT = 8;

    private ControlRecordSender() {
    }

    /**
     * The sender of this JVM, or {@code null} when it has none (JDK older than 22, not Linux, no libc symbol,
     * native access denied); see {@link #unavailableReason()}. Resolved once, lazily, thread-safe.
     */
    public static ControlRecordSender get() {
        return Resolution.SENDER;
    }

    /**
     * Why {@link #get()} is {@code null} (for example {@code "java.lang.foreign needs JDK 22+, running 17.0.15"}),
     * or {@code null} when the sender is available.
     */
    public static String unavailableReason() {
        return Resolution.REASON;
    }

    /**
     * {@code sendmsg(fd, {data[offset, offset + length)}, SOL_TLS/TLS_SET_RECORD_TYPE = recordType,
     * MSG_DONTWAIT | MSG_NOSIGNAL)}: on a kernel-TLS socket, one record of type {@code recordType}.
     *
     * <p>The caller owns {@code fd} and keeps it open for the call. A count below {@code length} means the kernel
     * took only part of the record: the rest must be sent with the same record type before anything else.
     *
     * @return the bytes sent ({@code >= 0}), or {@code -errno} (for example {@code -11} for {@code EAGAIN},
     *         {@code -9} for {@code EBADF}); an errno never throws
     * @throws IndexOutOfBoundsException if {@code [offset, offset + length)} is not inside {@code data}
     */
    public int send(int fd, byte recordType, byte[] data, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, data.length);
        ForeignCalls calls = Resolution.CALLS;
        try {
            Object arena = (Object) calls.openArena().invokeExact();
            try {
                Object errnoState = (Object) calls.allocate().invokeExact(arena, calls.stateBytes(),
                                                                         calls.stateAlignment());
                Object block = (Object) calls.allocate().invokeExact(arena, (long) HEADER_BYTES + length,
                                                                    BLOCK_ALIGNMENT);
                long base = (long) calls.address().invokeExact(block);
                byte[] header = new byte[HEADER_BYTES];
                encodeHeader(ByteBuffer.wrap(header).order(ByteOrder.nativeOrder()), base, recordType, length);
                calls.copyBytes().invokeExact((Object) header, 0, block, (long) MSGHDR_OFFSET, HEADER_BYTES);
                calls.copyBytes().invokeExact((Object) data, offset, block, (long) PAYLOAD_OFFSET, length);
                long sent = (long) calls.sendmsg().invokeExact(errnoState, fd, block, SEND_FLAGS);
                if (sent >= 0) {
                    return (int) sent;
                }
                // Read straight from the capture segment: the downcall stored errno there as sendmsg returned.
                return -(int) calls.getInt().invokeExact(errnoState, calls.errnoOffset());
            } finally {
                calls.closeArena().invokeExact(arena);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            // invokeExact declares Throwable; none of these handles throws a checked exception.
            throw new IllegalStateException("sendmsg through java.lang.foreign failed", t);
        }
    }

    /**
     * Writes msghdr, iovec and control message of a block at native address {@code base} into {@code header}
     * (native order, position ignored), the layout of the class comment.
     */
    static void encodeHeader(ByteBuffer header, long base, byte recordType, int payloadBytes) {
        assert header.order() == ByteOrder.nativeOrder() && header.capacity() >= HEADER_BYTES : header;
        // struct msghdr: no address (connected stream), one iovec, one control message, no flags.
        header.putLong(MSGHDR_OFFSET, 0L);                                  // msg_name
        header.putLong(MSGHDR_OFFSET + 8, 0L);                              // msg_namelen, padding
        header.putLong(MSGHDR_OFFSET + 16, base + IOVEC_OFFSET);            // msg_iov
        header.putLong(MSGHDR_OFFSET + 24, 1L);                             // msg_iovlen
        header.putLong(MSGHDR_OFFSET + 32, base + CMSG_OFFSET);             // msg_control
        header.putLong(MSGHDR_OFFSET + 40, CMSG_SPACE_1);                   // msg_controllen
        header.putLong(MSGHDR_OFFSET + 48, 0L);                             // msg_flags, padding
        // struct iovec: the payload copy behind the header.
        header.putLong(IOVEC_OFFSET, base + PAYLOAD_OFFSET);                // iov_base
        header.putLong(IOVEC_OFFSET + 8, payloadBytes);                     // iov_len
        // struct cmsghdr and its one byte of data, then the padding up to CMSG_SPACE(1).
        header.putLong(CMSG_OFFSET, CMSG_LEN_1);                            // cmsg_len
        header.putInt(CMSG_OFFSET + 8, SOL_TLS);                            // cmsg_level
        header.putInt(CMSG_OFFSET + 12, TLS_SET_RECORD_TYPE);               // cmsg_type
        header.putLong(CMSG_OFFSET + 16, 0L);
        header.put(CMSG_OFFSET + 16, recordType);                           // CMSG_DATA[0]
    }

    /**
     * The sender or the reason there is none, resolved by the class initialisation of this holder: once, on the
     * first {@link #get()} or {@link #unavailableReason()}, and published to every thread by the JVM.
     */
    private static final class Resolution {
        static final ForeignCalls CALLS;
        static final ControlRecordSender SENDER;
        static final String REASON;

        static {
            ForeignCalls calls = null;
            String reason;
            try {
                calls = ForeignCalls.resolve();
                reason = null;
            } catch (Unavailable e) {
                reason = e.getMessage();
            } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
                Throwable cause = e instanceof InvocationTargetException ? e.getCause() : e;
                reason = "java.lang.foreign could not link sendmsg: " + cause;
            }
            CALLS = calls;
            ControlRecordSender sender = calls == null ? null : new ControlRecordSender();
            if (sender != null) {
                reason = probe(sender);
                if (reason != null) {
                    sender = null;
                }
            }
            SENDER = sender;
            REASON = reason;
            if (reason == null) {
                logger.debug("TLS control records are sent with sendmsg through java.lang.foreign");
            } else {
                logger.debug("TLS control records cannot be sent with sendmsg: {}", reason);
            }
        }

        /**
         * Calls sendmsg once on fd -1, which must fail with EBADF: proves that the downcall runs (native access
         * was not denied at call time) and that errno comes back. Returns null when it does.
         */
        private static String probe(ControlRecordSender sender) {
            try {
                int result = sender.send(-1, (byte) 21, new byte[] {1, 0}, 0, 2);
                return result == -EBADF ? null
                        : "sendmsg(-1) through java.lang.foreign answered " + result + " (expected: " + -EBADF + ')';
            } catch (RuntimeException | LinkageError e) {
                return "sendmsg through java.lang.foreign failed: " + e;
            }
        }
    }

    /** Why the foreign-function API cannot be used here; its message is the reason reported. */
    private static final class Unavailable extends Exception {
        private static final long serialVersionUID = 1L;

        Unavailable(String reason) {
            super(reason, null, false, false);
        }
    }

    /**
     * The method handles of one send, typed with {@code Object} in place of {@code Arena} and {@code MemorySegment}
     * so that this class compiles for Java 17. A record so that the JIT trusts its final fields: read through the
     * holder's static final, every handle is a constant at the call site.
     *
     * @param openArena      {@code () Object}: {@code Arena.ofConfined()}
     * @param allocate       {@code (Object arena, long bytes, long alignment) Object}: {@code Arena.allocate}
     * @param closeArena     {@code (Object arena) void}: {@code Arena.close()}
     * @param address        {@code (Object segment) long}: {@code MemorySegment.address()}
     * @param copyBytes      {@code (Object array, int index, Object segment, long offset, int count) void}:
     *                       {@code MemorySegment.copy} with {@code JAVA_BYTE}
     * @param getInt         {@code (Object segment, long offset) int}: {@code MemorySegment.get(JAVA_INT, ...)}
     * @param sendmsg        {@code (Object errnoState, int fd, Object msghdr, int flags) long}: the downcall
     * @param stateBytes     size of the errno capture segment ({@code Linker.Option.captureStateLayout()})
     * @param stateAlignment its alignment
     * @param errnoOffset    offset of {@code errno} inside it
     */
    private record ForeignCalls(MethodHandle openArena, MethodHandle allocate, MethodHandle closeArena,
                                MethodHandle address, MethodHandle copyBytes, MethodHandle getInt,
                                MethodHandle sendmsg, long stateBytes, long stateAlignment, long errnoOffset) {

        static ForeignCalls resolve() throws Unavailable, ReflectiveOperationException {
            if (Runtime.version().feature() < 22) {
                throw new Unavailable("java.lang.foreign needs JDK 22+, running " + System.getProperty("java.version"));
            }
            String os = System.getProperty("os.name", "");
            if (!os.toLowerCase(Locale.ROOT).startsWith("linux")) {
                throw new Unavailable("kernel TLS control messages are Linux only, running on " + os);
            }
            Class<?> linkerClass = Class.forName("java.lang.foreign.Linker");
            Class<?> optionClass = Class.forName("java.lang.foreign.Linker$Option");
            Class<?> layoutClass = Class.forName("java.lang.foreign.MemoryLayout");
            Class<?> pathElementClass = Class.forName("java.lang.foreign.MemoryLayout$PathElement");
            Class<?> valueLayoutClass = Class.forName("java.lang.foreign.ValueLayout");
            Class<?> ofIntClass = Class.forName("java.lang.foreign.ValueLayout$OfInt");
            Class<?> descriptorClass = Class.forName("java.lang.foreign.FunctionDescriptor");
            Class<?> segmentClass = Class.forName("java.lang.foreign.MemorySegment");
            Class<?> arenaClass = Class.forName("java.lang.foreign.Arena");
            Class<?> lookupClass = Class.forName("java.lang.foreign.SymbolLookup");

            Object javaByte = valueLayoutClass.getField("JAVA_BYTE").get(null);
            Object javaInt = valueLayoutClass.getField("JAVA_INT").get(null);
            Object javaLong = valueLayoutClass.getField("JAVA_LONG").get(null);
            Object address = valueLayoutClass.getField("ADDRESS").get(null);
            long addressBytes = (long) layoutClass.getMethod("byteSize").invoke(address);
            if (addressBytes != 8) {
                throw new Unavailable("the msghdr layout is LP64, this JVM has " + addressBytes + "-byte addresses");
            }

            Object linker = linkerClass.getMethod("nativeLinker").invoke(null);
            Object libc = linkerClass.getMethod("defaultLookup").invoke(linker);
            Optional<?> symbol = (Optional<?>) lookupClass.getMethod("find", String.class).invoke(libc, "sendmsg");
            if (symbol.isEmpty()) {
                throw new Unavailable("the C library has no sendmsg symbol");
            }
            // ssize_t sendmsg(int sockfd, const struct msghdr *msg, int flags)
            Object[] arguments = (Object[]) Array.newInstance(layoutClass, 3);
            arguments[0] = javaInt;
            arguments[1] = address;
            arguments[2] = javaInt;
            Object descriptor = descriptorClass.getMethod("of", layoutClass, arguments.getClass())
                                               .invoke(null, javaLong, arguments);
            Object captureErrno = optionClass.getMethod("captureCallState", String[].class)
                                             .invoke(null, (Object) new String[] {"errno"});
            Object[] options = (Object[]) Array.newInstance(optionClass, 1);
            options[0] = captureErrno;
            Object stateLayout = optionClass.getMethod("captureStateLayout").invoke(null);
            long stateBytes = (long) layoutClass.getMethod("byteSize").invoke(stateLayout);
            long stateAlignment = (long) layoutClass.getMethod("byteAlignment").invoke(stateLayout);
            Object[] errnoPath = (Object[]) Array.newInstance(pathElementClass, 1);
            errnoPath[0] = pathElementClass.getMethod("groupElement", String.class).invoke(null, "errno");
            long errnoOffset = (long) layoutClass.getMethod("byteOffset", errnoPath.getClass())
                                                 .invoke(stateLayout, (Object) errnoPath);

            // The restricted call: throws IllegalCallerException when native access is denied to this module.
            // Reflection makes this class the caller, whose module is the one checked.
            Method downcallHandle = linkerClass.getMethod("downcallHandle", segmentClass, descriptorClass,
                                                          options.getClass());
            MethodHandle sendmsg = (MethodHandle) downcallHandle.invoke(linker, symbol.get(), descriptor, options);

            MethodHandles.Lookup lookup = MethodHandles.lookup();
            MethodHandle openArena = lookup.findStatic(arenaClass, "ofConfined", MethodType.methodType(arenaClass));
            MethodHandle allocate = lookup.findVirtual(arenaClass, "allocate",
                    MethodType.methodType(segmentClass, long.class, long.class));
            MethodHandle closeArena = lookup.findVirtual(arenaClass, "close", MethodType.methodType(void.class));
            MethodHandle segmentAddress = lookup.findVirtual(segmentClass, "address", MethodType.methodType(long.class));
            MethodHandle copy = lookup.findStatic(segmentClass, "copy", MethodType.methodType(void.class,
                    Object.class, int.class, segmentClass, valueLayoutClass, long.class, int.class));
            MethodHandle get = lookup.findVirtual(segmentClass, "get",
                    MethodType.methodType(int.class, ofIntClass, long.class));
            return new ForeignCalls(
                    openArena.asType(MethodType.methodType(Object.class)),
                    allocate.asType(MethodType.methodType(Object.class, Object.class, long.class, long.class)),
                    closeArena.asType(MethodType.methodType(void.class, Object.class)),
                    segmentAddress.asType(MethodType.methodType(long.class, Object.class)),
                    MethodHandles.insertArguments(copy, 3, javaByte).asType(MethodType.methodType(void.class,
                            Object.class, int.class, Object.class, long.class, int.class)),
                    MethodHandles.insertArguments(get, 1, javaInt)
                                 .asType(MethodType.methodType(int.class, Object.class, long.class)),
                    sendmsg.asType(MethodType.methodType(long.class, Object.class, int.class, Object.class, int.class)),
                    stateBytes, stateAlignment, errnoOffset);
        }
    }
}
