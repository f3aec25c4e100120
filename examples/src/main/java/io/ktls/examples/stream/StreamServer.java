package io.ktls.examples.stream;

import io.ktls.examples.cli.UsageException;
import io.ktls.examples.tls.ConnectionSecurity;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.handler.stream.ChunkedWriteHandler;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import javax.net.ssl.SSLException;

/**
 * Streams a file to every client, in any of the four modes (see the package description):
 * {@code java -cp ktls-file-server.jar io.ktls.examples.stream.StreamServer [options]}. The pipeline is
 * {@code tls -> [ChunkedWriteHandler] -> LineBasedFrameDecoder -> StreamServerHandler}.
 */
public final class StreamServer {

    /** Longest request line: {@code STREAM} and {@code STATS} with room to spare. */
    private static final int MAX_LINE_BYTES = 64;

    private StreamServer() {
    }

    public static void main(String[] args) throws InterruptedException {
        System.exit(run(args));
    }

    static int run(String... args) throws InterruptedException {
        StreamServerOptions options;
        try {
            options = StreamServerOptions.parse(args);
        } catch (UsageException e) {
            System.err.println("error: " + e.getMessage());
            System.err.println(StreamServerOptions.USAGE);
            return 2;
        }
        if (options.help) {
            System.out.println(StreamServerOptions.USAGE);
            return 0;
        }
        Path file = options.file;
        boolean generatedTemp = false;
        boolean pattern = false;
        ConnectionSecurity security;
        long periodBytes;
        try {
            if (file == null) {
                file = Files.createTempFile("ktls-stream-", ".bin");
                file.toFile().deleteOnExit();
                generatedTemp = true;
            }
            if (generatedTemp || options.sizeBytes > 0) {
                long size = options.sizeBytes > 0 ? options.sizeBytes : StreamServerOptions.DEFAULT_SIZE_BYTES;
                if (generatedTemp || !Files.isRegularFile(file) || Files.size(file) != size) {
                    System.err.println("generating " + size + " bytes of the stream pattern into " + file);
                    StreamPattern.generate(file, size);
                }
                pattern = true;
            }
            long fileBytes = Files.size(file);
            if (fileBytes == 0) {
                System.err.println("error: --file is empty: " + file);
                return 2;
            }
            periodBytes = options.periodBytes > 0 ? Math.min(options.periodBytes, fileBytes) : fileBytes;
            options.connection.transport().resolve();
            security = options.connection.newSecurity();
        } catch (IllegalArgumentException | IllegalStateException | SSLException e) {
            // Options that parse but cannot be used: a transport this kernel lacks, an unknown cipher suite,
            // a certificate or key that does not load.
            System.err.println("error: " + e.getMessage());
            System.err.println(StreamServerOptions.USAGE);
            return 2;
        } catch (IOException | GeneralSecurityException e) {
            System.err.println("error: " + e.getMessage());
            return 1;
        }
        System.err.println("streaming " + periodBytes + " bytes of " + file + " per repetition"
                + (pattern ? " (pattern, verifiable)" : ""));
        Path streamed = file;
        boolean verifiable = pattern;
        ConnectionSecurity layer = security;
        ChannelInitializer<Channel> initializer = new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                layer.addTo(ch.pipeline());
                ChannelPipeline p = ch.pipeline();
                if (!layer.mode().writesFileRegions()) {
                    p.addLast("chunked", new ChunkedWriteHandler());
                }
                p.addLast("line", new LineBasedFrameDecoder(MAX_LINE_BYTES));
                p.addLast("stream", new StreamServerHandler(streamed, periodBytes, verifiable, layer.mode()));
            }
        };
        return options.connection.newLauncher(security, initializer).run(System.out);
    }
}
