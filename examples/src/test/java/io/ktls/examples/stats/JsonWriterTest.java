package io.ktls.examples.stats;

import io.ktls.examples.testing.Json;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

class JsonWriterTest {

    /** A metric interface shaped like the library's: getters of several kinds, and methods to skip. */
    public interface SampleMetric {
        long inFlightRuns();

        int arenas();

        boolean busy();

        String name();

        Map<String, Object> byKind();

        long perSuite(String suite);

        void reset();
    }

    @Test
    void nestedValuesAreSeparatedAndEscaped() {
        JsonWriter json = new JsonWriter().beginObject()
                .field("s", "quote \" backslash \\ newline \n tab \t bell \u0007")
                .field("n", -12)
                .field("b", true)
                .name("a").beginArray().value(1).value(2.5).value(Double.NaN).value((String) null).endArray()
                .name("o").beginObject().endObject()
                .endObject();
        assertEquals("{\"s\":\"quote \\\" backslash \\\\ newline \\n tab \\t bell \\u0007\",\"n\":-12,\"b\":true,"
                + "\"a\":[1,2.5,null,null],\"o\":{}}", json.toString());
        Object parsed = Json.parse(json.toString());
        assertEquals("quote \" backslash \\ newline \n tab \t bell \u0007", Json.path(parsed, "s"));
    }

    @Test
    void metricGettersAreRenderedInNameOrderAndOthersSkipped() {
        Map<String, Object> byKind = new LinkedHashMap<>();
        byKind.put("x", 1L);
        byKind.put("list", List.of(Map.of("k", "v")));
        SampleMetric metric = new SampleMetric() {
            @Override public long inFlightRuns() { return 0; }
            @Override public int arenas() { return 2; }
            @Override public boolean busy() { return false; }
            @Override public String name() { return "n"; }
            @Override public Map<String, Object> byKind() { return byKind; }
            @Override public long perSuite(String suite) { throw new AssertionError("not a getter"); }
            @Override public void reset() { throw new AssertionError("not a getter"); }
        };
        JsonWriter json = new JsonWriter().beginObject();
        MetricJson.write(json, SampleMetric.class, metric);
        assertEquals("{\"arenas\":2,\"busy\":false,\"byKind\":{\"x\":1,\"list\":[{\"k\":\"v\"}]},"
                + "\"inFlightRuns\":0,\"name\":\"n\"}", json.endObject().toString());
    }
}
