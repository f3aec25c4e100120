package io.ktls.examples.fileserver;

import io.ktls.examples.cli.CommandLine;
import io.ktls.examples.cli.UsageException;
import io.ktls.examples.tls.ServerConnectionOptions;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The file server's command line. This set of options is a public contract: names, defaults and
 * meanings stay stable.
 */
final class FileServerOptions {

    static final String USAGE = String.join("\n",
            "usage: java -jar ktls-file-server.jar [options]",
            "",
            "Serves a folder over HTTPS (GET and HEAD, ranges, conditional requests, folder listings).",
            "",
            "  --root DIR           folder to serve (default: the current folder)",
            "  --host ADDR          address to listen on (default: 127.0.0.1)",
            "  --port N             port to listen on (default: 8443; 0 picks a free port)",
            "  --cert FILE          PEM certificate chain (with --key; default: a generated self-signed",
            "                       certificate for localhost). Repeat --cert/--key pairs to serve several",
            "                       names: the first is the default, the others are chosen by the name a",
            "                       client asks for (SNI). Reloaded when the files change, or on SIGHUP",
            "  --key FILE           PEM PKCS#8 private key of the --cert before it",
            "  --mode MODE          offload   ktls-netty, sealing on offload workers (default)",
            "                       inline    ktls-netty, sealing on the event loop",
            "                       kernel    ktls-netty handing the keys to Linux kernel TLS (sendfile);",
            "                                 a connection the kernel refuses is closed",
            "                       auto      kernel where the kernel takes the keys, else offload",
            "                       sslhandler  Netty SslHandler + ChunkedWriteHandler",
            "                       plain     no TLS, DefaultFileRegion (sendfile)",
            "  --workers N          offload workers (default: number of cores)",
            "  --record-memory SIZE  bytes of sealed records not yet sent that all connections share,",
            "                       e.g. 256m (default: a quarter of the JVM's direct memory limit)",
            "  --handshake-timeout SECONDS  close a connection not handshaken by then (default: 10)",
            "  --transport T        auto|nio|epoll|io_uring (default: auto: epoll, else io_uring, else nio)",
            "  --idle-timeout SECONDS  close a connection after this long without a byte read or written",
            "                       (default: 60; 0: never)",
            "  --protocols LIST     e.g. TLSv1.3,TLSv1.2 (default: the provider's)",
            "  --ciphers LIST       cipher suites, IANA or OpenSSL names (default: the provider's)",
            "  --open-files N       files each event loop keeps open between requests, least recently",
            "                       used closed first (default: 256; 0: open and close per request).",
            "                       Not in sslhandler mode",
            "  --open-files-valid MS  how long a kept file is served without looking at its path again",
            "                       (default: 0: every request looks, so a replaced or changed file is",
            "                       never served from the cache)",
            "  --access-log WHERE   on   one line per request on stderr (default)",
            "                       off  no access log",
            "                       FILE appended to FILE (created if need be)",
            "  --help               print this text",
            "",
            "Prints 'listening on https://HOST:PORT/' (http:// in plain mode) when ready;",
            "GET /_stats returns the server's counters as JSON. SIGTERM or Ctrl-C stops it.");

    /** A day: longer is a typo, or a wish for no timeout, which is 0. */
    static final int MAX_IDLE_TIMEOUT_SECONDS = 86_400;
    static final int DEFAULT_OPEN_FILES = 256;
    /** A file descriptor each: beyond this, a typo. */
    static final int MAX_OPEN_FILES = 1_000_000;

    Path root = Path.of("");
    /** --host, --port, --cert, --key, --mode, --workers, --record-memory, --handshake-timeout, --transport, --protocols, --ciphers. */
    final ServerConnectionOptions connection = new ServerConnectionOptions(8443);
    /** 0: connections may stay idle forever. */
    int idleTimeoutSeconds = 60;
    /** --access-log: false for {@code off}. */
    boolean accessLogOn = true;
    /** --access-log FILE; null: stderr. */
    Path accessLogFile;
    boolean help;
    /** --open-files: per event loop; 0 keeps none. */
    int openFiles = DEFAULT_OPEN_FILES;
    /** --open-files-valid, milliseconds. */
    long openFilesValidMillis;

    static FileServerOptions parse(String... args) throws UsageException {
        FileServerOptions o = new FileServerOptions();
        CommandLine line = new CommandLine(args);
        while (line.next()) {
            switch (line.option()) {
                case "--root": o.root = line.existingDirectory(); break;
                case "--idle-timeout": o.idleTimeoutSeconds = line.intValue(0, MAX_IDLE_TIMEOUT_SECONDS); break;
                case "--access-log": o.parseAccessLog(line.value()); break;
                case "--open-files": o.openFiles = line.intValue(0, MAX_OPEN_FILES); break;
                case "--open-files-valid":
                    o.openFilesValidMillis = line.intValue(0, MAX_IDLE_TIMEOUT_SECONDS * 1000);
                    break;
                case "--help": line.flag(); o.help = true; break;
                default:
                    if (!o.connection.parse(line)) {
                        throw line.unknown();
                    }
            }
        }
        ServerConnectionOptions c = o.connection;
        c.check();
        if (!c.mode().isTls() && (c.cert() != null || c.protocols() != null || c.ciphers() != null)) {
            throw new UsageException("--cert, --key, --protocols and --ciphers need a TLS mode, not --mode plain");
        }
        return o;
    }

    private void parseAccessLog(String value) throws UsageException {
        accessLogOn = !value.equals("off");
        accessLogFile = null;
        if (value.equals("on") || value.equals("off")) {
            return;
        }
        Path file = Path.of(value);
        Path folder = file.toAbsolutePath().getParent();
        if (Files.isDirectory(file) || folder == null || !Files.isDirectory(folder)
                || (Files.exists(file) ? !Files.isWritable(file) : !Files.isWritable(folder))) {
            throw new UsageException("--access-log: not a writable file: " + value + " (expected: on, off or a file)");
        }
        accessLogFile = file;
    }
}
