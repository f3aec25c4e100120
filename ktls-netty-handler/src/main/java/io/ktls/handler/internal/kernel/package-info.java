/**
 * Calls into the Linux kernel that Netty's channels do not offer, for sockets whose TLS records the kernel seals
 * (kernel TLS). Public only so that the handler's package can reach it, as Netty's {@code internal} packages
 * are: not API, and free to change.
 * <ul>
 *   <li>{@link io.ktls.handler.internal.kernel.ControlRecordSender}: sends one TLS control record (an alert, a
 *       KeyUpdate) with {@code sendmsg(2)} and a {@code SOL_TLS/TLS_SET_RECORD_TYPE} control message, through
 *       the JDK's foreign-function API on JDK 22+; absent, with the reason, on older JDKs or when native access
 *       is denied. Users enable it with {@code --enable-native-access=ALL-UNNAMED} (or the module's name).</li>
 * </ul>
 *
 * <p>The project compiles for Java 17, so {@code java.lang.foreign} is reached only by reflection and method
 * handles, and only from {@code ControlRecordSender}.
 */
package io.ktls.handler.internal.kernel;
