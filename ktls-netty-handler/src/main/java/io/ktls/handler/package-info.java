/**
 * TLS for Netty channels with our own record layer after BoringSSL's handshake.
 *
 * <h2>Public API</h2>
 * {@link io.ktls.handler.KtlsHandler} (in place of {@code SslHandler}), its options
 * {@link io.ktls.handler.KtlsConfig} (the one home of every option, with units and defaults),
 * {@link io.ktls.handler.KtlsOffloadGroup} (sealing workers, shared like an {@code EventLoopGroup}),
 * {@link io.ktls.handler.RecordMemoryBudget} (the server's bound on sealed, unsent records, shared the same way), and
 * the read-only counters {@link io.ktls.handler.KtlsMetric} with their sets {@link io.ktls.handler.KtlsStats}. Every
 * other class here is engine and package-private, which keeps it off the public surface more firmly than an
 * {@code internal} package could; the crypto engine, which other packages need, lives in
 * {@code io.ktls.handler.internal.crypto}.
 *
 * <h2>One {@code FileRegion} from {@code write()} to the socket</h2>
 * <ol>
 *   <li>{@code KtlsHandler.write} hands the region to {@code OutboundRecordLayer}, which queues it as a
 *       {@code PendingWrite} of its kind (a region write: nothing is read or copied yet).</li>
 *   <li>On flush, the layer frames: the pending write hands out a {@code RecordPiece.FilePiece} of at most a
 *       record's payload; the piece becomes an {@code OutboundRecord} with the next sequence number (its nonce),
 *       entered in {@code InFlightRecords}.</li>
 *   <li>After the framing pass the records go to the connection's {@code RecordSealer} as one batch:
 *       {@code InlineRecordSealer} on the event loop, or {@code OffloadRecordSealer} on the connection's
 *       {@code KtlsOffloadGroup} worker.</li>
 *   <li>The sealer hands each record to the connection's {@code RecordEncryptor}, which takes a body run from the
 *       channel's allocator and has the direction's {@code FileSource} fill it: from a shared mapping of the file
 *       ({@code MappedFiles}), or by positional read.</li>
 *   <li>The encryptor seals the run in place with the direction's {@code RecordCipher} and makes the output
 *       {@code header | body | trailer} composite.</li>
 *   <li>The sealer reports the batch back on the event loop ({@code RecordSealer.Completion.recordsSealed}); the
 *       layer passes it to {@code InFlightRecords}, which writes the contiguous prefix of sealed records to the
 *       channel and flushes once.</li>
 *   <li>When the transport has written the record, {@code InFlightRecords} completes the pending writes whose last
 *       byte it carried (the write's promise, the region's release) and the layer frames the next records.</li>
 * </ol>
 *
 * <h2>The rest of the engine</h2>
 * <ul>
 *   <li>Handshake and takeover: {@code EngineHandshake} (SslHandler, the {@code TlsRecordSplitter}, the
 *       {@code Tls13SecretCollector}), {@code EngineHandoff} (what is read from the engine),
 *       {@code ConnectionKeys} (both directions' keys, closed once), {@code HandshakeWrites}.</li>
 *   <li>Write side: {@code OutboundRecordLayer} (framing, sequence numbers, KeyUpdate, alerts, its declared
 *       lifecycle), {@code FramingTurns}, {@code OutboundWritability}, {@code OwedAnswer},
 *       {@code RecordBudgetShare} (the connection's share of the {@code RecordMemoryBudget}), and the pieces
 *       above.</li>
 *   <li>Read side: {@code InboundRecordLayer} (what the peer's records mean) over {@code RecordReader}
 *       (framing and opening records).</li>
 *   <li>Closing: {@code ClosingSequence} (the close behind our last record).</li>
 *   <li>Memory rules: {@code ExclusiveMemory} (which buffers may be sealed or opened in place).</li>
 * </ul>
 *
 * <h2>Threads</h2>
 * Everything runs on the channel's event loop except the sealing of records with an offload group; what crosses
 * between the two is an {@code OutboundRecord}, handed over through the worker's queue and back through the event
 * loop's, as {@code OffloadRecordSealer} explains. Each class shared across threads says which thread owns what.
 */
package io.ktls.handler;
