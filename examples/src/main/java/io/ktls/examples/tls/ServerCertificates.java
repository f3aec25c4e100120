package io.ktls.examples.tls;

import io.netty.handler.ssl.SslContext;
import io.netty.util.DomainWildcardMappingBuilder;
import io.netty.util.Mapping;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.internal.logging.InternalLogger;
import io.netty.util.internal.logging.InternalLoggerFactory;

import javax.net.ssl.SSLException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * A server's certificates: one or more chain and key pairs, each a TLS context. The first pair is the default
 * (a client that sends no server name, or one no certificate names, gets it); the others are chosen by the
 * server name a client sends (SNI), from the DNS names of their certificates ({@code *.example.com} included).
 * With no pair at all, one self-signed certificate for localhost is generated.
 *
 * <h2>Reload</h2>
 * {@link #reloadIfChanged()} (the servers call it every {@link #CHECK_INTERVAL_SECONDS} seconds) reloads a pair
 * whose files changed (size or modification time); {@link #reload()} (on SIGHUP) reloads every pair. New
 * connections get the new chain; open ones keep the one they started with. A pair that no longer loads (a bad
 * file, a key that does not match, a file caught half-written) is refused with one warning that says why, and
 * its previous context stays in service; the next change of its files is tried again.
 *
 * <p>Threads: the contexts in service are one immutable {@link Snapshot} behind a volatile field: event loops read
 * it for each new connection, and a reload (on one scheduler or signal thread at a time: the methods that change
 * it are synchronized) builds a whole new snapshot and publishes it with one write. A replaced context stays valid
 * for the connections that took it (the contexts are not reference-counted; the garbage collector frees them).
 */
public final class ServerCertificates implements AutoCloseable {

    /** How often servers look for changed certificate files. */
    public static final int CHECK_INTERVAL_SECONDS = 2;

    private static final InternalLogger logger = InternalLoggerFactory.getInstance(ServerCertificates.class);

    /** One {@code --cert}/{@code --key} pair. */
    public record KeyPairFiles(Path certChain, Path key) {
        public KeyPairFiles {
            Objects.requireNonNull(certChain, "certChain");
            Objects.requireNonNull(key, "key");
        }
    }

    /** The contexts in service, one per pair in order, the names of each, and the name mapping over them. */
    private record Snapshot(List<SslContext> contexts, List<Set<String>> names, List<FileStamp> stamps,
                            Mapping<String, SslContext> byName) {
    }

    /** What a pair's files looked like when loaded: a change of either means reload. */
    private record FileStamp(long certSize, long certModified, long keySize, long keyModified) {
        static FileStamp of(KeyPairFiles files) {
            try {
                BasicFileAttributes cert = Files.readAttributes(files.certChain(), BasicFileAttributes.class);
                BasicFileAttributes key = Files.readAttributes(files.key(), BasicFileAttributes.class);
                return new FileStamp(cert.size(), cert.lastModifiedTime().toMillis(), key.size(),
                                     key.lastModifiedTime().toMillis());
            } catch (IOException e) {
                return new FileStamp(-1, -1, -1, -1); // unreadable now: a change, tried (and refused) at once
            }
        }
    }

    private final List<KeyPairFiles> pairs;
    private final List<String> protocols;
    private final List<String> ciphers;
    private volatile Snapshot current;
    private long reloads;
    private long refusals;

    private ServerCertificates(List<KeyPairFiles> pairs, List<String> protocols, List<String> ciphers) {
        this.pairs = List.copyOf(pairs);
        this.protocols = protocols;
        this.ciphers = ciphers;
    }

    /**
     * Loads every pair (none: a generated self-signed certificate).
     *
     * @throws SSLException a pair does not load; the message names its files
     */
    public static ServerCertificates load(List<KeyPairFiles> pairs, List<String> protocols, List<String> ciphers)
            throws SSLException, GeneralSecurityException {
        ServerCertificates certificates = new ServerCertificates(pairs, protocols, ciphers);
        List<SslContext> contexts = new ArrayList<>();
        List<Set<String>> names = new ArrayList<>();
        List<FileStamp> stamps = new ArrayList<>();
        try {
            if (pairs.isEmpty()) {
                contexts.add(new TlsOptions(null, null, protocols, ciphers).newServerContext());
            }
            for (KeyPairFiles pair : pairs) {
                stamps.add(FileStamp.of(pair));
                names.add(dnsNames(pair.certChain()));
                contexts.add(certificates.newContext(pair));
            }
            certificates.current = certificates.snapshot(contexts, names, stamps);
        } catch (SSLException | GeneralSecurityException | RuntimeException e) {
            contexts.forEach(ReferenceCountUtil::release);
            throw e;
        }
        return certificates;
    }

    private SslContext newContext(KeyPairFiles pair) throws SSLException, GeneralSecurityException {
        KeyPairCheck.requireMatch(pair.certChain(), pair.key());
        return new TlsOptions(pair.certChain(), pair.key(), protocols, ciphers).newServerContext();
    }

    private Snapshot snapshot(List<SslContext> contexts, List<Set<String>> names, List<FileStamp> stamps) {
        DomainWildcardMappingBuilder<SslContext> byName = new DomainWildcardMappingBuilder<>(contexts.get(0));
        // In reverse, so that of two pairs naming the same host the earlier one wins.
        for (int i = names.size() - 1; i > 0; i--) {
            for (String name : names.get(i)) {
                byName.add(name, contexts.get(i));
            }
        }
        return new Snapshot(List.copyOf(contexts), List.copyOf(names), List.copyOf(stamps), byName.build());
    }

    /** The DNS names of a chain's first certificate: its subject alternative names, else its common name. */
    static Set<String> dnsNames(Path certChain) throws SSLException {
        X509Certificate certificate;
        try (InputStream in = Files.newInputStream(certChain)) {
            certificate = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        } catch (IOException | CertificateException | ClassCastException e) {
            throw new SSLException("cannot read the certificate in " + certChain + ": " + e.getMessage(), e);
        }
        Set<String> names = new LinkedHashSet<>();
        try {
            Collection<List<?>> alternatives = certificate.getSubjectAlternativeNames();
            if (alternatives != null) {
                for (List<?> name : alternatives) {
                    if (Integer.valueOf(2).equals(name.get(0))) { // dNSName
                        names.add(String.valueOf(name.get(1)));
                    }
                }
            }
        } catch (CertificateException e) {
            throw new SSLException("cannot read the names of " + certChain + ": " + e.getMessage(), e);
        }
        if (names.isEmpty()) {
            String subject = certificate.getSubjectX500Principal().getName();
            for (String part : subject.split(",")) {
                if (part.startsWith("CN=")) {
                    names.add(part.substring(3));
                }
            }
        }
        return names;
    }

    /** The default context (the first pair's). */
    public SslContext defaultContext() {
        return current.contexts().get(0);
    }

    /** Whether a client's server name chooses among several certificates (else {@link #defaultContext()}). */
    public boolean hasSeveral() {
        return pairs.size() > 1;
    }

    /** The context for a server name, as of now ({@code null}: no server name sent; the default answers). */
    public Mapping<String, SslContext> byName() {
        return name -> current.byName().map(name);
    }

    /** Reloads the pairs whose files changed since they were loaded; true if any context was replaced. */
    public synchronized boolean reloadIfChanged() {
        return reload(false);
    }

    /** Reloads every pair (SIGHUP); true if any context was replaced. */
    public synchronized boolean reload() {
        return reload(true);
    }

    private boolean reload(boolean all) {
        Snapshot old = current;
        if (old == null || pairs.isEmpty()) {
            return false;
        }
        List<SslContext> contexts = new ArrayList<>(old.contexts());
        List<Set<String>> names = new ArrayList<>(old.names());
        List<FileStamp> stamps = new ArrayList<>(old.stamps());
        int replaced = 0;
        for (int i = 0; i < pairs.size(); i++) {
            KeyPairFiles pair = pairs.get(i);
            FileStamp stamp = FileStamp.of(pair);
            if (!all && stamp.equals(old.stamps().get(i))) {
                continue;
            }
            stamps.set(i, stamp); // a refused change is not retried until the files change again
            try {
                Set<String> pairNames = dnsNames(pair.certChain());
                contexts.set(i, newContext(pair));
                names.set(i, pairNames);
                replaced++;
                logger.info("certificate reloaded: {} / {} (new connections get it; open ones keep theirs)",
                            pair.certChain(), pair.key());
            } catch (SSLException | GeneralSecurityException | RuntimeException e) {
                refusals++;
                logger.warn("certificate refused, the previous one stays in service: {} / {}: {}",
                            pair.certChain(), pair.key(), e.getMessage());
            }
        }
        // The contexts replaced are not reference-counted (SslProvider.OPENSSL): each is freed by the garbage
        // collector once the last connection that took it ends.
        current = snapshot(contexts, names, stamps);
        reloads += replaced;
        return replaced > 0;
    }

    /** Contexts replaced by a reload since start. */
    public synchronized long reloads() {
        return reloads;
    }

    /** Reloads refused (bad files) since start. */
    public synchronized long refusals() {
        return refusals;
    }

    @Override
    public synchronized void close() {
        Snapshot snapshot = current;
        current = null;
        if (snapshot != null) {
            snapshot.contexts().forEach(ReferenceCountUtil::release);
        }
    }

    @Override
    public String toString() {
        return pairs.isEmpty() ? "generated self-signed certificate" : pairs.size() + " certificate(s): " + pairs;
    }
}
