package io.ktls.examples.fileserver;

import io.ktls.examples.cli.UsageException;
import io.ktls.examples.stats.JsonWriter;
import io.ktls.examples.tls.ConnectionSecurity;
import io.ktls.examples.transport.Transport;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.stream.ChunkedWriteHandler;

import java.io.IOException;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;

/**
 * An HTTPS static file server: {@code java -jar ktls-file-server.jar [options]} (see
 * {@link FileServerOptions#USAGE}). The pipeline of a connection is
 * {@code [IdleConnectionCloser] -> tls -> HttpServerCodec -> [ChunkedWriteHandler] -> StaticFileHandler},
 * where the TLS handler depends on {@code --mode}, {@code ChunkedWriteHandler} is only there in
 * {@code sslhandler} mode, and {@link IdleConnectionCloser} is in front of everything (it must see the raw
 * bytes, handshake included) unless {@code --idle-timeout 0}.
 *
 * <p>Output: one {@code listening on ...} line on stdout when ready; everything else (access log unless
 * {@code --access-log} says otherwise, errors) on stderr. Exit status: 0 after SIGTERM/Ctrl-C, 1 when it cannot start, 2 for bad options.
 */
public final class FileServer {

    private FileServer() {
    }

    public static void main(String[] args) throws InterruptedException {
        System.exit(run(args));
    }

    static int run(String... args) throws InterruptedException {
        FileServerOptions options;
        try {
            options = FileServerOptions.parse(args);
        } catch (UsageException e) {
            System.err.println("error: " + e.getMessage());
            System.err.println(FileServerOptions.USAGE);
            return 2;
        }
        if (options.help) {
            System.out.println(FileServerOptions.USAGE);
            return 0;
        }
        DocumentRoot root;
        Transport transport;
        ConnectionSecurity security;
        try {
            root = new DocumentRoot(options.root);
            transport = options.connection.transport().resolve();
            security = options.connection.newSecurity();
        } catch (IllegalArgumentException | IllegalStateException | SSLException e) {
            // Options that parse but cannot be used: a transport this kernel lacks, an unknown cipher suite,
            // a certificate or key that does not load.
            System.err.println("error: " + e.getMessage());
            System.err.println(FileServerOptions.USAGE);
            return 2;
        } catch (IOException | java.security.GeneralSecurityException e) {
            System.err.println("error: " + e.getMessage());
            return 1;
        }
        AccessLog accessLog;
        try {
            accessLog = !options.accessLogOn ? AccessLog.OFF
                    : options.accessLogFile == null ? AccessLog.to(System.err) : AccessLog.toFile(options.accessLogFile);
        } catch (IOException e) {
            System.err.println("error: --access-log: " + e.getMessage());
            return 1;
        }
        System.err.println("serving " + root.realRoot() + (options.connection.mode().isTls() ? " with "
                + options.connection.tls() : "") + ", idle timeout " + (options.idleTimeoutSeconds == 0 ? "off"
                : options.idleTimeoutSeconds + " s") + ", access log " + (!options.accessLogOn ? "off"
                : options.accessLogFile == null ? "on stderr" : "to " + options.accessLogFile)
                + ", open files " + (options.openFiles == 0 || !options.connection.mode().writesFileRegions() ? "off"
                : options.openFiles + " per event loop, checked " + (options.openFilesValidMillis == 0
                        ? "every request" : "every " + options.openFilesValidMillis + " ms")));

        ServerCounters counters = new ServerCounters();
        OpenFileCache.PerLoop openFiles = new OpenFileCache.PerLoop(options.openFiles, options.openFilesValidMillis);
        Transport resolved = transport;
        ConnectionSecurity layer = security;
        long idleTimeoutNanos = TimeUnit.SECONDS.toNanos(options.idleTimeoutSeconds);
        ChannelInitializer<Channel> initializer = new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                layer.addTo(ch.pipeline());
                ChannelPipeline p = ch.pipeline();
                if (idleTimeoutNanos > 0) {
                    p.addFirst("idle", new IdleConnectionCloser(idleTimeoutNanos, counters.connectionsIdleClosed));
                }
                p.addLast("http", new HttpServerCodec());
                if (!layer.mode().writesFileRegions()) {
                    p.addLast("chunked", new ChunkedWriteHandler());
                }
                p.addLast("files", new StaticFileHandler(root, layer.mode(), counters, accessLog,
                        () -> statsJson(layer, resolved, counters, accessLog, openFiles), openFiles));
            }
        };
        // Both closed after the event loops have stopped: no line is logged, no file kept, after that.
        try (accessLog; openFiles) {
            return options.connection.newLauncher(security, initializer).run(System.out);
        }
    }

    static String statsJson(ConnectionSecurity security, Transport transport, ServerCounters counters,
                            AccessLog accessLog, OpenFileCache.PerLoop openFiles) {
        JsonWriter json = new JsonWriter().beginObject();
        json.name("server").beginObject()
                .field("mode", security.mode().toString())
                .field("transport", transport.toString());
        counters.write(json);
        json.field("accessLogLinesDropped", accessLog.linesDropped());
        json.field("openFileHits", openFiles.hits()).field("openFileMisses", openFiles.misses());
        json.endObject();
        security.writeStats(json);
        return json.endObject().toString();
    }
}
