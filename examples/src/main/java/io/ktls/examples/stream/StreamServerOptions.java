package io.ktls.examples.stream;

import io.ktls.examples.cli.CommandLine;
import io.ktls.examples.cli.UsageException;
import io.ktls.examples.tls.ServerConnectionOptions;

import java.nio.file.Path;

/** The stream server's command line: the file server's connection options plus what to stream. */
final class StreamServerOptions {

    static final long DEFAULT_SIZE_BYTES = 64L << 20;

    static final String USAGE = String.join("\n",
            "usage: java -cp ktls-file-server.jar io.ktls.examples.stream.StreamServer [options]",
            "",
            "Streams a file over and over to every client (see StreamClient).",
            "",
            "  --file FILE          file to stream (default: a generated file in the temp folder)",
            "  --size BYTES         generate --file with the verifiable pattern, this many bytes, unless it",
            "                       already has that size (default without --file: 64m; suffixes k, m, g)",
            "  --bytes BYTES        stream only the first BYTES of the file per repetition (default: all)",
            "  --host ADDR          address to listen on (default: 127.0.0.1)",
            "  --port N             port to listen on (default: 8444; 0 picks a free port)",
            "  --cert FILE --key FILE  PEM certificate chain and PKCS#8 key (default: generated; repeat",
            "                       the pair for more names, chosen by SNI; reloaded when changed)",
            "  --mode MODE          offload|inline|kernel|auto|sslhandler|plain (default: offload)",
            "  --workers N          offload workers (default: number of cores)",
            "  --record-memory SIZE  bytes of sealed records not yet sent that all connections share,",
            "                       e.g. 256m (default: a quarter of the JVM's direct memory limit)",
            "  --handshake-timeout SECONDS  close a connection not handshaken by then (default: 10)",
            "  --transport T        auto|nio|epoll|io_uring (default: auto)",
            "  --protocols LIST     e.g. TLSv1.3,TLSv1.2",
            "  --ciphers LIST       cipher suites, IANA or OpenSSL names",
            "  --help               print this text");

    Path file;
    long sizeBytes = -1;
    long periodBytes = -1;
    /** --host, --port, --cert, --key, --mode, --workers, --record-memory, --handshake-timeout, --transport, --protocols, --ciphers. */
    final ServerConnectionOptions connection = new ServerConnectionOptions(8444);
    boolean help;

    static StreamServerOptions parse(String... args) throws UsageException {
        StreamServerOptions o = new StreamServerOptions();
        CommandLine line = new CommandLine(args);
        while (line.next()) {
            switch (line.option()) {
                case "--file": o.file = Path.of(line.value()); break;
                case "--size": o.sizeBytes = line.byteCount(); break;
                case "--bytes": o.periodBytes = line.byteCount(); break;
                case "--help": line.flag(); o.help = true; break;
                default:
                    if (!o.connection.parse(line)) {
                        throw line.unknown();
                    }
            }
        }
        o.connection.check();
        if (o.file != null && o.sizeBytes < 0 && !java.nio.file.Files.isRegularFile(o.file)) {
            throw new UsageException("--file: not a readable file: " + o.file + " (add --size to generate it)");
        }
        return o;
    }
}
