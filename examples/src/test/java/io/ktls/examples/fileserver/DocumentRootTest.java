package io.ktls.examples.fileserver;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertNull;

class DocumentRootTest {

    @TempDir
    Path base;
    private Path rootDir;
    private DocumentRoot root;

    @BeforeEach
    void createTree() throws Exception {
        rootDir = Files.createDirectory(base.resolve("root"));
        Files.writeString(rootDir.resolve("a.txt"), "a");
        Files.createDirectory(rootDir.resolve("sub"));
        Files.writeString(rootDir.resolve("sub").resolve("b c.txt"), "b");
        Files.writeString(rootDir.resolve("é.txt"), "e");
        Files.writeString(base.resolve("secret.txt"), "secret");
        Files.createSymbolicLink(rootDir.resolve("out-file"), base.resolve("secret.txt"));
        Files.createSymbolicLink(rootDir.resolve("out-dir"), base);
        Files.createSymbolicLink(rootDir.resolve("in-link"), rootDir.resolve("a.txt"));
        Files.createSymbolicLink(rootDir.resolve("dangling"), base.resolve("nothing-here"));
        root = new DocumentRoot(rootDir);
    }

    private int status(String target) {
        return root.resolve(target).status;
    }

    @Test
    void filesAndFoldersUnderTheRootResolveToTheirRealPaths() throws Exception {
        assertEquals(rootDir.resolve("a.txt").toRealPath(), root.resolve("/a.txt").path);
        assertEquals(rootDir.toRealPath(), root.resolve("/").path);
        assertEquals(rootDir.resolve("sub").toRealPath(), root.resolve("/sub/").path);
        assertEquals(rootDir.resolve("sub/b c.txt").toRealPath(), root.resolve("/sub/b%20c.txt").path);
        assertEquals(rootDir.resolve("é.txt").toRealPath(), root.resolve("/%C3%A9.txt").path);
        assertEquals(rootDir.resolve("a.txt").toRealPath(), root.resolve("/a.txt?download=1#x").path);
        assertEquals(rootDir.resolve("a.txt").toRealPath(), root.resolve("//./a.txt").path);
    }

    @Test
    void aResolutionCarriesTheAttributesOfWhatItFoundLinkedOrNot() throws Exception {
        DocumentRoot.Resolution direct = root.resolve("/sub/b%20c.txt");
        assertEquals(Files.size(rootDir.resolve("sub/b c.txt")), direct.attributes.size());
        assertTrue(direct.attributes.isRegularFile());
        DocumentRoot.Resolution linked = root.resolve("/in-link");
        assertEquals(rootDir.resolve("a.txt").toRealPath(), linked.path, "a link inside the root is followed");
        assertTrue(linked.attributes.isRegularFile(), "the attributes are the target's, not the link's");
        assertEquals(Files.size(rootDir.resolve("a.txt")), linked.attributes.size());
        assertTrue(root.resolve("/sub/").attributes.isDirectory());
    }

    @Test
    void parentSegmentsAreRefusedLiteralOrEncoded() {
        assertEquals(403, status("/../secret.txt"));
        assertEquals(403, status("/sub/../a.txt")); // even when it would stay inside
        assertEquals(403, status("/%2e%2e/secret.txt"));
        assertEquals(403, status("/%2E%2e/secret.txt"));
        assertEquals(403, status("/.%2e/secret.txt"));
        assertEquals(403, status("/sub/%2e%2e/%2e%2e/secret.txt"));
    }

    @Test
    void encodedSeparatorsBackslashesAndNulAreRefused() {
        assertEquals(403, status("/..%2fsecret.txt"));
        assertEquals(403, status("/sub%2Fb.txt"));
        assertEquals(403, status("/..%5csecret.txt"));
        assertEquals(403, status("/..\\secret.txt"));
        assertEquals(403, status("/a.txt%00.png"));
    }

    @Test
    void symbolicLinksLeadingOutOfTheRootAreRefused() {
        assertEquals(403, status("/out-file"));
        assertEquals(403, status("/out-dir/secret.txt"));
        assertEquals(403, status("/out-dir/"));
        assertEquals(200, status("/in-link"));
    }

    @Test
    void missingFilesAndDanglingLinksAre404() {
        assertEquals(404, status("/nope"));
        assertEquals(404, status("/sub/nope"));
        assertEquals(404, status("/dangling"));
    }

    @Test
    void malformedTargetsAre400() {
        assertEquals(400, status("a.txt"));
        assertEquals(400, status("http://example.com/a.txt"));
        assertEquals(400, status("/%zz"));
        assertEquals(400, status("/%C3"));
        assertEquals(400, status("/%"));
    }

    @Test
    void percentDecodingKeepsPlusSigns() {
        assertEquals("/a+b c", DocumentRoot.percentDecode("/a+b%20c"));
        assertNull(DocumentRoot.percentDecode("/%ff"));
    }
}
