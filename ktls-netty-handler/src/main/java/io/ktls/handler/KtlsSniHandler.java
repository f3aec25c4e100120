package io.ktls.handler;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.AbstractSniHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.util.AsyncMapping;
import io.netty.util.Mapping;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.internal.ObjectUtil;

import javax.net.ssl.SSLHandshakeException;

/**
 * The {@link KtlsHandler} counterpart of Netty's {@link io.netty.handler.ssl.SniHandler}, for servers with several
 * names: reads the server name of the ClientHello, chooses the {@link SslContext} for it through a
 * {@link Mapping} or {@link AsyncMapping} (a {@link io.netty.util.DomainWildcardMappingBuilder} mapping, say), and
 * puts a {@code KtlsHandler} for that context in its own place. The handshake then runs in BoringSSL and the record
 * layer takes over, as for a single context.
 *
 * <pre>{@code
 * Mapping<String, SslContext> contexts = new DomainWildcardMappingBuilder<>(defaultContext)
 *         .add("a.example", contextA).add("*.b.example", contextB).build();
 * ch.pipeline().addLast(new KtlsSniHandler(contexts, config), new HttpServerCodec(), ...);
 * }</pre>
 *
 * <p>A ClientHello without a server name is looked up as {@code null} (a {@code DomainWildcardMappingBuilder}
 * mapping answers with its default). A name the mapping has no context for (it answers {@code null}) gets a fatal
 * {@code unrecognized_name} alert (RFC 6066, section 3) and the connection closes; a lookup that fails gets
 * {@code internal_error}. Both fire an {@link SSLHandshakeException} down the pipeline, and Netty's
 * {@link io.netty.handler.ssl.SniCompletionEvent} says which name was asked for, as with {@code SniHandler}.
 *
 * <p>Threads: one instance per connection, used on its event loop; an asynchronous lookup completes there too.
 */
public final class KtlsSniHandler extends AbstractSniHandler<SslContext> {

    private final AsyncMapping<? super String, ? extends SslContext> mapping;
    private final KtlsConfig config;
    private volatile String hostname;
    private volatile SslContext sslContext;

    /** Chooses the context with {@code mapping}, which answers at once. */
    public KtlsSniHandler(Mapping<? super String, ? extends SslContext> mapping, KtlsConfig config) {
        this(immediate(ObjectUtil.checkNotNull(mapping, "mapping")), config);
    }

    /** Chooses the context with {@code mapping}, which may answer later (a certificate store, say). */
    public KtlsSniHandler(AsyncMapping<? super String, ? extends SslContext> mapping, KtlsConfig config) {
        super(config.handshakeTimeoutMillis());
        this.mapping = ObjectUtil.checkNotNull(mapping, "mapping");
        this.config = config;
    }

    private static AsyncMapping<String, SslContext> immediate(Mapping<? super String, ? extends SslContext> mapping) {
        return (name, promise) -> {
            try {
                return promise.setSuccess(mapping.map(name));
            } catch (Throwable t) {
                return promise.setFailure(t);
            }
        };
    }

    /** The server name the client asked for ({@code null} before the ClientHello, or without one). */
    public String hostname() {
        return hostname;
    }

    /** The context chosen for this connection ({@code null} until chosen). */
    public SslContext sslContext() {
        return sslContext;
    }

    @Override
    @SuppressWarnings("unchecked")
    protected Future<SslContext> lookup(ChannelHandlerContext ctx, String hostname) throws Exception {
        Promise<SslContext> promise = ctx.executor().newPromise();
        return (Future<SslContext>) mapping.map(hostname, (Promise) promise);
    }

    @Override
    protected void onLookupComplete(ChannelHandlerContext ctx, String hostname, Future<SslContext> future) {
        this.hostname = hostname;
        if (!future.isSuccess()) {
            refuse(ctx, TlsRecords.INTERNAL_ERROR, new SSLHandshakeException(
                    "choosing the SslContext for server name " + hostname + " failed: " + future.cause()));
            return;
        }
        SslContext context = future.getNow();
        if (context == null) {
            refuse(ctx, TlsRecords.UNRECOGNIZED_NAME, new SSLHandshakeException(
                    "no SslContext for server name " + hostname));
            return;
        }
        sslContext = context;
        // KtlsHandler puts Netty's SslHandler (and the record splitter) in front of itself when added, so here,
        // between this handler and the KtlsHandler; removing this handler then hands them the ClientHello held.
        ctx.pipeline().addAfter(ctx.name(), null, new KtlsHandler(context, config));
        ctx.pipeline().remove(this);
    }

    /** A fatal alert in a plaintext record (no keys exist yet), then close; the ClientHello held is dropped. */
    private void refuse(ChannelHandlerContext ctx, byte description, SSLHandshakeException cause) {
        ctx.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {
                TlsRecords.ALERT, 3, 3, 0, 2, TlsRecords.ALERT_FATAL, description}))
           .addListener(ChannelFutureListener.CLOSE);
        ctx.fireExceptionCaught(cause);
    }
}
