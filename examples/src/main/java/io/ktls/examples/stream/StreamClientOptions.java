package io.ktls.examples.stream;

import io.ktls.examples.cli.CommandLine;
import io.ktls.examples.cli.UsageException;
import io.ktls.examples.tls.TlsOptions;
import io.ktls.examples.transport.Transport;

import java.util.List;

/** The stream client's command line. */
final class StreamClientOptions {

    static final String USAGE = String.join("\n",
            "usage: java -cp ktls-file-server.jar io.ktls.examples.stream.StreamClient [options]",
            "",
            "Opens streams to a StreamServer, reads, and reports MB/s and CPU seconds per GB of both sides.",
            "",
            "  --host ADDR          server address (default: 127.0.0.1)",
            "  --port N             server port (default: 8444)",
            "  --streams N          parallel connections (default: 1)",
            "  --duration SECONDS   how long to measure (default: 10)",
            "  --bytes BYTES        stop after this many bytes in total instead (suffixes k, m, g)",
            "  --warmup SECONDS     read this long before measuring (default: 2)",
            "  --plain              connect without TLS (server in --mode plain)",
            "  --verify             check every byte against the server's generated pattern",
            "  --transport T        auto|nio|epoll|io_uring (default: auto)",
            "  --hold-on-timeout SECONDS  after a timeout (its error line and this process's thread dump",
            "                       come first), keep the connections open this long before exiting, so the",
            "                       server can be examined as the client found it (default: 0)",
            "  --protocols LIST     e.g. TLSv1.3",
            "  --ciphers LIST       cipher suites to offer, IANA or OpenSSL names",
            "  --help               print this text",
            "",
            "Progress goes to stderr once a second; the summary is one line of key=value pairs on stdout.",
            "The client trusts any server certificate: use it on networks you trust.");

    String host = "127.0.0.1";
    int port = 8444;
    int streams = 1;
    double durationSeconds = 10;
    long totalBytes = -1;
    double warmupSeconds = 2;
    double holdOnTimeoutSeconds;
    boolean plain;
    boolean verify;
    Transport transport = Transport.AUTO;
    List<String> protocols;
    List<String> ciphers;
    boolean help;

    static StreamClientOptions parse(String... args) throws UsageException {
        StreamClientOptions o = new StreamClientOptions();
        CommandLine line = new CommandLine(args);
        while (line.next()) {
            switch (line.option()) {
                case "--host": o.host = line.value(); break;
                case "--port": o.port = line.intValue(1, 65535); break;
                case "--streams": o.streams = line.intValue(1, 4096); break;
                case "--duration": o.durationSeconds = line.seconds(); break;
                case "--bytes": o.totalBytes = line.byteCount(); break;
                case "--warmup": o.warmupSeconds = warmup(line); break;
                case "--plain": line.flag(); o.plain = true; break;
                case "--verify": line.flag(); o.verify = true; break;
                case "--hold-on-timeout": o.holdOnTimeoutSeconds = line.seconds(); break;
                case "--transport": o.transport = line.enumValue(Transport.class); break;
                case "--protocols": o.protocols = line.listValue(); break;
                case "--ciphers": o.ciphers = line.listValue(); break;
                case "--help": line.flag(); o.help = true; break;
                default: throw line.unknown();
            }
        }
        if (o.plain && (o.protocols != null || o.ciphers != null)) {
            throw new UsageException("--protocols and --ciphers need TLS, not --plain");
        }
        return o;
    }

    private static double warmup(CommandLine line) throws UsageException {
        String value = line.value();
        if (value.equals("0")) {
            return 0;
        }
        try {
            double s = Double.parseDouble(value);
            if (s >= 0 && !Double.isInfinite(s)) {
                return s;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new UsageException("--warmup: not a number of seconds >= 0: " + value);
    }

    TlsOptions tls() {
        return new TlsOptions(null, null, protocols, ciphers);
    }
}
