package io.ktls.examples.stats;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Map;

/**
 * Renders a read-only metric interface as JSON members: every public, non-static, no-argument method of
 * the interface that returns a number, boolean, string, enum or a map of those, in name order. Reading
 * the interface rather than a fixed list means {@code /_stats} shows each counter the library offers,
 * including ones added after this program was written.
 */
public final class MetricJson {

    private MetricJson() {
    }

    public static <T> void write(JsonWriter json, Class<T> metricInterface, T metric) {
        Method[] methods = metricInterface.getMethods();
        Arrays.sort(methods, Comparator.comparing(Method::getName));
        for (Method method : methods) {
            if (method.getParameterCount() != 0 || Modifier.isStatic(method.getModifiers())
                    || !isRenderable(method.getReturnType())) {
                continue;
            }
            Object value;
            try {
                value = method.invoke(metric);
            } catch (IllegalAccessException | InvocationTargetException e) {
                continue; // a counter that cannot be read is left out rather than failing the whole page
            }
            json.name(method.getName());
            writeValue(json, value);
        }
    }

    private static boolean isRenderable(Class<?> type) {
        return type.isPrimitive() && type != void.class
                || Number.class.isAssignableFrom(type) || type == Boolean.class || type == String.class
                || type.isEnum() || Map.class.isAssignableFrom(type);
    }

    /** Writes a number, boolean, string, or a map or list of those (nested to any depth). */
    public static void writeValue(JsonWriter json, Object value) {
        if (value == null) {
            json.value((String) null);
        } else if (value instanceof Double || value instanceof Float) {
            json.value(((Number) value).doubleValue());
        } else if (value instanceof Number) {
            json.value(((Number) value).longValue());
        } else if (value instanceof Boolean) {
            json.value((Boolean) value);
        } else if (value instanceof Map) {
            json.beginObject();
            for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
                json.name(String.valueOf(e.getKey()));
                writeValue(json, e.getValue());
            }
            json.endObject();
        } else if (value instanceof Iterable) {
            json.beginArray();
            for (Object item : (Iterable<?>) value) {
                writeValue(json, item);
            }
            json.endArray();
        } else {
            json.value(String.valueOf(value));
        }
    }
}
