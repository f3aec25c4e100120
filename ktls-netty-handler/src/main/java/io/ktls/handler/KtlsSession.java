package io.ktls.handler;

import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSessionContext;
import java.security.Principal;
import java.security.cert.Certificate;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The negotiated session, copied from BoringSSL's engine at the takeover (the engine is freed right after).
 * Immutable apart from the application's values ({@link #putValue}), which live in a concurrent map.
 */
final class KtlsSession implements SSLSession {

    private final byte[] id;
    private final long creationTimeMillis;
    private final String protocol;
    private final String cipherSuite;
    private final Certificate[] peerCertificates;
    private final Certificate[] localCertificates;
    private final Principal peerPrincipal;
    private final Principal localPrincipal;
    private final String peerHost;
    private final int peerPort;
    private final int packetBufferSize;
    private final int applicationBufferSize;
    private final Map<String, Object> values = new ConcurrentHashMap<>();
    private final long lastAccessedTimeMillis;
    private volatile boolean valid = true;

    /**
     * @param peerMayHaveCertificates false where the peer cannot have sent certificates (a server that asked for
     *        none): the engine's session is then not asked for them
     */
    KtlsSession(SSLSession engineSession, boolean peerMayHaveCertificates) {
        this.id = engineSession.getId() == null ? new byte[0] : engineSession.getId().clone();
        this.creationTimeMillis = engineSession.getCreationTime();
        this.lastAccessedTimeMillis = engineSession.getLastAccessedTime();
        this.protocol = engineSession.getProtocol();
        this.cipherSuite = engineSession.getCipherSuite();
        Certificate[] peer = null;
        Principal peerPrincipal = null;
        if (peerMayHaveCertificates) {
            try {
                peer = engineSession.getPeerCertificates();
                peerPrincipal = engineSession.getPeerPrincipal();
            } catch (SSLPeerUnverifiedException e) {
                peer = null;
                peerPrincipal = null;
            }
        }
        this.peerCertificates = peer == null ? null : peer.clone();
        this.peerPrincipal = peerPrincipal;
        Certificate[] local = engineSession.getLocalCertificates();
        this.localCertificates = local == null ? null : local.clone();
        this.localPrincipal = engineSession.getLocalPrincipal();
        this.peerHost = engineSession.getPeerHost();
        this.peerPort = engineSession.getPeerPort();
        this.packetBufferSize = engineSession.getPacketBufferSize();
        this.applicationBufferSize = engineSession.getApplicationBufferSize();
    }

    @Override
    public byte[] getId() {
        return id.clone();
    }

    @Override
    public SSLSessionContext getSessionContext() {
        return null;
    }

    @Override
    public long getCreationTime() {
        return creationTimeMillis;
    }

    @Override
    public long getLastAccessedTime() {
        return lastAccessedTimeMillis;
    }

    @Override
    public void invalidate() {
        valid = false;
    }

    @Override
    public boolean isValid() {
        return valid;
    }

    @Override
    public void putValue(String name, Object value) {
        values.put(name, value);
    }

    @Override
    public Object getValue(String name) {
        return values.get(name);
    }

    @Override
    public void removeValue(String name) {
        values.remove(name);
    }

    @Override
    public String[] getValueNames() {
        return values.keySet().toArray(new String[0]);
    }

    @Override
    public Certificate[] getPeerCertificates() throws SSLPeerUnverifiedException {
        if (peerCertificates == null || peerCertificates.length == 0) {
            throw new SSLPeerUnverifiedException("peer not verified");
        }
        return peerCertificates.clone();
    }

    @Override
    public Certificate[] getLocalCertificates() {
        return localCertificates == null ? null : localCertificates.clone();
    }

    @Override
    @SuppressWarnings({"deprecation", "removal"})
    public javax.security.cert.X509Certificate[] getPeerCertificateChain() throws SSLPeerUnverifiedException {
        throw new UnsupportedOperationException("getPeerCertificateChain (use getPeerCertificates)");
    }

    @Override
    public Principal getPeerPrincipal() throws SSLPeerUnverifiedException {
        if (peerPrincipal == null) {
            throw new SSLPeerUnverifiedException("peer not verified");
        }
        return peerPrincipal;
    }

    @Override
    public Principal getLocalPrincipal() {
        return localPrincipal;
    }

    @Override
    public String getCipherSuite() {
        return cipherSuite;
    }

    @Override
    public String getProtocol() {
        return protocol;
    }

    @Override
    public String getPeerHost() {
        return peerHost;
    }

    @Override
    public int getPeerPort() {
        return peerPort;
    }

    @Override
    public int getPacketBufferSize() {
        return packetBufferSize;
    }

    @Override
    public int getApplicationBufferSize() {
        return applicationBufferSize;
    }

    @Override
    public String toString() {
        return "KtlsSession(" + protocol + ", " + cipherSuite + ')';
    }
}
