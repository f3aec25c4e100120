/**
 * The examples' command-line parsing, shared by the file server and the streaming pair; each program keeps its
 * own options class and {@code USAGE} text (the one list of its options, printed by {@code --help}).
 * <ul>
 *   <li>{@link io.ktls.examples.cli.CommandLine}: reads {@code --name value}, {@code --name=value} and
 *       {@code --flag} one at a time, with typed values and messages that name the option;</li>
 *   <li>{@link io.ktls.examples.cli.UsageException}: a command line that cannot be run; the program prints it
 *       and its usage and exits with status 2.</li>
 * </ul>
 * Both public, for the other example packages; nothing here is API of the library. Threads: the thread running
 * {@code main} only.
 */
package io.ktls.examples.cli;
