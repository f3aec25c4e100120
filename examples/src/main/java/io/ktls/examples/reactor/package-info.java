/**
 * ktls-netty under reactor-netty (the HTTP server of Spring WebFlux, among others):
 * {@link io.ktls.examples.reactor.ReactorFileServer} puts a {@code KtlsHandler} first in each pipeline of an
 * {@code HttpServer} in place of {@code .secure(...)}, so that {@code sendFile} writes a file region that our record
 * layer seals, where with {@code SslHandler} reactor-netty copies files through a {@code ChunkedWriteHandler}.
 * docs/ecosystem.md, "reactor-netty", explains how and what it takes.
 */
package io.ktls.examples.reactor;
