package io.coffer.tls.proxy;

/**
 * One stunnel {@code socket = a|l|r:OPTION=VALUE} line.
 *
 * @param target {@code 'a'} accepted sockets, {@code 'l'} the listening socket, {@code 'r'} sockets to {@code connect}
 * @param option the option name as written, e.g. {@code SO_KEEPALIVE}
 * @param value the value as written ({@code yes}/{@code no} or a number)
 */
public record SocketSetting(char target, String option, String value) {}
