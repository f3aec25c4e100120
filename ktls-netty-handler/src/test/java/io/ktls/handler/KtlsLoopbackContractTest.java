package io.ktls.handler;

import io.ktls.handler.crypto.TlsCipherSuite;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The contract every suite and mode must meet end to end: a Netty {@code SslHandler} client (BoringSSL or the
 * JDK's engine) talks to a {@link KtlsHandler} server over loopback; payloads of 0, 1, 16383, 16384, 16385 and
 * 1 MiB + 7 bytes go each way, and the SHA-256 of what arrives equals what was sent.
 */
class KtlsLoopbackContractTest {

    static final int[] SIZES = {0, 1, 16383, 16384, 16385, 1024 * 1024 + 7};

    @RegisterExtension
    static final SharedOffloadGroup OFFLOAD_GROUP = new SharedOffloadGroup(2);

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (TlsCipherSuite suite : TlsCipherSuite.values()) {
            for (SslProvider provider : new SslProvider[] {SslProvider.OPENSSL, SslProvider.JDK}) {
                if (provider == SslProvider.OPENSSL && suite.isTls13()
                        && suite != TlsCipherSuite.TLS_AES_128_GCM_SHA256) {
                    // BoringSSL cannot be told which TLS 1.3 suite to offer: it negotiates AES-128-GCM on
                    // this hardware. The JDK client covers the other two TLS 1.3 suites.
                    continue;
                }
                for (boolean offload : new boolean[] {false, true}) {
                    cases.add(Arguments.of(suite, provider, offload));
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} {1} client, offload={2}")
    @MethodSource("cases")
    void payloadsArriveIntactBothWays(TlsCipherSuite suite, SslProvider clientProvider, boolean offload)
            throws Exception {
        TestTls tls = TestTls.get();
        SslContext serverContext = tls.server(suite);
        SslContext clientContext = tls.client(clientProvider, suite);
        KtlsConfig config = KtlsConfig.builder().offloadGroup(offload ? OFFLOAD_GROUP.get() : null).build();
        byte[][] payloads = payloads(new Random(suite.ordinal()));
        long total = 0;
        for (byte[] p : payloads) {
            total += p.length;
        }
        byte[] expectedDigest = digest(payloads);

        CompletableFuture<KtlsHandler> serverHandshake = new CompletableFuture<>();
        CompletableFuture<byte[]> serverReceived = new CompletableFuture<>();
        CompletableFuture<byte[]> clientReceived = new CompletableFuture<>();
        final long expectedBytes = total;
        try (Loopback loopback = new Loopback()) {
            loopback.serve(ch -> {
                KtlsHandler ktls = new KtlsHandler(serverContext, config);
                ch.pipeline().addLast(ktls, new ChannelInboundHandlerAdapter() {
                    final Digesting in = new Digesting(expectedBytes);

                    @Override
                    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                        if (evt instanceof SslHandshakeCompletionEvent) {
                            if (((SslHandshakeCompletionEvent) evt).isSuccess()) {
                                serverHandshake.complete(ktls);
                                for (byte[] p : payloads) {
                                    ctx.writeAndFlush(Unpooled.wrappedBuffer(p));
                                }
                            } else {
                                serverHandshake.completeExceptionally(((SslHandshakeCompletionEvent) evt).cause());
                            }
                        }
                        ctx.fireUserEventTriggered(evt);
                    }

                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        if (in.add((ByteBuf) msg)) {
                            serverReceived.complete(in.digest());
                        }
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        serverReceived.completeExceptionally(cause);
                        ctx.close();
                    }
                });
            });
            Channel client = loopback.connect(ch -> {
                SslHandler ssl = clientContext.newHandler(ch.alloc(), "localhost", loopback.port());
                ch.pipeline().addLast(ssl, new ChannelInboundHandlerAdapter() {
                    final Digesting in = new Digesting(expectedBytes);

                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        if (in.add((ByteBuf) msg)) {
                            clientReceived.complete(in.digest());
                        }
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        clientReceived.completeExceptionally(cause);
                        ctx.close();
                    }
                });
            });
            SslHandler clientSsl = client.pipeline().get(SslHandler.class);
            clientSsl.handshakeFuture().sync();
            for (byte[] p : payloads) {
                client.writeAndFlush(Unpooled.wrappedBuffer(p)).sync();
            }
            KtlsHandler server = serverHandshake.get(10, TimeUnit.SECONDS);
            assertTrue(server.isRecordLayerActive(), "record layer took over");
            assertEquals(TestTls.protocolOf(suite), server.session().getProtocol());
            assertEquals(suite.javaName(), server.session().getCipherSuite());
            assertEquals(suite.javaName(), clientSsl.engine().getSession().getCipherSuite());
            assertArrayEquals(expectedDigest, clientReceived.get(20, TimeUnit.SECONDS), "server to client");
            assertArrayEquals(expectedDigest, serverReceived.get(20, TimeUnit.SECONDS), "client to server");
            client.close().sync();
        }
    }

    static byte[][] payloads(Random random) {
        byte[][] payloads = new byte[SIZES.length][];
        for (int i = 0; i < SIZES.length; i++) {
            payloads[i] = new byte[SIZES[i]];
            random.nextBytes(payloads[i]);
        }
        return payloads;
    }

    static byte[] digest(byte[]... parts) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        for (byte[] part : parts) {
            sha.update(part);
        }
        return sha.digest();
    }

    /** Hashes received buffers (releasing them) until the expected byte count is reached. */
    static final class Digesting {
        private final MessageDigest sha;
        private final long expected;
        private long received;

        Digesting(long expected) {
            this.expected = expected;
            try {
                sha = MessageDigest.getInstance("SHA-256");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }

        /** True when the expected count is reached. */
        boolean add(ByteBuf buf) {
            try {
                received += buf.readableBytes();
                sha.update(buf.nioBuffer());
                return received == expected;
            } finally {
                buf.release();
            }
        }

        byte[] digest() {
            return sha.digest();
        }
    }
}
