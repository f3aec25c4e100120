package io.ktls.examples.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * Reads {@code --name value}, {@code --name=value} and {@code --flag} arguments one at a time, with typed
 * values and error messages that name the option. Not thread-safe: used once, by the thread running
 * {@code main}.
 *
 * <pre>
 * CommandLine line = new CommandLine(args);
 * while (line.next()) {
 *     switch (line.option()) {
 *         case "--port": port = line.intValue(0, 65535); break;
 *         default: throw line.unknown();
 *     }
 * }
 * </pre>
 */
public final class CommandLine {

    private final List<String> args;
    private int index;
    private String option;
    private String inlineValue;

    public CommandLine(String... args) {
        this.args = Arrays.asList(args.clone());
    }

    /** Moves to the next option; false when all arguments were read. */
    public boolean next() throws UsageException {
        if (index >= args.size()) {
            return false;
        }
        String arg = args.get(index++);
        if (!arg.startsWith("--") || arg.length() == 2) {
            throw new UsageException("unexpected argument: " + arg);
        }
        int eq = arg.indexOf('=');
        if (eq > 0) {
            option = arg.substring(0, eq);
            inlineValue = arg.substring(eq + 1);
        } else {
            option = arg;
            inlineValue = null;
        }
        return true;
    }

    /** The current option, with its leading dashes, e.g. {@code --port}. */
    public String option() {
        return option;
    }

    /** Accepts the current option as a flag (no value). */
    public void flag() throws UsageException {
        if (inlineValue != null) {
            throw new UsageException(option + " takes no value");
        }
    }

    public String value() throws UsageException {
        if (inlineValue != null) {
            if (inlineValue.isEmpty()) {
                throw new UsageException(option + ": empty value");
            }
            return inlineValue;
        }
        if (index >= args.size() || args.get(index).startsWith("--")) {
            throw new UsageException(option + " needs a value");
        }
        return args.get(index++);
    }

    public int intValue(int min, int max) throws UsageException {
        String value = value();
        try {
            int n = Integer.parseInt(value);
            if (n < min || n > max) {
                throw new UsageException(option + ": " + n + " (expected: " + min + ".." + max + ")");
            }
            return n;
        } catch (NumberFormatException e) {
            throw new UsageException(option + ": not a number: " + value);
        }
    }

    /** A positive byte count with an optional binary suffix: 4096, 64k, 16m, 1g. */
    public long byteCount() throws UsageException {
        String value = value();
        long n = parseByteCount(value);
        if (n <= 0) {
            throw new UsageException(option + ": not a positive byte count: " + value
                    + " (expected e.g. 4096, 64k, 16m, 1g)");
        }
        return n;
    }

    /** A positive number of seconds, fractions allowed: 10, 0.5. */
    public double seconds() throws UsageException {
        String value = value();
        try {
            double s = Double.parseDouble(value);
            if (!(s > 0) || Double.isInfinite(s)) {
                throw new UsageException(option + ": " + value + " (expected: seconds > 0)");
            }
            return s;
        } catch (NumberFormatException e) {
            throw new UsageException(option + ": not a number of seconds: " + value);
        }
    }

    public <E extends Enum<E>> E enumValue(Class<E> type) throws UsageException {
        String value = value();
        for (E e : type.getEnumConstants()) {
            if (e.toString().equals(value)) {
                return e;
            }
        }
        List<String> names = new ArrayList<>();
        for (E e : type.getEnumConstants()) {
            names.add(e.toString());
        }
        throw new UsageException(option + ": " + value + " (expected one of: " + String.join(", ", names) + ")");
    }

    /** A comma-separated list without empty entries. */
    public List<String> listValue() throws UsageException {
        String value = value();
        List<String> items = new ArrayList<>();
        for (String item : value.split(",", -1)) {
            String trimmed = item.trim();
            if (trimmed.isEmpty()) {
                throw new UsageException(option + ": empty entry in list: " + value);
            }
            items.add(trimmed);
        }
        return Collections.unmodifiableList(items);
    }

    public Path existingFile() throws UsageException {
        Path path = Path.of(value());
        if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
            throw new UsageException(option + ": not a readable file: " + path);
        }
        return path;
    }

    public Path existingDirectory() throws UsageException {
        Path path = Path.of(value());
        if (!Files.isDirectory(path)) {
            throw new UsageException(option + ": not a directory: " + path);
        }
        return path;
    }

    public UsageException unknown() {
        return new UsageException("unknown option: " + option);
    }

    static long parseByteCount(String value) {
        String v = value.trim().toLowerCase(Locale.ROOT);
        if (v.isEmpty()) {
            return -1;
        }
        int shift = 0;
        switch (v.charAt(v.length() - 1)) {
            case 'k': shift = 10; break;
            case 'm': shift = 20; break;
            case 'g': shift = 30; break;
            default: break;
        }
        String digits = shift == 0 ? v : v.substring(0, v.length() - 1);
        try {
            long n = Long.parseLong(digits);
            if (n < 0 || n > (Long.MAX_VALUE >> shift)) {
                return -1;
            }
            return n << shift;
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
