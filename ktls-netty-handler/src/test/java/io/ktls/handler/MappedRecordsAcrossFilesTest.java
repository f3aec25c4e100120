package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.DefaultFileRegion;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A record may carry the tail of one mapped file and the head of the next (keep-alive {@code /a} then {@code /b},
 * a response of several files): the size check after the copy must hold each piece against its own file.
 */
class MappedRecordsAcrossFilesTest {

    /** 12 full records and a tail: the last record of {@code a} is completed from the head of {@code b}. */
    private static final int A_BYTES = 200 * 1024 + 100;
    /** Mapped (above {@link MappedFiles#MIN_FILE_BYTES}) and shorter than the file offset where {@code a} ends. */
    private static final int B_BYTES = 100 * 1024;
    @RegisterExtension
    static final SharedOffloadGroup OFFLOAD_GROUP = new SharedOffloadGroup(1);

    @TempDir
    Path dir;

    @ParameterizedTest(name = "offload={0}")
    @ValueSource(booleans = {false, true})
    void recordSpanningTwoMappedFilesIsCheckedAgainstEach(boolean offload) throws Exception {
        byte[] a = content(A_BYTES, 1);
        byte[] b = content(B_BYTES, 2);
        Path fileA = dir.resolve("a.bin");
        Path fileB = dir.resolve("b.bin");
        Files.write(fileA, a);
        Files.write(fileB, b);
        byte[] expected = new byte[A_BYTES + B_BYTES];
        System.arraycopy(a, 0, expected, 0, A_BYTES);
        System.arraycopy(b, 0, expected, A_BYTES, B_BYTES);

        TlsCipherSuite suite = TlsCipherSuite.TLS_AES_128_GCM_SHA256;
        SslContext serverContext = TestTls.get().server(suite);
        SslContext clientContext = TestTls.get().client(SslProvider.OPENSSL, suite);
        KtlsConfig config = KtlsConfig.builder().offloadGroup(offload ? OFFLOAD_GROUP.get() : null).build();
        CompletableFuture<ChannelFuture> sent = new CompletableFuture<>();
        ByteCollector collector = new ByteCollector(expected.length);
        try (Loopback loopback = new Loopback()) {
            loopback.serve(ch -> ch.pipeline().addLast(new KtlsHandler(serverContext, config),
                    new OnHandshakeSuccess(ctx -> {
                        // One flush: the two files' bytes are framed together.
                        ctx.write(new DefaultFileRegion(fileA.toFile(), 0, A_BYTES));
                        sent.complete(ctx.writeAndFlush(new DefaultFileRegion(fileB.toFile(), 0, B_BYTES)));
                    })));
            Channel client = loopback.connectTls(clientContext, collector);
            byte[] bytes = collector.received().get(30, TimeUnit.SECONDS);
            assertArrayEquals(expected, bytes);
            ChannelFuture write = sent.get(5, TimeUnit.SECONDS);
            assertTrue(write.await(5, TimeUnit.SECONDS) && write.isSuccess(), "write: " + write.cause());
            client.close().sync();
        }
    }

    private static byte[] content(int length, long seed) {
        byte[] content = new byte[length];
        new Random(seed).nextBytes(content);
        return content;
    }
}
