package io.ktls.handler;

import io.ktls.handler.crypto.AeadProvider;
import io.ktls.handler.crypto.AeadProviders;
import io.ktls.handler.crypto.TlsCipherSuite;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * The options of {@link KtlsHandler}: the module's one configuration class, and the one place its options are
 * documented (docs/configuration.md and docs/record-layer.md link here). Immutable; one instance may be shared
 * by every channel of a server. {@link #toString()} gives the effective values, for a start-up log line.
 *
 * <table>
 *   <caption>Options of {@link Builder}: unit, accepted values, default and why</caption>
 *   <tr><th>option</th><th>unit (accepted)</th><th>default</th><th>why</th></tr>
 *   <tr><td>{@link Builder#maxRecordPayloadBytes(int)}</td><td>bytes of plaintext per record (1 to
 *       {@value #MAX_RECORD_PAYLOAD_BYTES})</td><td>{@value #DEFAULT_MAX_RECORD_PAYLOAD_BYTES}</td>
 *       <td>a full TLS 1.3 record is then exactly 16 KiB: header, ciphertext and trailer go out as one 16 KiB
 *       run of pages, with no separate buffer for header and trailer and no composite around them (about 4% of
 *       a file server's CPU). Small writes are coalesced up to it on flush. {@value #MAX_RECORD_PAYLOAD_BYTES}
 *       (the TLS maximum, RFC 8446 section 5.1) is allowed; its records take a 16 KiB body and a small buffer
 *       for header and trailer. Smaller records cost more CPU per byte (an AEAD call, a header and a tag each)
 *       but bring the first decrypted byte sooner</td></tr>
 *   <tr><td>{@link Builder#offloadGroup(KtlsOffloadGroup)}</td><td>-</td><td>{@code null}</td>
 *       <td>{@code null} reads files and seals on the channel's event loop; a group moves both to its workers,
 *       so the event loop keeps serving sockets while records are sealed</td></tr>
 *   <tr><td>{@link Builder#offloadMinBatchBytes(int)}</td><td>bytes of plaintext per framing pass (0 or
 *       more)</td><td>{@value #DEFAULT_OFFLOAD_MIN_BATCH_BYTES}</td>
 *       <td>with an offload group: a pass that frames less than this, while the connection has nothing at its
 *       worker, is sealed on the event loop. Handing a batch off costs a queue operation and a wake-up on each
 *       side, more than sealing a small response (a 16 KiB file and its headers) where it is; the default keeps
 *       such responses, handshake answers and alerts inline and sends every window of a large body to the
 *       worker. 0 offloads every pass</td></tr>
 *   <tr><td>{@link Builder#maxRecordsInFlight(int)}</td><td>records per connection (1 or more)</td><td>32</td>
 *       <td>records framed but not yet written to the socket; reaching it (or as many bytes waiting to be
 *       framed) makes the channel unwritable, writable again below half. 32 x 16 KiB = 512 KiB of ciphertext
 *       per connection at most: enough to keep a fast peer busy, bounded for a slow one. Raise it for high
 *       bandwidth x delay paths, lower it for many slow clients (docs/operations.md)</td></tr>
 *   <tr><td>{@link Builder#recordMemoryBudget(RecordMemoryBudget)}</td><td>a budget in bytes of record memory,
 *       shared by every connection given it</td><td>{@link RecordMemoryBudget#jvmDefault()}: a quarter of the
 *       JVM's direct memory limit, 2 guaranteed records per connection</td>
 *       <td>{@code maxRecordsInFlight} bounds one connection, not the server: the budget bounds the bytes of
 *       records framed and not yet written across every connection that shares it. Beyond its guaranteed records
 *       a connection frames only while the budget has room; otherwise it waits, unwritable, in a FIFO queue and
 *       resumes when records of any connection complete. Make one per server (size it to the memory you give
 *       sealed records) and pass it to every handler; the default is shared by every handler of the JVM, so
 *       the bound holds even if nobody configures one</td></tr>
 *   <tr><td>{@link Builder#aeadProvider(AeadProvider)}</td><td>-</td><td>{@code null}: per suite,
 *       {@link AeadProviders#preferred}</td><td>the JCE provider, more than anything else here, decides the CPU
 *       a record costs; the preferred one per suite and JDK was chosen by measurement (docs/crypto.md). The
 *       system property {@value AeadProviders#PROVIDER_PROPERTY} overrides that choice for the default</td></tr>
 *   <tr><td>{@link Builder#keyLogFile(Path)}</td><td>-</td><td>{@code null} (off)</td>
 *       <td>debugging only: appends NSS key-log lines (the {@code SSLKEYLOGFILE} format) so a capture can be
 *       decrypted; anyone who can read the file can read the traffic (docs/security.md)</td></tr>
 *   <tr><td>{@link Builder#handshakeTimeoutMillis(long)}</td><td>milliseconds (0 or more)</td><td>10000</td>
 *       <td>as {@code SslHandler}, so swapping it for {@code KtlsHandler} changes no timing: a peer that has not
 *       finished the handshake by then is closed and {@link KtlsHandler#handshakeFuture()} fails with
 *       {@code SslHandshakeTimeoutException}; 0 waits forever</td></tr>
 *   <tr><td>{@link Builder#closeNotifyFlushTimeoutMillis(long)}</td><td>milliseconds (0 or more)</td><td>3000</td>
 *       <td>as {@code SslHandler}: how long a close (or a fatal alert) waits for the records before it and
 *       close_notify to be written before closing anyway, so a peer that stopped reading cannot hold the
 *       channel open; 0 waits for them without a limit</td></tr>
 *   <tr><td>{@link Builder#takeoverSuites(Collection)}, {@link Builder#takeoverSuites(TlsCipherSuite...)}</td>
 *       <td>cipher suites (any subset, empty included)</td><td>all nine {@link TlsCipherSuite}s</td>
 *       <td>a connection that negotiates another suite keeps its record layer in {@code SslHandler} (BoringSSL)
 *       for its whole life, counted in {@link KtlsMetric#fallbacks()}, and still accepts files (copied through
 *       {@code ChunkedWriteHandler}). Narrow it where a Java AEAD costs more CPU than BoringSSL's: ChaCha20-Poly1305
 *       before JDK 20, which has no intrinsic for it (figures in docs/crypto.md)</td></tr>
 *   <tr><td>{@link Builder#kernelTls(KernelTls)}</td><td>{@link KernelTls}</td><td>{@link KernelTls#OFF}</td>
 *       <td>{@code AUTO} hands the write keys of each connection on an epoll channel to Linux kernel TLS, so that
 *       file regions go out with {@code sendfile(2)}, sealed in the kernel; a connection the kernel refuses stays
 *       in user space (counted by cause). Off by default because the kernel path changes how a connection ends
 *       before JDK 22 (no close_notify) and cannot answer a KeyUpdate request (docs/kernel-tls.md)</td></tr>
 * </table>
 *
 * <p>Outside the builder, read once per JVM:
 * <ul>
 *   <li>{@link KtlsOffloadGroup#KtlsOffloadGroup()}: one worker per available processor, the right size when
 *       sealing is CPU-bound; {@link KtlsOffloadGroup#KtlsOffloadGroup(int)} sets the count. One group per
 *       process, shared by every channel, shut down after the event loop groups stopped accepting work.</li>
 *   <li>System property {@value AeadProviders#PROVIDER_PROPERTY}: {@code auto} (default), {@code SunJCE},
 *       {@code AmazonCorrettoCryptoProvider} or any installed provider's name; the default provider of every
 *       suite it offers.</li>
 *   <li>System property {@code io.ktls.handler.mappedFiles} ({@code true} by default): a
 *       {@code DefaultFileRegion} made from a {@code File} of 64 KiB to 2 GiB is sealed from a shared read-only
 *       mapping of the file, kept while the file is sent again, rather than read with {@code pread}; a mapping
 *       saves a system call and a kernel copy per record. {@code false} reads every file with {@code pread}:
 *       where files are rewritten in place while served on JDK 17 to 21, since a copy racing a truncation
 *       faults late there (docs/configuration.md, "File mappings").</li>
 *   <li>System property {@code io.ktls.handler.mappedFiles.maxBytes}, bytes, default 4 GiB: the address space
 *       mapped at once; least recently used mappings leave first, unmapped once their last record is sealed.</li>
 * </ul>
 */
public final class KtlsConfig {

    /** The largest plaintext of a TLS record (RFC 8446 section 5.1, RFC 5246 section 6.2.1). */
    public static final int MAX_RECORD_PAYLOAD_BYTES = 16384;
    /**
     * Default of {@link Builder#maxRecordPayloadBytes(int)}: 16 KiB less a TLS 1.3 AEAD record's 22 bytes of
     * overhead (5 of header, 1 of inner content type, 16 of tag), so a full record is 16 KiB on the wire and fills
     * one 4-page run. (A TLS 1.2 AES-GCM record carries 7 bytes more, an explicit nonce, and goes out as a 16 KiB
     * body with its header and trailer beside it.)
     */
    public static final int DEFAULT_MAX_RECORD_PAYLOAD_BYTES = 16384 - 22;
    /** Default of {@link Builder#offloadMinBatchBytes(int)}: two full records. */
    public static final int DEFAULT_OFFLOAD_MIN_BATCH_BYTES = 2 * DEFAULT_MAX_RECORD_PAYLOAD_BYTES;

    private static final KtlsConfig DEFAULTS = builder().build();

    private final int maxRecordPayloadBytes;
    private final KtlsOffloadGroup offloadGroup;
    private final int maxRecordsInFlight;
    private final int offloadMinBatchBytes;
    private final Path keyLogFile;
    private final AeadProvider aeadProvider;
    private final Set<TlsCipherSuite> takeoverSuites;
    private final long handshakeTimeoutMillis;
    private final long closeNotifyFlushTimeoutMillis;
    private final KernelTls kernelTls;
    /** Null: {@link RecordMemoryBudget#jvmDefault()}, made on first use rather than when this class loads. */
    private final RecordMemoryBudget recordMemoryBudget;
    private final KtlsStats stats;
    /** Package-private, for tests: records per TLS 1.3 write key before a KeyUpdate. */
    private final long keyUpdateAfterRecords;
    /** Package-private, for tests: makes each connection's sealer; null picks inline or offload. */
    private final RecordSealer.Factory sealerFactory;

    private KtlsConfig(Builder builder) {
        this.stats = builder.stats;
        this.recordMemoryBudget = builder.recordMemoryBudget;
        this.keyUpdateAfterRecords = builder.keyUpdateAfterRecords;
        this.sealerFactory = builder.sealerFactory;
        this.handshakeTimeoutMillis = builder.handshakeTimeoutMillis;
        this.closeNotifyFlushTimeoutMillis = builder.closeNotifyFlushTimeoutMillis;
        this.kernelTls = builder.kernelTls;
        this.takeoverSuites = Collections.unmodifiableSet(EnumSet.copyOf(builder.takeoverSuites));
        this.aeadProvider = builder.aeadProvider;
        this.maxRecordPayloadBytes = builder.maxRecordPayloadBytes;
        this.offloadGroup = builder.offloadGroup;
        this.offloadMinBatchBytes = builder.offloadMinBatchBytes;
        this.maxRecordsInFlight = builder.maxRecordsInFlight;
        this.keyLogFile = builder.keyLogFile;
    }

    /** The defaults of every option (see the class description). */
    public static KtlsConfig defaults() {
        return DEFAULTS;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Largest plaintext, in bytes, that one outgoing record carries. */
    public int maxRecordPayloadBytes() {
        return maxRecordPayloadBytes;
    }

    /** Workers that seal records, or {@code null} to seal on the event loop. */
    public KtlsOffloadGroup offloadGroup() {
        return offloadGroup;
    }

    /** Bytes of plaintext below which an offloading connection seals a framing pass on its event loop. */
    public int offloadMinBatchBytes() {
        return offloadMinBatchBytes;
    }

    /** Records of one connection framed but not yet written to the socket before the channel turns unwritable. */
    public int maxRecordsInFlight() {
        return maxRecordsInFlight;
    }

    /** File that receives NSS key-log lines, or {@code null} when key logging is off (the default). */
    public Path keyLogFile() {
        return keyLogFile;
    }

    /** Where the record ciphers come from, or {@code null} for {@link AeadProviders#preferred} per suite. */
    public AeadProvider aeadProvider() {
        return aeadProvider;
    }

    /** Milliseconds the handshake may take before the channel is closed; 0: no limit. */
    public long handshakeTimeoutMillis() {
        return handshakeTimeoutMillis;
    }

    /** Milliseconds a close waits for pending records and close_notify to be written; 0: no limit. */
    public long closeNotifyFlushTimeoutMillis() {
        return closeNotifyFlushTimeoutMillis;
    }

    /**
     * Suites whose record layer this handler takes over after the handshake; a connection that negotiates any
     * other suite stays on {@code SslHandler} for its whole life (counted in {@link KtlsMetric#fallbacks()}).
     */
    public Set<TlsCipherSuite> takeoverSuites() {
        return takeoverSuites;
    }

    /** The budget of record memory the connections of this configuration share (see the class description). */
    public RecordMemoryBudget recordMemoryBudget() {
        RecordMemoryBudget budget = recordMemoryBudget;
        return budget != null ? budget : RecordMemoryBudget.jvmDefault();
    }

    /** The counters the connections of this configuration add to (see {@link Builder#stats(KtlsStats)}). */
    public KtlsStats stats() {
        return stats;
    }

    /** Whether the kernel seals the records of each connection ({@link KernelTls}). */
    public KernelTls kernelTls() {
        return kernelTls;
    }

    /** Records sealed with one TLS 1.3 write key before a KeyUpdate replaces it. */
    long keyUpdateAfterRecords() {
        return keyUpdateAfterRecords;
    }

    /** Makes a connection's sealer: the configured one (tests), else on the offload group's worker or inline. */
    RecordSealer.Factory sealerFactory() {
        if (sealerFactory != null) {
            return sealerFactory;
        }
        KtlsOffloadGroup group = offloadGroup;
        if (group == null) {
            return (encryptor, completion, channel) -> new InlineRecordSealer(encryptor, completion);
        }
        int minBatchBytes = offloadMinBatchBytes;
        return (encryptor, completion, channel) -> new OffloadRecordSealer(encryptor, completion, group, channel,
                minBatchBytes);
    }

    @Override
    public String toString() {
        return "KtlsConfig(maxRecordPayloadBytes: " + maxRecordPayloadBytes
                + ", offloadGroup: " + (offloadGroup == null ? "none (inline)" : offloadGroup.workers() + " workers")
                + ", offloadMinBatchBytes: " + offloadMinBatchBytes
                + ", maxRecordsInFlight: " + maxRecordsInFlight
                + ", recordMemoryBudget: " + recordMemoryBudget().name() + " (" + recordMemoryBudget().capacityBytes()
                + " bytes, " + recordMemoryBudget().guaranteedRecordsPerConnection() + " records guaranteed)"
                + ", aeadProvider: " + (aeadProvider == null ? "preferred" : aeadProvider.name())
                + ", keyLogFile: " + (keyLogFile == null ? "off" : keyLogFile)
                + ", handshakeTimeoutMillis: " + handshakeTimeoutMillis
                + ", closeNotifyFlushTimeoutMillis: " + closeNotifyFlushTimeoutMillis
                + ", kernelTls: " + kernelTls
                + ", takeoverSuites: " + (takeoverSuites.size() == TlsCipherSuite.values().length ? "all"
                        : takeoverSuites.toString()) + ')';
    }

    /** Builds a {@link KtlsConfig}; every option starts at its documented default. */
    public static final class Builder {
        private int maxRecordPayloadBytes = DEFAULT_MAX_RECORD_PAYLOAD_BYTES;
        private KtlsOffloadGroup offloadGroup;
        private int maxRecordsInFlight = 32;
        private int offloadMinBatchBytes = DEFAULT_OFFLOAD_MIN_BATCH_BYTES;
        private Path keyLogFile;
        private AeadProvider aeadProvider;
        private EnumSet<TlsCipherSuite> takeoverSuites = EnumSet.allOf(TlsCipherSuite.class);
        // SslHandler's own defaults, so that swapping it for KtlsHandler changes no timing.
        private long handshakeTimeoutMillis = 10_000;
        private long closeNotifyFlushTimeoutMillis = 3_000;
        private KernelTls kernelTls = KernelTls.OFF;
        private KtlsStats stats = KtlsStats.GLOBAL;
        private RecordMemoryBudget recordMemoryBudget;
        private long keyUpdateAfterRecords = OutboundRecordLayer.DEFAULT_KEY_UPDATE_AFTER_RECORDS;
        private RecordSealer.Factory sealerFactory;

        private Builder() {
        }

        /**
         * The counters the connections add to; default {@link KtlsMetric#global()}, the JVM's. A set of its own
         * ({@code new KtlsStats()}) counts a group of handlers apart, a server instance or a test, say.
         */
        public Builder stats(KtlsStats stats) {
            this.stats = Objects.requireNonNull(stats, "stats");
            return this;
        }

        /**
         * The budget of record memory shared by the connections of this configuration, and of any other given the
         * same budget; default {@link RecordMemoryBudget#jvmDefault()}. Make one per server:
         * {@code new RecordMemoryBudget(256L << 20)} lets the connections hold 256 MiB of records framed and not
         * yet written, beyond their guaranteed records.
         */
        public Builder recordMemoryBudget(RecordMemoryBudget recordMemoryBudget) {
            this.recordMemoryBudget = Objects.requireNonNull(recordMemoryBudget, "recordMemoryBudget");
            return this;
        }

        /** For tests: records per TLS 1.3 write key before a KeyUpdate (capped by the suite's limit). */
        Builder keyUpdateAfterRecords(long keyUpdateAfterRecords) {
            if (keyUpdateAfterRecords < 1) {
                throw new IllegalArgumentException("keyUpdateAfterRecords: " + keyUpdateAfterRecords
                        + " (expected: > 0)");
            }
            this.keyUpdateAfterRecords = keyUpdateAfterRecords;
            return this;
        }

        /** For tests: the sealer of each connection, e.g. one that completes records in an order of its own. */
        Builder sealerFactory(RecordSealer.Factory sealerFactory) {
            this.sealerFactory = sealerFactory;
            return this;
        }

        /** The AEAD provider of every record cipher; {@code null} (the default) picks the preferred per suite. */
        public Builder aeadProvider(AeadProvider aeadProvider) {
            this.aeadProvider = aeadProvider;
            return this;
        }

        /** Bytes of plaintext per record, 1 to 16384; default {@value KtlsConfig#DEFAULT_MAX_RECORD_PAYLOAD_BYTES}. */
        public Builder maxRecordPayloadBytes(int maxRecordPayloadBytes) {
            if (maxRecordPayloadBytes < 1 || maxRecordPayloadBytes > MAX_RECORD_PAYLOAD_BYTES) {
                throw new IllegalArgumentException("maxRecordPayloadBytes: " + maxRecordPayloadBytes
                        + " (expected: 1-" + MAX_RECORD_PAYLOAD_BYTES + ')');
            }
            this.maxRecordPayloadBytes = maxRecordPayloadBytes;
            return this;
        }

        /** Seal on this group's workers; {@code null} (the default) seals on the channel's event loop. */
        public Builder offloadGroup(KtlsOffloadGroup offloadGroup) {
            this.offloadGroup = offloadGroup;
            return this;
        }

        /**
         * With an offload group, a framing pass of fewer plaintext bytes than this is sealed on the event loop
         * when the connection has nothing at its worker; 0 offloads every pass. Default
         * {@value #DEFAULT_OFFLOAD_MIN_BATCH_BYTES}.
         */
        public Builder offloadMinBatchBytes(int offloadMinBatchBytes) {
            if (offloadMinBatchBytes < 0) {
                throw new IllegalArgumentException("offloadMinBatchBytes: " + offloadMinBatchBytes
                        + " (expected: >= 0)");
            }
            this.offloadMinBatchBytes = offloadMinBatchBytes;
            return this;
        }

        /** Records per connection in flight (framed, not yet written) before the channel turns unwritable. */
        public Builder maxRecordsInFlight(int maxRecordsInFlight) {
            if (maxRecordsInFlight < 1) {
                throw new IllegalArgumentException("maxRecordsInFlight: " + maxRecordsInFlight + " (expected: > 0)");
            }
            this.maxRecordsInFlight = maxRecordsInFlight;
            return this;
        }

        /** Debugging only: append NSS key-log lines to this file; {@code null} (the default) logs nothing. */
        public Builder keyLogFile(Path keyLogFile) {
            this.keyLogFile = keyLogFile;
            return this;
        }

        /** Milliseconds the handshake may take, 0 for no limit; default 10000 (as {@code SslHandler}). */
        public Builder handshakeTimeoutMillis(long handshakeTimeoutMillis) {
            this.handshakeTimeoutMillis = checkTimeout("handshakeTimeoutMillis", handshakeTimeoutMillis);
            return this;
        }

        /**
         * Milliseconds a close waits for the records framed before it and close_notify to be written before it
         * closes the connection anyway, 0 for no limit; default 3000 (as {@code SslHandler}).
         */
        public Builder closeNotifyFlushTimeoutMillis(long closeNotifyFlushTimeoutMillis) {
            this.closeNotifyFlushTimeoutMillis = checkTimeout("closeNotifyFlushTimeoutMillis",
                    closeNotifyFlushTimeoutMillis);
            return this;
        }

        private static long checkTimeout(String name, long millis) {
            if (millis < 0) {
                throw new IllegalArgumentException(name + ": " + millis + " (expected: >= 0)");
            }
            return millis;
        }

        /**
         * The suites whose record layer is taken over; default all of them. Any other negotiated suite stays on
         * {@code SslHandler}. An empty set keeps every connection there (the handler then still accepts
         * {@code FileRegion}s, copying them through {@code ChunkedWriteHandler}).
         */
        public Builder takeoverSuites(Collection<TlsCipherSuite> takeoverSuites) {
            Objects.requireNonNull(takeoverSuites, "takeoverSuites");
            EnumSet<TlsCipherSuite> suites = EnumSet.noneOf(TlsCipherSuite.class);
            for (TlsCipherSuite suite : takeoverSuites) {
                suites.add(Objects.requireNonNull(suite, "takeoverSuites contains null"));
            }
            this.takeoverSuites = suites;
            return this;
        }

        /**
         * Whether Linux kernel TLS seals each connection's records; default {@link KernelTls#OFF}. With
         * {@link KernelTls#AUTO} a connection the kernel refuses stays in user space, inline or on the offload
         * group as configured.
         */
        public Builder kernelTls(KernelTls kernelTls) {
            this.kernelTls = Objects.requireNonNull(kernelTls, "kernelTls");
            return this;
        }

        /** Varargs form of {@link #takeoverSuites(Collection)}. */
        public Builder takeoverSuites(TlsCipherSuite... takeoverSuites) {
            return takeoverSuites(Arrays.asList(takeoverSuites));
        }

        public KtlsConfig build() {
            return new KtlsConfig(this);
        }
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof KtlsConfig)) {
            return false;
        }
        KtlsConfig that = (KtlsConfig) o;
        return maxRecordPayloadBytes == that.maxRecordPayloadBytes && maxRecordsInFlight == that.maxRecordsInFlight
                && offloadMinBatchBytes == that.offloadMinBatchBytes
                && offloadGroup == that.offloadGroup && aeadProvider == that.aeadProvider
                && Objects.equals(keyLogFile, that.keyLogFile) && takeoverSuites.equals(that.takeoverSuites)
                && handshakeTimeoutMillis == that.handshakeTimeoutMillis
                && closeNotifyFlushTimeoutMillis == that.closeNotifyFlushTimeoutMillis && stats == that.stats
                && kernelTls == that.kernelTls
                && recordMemoryBudget() == that.recordMemoryBudget()
                && keyUpdateAfterRecords == that.keyUpdateAfterRecords && sealerFactory == that.sealerFactory;
    }

    @Override
    public int hashCode() {
        return Objects.hash(maxRecordPayloadBytes, maxRecordsInFlight, offloadMinBatchBytes,
                System.identityHashCode(offloadGroup),
                System.identityHashCode(aeadProvider), keyLogFile, takeoverSuites, handshakeTimeoutMillis,
                closeNotifyFlushTimeoutMillis, kernelTls, System.identityHashCode(stats),
                System.identityHashCode(recordMemoryBudget()), keyUpdateAfterRecords);
    }
}
