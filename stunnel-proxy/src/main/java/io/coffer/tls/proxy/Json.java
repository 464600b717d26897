package io.coffer.tls.proxy;

/** Just enough JSON writing for the status file; a JSON library would be this module's largest dependency. */
final class Json {
    private Json() {}

    static StringBuilder field(StringBuilder sb, String name, String value) {
        string(sb, name).append(':');
        if (value == null) {
            return sb.append("null");
        }
        return string(sb, value);
    }

    static StringBuilder field(StringBuilder sb, String name, long value) {
        return string(sb, name).append(':').append(value);
    }

    static StringBuilder string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"':
                    sb.append("\\\"");
                    break;
                case '\\':
                    sb.append("\\\\");
                    break;
                case '\n':
                    sb.append("\\n");
                    break;
                case '\r':
                    sb.append("\\r");
                    break;
                case '\t':
                    sb.append("\\t");
                    break;
                default:
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
            }
        }
        return sb.append('"');
    }
}
