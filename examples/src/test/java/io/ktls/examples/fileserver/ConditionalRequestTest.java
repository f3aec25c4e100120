package io.ktls.examples.fileserver;

import io.netty.handler.codec.DateFormatter;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import org.junit.jupiter.api.Test;

import java.util.Date;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConditionalRequestTest {

    private static final String ETAG = "\"10-abc\"";
    private static final Date MODIFIED = new Date(1_700_000_000_000L);

    private static HttpHeaders headers(String name, String value) {
        return new DefaultHttpHeaders().set(name, value);
    }

    @Test
    void matchingEntityTagIsNotModified() {
        assertTrue(StaticFileHandler.isNotModified(headers("If-None-Match", ETAG), ETAG, MODIFIED));
        assertTrue(StaticFileHandler.isNotModified(headers("If-None-Match", "\"x\", W/" + ETAG), ETAG, MODIFIED));
        assertTrue(StaticFileHandler.isNotModified(headers("If-None-Match", "*"), ETAG, MODIFIED));
        assertFalse(StaticFileHandler.isNotModified(headers("If-None-Match", "\"other\""), ETAG, MODIFIED));
    }

    @Test
    void ifNoneMatchWinsOverIfModifiedSince() {
        HttpHeaders h = headers("If-None-Match", "\"other\"")
                .set("If-Modified-Since", DateFormatter.format(MODIFIED));
        assertFalse(StaticFileHandler.isNotModified(h, ETAG, MODIFIED));
    }

    @Test
    void unmodifiedSinceTheGivenDateIsNotModified() {
        assertTrue(StaticFileHandler.isNotModified(
                headers("If-Modified-Since", DateFormatter.format(MODIFIED)), ETAG, MODIFIED));
        assertFalse(StaticFileHandler.isNotModified(
                headers("If-Modified-Since", DateFormatter.format(new Date(MODIFIED.getTime() - 1000))), ETAG, MODIFIED));
        assertFalse(StaticFileHandler.isNotModified(headers("If-Modified-Since", "yesterday"), ETAG, MODIFIED));
    }

    @Test
    void ifRangeNeedsTheStrongTagOrTheExactDate() {
        assertTrue(StaticFileHandler.ifRangeMatches(null, ETAG, MODIFIED));
        assertTrue(StaticFileHandler.ifRangeMatches(ETAG, ETAG, MODIFIED));
        assertFalse(StaticFileHandler.ifRangeMatches("W/" + ETAG, ETAG, MODIFIED));
        assertTrue(StaticFileHandler.ifRangeMatches(DateFormatter.format(MODIFIED), ETAG, MODIFIED));
        assertFalse(StaticFileHandler.ifRangeMatches(DateFormatter.format(new Date(0)), ETAG, MODIFIED));
    }
}
